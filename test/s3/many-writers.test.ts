/**
 * Many writers on one S3 dataset: separate processes writing disjoint chunk-aligned slabs (whole
 * chunks, one PUT each, no read), and several Dataset objects in one process writing slabs that
 * share chunks. Processes writing regions that share chunks (read-modify-writes with conditional
 * PUTs) are tested in test/concurrency/processes.test.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type * as dn from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { runWorkers } from "../helpers/node-processes.js";
import { dropPool, s3Cluster, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";
import { slabValue } from "../helpers/slab-values.js";

const WORKER = fileURLToPath(new URL("./slab-writer.ts", import.meta.url));

/** Index of the first element where `actual` differs from `expected`, or -1 (a readable failure on 1M elements). */
function firstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return i;
  return -1;
}

async function storedChunkCount(pool: dn.Pool, dataset: string): Promise<number> {
  let n = 0;
  for await (const key of pool.store.list(`${dataset}/c/`)) if (key) n++;
  return n;
}

describe.skipIf(!s3TestConfig())("many writers on S3", () => {
  it("4 processes write disjoint chunk-aligned slabs at the same time; the final read is exact", async () => {
    const SLABS = 4;
    const SLAB_ROWS = 64;
    const shape = [SLABS * SLAB_ROWS, 64, 64];
    const chunks = [16, 32, 32];
    const cluster = await s3Cluster();
    const poolName = uniqueBucketName("writers");
    const barrier = await mkdtemp(join(tmpdir(), "dosna-barrier-"));
    try {
      const pool = await cluster.createPool(poolName);
      const ds = await pool.createDataset("cube", { shape, dtype: "int32", chunks });

      const outcomes = await runWorkers(
        WORKER,
        Array.from({ length: SLABS }, (_, slab) => ["write", poolName, "cube", String(slab), String(SLAB_ROWS), barrier]),
        workerEnvironment({ DOSNA_TEST_PARTIES: String(SLABS), DOSNA_NJOBS: "8" }),
      );
      for (const outcome of outcomes) {
        expect(outcome.exitCode, `worker ${outcome.args.join(" ")} failed:\n${outcome.stderr}`).toBe(0);
        expect(outcome.result).toEqual({ slab: Number(outcome.args[3]), writes: SLAB_ROWS / chunks[0] });
      }

      const expected = Int32Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => slabValue(i));
      const all = await ds.get();
      expect(all.shape).toEqual(shape);
      expect(firstDifference(all.data as Int32Array, expected)).toBe(-1);
      expect(await storedChunkCount(pool, "cube")).toBe((shape[0] / chunks[0]) * (shape[1] / chunks[1]) * (shape[2] / chunks[2]));
    } finally {
      await dropPool(cluster, poolName);
      await cluster.disconnect();
      await rm(barrier, { recursive: true, force: true });
    }
  });

  it("within one process, concurrent writes to slabs that share chunks lose nothing", async () => {
    const shape = [30, 20];
    const cluster = await s3Cluster();
    const poolName = uniqueBucketName("writers1p");
    try {
      const pool = await cluster.createPool(poolName);
      // Two Dataset objects (as two parts of a program would have) on the same chunks of 8 rows.
      const a = await pool.createDataset("grid", { shape, dtype: "int32", chunks: [8, 8] });
      const b = await pool.getDataset("grid");
      const bounds = [0, 5, 11, 13, 22, 30];
      await Promise.all(
        bounds.slice(0, -1).map((start, i) => {
          const stop = bounds[i + 1];
          const values = Int32Array.from({ length: (stop - start) * shape[1] }, (_, j) => slabValue(start * shape[1] + j));
          return (i % 2 ? a : b).set(`${start}:${stop}`, values);
        }),
      );
      const expected = Int32Array.from({ length: shape[0] * shape[1] }, (_, i) => slabValue(i));
      expect(firstDifference((await a.get()).data as Int32Array, expected)).toBe(-1);
    } finally {
      await dropPool(cluster, poolName);
      await cluster.disconnect();
    }
  });
});
