/**
 * Optimistic concurrency, the one way dosna changes a stored object it has read: read it with its
 * version token, compute the new bytes, write them only if the object is still that version; on a
 * PreconditionFailedError (another writer, in any process or host, got there first) wait a
 * jittered, growing delay and do it all again from a fresh read. After `maxAttempts` lost races
 * the update fails with ConflictError, having stored nothing of itself.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError, PreconditionFailedError } from "../errors.js";
import type { ConditionalSupport, Store } from "../store/store.js";
import { throwIfAborted } from "./concurrency.js";

export interface ConflictPolicy {
  /** Attempts before ConflictError (each a read and a conditional write). */
  maxAttempts: number;
  /** Full-jitter backoff: a wait uniform in [0, min(maxDelayMs, baseDelayMs · 2^attempt)). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_CONFLICT_POLICY: ConflictPolicy = { maxAttempts: 64, baseDelayMs: 2, maxDelayMs: 250 };

/**
 * Run `attempt` (read, modify, conditional write) until it does not lose a race. `what` names the
 * operation and `key` the contested object for the ConflictError.
 */
export async function retryOnConflict<T>(
  what: string,
  key: string,
  policy: ConflictPolicy,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    throwIfAborted(signal, what);
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      if (attempts >= policy.maxAttempts) {
        throw new ConflictError(
          `${what} lost to concurrent writers of key ${JSON.stringify(key)} ${attempts} times in a row and gave up (nothing of it was stored); ` +
            `retry later, or raise conflictRetries`,
          { cause: error },
        );
      }
      const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempts - 1, 20));
      await sleep(Math.random() * bound, undefined, { signal }).catch(() => undefined);
    }
  }
}

const supportByStore = new WeakMap<Store, Promise<ConditionalSupport>>();

/** The store's conditional support, asked once per store object (S3 stores probe their endpoint). */
export function conditionalSupportOf(store: Store, signal?: AbortSignal): Promise<ConditionalSupport> {
  if (!store.conditionalSupport) return Promise.resolve({ write: true, delete: true });
  let known = supportByStore.get(store);
  if (!known) {
    known = store.conditionalSupport({ signal });
    supportByStore.set(store, known);
    // A failed probe (a network error) is asked again next time, not remembered.
    known.catch(() => supportByStore.delete(store));
  }
  return known;
}

/**
 * Remove the object at `key` if it is still at `version`. Where the backend cannot delete
 * conditionally (Ceph RGW 16 ignores If-Match on DELETE), `replacement` (bytes that read the same
 * as an absent object, e.g. an encoded all-fill chunk) is written with If-Match instead, so that
 * a concurrent writer's update is never deleted.
 */
export async function removeIfUnchanged(
  store: Store,
  key: string,
  version: string,
  replacement: () => Promise<Uint8Array>,
  signal?: AbortSignal,
): Promise<void> {
  if ((await conditionalSupportOf(store, signal)).delete) await store.delete(key, { ifMatch: version, signal });
  else await store.set(key, await replacement(), { ifMatch: version, signal });
}
