/**
 * Pointwise writes from separate processes: two `node` processes (test/concurrency/vindex-writer.ts)
 * vindex.set disjoint, interleaved points of the same chunks at the same time, on the local
 * filesystem and on the S3 endpoint under test; every point of both lands (each chunk is patched by
 * a conditional read-modify-write, so neither process overwrites the other's points).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { runWorkers } from "../helpers/node-processes.js";
import { dropPool, environmentWithoutDosna, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";
import { rowValue } from "./values.js";

const WORKER = fileURLToPath(new URL("./vindex-writer.ts", import.meta.url));
const WRITERS = 2;
const ROUNDS = 12;

interface Target {
  cluster: dn.Cluster;
  env: NodeJS.ProcessEnv;
  cleanup: () => Promise<void>;
}

const targets: { name: string; make: () => Promise<Target> }[] = [
  {
    name: "fs",
    make: async () => {
      const root = await mkdtemp(join(tmpdir(), "dosna-vindex-processes-"));
      return {
        cluster: await new dn.Cluster({ backend: "fs", root }).connect(),
        env: { ...environmentWithoutDosna(), DOSNA_BACKEND: "fs", DOSNA_ROOT: root },
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
];
const s3 = s3TestConfig();
if (s3) targets.push({ name: "S3 (RGW)", make: async () => ({ cluster: await new dn.Cluster({ backend: "s3", ...s3 }).connect(), env: workerEnvironment(), cleanup: async () => {} }) });
else describe.skip("vindex writer processes on S3: no DOSNA_TEST_S3_ENDPOINT", () => {});

for (const { name, make } of targets) {
  describe(`vindex writer processes on ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it(`${WRITERS} processes setting interleaved points of the same chunks at once lose none`, async () => {
      const target = await make();
      cleanups.push(target.cleanup, () => target.cluster.disconnect());
      const poolName = uniqueBucketName("vindex");
      const pool = await target.cluster.createPool(poolName);
      cleanups.push(() => dropPool(target.cluster, poolName));
      const barrier = await mkdtemp(join(tmpdir(), "dosna-vindex-barrier-"));
      cleanups.push(() => rm(barrier, { recursive: true, force: true }));
      const shape = [24, 20];
      const ds = await pool.createDataset("points", { shape, dtype: "int32", chunks: [8, 8] }); // 9 chunks, ragged on axis 1
      const outcomes = await runWorkers(
        WORKER,
        Array.from({ length: WRITERS }, (_, w) => [poolName, "points", String(w), String(WRITERS), String(ROUNDS), barrier]),
        target.env,
        120_000,
      );
      for (const outcome of outcomes) {
        expect(outcome.exitCode, `worker ${outcome.args[2]} failed:\n${outcome.stderr}`).toBe(0);
        expect(outcome.result).toEqual({ writer: Number(outcome.args[2]), points: (shape[0] * shape[1]) / WRITERS });
      }
      const all = (await ds.read()).data as Int32Array;
      const lost: string[] = [];
      for (let r = 0; r < shape[0]; r++) for (let c = 0; c < shape[1]; c++) if (all[r * shape[1] + c] !== rowValue(r, c)) lost.push(`(${r}, ${c})`);
      expect(lost, "points whose write was lost").toEqual([]);
    }, 180_000);
  });
}
