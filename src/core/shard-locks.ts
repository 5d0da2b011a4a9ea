/**
 * In-process readers-writer locks for shard objects: a shard read (index GET, then data GETs) must
 * not interleave with a rewrite of that shard, but reads of one shard may overlap each other.
 * First come, first served: a reader arriving while a writer waits queues behind it, so writers
 * are never starved. Keyed like the chunk locks (store description + key), so two Dataset objects
 * opened on the same array share them.
 */
interface LockState {
  readers: number;
  writer: boolean;
  queue: { exclusive: boolean; enter: () => void }[];
}

export class KeyedReadWriteLock {
  private readonly states = new Map<string, LockState>();

  async run<R>(key: string, exclusive: boolean, critical: () => Promise<R>): Promise<R> {
    let state = this.states.get(key);
    if (state === undefined) {
      state = { readers: 0, writer: false, queue: [] };
      this.states.set(key, state);
    }
    if (state.queue.length === 0 && canEnter(state, exclusive)) enter(state, exclusive);
    else await new Promise<void>((resolve) => state.queue.push({ exclusive, enter: resolve }));
    try {
      return await critical();
    } finally {
      if (exclusive) state.writer = false;
      else state.readers--;
      this.admitWaiting(key, state);
    }
  }

  private admitWaiting(key: string, state: LockState): void {
    while (state.queue.length > 0 && canEnter(state, state.queue[0].exclusive)) {
      const next = state.queue.shift()!;
      enter(state, next.exclusive);
      next.enter();
    }
    if (state.readers === 0 && !state.writer && state.queue.length === 0) this.states.delete(key);
  }
}

function canEnter(state: LockState, exclusive: boolean): boolean {
  return exclusive ? !state.writer && state.readers === 0 : !state.writer;
}

function enter(state: LockState, exclusive: boolean): void {
  if (exclusive) state.writer = true;
  else state.readers++;
}

const shardLocks = new KeyedReadWriteLock();

/** Run `critical` holding the lock of one shard: shared for reads, exclusive for rewrites. */
export function withShardLock<R>(storeDescription: string, key: string, mode: "read" | "write", critical: () => Promise<R>): Promise<R> {
  return shardLocks.run(`${storeDescription}\u0000${key}`, mode === "write", critical);
}

/** Run `critical` holding the write locks of several shards (taken in sorted order, so two such callers never deadlock). */
export function withShardWriteLocks<R>(storeDescription: string, keys: readonly string[], critical: () => Promise<R>): Promise<R> {
  const sorted = [...new Set(keys)].sort();
  const holdFrom = (i: number): Promise<R> =>
    i === sorted.length ? critical() : withShardLock(storeDescription, sorted[i], "write", () => holdFrom(i + 1));
  return holdFrom(0);
}
