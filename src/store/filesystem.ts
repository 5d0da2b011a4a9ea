/**
 * Stores on a local directory: key "a/b/c" is the file <root>/a/b/c.
 *
 * A write puts the bytes in a unique temp file in the key's own directory (fsynced when durable),
 * then, holding the key's lock file (fs-lock.ts), checks its condition against the current object,
 * makes the temp file's mtime later than the current object's (fs-version.ts) and renames it onto
 * the key; after releasing the lock it fsyncs the directory. Deletes also unlink under the lock, so
 * that no write, conditional or not, is lost to a race with another. Readers take no lock: an
 * object file is never changed in place, only replaced whole, so a reader only ever sees complete
 * objects and can size its buffer, and take the version token, from fstat of the handle it reads.
 *
 * Deletes prune directories left empty once their lock is released; a writer whose directory is
 * pruned under it recreates the directory and tries again. Keys never resolve through a symbolic
 * link to outside the root (fs-confine.ts). Temp and lock files of killed writers are removed by
 * the listings that come across them and by removeOrphans (fs-orphans.ts).
 */
import { randomBytes } from "node:crypto";
import type { BigIntStats, Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import pLimit from "p-limit";
import { AlreadyExistsError, DosnaError, NotFoundError, PreconditionFailedError, StorageError, ValidationError } from "../errors.js";
import { throwIfAborted } from "./abort.js";
import { RootConfinement } from "./fs-confine.js";
import { errorCode, isMissing, storageError } from "./fs-errors.js";
import { DEFAULT_LOCK_STALE_MS, LockClaim, type LockOptions } from "./fs-lock.js";
import { LOCK_SUFFIX, lockNameOf, newTempName, REAP_SUFFIX, reservedKind, TEMP_SUFFIX } from "./fs-names.js";
import { removeOrphansIn } from "./fs-orphans.js";
import { syncDirectory } from "./fs-sync.js";
import { ensureLaterMtime, versionOf } from "./fs-version.js";
import { validateDirectoryPrefix, validateKey, validateListPrefix, validatePoolName } from "./keys.js";
import { resolveByteRange, validateByteRange } from "./ranges.js";
import {
  type Backend,
  type ByteRange,
  type DeleteOptions,
  type DirectoryListing,
  type GetOptions,
  type GetVersionedOptions,
  staleReadMessage,
  preconditionMessage,
  type RequestOptions,
  type SetOptions,
  type Store,
  type VersionedBytes,
  type WriteCondition,
  writeConditionOf,
} from "./store.js";

/** How often a write retries after a concurrent delete pruned its directory away. */
const MAX_WRITE_ATTEMPTS = 50;
const DELETE_CONCURRENCY = 16;
const READ_NO_FOLLOW = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

export interface FileSystemStoreOptions {
  /**
   * Create the root directory on the first write (default true). FileSystemBackend turns this off,
   * so that writing through the store of a deleted pool fails with NotFoundError instead of
   * silently bringing the pool back.
   */
  createRoot?: boolean;
  /**
   * Make every set and delete durable before it returns (default true): the written file is
   * fsynced before it is renamed onto its key, and the key's directory after the rename or unlink.
   * Off, a crash or power loss can undo recent writes, though never tear one.
   */
  durable?: boolean;
  /**
   * How old (ms) a key's lock file must be before a writer takes it over when its holder cannot be
   * checked (it ran on another host); default 10 000. A holder on this host that has exited is
   * taken over at once. Keep it far above the longest pause a writer may take while holding a lock.
   */
  lockStaleMs?: number;
}

/** Options FileSystemBackend passes to the store of every pool. */
export type FileSystemBackendOptions = Pick<FileSystemStoreOptions, "durable" | "lockStaleMs">;

function validateStoreOptions(options: FileSystemBackendOptions, where: string): void {
  const { durable, lockStaleMs } = options;
  if (durable !== undefined && typeof durable !== "boolean") {
    throw new ValidationError(`${where}: option durable must be a boolean, got ${JSON.stringify(durable)}`);
  }
  if (lockStaleMs !== undefined && !(typeof lockStaleMs === "number" && Number.isFinite(lockStaleMs) && lockStaleMs > 0)) {
    throw new ValidationError(`${where}: option lockStaleMs must be a positive number of milliseconds, got ${JSON.stringify(lockStaleMs)}`);
  }
}

async function removeQuietly(filePath: string): Promise<void> {
  await fs.unlink(filePath).catch(() => undefined);
}

/** lstat, with undefined for a path that does not exist; other errors are left to the caller. */
async function lstatOrUndefined(filePath: string): Promise<BigIntStats | undefined> {
  try {
    return await fs.lstat(filePath, { bigint: true });
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Whether `current` (the lstat of the key's path) lets a write with `condition` go ahead. */
function conditionHolds(condition: WriteCondition, current: BigIntStats | undefined): boolean {
  switch (condition.kind) {
    case "none":
      return true;
    case "absent":
      // A directory of other keys is no object: the rename onto it then fails with EISDIR.
      return current === undefined || current.isDirectory();
    case "version":
      return current !== undefined && current.isFile() && versionOf(current) === condition.version;
  }
}

/**
 * Bytes start..end of the open file, in memory of their own (never a slice of Buffer's shared pool,
 * so callers may view, keep or transfer it). The buffer is not zeroed first: every byte returned
 * has been read into it.
 */
async function readFully(handle: fs.FileHandle, start: number, end: number, into?: (length: number) => Uint8Array): Promise<Uint8Array> {
  const length = end - start;
  const offered = into?.(length);
  const bytes = offered !== undefined && offered.byteLength >= length ? offered.subarray(0, length) : uninitializedBytes(length);
  let filled = 0;
  while (filled < bytes.length) {
    const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, start + filled);
    if (bytesRead === 0) break; // only if another program truncated the file in place
    filled += bytesRead;
  }
  return filled === bytes.length ? bytes : bytes.slice(0, filled);
}

/** A plain Uint8Array over a new, unpooled, unzeroed ArrayBuffer of exactly `length` bytes. */
function uninitializedBytes(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

interface OpenedObject {
  handle: fs.FileHandle;
  stats: BigIntStats;
  filePath: string;
}

/** Where a key lives on disk: its file, its directory and its lock file. */
interface KeyPaths {
  filePath: string;
  directory: string;
  lockPath: string;
  /** 'key "a/b"', for error messages. */
  subject: string;
}

export class FileSystemStore implements Store {
  readonly root: string;
  readonly description: string;
  readonly #createRoot: boolean;
  readonly #durable: boolean;
  readonly #lockStaleMs: number;
  readonly #confinement: RootConfinement;

  constructor(rootDir: string, options: FileSystemStoreOptions = {}) {
    this.root = path.resolve(rootDir);
    this.description = `fs:${this.root}`;
    validateStoreOptions(options, `FileSystemStore at ${this.root}`);
    this.#createRoot = options.createRoot ?? true;
    this.#durable = options.durable ?? true;
    this.#lockStaleMs = options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
    this.#confinement = new RootConfinement(this.root, this.description);
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    this.#validateKey(key);
    if (range !== undefined) validateByteRange(range, key);
    const operation = `get of key ${JSON.stringify(key)} from ${this.description}`;
    throwIfAborted(options.signal, operation);
    const opened = await this.#openObject(key, operation);
    // The open handle pins the file read, so its stats are the version of the bytes read.
    if (options.ifMatch !== undefined && (opened === undefined || versionOf(opened.stats) !== options.ifMatch)) {
      await opened?.handle.close();
      throw new PreconditionFailedError(staleReadMessage(key, options.ifMatch, this.description));
    }
    if (opened === undefined) return undefined;
    const { handle, stats, filePath } = opened;
    try {
      const { start, end } = resolveByteRange(range, Number(stats.size));
      return await readFully(handle, start, end, options.into);
    } catch (error) {
      throw storageError(operation, filePath, error);
    } finally {
      await handle.close();
    }
  }

  async getVersioned(key: string, options: GetVersionedOptions = {}): Promise<VersionedBytes | undefined> {
    this.#validateKey(key);
    if (options.range !== undefined) validateByteRange(options.range, key);
    const operation = `get of key ${JSON.stringify(key)} from ${this.description}`;
    throwIfAborted(options.signal, operation);
    const opened = await this.#openObject(key, operation);
    if (opened === undefined) return undefined;
    const { handle, stats, filePath } = opened;
    try {
      const { start, end } = resolveByteRange(options.range, Number(stats.size));
      return { bytes: await readFully(handle, start, end), version: versionOf(stats) };
    } catch (error) {
      throw storageError(operation, filePath, error);
    } finally {
      await handle.close();
    }
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    this.#validateKey(key);
    if (!(value instanceof Uint8Array)) {
      throw new ValidationError(`value for key ${JSON.stringify(key)} must be a Uint8Array, got ${typeof value}`);
    }
    const condition = writeConditionOf(key, options);
    const operation = `set of key ${JSON.stringify(key)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    const target = this.#pathsOf(key);
    const lockOptions: LockOptions = { staleMs: this.#lockStaleMs, signal: options.signal, operation };

    for (let attempt = 1; ; attempt++) {
      const retryAllowed = attempt < MAX_WRITE_ATTEMPTS;
      if ((await this.#confinement.check(target.directory, target.subject, operation)) === "missing") {
        if (condition.kind === "version") throw this.#preconditionFailed(key, condition, "set");
        await this.#makeDirectory(target.directory, key, operation);
      } else if (attempt === 1 && condition.kind !== "none" && !conditionHolds(condition, await this.#lstat(target.filePath, operation))) {
        // Fails fast before writing anything; the check that counts is made again under the lock.
        throw this.#preconditionFailed(key, condition, "set");
      }
      // The object and the lock's claim are written before the lock is taken, so that the critical
      // section stays a few metadata calls.
      const tempPath = path.join(target.directory, newTempName());
      const [written, claimed] = await Promise.allSettled([
        fs.writeFile(tempPath, value, { flag: "wx", flush: this.#durable }),
        LockClaim.prepare(target.lockPath),
      ]);
      if (written.status === "rejected" || claimed.status === "rejected") {
        await removeQuietly(tempPath);
        if (claimed.status === "fulfilled") await claimed.value.discard();
        const error: unknown = written.status === "rejected" ? written.reason : (claimed as PromiseRejectedResult).reason;
        if (errorCode(error) === "ENOENT" && retryAllowed) continue; // directory pruned: make it again
        throw storageError(operation, written.status === "rejected" ? tempPath : target.lockPath, error);
      }
      let version: string;
      try {
        version = await claimed.value.hold(lockOptions, async () => {
          const [current, temp] = await Promise.all([lstatOrUndefined(target.filePath), fs.stat(tempPath, { bigint: true })]);
          if (!conditionHolds(condition, current)) throw this.#preconditionFailed(key, condition, "set");
          const stats = await ensureLaterMtime(tempPath, temp, current);
          await fs.rename(tempPath, target.filePath);
          return versionOf(stats);
        });
      } catch (error) {
        await removeQuietly(tempPath);
        if (error instanceof PreconditionFailedError) await this.#pruneEmptyDirectories(target.directory);
        if (error instanceof DosnaError) throw error;
        // ENOENT: the temp file or its directory vanished (the pool was removed under us).
        if (errorCode(error) === "ENOENT" && retryAllowed) continue;
        throw storageError(operation, target.filePath, error);
      }
      if (this.#durable) await syncDirectory(target.directory, operation);
      return version;
    }
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    this.#validateKey(key);
    const condition: WriteCondition = options.ifMatch === undefined ? { kind: "none" } : writeConditionOf(key, { ifMatch: options.ifMatch });
    const operation = `delete of key ${JSON.stringify(key)} from ${this.description}`;
    throwIfAborted(options.signal, operation);
    const directory = await this.#unlinkObject(key, condition, operation, options.signal);
    if (directory === undefined) return;
    if (this.#durable) await syncDirectory(directory, operation);
    await this.#pruneEmptyDirectories(directory);
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    keys.forEach((key) => this.#validateKey(key));
    const limit = pLimit(DELETE_CONCURRENCY);
    const directories = new Set<string>();
    await Promise.all(
      keys.map((key) =>
        limit(async () => {
          const operation = `delete of key ${JSON.stringify(key)} from ${this.description}`;
          throwIfAborted(options.signal, operation);
          const directory = await this.#unlinkObject(key, { kind: "none" }, operation, options.signal);
          if (directory !== undefined) directories.add(directory);
        }),
      ),
    );
    // One fsync per directory rather than per key.
    const operation = `delete of ${keys.length} keys from ${this.description}`;
    await Promise.all(
      [...directories].map((directory) =>
        limit(async () => {
          if (this.#durable) await syncDirectory(directory, operation);
          await this.#pruneEmptyDirectories(directory);
        }),
      ),
    );
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    validateListPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const directoryKey = prefix.slice(0, slash + 1);
    const operation = `list of prefix ${JSON.stringify(prefix)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    const placement = await this.#confinement.check(this.#pathOf(directoryKey), `prefix ${JSON.stringify(prefix)}`, operation);
    if (placement === "missing") return;
    yield* this.#walk(directoryKey, prefix.slice(slash + 1), options.signal);
  }

  async listDir(prefix: string, options: RequestOptions = {}): Promise<DirectoryListing> {
    validateDirectoryPrefix(prefix);
    const operation = `listDir of prefix ${JSON.stringify(prefix)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    const directory = this.#pathOf(prefix);
    if ((await this.#confinement.check(directory, `prefix ${JSON.stringify(prefix)}`, operation)) === "missing") {
      return { keys: [], prefixes: [] };
    }
    let entries: Dirent[];
    try {
      entries = await fs.readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return { keys: [], prefixes: [] };
      throw storageError(operation, directory, error);
    }
    const keys: string[] = [];
    const prefixes: string[] = [];
    const reserved: string[] = [];
    for (const entry of entries) {
      if (reservedKind(entry.name) !== undefined) {
        if (entry.isFile()) reserved.push(entry.name);
      } else if (entry.isFile()) keys.push(prefix + entry.name);
      else if (entry.isDirectory()) prefixes.push(prefix + entry.name);
    }
    if (reserved.length > 0) await this.#removeOrphansIn(directory, reserved);
    return { keys: keys.sort(), prefixes: prefixes.sort() };
  }

  /**
   * Removes, under the whole root, the temp and lock files of writers that were killed: those of
   * processes on this host that have exited, temp files older than an hour, locks older than the
   * stale timeout. Returns how many files it removed. Listings do the same for the directories they read.
   */
  async removeOrphans(options: RequestOptions = {}): Promise<number> {
    const operation = `removeOrphans of ${this.description}`;
    throwIfAborted(options.signal, operation);
    if ((await this.#confinement.check(this.root, "its root", operation)) === "missing") return 0;
    return this.#sweep(this.root, options.signal, operation);
  }

  /** Keys under the directory `directoryKey` ("" or ending in "/") whose next segment starts with `namePrefix`. */
  async *#walk(directoryKey: string, namePrefix: string, signal: AbortSignal | undefined): AsyncGenerator<string> {
    const operation = `list of ${JSON.stringify(directoryKey + namePrefix)} in ${this.description}`;
    throwIfAborted(signal, operation);
    const directory = this.#pathOf(directoryKey);
    let handle: AsyncIterable<Dirent>;
    try {
      handle = await fs.opendir(directory);
    } catch (error) {
      if (isMissing(error)) return; // never created, or pruned by a concurrent delete
      throw storageError(operation, directory, error);
    }
    const reserved: string[] = [];
    // Dirents are not followed: a symbolic link is neither a directory nor a file here.
    for await (const entry of handle) {
      if (reservedKind(entry.name) !== undefined) {
        if (entry.isFile()) reserved.push(entry.name);
        continue;
      }
      if (!entry.name.startsWith(namePrefix)) continue;
      const key = directoryKey + entry.name;
      if (entry.isDirectory()) yield* this.#walk(`${key}/`, "", signal);
      else if (entry.isFile()) yield key;
    }
    if (reserved.length > 0) await this.#removeOrphansIn(directory, reserved);
  }

  async #sweep(directory: string, signal: AbortSignal | undefined, operation: string): Promise<number> {
    throwIfAborted(signal, operation);
    let entries: Dirent[];
    try {
      entries = await fs.readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return 0;
      throw storageError(operation, directory, error);
    }
    let removed = 0;
    const reserved: string[] = [];
    for (const entry of entries) {
      if (reservedKind(entry.name) !== undefined) {
        if (entry.isFile()) reserved.push(entry.name);
      } else if (entry.isDirectory()) removed += await this.#sweep(path.join(directory, entry.name), signal, operation);
    }
    return removed + (reserved.length > 0 ? await this.#removeOrphansIn(directory, reserved) : 0);
  }

  async #removeOrphansIn(directory: string, names: string[]): Promise<number> {
    const removed = await removeOrphansIn(directory, names, this.#lockStaleMs);
    if (removed > 0) await this.#pruneEmptyDirectories(directory);
    return removed;
  }

  /**
   * Opens the object at `key` for reading: undefined when there is none (or a directory stands
   * there). The confinement check runs beside the open, so it adds no latency; nothing is read
   * before it passed.
   */
  async #openObject(key: string, operation: string): Promise<OpenedObject | undefined> {
    const { filePath, directory, subject } = this.#pathsOf(key);
    const [placement, opened] = await Promise.allSettled([
      this.#confinement.check(directory, subject, operation),
      fs.open(filePath, READ_NO_FOLLOW),
    ]);
    if (placement.status === "rejected") {
      if (opened.status === "fulfilled") await opened.value.close();
      throw placement.reason;
    }
    if (opened.status === "rejected") {
      const error: unknown = opened.reason;
      if (isMissing(error)) return undefined;
      if (errorCode(error) === "ELOOP") {
        throw new StorageError(
          `${operation} refused: ${filePath} is a symbolic link, and the filesystem store does not follow symbolic links to objects`,
          { cause: error },
        );
      }
      throw storageError(operation, filePath, error);
    }
    const handle = opened.value;
    let stats: BigIntStats;
    try {
      stats = await handle.stat({ bigint: true });
    } catch (error) {
      await handle.close();
      throw storageError(operation, filePath, error);
    }
    if (stats.isFile()) return { handle, stats, filePath };
    await handle.close();
    return undefined; // a directory holding other keys is not an object
  }

  /**
   * Unlinks the object at `key` under its lock if `condition` holds (PreconditionFailedError if
   * not). Returns the directory it unlinked from, or undefined when there was no object.
   */
  async #unlinkObject(key: string, condition: WriteCondition, operation: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const { filePath, directory, lockPath, subject } = this.#pathsOf(key);
    const conditional = condition.kind === "version";
    /** Whether the object `current` may be deleted: false when there is none; throws when it is another version. */
    const deletable = (current: BigIntStats | undefined): boolean => {
      // EISDIR-like: a directory of other keys is no object to delete.
      const present = current !== undefined && !current.isDirectory();
      if (conditional && !(present && conditionHolds(condition, current))) throw this.#preconditionFailed(key, condition, "delete");
      return present;
    };
    if ((await this.#confinement.check(directory, subject, operation)) === "missing") return deletable(undefined) ? directory : undefined;
    // Nothing there: no lock needed, the delete takes effect at this look.
    if (!deletable(await this.#lstat(filePath, operation))) return undefined;
    try {
      const claim = await LockClaim.prepare(lockPath);
      const unlinked = await claim.hold({ staleMs: this.#lockStaleMs, signal, operation }, async () => {
        if (!deletable(await lstatOrUndefined(filePath))) return false;
        await fs.unlink(filePath);
        return true;
      });
      return unlinked ? directory : undefined;
    } catch (error) {
      if (error instanceof DosnaError) throw error;
      // The directory went away before the lock's claim could be written in it, and the key with it.
      if (isMissing(error)) return deletable(undefined) ? directory : undefined;
      throw storageError(operation, filePath, error);
    }
  }

  async #lstat(filePath: string, operation: string): Promise<BigIntStats | undefined> {
    try {
      return await lstatOrUndefined(filePath);
    } catch (error) {
      throw storageError(operation, filePath, error);
    }
  }

  #preconditionFailed(key: string, condition: WriteCondition, operation: "set" | "delete"): PreconditionFailedError {
    return new PreconditionFailedError(preconditionMessage(key, condition, this.description, operation));
  }

  async #makeDirectory(directory: string, key: string, operation: string): Promise<void> {
    if (!this.#createRoot) {
      try {
        await fs.stat(this.root);
      } catch (error) {
        if (!isMissing(error)) throw storageError(operation, this.root, error);
        throw new NotFoundError(
          `cannot write key ${JSON.stringify(key)}: ${this.root} does not exist (was the pool deleted?)`,
          { cause: error },
        );
      }
    }
    await this.#confinement.checkCreatable(directory, `key ${JSON.stringify(key)}`, operation);
    let created: string | undefined;
    try {
      created = await fs.mkdir(directory, { recursive: true });
    } catch (error) {
      // A concurrent delete can prune a freshly made parent before its child is made; the caller
      // retries. Node's recursive mkdir reports that race as ENOTDIR (it stats a directory that
      // is gone by then): a file really standing in the way makes the write itself fail with ENOTDIR.
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw storageError(operation, directory, error);
    }
    if (created !== undefined && this.#durable) await this.#syncNewDirectories(created, directory, operation);
  }

  /** Makes the entries of the directories mkdir made, `created` (the topmost) down to `directory`, durable. */
  async #syncNewDirectories(created: string, directory: string, operation: string): Promise<void> {
    const parents: string[] = [];
    for (let current = directory; current !== path.dirname(current); current = path.dirname(current)) {
      parents.push(path.dirname(current));
      if (current === created) break;
    }
    await Promise.all(parents.map((parent) => syncDirectory(parent, operation)));
  }

  /** Removes `directory` and its ancestors below the root while they are empty. */
  async #pruneEmptyDirectories(directory: string): Promise<void> {
    const insideRoot = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    for (let current = directory; current.startsWith(insideRoot); current = path.dirname(current)) {
      try {
        await fs.rmdir(current);
      } catch {
        // Not empty (another key, or a concurrent writer's temp or lock file), already gone, or not
        // ours to remove: the delete itself has succeeded either way.
        return;
      }
    }
  }

  #validateKey(key: string): void {
    validateKey(key);
    const reserved = key.split("/").find((segment) => reservedKind(segment) !== undefined);
    if (reserved !== undefined) {
      throw new ValidationError(
        `invalid store key ${JSON.stringify(key)}: segment ${JSON.stringify(reserved)} looks like one of the filesystem store's own temp or lock files (".*${TEMP_SUFFIX}", ".*${LOCK_SUFFIX}", ".*${REAP_SUFFIX}")`,
      );
    }
  }

  /** The filesystem path of a validated key or prefix. */
  #pathOf(key: string): string {
    return path.join(this.root, ...key.split("/"));
  }

  #pathsOf(key: string): KeyPaths {
    const filePath = this.#pathOf(key);
    const directory = path.dirname(filePath);
    return { filePath, directory, lockPath: path.join(directory, lockNameOf(path.basename(filePath))), subject: `key ${JSON.stringify(key)}` };
  }
}

/**
 * Pools as directories under one root directory: pool "a" is <root>/a, and a pool with a nested
 * name, "a/b/c", is <root>/a/b/c (like a pool under an S3 key prefix). The directories above a
 * nested pool are left in place when it is deleted. Whatever directory stands at a pool's path
 * counts as that pool: once "a/b/c" exists, so (for hasPool and createPool) do "a" and "a/b".
 */
export class FileSystemBackend implements Backend {
  readonly root: string;
  readonly description: string;
  readonly #storeOptions: FileSystemBackendOptions;

  constructor(rootDir: string, options: FileSystemBackendOptions = {}) {
    this.root = path.resolve(rootDir);
    this.description = `fs:${this.root}`;
    validateStoreOptions(options, `FileSystemBackend at ${this.root}`);
    this.#storeOptions = { durable: options.durable, lockStaleMs: options.lockStaleMs };
  }

  /**
   * The top-level directories of the root (not starting with "."), sorted. Pools with nested names
   * are not searched for: they are reached by name, as pools under S3 key prefixes are.
   */
  async listPools(options: RequestOptions = {}): Promise<string[]> {
    const operation = `listPools of ${this.description}`;
    throwIfAborted(options.signal, operation);
    let entries: Dirent[];
    try {
      entries = await fs.readdir(this.root, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw storageError(operation, this.root, error);
    }
    return entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort();
  }

  async hasPool(name: string, options: RequestOptions = {}): Promise<boolean> {
    const poolPath = this.#poolPath(name);
    const operation = `hasPool ${JSON.stringify(name)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    try {
      return (await fs.stat(poolPath)).isDirectory();
    } catch (error) {
      if (isMissing(error)) return false;
      throw storageError(operation, poolPath, error);
    }
  }

  async createPool(name: string, options: RequestOptions = {}): Promise<void> {
    const poolPath = this.#poolPath(name);
    const operation = `createPool ${JSON.stringify(name)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    const parent = path.dirname(poolPath);
    let firstCreated: string | undefined;
    try {
      firstCreated = await fs.mkdir(parent, { recursive: true });
    } catch (error) {
      throw storageError(operation, parent, error);
    }
    try {
      await fs.mkdir(poolPath);
    } catch (error) {
      if (errorCode(error) === "EEXIST") {
        throw new AlreadyExistsError(`pool ${JSON.stringify(name)} already exists in ${this.description}`, {
          cause: error,
        });
      }
      throw storageError(operation, poolPath, error);
    }
    if (this.#storeOptions.durable !== false) await this.#syncNewEntries(parent, firstCreated, operation);
  }

  /**
   * Fsyncs `directory` (where the pool directory was made) and, for each of its ancestors below the
   * root that this createPool made (from `firstCreated`, what mkdir -p reported, down), the
   * directory holding it, so that the whole path to a new nested pool is durable.
   */
  async #syncNewEntries(directory: string, firstCreated: string | undefined, operation: string): Promise<void> {
    await syncDirectory(directory, operation);
    if (firstCreated === undefined) return;
    const made = firstCreated + path.sep;
    let current = directory;
    while (current !== this.root && (current + path.sep).startsWith(made)) {
      current = path.dirname(current);
      await syncDirectory(current, operation);
    }
  }

  async deletePool(name: string, options: RequestOptions = {}): Promise<void> {
    const poolPath = this.#poolPath(name);
    const operation = `deletePool ${JSON.stringify(name)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    if (!(await this.hasPool(name))) {
      throw new NotFoundError(`pool ${JSON.stringify(name)} does not exist in ${this.description}`);
    }
    // Rename first so the pool disappears at once rather than file by file; listPools ignores
    // dot-names. The doomed name is a sibling in the pool's own parent directory (so the rename
    // stays within one directory), and the parents of a nested pool are left as they are.
    const parent = path.dirname(poolPath);
    const doomedPath = path.join(parent, `.deleting-${path.basename(poolPath)}-${randomBytes(6).toString("hex")}`);
    try {
      await fs.rename(poolPath, doomedPath);
    } catch (error) {
      if (isMissing(error)) {
        throw new NotFoundError(`pool ${JSON.stringify(name)} does not exist in ${this.description}`, {
          cause: error,
        });
      }
      throw storageError(operation, poolPath, error);
    }
    if (this.#storeOptions.durable !== false) await syncDirectory(parent, operation);
    try {
      await fs.rm(doomedPath, { recursive: true, force: true });
    } catch (error) {
      throw storageError(operation, doomedPath, error);
    }
  }

  openPool(name: string): FileSystemStore {
    return new FileSystemStore(this.#poolPath(name), { ...this.#storeOptions, createRoot: false });
  }

  #poolPath(name: string): string {
    validatePoolName(name);
    return path.join(this.root, ...name.split("/"));
  }
}
