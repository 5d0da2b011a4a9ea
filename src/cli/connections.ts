/**
 * Opening what a Location names. Local pools are opened directly on their directory (as
 * dn.File does); S3 pools through one Cluster configured from DOSNA_* variables and --config;
 * memory pools through one scratch Cluster shared by every URL of the command (so `cp` between two
 * memory: URLs works), gone when the command exits.
 */
import { readFileSync } from "node:fs";
import { readdir, rmdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AlreadyExistsError, Cluster, FileSystemStore, NotFoundError, Pool, s3ClusterFromSettings, ValidationError, type ZarrFormat } from "../index.js";
import { describeLocation, type Location } from "./locations.js";

export interface ConnectionSettings {
  env: NodeJS.ProcessEnv;
  configFile?: string;
  njobs?: number;
}

export interface OpenPoolOptions {
  /** For a pool `create` makes: the Zarr format of its hierarchy (default 3). */
  zarrFormat?: ZarrFormat;
  /** Create the pool when it does not exist (only where the URL names it outright). */
  create?: boolean;
  readOnly?: boolean;
}

const DEFAULT_NJOBS = 8;

export class Connections {
  private memoryCluster: Cluster | undefined;
  private s3Cluster: Cluster | undefined;

  constructor(private readonly settings: ConnectionSettings) {}

  get njobs(): number {
    return this.settings.njobs ?? (Number(this.settings.env.DOSNA_NJOBS) || DEFAULT_NJOBS);
  }

  /** Credentials that must never be printed: from the environment and any config file in use. */
  secrets(): string[] {
    const found = [this.settings.env.DOSNA_SECRET_ACCESS_KEY, this.settings.env.DOSNA_ACCESS_KEY_ID];
    for (const file of [this.settings.configFile, this.settings.env.DOSNA_CONFIG]) {
      if (!file) continue;
      try {
        const text = readFileSync(file, "utf8");
        for (const match of text.matchAll(/^\s*(?:secret_access_key|access_key_id)\s*=\s*(.+?)\s*$/gm)) found.push(match[1]);
      } catch {
        // Unreadable: the cluster configuration reports it.
      }
    }
    return found.filter((s): s is string => typeof s === "string" && s !== "");
  }

  async openPool(location: Location, options: OpenPoolOptions = {}): Promise<Pool> {
    if (location.pool === undefined) {
      if (location.backend === "fs") {
        const suggestion = location.text.includes("/") ? ` (for example "${dirname(location.text)}::${basename(location.text)}")` : "";
        throw new NotFoundError(
          `no dosna pool at or above "${location.directory}": no directory there holds a zarr.json; ` +
            `name the pool directory explicitly as DIR::PATH${suggestion}${options.create ? "" : ", or list pools with `dosna ls`"}`,
        );
      }
      throw new ValidationError(`${JSON.stringify(location.text)} names no pool: expected ${location.backend === "s3" ? "s3://BUCKET/PATH" : "memory:POOL/PATH"}`);
    }
    const create = options.create === true && location.poolIsExplicit;
    if (location.backend === "fs") return this.openDirectoryPool(location.pool, create, options.readOnly ?? false, options.zarrFormat);
    const cluster = this.cluster(location.backend);
    if (create && !(await cluster.hasPool(location.pool))) return cluster.createPool(location.pool, { njobs: this.njobs, zarrFormat: options.zarrFormat });
    return cluster.getPool(location.pool, { readOnly: options.readOnly, njobs: this.njobs });
  }

  /** Pool names at a location without a pool: sub-directories holding a zarr.json, or the endpoint's buckets. */
  async listPools(location: Location): Promise<string[]> {
    if (location.backend !== "fs") return this.cluster(location.backend).listPools();
    const directory = location.directory!;
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") throw new NotFoundError(`"${directory}" does not exist`);
      if (error.code === "ENOTDIR") throw new ValidationError(`"${directory}" is not a directory`);
      throw error;
    });
    const pools: string[] = [];
    for (const entry of entries) {
      const root = join(directory, entry.name);
      if (entry.isDirectory() && ((await isFile(join(root, "zarr.json"))) || (await isFile(join(root, ".zgroup"))))) pools.push(entry.name);
    }
    return pools.sort();
  }

  /** Delete a whole pool with its contents. A local pool's directory goes too if nothing else is left in it. */
  async deletePool(location: Location): Promise<void> {
    if (location.backend === "fs") {
      const pool = await this.openDirectoryPool(location.pool!, false, false);
      await pool.deleteAll();
      await rmdir(location.pool!).catch(() => undefined);
      return;
    }
    await this.cluster(location.backend).deletePool(location.pool!, { force: true });
  }

  async close(): Promise<void> {
    await this.memoryCluster?.disconnect();
    await this.s3Cluster?.disconnect();
  }

  describe(location: Location, node?: string): string {
    return describeLocation(location, node);
  }

  private async openDirectoryPool(directory: string, create: boolean, readOnly: boolean, zarrFormat?: ZarrFormat): Promise<Pool> {
    const store = new FileSystemStore(directory, { createRoot: create });
    const options = { name: directory, readOnly, njobs: () => this.njobs, zarrFormat };
    if (create && (await store.get("zarr.json")) === undefined && (await store.get(".zgroup")) === undefined) {
      // Another process may be creating this pool right now: its temp and lock files (which listings
      // never show) or its fresh zarr.json are fine.
      const listing = await store.listDir("");
      if (listing.keys.includes("zarr.json")) return Pool.open(store, options);
      if (listing.keys.length + listing.prefixes.length > 0) {
        throw new ValidationError(`"${directory}" is a non-empty directory that is not a dosna pool (it has no zarr.json); refusing to create a pool in it`);
      }
      return Pool.initialise(store, options).catch((error: unknown) => {
        // Another process created it meanwhile.
        if (error instanceof AlreadyExistsError) return Pool.open(store, options);
        throw error;
      });
    }
    return Pool.open(store, options);
  }

  private cluster(backend: "s3" | "memory"): Cluster {
    if (backend === "memory") return (this.memoryCluster ??= new Cluster({ backend: "memory", njobs: this.njobs }));
    this.s3Cluster ??= s3ClusterFromSettings(
      { env: this.settings.env, configFile: this.settings.configFile, njobs: this.settings.njobs },
      "an s3:// URL",
      "or --config FILE",
    );
    return this.s3Cluster;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
