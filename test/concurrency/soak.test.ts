/**
 * Issue 8, item 6, the soak: several writer processes write and read one dataset on the local
 * Ceph RGW for a while; midway radosgw is killed with SIGKILL and restarted 2 s later. No operation
 * may fail (a restart is not an outage: requests are retried), no acknowledged write may be lost,
 * and no read may ever see a torn row. Runs only when DOSNA_TEST_RGW_DIR names the state dir of the
 * gateway under test (scripts/test-all.sh runs it in the pass that may take the gateway down).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { s3TestConfig } from "../helpers/clusters.js";
import { startWorker } from "../helpers/node-processes.js";
import { fenceClients, gatewayPid, gatewayWatchers, restartGateway } from "../helpers/rgw-gateway.js";
import { dropPool, s3Cluster, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";

const WORKER = fileURLToPath(new URL("./writer.ts", import.meta.url));
const rgwDir = process.env.DOSNA_TEST_RGW_DIR;
const WRITERS = 4;
const DURATION_MS = 20_000;

describe.skipIf(!s3TestConfig() || !rgwDir)("soak: writer processes while radosgw killed -9 and restarted", () => {
  it("radosgw killed mid-run: no operation fails, no acknowledged write is lost, no read is torn", async () => {
    const stateDir = rgwDir!;
    const cluster = await s3Cluster();
    const poolName = uniqueBucketName("soak");
    let killed = false;
    try {
      const pool = await cluster.createPool(poolName);
      const shape = [32, 48];
      await pool.createDataset("soak", { shape, dtype: "int32", chunks: [16, 16] });
      const workers = Array.from({ length: WRITERS }, (_, w) =>
        startWorker(WORKER, ["soak", poolName, "soak", String(w), String(WRITERS), String(DURATION_MS)], workerEnvironment()),
      );
      await Promise.all(workers.map((w) => w.waitForLine(/^ACK /, 60_000)));
      await sleep(DURATION_MS / 4);
      const watchers = await gatewayWatchers(stateDir);
      process.kill(gatewayPid(stateDir), "SIGKILL");
      killed = true;
      await sleep(2_000);
      await fenceClients(stateDir, watchers);
      await restartGateway(stateDir);
      killed = false;
      const outcomes = await Promise.all(workers.map((w) => w.ended));

      const acknowledged = new Map<number, number>();
      for (const outcome of outcomes) {
        expect(outcome.exitCode, `writer ${outcome.args[3]} failed:\n${outcome.stderr}`).toBe(0);
        expect(outcome.result?.failures, `writer ${outcome.args[3]}`).toEqual([]);
        expect(outcome.result?.writes as number).toBeGreaterThan(0);
        for (const match of outcome.stdout.matchAll(/^ACK (\d+) (\d+)$/gm)) acknowledged.set(Number(match[1]), Number(match[2]));
      }
      const ds = await (await cluster.getPool(poolName)).getDataset("soak");
      const all = (await ds.get(":")).data as Int32Array;
      const lost: string[] = [];
      for (let row = 0; row < shape[0]; row++) {
        // Each row has one writer, whose last write was acknowledged: the row holds exactly that version.
        const expected = acknowledged.get(row) ?? 0;
        for (let c = 0; c < shape[1]; c++) {
          if (all[row * shape[1] + c] !== expected) {
            lost.push(`row ${row} column ${c}: ${all[row * shape[1] + c]}, acknowledged ${expected}`);
            break;
          }
        }
      }
      expect(lost).toEqual([]);
      expect(acknowledged.size).toBe(shape[0]);
    } finally {
      if (killed) await restartGateway(stateDir);
      await dropPool(cluster, poolName);
      await cluster.disconnect();
    }
  }, 180_000);
});
