/**
 * The process's default cluster (DosNa's `auto_init`): after `dn.autoInit(config)`, `new
 * dn.File("name", mode)` and `dn.Pool.open("name")` use it. Also the clusters that pool URLs
 * imply: one memory cluster per process (so two Files on "memory:x" see the same pool), and S3
 * clusters configured from options, DOSNA_* variables or a config file.
 */
import { ValidationError } from "../errors.js";
import type { S3ConnectionInput } from "../store/s3/index.js";
import { Cluster, type ClusterConfig } from "./cluster.js";
import { configFromEnvironment, readConfigFile } from "./config-sources.js";

let defaultClusterInstance: Cluster | undefined;
let memoryClusterInstance: Cluster | undefined;

/**
 * Make a cluster the process default and return it. `config`: a Cluster, a configuration object,
 * the path of a config file (see ceph.sample.conf), or nothing: DOSNA_* variables and the
 * DOSNA_CONFIG file, else the embedded local store in ./dosna-data.
 */
export function autoInit(config?: Cluster | ClusterConfig | string, env: NodeJS.ProcessEnv = process.env): Cluster {
  const cluster =
    config instanceof Cluster
      ? config
      : typeof config === "string"
        ? Cluster.fromConfigFile(config)
        : config !== undefined
          ? new Cluster(config)
          : Cluster.fromEnv(env);
  defaultClusterInstance = cluster;
  return cluster;
}

/** The default cluster, if autoInit was called. */
export function currentDefaultCluster(): Cluster | undefined {
  return defaultClusterInstance;
}

/** The default cluster; a clear error if autoInit was not called. */
export function defaultCluster(): Cluster {
  if (!defaultClusterInstance) {
    throw new ValidationError("no default cluster: call dn.autoInit(config) first (config: an object, a config file path, or nothing for DOSNA_* variables)");
  }
  return defaultClusterInstance;
}

/** Disconnect the default cluster and forget it. */
export async function resetDefaultCluster(): Promise<void> {
  const cluster = defaultClusterInstance;
  defaultClusterInstance = undefined;
  await cluster?.disconnect();
}

/** The one in-memory cluster of this process, behind every memory: URL. */
export function processMemoryCluster(): Cluster {
  return (memoryClusterInstance ??= new Cluster({ backend: "memory" }));
}

export interface S3Settings {
  /** An S3 connection object; wins over the environment and any config file. */
  s3?: S3ConnectionInput;
  /** A config file (see ceph.sample.conf); default: the DOSNA_CONFIG variable. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  njobs?: number;
}

const S3_REQUIRED = ["endpoint", "accessKeyId", "secretAccessKey"] as const;
const S3_SOURCES = {
  endpoint: "DOSNA_ENDPOINT",
  accessKeyId: "DOSNA_ACCESS_KEY_ID",
  secretAccessKey: "DOSNA_SECRET_ACCESS_KEY",
} as const;

/**
 * An S3 cluster for an s3:// URL: from `settings.s3`, else DOSNA_* variables over the config file
 * (settings.configFile or DOSNA_CONFIG). Local-store settings (DOSNA_BACKEND, DOSNA_ROOT) do not
 * apply: the URL chose the backend.
 */
export function s3ClusterFromSettings(settings: S3Settings, what: string, alternatives = "or pass { s3: {...} } or { cluster }"): Cluster {
  const env = { ...(settings.env ?? process.env) };
  const configFile = settings.configFile ?? env.DOSNA_CONFIG;
  delete env.DOSNA_BACKEND;
  delete env.DOSNA_ROOT;
  delete env.DOSNA_CONFIG;
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const fromEnv = configFromEnvironment(env);
  const merged: Record<string, unknown> = settings.s3 ? { ...settings.s3 } : { ...fromFile, ...fromEnv };
  delete merged.root;
  delete merged.durable;
  delete merged.lockStaleMs;
  const missing = S3_REQUIRED.filter((field) => merged[field] === undefined || merged[field] === "");
  if (missing.length > 0) {
    const source = settings.s3 ? "the s3 option" : configFile ? `the environment or config file "${configFile}"` : "the environment (no DOSNA_CONFIG file is set)";
    throw new ValidationError(
      `${what} needs an S3 endpoint and keys, and ${source} has no ${missing.join(", ")}: ` +
        `set ${missing.map((field) => S3_SOURCES[field]).join(", ")}, or DOSNA_CONFIG=FILE (keys endpoint, access_key_id, secret_access_key as in ceph.sample.conf), ` +
        alternatives,
    );
  }
  return new Cluster({ ...merged, backend: "s3", ...(settings.njobs ? { njobs: settings.njobs } : {}) } as ClusterConfig);
}
