/**
 * A snapshot (plus a session's uncommitted changes) presented as a Store of plain Zarr keys, so
 * that core/ (Pool, Group, Dataset) runs on a version unchanged. Reads resolve a key through the
 * node table and the manifests to an immutable chunk object; writes put a new chunk object (never
 * overwriting one) and record the change, visible to nobody else until the session commits.
 *
 * Version tokens: a chunk's is its object id, a zarr.json's a hash of its text, so the
 * conditional read-modify-writes of core/ work inside a session as on any store.
 */
import { createHash } from "node:crypto";
import { NotFoundError, PreconditionFailedError, ReadOnlyError, ValidationError } from "../errors.js";
import { validateKey, validateListPrefix, validateDirectoryPrefix } from "../store/keys.js";
import { resolveByteRange, validateByteRange } from "../store/ranges.js";
import {
  preconditionMessage,
  staleReadMessage,
  writeConditionOf,
  type ByteRange,
  type ConditionalSupport,
  type DeleteOptions,
  type DirectoryListing,
  type GetOptions,
  type GetVersionedOptions,
  type RequestOptions,
  type SetOptions,
  type Store,
  type VersionedBytes,
} from "../store/store.js";
import { blockOfChunkKey } from "./blocks.js";
import { type ChangeSet, emptyChangeSet, type ManifestLoader, manifestsFrom } from "./changes.js";
import { newObjectId } from "../core/object-ids.js";
import { chunkObjectKey, REPO_PREFIX } from "./layout.js";
import type { ChunkRef, ManifestRef, Snapshot } from "./objects.js";

interface LiveNode {
  zarr: string;
  manifests: Record<string, ManifestRef> | undefined;
}

type KeyRole = { kind: "metadata"; path: string } | { kind: "chunk"; path: string; chunk: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const METADATA = "zarr.json";

/** Manifests by id, loaded once (they are immutable) and then readable without waiting. */
export class ManifestCache {
  readonly #pending = new Map<string, Promise<Map<string, ChunkRef>>>();
  readonly #loaded = new Map<string, Map<string, ChunkRef>>();

  constructor(private readonly fetch: ManifestLoader) {}

  readonly load: ManifestLoader = (id, node) => {
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.fetch(id, node).then((chunks) => {
        this.#loaded.set(id, chunks);
        return chunks;
      });
      pending.catch(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  };

  peek(id: string): Map<string, ChunkRef> | undefined {
    return this.#loaded.get(id);
  }
}

export class SessionStore implements Store {
  #base: Snapshot;
  #changes: ChangeSet = emptyChangeSet();
  readonly #kinds = new Map<string, "array" | "group" | "unknown">();

  constructor(
    private readonly backing: Store,
    base: Snapshot,
    private readonly manifests: ManifestCache,
    readonly description: string,
    private readonly writable: boolean,
  ) {
    this.#base = base;
  }

  get base(): Snapshot {
    return this.#base;
  }

  get changes(): ChangeSet {
    return this.#changes;
  }

  /** Move onto another snapshot keeping (or replacing) the uncommitted changes (commit, rebase). */
  reset(base: Snapshot, changes: ChangeSet = emptyChangeSet()): void {
    this.#base = base;
    this.#changes = changes;
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    if (range !== undefined) validateByteRange(range, key);
    const found = await this.read(key, range);
    if (options.ifMatch !== undefined && found?.version !== options.ifMatch) {
      throw new PreconditionFailedError(staleReadMessage(key, options.ifMatch, this.description));
    }
    return found?.bytes;
  }

  async getVersioned(key: string, options: GetVersionedOptions = {}): Promise<VersionedBytes | undefined> {
    if (options.range !== undefined) validateByteRange(options.range, key);
    return this.read(key, options.range);
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    this.assertWritable(key);
    const role = this.roleOf(key, "set");
    const condition = writeConditionOf(key, options);
    if (role.kind === "metadata") {
      const text = decoder.decode(value);
      this.kindOf(text, key);
      this.checkCondition(key, condition, this.metadataVersion(role.path));
      const existing = this.liveNode(role.path);
      const current = this.#changes.nodes.get(role.path);
      // A node written where none stands (created, or deleted earlier in the session) starts with no chunks.
      const chunksFrom = existing === undefined ? "fresh" : current ? current.chunksFrom : "inherit";
      if (existing === undefined) this.#changes.chunks.delete(role.path);
      this.#changes.nodes.set(role.path, { zarr: text, chunksFrom });
      return versionOfText(text);
    }
    const before = await this.chunkRef(role.path, role.chunk);
    this.checkCondition(key, condition, before?.[0]);
    const id = newObjectId();
    await this.backing.set(chunkObjectKey(id), value, { signal: options.signal });
    // Another write of this chunk in the same session may have landed while the object was stored.
    if (condition.kind !== "none") this.checkCondition(key, condition, this.chunkRefNow(role.path, role.chunk)?.[0]);
    this.chunkChangesOf(role.path).set(role.chunk, [id, value.byteLength]);
    return id;
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    this.assertWritable(key);
    const role = this.roleOf(key, "delete");
    const condition = options.ifMatch === undefined ? ({ kind: "none" } as const) : writeConditionOf(key, { ifMatch: options.ifMatch });
    if (role.kind === "metadata") {
      const version = this.metadataVersion(role.path);
      if (condition.kind === "version" && version !== condition.version) {
        throw new PreconditionFailedError(preconditionMessage(key, condition, this.description, "delete"));
      }
      if (version === undefined) return;
      this.#changes.chunks.delete(role.path);
      if (role.path in this.#base.nodes) this.#changes.nodes.set(role.path, null);
      else this.#changes.nodes.delete(role.path);
      return;
    }
    const before = await this.chunkRef(role.path, role.chunk);
    if (condition.kind === "version" && before?.[0] !== condition.version) {
      throw new PreconditionFailedError(preconditionMessage(key, condition, this.description, "delete"));
    }
    if (before === undefined) return;
    this.chunkChangesOf(role.path).set(role.chunk, null);
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    keys.forEach((key) => validateKey(key));
    // Chunks before metadata, so that an array's chunks are found through it.
    const ordered = [...keys].sort((a, b) => Number(a.endsWith(METADATA)) - Number(b.endsWith(METADATA)) || b.length - a.length);
    for (const key of ordered) await this.delete(key, options);
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    validateListPrefix(prefix);
    for (const path of this.livePaths()) {
      const metadata = path === "" ? METADATA : `${path}/${METADATA}`;
      if (metadata.startsWith(prefix)) yield metadata;
      const base = path === "" ? "" : `${path}/`;
      if (!base.startsWith(prefix) && !prefix.startsWith(base)) continue;
      if (this.kindOfPath(path) !== "array") continue;
      for (const chunk of await this.chunkKeysOf(path, options)) {
        const key = `${base}${chunk}`;
        if (key.startsWith(prefix)) yield key;
      }
    }
  }

  async listDir(prefix: string, options: RequestOptions = {}): Promise<DirectoryListing> {
    validateDirectoryPrefix(prefix);
    const keys = new Set<string>();
    const prefixes = new Set<string>();
    const add = (key: string) => {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash < 0) keys.add(key);
      else prefixes.add(prefix + rest.slice(0, slash));
    };
    for (const path of this.livePaths()) {
      const metadata = path === "" ? METADATA : `${path}/${METADATA}`;
      if (metadata.startsWith(prefix)) add(metadata);
    }
    // Chunk keys only of the arrays the prefix is at or inside (never every manifest of the pool).
    const inside = prefix === "" ? undefined : prefix.slice(0, -1);
    for (const path of this.livePaths()) {
      if (inside === undefined || this.kindOfPath(path) !== "array") continue;
      if (inside !== path && !inside.startsWith(`${path}/`)) continue;
      for (const chunk of await this.chunkKeysOf(path, options)) {
        const key = `${path}/${chunk}`;
        if (key.startsWith(prefix)) add(key);
      }
    }
    return { keys: [...keys].sort(), prefixes: [...prefixes].sort() };
  }

  async conditionalSupport(): Promise<ConditionalSupport> {
    return { write: true, delete: true };
  }

  /** The node paths that exist in this version, the root first. */
  livePaths(): string[] {
    const paths = new Set(Object.keys(this.#base.nodes));
    for (const [path, change] of this.#changes.nodes) {
      if (change === null) paths.delete(path);
      else paths.add(path);
    }
    return [...paths].sort();
  }

  liveNode(path: string): LiveNode | undefined {
    const change = this.#changes.nodes.get(path);
    if (change === null) return undefined;
    if (change === undefined) {
      const entry = this.#base.nodes[path];
      return entry ? { zarr: entry.zarr, manifests: entry.manifests } : undefined;
    }
    return { zarr: change.zarr, manifests: manifestsFrom(change, this.#base.nodes[path]) };
  }

  /** The backing store's key of a chunk's object in this version, if the chunk is stored. */
  async objectKeyOf(path: string, chunk: string): Promise<string | undefined> {
    const ref = await this.chunkRef(path, chunk);
    return ref ? chunkObjectKey(ref[0]) : undefined;
  }

  /** Every chunk key of an array in this version (loads the array's manifests). */
  async chunkKeysOf(path: string, options: RequestOptions = {}): Promise<string[]> {
    const node = this.liveNode(path);
    const keys = new Set<string>();
    for (const ref of Object.values(node?.manifests ?? {})) {
      options.signal?.throwIfAborted();
      for (const key of (await this.manifests.load(ref.id, path)).keys()) keys.add(key);
    }
    for (const [key, ref] of this.#changes.chunks.get(path) ?? []) {
      if (ref === null) keys.delete(key);
      else keys.add(key);
    }
    return [...keys].sort();
  }

  private async read(key: string, range: ByteRange | undefined): Promise<VersionedBytes | undefined> {
    const role = this.roleOf(key, "get", true);
    if (role === undefined) return undefined;
    if (role.kind === "metadata") {
      const node = this.liveNode(role.path);
      if (!node) return undefined;
      const bytes = encoder.encode(node.zarr);
      const { start, end } = resolveByteRange(range, bytes.length);
      return { bytes: bytes.slice(start, end), version: versionOfText(node.zarr) };
    }
    const ref = await this.chunkRef(role.path, role.chunk);
    if (!ref) return undefined;
    const bytes = await this.backing.get(chunkObjectKey(ref[0]), range);
    if (bytes === undefined) {
      throw new NotFoundError(`chunk object ${ref[0]} of key ${JSON.stringify(key)} is missing from ${this.backing.description} (snapshot ${this.#base.id})`);
    }
    return { bytes, version: ref[0] };
  }

  private async chunkRef(path: string, chunk: string): Promise<ChunkRef | undefined> {
    const found = this.locateChunk(path, chunk);
    return "manifest" in found ? (await this.manifests.load(found.manifest, path)).get(chunk) : found.ref;
  }

  /** chunkRef without waiting: the manifest it needs has been loaded by an earlier chunkRef. */
  private chunkRefNow(path: string, chunk: string): ChunkRef | undefined {
    const found = this.locateChunk(path, chunk);
    return "manifest" in found ? this.manifests.peek(found.manifest)?.get(chunk) : found.ref;
  }

  /** A chunk's entry when the session's changes settle it (or no manifest lists it), else the manifest to look in. */
  private locateChunk(path: string, chunk: string): { ref: ChunkRef | undefined } | { manifest: string } {
    const changed = this.#changes.chunks.get(path);
    if (changed?.has(chunk)) return { ref: changed.get(chunk) ?? undefined };
    const ref = this.liveNode(path)?.manifests?.[blockOfChunkKey(chunk)];
    return ref ? { manifest: ref.id } : { ref: undefined };
  }

  private chunkChangesOf(path: string): Map<string, ChunkRef | null> {
    let changes = this.#changes.chunks.get(path);
    if (!changes) this.#changes.chunks.set(path, (changes = new Map()));
    return changes;
  }

  private metadataVersion(path: string): string | undefined {
    const node = this.liveNode(path);
    return node ? versionOfText(node.zarr) : undefined;
  }

  private checkCondition(key: string, condition: ReturnType<typeof writeConditionOf>, current: string | undefined): void {
    const failed = (condition.kind === "absent" && current !== undefined) || (condition.kind === "version" && current !== condition.version);
    if (failed) throw new PreconditionFailedError(preconditionMessage(key, condition, this.description));
  }

  private assertWritable(key: string): void {
    if (!this.writable) throw new ReadOnlyError(`cannot write key ${JSON.stringify(key)} in ${this.description}: it is a read-only checkout`);
  }

  private roleOf(key: string, operation: string, lenient: true): KeyRole | undefined;
  private roleOf(key: string, operation: string): KeyRole;
  private roleOf(key: string, operation: string, lenient = false): KeyRole | undefined {
    validateKey(key);
    if (key === METADATA) return { kind: "metadata", path: "" };
    if (key.endsWith(`/${METADATA}`)) return { kind: "metadata", path: key.slice(0, -METADATA.length - 1) };
    if (!key.startsWith(REPO_PREFIX)) {
      const segments = key.split("/");
      for (let i = segments.length - 1; i >= 1; i--) {
        const path = segments.slice(0, i).join("/");
        if (this.kindOfPath(path) === "array") return { kind: "chunk", path, chunk: segments.slice(i).join("/") };
      }
    }
    if (lenient) return undefined;
    throw new ValidationError(`cannot ${operation} key ${JSON.stringify(key)} in ${this.description}: a version holds only zarr.json metadata and chunks of its arrays`);
  }

  private kindOfPath(path: string): "array" | "group" | "unknown" | undefined {
    const node = this.liveNode(path);
    return node ? this.kindOf(node.zarr) : undefined;
  }

  private kindOf(text: string, key?: string): "array" | "group" | "unknown" {
    let kind = this.#kinds.get(text);
    if (kind === undefined) {
      try {
        const type = (JSON.parse(text) as { node_type?: unknown }).node_type;
        kind = type === "array" ? "array" : type === "group" ? "group" : "unknown";
      } catch {
        if (key !== undefined) throw new ValidationError(`cannot set ${JSON.stringify(key)} in ${this.description}: it is not JSON`);
        kind = "unknown";
      }
      this.#kinds.set(text, kind);
    }
    return kind;
  }
}

function versionOfText(text: string): string {
  return `m${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
}
