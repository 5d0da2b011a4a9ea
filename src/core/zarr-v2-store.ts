/**
 * A Zarr v2 hierarchy presented as the Zarr v3 keys the rest of dosna reads and writes (the same
 * decorator idea as a versioned session): "a/zarr.json" is read from "a/.zarray" or "a/.zgroup" and
 * "a/.zattrs", and a write of it is stored back as those objects; chunk keys ("a/0.1", "a/0/1") and
 * everything else pass through. Listings show one "zarr.json" per node and hide `.zattrs` and
 * `.zmetadata`.
 *
 * Conditional writes: the version token of a node is those of both of its objects. An update
 * stores only the object whose text changed (a resize the `.zarray`, an attribute change the
 * `.zattrs`), each conditional on its own version, so every single-object update is as atomic as
 * on v3. An update that changes both writes `.zattrs` first; if the `.zarray` write then loses a
 * race, the caller's retry re-reads both and applies its change again.
 */
import { CorruptMetadataError, PreconditionFailedError } from "../errors.js";
import { encodeMetadata } from "../format/metadata.js";
import {
  V2_ARRAY_KEY,
  V2_ATTRIBUTES_KEY,
  V2_CONSOLIDATED_KEY,
  V2_GROUP_KEY,
  v2DocumentsFromV3,
  v3ArrayFromV2,
  v3GroupFromV2,
} from "../format/zarr-v2.js";
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
import { resolveByteRange } from "../store/ranges.js";
import { directChildren, updateV2Consolidated, type V2NodeChange } from "./consolidated.js";

const METADATA_NAME = "zarr.json";
const TOKEN_CACHE_SIZE = 512;

interface NodeObjects {
  metadataName: typeof V2_ARRAY_KEY | typeof V2_GROUP_KEY;
  metadata: Uint8Array;
  metadataVersion?: string;
  attributes?: Uint8Array;
  attributesVersion?: string;
}

interface StoredTexts {
  metadataName: string;
  metadata: string;
  attributes: string | undefined;
}

export class ZarrV2Store implements Store {
  readonly description: string;
  readonly zarrFormat = 2;
  /** What was read or written at each version token this store handed out: an update writes only what changed. */
  private readonly texts = new Map<string, StoredTexts>();
  /** Whether the hierarchy has a root `.zmetadata`, asked once (as for v3, a pool counts as consolidated if it was when first asked). */
  private consolidated: Promise<boolean> | undefined;

  constructor(readonly inner: Store) {
    this.description = inner.description;
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    const path = nodePathOf(key);
    if (path === undefined) return this.inner.get(key, range, options);
    const objects = await this.readNode(path, false, options);
    if (objects === undefined) return undefined;
    const bytes = this.v3Bytes(path, objects);
    return range === undefined ? bytes : sliceRange(bytes, range);
  }

  async getVersioned(key: string, options: GetVersionedOptions = {}): Promise<VersionedBytes | undefined> {
    const path = nodePathOf(key);
    if (path === undefined) return this.inner.getVersioned(key, options);
    const objects = await this.readNode(path, true, options);
    if (objects === undefined) return undefined;
    const bytes = this.v3Bytes(path, objects);
    const version = this.remember(objects.metadataName, objects.metadataVersion!, objects.attributesVersion, {
      metadataName: objects.metadataName,
      metadata: decodeText(objects.metadata),
      attributes: objects.attributes === undefined ? undefined : decodeText(objects.attributes),
    });
    return { bytes: options.range === undefined ? bytes : sliceRange(bytes, options.range), version };
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    const path = nodePathOf(key);
    if (path === undefined) return this.inner.set(key, value, options);
    const doc = JSON.parse(decodeText(value)) as Record<string, unknown>;
    const documents = v2DocumentsFromV3(doc, `node "/${path}" in ${this.description}`);
    const metadataKey = joinKey(path, documents.metadataName);
    const attributesKey = joinKey(path, V2_ATTRIBUTES_KEY);
    const metadataText = decodeText(encodeMetadata(documents.metadata));
    const hasAttributes = Object.keys(documents.attributes).length > 0;
    const attributesText = hasAttributes ? decodeText(encodeMetadata(documents.attributes)) : undefined;
    const request = { signal: options.signal };
    let metadataVersion: string;
    let attributesVersion: string | undefined;
    if (options.ifMatch !== undefined) {
      const token = parseToken(options.ifMatch);
      if (token === undefined || token.metadataName !== documents.metadataName) {
        throw new PreconditionFailedError(`conditional set of key ${JSON.stringify(key)} failed: the node changed kind or the version token is not this store's`);
      }
      const before = this.texts.get(options.ifMatch);
      attributesVersion = token.attributesVersion;
      if (before === undefined || before.attributes !== attributesText) {
        attributesVersion = await this.writeAttributes(attributesKey, attributesText, token.attributesVersion ?? "absent", request);
      }
      metadataVersion = token.metadataVersion;
      const metadataChanged = before === undefined || before.metadata !== metadataText;
      if (metadataChanged || attributesVersion === token.attributesVersion) {
        // Unchanged text is rewritten too when nothing else was written, so the condition is still checked.
        metadataVersion = await this.inner.set(metadataKey, encode(metadataText), { ...request, ifMatch: token.metadataVersion });
      }
    } else {
      const create = options.ifNoneMatch === true || options.ifNoneMatch === "*";
      metadataVersion = await this.inner.set(metadataKey, encode(metadataText), create ? { ...request, ifNoneMatch: "*" } : request);
      // a create that won its .zarray/.zgroup owns the node: a .zattrs left there is replaced
      attributesVersion = await this.writeAttributes(attributesKey, attributesText, "any", request);
    }
    await this.keepConsolidated([{ path, documents }], request);
    return this.remember(documents.metadataName, metadataVersion, attributesVersion, { metadataName: documents.metadataName, metadata: metadataText, attributes: attributesText });
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    const path = nodePathOf(key);
    if (path === undefined) return this.inner.delete(key, options);
    const request = { signal: options.signal };
    const token = options.ifMatch === undefined ? undefined : parseToken(options.ifMatch);
    if (token !== undefined) await this.inner.delete(joinKey(path, token.metadataName), { ...request, ifMatch: token.metadataVersion });
    await this.inner.deleteMany(nodeObjectKeys(path), request);
    await this.keepConsolidated([{ path, documents: undefined }], request);
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    const removed = keys.map(nodePathOf).filter((path): path is string => path !== undefined);
    await this.inner.deleteMany([...keys.filter((key) => nodePathOf(key) === undefined), ...removed.flatMap(nodeObjectKeys)], options);
    await this.keepConsolidated(removed.map((path) => ({ path, documents: undefined })), options);
  }

  /** Listings from the root `.zmetadata`, when the hierarchy has one (one GET, as zarr-python's open_consolidated). */
  async childNodes(parent: string, options: RequestOptions = {}): Promise<Array<[string, Record<string, unknown>]> | undefined> {
    if (this.consolidated !== undefined && !(await this.consolidated)) return undefined;
    const bytes = await this.inner.get(V2_CONSOLIDATED_KEY, undefined, options);
    // the first listing answers whether there is one, instead of a probe and then the read
    this.consolidated ??= Promise.resolve(bytes !== undefined);
    if (bytes === undefined) return undefined;
    const where = `"${V2_CONSOLIDATED_KEY}" in ${this.description}`;
    const metadata = parseObject(bytes, V2_CONSOLIDATED_KEY, this.description).metadata;
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) throw new CorruptMetadataError(`invalid Zarr v2 consolidated metadata ${where}: "metadata" is not an object`);
    return directChildren(v3NodesFromConsolidated(metadata as Record<string, unknown>, where), parent);
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    for await (const key of this.inner.list(prefix, options)) {
      const shown = v3KeyOf(key);
      if (shown !== undefined) yield shown;
    }
  }

  async *listWithSizes(prefix: string, options: RequestOptions = {}): AsyncIterable<{ key: string; size: number }> {
    if (this.inner.listWithSizes === undefined) return;
    for await (const entry of this.inner.listWithSizes(prefix, options)) {
      const shown = v3KeyOf(entry.key);
      if (shown !== undefined) yield { key: shown, size: entry.size };
    }
  }

  async listDir(prefix: string, options: RequestOptions = {}): Promise<DirectoryListing> {
    const listing = await this.inner.listDir(prefix, options);
    const keys = listing.keys.map(v3KeyOf).filter((key): key is string => key !== undefined);
    return { keys, prefixes: listing.prefixes };
  }

  conditionalSupport(options?: RequestOptions): Promise<ConditionalSupport> {
    return this.inner.conditionalSupport?.(options) ?? Promise.resolve({ write: true, delete: true });
  }

  async copyFrom(source: Store, sourceKey: string, key: string, options?: RequestOptions): Promise<boolean> {
    if (nodePathOf(key) !== undefined || this.inner.copyFrom === undefined) return false;
    const from = source instanceof ZarrV2Store ? source.inner : source;
    if (nodePathOf(sourceKey) !== undefined) return false;
    return this.inner.copyFrom(from, sourceKey, key, options);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private hasConsolidated(request: RequestOptions): Promise<boolean> {
    this.consolidated ??= this.inner.get(V2_CONSOLIDATED_KEY, { offset: 0, length: 1 }, { signal: request.signal }).then(
      (bytes) => bytes !== undefined,
      (error: unknown) => {
        this.consolidated = undefined;
        throw error;
      },
    );
    return this.consolidated;
  }

  private async keepConsolidated(changes: V2NodeChange[], request: RequestOptions): Promise<void> {
    if (changes.length > 0 && (await this.hasConsolidated(request))) await updateV2Consolidated(this.inner, changes, request);
  }

  /** A node's objects. The likely kind is asked first (the root is a group, others mostly arrays), the other only when it is missing. */
  private async readNode(path: string, versioned: boolean, options: RequestOptions): Promise<NodeObjects | undefined> {
    const read = async (name: string) => {
      const key = joinKey(path, name);
      if (versioned) return this.inner.getVersioned(key, { signal: options.signal });
      const bytes = await this.inner.get(key, undefined, { signal: options.signal });
      return bytes === undefined ? undefined : { bytes, version: "" };
    };
    const [likely, other]: Array<NodeObjects["metadataName"]> = path === "" ? [V2_GROUP_KEY, V2_ARRAY_KEY] : [V2_ARRAY_KEY, V2_GROUP_KEY];
    const [first, attributes] = await Promise.all([read(likely), read(V2_ATTRIBUTES_KEY)]);
    const metadataName = first !== undefined ? likely : other;
    const metadata = first ?? (await read(other));
    if (metadata === undefined) return undefined;
    return {
      metadataName,
      metadata: metadata.bytes,
      metadataVersion: metadata.version,
      attributes: attributes?.bytes,
      attributesVersion: attributes?.version,
    };
  }

  private v3Bytes(path: string, objects: NodeObjects): Uint8Array {
    const attributes = objects.attributes === undefined ? {} : parseObject(objects.attributes, joinKey(path, V2_ATTRIBUTES_KEY), this.description);
    const metadata = parseObject(objects.metadata, joinKey(path, objects.metadataName), this.description);
    const doc = objects.metadataName === V2_ARRAY_KEY ? v3ArrayFromV2(metadata, attributes, `"${joinKey(path, objects.metadataName)}" in ${this.description}`) : v3GroupFromV2(attributes);
    return encodeMetadata(doc);
  }

  /**
   * Store (or, for no attributes, remove) a node's `.zattrs`. `expected` is the version the caller
   * read, or "absent" when it read none: the write is then conditional on that; "any" replaces.
   */
  private async writeAttributes(key: string, text: string | undefined, expected: string | "absent" | "any", request: RequestOptions): Promise<string | undefined> {
    const conditional = expected !== "any" && expected !== "absent";
    if (text === undefined) {
      if (conditional) await this.inner.delete(key, { ...request, ifMatch: expected });
      else if (expected === "any") await this.inner.delete(key, request);
      return undefined;
    }
    const condition = conditional ? { ifMatch: expected } : expected === "absent" ? { ifNoneMatch: "*" as const } : {};
    return this.inner.set(key, encode(text), { ...request, ...condition });
  }

  private remember(metadataName: string, metadataVersion: string, attributesVersion: string | undefined, texts: StoredTexts): string {
    const token = JSON.stringify([metadataName, metadataVersion, attributesVersion ?? null]);
    this.texts.delete(token);
    this.texts.set(token, texts);
    if (this.texts.size > TOKEN_CACHE_SIZE) this.texts.delete(this.texts.keys().next().value!);
    return token;
  }
}

/** Every stored object of a v2 node's metadata. */
function nodeObjectKeys(path: string): string[] {
  return [joinKey(path, V2_ARRAY_KEY), joinKey(path, V2_GROUP_KEY), joinKey(path, V2_ATTRIBUTES_KEY)];
}

/** The v3 zarr.json documents, keyed by node path, that a `.zmetadata` "metadata" member describes. */
function v3NodesFromConsolidated(metadata: Record<string, unknown>, where: string): Record<string, Record<string, unknown>> {
  const nodes: Record<string, Record<string, unknown>> = {};
  const attributesOf = (path: string): Record<string, unknown> => {
    const attributes = metadata[joinKey(path, V2_ATTRIBUTES_KEY)];
    return attributes !== null && typeof attributes === "object" && !Array.isArray(attributes) ? (attributes as Record<string, unknown>) : {};
  };
  for (const [name, doc] of Object.entries(metadata)) {
    const slash = name.lastIndexOf("/");
    const path = slash < 0 ? "" : name.slice(0, slash);
    const objectName = name.slice(slash + 1);
    if (path === "" || (objectName !== V2_ARRAY_KEY && objectName !== V2_GROUP_KEY)) continue;
    try {
      nodes[path] = objectName === V2_ARRAY_KEY ? v3ArrayFromV2(doc, attributesOf(path), `"${name}" of ${where}`) : v3GroupFromV2(attributesOf(path));
    } catch (error) {
      // a node dosna cannot read is left out of listings, as when listing objects
      if (!(error instanceof CorruptMetadataError)) throw error;
    }
  }
  return nodes;
}

/** The node path of a v3 metadata key ("a/b/zarr.json" → "a/b", "zarr.json" → ""), else undefined. */
function nodePathOf(key: string): string | undefined {
  if (key === METADATA_NAME) return "";
  return key.endsWith(`/${METADATA_NAME}`) ? key.slice(0, -METADATA_NAME.length - 1) : undefined;
}

/** How a stored v2 key shows in listings: metadata as "zarr.json", attributes and consolidated metadata hidden. */
function v3KeyOf(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const name = key.slice(slash + 1);
  if (name === V2_ARRAY_KEY || name === V2_GROUP_KEY) return `${key.slice(0, slash + 1)}${METADATA_NAME}`;
  if (name === V2_ATTRIBUTES_KEY || name === V2_CONSOLIDATED_KEY) return undefined;
  return key;
}

function parseToken(token: string): { metadataName: string; metadataVersion: string; attributesVersion: string | undefined } | undefined {
  try {
    const parsed = JSON.parse(token) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") return undefined;
    return { metadataName: parsed[0], metadataVersion: parsed[1], attributesVersion: typeof parsed[2] === "string" ? parsed[2] : undefined };
  } catch {
    return undefined;
  }
}

function parseObject(bytes: Uint8Array, key: string, description: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(decodeText(bytes));
  } catch (cause) {
    throw new CorruptMetadataError(`invalid Zarr v2 metadata at "${key}" in ${description}: not valid JSON`, { cause });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new CorruptMetadataError(`invalid Zarr v2 metadata at "${key}" in ${description}: expected a JSON object`);
  return json as Record<string, unknown>;
}

export function joinKey(path: string, name: string): string {
  return path === "" ? name : `${path}/${name}`;
}

function sliceRange(bytes: Uint8Array, range: ByteRange): Uint8Array {
  const { start, end } = resolveByteRange(range, bytes.length);
  return bytes.slice(start, end);
}

const decodeText = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const encode = (text: string) => new TextEncoder().encode(text);
