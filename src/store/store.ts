/**
 * The storage contract: bytes by key. Everything above `store/` is written against this
 * interface only, never against a concrete backend (zarrita.js style).
 *
 * Keys are relative, use "/" as separator and never start with "/": "zarr.json",
 * "data/zarr.json", "data/c/0/1/2". Every store rejects, with ValidationError, an empty key and keys
 * with empty, "." or ".." segments, backslashes or NUL (see keys.ts). Cancelled requests fail with
 * AbortedError, backend failures with StorageError.
 */

/**
 * A byte range: `offset` with optional `length` (to the end when omitted), or the last
 * `suffixLength` bytes. All numbers are non-negative integers (ValidationError otherwise). Ranges
 * are cut at the end of the object as in S3/HTTP; unlike HTTP, a range that selects nothing (offset
 * at or past the end, length 0, suffixLength 0) gives zero bytes rather than an error.
 */
export type ByteRange = { offset: number; length?: number } | { suffixLength: number };

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface SetOptions extends RequestOptions {
  /** Fail with AlreadyExistsError if the key already exists (atomic where the backend allows). */
  ifNoneMatch?: boolean;
}

export interface DirectoryListing {
  /** Full keys of the objects directly under the prefix. */
  keys: string[];
  /** Names (without trailing "/") of the sub-directories directly under the prefix, as full paths. */
  prefixes: string[];
}

export interface Store {
  /** Human-readable location, used in error messages ("fs:/data/pool", "s3://bucket/prefix"). Never contains secrets. */
  readonly description: string;
  /**
   * The bytes at `key` (or a range of them), or undefined when the key does not exist. The returned
   * bytes belong to the caller: the store keeps no reference to them.
   */
  get(key: string, range?: ByteRange, options?: RequestOptions): Promise<Uint8Array | undefined>;
  /** Stores `value`; the store keeps no reference to it once the promise settles (callers reuse buffers). */
  set(key: string, value: Uint8Array, options?: SetOptions): Promise<void>;
  /** Deleting a missing key is not an error. */
  delete(key: string, options?: RequestOptions): Promise<void>;
  /** Delete many keys (batched where the backend allows). All keys are validated before any is deleted. */
  deleteMany(keys: string[], options?: RequestOptions): Promise<void>;
  /** Every key that starts with `prefix` (recursively), in no particular order. */
  list(prefix: string, options?: RequestOptions): AsyncIterable<string>;
  /** One level below `prefix` (which is "" or ends with "/"). */
  listDir(prefix: string, options?: RequestOptions): Promise<DirectoryListing>;
  close?(): Promise<void>;
}

/**
 * Where pools live: a directory of directories (fs), a set of buckets (s3) or a map (memory).
 * A pool is a container the backend knows about; what goes in it is the layers' business.
 */
export interface Backend {
  readonly description: string;
  listPools(options?: RequestOptions): Promise<string[]>;
  hasPool(name: string, options?: RequestOptions): Promise<boolean>;
  /** Create the container; AlreadyExistsError if it exists. */
  createPool(name: string, options?: RequestOptions): Promise<void>;
  /** Remove the (already emptied) container; NotFoundError if missing. */
  deletePool(name: string, options?: RequestOptions): Promise<void>;
  /** A store rooted at the pool. Does not check existence. */
  openPool(name: string): Store;
  close?(): Promise<void>;
}
