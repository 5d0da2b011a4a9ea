/**
 * Repository: versions of a pool's hierarchy (Hangar's API on Icechunk's storage idea). Immutable
 * snapshots list the nodes and, per block of each array's chunk grid, a manifest of immutable chunk
 * objects; branches and tags are small ref objects, and a branch moves only by a conditional write.
 * The layout is specified in docs/versioning.md.
 */
import { userInfo } from "node:os";
import pLimit from "p-limit";
import { AlreadyExistsError, ConflictError, NotFoundError, PreconditionFailedError, ReadOnlyError, ValidationError } from "../errors.js";
import { metadataKey } from "../format/index.js";
import { forEachLimited } from "../core/concurrency.js";
import type { Group } from "../core/group.js";
import type { Pool } from "../core/pool.js";
import type { ByteRange, Store } from "../store/store.js";
import { buildSnapshot } from "./build-snapshot.js";
import { type ChangeSet, changesBetween, describeConflicts, emptyChangeSet, findConflicts, isEmptyChangeSet, type ManifestLoader, type NodeChange } from "./changes.js";
import { isObjectId, newObjectId, timeOfId } from "../core/object-ids.js";
import {
  BRANCHES_PREFIX,
  CHUNKS_PREFIX,
  chunkObjectKey,
  MANIFESTS_PREFIX,
  manifestKey,
  REPO_MARKER_KEY,
  REPO_PREFIX,
  refKey,
  type RefKind,
  SNAPSHOTS_PREFIX,
  snapshotKey,
  TAGS_PREFIX,
  validateRefName,
} from "./layout.js";
import {
  type Author,
  authorSchema,
  type ChunkRef,
  decodeObject,
  encodeObject,
  manifestSchema,
  markerSchema,
  refSchema,
  type Snapshot,
  snapshotSchema,
} from "./objects.js";
import { type LeaseOptions, WriterLease } from "./lease.js";
import { ManifestCache, SessionStore } from "./session-store.js";
import { conditionalSupportOf } from "../core/optimistic.js";
import { MergeConflictError, Session } from "./session.js";

export const MAIN_BRANCH = "main";
/** First-parent ancestors a snapshot lists, so that `log` fetches history in parallel. */
const HISTORY_LENGTH = 100;

export interface CheckoutOptions {
  branch?: string;
  tag?: string;
  snapshot?: string;
  /** With `branch`: the newest snapshot of the branch made at or before this time. */
  asOf?: Date;
  /** A writable session on `branch` (default false: read-only). */
  write?: boolean;
}

export interface LogEntry {
  id: string;
  parents: string[];
  message: string;
  author: Author;
  time: Date;
  metadata: Record<string, unknown>;
}

export interface NodeDiff {
  path: string;
  kind: "array" | "group";
}

export interface DatasetDiff {
  path: string;
  /** Shape, dtype, chunks, codecs, fill value or anything else of zarr.json besides attributes. */
  metadataChanged: boolean;
  attributesChanged: boolean;
  chunks: { added: number[][]; changed: number[][]; removed: number[][] };
}

export interface RepositoryDiff {
  from: string;
  to: string;
  added: NodeDiff[];
  removed: NodeDiff[];
  /** Groups whose attributes changed. */
  groups: Array<{ path: string; attributesChanged: boolean }>;
  datasets: DatasetDiff[];
}

export interface RepositorySummary {
  branches: Record<string, string>;
  tags: Record<string, string>;
  head: LogEntry;
  datasets: Array<{ path: string; shape: number[]; dtype: string; chunks: number; bytes: number }>;
  groups: string[];
  storedChunks: number;
  storedBytes: number;
}

export interface GcResult {
  deleted: { snapshots: number; manifests: number; chunks: number };
  kept: { snapshots: number; manifests: number; chunks: number };
}

export class Repository {
  readonly #snapshots = new Map<string, Promise<Snapshot>>();
  readonly #manifests: ManifestCache;
  readonly defaultAuthor: Author;

  private constructor(
    readonly pool: Pool,
    author: Author | undefined,
    private readonly leaseOptions: LeaseOptions = {},
  ) {
    this.defaultAuthor = author ?? { name: safeUserName() };
    this.#manifests = new ManifestCache((id, node) => this.fetchManifest(id, node));
  }

  /**
   * Make `pool` a repository whose first commit holds what the pool holds now (an empty root group
   * for a new pool: an existing plain pool is imported, its chunks copied into the repository).
   */
  static async init(pool: Pool, options: { author?: Author; message?: string; lease?: LeaseOptions } = {}): Promise<Repository> {
    if (pool.context.readOnly) throw new ReadOnlyError(`cannot make ${pool.describe} a repository: it was opened read-only`);
    const author = options.author === undefined ? undefined : parseAuthor(options.author);
    const repo = new Repository(pool, author, options.lease);
    const store = pool.store;
    const marker = { format: "dosna-repository", version: 1, created: new Date().toISOString() };
    try {
      await repo.putIfAbsent(REPO_MARKER_KEY, encodeObject(marker));
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`${pool.describe} already holds a repository`, { cause: error });
      throw error;
    }
    const first = await repo.importPlainContents(options.message);
    await repo.putIfAbsent(refKey("branch", MAIN_BRANCH), encodeObject({ snapshot: first.id }));
    return repo;
  }

  /** `lease`: the writer lease's timing, on stores without conditional writes (see lease.ts). */
  static async open(pool: Pool, options: { author?: Author; lease?: LeaseOptions } = {}): Promise<Repository> {
    decodeObject(markerSchema, await pool.store.get(REPO_MARKER_KEY).then((b) => b ?? missingRepository(pool)), "repository marker", pool.describe);
    return new Repository(pool, options.author === undefined ? undefined : parseAuthor(options.author), options.lease);
  }

  static async exists(pool: Pool): Promise<boolean> {
    return (await pool.store.get(REPO_MARKER_KEY)) !== undefined;
  }

  get manifestLoader(): ManifestLoader {
    return this.#manifests.load;
  }

  /** A session on a branch (writable with `write: true`), a tag, a snapshot, or a branch as of a time. */
  async checkout(options: CheckoutOptions = {}): Promise<Session> {
    const given = ["branch", "tag", "snapshot"].filter((k) => options[k as keyof CheckoutOptions] !== undefined);
    if (given.length > 1) throw new ValidationError(`checkout takes one of branch, tag or snapshot, got ${given.join(" and ")}`);
    if (options.write && options.branch === undefined && given.length > 0) {
      throw new ValidationError(`a writable checkout needs a branch (tags and snapshots never change); got ${given[0]}`);
    }
    if (options.write && options.asOf) throw new ValidationError("a writable checkout cannot be of a past time (asOf); create a branch from that snapshot instead");
    if (options.tag !== undefined) {
      const tag = await this.readRef("tag", validateRefName(options.tag, "tag"));
      if (!tag) throw await this.refNotFound("tag", options.tag);
      return this.session(await this.readSnapshot(tag.snapshot), `tag ${options.tag}`, undefined, undefined);
    }
    if (options.snapshot !== undefined) {
      return this.session(await this.readSnapshot(this.requireSnapshotId(options.snapshot)), options.snapshot, undefined, undefined);
    }
    const branch = validateRefName(options.branch ?? MAIN_BRANCH, "branch");
    const head = await this.readRef("branch", branch);
    if (!head) throw await this.refNotFound("branch", branch);
    if (options.asOf !== undefined) {
      if (!(options.asOf instanceof Date) || Number.isNaN(options.asOf.getTime())) throw new ValidationError(`asOf must be a valid Date, got ${String(options.asOf)}`);
      const found = await this.snapshotAsOf(head.snapshot, options.asOf);
      if (!found) throw new NotFoundError(`branch "${branch}" has no snapshot made at or before ${options.asOf.toISOString()}`);
      return this.session(found, `${branch}@${options.asOf.toISOString()}`, undefined, undefined);
    }
    if (!options.write) return this.session(await this.readSnapshot(head.snapshot), branch, undefined, undefined);
    if (await this.writesConditionally()) return this.session(await this.readSnapshot(head.snapshot), branch, branch, head.version);
    // One writer at a time: read the branch again once the lease is held.
    const lease = await this.acquireLease();
    try {
      const leased = (await this.readRef("branch", branch)) ?? head;
      return await this.session(await this.readSnapshot(leased.snapshot), branch, branch, leased.version, lease);
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  /** The snapshot id a branch, tag or snapshot id names (branches first, then tags). */
  async resolve(ref: string): Promise<string> {
    if (typeof ref !== "string" || ref === "") throw new ValidationError(`expected a branch, tag or snapshot id, got ${JSON.stringify(ref)}`);
    if (isObjectId(ref) && (await this.pool.store.get(snapshotKey(ref))) !== undefined) return ref;
    const branch = isValidRefName(ref) ? await this.readRef("branch", ref) : undefined;
    if (branch) return branch.snapshot;
    const tag = isValidRefName(ref) ? await this.readRef("tag", ref) : undefined;
    if (tag) return tag.snapshot;
    throw new NotFoundError(`no branch, tag or snapshot ${JSON.stringify(ref)} in the repository of ${this.pool.describe}; branches: ${(await this.listBranches()).join(", ") || "(none)"}`);
  }

  async listBranches(): Promise<string[]> {
    return this.listRefs(BRANCHES_PREFIX);
  }

  async listTags(): Promise<string[]> {
    return this.listRefs(TAGS_PREFIX);
  }

  async createBranch(name: string, options: { from?: string } = {}): Promise<string> {
    validateRefName(name, "branch");
    const snapshot = await this.resolve(options.from ?? MAIN_BRANCH);
    try {
      await this.putIfAbsent(refKey("branch", name), encodeObject({ snapshot }));
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`branch "${name}" already exists`, { cause: error });
      throw error;
    }
    return snapshot;
  }

  /** Point a branch at another snapshot (history is kept; `main` too can be reset). */
  async resetBranch(name: string, to: string): Promise<void> {
    validateRefName(name, "branch");
    const head = await this.readRef("branch", name);
    if (!head) throw await this.refNotFound("branch", name);
    const snapshot = await this.resolve(to);
    await this.moveRef(name, snapshot, head.version).catch((error: unknown) => {
      if (error instanceof PreconditionFailedError) throw new ConflictError(`branch "${name}" moved while it was being reset; try again`, { cause: error });
      throw error;
    });
  }

  async deleteBranch(name: string): Promise<void> {
    validateRefName(name, "branch");
    if (name === MAIN_BRANCH) throw new ValidationError(`branch "${MAIN_BRANCH}" cannot be deleted`);
    const head = await this.readRef("branch", name);
    if (!head) throw await this.refNotFound("branch", name);
    await this.pool.store.delete(refKey("branch", name));
  }

  /** Tags never move: creating an existing one is AlreadyExistsError. */
  async createTag(name: string, ref: string): Promise<string> {
    validateRefName(name, "tag");
    const snapshot = await this.resolve(ref);
    try {
      await this.putIfAbsent(refKey("tag", name), encodeObject({ snapshot }));
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`tag "${name}" already exists (tags never move)`, { cause: error });
      throw error;
    }
    return snapshot;
  }

  /** Every snapshot reachable from `ref` (all parents of merges too), newest first. */
  async log(ref: string = MAIN_BRANCH, options: { limit?: number } = {}): Promise<LogEntry[]> {
    const head = await this.readSnapshot(await this.resolve(ref));
    const limit = options.limit ?? Infinity;
    const seen = new Set([head.id]);
    const found: Snapshot[] = [];
    let frontier: Snapshot[] = [head];
    const prefetch = pLimit(Math.max(1, this.pool.njobs));
    while (frontier.length > 0 && found.length < limit) {
      found.push(...frontier);
      // Each snapshot lists up to 100 first-parent ancestors: fetch them in parallel, not one generation at a time.
      for (const id of frontier.flatMap((s) => s.history ?? [])) if (!seen.has(id) && !this.#snapshots.has(id)) void prefetch(() => this.readSnapshot(id).catch(() => undefined));
      const next = frontier.flatMap((s) => s.parents).filter((id) => !seen.has(id) && (seen.add(id), true));
      frontier = await Promise.all(next.map((id) => this.readSnapshot(id)));
    }
    // Newest first; commits of the same millisecond keep breadth-first order (children before parents).
    return found
      .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))
      .slice(0, limit)
      .map(logEntryOf);
  }

  /** What changed from one version to another: nodes added and removed, and per dataset its metadata, attributes and chunks. */
  async diff(from: string, to: string): Promise<RepositoryDiff> {
    const [a, b] = await Promise.all([this.resolve(from).then((id) => this.readSnapshot(id)), this.resolve(to).then((id) => this.readSnapshot(id))]);
    const changes = await changesBetween(a, b, this.#manifests.load);
    const kind = (text: string) => (JSON.parse(text).node_type === "array" ? "array" : "group") as "array" | "group";
    const result: RepositoryDiff = { from: a.id, to: b.id, added: [], removed: [], groups: [], datasets: [] };
    const datasets = new Map<string, DatasetDiff>();
    const datasetDiff = (path: string) => {
      let d = datasets.get(path);
      if (!d) datasets.set(path, (d = { path, metadataChanged: false, attributesChanged: false, chunks: { added: [], changed: [], removed: [] } }));
      return d;
    };
    for (const [path, change] of changes.nodes) {
      if (change === null) result.removed.push({ path, kind: kind(a.nodes[path].zarr) });
      else if (!(path in a.nodes)) result.added.push({ path, kind: kind(change.zarr) });
      else {
        const [before, after] = [JSON.parse(a.nodes[path].zarr), JSON.parse(change.zarr)];
        const attributesChanged = JSON.stringify(before.attributes ?? {}) !== JSON.stringify(after.attributes ?? {});
        delete before.attributes;
        delete after.attributes;
        if (kind(change.zarr) === "group") result.groups.push({ path, attributesChanged });
        else Object.assign(datasetDiff(path), { metadataChanged: JSON.stringify(before) !== JSON.stringify(after), attributesChanged });
      }
    }
    for (const [path, chunks] of changes.chunks) {
      if (!(path in a.nodes) || !(path in b.nodes)) continue;
      const d = datasetDiff(path);
      // Only the changed keys are looked up in the older version (their manifests are cached by changesBetween).
      const before = new SessionStore(this.pool.store, a, this.#manifests, "", false);
      for (const [key, ref] of chunks) {
        const index = (key.match(/\d+/g) ?? []).map(Number);
        if (ref === null) d.chunks.removed.push(index);
        else if ((await before.objectKeyOf(path, key)) !== undefined) d.chunks.changed.push(index);
        else d.chunks.added.push(index);
      }
      for (const list of Object.values(d.chunks)) list.sort(compareIndex);
    }
    result.datasets = [...datasets.values()].sort((x, y) => (x.path < y.path ? -1 : 1));
    result.added.sort((x, y) => (x.path < y.path ? -1 : 1));
    result.removed.sort((x, y) => (x.path < y.path ? -1 : 1));
    return result;
  }

  /**
   * Merge branch (or tag, or snapshot) `source` into branch `into`: a fast-forward when `into` has
   * not moved since they diverged, else a merge commit of the two sides' changes when they touch
   * different chunks and nodes; MergeConflictError (the target unchanged) when they do not.
   */
  async merge(source: string, options: { into?: string; message?: string; author?: Author } = {}): Promise<{ snapshot: string; fastForward: boolean }> {
    const into = validateRefName(options.into ?? MAIN_BRANCH, "branch");
    const target = await this.readRef("branch", into);
    if (!target) throw await this.refNotFound("branch", into);
    const sourceId = await this.resolve(source);
    if (sourceId === target.snapshot) return { snapshot: sourceId, fastForward: true };
    const base = await this.mergeBase(target.snapshot, sourceId);
    if (base === sourceId) return { snapshot: target.snapshot, fastForward: false }; // already merged
    let result: Snapshot;
    if (base === target.snapshot) {
      result = await this.readSnapshot(sourceId);
    } else {
      if (base === undefined) throw new ConflictError(`cannot merge ${JSON.stringify(source)} into "${into}": they share no history`);
      const [baseSnapshot, ours, theirs] = await Promise.all([base, target.snapshot, sourceId].map((id) => this.readSnapshot(id)));
      const [ourChanges, theirChanges] = await Promise.all([changesBetween(baseSnapshot, ours, this.#manifests.load), changesBetween(baseSnapshot, theirs, this.#manifests.load)]);
      const conflicts = findConflicts(ourChanges, theirChanges);
      if (conflicts.length > 0) {
        throw new MergeConflictError(`cannot merge ${JSON.stringify(source)} into "${into}": both changed ${describeConflicts(conflicts)}`, conflicts);
      }
      result = await this.writeSnapshot(ours, theirChanges, {
        parents: [ours.id, theirs.id],
        message: options.message ?? `merge ${source} into ${into}`,
        author: options.author ?? this.defaultAuthor,
        metadata: {},
      });
    }
    try {
      await this.moveRef(into, result.id, target.version);
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new ConflictError(`branch "${into}" moved during the merge; merge again`, { cause: error });
      throw error;
    }
    return { snapshot: result.id, fastForward: base === target.snapshot };
  }

  /** Hangar's summary: branches, tags, the head commit of a ref, its datasets and sizes. */
  async summary(ref: string = MAIN_BRANCH): Promise<RepositorySummary> {
    const snapshot = await this.readSnapshot(await this.resolve(ref));
    const [branches, tags] = await Promise.all([this.refTable("branch"), this.refTable("tag")]);
    const datasets: RepositorySummary["datasets"] = [];
    const groups: string[] = [];
    for (const [path, entry] of Object.entries(snapshot.nodes).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const zarr = JSON.parse(entry.zarr);
      if (zarr.node_type !== "array") {
        groups.push(path);
        continue;
      }
      const refs = Object.values(entry.manifests ?? {});
      datasets.push({ path, shape: zarr.shape, dtype: zarr.data_type, chunks: refs.reduce((n, r) => n + r.chunks, 0), bytes: refs.reduce((n, r) => n + r.bytes, 0) });
    }
    return {
      branches,
      tags,
      head: logEntryOf(snapshot),
      datasets,
      groups,
      storedChunks: datasets.reduce((n, d) => n + d.chunks, 0),
      storedBytes: datasets.reduce((n, d) => n + d.bytes, 0),
    };
  }

  /**
   * Remove objects no branch or tag reaches (through any number of parents), older than
   * `olderThan` (default: an hour ago, so sessions still writing keep their chunks).
   */
  async gc(options: { olderThan?: Date } = {}): Promise<GcResult> {
    const cutoff = (options.olderThan ?? new Date(Date.now() - 3_600_000)).getTime();
    const heads = await Promise.all([...(await this.listBranches()).map((b) => this.readRef("branch", b)), ...(await this.listTags()).map((t) => this.readRef("tag", t))]);
    const reachable = { snapshots: new Set<string>(), manifests: new Set<string>(), chunks: new Set<string>() };
    let frontier = heads.flatMap((h) => (h ? [h.snapshot] : []));
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const snapshot of await Promise.all(frontier.filter((id) => !reachable.snapshots.has(id)).map((id) => (reachable.snapshots.add(id), this.readSnapshot(id))))) {
        const unseen: Array<[string, string]> = [];
        for (const [path, entry] of Object.entries(snapshot.nodes)) {
          for (const ref of Object.values(entry.manifests ?? {})) {
            if (reachable.manifests.has(ref.id)) continue;
            reachable.manifests.add(ref.id);
            unseen.push([ref.id, path]);
          }
        }
        await forEachLimited(
          unseen,
          async ([id, path]) => {
            for (const [chunkId] of (await this.#manifests.load(id, path)).values()) reachable.chunks.add(chunkId);
          },
          { njobs: this.pool.njobs },
        );
        next.push(...snapshot.parents);
      }
      frontier = next;
    }
    const result: GcResult = { deleted: { snapshots: 0, manifests: 0, chunks: 0 }, kept: { snapshots: 0, manifests: 0, chunks: 0 } };
    const sweep = async (prefix: string, kind: keyof GcResult["deleted"], idOf: (key: string) => string) => {
      const doomed: string[] = [];
      for await (const key of this.pool.store.list(prefix)) {
        const id = idOf(key);
        const time = timeOfId(id);
        if (reachable[kind].has(id) || time === undefined || time >= cutoff) result.kept[kind]++;
        else doomed.push(key);
      }
      await this.pool.store.deleteMany(doomed);
      result.deleted[kind] = doomed.length;
    };
    // Snapshots first: a half-finished gc then leaves manifests and chunks that a later gc removes.
    await sweep(SNAPSHOTS_PREFIX, "snapshots", (key) => key.slice(SNAPSHOTS_PREFIX.length, -".json".length));
    await sweep(MANIFESTS_PREFIX, "manifests", (key) => key.slice(MANIFESTS_PREFIX.length, -".json".length));
    await sweep(CHUNKS_PREFIX, "chunks", (key) => key.slice(CHUNKS_PREFIX.length));
    return result;
  }

  /**
   * Drop history made before `olderThan`: such snapshots that no branch or tag points at (and not
   * the first snapshot) leave the history, their children re-parented to their nearest kept
   * ancestors, so that the next `gc` deletes them with the chunks only they held. What every
   * branch and tag reads is unchanged. Each re-parenting is one replace of one snapshot object, so
   * an interrupted expire leaves a valid history.
   */
  async expire(options: { olderThan: Date }): Promise<{ expired: string[]; rewritten: string[] }> {
    if (!(options?.olderThan instanceof Date) || Number.isNaN(options.olderThan.getTime())) {
      throw new ValidationError(`expire needs { olderThan: Date }, got ${String(options?.olderThan)}`);
    }
    const cutoff = options.olderThan.toISOString();
    const heads = new Set(Object.values({ ...(await this.refTable("branch")) }).concat(Object.values(await this.refTable("tag"))));
    const all = new Map<string, Snapshot>();
    let frontier = [...heads];
    while (frontier.length > 0) {
      const fresh = frontier.filter((id) => !all.has(id));
      const snapshots = await Promise.all(fresh.map((id) => this.readSnapshot(id)));
      snapshots.forEach((snapshot) => all.set(snapshot.id, snapshot));
      frontier = snapshots.flatMap((snapshot) => snapshot.parents);
    }
    const expired = new Set([...all.values()].filter((s) => s.time < cutoff && !heads.has(s.id) && s.parents.length > 0).map((s) => s.id));
    const keptAncestors = (id: string, seen = new Set<string>()): string[] => {
      if (!expired.has(id)) return [id];
      if (seen.has(id)) return [];
      seen.add(id);
      return all.get(id)!.parents.flatMap((parent) => keptAncestors(parent, seen));
    };
    const rewritten: string[] = [];
    for (const snapshot of all.values()) {
      if (expired.has(snapshot.id) || ![...snapshot.parents, ...(snapshot.history ?? [])].some((p) => expired.has(p))) continue;
      const parents = [...new Set(snapshot.parents.flatMap((p) => keptAncestors(p)))];
      const updated: Snapshot = { ...snapshot, parents, ...(snapshot.history ? { history: snapshot.history.filter((id) => !expired.has(id)) } : {}) };
      await this.pool.store.set(snapshotKey(snapshot.id), encodeObject(updated));
      this.#snapshots.set(snapshot.id, Promise.resolve(updated));
      rewritten.push(snapshot.id);
    }
    return { expired: [...expired].sort(), rewritten: rewritten.sort() };
  }

  /**
   * A read-only store of one version's plain Zarr keys: `get(key)` and `getRange(key, range)`,
   * keys with or without a leading "/", so zarrita.js (or anything reading Zarr v3) reads it.
   */
  async store(ref: string = MAIN_BRANCH): Promise<VersionStore> {
    const snapshot = await this.readSnapshot(await this.resolve(ref));
    return new VersionStore(new SessionStore(this.pool.store, snapshot, this.#manifests, `snapshot ${snapshot.id} of ${this.pool.store.description}`, false));
  }

  /**
   * Write a version as a plain Zarr v3 hierarchy into `target` (a pool or group): every node's
   * zarr.json and its chunks' bytes as stored (never re-encoded). Chunks are copied server-side
   * (S3 CopyObject) when the target is on the same endpoint, through this process otherwise.
   */
  async export(ref: string, target: Group, options: { njobs?: number; signal?: AbortSignal } = {}): Promise<{ nodes: number; chunks: number; copiedServerSide: number }> {
    if (target.context.readOnly) throw new ReadOnlyError(`cannot export into ${target.describe}: it was opened read-only`);
    const snapshot = await this.readSnapshot(await this.resolve(ref));
    const view = new SessionStore(this.pool.store, snapshot, this.#manifests, `snapshot ${snapshot.id}`, false);
    const out = target.context.store;
    const base = target.path === "" ? "" : `${target.path}/`;
    let chunks = 0;
    let copiedServerSide = 0;
    let serverSide = out.copyFrom !== undefined;
    const paths = view.livePaths();
    for (const path of paths) {
      const node = view.liveNode(path)!;
      const keys = await view.chunkKeysOf(path, options);
      await forEachLimited(
        keys,
        async (chunk) => {
          const targetKey = `${base}${path}/${chunk}`;
          const objectKey = await view.objectKeyOf(path, chunk);
          if (objectKey === undefined) return;
          if (serverSide && (await out.copyFrom!(this.pool.store, objectKey, targetKey, { signal: options.signal }))) {
            copiedServerSide++;
            return;
          }
          serverSide = false;
          const bytes = await view.get(`${path}/${chunk}`);
          if (bytes !== undefined) await out.set(targetKey, bytes, { signal: options.signal });
        },
        { njobs: options.njobs ?? target.njobs, signal: options.signal },
      );
      chunks += keys.length;
      // Metadata after the chunks: a reader never finds an array whose chunks are still coming.
      await out.set(metadataKey(`${base}${path}`.replace(/\/$/, "")), new TextEncoder().encode(node.zarr), { signal: options.signal });
    }
    return { nodes: paths.length, chunks, copiedServerSide };
  }

  // ----- internals shared with Session -----

  async readRef(kind: RefKind, name: string): Promise<{ snapshot: string; version: string } | undefined> {
    const key = refKey(kind, name);
    const found = await this.pool.store.getVersioned(key);
    if (!found) return undefined;
    return { snapshot: decodeObject(refSchema, found.bytes, `${kind} "${name}"`, this.pool.describe).snapshot, version: found.version };
  }

  /**
   * Move a branch to `snapshot` if its ref is still at `version` (PreconditionFailedError if not);
   * returns the new version. Without conditional writes, under the writer lease (`held`, or one
   * taken for this write).
   */
  async moveRef(branch: string, snapshot: string, version: string | undefined, held?: WriterLease): Promise<string> {
    const key = refKey("branch", branch);
    const bytes = encodeObject({ snapshot });
    if (await this.writesConditionally()) return this.pool.store.set(key, bytes, version === undefined ? { ifNoneMatch: "*" } : { ifMatch: version });
    return this.underLease(held, async () => {
      const current = await this.pool.store.getVersioned(key);
      if (current?.version !== version) {
        throw new PreconditionFailedError(`branch ref ${JSON.stringify(key)} is no longer at version ${JSON.stringify(version)} in ${this.pool.store.description}`);
      }
      return this.pool.store.set(key, bytes);
    });
  }

  /** Store `bytes` at `key` only if nothing is there (PreconditionFailedError otherwise). */
  async putIfAbsent(key: string, bytes: Uint8Array, held?: WriterLease): Promise<string> {
    if (await this.writesConditionally()) return this.pool.store.set(key, bytes, { ifNoneMatch: "*" });
    return this.underLease(held, async () => {
      if ((await this.pool.store.get(key)) !== undefined) throw new PreconditionFailedError(`key ${JSON.stringify(key)} already exists in ${this.pool.store.description}`);
      return this.pool.store.set(key, bytes);
    });
  }

  /** Whether the pool's store enforces conditional writes; without them writers take the lease. */
  async writesConditionally(): Promise<boolean> {
    return (await conditionalSupportOf(this.pool.store)).write;
  }

  /** The writer lease for a writable session on a store without conditional writes. */
  async acquireLease(): Promise<WriterLease> {
    return WriterLease.acquire(this.pool.store, `the repository in ${this.pool.describe}`, this.leaseOptions);
  }

  private async underLease<T>(held: WriterLease | undefined, write: () => Promise<T>): Promise<T> {
    if (held) {
      await held.check();
      return write();
    }
    const lease = await this.acquireLease();
    try {
      return await write();
    } finally {
      await lease.release();
    }
  }

  async readSnapshot(id: string): Promise<Snapshot> {
    let pending = this.#snapshots.get(id);
    if (!pending) {
      pending = this.pool.store.get(snapshotKey(id)).then((bytes) => {
        if (bytes === undefined) throw new NotFoundError(`snapshot ${id} does not exist in the repository of ${this.pool.describe}`);
        const snapshot = decodeObject(snapshotSchema, bytes, `snapshot ${id}`, this.pool.describe);
        if (snapshot.id !== id) throw new ValidationError(`snapshot object ${id} in ${this.pool.describe} records the id ${snapshot.id}`);
        return snapshot;
      });
      pending.catch(() => this.#snapshots.delete(id));
      this.#snapshots.set(id, pending);
    }
    return pending;
  }

  /** Write the manifests and the snapshot object of `base` + `changes` (nothing points at it yet). */
  async writeSnapshot(base: Snapshot, changes: ChangeSet, info: { parents: string[]; message: string; author: Author; metadata: Record<string, unknown> }): Promise<Snapshot> {
    const id = newObjectId();
    const firstParent = info.parents[0];
    const history = firstParent === undefined ? [] : [firstParent, ...(firstParent === base.id ? (base.history ?? []) : []).slice(0, HISTORY_LENGTH - 1)];
    const snapshot = await buildSnapshot(base, changes, this.#manifests.load, async (manifest) => {
      const manifestId = newObjectId();
      await this.putImmutable(manifestKey(manifestId), encodeObject({ format: "dosna-manifest", version: 1, ...manifest }));
      return manifestId;
    }, { id, parents: info.parents, message: info.message, author: parseAuthor(info.author), time: new Date().toISOString(), metadata: info.metadata, history });
    await this.putImmutable(snapshotKey(id), encodeObject(snapshot));
    this.#snapshots.set(id, Promise.resolve(snapshot));
    return snapshot;
  }

  /** A new object under a fresh id: create-only where the store enforces it (a guard against id reuse), plain otherwise. */
  private async putImmutable(key: string, bytes: Uint8Array): Promise<void> {
    await this.pool.store.set(key, bytes, (await this.writesConditionally()) ? { ifNoneMatch: "*" } : {});
  }

  private async fetchManifest(id: string, node: string): Promise<Map<string, ChunkRef>> {
    const manifest = decodeObject(manifestSchema, await this.pool.store.get(manifestKey(id)), `manifest ${id} of array "/${node}"`, this.pool.describe);
    return new Map(Object.entries(manifest.chunks));
  }

  private session(snapshot: Snapshot, ref: string, branch: string | undefined, refVersion: string | undefined, lease?: WriterLease): Promise<Session> {
    const description = `${branch ? `branch "${branch}"` : ref} of the repository in ${this.pool.describe}`;
    const store = new SessionStore(this.pool.store, snapshot, this.#manifests, description, branch !== undefined);
    return Session.start(this.pool, { repository: this, store, ref, branch, refVersion, lease }, branch !== undefined);
  }

  private async snapshotAsOf(head: string, asOf: Date): Promise<Snapshot | undefined> {
    const wanted = asOf.toISOString();
    for (const entry of await this.log(head)) {
      if (entry.time.toISOString() <= wanted) return this.readSnapshot(entry.id);
    }
    return undefined;
  }

  /**
   * The merge base: the common ancestor nearest to `b`, breadth-first (any common ancestor that
   * descends from another one is nearer, so the one found first is never superseded).
   */
  private async mergeBase(a: string, b: string): Promise<string | undefined> {
    const ancestorsOfA = new Set((await this.log(a)).map((e) => e.id));
    const seen = new Set([b]);
    let frontier = [b];
    while (frontier.length > 0) {
      const common = frontier.find((id) => ancestorsOfA.has(id));
      if (common !== undefined) return common;
      const snapshots = await Promise.all(frontier.map((id) => this.readSnapshot(id)));
      frontier = snapshots.flatMap((s) => s.parents).filter((id) => !seen.has(id) && (seen.add(id), true));
    }
    return undefined;
  }

  private async importPlainContents(message?: string): Promise<Snapshot> {
    const store = this.pool.store;
    const nodes: Snapshot["nodes"] = {};
    const chunkKeys: string[] = [];
    for await (const key of store.list("")) {
      if (key.startsWith(REPO_PREFIX) || key.startsWith(".dosna/")) continue;
      if (key === "zarr.json" || key.endsWith("/zarr.json")) {
        const bytes = await store.get(key);
        if (bytes !== undefined) nodes[key === "zarr.json" ? "" : key.slice(0, -"/zarr.json".length)] = { zarr: new TextDecoder().decode(bytes) };
      } else chunkKeys.push(key);
    }
    const empty: Snapshot = { format: "dosna-snapshot", version: 1, id: "", parents: [], message: "", author: this.defaultAuthor, time: "", metadata: {}, nodes: {} };
    const changes = emptyChangeSet();
    for (const [path, entry] of Object.entries(nodes)) changes.nodes.set(path, { zarr: entry.zarr, chunksFrom: "fresh" } satisfies NodeChange);
    const arrays = Object.keys(nodes).filter((path) => JSON.parse(nodes[path].zarr).node_type === "array");
    await forEachLimited(
      chunkKeys,
      async (key) => {
        const array = arrays.filter((p) => key.startsWith(`${p}/`)).sort((x, y) => y.length - x.length)[0];
        if (array === undefined) return; // not a chunk of any array: not part of the hierarchy
        const bytes = await store.get(key);
        if (bytes === undefined) return;
        const id = newObjectId();
        await store.set(chunkObjectKey(id), bytes);
        let chunks = changes.chunks.get(array);
        if (!chunks) changes.chunks.set(array, (chunks = new Map()));
        chunks.set(key.slice(array.length + 1), [id, bytes.byteLength]);
      },
      { njobs: this.pool.njobs },
    );
    const imported = Object.keys(nodes).length > 1 || chunkKeys.length > 0;
    return this.writeSnapshot(empty, changes, {
      parents: [],
      message: message ?? (imported ? `import of ${this.pool.describe}` : "repository created"),
      author: this.defaultAuthor,
      metadata: {},
    });
  }

  private async listRefs(prefix: string): Promise<string[]> {
    const names: string[] = [];
    for await (const key of this.pool.store.list(prefix)) if (key.endsWith(".json")) names.push(key.slice(prefix.length, -".json".length));
    return names.sort();
  }

  private async refTable(kind: RefKind): Promise<Record<string, string>> {
    const names = kind === "branch" ? await this.listBranches() : await this.listTags();
    const refs = await Promise.all(names.map((name) => this.readRef(kind, name)));
    return Object.fromEntries(names.flatMap((name, i) => (refs[i] ? [[name, refs[i]!.snapshot]] : [])));
  }

  private async refNotFound(kind: RefKind, name: string): Promise<NotFoundError> {
    const branches = await this.listBranches();
    const tags = kind === "tag" ? await this.listTags() : [];
    const known = kind === "tag" ? `tags: ${tags.join(", ") || "(none)"}; branches: ${branches.join(", ")}` : `branches: ${branches.join(", ") || "(none)"}`;
    return new NotFoundError(`${kind} "${name}" does not exist in the repository of ${this.pool.describe} (${known})`);
  }

  private requireSnapshotId(id: string): string {
    if (!isObjectId(id)) throw new ValidationError(`invalid snapshot id ${JSON.stringify(id)}: expected 24 hex digits (from commit() or log())`);
    return id;
  }
}

/** Read-only access to one version as plain Zarr keys (zarrita's get / getRange). */
export class VersionStore {
  constructor(readonly store: SessionStore) {}

  get(key: string): Promise<Uint8Array | undefined> {
    return this.store.get(key.replace(/^\/+/, ""));
  }

  getRange(key: string, range: ByteRange): Promise<Uint8Array | undefined> {
    return this.store.get(key.replace(/^\/+/, ""), range);
  }
}

function logEntryOf(s: Snapshot): LogEntry {
  return { id: s.id, parents: s.parents, message: s.message, author: s.author, time: new Date(s.time), metadata: s.metadata };
}

function compareIndex(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function isValidRefName(name: string): boolean {
  try {
    validateRefName(name, "branch");
    return true;
  } catch {
    return false;
  }
}

function parseAuthor(author: unknown): Author {
  const result = authorSchema.safeParse(author);
  if (!result.success) throw new ValidationError(`invalid author ${JSON.stringify(author)}: expected { name: string, email?: string }`);
  return result.data;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

function missingRepository(pool: Pool): never {
  throw new NotFoundError(`${pool.describe} holds no repository (create one with dn.Repository.init(pool))`);
}

export { MergeConflictError, isEmptyChangeSet };
