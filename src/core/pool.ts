/**
 * Pool: the root group of one Zarr v3 hierarchy (a directory for fs, a bucket or bucket/prefix for S3).
 */
import { AlreadyExistsError, CorruptMetadataError, NotFoundError, PreconditionFailedError } from "../errors.js";
import { encodeMetadata, groupMetadataJson, metadataKey, parseNodeMetadata } from "../format/index.js";
import type { Store } from "../store/store.js";
import type { PoolContext, StalePolicy } from "./context.js";
import type { EngineSpec } from "./engine-spec.js";
import { Group } from "./group.js";
import { type ConflictPolicy, DEFAULT_CONFLICT_POLICY } from "./optimistic.js";
import { type PoolTargetOptions, resolvePoolTarget } from "./pool-target.js";
import { ConsolidatedStore, inlineConsolidated } from "./consolidated.js";
import { ZarrV2Store } from "./zarr-v2-store.js";
import { V2_GROUP_KEY } from "../format/zarr-v2.js";

/** Zarr format of a new pool's hierarchy: 3 (default) or 2 (`.zgroup`/`.zarray`/`.zattrs`, as zarr-python 2 writes). */
export type ZarrFormat = 2 | 3;

export interface OpenPoolOptions {
  name: string;
  readOnly?: boolean;
  njobs?: () => number;
  /** Attempts of a read-modify-write that keeps losing races to other writers before ConflictError (default 64). */
  conflictRetries?: number;
  /** Record the provenance of dosna's operations (default true). */
  provenance?: boolean;
  /** Reads of an invalidated dataset: "warn" once per dataset (default), "ignore" or "error". */
  onStale?: StalePolicy;
  /** Default engine of map/apply/clear (compute/). */
  engine?: EngineSpec;
  /** For a new pool (`initialise`): the Zarr format to write (default 3). An existing pool is opened in the format it has. */
  zarrFormat?: ZarrFormat;
}

/** `Pool.open(name)`: a pool on the default cluster (see dn.autoInit), or a pool URL. */
export interface OpenNamedPoolOptions extends PoolTargetOptions {
  /** Create the pool if it does not exist (h5py's mode "a"). */
  create?: boolean;
  readOnly?: boolean;
}

export class Pool extends Group {
  readonly #releases: Array<() => Promise<void>> = [];

  /**
   * Open a pool: `Pool.open("tutorial")` on the default cluster (dn.autoInit), `Pool.open(url)` for
   * s3://, memory: and file:// URLs, or `Pool.open(store, options)` on a store. Opening is one GET
   * of the root zarr.json, which must be a Zarr v3 group; without one, a root `.zgroup` opens the
   * store as a Zarr v2 hierarchy.
   */
  static async open(name: string, options?: OpenNamedPoolOptions): Promise<Pool>;
  static async open(store: Store, options: OpenPoolOptions): Promise<Pool>;
  static async open(target: Store | string, options?: OpenPoolOptions | OpenNamedPoolOptions): Promise<Pool> {
    if (typeof target === "string") return Pool.openNamed(target, (options ?? {}) as OpenNamedPoolOptions);
    return Pool.openStore(target, options as OpenPoolOptions);
  }

  private static async openNamed(name: string, options: OpenNamedPoolOptions): Promise<Pool> {
    const target = resolvePoolTarget(name, options, "pool");
    const pool = await target.open(options.create ? "a" : options.readOnly ? "r" : "r+").catch(async (error: unknown) => {
      await target.release();
      throw error;
    });
    pool.#releases.push(() => target.release());
    return pool;
  }

  private static async openStore(store: Store, options: OpenPoolOptions): Promise<Pool> {
    const conflicts: ConflictPolicy = { ...DEFAULT_CONFLICT_POLICY, maxAttempts: options.conflictRetries ?? DEFAULT_CONFLICT_POLICY.maxAttempts };
    const context: PoolContext = { store, poolName: options.name, readOnly: options.readOnly ?? false, conflicts, provenance: options.provenance, onStale: options.onStale, engine: options.engine };
    const key = metadataKey("");
    let hierarchy = store;
    let bytes = await store.get(key);
    if (bytes === undefined && !(store instanceof ZarrV2Store) && (await store.get(V2_GROUP_KEY)) !== undefined) {
      hierarchy = new ZarrV2Store(store);
      bytes = await hierarchy.get(key);
    }
    if (bytes === undefined) {
      throw new NotFoundError(`pool "${options.name}" (${store.description}) is not a dosna/Zarr pool: it has no root ${key} (nor a Zarr v2 ${V2_GROUP_KEY})`);
    }
    const node = parseNodeMetadata(bytes, key, store.description);
    if (node.kind !== "group") {
      throw new CorruptMetadataError(`pool "${options.name}" (${store.description}) is not a dosna/Zarr pool: its root ${key} describes an array, not a group`);
    }
    if (node.extensions !== undefined && inlineConsolidated(node.extensions) !== undefined && !(hierarchy instanceof ConsolidatedStore)) {
      hierarchy = new ConsolidatedStore(hierarchy);
    }
    const zarrFormat = (hierarchy instanceof ConsolidatedStore ? hierarchy.inner : hierarchy) instanceof ZarrV2Store ? 2 : 3;
    return new Pool({ ...context, store: hierarchy, zarrFormat }, "", node.attributes, options.njobs ?? (() => 8));
  }

  /** Write a root group into an empty store and open it. */
  static async initialise(store: Store, options: OpenPoolOptions & { attrs?: Record<string, unknown> }): Promise<Pool> {
    if (options.zarrFormat === 2 && !(store instanceof ZarrV2Store)) store = new ZarrV2Store(store);
    try {
      await store.set(metadataKey(""), encodeMetadata(groupMetadataJson(options.attrs ?? {})), { ifNoneMatch: "*" });
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`pool "${options.name}" (${store.description}) already exists`, { cause: error });
      throw error;
    }
    return Pool.openStore(store, options);
  }

  get store(): Store {
    return this.context.store;
  }

  /** 3, or 2 for a Zarr v2 hierarchy (.zgroup / .zarray / .zattrs). */
  get zarrFormat(): ZarrFormat {
    return this.context.zarrFormat ?? 3;
  }

  override get describe(): string {
    return `pool "${this.context.poolName}"`;
  }

  /** Nothing is buffered (every write is stored when its promise resolves); releases a connection opened for this pool alone. */
  async close(): Promise<void> {
    for (const release of this.#releases.splice(0)) await release();
  }

  /** `await using pool = await Pool.open("tutorial")`: closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
