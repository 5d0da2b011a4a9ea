/**
 * store/: bytes by key. The `Store` contract (get, optionally a byte range; set, optionally only
 * if absent; delete; list by prefix; list one directory level) and the `Backend` contract (pools
 * of stores), with their implementations: in memory, on a local directory, and (S3Store) on an
 * S3-compatible endpoint. Every store validates keys with the same rules (keys.ts) and resolves
 * byte ranges the same way (ranges.ts), and every one passes test/store/conformance.ts.
 */
export type {
  Backend,
  ByteRange,
  ConditionalSupport,
  DeleteOptions,
  DirectoryListing,
  RequestOptions,
  SetOptions,
  Store,
  VersionedBytes,
} from "./store.js";
export { MemoryBackend, MemoryStore } from "./memory.js";
export type { ObjectMapLookup } from "./memory.js";
export { FileSystemBackend, FileSystemStore } from "./filesystem.js";
export type { FileSystemBackendOptions, FileSystemStoreOptions } from "./filesystem.js";
export { validateDirectoryPrefix, validateKey, validateListPrefix, validatePoolName } from "./keys.js";
export { resolveByteRange, validateByteRange } from "./ranges.js";
