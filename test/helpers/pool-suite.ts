/**
 * One cluster and one fresh pool per describe block: the setup the dataset-level suites share.
 */
import { afterAll, beforeAll } from "vitest";
import type { Cluster, Pool } from "../../src/index.js";
import { uniquePoolName, type BackendKind, type ClusterFixture } from "./clusters.js";

export interface PoolSuite {
  readonly cluster: Cluster;
  readonly pool: Pool;
  readonly poolName: string;
}

/**
 * Registers hooks in the calling describe block: before its tests, connect a cluster of `kind` and
 * create a pool named after `prefix`; after them, delete the pool and disconnect. The returned
 * object's fields are valid from inside the tests and later hooks.
 */
export function poolSuiteOn(kind: BackendKind, prefix: string): PoolSuite {
  let fixture: ClusterFixture | undefined;
  let pool: Pool | undefined;
  let poolName: string | undefined;

  beforeAll(async () => {
    fixture = await kind.make();
    poolName = uniquePoolName(prefix);
    pool = await fixture.cluster.createPool(poolName);
  });
  afterAll(async () => {
    if (!fixture) return;
    if (poolName) await fixture.cluster.deletePool(poolName, { force: true });
    await fixture.cleanup();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`poolSuiteOn(${kind.name}): ${what} is used before the suite's beforeAll ran`);
    return value;
  };
  return {
    get cluster() {
      return ready(fixture, "cluster").cluster;
    },
    get pool() {
      return ready(pool, "pool");
    },
    get poolName() {
      return ready(poolName, "poolName");
    },
  };
}
