/**
 * Provenance records on every backend (memory, fs, and the S3 endpoint under test): what a record
 * holds (agent, software, time, activity, URIs, typed tags), updates with their history, searches,
 * the automatic capture of dosna's own operations, invalidation and `onStale`, and the bad inputs
 * of the table, each refused with an error that names it and nothing stored.
 *
 * The tests at the end reproduce defects found while these tests were written (each comment says
 * what was wrong); src/provenance/ was fixed so that they pass.
 */
import { createRequire } from "node:module";
import { hostname, userInfo } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds, s3TestConfig, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectError, expectErrorAndNoChange } from "../helpers/expect-error.js";
import { dropPool } from "../helpers/s3-fixtures.js";
import { snapshotStore } from "../helpers/store-snapshot.js";

const PREFIX = ".dosna/provenance/";
const recordKey = (id: string) => `${PREFIX}records/${id}.json`;
const packageVersion = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
const me = { user: userInfo().username, host: hostname() };
const ID = /^[0-9a-f]{24}$/;
const MISSING = "0123456789abcdef01234567";

/** The process warnings of code DOSNA_STALE seen by `spy` (a spy on process.emitWarning). */
function staleWarnings(spy: MockInstance): string[] {
  return spy.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === "DOSNA_STALE").map(([message]) => String(message));
}

function names(records: Iterable<dn.ProvenanceRecord>): string[] {
  return [...records].map((r) => r.name).sort();
}

/** A cluster of the same backend with other options (fs and S3: the same pools; memory has no second view). */
function sameBackend(cluster: dn.Cluster, options: Partial<dn.ClusterConfig>): dn.Cluster | undefined {
  const endpoint = String(cluster.toJSON().endpoint);
  if (endpoint.startsWith("fs:")) return new dn.Cluster({ backend: "fs", root: endpoint.slice(3), ...options } as dn.ClusterConfig);
  const s3 = s3TestConfig();
  if (endpoint.startsWith("s3:") && s3) return new dn.Cluster({ backend: "s3", ...s3, ...options } as dn.ClusterConfig);
  return undefined;
}

for (const kind of backendKinds) {
  describe(`provenance records on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    const pools: string[] = [];
    let warn: MockInstance;

    beforeAll(async () => {
      fixture = await kind.make();
    });
    afterAll(async () => {
      for (const name of pools) await dropPool(fixture.cluster, name);
      await fixture?.cleanup();
    });
    afterEach(() => warn?.mockRestore());

    async function freshPool(): Promise<dn.Pool> {
      const name = uniquePoolName("prov");
      pools.push(name);
      return fixture.cluster.createPool(name);
    }

    /** The same pool through another Pool object with other options (same store). */
    function reopen(pool: dn.Pool, options: { onStale?: "ignore" | "warn" | "error"; provenance?: boolean }): Promise<dn.Pool> {
      return dn.Pool.open(pool.context.store, { name: pool.context.poolName, ...options });
    }

    /**
     * A dataset written with plain `set` (not captured), so that tests about other things do not
     * depend on capture (which does not happen on S3 pools: see "known problems").
     */
    async function written(pool: dn.Pool, path: string, values = [1, 2, 3, 4, 5, 6, 7, 8]): Promise<dn.Dataset> {
      const ds = await pool.createDataset(path, { shape: [values.length], dtype: "float32", chunks: [4] });
      await ds.set(":", Float32Array.from(values));
      return ds;
    }

    /** `name` computed from `source` by a run that records itself with its output. */
    async function derive(pool: dn.Pool, source: dn.Dataset, name: string): Promise<dn.Dataset> {
      const copy = async function copyOf(from: dn.Dataset) {
        return written(pool, name, Array.from((await from.read()).data as Float32Array));
      };
      return dn.withProvenance(copy, { pool, name: `make ${name}`, inputs: [source], outputs: (ds) => [ds] })(source);
    }

    it("a record holds who, where, with what software, when, how, what else and typed tags", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const before = Date.now();
      const config = await prov.record({ kind: "config", name: "beamline", uris: ["s3://config/beamline-01.json"] });
      const model = await prov.record({
        kind: "model",
        name: "braggnn",
        inputs: [config],
        parameters: { lr: 0.001, layers: [64, 32], optimiser: { name: "adam", beta: [0.9, 0.999] } },
        uris: ["s3://models/braggnn/ckpt-0010.pt", "https://example.org/braggnn"],
        tags: {
          threshold: 3.5,
          epochs: 10,
          final: true,
          note: "first try",
          trainedAt: new Date("2026-01-02T03:04:05Z"),
          declaredFloat: { type: "float", value: 3 },
          declaredTime: { type: "time", value: "2026-01-02T03:04:05+01:00" },
          declaredString: { type: "string", value: "42" },
        },
      });
      const after = Date.now();

      expect(model.id).toMatch(ID);
      expect(model.kind).toBe("model");
      expect(model.name).toBe("braggnn");
      expect(model.revision).toBe(1);
      expect(model.inputs).toEqual([config.id]);
      expect(model.outputs).toEqual([]);
      expect(model.stale).toBeUndefined();
      expect(model.data.agent).toEqual(me);
      expect(model.data.software).toEqual({ dosna: packageVersion, node: process.version });
      expect(model.time.getTime()).toBeGreaterThanOrEqual(before);
      expect(model.time.getTime()).toBeLessThanOrEqual(after);
      expect(model.data.updated).toBe(model.data.time);
      expect(model.data.activity).toEqual({ parameters: { lr: 0.001, layers: [64, 32], optimiser: { name: "adam", beta: [0.9, 0.999] } } });
      expect(model.data.uris).toEqual(["s3://models/braggnn/ckpt-0010.pt", "https://example.org/braggnn"]);
      expect(model.data.tags).toEqual({
        threshold: { type: "float", value: 3.5 },
        epochs: { type: "integer", value: 10 },
        final: { type: "boolean", value: true },
        note: { type: "string", value: "first try" },
        trainedAt: { type: "time", value: "2026-01-02T03:04:05.000Z" },
        declaredFloat: { type: "float", value: 3 },
        declaredTime: { type: "time", value: "2026-01-02T02:04:05.000Z" },
        declaredString: { type: "string", value: "42" },
      });
      expect(config.data.uris).toEqual(["s3://config/beamline-01.json"]);

      // Stored as one JSON object under the reserved prefix, and read back the same.
      const stored = JSON.parse(new TextDecoder().decode(await pool.context.store.get(recordKey(model.id))));
      expect(stored).toEqual(model.data);
      expect(stored.format).toBe("dosna-provenance");
      expect((await prov.get(model.id)).data).toEqual(model.data);
      expect(names(await model.inputRecords())).toEqual(["beamline"]);
      expect(names(await config.derivedRecords())).toEqual(["braggnn"]);
      // A plain Zarr listing of the pool never sees provenance.
      expect(await pool.listDatasets()).toEqual([]);

      // A run's outputs get the run among their inputs.
      const checkpoint = await prov.record({ kind: "file", name: "ckpt-0011.pt", uris: ["s3://models/braggnn/ckpt-0011.pt"] });
      const run = await prov.record({ kind: "run", name: "fine-tune", inputs: [model], outputs: [checkpoint.id] });
      expect(run.outputs).toEqual([checkpoint.id]);
      const linked = await prov.get(checkpoint.id);
      expect(linked.inputs).toEqual([run.id]);
      expect(linked.revision).toBe(2);

      await expectError(() => prov.get("not-an-id"), dn.ValidationError, ['"not-an-id"', "24 hex digits"]);
      await expectError(() => prov.get(MISSING), dn.NotFoundError, [MISSING]);
    });

    it("an update is a new revision: history() has the earlier ones, oldest first, revisions counting up", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const first = await prov.record({ kind: "model", name: "m", tags: { stage: "draft" } });
      let latest = first;
      for (let i = 1; i <= 4; i++) {
        await sleep(2);
        latest = await prov.records.update(first.id, (current) => ({
          ...current,
          tags: { ...current.tags, [`epoch${i}`]: { type: "integer", value: i }, stage: { type: "string", value: i === 4 ? "final" : "training" } },
        }));
        expect(latest.revision).toBe(i + 1);
      }
      const current = await prov.get(first.id);
      expect(current.revision).toBe(5);
      expect(current.data.time).toBe(first.data.time);
      expect(Date.parse(current.data.updated)).toBeGreaterThan(Date.parse(first.data.updated));
      expect(Object.keys(current.data.tags).sort()).toEqual(["epoch1", "epoch2", "epoch3", "epoch4", "stage"]);

      const history = await current.history();
      expect(history.map((r) => r.revision)).toEqual([1, 2, 3, 4]);
      expect(history[0].data).toEqual(first.data);
      history.forEach((revision, i) => {
        expect(revision.id).toBe(first.id);
        expect(Object.keys(revision.data.tags)).toHaveLength(1 + i);
        if (i > 0) expect(Date.parse(revision.data.updated)).toBeGreaterThanOrEqual(Date.parse(history[i - 1].data.updated));
      });
      // Searches follow the current revision: the old tag value no longer finds it, the new one does.
      expect(names(await prov.find({ tag: { name: "stage", value: "final" } }))).toEqual(["m"]);
      expect(await prov.find({ tag: { name: "stage", value: "draft" } })).toEqual([]);
      expect(await prov.find({ tag: { name: "stage", value: "training" } })).toEqual([]);
      expect(names(await prov.find({ tag: { name: "epoch2", value: 2 } }))).toEqual(["m"]);

      await expectError(() => prov.records.update(MISSING, (c) => c), dn.NotFoundError, [MISSING]);
    });

    it("find by kind, name, dataset, tag and time range", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const early = await prov.record({ kind: "run", name: "calibrate", tags: { beamline: "1-ID", shift: 1 } });
      await sleep(20);
      const from = new Date();
      const a = await prov.record({ kind: "model", name: "braggnn", tags: { beamline: "1-ID", shift: 2, final: false } });
      await prov.record({ kind: "model", name: "ctsegnet", tags: { beamline: "2-BM", shift: 2, final: true } });
      const raw = await written(pool, "scans/raw");
      const rawRecord = await raw.provenanceRecord();
      const to = new Date();
      await sleep(20);
      const late = await prov.record({ kind: "run", name: "calibrate", inputs: [a], tags: { beamline: "2-BM", when: { type: "time", value: "2026-03-01T00:00:00Z" } } });

      expect(names(await prov.find({ kind: "model" }))).toEqual(["braggnn", "ctsegnet"]);
      expect(names(await prov.find({ kind: "run" }))).toEqual(["calibrate", "calibrate"]);
      expect((await prov.find({ name: "calibrate" })).map((r) => r.id)).toEqual([early.id, late.id]);
      expect(names(await prov.find({ dataset: "scans/raw" }))).toEqual(["scans/raw"]);
      expect((await prov.find({ dataset: "scans/raw" }))[0].id).toBe(rawRecord.id);
      expect(names(await prov.find({ tag: { name: "beamline", value: "2-BM" } }))).toEqual(["calibrate", "ctsegnet"]);
      expect(names(await prov.find({ tag: { name: "shift", value: 2 } }))).toEqual(["braggnn", "ctsegnet"]);
      expect(names(await prov.find({ tag: { name: "final", value: true } }))).toEqual(["ctsegnet"]);
      expect(names(await prov.find({ tag: { name: "when", value: new Date("2026-03-01T00:00:00Z") } }))).toEqual(["calibrate"]);
      expect(await prov.find({ tag: { name: "beamline", value: "3-ID" } })).toEqual([]);
      expect(await prov.find({ tag: { name: "nope", value: 1 } })).toEqual([]);
      // Several criteria: the most selective index is listed, the others filter.
      expect(names(await prov.find({ kind: "model", tag: { name: "beamline", value: "1-ID" } }))).toEqual(["braggnn"]);
      expect(await prov.find({ kind: "run", tag: { name: "shift", value: 2 } })).toEqual([]);
      expect((await prov.find({ name: "calibrate", from })).map((r) => r.id)).toEqual([late.id]);
      // Time ranges.
      expect(names(await prov.find({ from, to }))).toEqual(["braggnn", "ctsegnet", "scans/raw"]);
      expect(names(await prov.find({ kind: "model", from, to }))).toEqual(["braggnn", "ctsegnet"]);
      expect((await prov.find({ to: new Date(from.getTime() - 1) })).map((r) => r.id)).toEqual([early.id]);
      expect((await prov.find({ from: new Date(to.getTime() + 1) })).map((r) => r.id)).toEqual([late.id]);
      expect(await prov.find({ from: new Date(Date.now() + 60_000), to: new Date(Date.now() + 120_000) })).toEqual([]);
      expect(await prov.find({})).toHaveLength(5);
      // Results come back oldest first (ids sort by time).
      const all = await prov.find({});
      expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort());
      expect(all[0].id).toBe(early.id);
    });

    // Known problem: on S3 pools nothing is captured (see the comment at "known problems").
    it("dosna's own load, map, apply, clone and resize record themselves", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const raw = await pool.createDataset("raw", { shape: [8], dtype: "float32", chunks: [4] });
      await raw.load(Float32Array.from([1, 5, 2, 8, 3, 9, 1, 0]));
      const loadRecord = await raw.provenanceRecord();
      expect(loadRecord.kind).toBe("dataset");
      expect(loadRecord.data.dataset).toBe("raw");
      expect(loadRecord.data.datasetVersion).toMatch(/^sha256:[0-9a-f]{32}$/);
      expect(loadRecord.data.activity).toEqual({ operation: "load" });
      expect(loadRecord.inputs).toEqual([]);

      const peaks = await raw.map(function peakFinding(chunk) {
        return chunk;
      }, "peaks");
      const mapRecord = await peaks.provenanceRecord();
      expect(mapRecord.name).toBe("peaks");
      expect(mapRecord.data.activity).toEqual({ operation: "map", function: "peakFinding", sourceHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(mapRecord.inputs).toEqual([loadRecord.id]);
      // map clones inside: one record, not two.
      expect(await prov.find({ dataset: "peaks" })).toHaveLength(1);

      await peaks.apply(function normalise(chunk) {
        return chunk;
      });
      const applyRecord = await peaks.provenanceRecord();
      expect(applyRecord.id).not.toBe(mapRecord.id);
      expect(applyRecord.data.activity?.operation).toBe("apply");
      expect(applyRecord.data.activity?.function).toBe("normalise");
      expect(applyRecord.inputs).toEqual([mapRecord.id]);
      // The hash follows the function's source: same source, same hash; another source, another.
      await peaks.apply(function normalise(chunk) {
        return chunk;
      });
      const again = await peaks.provenanceRecord();
      expect(again.data.activity?.sourceHash).toBe(applyRecord.data.activity?.sourceHash);
      expect(again.data.activity?.sourceHash).not.toBe(mapRecord.data.activity?.sourceHash);
      expect(again.inputs).toEqual([applyRecord.id]);

      const copy = await peaks.clone("copy", { copyData: true });
      const cloneRecord = await copy.provenanceRecord();
      expect(cloneRecord.data.activity).toEqual({ operation: "clone", parameters: { copyData: true } });
      expect(cloneRecord.inputs).toEqual([again.id]);

      await copy.resize([12]);
      const resizeRecord = await copy.provenanceRecord();
      expect(resizeRecord.data.activity).toEqual({ operation: "resize", parameters: { shape: [12] } });
      expect(resizeRecord.inputs).toEqual([cloneRecord.id]);
      expect(resizeRecord.data.datasetVersion).not.toBe(cloneRecord.data.datasetVersion);

      // The whole chain, upstream from the last one.
      const lineage = await copy.lineage();
      const operations = Object.values(lineage.records)
        .sort((x, y) => (x.id < y.id ? -1 : 1))
        .map((r) => `${r.name}:${r.data.activity?.operation}`);
      expect(operations).toEqual(["raw:load", "peaks:map", "peaks:apply", "peaks:apply", "copy:clone", "copy:resize"]);
      expect(lineage.edges).toHaveLength(5);
      expect(lineage.problems).toEqual([]);
      expect(Object.keys((await copy.lineage({ depth: 2 })).records)).toHaveLength(3);

      // A dataset with no record yet gets one (kind "dataset") when first needed.
      const plain = await pool.createDataset("plain", { shape: [2], dtype: "int8" });
      await plain.set(":", [1, 2]);
      expect(await prov.find({ dataset: "plain" })).toEqual([]);
      const made = await plain.provenanceRecord();
      expect(made.data).toMatchObject({ kind: "dataset", name: "plain", dataset: "plain", inputs: [] });
      expect((await plain.provenanceRecord()).id).toBe(made.id);

      // provenance: false turns capture off.
      const quiet = await reopen(pool, { provenance: false });
      const q = await (await quiet.getDataset("raw")).map((c) => c, "quiet");
      expect(await prov.find({ dataset: q.path })).toEqual([]);
    });

    it("withProvenance runs a function and records its run", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const raw = await written(pool, "raw");
      async function findPeaks(source: dn.Dataset, threshold: number): Promise<dn.Dataset> {
        const values = Array.from((await source.read()).data as Float32Array);
        return written(pool, `peaks-${threshold}`, values.map((v) => (v > threshold ? v : 0)));
      }
      const run = dn.withProvenance(findPeaks, { pool, inputs: [raw], outputs: (ds) => [ds], parameters: { threshold: 3 }, uris: ["file:///etc/peaks.yaml"], tags: { beamline: "1-ID" } });
      const peaks = await run(raw, 3);
      const [record] = await prov.find({ kind: "run" });
      expect(record.name).toBe("findPeaks");
      expect(record.data.activity).toEqual({ operation: "run", function: "findPeaks", sourceHash: expect.stringMatching(/^[0-9a-f]{16}$/), parameters: { threshold: 3 } });
      expect(record.inputs).toEqual([(await raw.provenanceRecord()).id]);
      const peaksRecord = await peaks.provenanceRecord();
      expect(record.outputs).toEqual([peaksRecord.id]);
      expect(peaksRecord.inputs).toEqual([record.id]);
      expect(Array.from((await peaks.read()).data as Float32Array)).toEqual([0, 0, 0, 4, 5, 6, 7, 8]);
      expect(record.data.uris).toEqual(["file:///etc/peaks.yaml"]);
      expect(record.data.tags).toEqual({ beamline: { type: "string", value: "1-ID" } });
      // A named run; a failing function records nothing.
      const failing = dn.withProvenance(
        async () => {
          throw new Error("beam lost");
        },
        { pool, name: "doomed" },
      );
      await expect(failing()).rejects.toThrow("beam lost");
      expect(await prov.find({ name: "doomed" })).toEqual([]);
    });

    it("invalidation marks everything downstream with who, when, why and the action, and nothing else", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const raw = await written(pool, "raw");
      const peaks = await derive(pool, raw, "peaks");
      const model = await prov.record({ kind: "model", name: "model", inputs: [peaks] });
      const other = await prov.record({ kind: "dataset", name: "calibration" });
      const report = await prov.record({ kind: "file", name: "report", inputs: [model, other] });
      const sideline = await prov.record({ kind: "run", name: "unrelated", inputs: [other] });
      const rawRecord = await raw.provenanceRecord();
      const peaksRecord = await peaks.provenanceRecord();
      const [makePeaks] = await prov.find({ name: "make peaks" });

      const before = Date.now();
      const marked = await raw.invalidate("detector miscalibrated on 2026-11-30", { action: "recompute" });
      const after = Date.now();
      expect(names(marked)).toEqual(["make peaks", "model", "peaks", "raw", "report"]);
      for (const id of [rawRecord.id, makePeaks.id, peaksRecord.id, model.id, report.id]) {
        const record = await prov.get(id);
        expect(record.stale, record.name).toEqual({ reason: "detector miscalibrated on 2026-11-30", at: expect.any(String), by: me, source: rawRecord.id, action: "recompute" });
        expect(Date.parse(record.stale!.at)).toBeGreaterThanOrEqual(before);
        expect(Date.parse(record.stale!.at)).toBeLessThanOrEqual(after);
        const history = await record.history();
        expect(history.at(-1)!.stale, `${record.name} before`).toBeUndefined();
        expect(record.revision).toBe(history.at(-1)!.revision + 1);
      }
      for (const id of [other.id, sideline.id]) expect((await prov.get(id)).stale).toBeUndefined();
      // The datasets among them carry the flag in their metadata, for readers.
      for (const path of ["raw", "peaks"]) {
        const ds = await pool.getDataset(path);
        expect((ds.attrs.get("dosna") as { stale?: unknown }).stale, path).toMatchObject({ reason: "detector miscalibrated on 2026-11-30", source: rawRecord.id, action: "recompute" });
        expect(await ds.isStale()).toBe(true);
      }
      // A derived() graph shows the same set, and a depth limit cuts it.
      expect(names(Object.values((await raw.derived()).records))).toEqual(["make peaks", "model", "peaks", "raw", "report"]);
      expect(names(Object.values((await raw.derived({ depth: 2 })).records))).toEqual(["make peaks", "peaks", "raw"]);
      // Without an action, none is recorded.
      await prov.invalidate(sideline, "wrong parameters");
      expect((await prov.get(sideline.id)).stale).toEqual({ reason: "wrong parameters", at: expect.any(String), by: me, source: sideline.id });

      await expectError(() => prov.invalidate(other, ""), dn.ValidationError, ["reason"]);
      await expectError(() => prov.invalidate(MISSING, "gone"), dn.NotFoundError, [MISSING]);
    });

    it("revalidate clears what the same invalidation marked, and only that", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const raw = await written(pool, "raw");
      const peaks = await derive(pool, raw, "peaks");
      const labelled = await derive(pool, peaks, "labelled");
      await peaks.invalidate("wrong threshold");
      expect(await raw.isStale()).toBe(false);
      expect(await labelled.isStale()).toBe(true);
      // Revalidating upstream of that invalidation clears nothing of it.
      expect(await raw.revalidate()).toEqual([]);
      expect(await labelled.isStale()).toBe(true);
      const cleared = await peaks.revalidate();
      expect(names(cleared)).toEqual(["labelled", "make labelled", "peaks"]);
      for (const ds of [peaks, labelled]) {
        expect(await ds.isStale()).toBe(false);
        expect((await ds.provenanceRecord()).stale).toBeUndefined();
        expect((await pool.getDataset(ds.path)).attrs.get("dosna")).toBeUndefined();
      }
      warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const strict = await reopen(pool, { onStale: "error" });
      await (await strict.getDataset("labelled")).get(":");
      await (await pool.getDataset("labelled")).get(":");
      expect(staleWarnings(warn)).toEqual([]);
    });

    it("reads of an invalidated dataset follow onStale: ignore, warn once, error", async () => {
      const pool = await freshPool();
      const raw = await written(pool, "raw");
      await derive(pool, raw, "peaks");
      await raw.invalidate("beam dump at 04:12", { action: "recompute" });
      warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});

      const lenient = await reopen(pool, { onStale: "ignore" });
      expect(Array.from((await (await lenient.getDataset("peaks")).get(":")).data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(staleWarnings(warn)).toEqual([]);

      // Default "warn": once per dataset, however often it is read or reopened.
      for (let i = 0; i < 3; i++) await (await pool.getDataset("peaks")).get("1:3");
      await (await pool.getDataset("peaks")).read();
      const warnings = staleWarnings(warn);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('dataset "/peaks"');
      expect(warnings[0]).toContain("beam dump at 04:12");
      await (await pool.getDataset("raw")).get(":");
      expect(staleWarnings(warn)).toHaveLength(2);

      const strict = await reopen(pool, { onStale: "error" });
      const error = await expectError(async () => (await strict.getDataset("peaks")).get(":"), dn.StaleDataError, ['dataset "/peaks"', "beam dump at 04:12", "revalidate"]);
      expect(error).toBeInstanceOf(dn.DosnaError);
      // The cluster option does the same.
      const cluster = sameBackend(fixture.cluster, { onStale: "error" });
      if (cluster) {
        await cluster.connect();
        try {
          const viaCluster = await (await cluster.getPool(pool.context.poolName)).getDataset("peaks");
          await expectError(() => viaCluster.get(":"), dn.StaleDataError, ["beam dump at 04:12"]);
        } finally {
          await cluster.disconnect();
        }
      }
      // Once revalidated, reads are plain again.
      await raw.revalidate();
      expect(Array.from((await (await strict.getDataset("peaks")).get(":")).data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    describe("bad input: refused, naming what is wrong, with nothing stored", () => {
      let pool: dn.Pool;
      let prov: dn.PoolProvenance;
      let a: dn.ProvenanceRecord;
      let b: dn.ProvenanceRecord;
      let c: dn.ProvenanceRecord;

      beforeAll(async () => {
        pool = await freshPool();
        prov = dn.provenance(pool);
        a = await prov.record({ kind: "dataset", name: "a" });
        b = await prov.record({ kind: "run", name: "b", inputs: [a] });
        c = await prov.record({ kind: "model", name: "c", inputs: [b] });
      });

      it("an input or output id that does not exist: NotFoundError naming it", async () => {
        const before = await snapshotStore(pool.context.store, PREFIX);
        await expectErrorAndNoChange(pool.context.store, () => prov.record({ kind: "run", name: "orphan", inputs: [a, MISSING] }), dn.NotFoundError, [MISSING, '"orphan"', "nothing was recorded"]);
        await expectErrorAndNoChange(pool.context.store, () => prov.record({ kind: "run", name: "orphan", outputs: [MISSING] }), dn.NotFoundError, [MISSING]);
        await expectErrorAndNoChange(pool.context.store, () => prov.record({ kind: "run", name: "orphan", inputs: ["not-an-id"] }), dn.ValidationError, ['"not-an-id"']);
        expect(await snapshotStore(pool.context.store, PREFIX)).toEqual(before);
        expect(await prov.find({ name: "orphan" })).toEqual([]);
      });

      it("a cycle: refused, naming the records", async () => {
        // A new run taking c as input and claiming a as output: a → b → c → run → a.
        await expectErrorAndNoChange(pool.context.store, () => prov.record({ kind: "run", name: "loop", inputs: [c], outputs: [a] }), dn.ValidationError, ["cycle", a.id, c.id, '"loop"']);
        await expectErrorAndNoChange(pool.context.store, () => prov.record({ kind: "run", name: "loop", inputs: [a], outputs: [a] }), dn.ValidationError, ["cycle", a.id]);
        // An update that would make a record its own ancestor, directly or through others.
        await expectErrorAndNoChange(pool.context.store, () => prov.records.update(a.id, (x) => ({ ...x, inputs: [c.id] })), dn.ValidationError, ["cycle", a.id, c.id]);
        await expectErrorAndNoChange(pool.context.store, () => prov.records.update(b.id, (x) => ({ ...x, inputs: [...x.inputs, b.id] })), dn.ValidationError, ["cycle", b.id]);
        expect((await prov.get(a.id)).revision).toBe(1);
      });

      const badTags: Array<[string, unknown, string]> = [
        ["an integer that is not whole", { type: "integer", value: 1.5 }, "declared integer"],
        ["an integer given as a string", { type: "integer", value: "3" }, "declared integer"],
        ["a float that is a string", { type: "float", value: "3.5" }, "declared float"],
        ["a float that is NaN", { type: "float", value: Number.NaN }, "declared float"],
        ["a boolean that is a string", { type: "boolean", value: "yes" }, "declared boolean"],
        ["a string that is a number", { type: "string", value: 42 }, "declared string"],
        ["a time that is not one", { type: "time", value: "last tuesday-ish" }, "declared time"],
        ["an unknown type", { type: "complex", value: 1 }, "type"],
        ["an invalid Date", new Date("nope"), "valid time"],
        ["an infinite number", Number.POSITIVE_INFINITY, "finite"],
        ["null", null, "a value"],
      ];
      for (const [what, value, expected] of badTags) {
        it(`a tag whose value does not fit: ${what} → ValidationError naming the tag`, async () => {
          await expectErrorAndNoChange(
            pool.context.store,
            () => prov.record({ kind: "run", name: "tagged", tags: { fine: 1, calibration: value as dn.TagInput } }),
            dn.ValidationError,
            ['tag "calibration"', '"tagged"', expected],
          );
        });
      }

      class Detector {
        constructor(readonly gain = 2) {}
      }
      const badParameters: Array<[string, unknown, string[]]> = [
        ["a function", { lr: 0.1, schedule: () => 0.1 }, [".schedule", "function"]],
        ["NaN", { lr: Number.NaN }, [".lr", "NaN"]],
        ["Infinity deep inside", { layers: [{ width: 64 }, { width: Number.POSITIVE_INFINITY }] }, [".layers[1].width", "Infinity"]],
        ["a BigInt", { seed: 10n }, [".seed", "bigint"]],
        ["a class instance", { detector: new Detector() }, [".detector", "Detector"]],
        ["a Map", { table: new Map([["a", 1]]) }, [".table", "Map"]],
        ["undefined inside", { momentum: undefined }, [".momentum", "undefined"]],
        ["a cycle", (() => { const p: Record<string, unknown> = { a: 1 }; p.self = p; return p; })(), [".self", "cycle"]],
        ["a function as the whole", () => 1, ["parameter", "function"]],
      ];
      for (const [what, parameters, fragments] of badParameters) {
        it(`a parameter that is not JSON: ${what} → ValidationError naming it`, async () => {
          await expectErrorAndNoChange(pool.context.store, () => prov.record({ kind: "run", name: "train", parameters }), dn.ValidationError, ['"train"', ...fragments]);
        });
      }

      it("a corrupt record: get() throws CorruptMetadataError naming it; lineage and derived report it and go on", async () => {
        const p = dn.provenance(await freshPool());
        const root = await p.record({ kind: "dataset", name: "root" });
        const left = await p.record({ kind: "run", name: "left", inputs: [root] });
        const right = await p.record({ kind: "run", name: "right", inputs: [root] });
        const leaf = await p.record({ kind: "model", name: "leaf", inputs: [left, right] });
        const store = p.records.store;
        await store.set(recordKey(left.id), new TextEncoder().encode("{ not json"));
        await expectError(() => p.get(left.id), dn.CorruptMetadataError, [left.id, "not valid JSON"]);

        const up = await p.lineage(leaf);
        expect(names(Object.values(up.records))).toEqual(["leaf", "right", "root"]);
        expect(up.problems).toEqual([{ id: left.id, message: expect.stringContaining(left.id) }]);
        expect(up.edges).toEqual(expect.arrayContaining([{ from: right.id, to: leaf.id }, { from: root.id, to: right.id }]));
        expect(up.edges.some((e) => e.from === left.id || e.to === left.id)).toBe(false);

        const down = await p.derived(root);
        expect(names(Object.values(down.records))).toEqual(["leaf", "right", "root"]);
        expect(down.problems).toEqual([{ id: left.id, message: expect.stringContaining("not valid JSON") }]);
        // Starting from the corrupt record itself is the same error as get().
        await expectError(() => p.lineage(left.id), dn.CorruptMetadataError, [left.id]);
        // Searches go on with the rest.
        expect(names(await p.find({ kind: "run" }))).toEqual(["right"]);

        // Valid JSON of the wrong shape is corrupt too, naming the field.
        await store.set(recordKey(right.id), new TextEncoder().encode(JSON.stringify({ ...right.data, revision: "two" })));
        await expectError(() => p.get(right.id), dn.CorruptMetadataError, [right.id, "malformed", "revision"]);
        const both = await p.derived(root);
        expect(names(Object.values(both.records))).toEqual(["root"]);
        expect(both.problems.map((x) => x.id).sort()).toEqual([left.id, right.id].sort());
      });
    });

    describe("defects found while writing these tests (each reproduced here, then fixed in src/provenance/)", () => {
      // Capture never happens on S3 pools: capture.ts `captures()` takes a store with a `base`
      // property for a repository session, and S3Store has a private `base` (its key prefix, "" for
      // a bucket pool). The capture test above covered it on S3 too; this is the short form.
      it("a map records itself on this backend", async () => {
        const pool = await freshPool();
        const raw = await written(pool, "raw");
        const peaks = await raw.map(function peakFinding(c) {
          return c;
        }, "peaks");
        expect((await dn.provenance(pool).find({ dataset: "peaks" })).map((r) => r.data.activity?.operation)).toEqual(["map"]);
        expect((await peaks.provenanceRecord()).inputs).toEqual([(await raw.provenanceRecord()).id]);
      });

      // A Dataset object opened before an invalidation keeps its cached metadata, so reads through
      // it never see the stale flag: not even `raw` itself right after `raw.invalidate()`.
      it("a Dataset object held across its own invalidation sees it on the next read", async () => {
        const pool = await freshPool();
        const strict = await reopen(pool, { onStale: "error" });
        const raw = await written(strict, "raw");
        await raw.invalidate("detector miscalibrated");
        await expectError(() => raw.get(":"), dn.StaleDataError, ["detector miscalibrated"]);
      });

      // A Dataset without a record among the inputs gets one made before the other inputs are checked,
      // so "nothing was recorded" leaves a new record (and its index markers) behind.
      it("a refused record with a Dataset among its inputs stores nothing", async () => {
        const pool = await freshPool();
        const ds = await pool.createDataset("plain", { shape: [2], dtype: "int8" });
        await ds.set(":", 1);
        await expectErrorAndNoChange(pool.context.store, () => dn.provenance(pool).record({ kind: "run", name: "orphan", inputs: [ds, MISSING] }), dn.NotFoundError, [MISSING]);
      });

      // derived() (and so invalidate()) follows used-by markers without checking that the record
      // still has the input: after an update drops it, the record is still "downstream" and is
      // invalidated with it.
      it("after an update removes an input, the record is no longer downstream of it", async () => {
        const prov = dn.provenance(await freshPool());
        const a = await prov.record({ kind: "dataset", name: "a" });
        const x = await prov.record({ kind: "dataset", name: "x" });
        const b = await prov.record({ kind: "run", name: "b", inputs: [a] });
        await prov.records.update(b.id, (current) => ({ ...current, inputs: [x.id] }));
        expect(names(await (await prov.get(a.id)).derivedRecords())).toEqual([]);
        expect(names(await prov.invalidate(a, "bad"))).toEqual(["a"]);
      });

      // update() writes whatever `change` returns without validating it: a tag given as a plain
      // value (as record() accepts) makes the record unreadable for good, and a tag that breaks its
      // declared type is stored.
      it("an update whose result is not a valid record is refused, and the record stays readable", async () => {
        const pool = await freshPool();
        const prov = dn.provenance(pool);
        const record = await prov.record({ kind: "model", name: "m" });
        await expectErrorAndNoChange(
          pool.context.store,
          () => prov.records.update(record.id, (current) => ({ ...current, tags: { epochs: 30 as unknown as dn.TagValue } })),
          dn.ValidationError,
          ['tag "epochs"'],
        );
        await expectErrorAndNoChange(
          pool.context.store,
          () => prov.records.update(record.id, (current) => ({ ...current, tags: { epochs: { type: "integer", value: 1.5 } } })),
          dn.ValidationError,
          ['tag "epochs"'],
        );
        expect((await prov.get(record.id)).revision).toBe(1);
      });

      // update() indexes new inputs, dataset and tags, but not a changed name or kind: the record
      // is then found neither by its new name nor by its old one.
      it("a record renamed (or re-kinded) by an update is found by its new name and kind", async () => {
        const prov = dn.provenance(await freshPool());
        const record = await prov.record({ kind: "file", name: "draft" });
        await prov.records.update(record.id, (current) => ({ ...current, name: "final", kind: "model" }));
        expect((await prov.find({ name: "final" })).map((r) => r.id)).toEqual([record.id]);
        expect((await prov.find({ kind: "model" })).map((r) => r.id)).toEqual([record.id]);
      });

      // isStale() asks the dataset's newest record; reads check the flag in its zarr.json. Once a
      // stale dataset has a newer record (any recorded operation on it), they disagree.
      it("isStale() and reads agree once a stale dataset has a newer record", async () => {
        const pool = await freshPool();
        const raw = await written(pool, "raw");
        await raw.invalidate("bad calibration");
        await dn.provenance(pool).record({ kind: "dataset", name: "raw", dataset: "raw", activity: { operation: "recalibrate" } });
        const strict = await (await reopen(pool, { onStale: "error" })).getDataset("raw");
        const readFails = await strict.get(":").then(
          () => false,
          () => true,
        );
        expect(readFails).toBe(await strict.isStale());
      });

      // Other handles of a dataset this process invalidated were opened before it: they see it too.
      it("every handle in this process sees an invalidation, not only the one it was called on", async () => {
        const strict = await reopen(await freshPool(), { onStale: "error" });
        const raw = await written(strict, "raw");
        const peaks = await raw.map(function keep(c) {
          return c;
        }, "peaks");
        const held = await strict.getDataset("raw");
        await raw.invalidate("bad");
        await expectError(() => peaks.get(":"), dn.StaleDataError, ["bad"]);
        await expectError(() => held.get(":"), dn.StaleDataError, ["bad"]);
        await raw.revalidate();
        await peaks.get(":");
        await held.get(":");
      });

      // A float tag of a whole value is found by the plain number, and a tag search with a kind
      // reads only the records in both indexes.
      it("find: a whole float tag by its plain number; tag and kind intersect their indexes", async () => {
        const prov = dn.provenance(await freshPool());
        const float = await prov.record({ kind: "model", name: "m", tags: { threshold: { type: "float", value: 3 } } });
        const integer = await prov.record({ kind: "run", name: "r", tags: { threshold: 3 } });
        expect((await prov.find({ tag: { name: "threshold", value: 3 } })).map((r) => r.id).sort()).toEqual([float.id, integer.id].sort());
        expect((await prov.find({ kind: "model", tag: { name: "threshold", value: 3 } })).map((r) => r.id)).toEqual([float.id]);
      });

      // A corrupt record in the middle stops an invalidation silently: what lies beyond it stays
      // fresh, though `index/used-by/<corrupt id>/` names it, and invalidate() reports nothing.
      it("invalidation reaches records downstream of a corrupt one (or reports that it could not)", async () => {
        const prov = dn.provenance(await freshPool());
        const raw = await prov.record({ kind: "dataset", name: "raw" });
        const mid = await prov.record({ kind: "run", name: "mid", inputs: [raw] });
        const model = await prov.record({ kind: "model", name: "model", inputs: [mid] });
        await prov.records.store.set(recordKey(mid.id), new TextEncoder().encode("junk"));
        let marked: dn.ProvenanceRecord[] | undefined;
        try {
          marked = await prov.invalidate(raw, "bad");
        } catch (error) {
          expect((error as Error).message).toContain(mid.id); // refusing, naming it, would do too
          return;
        }
        expect(marked.map((r) => r.id)).toContain(model.id);
        expect((await prov.get(model.id)).stale).toBeDefined();
      });
    });
  });
}
