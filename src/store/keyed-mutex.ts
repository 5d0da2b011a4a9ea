/**
 * Serialises async critical sections per key within one process (a queue per key, first come,
 * first served). Used by the filesystem store's lock files and by core/'s chunk locks.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Wait for the lock of `key`; the returned function releases it. */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  async run<R>(key: string, critical: () => Promise<R>): Promise<R> {
    const release = await this.acquire(key);
    try {
      return await critical();
    } finally {
      release();
    }
  }
}
