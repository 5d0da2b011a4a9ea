/**
 * Safe creation on S3: metadata is written with If-None-Match: *, so creators racing for the same
 * dataset or pool get exactly one success and already-exists errors, never a silent overwrite.
 * Each creator uses its own Cluster (its own connection), as separate programs would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { runWorkers } from "../helpers/node-processes.js";
import { dropPool, s3Cluster, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";

const WORKER = fileURLToPath(new URL("./slab-writer.ts", import.meta.url));
const ROUNDS = 10;

/** Which racers won; the losers' errors must be AlreadyExistsError naming `fragment`. */
function winnerOf(results: PromiseSettledResult<unknown>[], fragment: string): number {
  const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
  expect(winners, "exactly one creator succeeds").toHaveLength(1);
  for (const r of results) {
    if (r.status === "fulfilled") continue;
    expect(r.reason).toBeInstanceOf(dn.AlreadyExistsError);
    expect((r.reason as Error).message).toContain(fragment);
  }
  return winners[0];
}

describe.skipIf(!s3TestConfig())("safe creation on S3", () => {
  const bucket = uniqueBucketName("create");
  let clusters: dn.Cluster[];

  beforeAll(async () => {
    clusters = [await s3Cluster(), await s3Cluster()];
    await clusters[0].createPool(bucket);
  });

  afterAll(async () => {
    await dropPool(clusters[0], bucket);
    for (const cluster of clusters) await cluster.disconnect();
  });

  it(`two clusters creating the same dataset at once: one success, one AlreadyExistsError (${ROUNDS} rounds)`, async () => {
    const pools = await Promise.all(clusters.map((c) => c.getPool(bucket)));
    for (let round = 0; round < ROUNDS; round++) {
      const name = `race/d${round}`;
      const results = await Promise.allSettled(
        pools.map((pool, i) => pool.createDataset(name, { shape: [6, 6], dtype: "int16", chunks: [3, 3], fillValue: 100 + i })),
      );
      const winner = winnerOf(results, `dataset "/${name}" in pool "${bucket}" already exists`);
      // What is stored is the winner's dataset, whole: the loser overwrote nothing.
      const stored = await (await clusters[1 - winner].getPool(bucket)).getDataset(name);
      expect(stored.fillValue).toBe(100 + winner);
    }
  });

  it(`two clusters creating the same bucket pool at once: one success, one AlreadyExistsError (${ROUNDS} rounds)`, async () => {
    const names = Array.from({ length: ROUNDS }, (_, i) => uniqueBucketName(`race${i}`));
    try {
      for (const name of names) {
        const results = await Promise.allSettled(clusters.map((c, i) => c.createPool(name, { attrs: { creator: i } })));
        const winner = winnerOf(results, `pool "${name}" already exists`);
        const stored = await clusters[1 - winner].getPool(name);
        expect(stored.attrs.get("creator")).toBe(winner);
      }
    } finally {
      for (const name of names) await dropPool(clusters[0], name);
    }
  });

  it("two clusters creating the same bucket/prefix pool at once: one success, one AlreadyExistsError", async () => {
    for (let round = 0; round < 3; round++) {
      const name = `${bucket}/prefixed/p${round}`;
      const results = await Promise.allSettled(clusters.map((c, i) => c.createPool(name, { attrs: { creator: i } })));
      const winner = winnerOf(results, `pool "${name}" already exists`);
      expect((await clusters[0].getPool(name)).attrs.get("creator")).toBe(winner);
    }
  });

  it("4 processes creating the same dataset at once: one creates it, three get AlreadyExistsError", async () => {
    const barrier = await mkdtemp(join(tmpdir(), "dosna-barrier-"));
    try {
      const outcomes = await runWorkers(
        WORKER,
        [1, 2, 3, 4].map((id) => ["create", bucket, "shared", `p${id}`, barrier]),
        workerEnvironment({ DOSNA_TEST_PARTIES: "4" }),
      );
      for (const o of outcomes) expect(o.exitCode, `worker ${o.args.join(" ")} failed:\n${o.stderr}`).toBe(0);
      const results = outcomes.map((o) => o.result!);
      const winners = results.filter((r) => r.created === true);
      expect(winners).toHaveLength(1);
      for (const loser of results.filter((r) => r.created !== true)) {
        expect(loser.error).toBe("AlreadyExistsError");
        expect(loser.message).toContain(`dataset "/shared" in pool "${bucket}" already exists`);
      }
      const stored = await (await clusters[0].getPool(bucket)).getDataset("shared");
      expect(`p${String(stored.fillValue)}`).toBe(winners[0].id);
    } finally {
      await rm(barrier, { recursive: true, force: true });
    }
  });
});
