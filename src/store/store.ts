/**
 * The storage contract: bytes by key. Everything above `store/` is written against this
 * interface only, never against a concrete backend (zarrita.js style).
 *
 * Keys are relative, use "/" as separator and never start with "/": "zarr.json",
 * "data/zarr.json", "data/c/0/1/2". Every store rejects, with ValidationError, an empty key and keys
 * with empty, "." or ".." segments, backslashes or NUL (see keys.ts). Cancelled requests fail with
 * AbortedError, backend failures with StorageError.
 *
 * Conditional requests are how many writers in many processes and hosts share one store without
 * losing each other's updates: `getVersioned` returns the bytes with an opaque version token, and
 * `set(key, bytes, { ifMatch: token })` / `delete(key, { ifMatch: token })` happen only if the
 * object is still that version (`ifNoneMatch: "*"`: only if absent), atomically, or fail with
 * PreconditionFailedError and change nothing. A version token is valid only for the key and store
 * it came from; it changes on every replace (on S3 it is the ETag, which is the content's MD5, so
 * rewriting identical bytes gives the same token, which is harmless for compare-and-swap).
 */
import { ValidationError } from "../errors.js";

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

export interface GetOptions extends RequestOptions {
  /** Read only if the object is still at this version: PreconditionFailedError otherwise (also when it is gone). */
  ifMatch?: string;
  /**
   * A hint: a buffer of at least `length` bytes the store may read the object into, returning a
   * view of it instead of new memory (the filesystem store does; others may ignore it). Lets a
   * reader of many objects reuse a few buffers. A store that uses it keeps no reference to it.
   */
  into?: (length: number) => Uint8Array;
}

export interface GetVersionedOptions extends RequestOptions {
  /** Only these bytes of the object; the version is the whole object's. */
  range?: ByteRange;
}

export interface SetOptions extends RequestOptions {
  /** Store only if the object is absent ("*"; `true` is accepted for the same): PreconditionFailedError otherwise. */
  ifNoneMatch?: "*" | boolean;
  /** Store only if the object's current version is this token: PreconditionFailedError if it changed or is gone. */
  ifMatch?: string;
}

export interface DeleteOptions extends RequestOptions {
  /** Delete only if the object's current version is this token: PreconditionFailedError if it changed or is gone. */
  ifMatch?: string;
}

/** An object's bytes and the version token they belong to. */
export interface VersionedBytes {
  bytes: Uint8Array;
  version: string;
}

/** Which conditional requests the backend really enforces (S3 endpoints are probed once). */
export interface ConditionalSupport {
  /** `set` with ifMatch / ifNoneMatch. */
  write: boolean;
  /** `delete` with ifMatch. */
  delete: boolean;
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
  get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array | undefined>;
  /**
   * The object (or `options.range` of it) with its version token, for a later conditional set or
   * delete, or for reading more of the same version with `get(key, range, { ifMatch })`; undefined when absent.
   */
  getVersioned(key: string, options?: GetVersionedOptions): Promise<VersionedBytes | undefined>;
  /**
   * Stores `value` and returns the new version token; the store keeps no reference to `value` once
   * the promise settles (callers reuse buffers). With `ifMatch` / `ifNoneMatch` the write is
   * conditional (see the module comment); without, the last writer wins.
   */
  set(key: string, value: Uint8Array, options?: SetOptions): Promise<string>;
  /** Deleting a missing key is not an error, unless `ifMatch` is given (then it is PreconditionFailedError). */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  /** Delete many keys (batched where the backend allows). All keys are validated before any is deleted. */
  deleteMany(keys: string[], options?: RequestOptions): Promise<void>;
  /** Every key that starts with `prefix` (recursively), in no particular order. */
  list(prefix: string, options?: RequestOptions): AsyncIterable<string>;
  /** Every key under `prefix` with its size in bytes, where the listing gives sizes (S3); absent otherwise. */
  listWithSizes?(prefix: string, options?: RequestOptions): AsyncIterable<{ key: string; size: number }>;
  /** One level below `prefix` (which is "" or ends with "/"). */
  listDir(prefix: string, options?: RequestOptions): Promise<DirectoryListing>;
  /**
   * What this store enforces; a store without the method enforces both. S3 stores probe the
   * endpoint the first time (a conditional PUT and DELETE that must fail) and remember the answer.
   */
  conditionalSupport?(options?: RequestOptions): Promise<ConditionalSupport>;
  /**
   * Copy `sourceKey` of `source` to `key` of this store without the bytes passing through this
   * process (S3 CopyObject), when both are on the same endpoint; false when it cannot (the caller
   * then copies the bytes itself).
   */
  copyFrom?(source: Store, sourceKey: string, key: string, options?: RequestOptions): Promise<boolean>;
  /**
   * The Zarr v3 zarr.json documents of the nodes directly under `parent` ("" or "a/b"), keyed by
   * node path, when the store holds them all in one object (consolidated metadata); undefined when
   * it does not (the caller then lists).
   */
  childNodes?(parent: string, options?: RequestOptions): Promise<Array<[string, Record<string, unknown>]> | undefined>;
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

/** The condition of a set, normalised: absent, "create only", or "replace only this version". */
export type WriteCondition = { kind: "none" } | { kind: "absent" } | { kind: "version"; version: string };

export function writeConditionOf(key: string, options: SetOptions): WriteCondition {
  const absent = options.ifNoneMatch === true || options.ifNoneMatch === "*";
  if (options.ifMatch !== undefined) {
    if (typeof options.ifMatch !== "string" || options.ifMatch === "") {
      throw new ValidationError(`ifMatch for key ${JSON.stringify(key)} must be a version token from getVersioned, got ${JSON.stringify(options.ifMatch)}`);
    }
    if (absent) throw new ValidationError(`set of key ${JSON.stringify(key)}: ifMatch and ifNoneMatch cannot be combined`);
    return { kind: "version", version: options.ifMatch };
  }
  return absent ? { kind: "absent" } : { kind: "none" };
}

/** The message of a `get` with `ifMatch` whose object changed or is gone. */
export function staleReadMessage(key: string, version: string, description: string): string {
  return `read of key ${JSON.stringify(key)} at version ${JSON.stringify(version)} failed: the object changed or was deleted in ${description}`;
}

/** "key "k" already exists in S" / "key "k" changed since version V was read from S": the messages every store uses. */
export function preconditionMessage(key: string, condition: WriteCondition, description: string, operation = "set"): string {
  if (condition.kind === "absent") return `conditional ${operation} of key ${JSON.stringify(key)} failed: it already exists in ${description}`;
  return `conditional ${operation} of key ${JSON.stringify(key)} failed: it is no longer at version ${JSON.stringify(condition.kind === "version" ? condition.version : "")} in ${description} (changed or deleted by another writer)`;
}
