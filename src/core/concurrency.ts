/**
 * The one place that bounds concurrent chunk I/O (DosNa's `njobs`), built on p-limit.
 */
import pLimit from "p-limit";
import { AbortedError } from "../errors.js";
import { KeyedMutex } from "../store/keyed-mutex.js";

export interface ParallelOptions {
  njobs: number;
  signal?: AbortSignal;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
}

/**
 * Run `task` for every item with at most `njobs` in flight. Rejects with the first failure; once
 * something failed or the signal fired, tasks not yet started are skipped.
 */
export async function forEachLimited<T>(
  items: Iterable<T>,
  task: (item: T) => Promise<void>,
  { njobs, signal }: ParallelOptions,
  what = "operation",
): Promise<void> {
  throwIfAborted(signal, what);
  const limit = pLimit(Math.max(1, njobs));
  let failed = false;
  const runs: Promise<void>[] = [];
  for (const item of items) {
    runs.push(
      limit(async () => {
        if (failed) return;
        throwIfAborted(signal, what);
        try {
          await task(item);
        } catch (error) {
          failed = true;
          throw error;
        }
      }),
    );
  }
  const results = await Promise.allSettled(runs);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (rejected) throw rejected.reason;
}

/** Serialises read-modify-write of one chunk within a process: two `set` calls touching the same chunk never interleave. */
const chunkMutex = new KeyedMutex();

/**
 * Run `critical` holding the process-wide lock of one chunk. Keyed by the store's description,
 * so two Dataset objects (or two Clusters) opened on the same location share the lock.
 */
export function withChunkLock<R>(storeDescription: string, key: string, critical: () => Promise<R>): Promise<R> {
  return chunkMutex.run(`${storeDescription}\u0000${key}`, critical);
}

/** Run `critical` holding the locks of several chunks (taken in sorted order, so two such callers never deadlock). */
export async function withChunkLocks<R>(storeDescription: string, keys: readonly string[], critical: () => Promise<R>): Promise<R> {
  const releases: (() => void)[] = [];
  try {
    for (const key of [...new Set(keys)].sort()) releases.push(await chunkMutex.acquire(`${storeDescription}\u0000${key}`));
    return await critical();
  } finally {
    for (const release of releases.reverse()) release();
  }
}
