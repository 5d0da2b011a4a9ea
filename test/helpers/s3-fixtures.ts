/**
 * S3 test fixtures: the endpoint under test as a validated config or a Cluster, pool clean-up, and
 * a transport wrapper that counts every S3 request by operation (for request-discipline tests).
 */
import * as dn from "../../src/index.js";
import { NotFoundError } from "../../src/index.js";
import { createTransport, S3Backend, s3ConnectionSchema, type S3ConnectionConfig, type S3Transport } from "../../src/store/s3/index.js";
import { s3TestConfig, uniquePoolName } from "./clusters.js";

/** The endpoint under test as a validated connection config (undefined when none is configured). */
export function s3ConnectionConfig(overrides: Partial<S3ConnectionConfig> = {}): S3ConnectionConfig | undefined {
  const s3 = s3TestConfig();
  return s3 ? s3ConnectionSchema.parse({ ...s3, ...overrides }) : undefined;
}

/** A connected Cluster on the endpoint under test; throws when none is configured. */
export async function s3Cluster(overrides: Partial<dn.ClusterConfig> = {}): Promise<dn.Cluster> {
  const s3 = s3TestConfig();
  if (!s3) throw new Error("DOSNA_TEST_S3_ENDPOINT is not set");
  const cluster = new dn.Cluster({ backend: "s3", ...s3, njobs: 16, ...overrides } as dn.ClusterConfig);
  return cluster.connect();
}

/** A fresh, valid bucket name (lowercase, short enough for S3's 63 characters). */
export function uniqueBucketName(prefix: string): string {
  return uniquePoolName(prefix).toLowerCase();
}

/** Delete a pool and everything in it; a pool that is already gone is fine. */
export async function dropPool(cluster: dn.Cluster, name: string): Promise<void> {
  try {
    await cluster.deletePool(name, { force: true });
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

/** Delete a bucket with every object in it, bypassing the pool layer (for buckets holding non-pool objects). */
export async function dropBucket(config: S3ConnectionConfig, bucket: string): Promise<void> {
  const backend = new S3Backend(config);
  try {
    if (await backend.hasPool(bucket)) await deleteBucketThrough(backend, bucket);
  } finally {
    await backend.close();
  }
}

/** Delete a bucket with every object in it through an open backend (one whose config may differ from the endpoint under test). */
export async function deleteBucketThrough(backend: S3Backend, bucket: string): Promise<void> {
  const store = backend.openPool(bucket);
  const keys: string[] = [];
  for await (const key of store.list("")) keys.push(key);
  await store.deleteMany(keys);
  await backend.deletePool(bucket);
}

export type TransportOperation = Exclude<keyof S3Transport, "name" | "classify" | "close">;

export interface TransportCall {
  op: TransportOperation;
  /** The object key for object operations, the prefix for listPage, "" otherwise. */
  key: string;
}

export interface CountingTransport {
  transport: S3Transport;
  calls: TransportCall[];
  count(op: TransportOperation): number;
  keysOf(op: TransportOperation): string[];
  reset(): void;
}

const KEYED: ReadonlySet<string> = new Set(["getObject", "putObject", "deleteObject", "listPage"]);

/** The real transport for `config`, wrapped so every request it sends is recorded. */
export function countingTransport(config: S3ConnectionConfig): CountingTransport {
  const inner = createTransport(config);
  const calls: TransportCall[] = [];
  const transport = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "classify" || property === "close") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        calls.push({ op: property as TransportOperation, key: KEYED.has(String(property)) ? String(args[1]) : "" });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    transport,
    calls,
    count: (op) => calls.filter((c) => c.op === op).length,
    keysOf: (op) => calls.filter((c) => c.op === op).map((c) => c.key).sort(),
    reset: () => {
      calls.length = 0;
    },
  };
}

/**
 * Environment for a worker process: the parent's, minus every DOSNA_* setting, plus the endpoint
 * under test as the DOSNA_* variables users set (so the worker exercises Cluster.fromEnv).
 */
/** This process's environment without its DOSNA_* variables: what a worker process starts from. */
export function environmentWithoutDosna(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("DOSNA_")) env[key] = value;
  return env;
}

export function workerEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const s3 = s3TestConfig();
  if (!s3) throw new Error("DOSNA_TEST_S3_ENDPOINT is not set");
  return {
    ...environmentWithoutDosna(),
    DOSNA_ENDPOINT: s3.endpoint,
    DOSNA_ACCESS_KEY_ID: s3.accessKeyId,
    DOSNA_SECRET_ACCESS_KEY: s3.secretAccessKey,
    DOSNA_REGION: s3.region,
    ...extra,
  };
}
