/**
 * Group: a node of a pool's Zarr v3 hierarchy that holds datasets and other groups. A Pool is the
 * root group. Paths may be nested ("a/b/c"); creating a node creates missing parent groups.
 */
import { AlreadyExistsError, CorruptMetadataError, DtypeError, NotFoundError, PreconditionFailedError, ShapeError, ValidationError } from "../errors.js";
import {
  encodeMetadata,
  groupMetadataJson,
  metadataKey,
  normaliseNodePath,
  parseNodeMetadata,
  type NodeMetadata,
} from "../format/index.js";
import { Attributes, toJsonAttributes } from "./attributes.js";
import { forEachLimited } from "./concurrency.js";
import { assertWritable, baseName, describeNode, joinPath, type PoolContext } from "./context.js";
import { resolveCreateOptions, type CreateDatasetOptions } from "./create-options.js";
import { createDatasetNode, Dataset } from "./dataset.js";
import { ensureAncestorGroups } from "./hierarchy.js";
import { readNodeVersioned, updateNodeMetadata } from "./metadata-update.js";

export type Node = Group | Dataset;

export class Group {
  readonly attrs: Attributes;
  private attributes: Record<string, unknown>;
  private ownNjobs: number | undefined;

  constructor(
    readonly context: PoolContext,
    readonly path: string,
    attributes: Record<string, unknown>,
    protected readonly inheritedNjobs: () => number,
  ) {
    this.attributes = attributes;
    this.attrs = new Attributes({
      describe: this.describe,
      readAttributes: () => this.attributes,
      updateAttributes: async (change) => {
        assertWritable(this.context, this.describe);
        const stored = await updateNodeMetadata(this.context, this.path, "group", this.describe, (latest) => ({
          ...latest,
          attributes: change(latest.attributes),
        }));
        this.attributes = stored.attributes;
      },
    });
  }

  /** Reload the attributes from the store (they may have been changed by another handle or process). */
  async refresh(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.attributes = (await readNodeVersioned(this.context, this.path, "group", this.describe, options)).node.attributes;
  }

  get name(): string {
    return baseName(this.path);
  }
  get describe(): string {
    return describeNode("group", this.path, this.context);
  }
  get njobs(): number {
    return this.ownNjobs ?? this.inheritedNjobs();
  }
  set njobs(value: number) {
    if (!Number.isInteger(value) || value < 1) throw new ValidationError(`njobs of ${this.describe} must be a positive integer, got ${value}`);
    this.ownNjobs = value;
  }

  /** Create a dataset from `{shape, dtype, chunks, fillValue, compression}` or from `{data}`. */
  async createDataset(name: string, options: CreateDatasetOptions): Promise<Dataset> {
    const path = this.childPath(name);
    const what = describeNode("dataset", path, this.context);
    assertWritable(this.context, what);
    const resolved = resolveCreateOptions(options, what);
    // zarr-python 2's default chunk keys ("0.1"); v2 has no other encoding
    if (this.context.zarrFormat === 2) resolved.info.chunkKeyEncoding = { name: "v2", separator: "." };
    await ensureAncestorGroups(this.context, path, this.path);
    const dataset = await createDatasetNode(this.context, path, resolved.info, () => this.njobs);
    if (resolved.njobs !== undefined) dataset.njobs = resolved.njobs;
    if (resolved.data) await dataset.set(undefined, resolved.data);
    return dataset;
  }

  async getDataset(name: string): Promise<Dataset> {
    const path = this.childPath(name);
    const node = await this.readNode(path);
    const what = describeNode("dataset", path, this.context);
    if (!node) throw new NotFoundError(`${what} does not exist`);
    if (node.kind !== "array") throw new NotFoundError(`${what} does not exist: "/${path}" is a group`);
    return new Dataset(this.context, path, node.info, () => this.njobs);
  }

  /**
   * The dataset at `name` if it exists with this shape and dtype, else a new one (h5py's
   * require_dataset); an existing dataset of another shape or dtype is a ShapeError / DtypeError,
   * and a group there an AlreadyExistsError.
   */
  async requireDataset(name: string, options: CreateDatasetOptions): Promise<Dataset> {
    const path = this.childPath(name);
    const node = await this.readNode(path);
    if (!node) {
      try {
        return await this.createDataset(name, options);
      } catch (error) {
        // Created meanwhile by another writer: check it like an existing one.
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    const existing = await this.get(name);
    const what = describeNode("dataset", path, this.context);
    if (!(existing instanceof Dataset)) throw new AlreadyExistsError(`cannot require ${what}: a group exists there`);
    const wanted = resolveCreateOptions(options, what).info;
    if (existing.shape.length !== wanted.shape.length || existing.shape.some((n, a) => n !== wanted.shape[a])) throw new ShapeError(`${what} exists with shape [${existing.shape}], not the required [${wanted.shape}]`);
    if (existing.dtype !== wanted.dataType) throw new DtypeError(`${what} exists with dtype ${existing.dtype}, not the required ${wanted.dataType}`);
    return existing;
  }

  /** Every group and dataset below this group, depth first (parents before children, names sorted), as h5py's visititems. */
  async *visit(): AsyncGenerator<Group | Dataset> {
    for (const [name, node] of await this.children()) {
      const path = joinPath(this.path, name);
      if (node.kind === "array") {
        yield new Dataset(this.context, path, node.info, () => this.njobs);
      } else {
        const group = new Group(this.context, path, node.attributes, () => this.njobs);
        yield group;
        yield* group.visit();
      }
    }
  }

  async hasDataset(name: string): Promise<boolean> {
    return (await this.readNode(this.childPath(name)))?.kind === "array";
  }

  async deleteDataset(name: string): Promise<void> {
    await (await this.getDataset(name)).delete();
  }

  async createGroup(name: string, options: { attrs?: Record<string, unknown> } = {}): Promise<Group> {
    const path = this.childPath(name);
    const what = describeNode("group", path, this.context);
    assertWritable(this.context, what);
    await ensureAncestorGroups(this.context, path, this.path);
    // The attributes go into the one conditional create, so the group never exists without them.
    const attributes = options.attrs ? toJsonAttributes(options.attrs, what) : {};
    try {
      await this.context.store.set(metadataKey(path), encodeMetadata(groupMetadataJson(attributes)), { ifNoneMatch: "*" });
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`${what} already exists`, { cause: error });
      throw error;
    }
    return new Group(this.context, path, attributes, () => this.njobs);
  }

  /** The group at `name`, creating it (and its parents) when missing (h5py's require_group). */
  async requireGroup(name: string): Promise<Group> {
    const path = this.childPath(name);
    const node = await this.readNode(path);
    if (!node) return this.createGroup(name);
    if (node.kind !== "group") throw new AlreadyExistsError(`cannot create ${describeNode("group", path, this.context)}: a dataset exists there`);
    return new Group(this.context, path, node.attributes, () => this.njobs);
  }

  async getGroup(name: string): Promise<Group> {
    const path = this.childPath(name);
    const node = await this.readNode(path);
    const what = describeNode("group", path, this.context);
    if (!node) throw new NotFoundError(`${what} does not exist`);
    if (node.kind !== "group") throw new NotFoundError(`${what} does not exist: "/${path}" is a dataset`);
    return new Group(this.context, path, node.attributes, () => this.njobs);
  }

  async hasGroup(name: string): Promise<boolean> {
    return (await this.readNode(this.childPath(name)))?.kind === "group";
  }

  /** Delete a group and everything under it. */
  async deleteGroup(name: string): Promise<void> {
    const group = await this.getGroup(name);
    await group.deleteAll();
  }

  /** The dataset or group at `name` (relative, nested paths allowed). */
  async get(name: string): Promise<Node> {
    const path = this.childPath(name);
    const node = await this.readNode(path);
    if (!node) throw new NotFoundError(`nothing at "/${path}" in pool "${this.context.poolName}"`);
    return node.kind === "array"
      ? new Dataset(this.context, path, node.info, () => this.njobs)
      : new Group(this.context, path, node.attributes, () => this.njobs);
  }

  async has(name: string): Promise<boolean> {
    return (await this.readNode(this.childPath(name))) !== undefined;
  }

  /** Delete whatever is at `name`. */
  async delete(name: string): Promise<void> {
    const node = await this.get(name);
    if (node instanceof Dataset) await node.delete();
    else await node.deleteAll();
  }

  /** Names of the direct children (datasets and groups), sorted. */
  async keys(): Promise<string[]> {
    return (await this.children()).map(([name]) => name);
  }

  async listDatasets(): Promise<string[]> {
    return (await this.children()).filter(([, node]) => node.kind === "array").map(([name]) => name);
  }

  async listGroups(): Promise<string[]> {
    return (await this.children()).filter(([, node]) => node.kind === "group").map(([name]) => name);
  }

  /** Remove this group's whole subtree, its own metadata last. */
  async deleteAll(): Promise<void> {
    assertWritable(this.context, this.describe);
    const prefix = this.path === "" ? "" : `${this.path}/`;
    const own = metadataKey(this.path);
    const keys: string[] = [];
    for await (const key of this.context.store.list(prefix)) if (key !== own) keys.push(key);
    await this.context.store.deleteMany(keys);
    await this.context.store.delete(own);
  }

  protected childPath(name: string): string {
    return joinPath(this.path, normaliseNodePath(name, `name under ${this.describe}`));
  }

  protected async readNode(path: string): Promise<NodeMetadata | undefined> {
    const key = metadataKey(path);
    const bytes = await this.context.store.get(key);
    return bytes === undefined ? undefined : parseNodeMetadata(bytes, key, this.context.store.description);
  }

  private async children(): Promise<Array<[string, NodeMetadata]>> {
    const consolidated = await this.context.store.childNodes?.(this.path);
    if (consolidated !== undefined) return this.consolidatedChildren(consolidated);
    const prefix = this.path === "" ? "" : `${this.path}/`;
    const listing = await this.context.store.listDir(prefix);
    const found: Array<[string, NodeMetadata]> = [];
    await forEachLimited(
      listing.prefixes,
      async (childPath) => {
        const path = childPath.endsWith("/") ? childPath.slice(0, -1) : childPath;
        const node = await this.readNode(path).catch((error: unknown) => {
          if (error instanceof CorruptMetadataError) return undefined;
          throw error;
        });
        if (node) found.push([baseName(path), node]);
      },
      { njobs: this.njobs },
    );
    return sortByName(found);
  }

  private consolidatedChildren(members: Array<[string, Record<string, unknown>]>): Array<[string, NodeMetadata]> {
    const found: Array<[string, NodeMetadata]> = [];
    for (const [path, doc] of members) {
      try {
        found.push([baseName(path), parseNodeMetadata(encodeMetadata(doc), metadataKey(path), `the consolidated metadata of ${this.context.store.description}`)]);
      } catch (error) {
        if (!(error instanceof CorruptMetadataError)) throw error;
      }
    }
    return sortByName(found);
  }
}

function sortByName<T>(entries: Array<[string, T]>): Array<[string, T]> {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
