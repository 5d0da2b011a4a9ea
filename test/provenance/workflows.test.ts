/**
 * Braid's two workflows replayed end to end on every backend (memory, fs, the S3 endpoint under
 * test), with real datasets and the provenance API a user would write.
 *
 * BraggNN (Bragg peak finding at a light source): raw scattering frames → peak finding (a map
 * inside a user run) → labelled peaks (a user run) → a model trained on them (record of kind
 * "model", with its parameters and checkpoint URI) → inferred peaks of new frames (a run using the
 * model and the new frames). Then the raw frames are found faulty: everything downstream is stale,
 * the new frames are not, and reading the inferred peaks warns or fails as onStale says.
 *
 * CTSegNet (tomography segmentation, trained in rounds): each round's model is trained on the
 * segmentations earlier models inferred; "what data was used to train this model?" is answered by
 * its lineage through every round, checked against the answer computed here from what was built.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectError } from "../helpers/expect-error.js";
import { dropPool } from "../helpers/s3-fixtures.js";

const FRAMES = 4;
const SIDE = 16;

/** Frames of scattering: a low background and one Gaussian peak per frame at a known place. */
function scatteringFrames(shift: number): { values: Float32Array; centres: Array<[number, number]> } {
  const values = new Float32Array(FRAMES * SIDE * SIDE);
  const centres: Array<[number, number]> = [];
  for (let f = 0; f < FRAMES; f++) {
    const cy = 4 + ((f * 3 + shift) % 8);
    const cx = 5 + ((f * 5 + shift) % 7);
    centres.push([cy, cx]);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const r2 = (y - cy) ** 2 + (x - cx) ** 2;
        values[(f * SIDE + y) * SIDE + x] = 1 + 100 * Math.exp(-r2 / 2);
      }
    }
  }
  return { values, centres };
}

function staleWarnings(spy: MockInstance): string[] {
  return spy.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === "DOSNA_STALE").map(([message]) => String(message));
}

function namesOf(graph: dn.ProvenanceGraph, kind?: string): string[] {
  return Object.values(graph.records)
    .filter((r) => kind === undefined || r.kind === kind)
    .map((r) => r.name)
    .sort();
}

for (const kind of backendKinds) {
  describe(`Braid's workflows on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    const pools: string[] = [];
    let warn: MockInstance | undefined;

    beforeAll(async () => {
      fixture = await kind.make();
    });
    afterAll(async () => {
      for (const name of pools) await dropPool(fixture.cluster, name);
      await fixture?.cleanup();
    });
    afterEach(() => warn?.mockRestore());

    async function freshPool(): Promise<dn.Pool> {
      const name = uniquePoolName("braid");
      pools.push(name);
      return fixture.cluster.createPool(name);
    }

    it("BraggNN: raw frames → peaks → labels → model → inferred peaks; faulty raw frames make all of it stale", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);

      // 1. Raw scattering data from the detector.
      const first = scatteringFrames(0);
      const raw = await pool.createDataset("braggnn/raw", { shape: [FRAMES, SIDE, SIDE], dtype: "float32", chunks: [1, SIDE, SIDE] });
      await raw.load(first.values);
      await raw.attrs.set("detector", "Eiger 2X 4M");

      // 2. Peak finding: a chunk-wise map, inside a user run that records its parameters.
      const threshold = 20;
      const findPeaks = dn.withProvenance(
        async (frames: dn.Dataset) =>
          frames.map(function peakFinding(chunk) {
            const data = chunk.data as Float32Array;
            for (let i = 0; i < data.length; i++) data[i] = data[i] > threshold ? data[i] : 0;
            return chunk;
          }, "peaks"),
        { pool, name: "peak finding", inputs: [raw], outputs: (ds) => [ds], parameters: { threshold, method: "connected components" } },
      );
      const peaks = await findPeaks(raw);

      // 3. Labelled peaks: one row per frame, the intensity-weighted centre of its peak pixels.
      const centreOf = async (source: dn.Dataset, out: string): Promise<dn.Dataset> => {
        const values = (await source.read()).data as Float32Array;
        const rows = new Float32Array(FRAMES * 2);
        for (let f = 0; f < FRAMES; f++) {
          let sum = 0;
          let sy = 0;
          let sx = 0;
          for (let y = 0; y < SIDE; y++) {
            for (let x = 0; x < SIDE; x++) {
              const v = values[(f * SIDE + y) * SIDE + x];
              if (v <= threshold) continue;
              sum += v;
              sy += v * y;
              sx += v * x;
            }
          }
          rows[2 * f] = sy / sum;
          rows[2 * f + 1] = sx / sum;
        }
        const ds = await pool.createDataset(out, { shape: [FRAMES, 2], dtype: "float32", chunks: [FRAMES, 2] });
        await ds.set(":", rows);
        return ds;
      };
      const labelPeaks = dn.withProvenance(async (source: dn.Dataset) => centreOf(source, "braggnn/labels"), {
        pool,
        name: "label peaks",
        inputs: [peaks],
        outputs: (ds) => [ds],
        parameters: { labeller: "pseudo-Voigt fit", patch: 11 },
      });
      const labels = await labelPeaks(peaks);
      const labelled = Array.from((await labels.read()).data as Float32Array);
      first.centres.forEach(([cy, cx], f) => {
        expect(labelled[2 * f]).toBeCloseTo(cy, 3);
        expect(labelled[2 * f + 1]).toBeCloseTo(cx, 3);
      });

      // 4. A model trained on the labelled peaks: its parameters and checkpoint URI.
      const model = await prov.record({
        kind: "model",
        name: "BraggNN",
        inputs: [labels, peaks],
        parameters: { architecture: "BraggNN", epochs: 30, learningRate: 0.001, batchSize: 512, patch: 11 },
        uris: ["s3://models/braggnn/ckpt-0030.pt"],
        tags: { validationError: 0.037, epochs: 30, framework: "pytorch", trainedAt: new Date() },
      });

      // 5. New raw frames, and peaks inferred on them by the model.
      const second = scatteringFrames(3);
      const newRaw = await pool.createDataset("braggnn/raw-2", { shape: [FRAMES, SIDE, SIDE], dtype: "float32", chunks: [1, SIDE, SIDE] });
      await newRaw.load(second.values);
      const infer = dn.withProvenance(async (frames: dn.Dataset) => centreOf(frames, "braggnn/inferred"), {
        pool,
        name: "inference",
        inputs: [model, newRaw],
        outputs: (ds) => [ds],
        parameters: { batchSize: 1024, device: "cpu" },
      });
      const inferred = await infer(newRaw);
      const found = Array.from((await inferred.read()).data as Float32Array);
      second.centres.forEach(([cy, cx], f) => {
        expect(found[2 * f]).toBeCloseTo(cy, 3);
        expect(found[2 * f + 1]).toBeCloseTo(cx, 3);
      });

      // The lineage of the inferred peaks reaches back to both sets of raw frames.
      const lineage = await inferred.lineage();
      expect(lineage.problems).toEqual([]);
      expect(namesOf(lineage, "run")).toEqual(["inference", "label peaks", "peak finding"]);
      expect(namesOf(lineage, "model")).toEqual(["BraggNN"]);
      expect(namesOf(lineage, "dataset").filter((n, i, all) => all.indexOf(n) === i)).toEqual(["braggnn/inferred", "braggnn/labels", "braggnn/peaks", "braggnn/raw", "braggnn/raw-2"]);
      const [inference] = await prov.find({ name: "inference" });
      const inferredRecord = await inferred.provenanceRecord();
      expect(lineage.edges).toEqual(
        expect.arrayContaining([
          { from: model.id, to: inference.id },
          { from: (await newRaw.provenanceRecord()).id, to: inference.id },
          { from: inference.id, to: inferredRecord.id },
        ]),
      );
      expect(inference.outputs).toEqual([inferredRecord.id]);
      expect(inference.data.activity?.parameters).toEqual({ batchSize: 1024, device: "cpu" });
      expect((await prov.get(model.id)).data.uris).toEqual(["s3://models/braggnn/ckpt-0030.pt"]);
      expect((await prov.find({ tag: { name: "framework", value: "pytorch" } })).map((r) => r.id)).toEqual([model.id]);

      // 6. The raw frames were faulty.
      const rawRecord = await raw.provenanceRecord();
      const marked = await raw.invalidate("detector gain map of 2026-11-30 was wrong", { action: "recompute" });
      const downstream = ["braggnn/raw", "peak finding", "braggnn/peaks", "label peaks", "braggnn/labels", "BraggNN", "inference", "braggnn/inferred"];
      expect([...new Set(marked.map((r) => r.name))].sort()).toEqual([...downstream].sort());
      for (const record of marked) {
        const current = await prov.get(record.id);
        expect(current.stale, current.name).toMatchObject({ reason: "detector gain map of 2026-11-30 was wrong", source: rawRecord.id, action: "recompute" });
      }
      expect((await prov.get(model.id)).stale?.reason).toBe("detector gain map of 2026-11-30 was wrong");
      expect((await prov.get(inference.id)).stale?.source).toBe(rawRecord.id);
      for (const path of ["braggnn/raw", "braggnn/peaks", "braggnn/labels", "braggnn/inferred"]) {
        expect(await (await pool.getDataset(path)).isStale(), path).toBe(true);
      }
      expect(await newRaw.isStale()).toBe(false);
      expect((await newRaw.provenanceRecord()).stale).toBeUndefined();

      // Reading the inferred peaks: a warning (once), an error, or nothing, as the pool says.
      warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const readInferred = async (p: dn.Pool) => Array.from((await (await p.getDataset("braggnn/inferred")).read()).data as Float32Array);
      const open = (onStale: "ignore" | "warn" | "error") => dn.Pool.open(pool.context.store, { name: pool.context.poolName, onStale });
      expect(await readInferred(await open("ignore"))).toEqual(found);
      expect(staleWarnings(warn)).toEqual([]);
      expect(await readInferred(pool)).toEqual(found);
      expect(await readInferred(await open("warn"))).toEqual(found);
      const warnings = staleWarnings(warn);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("braggnn/inferred");
      expect(warnings[0]).toContain("detector gain map of 2026-11-30 was wrong");
      await expectError(async () => readInferred(await open("error")), dn.StaleDataError, ["braggnn/inferred", "detector gain map"]);
      // The new frames are fine to read, even strictly.
      await (await (await open("error")).getDataset("braggnn/raw-2")).read();

      // 7. Fixed (recalibrated): revalidating the raw frames clears what that invalidation marked.
      const cleared = await raw.revalidate();
      expect([...new Set(cleared.map((r) => r.name))].sort()).toEqual([...downstream].sort());
      expect(await readInferred(await open("error"))).toEqual(found);
      expect(await (await pool.getDataset("braggnn/inferred")).isStale()).toBe(false);
    });

    it("CTSegNet: models trained in rounds on earlier models' inferences; lineage answers what trained each", async () => {
      const pool = await freshPool();
      const prov = dn.provenance(pool);
      const ROUNDS = 5;
      const shape = [4, 8, 8];
      const volume = async (path: string, seed: number): Promise<dn.Dataset> => {
        const ds = await pool.createDataset(path, { shape, dtype: "float32", chunks: [2, 8, 8] });
        await ds.load(Float32Array.from({ length: 256 }, (_, i) => ((i * 7919 + seed * 104729) % 997) / 997));
        return ds;
      };

      // What we build, as plain data, to compute the expected answers from.
      const trainedOn = new Map<string, string[]>(); // model → the datasets it was trained on
      const madeBy = new Map<string, { model: string; volume: string }>(); // segmentation → model and volume
      const models: dn.ProvenanceRecord[] = [];

      const handLabels = await volume("ctseg/hand-labels", 0);
      const train = async (round: number, data: dn.Dataset[]): Promise<dn.ProvenanceRecord> => {
        const name = `CTSegNet round ${round}`;
        trainedOn.set(name, data.map((d) => d.path));
        const model = await prov.record({
          kind: "model",
          name,
          inputs: data,
          parameters: { round, epochs: 20 + round, learningRate: 0.0005, loss: "dice" },
          uris: [`s3://models/ctsegnet/round-${round}/best.h5`],
          tags: { round, dice: 0.8 + round / 100 },
        });
        models.push(model);
        return model;
      };
      await train(0, [handLabels]);

      const segmentations: dn.Dataset[] = [];
      for (let round = 1; round < ROUNDS; round++) {
        const previous = models[round - 1];
        const unlabelled = await volume(`ctseg/volume-${round}`, round);
        const segment = dn.withProvenance(
          async (v: dn.Dataset) =>
            v.map(function segmentVolume(chunk) {
              const data = chunk.data as Float32Array;
              for (let i = 0; i < data.length; i++) data[i] = data[i] > 0.5 ? 1 : 0;
              return chunk;
            }, `segmentation-${round}`),
          { pool, name: `inference round ${round}`, inputs: [previous, unlabelled], outputs: (ds) => [ds], parameters: { tile: 64 } },
        );
        const segmentation = await segment(unlabelled);
        madeBy.set(segmentation.path, { model: previous.name, volume: unlabelled.path });
        segmentations.push(segmentation);
        // Each round trains on the newest inference, the one before it, and every other round the hand labels.
        const data = [segmentation, ...(segmentations.length > 1 ? [segmentations[segmentations.length - 2]] : []), ...(round % 2 === 0 ? [handLabels] : [])];
        await train(round, data);
      }

      /** The datasets (and models) that went into `model`, through every round: computed from what was built. */
      const expectedData = (model: string, seen = new Set<string>()): Set<string> => {
        for (const path of trainedOn.get(model)!) {
          if (seen.has(path)) continue;
          seen.add(path);
          const origin = madeBy.get(path);
          if (origin) {
            seen.add(origin.volume);
            expectedData(origin.model, seen);
          }
        }
        return seen;
      };
      const expectedModels = (model: string, seen = new Set<string>()): Set<string> => {
        for (const path of trainedOn.get(model)!) {
          const origin = madeBy.get(path);
          if (origin && !seen.has(origin.model)) {
            seen.add(origin.model);
            expectedModels(origin.model, seen);
          }
        }
        return seen;
      };

      for (const model of models) {
        // "What data was used to train this model?"
        const lineage = await prov.lineage(model);
        expect(lineage.problems).toEqual([]);
        const data = new Set(namesOf(lineage, "dataset"));
        expect([...data].sort(), model.name).toEqual([...expectedData(model.name)].sort());
        expect(namesOf(lineage, "model").filter((n) => n !== model.name), model.name).toEqual([...expectedModels(model.name)].sort());
        // Directly: the inputs of the model record.
        expect((await model.inputRecords()).map((r) => r.name).sort()).toEqual([...trainedOn.get(model.name)!].sort());
        expect(namesOf(await prov.lineage(model, { depth: 1 }), "dataset")).toEqual([...trainedOn.get(model.name)!].sort());
      }
      // The last round's model goes back to the hand labels and every volume.
      const last = expectedData(models.at(-1)!.name);
      expect(last.has("ctseg/hand-labels")).toBe(true);
      for (let round = 1; round < ROUNDS; round++) expect(last.has(`ctseg/volume-${round}`)).toBe(true);

      // Downstream: everything trained (directly or not) on the hand labels is every model.
      const fromLabels = await handLabels.derived();
      expect(namesOf(fromLabels, "model")).toEqual(models.map((m) => m.name).sort());
      // A wrong segmentation of round 2 makes stale the models trained on it and what they inferred, not earlier rounds.
      const marked = await segmentations[1].invalidate("volume 2 was reconstructed with the wrong centre of rotation");
      const staleModels = marked.filter((r) => r.kind === "model").map((r) => r.name).sort();
      expect(staleModels).toEqual(models.filter((m) => [...expectedData(m.name)].includes("ctseg/segmentation-2")).map((m) => m.name).sort());
      expect(staleModels).not.toContain("CTSegNet round 1");
      expect((await prov.get(models[0].id)).stale).toBeUndefined();
    });
  });
}
