/**
 * Many processes record provenance into one pool at once, on the local filesystem and on the S3
 * endpoint under test (the local Ceph RGW): nothing is lost. Each worker is a real `node` process
 * (test/provenance/record-worker.ts) that records its own runs and, between them, updates one
 * record every worker shares (adding a tag) and, every fifth run, names a shared collector record
 * as its output (which updates the collector's inputs).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { runWorkers } from "../helpers/node-processes.js";
import { dropPool, environmentWithoutDosna, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";

const WORKER = fileURLToPath(new URL("./record-worker.ts", import.meta.url));
const PROCESSES = 6;
const STEPS = 25;

interface Target {
  cluster: () => dn.Cluster;
  env: () => NodeJS.ProcessEnv;
  cleanup: () => Promise<void>;
}

async function fsTarget(): Promise<Target> {
  const root = await mkdtemp(join(tmpdir(), "dosna-provenance-processes-"));
  return {
    cluster: () => new dn.Cluster({ backend: "fs", root }),
    env: () => ({ ...environmentWithoutDosna(), DOSNA_BACKEND: "fs", DOSNA_ROOT: root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

function s3Target(): Target {
  const s3 = s3TestConfig()!;
  return { cluster: () => new dn.Cluster({ backend: "s3", ...s3 }), env: () => workerEnvironment(), cleanup: async () => {} };
}

const targets: { name: string; make: () => Promise<Target> }[] = [{ name: "fs", make: fsTarget }];
if (s3TestConfig()) targets.push({ name: "S3 (RGW)", make: async () => s3Target() });
else describe.skip("provenance from many processes on S3: no DOSNA_TEST_S3_ENDPOINT", () => {});

interface WorkerResult {
  worker: number;
  ids: string[];
  linked: string[];
}

for (const { name, make } of targets) {
  describe(`provenance from ${PROCESSES} processes at once on ${name}`, () => {
    let target: Target;
    let cluster: dn.Cluster;
    let poolName: string;
    let barriers: string;

    beforeAll(async () => {
      target = await make();
      cluster = await target.cluster().connect();
      barriers = await mkdtemp(join(tmpdir(), "dosna-provenance-barrier-"));
      poolName = uniqueBucketName("provproc");
    });
    afterAll(async () => {
      if (cluster) await dropPool(cluster, poolName);
      await cluster?.disconnect();
      await target?.cleanup();
      await rm(barriers, { recursive: true, force: true });
    });

    it(`each records ${STEPS} runs and updates one shared record ${STEPS} times: nothing is lost`, async () => {
      const pool = await cluster.createPool(poolName);
      const prov = dn.provenance(pool);
      const shared = await prov.record({ kind: "dataset", name: "shared calibration", tags: { beamline: "1-ID" } });
      const collector = await prov.record({ kind: "dataset", name: "collected peaks" });

      const outcomes = await runWorkers(
        WORKER,
        Array.from({ length: PROCESSES }, (_, w) => ["record", poolName, String(w), String(STEPS), shared.id, collector.id, join(barriers, name.replace(/\W/g, "")), String(PROCESSES)]),
        target.env(),
        240_000,
      );
      for (const outcome of outcomes) expect(outcome.exitCode, `worker ${outcome.args[2]} failed:\n${outcome.stderr}`).toBe(0);
      const results = outcomes.map((o) => o.result as unknown as WorkerResult);
      const allIds = results.flatMap((r) => r.ids);
      expect(new Set(allIds).size).toBe(PROCESSES * STEPS);

      // Every record is there and findable, by id, by its tags, by kind and through the index.
      for (const { worker, ids } of results) {
        expect(ids).toHaveLength(STEPS);
        const byTag = await prov.find({ tag: { name: "worker", value: worker } });
        expect(byTag.map((r) => r.id)).toEqual([...ids].sort());
        const records = await Promise.all(ids.map((id) => prov.get(id)));
        records.forEach((record, step) => {
          expect(record.name).toBe(`worker ${worker} step ${step}`);
          expect(record.data.tags).toEqual({ worker: { type: "integer", value: worker }, step: { type: "integer", value: step } });
          expect(record.inputs).toEqual(step === 0 ? [shared.id] : [shared.id, ids[step - 1]]);
        });
        // Each worker's chain, upstream from its last run.
        const chain = await prov.lineage(ids.at(-1)!);
        expect(chain.problems).toEqual([]);
        expect(Object.keys(chain.records).sort()).toEqual([shared.id, ...ids].sort());
      }
      expect((await prov.find({ kind: "run" })).map((r) => r.id)).toEqual([...allIds].sort());
      expect(await prov.find({ tag: { name: "step", value: 3 } })).toHaveLength(PROCESSES);

      // The shared record has every process's change, and its history every revision, each
      // built on the one before (revision r holds the original tag plus r - 1 added ones).
      const current = await prov.get(shared.id);
      expect(current.revision).toBe(1 + PROCESSES * STEPS);
      const expectedTags: Record<string, dn.TagValue> = { beamline: { type: "string", value: "1-ID" } };
      for (const { worker, ids } of results) ids.forEach((id, step) => (expectedTags[`w${worker}-${step}`] = { type: "string", value: id }));
      expect(current.data.tags).toEqual(expectedTags);
      const history = await current.history();
      expect(history.map((r) => r.revision)).toEqual(Array.from({ length: PROCESSES * STEPS }, (_, i) => i + 1));
      history.forEach((revision, i) => {
        const tags = Object.keys(revision.data.tags);
        expect(tags, `revision ${revision.revision}`).toHaveLength(1 + i);
        const next = i + 1 < history.length ? history[i + 1].data.tags : current.data.tags;
        for (const tag of tags) expect(next[tag], `tag ${tag} kept after revision ${revision.revision}`).toEqual(revision.data.tags[tag]);
      });
      // The processes really ran at once: whose update each revision is switches often.
      const revisions = [...history.slice(1), current];
      const writers = revisions.map((r, i) => Object.keys(r.data.tags).find((t) => !(t in history[i].data.tags))!.split("-")[0]);
      expect(writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length, `writers in order: ${writers.join(" ")}`).toBeGreaterThan(2 * PROCESSES);
      // Each worker's own updates happened in its order.
      for (const { worker } of results) {
        const order = history.map((r) => Object.keys(r.data.tags).filter((t) => t.startsWith(`w${worker}-`)).length);
        for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThanOrEqual(order[i - 1]);
      }
      // Downstream of the shared record: every run (the used-by index lost no marker).
      const derived = await prov.derived(shared, { depth: 1 });
      expect(derived.problems).toEqual([]);
      expect(Object.keys(derived.records).sort()).toEqual([shared.id, ...allIds].sort());

      // The collector got every linking run among its inputs.
      const linked = results.flatMap((r) => r.linked);
      expect(linked).toHaveLength(PROCESSES * Math.ceil(STEPS / 5));
      const collected = await prov.get(collector.id);
      expect([...collected.inputs].sort()).toEqual([...linked].sort());
      expect(collected.revision).toBe(1 + linked.length);
      expect((await collected.history()).map((r) => r.inputs.length)).toEqual(Array.from({ length: linked.length }, (_, i) => i));
    }, 300_000);
  });
}
