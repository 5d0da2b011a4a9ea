/**
 * Where a pool lives, as plain JSON a `dosna worker` on another host can open with its own
 * credentials: a directory (a shared filesystem) or an S3 endpoint and bucket[/prefix]. Nothing
 * secret is in it. Pools that live only in this process (memory, a repository session) have none.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { ComputeError, ValidationError } from "../errors.js";
import { Pool } from "../core/pool.js";
import type { Dataset } from "../core/dataset.js";
import { s3ClusterFromSettings } from "../core/default-cluster.js";
import type { Cluster } from "../core/cluster.js";
import { FileSystemStore } from "../store/filesystem.js";
import { S3Store } from "../store/s3/store.js";

export const poolAddressSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("fs"), root: z.string().min(1) }).strict(),
  z.object({ backend: z.literal("s3"), endpoint: z.string().min(1), pool: z.string().min(1) }).strict(),
]);

export type PoolAddress = z.infer<typeof poolAddressSchema>;

/** The address of the pool `ds` belongs to, or ComputeError saying why workers elsewhere cannot reach it. */
export function addressOf(ds: Dataset): PoolAddress {
  const store = ds.context.store;
  if (store instanceof FileSystemStore) return { backend: "fs", root: resolve(store.root) };
  if (store instanceof S3Store) return { backend: "s3", endpoint: store.endpoint, pool: store.prefix ? `${store.bucket}/${store.prefix}` : store.bucket };
  throw new ComputeError(
    `${ds.describe} lives in ${store.description}, which workers in other processes cannot open: ` +
      `the queue engine needs a pool on a local directory (shared with the workers) or on S3; use engine "local" or "threads" here`,
  );
}

export function describeAddress(address: PoolAddress): string {
  return address.backend === "fs" ? `fs:${address.root}` : `s3://${address.pool} at ${address.endpoint}`;
}

/** Opens addressed pools for a worker, one S3 cluster (from the worker's own environment / config file) for all. */
export class PoolOpener {
  private cluster: Cluster | undefined;
  private readonly pools = new Map<string, Promise<Pool>>();

  constructor(private readonly settings: { env?: NodeJS.ProcessEnv; configFile?: string; njobs?: number } = {}) {}

  open(address: PoolAddress): Promise<Pool> {
    const key = JSON.stringify(address);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = this.openNew(address);
      this.pools.set(key, pool);
      pool.catch(() => this.pools.delete(key));
    }
    return pool;
  }

  async close(): Promise<void> {
    await this.cluster?.disconnect();
  }

  private async openNew(address: PoolAddress): Promise<Pool> {
    if (address.backend === "fs") {
      return Pool.open(new FileSystemStore(address.root), { name: address.root, njobs: () => this.settings.njobs ?? 8 });
    }
    this.cluster ??= s3ClusterFromSettings(this.settings, "a task on an S3 pool", "or --config FILE on `dosna worker`");
    const mine = (this.cluster.toJSON() as { endpoint: string }).endpoint.replace(/^s3:/, "");
    if (normaliseEndpoint(mine) !== normaliseEndpoint(address.endpoint)) {
      throw new ValidationError(`this worker's S3 endpoint is ${mine}, but the task's pool ${describeAddress(address)} is on another endpoint: configure the worker for ${address.endpoint}`);
    }
    return this.cluster.getPool(address.pool);
  }
}

function normaliseEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`.toLowerCase();
  } catch {
    return url.replace(/\/+$/, "").toLowerCase();
  }
}
