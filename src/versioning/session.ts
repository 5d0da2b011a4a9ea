/**
 * Session: one checkout of a repository, with the whole Pool/Group API over a SessionStore.
 * Writes stay private to the session until `commit`, which is atomic: the new snapshot becomes
 * visible only through one conditional write of the branch's ref, so of two sessions that started
 * from the same snapshot only one can commit; the other gets a ConflictError and can `rebase`.
 */
import { ConflictError, PreconditionFailedError, ReadOnlyError, ValidationError } from "../errors.js";
import { metadataKey, parseNodeMetadata } from "../format/index.js";
import type { PoolContext } from "../core/context.js";
import { Pool } from "../core/pool.js";
import { changesBetween, describeConflicts, findConflicts, isEmptyChangeSet, type Conflict } from "./changes.js";
import type { Author } from "./objects.js";
import type { Repository } from "./repository.js";
import type { WriterLease } from "./lease.js";
import type { SessionStore } from "./session-store.js";

export interface CommitOptions {
  metadata?: Record<string, unknown>;
  author?: Author;
  /** Commit even when nothing changed. */
  allowEmpty?: boolean;
  /** On a moved branch, rebase and try again (as long as the changes do not conflict). */
  rebase?: boolean;
  /** Attempts with `rebase` before giving up (default 64). */
  maxAttempts?: number;
}

/** Two sets of changes touched the same chunks or metadata; `conflicts` lists where. */
export class MergeConflictError extends ConflictError {
  constructor(
    message: string,
    readonly conflicts: Conflict[],
  ) {
    super(message);
  }
}

export interface SessionInfo {
  repository: Repository;
  store: SessionStore;
  /** The branch a writable session commits to, or the branch/tag/snapshot it reads. */
  ref: string;
  branch: string | undefined;
  /** The version of the branch's ref object when the session started or last committed. */
  refVersion: string | undefined;
  /** Held for the session's life on stores without conditional writes (released by close). */
  lease?: WriterLease;
}

export class Session extends Pool {
  readonly #info: SessionInfo;

  private constructor(context: PoolContext, attributes: Record<string, unknown>, njobs: () => number, info: SessionInfo) {
    super(context, "", attributes, njobs);
    this.#info = info;
  }

  static async start(pool: Pool, info: SessionInfo, writable: boolean): Promise<Session> {
    const context: PoolContext = {
      store: info.store,
      poolName: `${pool.context.poolName}@${info.ref}`,
      readOnly: !writable,
      conflicts: pool.context.conflicts,
      zarrKeysOnly: true,
    };
    const key = metadataKey("");
    const bytes = await info.store.get(key);
    const root = bytes === undefined ? undefined : parseNodeMetadata(bytes, key, info.store.description);
    return new Session(context, root?.kind === "group" ? root.attributes : {}, () => pool.njobs, info);
  }

  get repository(): Repository {
    return this.#info.repository;
  }

  /** The snapshot this session reads (and, writable, builds on). */
  get snapshotId(): string {
    return this.#info.store.base.id;
  }

  get branch(): string | undefined {
    return this.#info.branch;
  }

  get writable(): boolean {
    return !this.context.readOnly;
  }

  /** Whether anything was written since the checkout or the last commit. */
  get hasChanges(): boolean {
    return !isEmptyChangeSet(this.#info.store.changes);
  }

  /**
   * Make every change of this session visible at once as a new snapshot of the branch, and return
   * its id. ConflictError (MergeConflictError with `rebase` when the changes overlap) if the branch
   * moved since the session started; the branch is never changed by a failed commit.
   */
  async commit(message: string, options: CommitOptions = {}): Promise<string> {
    const branch = this.requireWritable("commit");
    if (typeof message !== "string") throw new ValidationError(`commit message must be a string, got ${typeof message}`);
    if (!this.hasChanges && !options.allowEmpty) {
      throw new ValidationError(`nothing to commit on branch "${branch}" (snapshot ${this.snapshotId}): no change since checkout; pass { allowEmpty: true } to commit anyway`);
    }
    const attempts = options.rebase ? (options.maxAttempts ?? 64) : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commitOnce(branch, message, options);
      } catch (error) {
        if (!(error instanceof ConflictError) || error instanceof MergeConflictError || attempt >= attempts) throw error;
        await this.rebase();
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 2 ** attempt)));
      }
    }
  }

  /**
   * Move this session's uncommitted changes onto the branch's latest snapshot. Succeeds when the
   * changes made on the branch meanwhile touch other chunks and other nodes' metadata; otherwise
   * MergeConflictError listing the dataset paths and chunk keys, with the session unchanged.
   */
  async rebase(): Promise<void> {
    const branch = this.requireWritable("rebase");
    const repo = this.#info.repository;
    const head = await repo.readRef("branch", branch);
    if (!head) throw new ConflictError(`branch "${branch}" was deleted while the session was open`);
    const store = this.#info.store;
    if (head.snapshot === store.base.id) {
      this.#info.refVersion = head.version;
      return;
    }
    const latest = await repo.readSnapshot(head.snapshot);
    const theirs = await changesBetween(store.base, latest, repo.manifestLoader);
    const conflicts = findConflicts(store.changes, theirs);
    if (conflicts.length > 0) {
      throw new MergeConflictError(
        `cannot rebase onto branch "${branch}" (now at ${latest.id}): the session and the branch both changed ${describeConflicts(conflicts)}`,
        conflicts,
      );
    }
    store.reset(latest, store.changes);
    this.#info.refVersion = head.version;
  }

  /** Ends the session: releases the writer lease, if it holds one. Uncommitted changes are dropped. */
  override async close(): Promise<void> {
    await this.#info.lease?.release();
    await super.close();
  }

  /** Drop every uncommitted change. */
  discard(): void {
    this.#info.store.reset(this.#info.store.base);
  }

  private async commitOnce(branch: string, message: string, options: CommitOptions): Promise<string> {
    const repo = this.#info.repository;
    const store = this.#info.store;
    const snapshot = await repo.writeSnapshot(store.base, store.changes, {
      parents: [store.base.id],
      message,
      author: options.author ?? repo.defaultAuthor,
      metadata: options.metadata ?? {},
    });
    try {
      this.#info.refVersion = await repo.moveRef(branch, snapshot.id, this.#info.refVersion, this.#info.lease);
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        throw new ConflictError(
          `cannot commit to branch "${branch}": it moved since this session's snapshot ${store.base.id} (another commit landed); ` +
            `call session.rebase() and commit again, or commit with { rebase: true }`,
          { cause: error },
        );
      }
      throw error;
    }
    store.reset(snapshot);
    return snapshot.id;
  }

  private requireWritable(operation: string): string {
    if (this.context.readOnly || this.#info.branch === undefined) {
      throw new ReadOnlyError(`cannot ${operation}: ${this.describe} is a read-only checkout (use repo.checkout({ branch, write: true }))`);
    }
    return this.#info.branch;
  }
}
