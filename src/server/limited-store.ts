/**
 * The served pools' stores, read-only and sharing one concurrency limit: at most `njobs` requests
 * to the storage are in flight across all HTTP requests (p-limit), however many clients ask at once.
 */
import pLimit, { type LimitFunction } from "p-limit";
import { ReadOnlyError } from "../errors.js";
import type { ByteRange, DirectoryListing, GetOptions, GetVersionedOptions, RequestOptions, Store, VersionedBytes } from "../store/store.js";

export class LimitedReadOnlyStore implements Store {
  readonly description: string;

  constructor(
    private readonly inner: Store,
    private readonly limit: LimitFunction,
  ) {
    this.description = inner.description;
  }

  static limiter(njobs: number): LimitFunction {
    return pLimit(Math.max(1, njobs));
  }

  get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array | undefined> {
    return this.limit(() => this.inner.get(key, range, options));
  }

  getVersioned(key: string, options?: GetVersionedOptions): Promise<VersionedBytes | undefined> {
    return this.limit(() => this.inner.getVersioned(key, options));
  }

  set(key: string): Promise<string> {
    return Promise.reject(this.refuse(key));
  }

  delete(key: string): Promise<void> {
    return Promise.reject(this.refuse(key));
  }

  deleteMany(keys: string[]): Promise<void> {
    return Promise.reject(this.refuse(keys[0] ?? ""));
  }

  async *list(prefix: string, options?: RequestOptions): AsyncIterable<string> {
    // One listing holds one slot while it runs (its pages are requests of one walk).
    const keys = await this.limit(async () => {
      const found: string[] = [];
      for await (const key of this.inner.list(prefix, options)) found.push(key);
      return found;
    });
    yield* keys;
  }

  listDir(prefix: string, options?: RequestOptions): Promise<DirectoryListing> {
    return this.limit(() => this.inner.listDir(prefix, options));
  }

  private refuse(key: string): ReadOnlyError {
    return new ReadOnlyError(`dosna serve is read-only: cannot write ${JSON.stringify(key)} in ${this.description}`);
  }
}
