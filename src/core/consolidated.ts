/**
 * Consolidated metadata: one object holding the metadata of every node of a hierarchy, which
 * zarr-python reads (and trusts) instead of listing. Zarr v3 (zarr-python 3) keeps it inline in the
 * root zarr.json under `consolidated_metadata`; Zarr v2 in a root `.zmetadata` object. When a pool
 * has it, every node dosna creates, changes or removes is written into it too, with a conditional
 * write retried until it lands, so it never goes stale behind dosna's back; and dosna lists
 * children from it (one GET instead of a LIST and a GET per child).
 */
import { ConflictError, PreconditionFailedError } from "../errors.js";
import { encodeMetadata } from "../format/metadata.js";
import { V2_ATTRIBUTES_KEY, V2_CONSOLIDATED_KEY, type V2Documents } from "../format/zarr-v2.js";
import type {
  ByteRange,
  ConditionalSupport,
  DeleteOptions,
  DirectoryListing,
  GetOptions,
  GetVersionedOptions,
  RequestOptions,
  SetOptions,
  Store,
  VersionedBytes,
} from "../store/store.js";

const ROOT_KEY = "zarr.json";
const MAX_ATTEMPTS = 64;

/** Read-modify-write of one JSON object under If-Match until it lands; `change` returns undefined for "nothing to do". */
async function updateJsonObject(
  store: Store,
  key: string,
  change: (doc: Record<string, unknown>) => Record<string, unknown> | undefined,
  request: RequestOptions,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const stored = await store.getVersioned(key, request);
    if (stored === undefined) return;
    const next = change(JSON.parse(new TextDecoder().decode(stored.bytes)) as Record<string, unknown>);
    if (next === undefined) return;
    try {
      await store.set(key, encodeMetadata(next), { ...request, ifMatch: stored.version });
      return;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  throw new ConflictError(`consolidated metadata at "${key}" in ${store.description} kept changing under ${MAX_ATTEMPTS} attempts to update it`);
}

/** A node written (its v2 documents) or removed (undefined, with everything below it). */
export interface V2NodeChange {
  path: string;
  documents: V2Documents | undefined;
}

/** Keep a v2 hierarchy's `.zmetadata` (when it has one) current after `changes`, with one conditional update. */
export async function updateV2Consolidated(store: Store, changes: readonly V2NodeChange[], request: RequestOptions): Promise<void> {
  const effective = changes.filter((change) => !(change.path === "" && change.documents === undefined));
  if (effective.length === 0) return;
  await updateJsonObject(
    store,
    V2_CONSOLIDATED_KEY,
    (doc) => {
      const metadata = { ...((doc.metadata as Record<string, unknown> | undefined) ?? {}) };
      for (const { path, documents } of effective) applyV2Change(metadata, path, documents);
      return { ...doc, metadata };
    },
    request,
  );
}

function applyV2Change(metadata: Record<string, unknown>, path: string, documents: V2Documents | undefined): void {
  const prefix = path === "" ? "" : `${path}/`;
  for (const name of Object.keys(metadata)) {
    const isOwn = name.startsWith(prefix) && !name.slice(prefix.length).includes("/");
    if ((documents === undefined && name.startsWith(prefix)) || (documents !== undefined && isOwn)) delete metadata[name];
  }
  if (documents !== undefined) {
    metadata[`${prefix}${documents.metadataName}`] = documents.metadata;
    if (Object.keys(documents.attributes).length > 0) metadata[`${prefix}${V2_ATTRIBUTES_KEY}`] = documents.attributes;
  }
}

/** The entries of `members` (keyed by node path) directly under `parent` ("" or "a/b"). */
export function directChildren<T>(members: Record<string, T>, parent: string): Array<[string, T]> {
  const prefix = parent === "" ? "" : `${parent}/`;
  return Object.entries(members).filter(([path]) => path.startsWith(prefix) && path.length > prefix.length && !path.slice(prefix.length).includes("/"));
}

/** The members of an inline `consolidated_metadata`, or undefined when the root has none. */
export function inlineConsolidated(root: Record<string, unknown>): Record<string, Record<string, unknown>> | undefined {
  const consolidated = root.consolidated_metadata as { metadata?: unknown } | null | undefined;
  if (consolidated === null || typeof consolidated !== "object") return undefined;
  const metadata = consolidated.metadata;
  return metadata !== null && typeof metadata === "object" ? (metadata as Record<string, Record<string, unknown>>) : {};
}

/**
 * A v3 pool's store whose root zarr.json has `consolidated_metadata`: writes of a node's zarr.json
 * are mirrored into it, and `childNodes` answers listings from it.
 */
export class ConsolidatedStore implements Store {
  readonly description: string;

  constructor(readonly inner: Store) {
    this.description = inner.description;
  }

  /** The zarr.json documents of the nodes directly under `parent` ("" or "a/b"), from one GET of the root. */
  async childNodes(parent: string, options: RequestOptions = {}): Promise<Array<[string, Record<string, unknown>]> | undefined> {
    const bytes = await this.inner.get(ROOT_KEY, undefined, options);
    if (bytes === undefined) return undefined;
    const members = inlineConsolidated(JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>);
    return members === undefined ? undefined : directChildren(members, parent);
  }

  get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array | undefined> {
    return this.inner.get(key, range, options);
  }

  getVersioned(key: string, options?: GetVersionedOptions): Promise<VersionedBytes | undefined> {
    return this.inner.getVersioned(key, options);
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    const version = await this.inner.set(key, value, options);
    const path = nonRootNodePath(key);
    if (path !== undefined) await this.mirror([[path, JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown>]], options);
    return version;
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    await this.inner.delete(key, options);
    const path = nonRootNodePath(key);
    if (path !== undefined) await this.mirror([[path, undefined]], options);
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    await this.inner.deleteMany(keys, options);
    const removed = keys.map(nonRootNodePath).filter((path): path is string => path !== undefined);
    if (removed.length > 0) await this.mirror(removed.map((path) => [path, undefined]), options);
  }

  list(prefix: string, options?: RequestOptions): AsyncIterable<string> {
    return this.inner.list(prefix, options);
  }

  listDir(prefix: string, options?: RequestOptions): Promise<DirectoryListing> {
    return this.inner.listDir(prefix, options);
  }

  conditionalSupport(options?: RequestOptions): Promise<ConditionalSupport> {
    return this.inner.conditionalSupport?.(options) ?? Promise.resolve({ write: true, delete: true });
  }

  async copyFrom(source: Store, sourceKey: string, key: string, options?: RequestOptions): Promise<boolean> {
    if (nonRootNodePath(key) !== undefined || this.inner.copyFrom === undefined) return false;
    return this.inner.copyFrom(source instanceof ConsolidatedStore ? source.inner : source, sourceKey, key, options);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** Write each [node path, its zarr.json or undefined for removed] into the root's member, in one conditional update. */
  private async mirror(changes: Array<[string, Record<string, unknown> | undefined]>, request: RequestOptions): Promise<void> {
    await updateJsonObject(
      this.inner,
      ROOT_KEY,
      (root) => {
        const members = inlineConsolidated(root);
        if (members === undefined) return undefined;
        const changed = new Set(changes.map(([path]) => path));
        const removedPrefixes = changes.filter(([, doc]) => doc === undefined).map(([path]) => `${path}/`);
        const next: Record<string, unknown> = {};
        for (const [member, value] of Object.entries(members)) {
          if (!changed.has(member) && !removedPrefixes.some((prefix) => member.startsWith(prefix))) next[member] = value;
        }
        for (const [path, doc] of changes) if (doc !== undefined) next[path] = withoutConsolidated(doc);
        return { ...root, consolidated_metadata: { ...(root.consolidated_metadata as object), metadata: next } };
      },
      { signal: request.signal },
    );
  }
}

function withoutConsolidated(doc: Record<string, unknown>): Record<string, unknown> {
  const { consolidated_metadata: _, ...rest } = doc;
  return rest;
}

function nonRootNodePath(key: string): string | undefined {
  return key.endsWith(`/${ROOT_KEY}`) ? key.slice(0, -ROOT_KEY.length - 1) : undefined;
}
