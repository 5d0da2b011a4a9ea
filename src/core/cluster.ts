/**
 * Cluster: a configured connection to a storage endpoint, holding pools (DosNa's model).
 */
import { resolve } from "node:path";
import { inspect } from "node:util";
import { z } from "zod";
import { AlreadyExistsError, NotFoundError, ValidationError } from "../errors.js";
import { FileSystemBackend } from "../store/filesystem.js";
import { MemoryBackend } from "../store/memory.js";
import { S3Backend, parsePoolLocation, s3ConnectionSchema } from "../store/s3/index.js";
import { configFromEnvironment, readConfigFile } from "./config-sources.js";
import type { Backend } from "../store/store.js";
import { type OpenPoolOptions, Pool, type ZarrFormat } from "./pool.js";
import { type FileMode, openPoolInMode, type PoolSite, validateFileMode } from "./pool-modes.js";
import { njobsSchema, parseWith } from "./validate.js";
import { engineSchema } from "./engine-spec.js";

const DEFAULT_NJOBS = 8;

const common = {
  njobs: njobsSchema.default(DEFAULT_NJOBS),
  defaultPool: z.string().min(1).optional(),
  /** Attempts of a read-modify-write that keeps losing races to other writers, before ConflictError. */
  conflictRetries: z.number().int().min(1).max(10_000).optional(),
  /** Record the provenance of dosna's operations (default true). */
  provenance: z.boolean().optional(),
  /** Reads of an invalidated dataset: "warn" once per dataset (default), "ignore" or "error". */
  onStale: z.enum(["ignore", "warn", "error"]).optional(),
  /** Where map/apply/clear run by default: "local", "threads", { threads: N } or { queue: "redis://..." } (compute/). */
  engine: engineSchema.optional(),
};

export const clusterConfigSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("memory"), ...common }).strict(),
  z.object({
    backend: z.literal("fs"),
    root: z.string().min(1),
    /** fsync every write and delete before it returns (default true). */
    durable: z.boolean().optional(),
    /** Age after which a lock file whose holder cannot be checked (another host) counts as abandoned (default 10 s). */
    lockStaleMs: z.number().int().min(1).optional(),
    ...common,
  }).strict(),
  s3ConnectionSchema.extend({ backend: z.literal("s3"), ...common }).strict(),
]);

export type ClusterConfig = z.input<typeof clusterConfigSchema>;
type ResolvedConfig = z.output<typeof clusterConfigSchema>;

export class Cluster {
  // A true private field: util.inspect (even with customInspect: false) never shows it, and it holds the secret.
  readonly #config: ResolvedConfig;
  private backendInstance: Backend | undefined;
  private readonly openPools = new Set<Pool>();
  njobs: number;

  constructor(config: ClusterConfig = { backend: "fs", root: "./dosna-data" }) {
    this.#config = parseWith(clusterConfigSchema, config, "cluster configuration");
    this.njobs = this.#config.njobs;
  }

  /** A cluster configured by DOSNA_* environment variables (and the DOSNA_CONFIG file they may name). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Cluster {
    return new Cluster({ ...configFromEnvironment(env), ...overrides } as ClusterConfig);
  }

  /** A cluster configured by an INI-style file (see ceph.sample.conf). */
  static fromConfigFile(path: string, overrides: Record<string, unknown> = {}): Cluster {
    return new Cluster({ ...readConfigFile(path), ...overrides } as ClusterConfig);
  }

  /** The pool named by the configuration's `pool` setting, if any. */
  get defaultPool(): string | undefined {
    return this.#config.defaultPool;
  }

  get backendName(): ResolvedConfig["backend"] {
    return this.#config.backend;
  }

  get connected(): boolean {
    return this.backendInstance !== undefined;
  }

  /** Prepare the backend (idempotent). */
  async connect(): Promise<this> {
    this.backendInstance ??= this.createBackend();
    return this;
  }

  async disconnect(): Promise<void> {
    for (const pool of this.openPools) await pool.close();
    this.openPools.clear();
    await this.backendInstance?.close?.();
    this.backendInstance = undefined;
  }

  async listPools(): Promise<string[]> {
    return (await this.backend().listPools()).sort();
  }

  async hasPool(name: string): Promise<boolean> {
    return this.backend().hasPool(name);
  }

  async createPool(name: string, options: { attrs?: Record<string, unknown>; njobs?: number; zarrFormat?: ZarrFormat } = {}): Promise<Pool> {
    const backend = this.backend();
    let pool: Pool;
    try {
      await backend.createPool(name);
      // The root zarr.json is written with If-None-Match: of two racing creators only one gets here.
      pool = await Pool.initialise(backend.openPool(name), { ...this.poolOptions(name), attrs: options.attrs, zarrFormat: options.zarrFormat });
    } catch (error) {
      if (error instanceof AlreadyExistsError) throw new AlreadyExistsError(`pool "${name}" already exists in ${backend.description}`);
      throw error;
    }
    return this.track(pool, options.njobs);
  }

  async getPool(name: string, options: { readOnly?: boolean; njobs?: number } = {}): Promise<Pool> {
    const backend = this.backend();
    if (!(await backend.hasPool(name))) throw new NotFoundError(`pool "${name}" does not exist in ${backend.description}`);
    const pool = await Pool.open(backend.openPool(name), { ...this.poolOptions(name), readOnly: options.readOnly });
    return this.track(pool, options.njobs);
  }

  /**
   * Open pool `name` in one of h5py's file modes (r, r+, w, w-/x, a; see pool-modes.ts): the same
   * rules on a directory, a bucket, a bucket prefix and a memory pool.
   */
  async openPool(name: string, mode: FileMode = "r", options: { njobs?: number } = {}): Promise<Pool> {
    validateFileMode(mode);
    const pool = await openPoolInMode(this.site(name), mode, this.poolOptions(name));
    return this.track(pool, options.njobs);
  }

  /** Check that `name` can name a pool here (bucket rules on S3, path segments elsewhere), without I/O. */
  checkPoolName(name: string): void {
    this.backend().openPool(name);
  }

  /** Alias of getPool, as in DosNa. */
  pool(name: string, options?: { readOnly?: boolean; njobs?: number }): Promise<Pool> {
    return this.getPool(name, options);
  }

  /** Delete a pool. A pool holding anything besides its root metadata needs `force`. */
  async deletePool(name: string, options: { force?: boolean } = {}): Promise<void> {
    const backend = this.backend();
    if (!(await backend.hasPool(name))) throw new NotFoundError(`pool "${name}" does not exist in ${backend.description}`);
    const store = backend.openPool(name);
    const keys: string[] = [];
    for await (const key of store.list("")) keys.push(key);
    if (keys.some((key) => key !== "zarr.json") && !options.force) {
      throw new ValidationError(`pool "${name}" is not empty (${keys.length} objects); pass { force: true } to delete it with its contents`);
    }
    await store.deleteMany(keys);
    await backend.deletePool(name);
  }

  /** `await using cluster = await new Cluster(config).connect()`: disconnects at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }

  toString(): string {
    return `Cluster(${this.describeEndpoint()})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  toJSON(): Record<string, unknown> {
    return { backend: this.#config.backend, endpoint: this.describeEndpoint(), njobs: this.njobs };
  }

  private describeEndpoint(): string {
    switch (this.#config.backend) {
      case "fs":
        return `fs:${resolve(this.#config.root)}`;
      case "s3":
        return `s3:${this.#config.endpoint}`;
      default:
        return "memory";
    }
  }

  private site(name: string): PoolSite {
    const backend = this.backend();
    // A prefix pool's container is its bucket; elsewhere the pool's own directory or map entry.
    const container = this.#config.backend === "s3" ? parsePoolLocation(name).bucket : name;
    return {
      description: `pool "${name}" in ${backend.description}`,
      store: backend.openPool(name),
      containerExists: () => backend.hasPool(container),
      createContainer: async () => {
        if (await backend.hasPool(container)) return;
        await backend.createPool(name).catch((error: unknown) => {
          if (!(error instanceof AlreadyExistsError)) throw error; // created meanwhile
        });
      },
    };
  }

  private poolOptions(name: string): OpenPoolOptions {
    return { name, njobs: () => this.njobs, conflictRetries: this.#config.conflictRetries, provenance: this.#config.provenance, onStale: this.#config.onStale, engine: this.#config.engine };
  }

  private track(pool: Pool, njobs: number | undefined): Pool {
    if (njobs !== undefined) pool.njobs = njobs;
    this.openPools.add(pool);
    return pool;
  }

  private backend(): Backend {
    if (!this.backendInstance) this.backendInstance = this.createBackend();
    return this.backendInstance;
  }

  private createBackend(): Backend {
    switch (this.#config.backend) {
      case "memory":
        return new MemoryBackend();
      case "fs":
        return new FileSystemBackend(resolve(this.#config.root), { durable: this.#config.durable, lockStaleMs: this.#config.lockStaleMs });
      case "s3":
        return new S3Backend(this.#config);
    }
  }
}
