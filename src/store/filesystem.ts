/**
 * Stores on a local directory: key "a/b/c" is the file <root>/a/b/c.
 *
 * Every write goes to a unique temp file in the key's own directory and is then renamed (or, for
 * ifNoneMatch, hard-linked) onto the final name, so readers only ever see complete objects. An
 * opened file therefore never changes under a reader, which is why a get can size its buffer from
 * fstat. Deletes prune directories left empty; a writer whose directory is pruned under it simply
 * recreates the directory and tries again.
 */
import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import pLimit from "p-limit";
import { AlreadyExistsError, NotFoundError, StorageError, ValidationError } from "../errors.js";
import { throwIfAborted } from "./abort.js";
import { validateDirectoryPrefix, validateKey, validateListPrefix, validatePoolName } from "./keys.js";
import { resolveByteRange, validateByteRange } from "./ranges.js";
import type { Backend, ByteRange, DirectoryListing, RequestOptions, SetOptions, Store } from "./store.js";

const TEMP_SUFFIX = ".dosna-tmp";
/** How often a write retries after a concurrent delete pruned its directory away. */
const MAX_WRITE_ATTEMPTS = 50;
const DELETE_CONCURRENCY = 16;

function isTempName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(TEMP_SUFFIX);
}

function newTempName(): string {
  return `.${process.pid}.${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** ENOTDIR: some parent of the path is a file, so the path cannot exist either. */
function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

function storageError(operation: string, filePath: string, cause: unknown): StorageError {
  const code = errorCode(cause) ?? "error";
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageError(`${operation} failed with ${code} at ${filePath}: ${detail}`, { cause });
}

async function removeQuietly(filePath: string): Promise<void> {
  await fs.unlink(filePath).catch(() => undefined);
}

export interface FileSystemStoreOptions {
  /**
   * Create the root directory on the first write (default true). FileSystemBackend turns this off,
   * so that writing through the store of a deleted pool fails with NotFoundError instead of
   * silently bringing the pool back.
   */
  createRoot?: boolean;
}

export class FileSystemStore implements Store {
  readonly root: string;
  readonly description: string;
  readonly #createRoot: boolean;

  constructor(rootDir: string, options: FileSystemStoreOptions = {}) {
    this.root = path.resolve(rootDir);
    this.description = `fs:${this.root}`;
    this.#createRoot = options.createRoot ?? true;
  }

  async get(key: string, range?: ByteRange, options: RequestOptions = {}): Promise<Uint8Array | undefined> {
    this.#validateKey(key);
    if (range !== undefined) validateByteRange(range, key);
    const operation = `get of key ${JSON.stringify(key)} from ${this.description}`;
    throwIfAborted(options.signal, operation);
    const filePath = this.#pathOf(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(filePath, "r");
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw storageError(operation, filePath, error);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) return undefined; // a directory holding other keys is not an object
      const { start, end } = resolveByteRange(range, stats.size);
      const bytes = new Uint8Array(end - start);
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, start + filled);
        if (bytesRead === 0) break; // only if another program truncated the file in place
        filled += bytesRead;
      }
      return filled === bytes.length ? bytes : bytes.slice(0, filled);
    } catch (error) {
      throw storageError(operation, filePath, error);
    } finally {
      await handle.close();
    }
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<void> {
    this.#validateKey(key);
    if (!(value instanceof Uint8Array)) {
      throw new ValidationError(`value for key ${JSON.stringify(key)} must be a Uint8Array, got ${typeof value}`);
    }
    const operation = `set of key ${JSON.stringify(key)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    const finalPath = this.#pathOf(key);
    const directory = path.dirname(finalPath);

    for (let attempt = 1; ; attempt++) {
      const retryAllowed = attempt < MAX_WRITE_ATTEMPTS;
      const tempPath = path.join(directory, newTempName());
      try {
        await fs.writeFile(tempPath, value, { flag: "wx" });
      } catch (error) {
        await removeQuietly(tempPath);
        if (errorCode(error) === "ENOENT" && retryAllowed) {
          await this.#makeDirectory(directory, key, operation);
          continue;
        }
        throw storageError(operation, tempPath, error);
      }
      let renamed = false;
      try {
        if (options.ifNoneMatch) await this.#linkExclusive(tempPath, finalPath, key);
        else {
          await fs.rename(tempPath, finalPath);
          renamed = true;
        }
        return;
      } catch (error) {
        if (error instanceof AlreadyExistsError) throw error;
        // ENOENT here means the temp file itself vanished (the pool was removed under us).
        if (errorCode(error) === "ENOENT" && retryAllowed) continue;
        throw storageError(operation, finalPath, error);
      } finally {
        // After a link this drops the extra name; after a failure, the temp file. A rename left nothing.
        if (!renamed) await removeQuietly(tempPath);
      }
    }
  }

  async delete(key: string, options: RequestOptions = {}): Promise<void> {
    this.#validateKey(key);
    const operation = `delete of key ${JSON.stringify(key)} from ${this.description}`;
    throwIfAborted(options.signal, operation);
    const filePath = this.#pathOf(key);
    try {
      await fs.unlink(filePath);
    } catch (error) {
      // EISDIR: the key names a directory of other keys, so there is no object to delete.
      if (isMissing(error) || errorCode(error) === "EISDIR") return;
      throw storageError(operation, filePath, error);
    }
    await this.#pruneEmptyDirectories(path.dirname(filePath));
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    keys.forEach((key) => this.#validateKey(key));
    const limit = pLimit(DELETE_CONCURRENCY);
    await Promise.all(keys.map((key) => limit(() => this.delete(key, options))));
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    validateListPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    yield* this.#walk(prefix.slice(0, slash + 1), prefix.slice(slash + 1), options.signal);
  }

  async listDir(prefix: string, options: RequestOptions = {}): Promise<DirectoryListing> {
    validateDirectoryPrefix(prefix);
    const operation = `listDir of prefix ${JSON.stringify(prefix)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    const directory = this.#pathOf(prefix);
    let entries: Dirent[];
    try {
      entries = await fs.readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return { keys: [], prefixes: [] };
      throw storageError(operation, directory, error);
    }
    const keys: string[] = [];
    const prefixes: string[] = [];
    for (const entry of entries) {
      if (entry.isFile() && !isTempName(entry.name)) keys.push(prefix + entry.name);
      else if (entry.isDirectory()) prefixes.push(prefix + entry.name);
    }
    return { keys: keys.sort(), prefixes: prefixes.sort() };
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
    for await (const entry of handle) {
      if (!entry.name.startsWith(namePrefix) || isTempName(entry.name)) continue;
      const key = directoryKey + entry.name;
      if (entry.isDirectory()) yield* this.#walk(`${key}/`, "", signal);
      else if (entry.isFile()) yield key;
    }
  }

  async #linkExclusive(tempPath: string, finalPath: string, key: string): Promise<void> {
    try {
      await fs.link(tempPath, finalPath);
    } catch (error) {
      if (errorCode(error) === "EEXIST") {
        throw new AlreadyExistsError(`key ${JSON.stringify(key)} already exists in ${this.description}`, {
          cause: error,
        });
      }
      throw error;
    }
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
    try {
      await fs.mkdir(directory, { recursive: true });
    } catch (error) {
      // A concurrent delete can prune a freshly made parent before its child is made; the caller
      // retries. Node's recursive mkdir reports that race as ENOTDIR (it stats a directory that
      // is gone by then): a file really standing in the way makes the write itself fail with ENOTDIR.
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw storageError(operation, directory, error);
    }
  }

  /** Removes `directory` and its ancestors below the root while they are empty. */
  async #pruneEmptyDirectories(directory: string): Promise<void> {
    const insideRoot = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    for (let current = directory; current.startsWith(insideRoot); current = path.dirname(current)) {
      try {
        await fs.rmdir(current);
      } catch {
        // Not empty (a concurrent writer's temp file or another key), already gone, or not ours
        // to remove: the delete itself has succeeded either way.
        return;
      }
    }
  }

  #validateKey(key: string): void {
    validateKey(key);
    const tempLike = key.split("/").find(isTempName);
    if (tempLike !== undefined) {
      throw new ValidationError(
        `invalid store key ${JSON.stringify(key)}: segment ${JSON.stringify(tempLike)} looks like one of the filesystem store's temp files (".*${TEMP_SUFFIX}")`,
      );
    }
  }

  /** The filesystem path of a validated key or prefix. */
  #pathOf(key: string): string {
    return path.join(this.root, ...key.split("/"));
  }
}

/** Pools as the sub-directories of one root directory. */
export class FileSystemBackend implements Backend {
  readonly root: string;
  readonly description: string;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
    this.description = `fs:${this.root}`;
  }

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
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.mkdir(poolPath);
    } catch (error) {
      if (errorCode(error) === "EEXIST") {
        throw new AlreadyExistsError(`pool ${JSON.stringify(name)} already exists in ${this.description}`, {
          cause: error,
        });
      }
      throw storageError(operation, poolPath, error);
    }
  }

  async deletePool(name: string, options: RequestOptions = {}): Promise<void> {
    const poolPath = this.#poolPath(name);
    const operation = `deletePool ${JSON.stringify(name)} in ${this.description}`;
    throwIfAborted(options.signal, operation);
    if (!(await this.hasPool(name))) {
      throw new NotFoundError(`pool ${JSON.stringify(name)} does not exist in ${this.description}`);
    }
    // Rename first so the pool disappears at once rather than file by file; listPools ignores dot-names.
    const doomedPath = path.join(this.root, `.deleting-${name}-${randomBytes(6).toString("hex")}`);
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
    try {
      await fs.rm(doomedPath, { recursive: true, force: true });
    } catch (error) {
      throw storageError(operation, doomedPath, error);
    }
  }

  openPool(name: string): Store {
    return new FileSystemStore(this.#poolPath(name), { createRoot: false });
  }

  #poolPath(name: string): string {
    validatePoolName(name);
    return path.join(this.root, name);
  }
}
