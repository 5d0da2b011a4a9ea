/**
 * A Store wrapper that records every call (operation and key), can delay get/set/delete to make
 * concurrency observable, and tracks how many of those calls are in flight at once. A getVersioned
 * is recorded as a "get" (it is one GET request on S3).
 */
import type {
  ByteRange,
  ConditionalSupport,
  DeleteOptions,
  DirectoryListing,
  GetOptions,
  GetVersionedOptions,
  RequestOptions,
  SetOptions,
  Store,
  VersionedBytes,
} from "../../src/store/store.js";
import { seededRandom } from "./random.js";

export type StoreOperation = "get" | "set" | "delete" | "deleteMany" | "list" | "listDir";

export interface StoreCall {
  op: StoreOperation;
  /** The key, the list prefix, or for deleteMany the keys joined by ",". */
  key: string;
  /** Whether the caller's signal had already fired when the call was made. */
  afterAbort: boolean;
}

export interface InstrumentedStoreOptions {
  /** Milliseconds every get/set/delete waits before reaching the inner store. */
  delayMs?: number;
  /** Extra random wait in [0, jitterMs), so calls finish out of order. */
  jitterMs?: number;
  seed?: number;
}

let instances = 0;

export class InstrumentedStore implements Store {
  /** Unique, so the process-wide chunk locks (keyed by description) are not shared with other stores. */
  readonly description: string;
  calls: StoreCall[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Called as each call starts, before any delay. */
  onCall: ((call: StoreCall) => void) | undefined;
  delayMs: number;
  jitterMs: number;
  private readonly random: () => number;

  constructor(
    readonly inner: Store,
    options: InstrumentedStoreOptions = {},
  ) {
    this.description = `instrumented-${instances++}(${inner.description})`;
    this.delayMs = options.delayMs ?? 0;
    this.jitterMs = options.jitterMs ?? 0;
    this.random = seededRandom(options.seed ?? 1);
  }

  /** Forget recorded calls and the in-flight maximum. */
  reset(): void {
    this.calls = [];
    this.maxInFlight = this.inFlight;
  }

  count(op: StoreOperation, key?: string): number {
    return this.calls.filter((c) => c.op === op && (key === undefined || c.key === key)).length;
  }

  keysOf(op: StoreOperation): string[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.key);
  }

  get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array | undefined> {
    return this.timed("get", key, options, () => this.inner.get(key, range, options));
  }

  getVersioned(key: string, options?: GetVersionedOptions): Promise<VersionedBytes | undefined> {
    return this.timed("get", key, options, () => this.inner.getVersioned(key, options));
  }

  set(key: string, value: Uint8Array, options?: SetOptions): Promise<string> {
    return this.timed("set", key, options, () => this.inner.set(key, value, options));
  }

  conditionalSupport(options?: RequestOptions): Promise<ConditionalSupport> {
    return this.inner.conditionalSupport?.(options) ?? Promise.resolve({ write: true, delete: true });
  }

  delete(key: string, options?: DeleteOptions): Promise<void> {
    return this.timed("delete", key, options, () => this.inner.delete(key, options));
  }

  deleteMany(keys: string[], options?: RequestOptions): Promise<void> {
    this.record("deleteMany", keys.join(","), options);
    return this.inner.deleteMany(keys, options);
  }

  list(prefix: string, options?: RequestOptions): AsyncIterable<string> {
    this.record("list", prefix, options);
    return this.inner.list(prefix, options);
  }

  listDir(prefix: string, options?: RequestOptions): Promise<DirectoryListing> {
    this.record("listDir", prefix, options);
    return this.inner.listDir(prefix, options);
  }

  private record(op: StoreOperation, key: string, options: RequestOptions | undefined): void {
    const call = { op, key, afterAbort: options?.signal?.aborted ?? false };
    this.calls.push(call);
    this.onCall?.(call);
  }

  private async timed<T>(op: StoreOperation, key: string, options: RequestOptions | undefined, run: () => Promise<T>): Promise<T> {
    this.record(op, key, options);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const wait = this.delayMs + (this.jitterMs > 0 ? this.random() * this.jitterMs : 0);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return await run();
    } finally {
      this.inFlight--;
    }
  }
}
