/** What the versioning benchmark (versioning.ts) tells one trial process (versioning-case.ts), and what it answers. */
import type { StoreSpec } from "./spec.js";

export type VersioningStore = { kind: "memory" } | StoreSpec;
export type VersioningSystem = "plain" | "versioned" | "icechunk";

export interface DiffArray {
  name: string;
  shape: number[];
  chunks: number[];
}

export interface VersioningCaseSpec {
  case: "rw" | "history";
  system: VersioningSystem;
  store: VersioningStore;
  shape: number[];
  chunks: number[];
  njobs: number;
  /** rw: how many one-element changes (each committed, when versioned); their median is reported. */
  changes: number;
  /** history: log after this many commits (ascending). */
  logCommits?: number[];
  /** history: arrays to diff, each written whole and then changed in diffChangedChunks[i] chunks, one commit each. */
  diffArrays?: DiffArray[];
  diffChangedChunks?: number[];
  /** history: each log and diff timing is the median of this many (cold and warm) calls. */
  historyRepeats?: number;
}

export interface RwResult {
  writeMs: number;
  readMs: number;
  /** Median of the one-element changes of this trial. */
  changeMs: number;
  changeMsAll: number[];
}

export interface LogTiming {
  commits: number;
  /** What log returned: the number of snapshots. */
  entries: number;
  /** First call on a freshly opened repository object. */
  coldMs: number;
  /** The same call again on that object. */
  warmMs: number;
  /** Mean time of the commits made to reach `commits` (setup, not a goal). */
  buildMsPerCommit: number;
}

export interface DiffTiming {
  array: string;
  shape: number[];
  chunks: number[];
  chunksInArray: number;
  changedChunks: number;
  /** Changed chunks the diff reported (checked to equal changedChunks). */
  reported: number;
  coldMs: number;
  warmMs: number;
}

export interface HistoryResult {
  log: LogTiming[];
  diff: DiffTiming[];
}

export type CaseAnswer<T> = T | { skipped: string };
