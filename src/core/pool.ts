/**
 * Pool: the root group of one Zarr v3 hierarchy (a directory for fs, a bucket or bucket/prefix for S3).
 */
import { AlreadyExistsError, CorruptMetadataError, NotFoundError, PreconditionFailedError } from "../errors.js";
import { encodeMetadata, groupMetadataJson, metadataKey, parseNodeMetadata } from "../format/index.js";
import type { Store } from "../store/store.js";
import type { PoolContext } from "./context.js";
import { Group } from "./group.js";
import { type ConflictPolicy, DEFAULT_CONFLICT_POLICY } from "./optimistic.js";

export interface OpenPoolOptions {
  name: string;
  readOnly?: boolean;
  njobs?: () => number;
  /** Attempts of a read-modify-write that keeps losing races to other writers before ConflictError (default 64). */
  conflictRetries?: number;
}

export class Pool extends Group {
  /** Open the pool stored in `store`: one GET of its root zarr.json, which must be a Zarr v3 group. */
  static async open(store: Store, options: OpenPoolOptions): Promise<Pool> {
    const conflicts: ConflictPolicy = { ...DEFAULT_CONFLICT_POLICY, maxAttempts: options.conflictRetries ?? DEFAULT_CONFLICT_POLICY.maxAttempts };
    const context: PoolContext = { store, poolName: options.name, readOnly: options.readOnly ?? false, conflicts };
    const key = metadataKey("");
    const bytes = await store.get(key);
    if (bytes === undefined) {
      throw new NotFoundError(`pool "${options.name}" (${store.description}) is not a dosna/Zarr v3 pool: it has no root ${key}`);
    }
    const node = parseNodeMetadata(bytes, key, store.description);
    if (node.kind !== "group") {
      throw new CorruptMetadataError(`pool "${options.name}" (${store.description}) is not a dosna/Zarr v3 pool: its root ${key} describes an array, not a group`);
    }
    return new Pool(context, "", node.attributes, options.njobs ?? (() => 8));
  }

  /** Write a root group into an empty store and open it. */
  static async initialise(store: Store, options: OpenPoolOptions & { attrs?: Record<string, unknown> }): Promise<Pool> {
    try {
      await store.set(metadataKey(""), encodeMetadata(groupMetadataJson(options.attrs ?? {})), { ifNoneMatch: "*" });
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`pool "${options.name}" (${store.description}) already exists`, { cause: error });
      throw error;
    }
    return Pool.open(store, options);
  }

  get store(): Store {
    return this.context.store;
  }

  override get describe(): string {
    return `pool "${this.context.poolName}"`;
  }

  async close(): Promise<void> {
    // Nothing is buffered: every write is stored when its promise resolves.
  }
}
