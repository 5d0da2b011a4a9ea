/**
 * Stores that keep objects in a Map: for tests and scratch data. Bytes are copied on the way in
 * and on the way out, so no caller can change stored data through a buffer it holds.
 */
import { AlreadyExistsError, NotFoundError, PreconditionFailedError } from "../errors.js";
import { throwIfAborted } from "./abort.js";
import { validateDirectoryPrefix, validateKey, validateListPrefix, validatePoolName } from "./keys.js";
import { resolveByteRange, validateByteRange } from "./ranges.js";
import {
  type Backend,
  type ByteRange,
  type DeleteOptions,
  type DirectoryListing,
  type GetOptions,
  type GetVersionedOptions,
  preconditionMessage,
  staleReadMessage,
  type RequestOptions,
  type SetOptions,
  type Store,
  type VersionedBytes,
  writeConditionOf,
} from "./store.js";

/** A stored object and its version: a number unique within the process, so a replaced object never gets an old token back. */
interface StoredObject {
  bytes: Uint8Array;
  version: string;
}
type ObjectMap = Map<string, StoredObject>;

let lastVersion = 0;
const nextVersion = () => String(++lastVersion);

/** Finds a store's objects on every call; undefined means its container is gone (a deleted pool). */
export type ObjectMapLookup = () => ObjectMap | undefined;

export class MemoryStore implements Store {
  readonly description: string;
  readonly #lookup: ObjectMapLookup;

  /**
   * `new MemoryStore()` is a standalone store. `lookup` is how MemoryBackend gives a pool's store
   * its objects: reads of a deleted pool find nothing, writes to it fail with NotFoundError.
   */
  constructor(description = "memory", lookup?: ObjectMapLookup) {
    this.description = description;
    if (lookup === undefined) {
      const objects: ObjectMap = new Map();
      lookup = () => objects;
    }
    this.#lookup = lookup;
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    validateKey(key);
    if (range !== undefined) validateByteRange(range, key);
    throwIfAborted(options.signal, `get of key ${JSON.stringify(key)} from ${this.description}`);
    const stored = this.#lookup()?.get(key);
    if (options.ifMatch !== undefined && stored?.version !== options.ifMatch) {
      throw new PreconditionFailedError(staleReadMessage(key, options.ifMatch, this.description));
    }
    if (stored === undefined) return undefined;
    const { start, end } = resolveByteRange(range, stored.bytes.length);
    return stored.bytes.slice(start, end);
  }

  async getVersioned(key: string, options: GetVersionedOptions = {}): Promise<VersionedBytes | undefined> {
    validateKey(key);
    if (options.range !== undefined) validateByteRange(options.range, key);
    throwIfAborted(options.signal, `get of key ${JSON.stringify(key)} from ${this.description}`);
    const stored = this.#lookup()?.get(key);
    if (stored === undefined) return undefined;
    const { start, end } = resolveByteRange(options.range, stored.bytes.length);
    return { bytes: stored.bytes.slice(start, end), version: stored.version };
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    validateKey(key);
    const condition = writeConditionOf(key, options);
    throwIfAborted(options.signal, `set of key ${JSON.stringify(key)} in ${this.description}`);
    const objects = this.#objectsForWrite(key);
    const current = objects.get(key);
    const holds = condition.kind === "none" || (condition.kind === "absent" ? current === undefined : current?.version === condition.version);
    if (!holds) throw new PreconditionFailedError(preconditionMessage(key, condition, this.description));
    const version = nextVersion();
    objects.set(key, { bytes: value.slice(), version });
    return version;
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    validateKey(key);
    throwIfAborted(options.signal, `delete of key ${JSON.stringify(key)} from ${this.description}`);
    const objects = this.#lookup();
    if (options.ifMatch !== undefined) {
      const condition = writeConditionOf(key, { ifMatch: options.ifMatch });
      if (objects?.get(key)?.version !== options.ifMatch) {
        throw new PreconditionFailedError(preconditionMessage(key, condition, this.description, "delete"));
      }
    }
    objects?.delete(key);
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    keys.forEach(validateKey);
    throwIfAborted(options.signal, `delete of ${keys.length} keys from ${this.description}`);
    const objects = this.#lookup();
    for (const key of keys) objects?.delete(key);
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    validateListPrefix(prefix);
    throwIfAborted(options.signal, `list of prefix ${JSON.stringify(prefix)} in ${this.description}`);
    // Snapshot the keys so that changes made while the caller iterates cannot break the iteration.
    const keys = [...(this.#lookup()?.keys() ?? [])];
    for (const key of keys) {
      if (key.startsWith(prefix)) yield key;
    }
  }

  async listDir(prefix: string, options: RequestOptions = {}): Promise<DirectoryListing> {
    validateDirectoryPrefix(prefix);
    throwIfAborted(options.signal, `listDir of prefix ${JSON.stringify(prefix)} in ${this.description}`);
    const keys: string[] = [];
    const prefixes = new Set<string>();
    for (const key of this.#lookup()?.keys() ?? []) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf("/", prefix.length);
      if (slash === -1) keys.push(key);
      else prefixes.add(key.slice(0, slash));
    }
    return { keys: keys.sort(), prefixes: [...prefixes].sort() };
  }

  #objectsForWrite(key: string): ObjectMap {
    const objects = this.#lookup();
    if (objects === undefined) {
      throw new NotFoundError(
        `cannot write key ${JSON.stringify(key)}: ${this.description} does not exist (was the pool deleted?)`,
      );
    }
    return objects;
  }
}

/**
 * Pools held in memory, each a MemoryStore; everything is lost when the process ends. A nested
 * name ("a/b/c") is just a name: it shares nothing with pools "a" or "a/b/d", and listPools lists it.
 */
export class MemoryBackend implements Backend {
  readonly description = "memory";
  readonly #pools = new Map<string, ObjectMap>();

  async listPools(options: RequestOptions = {}): Promise<string[]> {
    throwIfAborted(options.signal, `listPools of ${this.description}`);
    return [...this.#pools.keys()].sort();
  }

  async hasPool(name: string, options: RequestOptions = {}): Promise<boolean> {
    validatePoolName(name);
    throwIfAborted(options.signal, `hasPool ${JSON.stringify(name)} in ${this.description}`);
    return this.#pools.has(name);
  }

  async createPool(name: string, options: RequestOptions = {}): Promise<void> {
    validatePoolName(name);
    throwIfAborted(options.signal, `createPool ${JSON.stringify(name)} in ${this.description}`);
    if (this.#pools.has(name)) {
      throw new AlreadyExistsError(`pool ${JSON.stringify(name)} already exists in ${this.description}`);
    }
    this.#pools.set(name, new Map());
  }

  async deletePool(name: string, options: RequestOptions = {}): Promise<void> {
    validatePoolName(name);
    throwIfAborted(options.signal, `deletePool ${JSON.stringify(name)} in ${this.description}`);
    if (!this.#pools.delete(name)) {
      throw new NotFoundError(`pool ${JSON.stringify(name)} does not exist in ${this.description}`);
    }
  }

  openPool(name: string): Store {
    validatePoolName(name);
    return new MemoryStore(`memory:${name}`, () => this.#pools.get(name));
  }
}
