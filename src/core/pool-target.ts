/**
 * From a pool URL or name (pool-url.ts) to the place it names, ready to open in a file mode:
 *
 *   s3://BUCKET/PREFIX   options.cluster, else the default cluster if it is S3, else a cluster of
 *                        its own from options.s3 / DOSNA_* / the config file (closed with the pool)
 *   memory:NAME          the process's memory cluster
 *   file:///PATH         a local directory
 *   plain text           a pool on options.cluster or the default cluster; without either, a local
 *                        directory if it reads as a path ("data.h5", "./x", "/tmp/x"), else refused
 *
 * Everything here is checked before any I/O, so a bad name fails at once and creates nothing.
 */
import { stat } from "node:fs/promises";
import { ValidationError } from "../errors.js";
import { FileSystemStore } from "../store/filesystem.js";
import type { Cluster } from "./cluster.js";
import { currentDefaultCluster, processMemoryCluster, s3ClusterFromSettings, type S3Settings } from "./default-cluster.js";
import type { Pool } from "./pool.js";
import { type FileMode, openPoolInMode, type PoolSite } from "./pool-modes.js";
import { looksLikePath, parsePoolUrl, poolNameOfPlain } from "./pool-url.js";

export interface PoolTargetOptions extends S3Settings {
  /** The cluster that plain names (and s3:// URLs, if it is S3) open on, instead of the default. */
  cluster?: Cluster;
}

export interface PoolTarget {
  /** What the pool is called in messages and `File.filename`: the local path, or the text given. */
  readonly filename: string;
  open(mode: FileMode): Promise<Pool>;
  /** Release what was connected for this target alone (an S3 cluster from the environment). */
  release(): Promise<void>;
}

const NJOBS_DEFAULT = 8;

export function resolvePoolTarget(text: string, options: PoolTargetOptions, what: string): PoolTarget {
  const url = parsePoolUrl(text);
  switch (url.kind) {
    case "s3": {
      const given = options.cluster ?? s3DefaultCluster();
      if (given && given.backendName !== "s3") {
        throw new ValidationError(`${what} ${JSON.stringify(text)} is an s3:// URL but the cluster given is ${given}, not an S3 cluster`);
      }
      const cluster = given ?? s3ClusterFromSettings(options, `${what} ${JSON.stringify(text)}`);
      return onCluster(cluster, url.pool, text, what, options, given === undefined);
    }
    case "memory":
      return onCluster(processMemoryCluster(), url.pool, text, what, options, false);
    case "file":
      return onDirectory(url.path, options);
    case "plain": {
      const cluster = options.cluster ?? currentDefaultCluster();
      if (cluster) return onCluster(cluster, poolNameOfPlain(text), text, what, options, false);
      if (looksLikePath(text)) return onDirectory(text, options);
      throw new ValidationError(
        `${what} ${JSON.stringify(text)} is a pool name but there is no default cluster: call dn.autoInit(config) first, ` +
          `or pass { cluster }, a local path ("./${text}"), file:///PATH, s3://BUCKET/PREFIX or memory:NAME`,
      );
    }
  }
}

function s3DefaultCluster(): Cluster | undefined {
  const cluster = currentDefaultCluster();
  return cluster?.backendName === "s3" ? cluster : undefined;
}

function onCluster(cluster: Cluster, pool: string, text: string, what: string, options: PoolTargetOptions, owned: boolean): PoolTarget {
  try {
    cluster.checkPoolName(pool);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const rule = cluster.backendName === "s3" ? "its first segment is the bucket, the rest a key prefix" : "each segment is a directory name";
    throw new ValidationError(`${what} ${JSON.stringify(text)} cannot name a pool on ${cluster}: it maps to pool "${pool}" (${rule}), and ${error.message}`);
  }
  return {
    filename: text,
    open: (mode) => cluster.openPool(pool, mode, { njobs: options.njobs }),
    release: async () => {
      if (owned) await cluster.disconnect();
    },
  };
}

function onDirectory(path: string, options: PoolTargetOptions): PoolTarget {
  const store = new FileSystemStore(path);
  const site: PoolSite = {
    description: `file "${path}"`,
    store,
    containerExists: async () => {
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) throw new ValidationError(`"${path}" is a file, not a dosna/Zarr directory (dosna keeps a File as a directory of chunk objects)`);
      return info !== undefined;
    },
    // The store creates its directory with the first object written.
    createContainer: async () => undefined,
  };
  const njobs = options.njobs ?? NJOBS_DEFAULT;
  return {
    filename: path,
    open: (mode) => openPoolInMode(site, mode, { name: path, njobs: () => njobs }),
    release: async () => undefined,
  };
}
