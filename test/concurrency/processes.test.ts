/**
 * Issue 8, item 6: many writers in separate processes never lose each other's updates, on the
 * local filesystem and on the S3 endpoint under test (the local Ceph RGW in CI). Every worker is a
 * real `node` process (test/concurrency/writer.ts) and all of them write the same chunks at once.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { runWorkers, startWorker } from "../helpers/node-processes.js";
import { dropPool, environmentWithoutDosna, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";
import { rowValue } from "./values.js";

const WORKER = fileURLToPath(new URL("./writer.ts", import.meta.url));
const WRITERS = 8;

interface Target {
  name: string;
  cluster: () => dn.Cluster;
  env: (extra: Record<string, string>) => NodeJS.ProcessEnv;
  cleanup: () => Promise<void>;
}

async function fsTarget(): Promise<Target> {
  const root = await mkdtemp(join(tmpdir(), "dosna-processes-"));
  return {
    name: "fs",
    cluster: () => new dn.Cluster({ backend: "fs", root }),
    env: (extra) => ({ ...environmentWithoutDosna(), DOSNA_BACKEND: "fs", DOSNA_ROOT: root, ...extra }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

function s3Target(): Target {
  const s3 = s3TestConfig()!;
  return {
    name: "s3",
    cluster: () => new dn.Cluster({ backend: "s3", ...s3 }),
    env: (extra) => workerEnvironment(extra),
    cleanup: async () => {},
  };
}

const targets: { name: string; make: () => Promise<Target> }[] = [{ name: "fs", make: fsTarget }];
if (s3TestConfig()) targets.push({ name: "S3 (RGW)", make: async () => s3Target() });
else describe.skip("many processes on S3: no DOSNA_TEST_S3_ENDPOINT", () => {});

for (const { name, make } of targets) {
  describe(`many writer processes on ${name}`, () => {
    let target: Target;
    let cluster: dn.Cluster;
    const pools: string[] = [];
    let barriers: string;

    beforeAll(async () => {
      target = await make();
      cluster = await target.cluster().connect();
      barriers = await mkdtemp(join(tmpdir(), "dosna-barrier-"));
    });
    afterAll(async () => {
      for (const pool of pools) await dropPool(cluster, pool);
      await cluster?.disconnect();
      await target?.cleanup();
      await rm(barriers, { recursive: true, force: true });
    });

    async function freshPool(prefix: string): Promise<dn.Pool> {
      const poolName = uniqueBucketName(prefix);
      pools.push(poolName);
      return cluster.createPool(poolName);
    }

    it(`${WRITERS} processes writing interleaved rows of the same chunks lose no row`, async () => {
      const pool = await freshPool("rows");
      const shape = [96, 64];
      const ds = await pool.createDataset("grid", { shape, dtype: "int32", chunks: [32, 32] });
      const barrier = join(barriers, `rows-${name}`);
      const outcomes = await runWorkers(
        WORKER,
        Array.from({ length: WRITERS }, (_, w) => ["rows", pool.context.poolName, "grid", String(w), String(WRITERS), barrier]),
        target.env({ DOSNA_TEST_PARTIES: String(WRITERS) }),
        120_000,
      );
      for (const outcome of outcomes) {
        expect(outcome.exitCode, `worker ${outcome.args[3]} failed:\n${outcome.stderr}`).toBe(0);
        expect(outcome.result).toEqual({ writer: Number(outcome.args[3]), rows: shape[0] / WRITERS });
      }
      const all = (await ds.get(":")).data as Int32Array;
      const lost: number[] = [];
      for (let r = 0; r < shape[0]; r++) {
        for (let c = 0; c < shape[1]; c++) {
          if (all[r * shape[1] + c] !== rowValue(r, c)) {
            lost.push(r);
            break;
          }
        }
      }
      expect(lost, "rows whose update was lost").toEqual([]);
    }, 180_000);

    it(`${WRITERS} processes setting attributes of one dataset (one also resizing it) lose none`, async () => {
      const pool = await freshPool("attrs");
      const count = 8;
      await pool.createDataset("meta", { shape: [4, 4], dtype: "int32", chunks: [2, 2] });
      const barrier = join(barriers, `attrs-${name}`);
      const outcomes = await runWorkers(
        WORKER,
        Array.from({ length: WRITERS }, (_, w) => ["attrs", pool.context.poolName, "meta", String(w), String(count), barrier]),
        target.env({ DOSNA_TEST_PARTIES: String(WRITERS) }),
        120_000,
      );
      for (const outcome of outcomes) expect(outcome.exitCode, `worker ${outcome.args[3]} failed:\n${outcome.stderr}`).toBe(0);
      const ds = await pool.getDataset("meta");
      const expected: Record<string, number> = {};
      for (let w = 0; w < WRITERS; w++) for (let i = 0; i < count; i++) expected[`w${w}-${i}`] = i;
      expect(ds.attrs.toJSON()).toEqual(expected);
      expect(ds.shape).toEqual([4 + count, 4]);
    }, 180_000);

    it("a writer killed between its read and its conditional write leaves the dataset readable and writable", async () => {
      const pool = await freshPool("killed");
      const ds = await pool.createDataset("d", { shape: [8, 8], dtype: "int32", chunks: [8, 8] });
      await ds.set(":", 3);
      const worker = startWorker(WORKER, ["hold", pool.context.poolName, "d", "2"], target.env({}));
      try {
        expect(await worker.waitForLine(/^READ /, 60_000)).toBe("READ d/c/0/0");
      } finally {
        worker.kill("SIGKILL");
      }
      const outcome = await worker.ended;
      expect(outcome.exitCode === null || outcome.exitCode !== 0).toBe(true);
      // Nothing of the killed write landed, and others write the same chunk at once.
      expect(Array.from((await ds.get(":")).data as Int32Array)).toEqual(new Array(64).fill(3));
      await ds.set("5, :", 6);
      const after = Array.from((await ds.get(":")).data as Int32Array);
      expect(after.filter((v) => v === 6)).toHaveLength(8);
      expect(after.filter((v) => v === 3)).toHaveLength(56);
      if (target.name === "fs") {
        const root = (cluster.toJSON().endpoint as string).slice("fs:".length);
        const names = await readdir(join(root, pool.context.poolName, "d", "c", "0"));
        expect(names, "no lock or temp file left beside the chunk").toEqual(["0"]);
      }
    }, 120_000);
  });
}
