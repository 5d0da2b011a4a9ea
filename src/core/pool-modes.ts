/**
 * h5py's file modes on any pool: a local directory, a bucket, a bucket prefix or a memory pool.
 *
 *   r    read only; the pool must exist; nothing is written (not even a bucket)
 *   r+   read/write; the pool must exist
 *   w    create, or truncate an existing pool (only the keys under it)
 *   w-/x create; fail if the pool exists
 *   a    read/write; create if missing
 *
 * A place that holds keys but no root zarr.json is not a pool: every mode refuses to use it.
 */
import { AlreadyExistsError, NotFoundError, ValidationError } from "../errors.js";
import { encodeMetadata, groupMetadataJson, metadataKey } from "../format/index.js";
import type { Store } from "../store/store.js";
import { V2_GROUP_KEY } from "../format/zarr-v2.js";
import { type OpenPoolOptions, Pool } from "./pool.js";

export type FileMode = "r" | "r+" | "w" | "w-" | "x" | "a";
export const FILE_MODES: readonly FileMode[] = ["r", "r+", "w", "w-", "x", "a"];

export function validateFileMode(mode: unknown): FileMode {
  if (!FILE_MODES.includes(mode as FileMode)) {
    throw new ValidationError(`invalid file mode ${JSON.stringify(mode)}: expected one of ${FILE_MODES.join(", ")}`);
  }
  return mode as FileMode;
}

/** Where a pool lives: its store, and its container (directory, bucket) that may not exist yet. */
export interface PoolSite {
  /** For messages: `file "/tmp/x.zarr"`, `pool "tmp/data.h5" at S3 endpoint ...`. */
  readonly description: string;
  readonly store: Store;
  /** Whether the container exists (a directory, a bucket; a prefix pool: its bucket). */
  containerExists(): Promise<boolean>;
  /** Make the container exist (idempotent). */
  createContainer(): Promise<void>;
}

interface SiteState {
  isPool: boolean;
  empty: boolean;
}

export async function openPoolInMode(site: PoolSite, mode: FileMode, options: OpenPoolOptions): Promise<Pool> {
  const opened = { ...options, readOnly: mode === "r" || options.readOnly === true };
  const state = await inspectSite(site);
  switch (mode) {
    case "r":
    case "r+":
      if (!state.isPool && state.empty) throw new NotFoundError(`${site.description} does not exist (mode "${mode}" needs an existing dosna/Zarr pool)`);
      return Pool.open(site.store, opened);
    case "w-":
    case "x":
      if (state.isPool || !state.empty) throw new AlreadyExistsError(`${site.description} already exists (mode "${mode}" creates a new pool only)`);
      await site.createContainer();
      return Pool.initialise(site.store, opened);
    case "a":
      if (state.isPool) return Pool.open(site.store, opened);
      refuseForeign(site, state, "use");
      await site.createContainer();
      return Pool.initialise(site.store, opened).catch((error: unknown) => {
        if (error instanceof AlreadyExistsError) return Pool.open(site.store, opened); // another process created it meanwhile
        throw error;
      });
    case "w":
      if (state.isPool) return truncate(site, opened);
      refuseForeign(site, state, "truncate");
      await site.createContainer();
      return Pool.initialise(site.store, opened).catch((error: unknown) => {
        if (error instanceof AlreadyExistsError) return truncate(site, opened);
        throw error;
      });
  }
}

async function inspectSite(site: PoolSite): Promise<SiteState> {
  if (!(await site.containerExists())) return { isPool: false, empty: true };
  if ((await site.store.get(metadataKey(""))) !== undefined || (await site.store.get(V2_GROUP_KEY)) !== undefined) return { isPool: true, empty: false };
  for await (const _ of site.store.list("")) return { isPool: false, empty: false };
  return { isPool: false, empty: true };
}

function refuseForeign(site: PoolSite, state: SiteState, verb: string): void {
  if (!state.empty) {
    throw new ValidationError(`${site.description} holds objects and is not a dosna/Zarr pool; refusing to ${verb} it (it has no root zarr.json)`);
  }
}

/**
 * Empty a pool, keeping its root zarr.json until last: an interrupted truncate leaves a pool (with
 * fewer nodes), never a pool-less heap of chunks that a later "w" would refuse as foreign.
 */
async function truncate(site: PoolSite, options: OpenPoolOptions): Promise<Pool> {
  const store = (await Pool.open(site.store, options)).store; // refuses a root that is an array, not a group; keeps a v2 pool v2
  const root = metadataKey("");
  const keys: string[] = [];
  for await (const key of store.list("")) if (key !== root) keys.push(key);
  await store.deleteMany(keys);
  await store.set(root, encodeMetadata(groupMetadataJson({})));
  return Pool.open(store, options);
}
