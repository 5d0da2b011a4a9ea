/**
 * What the concurrency benchmark (concurrency.ts) tells one of its case processes
 * (concurrency-case.ts), and what they answer. Both files are also compiled inside the baseline
 * worktree, against the old src/, so they use only what both trees have.
 */
import type { StoreSpec } from "./spec.js";

export type ConcurrencyCase =
  /** Create the pool (fresh) so that later cases only open it. */
  | "setup"
  /** Latency of single writes at njobs 1: whole chunks, one row of an existing chunk, one row of an absent chunk. */
  | "partial-latency"
  /** Create (replace) the int32 dataset the row writers share, with no chunk stored. */
  | "rows-prepare"
  /** One of many writer processes: writes rows writer, writer + writers, ... after a file barrier. */
  | "rows-write"
  /** Read the whole dataset back and count the rows whose values are not rowValue(r, ·). */
  | "rows-verify"
  /** Delete the pool with everything in it. */
  | "drop";

export interface ConcurrencyCaseSpec {
  case: ConcurrencyCase;
  store: StoreSpec;
  pool: string;
  dataset: string;
  shape: number[];
  chunks: number[];
  njobs: number;
  /** fs only: options for FileSystemBackend (e.g. { durable: false }); the baseline has none. */
  fsOptions?: { durable?: boolean };
  /** partial-latency: measured writes per kind (each on its own chunk). */
  writes?: number;
  /** rows-write: this writer's index, the number of writers, and the barrier directory they meet at. */
  writer?: number;
  writers?: number;
  barrier?: string;
}

/** Latency of one kind of single write: milliseconds, and store calls / HTTP requests per write. */
export interface WriteLatency {
  count: number;
  medianMs: number;
  p90Ms: number;
  /** Store method calls per write, by method (getVersioned is a GET on S3). */
  storeCalls: Record<string, number>;
  /** HTTP requests per write (S3 only; 0 on fs). */
  httpRequests: number;
}

export interface PartialLatencyResult {
  /** A whole-chunk write of an absent chunk. */
  whole: WriteLatency;
  /** One row of an existing chunk: read-modify-write. */
  partialExisting: WriteLatency;
  /** One row of an absent chunk. */
  partialNew: WriteLatency;
  /**
   * Creating a dataset, the process's first conditional write (S3: the current code probes the
   * endpoint's conditional writes once, here), and a second one for comparison.
   */
  firstCreate: { ms: number; httpRequests: number };
  secondCreate: { ms: number; httpRequests: number };
}

export interface RowsWriteResult {
  writer: number;
  rows: number;
  /** Rows whose set threw (ConflictError after too many retries, a storage error...). */
  failed: number;
  firstError?: string;
  /** Store calls on chunk keys, by method (a set that lost a race and was retried counts again). */
  chunkCalls: Record<string, number>;
  /** Wall-clock ms (performance.timeOrigin + now) after the barrier and after the last row. */
  startMs: number;
  endMs: number;
}

export interface RowsVerifyResult {
  rows: number;
  lost: number;
  lostRows: number[];
}

/** The value the row writers store at (row, column): distinct per element and never the fill value 0. */
export function rowValue(row: number, column: number): number {
  return (((row * 7919 + column) * 2654435761) % 2147483629) + 1;
}
