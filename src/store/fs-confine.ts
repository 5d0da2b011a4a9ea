/**
 * Keeps a store's keys inside its root when directories in it are symbolic links: the real path of
 * a key's directory must lie inside the real path of the root, or the request fails (nothing is
 * read, written or created outside). The final component of a key is opened with O_NOFOLLOW by the
 * store itself. A link swapped in between this check and the use of the path is not caught.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { StorageError } from "../errors.js";
import { isMissing, storageError } from "./fs-errors.js";

export type Placement = "inside" | "missing";

export class RootConfinement {
  readonly #root: string;
  readonly #description: string;
  #realRoot: string | undefined;

  constructor(root: string, description: string) {
    this.#root = root;
    this.#description = description;
  }

  /**
   * "inside" when `directory` (the root or below it) exists and really lies inside the root,
   * "missing" when it (or the root) does not exist. `subject` names the request's key or prefix
   * for the error ('key "a/b"').
   */
  async check(directory: string, subject: string, operation: string): Promise<Placement> {
    const realRoot = await this.#resolvedRoot(operation);
    if (realRoot === undefined) return "missing";
    let real: string;
    try {
      real = await fs.realpath(directory);
    } catch (error) {
      if (isMissing(error)) return "missing";
      throw storageError(operation, directory, error);
    }
    if (real !== realRoot && !real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
      throw new StorageError(
        `${operation} refused: ${subject} resolves outside the pool ${this.#description} through a symbolic link (${directory} is really ${real})`,
      );
    }
    return "inside";
  }

  /** Checks the nearest existing ancestor of `directory`, before the directories below it are made. */
  async checkCreatable(directory: string, subject: string, operation: string): Promise<void> {
    for (let current = directory; ; current = path.dirname(current)) {
      if ((await this.check(current, subject, operation)) === "inside") return;
      if (current === this.#root || current === path.dirname(current)) return; // the root itself is missing
    }
  }

  async #resolvedRoot(operation: string): Promise<string | undefined> {
    if (this.#realRoot !== undefined) return this.#realRoot;
    try {
      this.#realRoot = await fs.realpath(this.#root);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw storageError(operation, this.#root, error);
    }
    return this.#realRoot;
  }
}
