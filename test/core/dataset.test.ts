/**
 * DosNa's own dataset tests, ported, on every backend: 100³ random ints in [-10000, 10000),
 * chunks 32³, compared with a brute-force reference.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ndarray from "ndarray";
import * as dn from "../../src/index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { randomInts } from "../helpers/random.js";
import { referenceGet, referenceSet, valuesOf, type RefItem } from "../helpers/reference.js";

const SHAPE = [100, 100, 100];
const DATA = randomInts(100 * 100 * 100, -10000, 10000, 42);
const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

for (const kind of backendKinds) {
  describe(`dataset (DosNa's tests) on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let pool: dn.Pool;
    let ds: dn.Dataset;

    beforeAll(async () => {
      fixture = await kind.make();
      pool = await fixture.cluster.createPool(uniquePoolName());
      ds = await pool.createDataset("data", { data: DATA, shape: SHAPE, chunks: 32 });
    });
    afterAll(async () => {
      await fixture.cluster.deletePool(pool.context.poolName, { force: true });
      await fixture.cleanup();
    });

    it("has the expected metadata and chunk grid", () => {
      expect(ds.shape).toEqual(SHAPE);
      expect(ds.dtype).toBe("int32");
      expect(ds.chunks).toEqual([32, 32, 32]);
      expect(ds.chunkGrid).toEqual([4, 4, 4]);
      expect(ds.ndim).toBe(3);
      expect(ds.size).toBe(1e6);
      expect(ds.nbytes).toBe(4e6);
    });

    it("counts the chunks a slicing touches", () => {
      expect(ds.chunksTouchedBy(":, :66, 50:96")).toHaveLength(24);
      expect(ds.chunksTouchedBy("0, 0, :10")).toEqual([[0, 0, 0]]);
      expect(ds.chunksTouchedBy("...")).toHaveLength(64);
      expect(ds.chunksTouchedBy("::-1, 99, 31:33")).toHaveLength(8);
    });

    const cases: Array<[string, RefItem[]]> = [
      [":, :66, 50:96", [s(null, null), s(null, 66), s(50, 96)]],
      ["0, 0, :10", [0, 0, s(null, 10)]],
      ["-1, ::-3, 5", [-1, s(null, null, -3), 5]],
      ["10:90:7, ..., 33", [s(10, 90, 7), s(null, null), 33]],
      ["95:200, -120:5, ::17", [s(95, 200), s(-120, 5), s(null, null, 17)]],
      ["50:40", [s(50, 40)]],
      ["[3, 1, -1], 7, [true" + ", false".repeat(98) + ", true]", [{ points: [3, 1, -1] }, 7, { points: [0, 99] }]],
    ];
    for (const [text, items] of cases) {
      it(`slice "${text.length > 40 ? text.slice(0, 40) + "…" : text}" equals the reference`, async () => {
        const got = await ds.get(text);
        const ref = referenceGet(DATA, SHAPE, items);
        expect(got.shape).toEqual(ref.shape);
        expect(valuesOf(got.data)).toEqual(ref.values);
      });
    }

    it("the array form equals the string form", async () => {
      const a = await ds.get([dn.slice(1, 50, 3), null, -7]);
      const b = await ds.get("1:50:3, :, -7");
      expect(a.shape).toEqual([17, 100]);
      expect(valuesOf(a.data)).toEqual(valuesOf(b.data));
    });

    it("a 0-d selection returns a 0-d ndarray", async () => {
      const got = await ds.get("1, 2, 3");
      expect(got.shape).toEqual([]);
      expect(got.data[0]).toBe(DATA[1 * 10000 + 2 * 100 + 3]);
    });

    it("writes a partial region (read-modify-write) and reads it back", async () => {
      const target = await pool.createDataset("partial", { data: DATA, shape: SHAPE, chunks: 32 });
      const values = randomInts(44 * 11 * 56, -5, 5, 7);
      await target.set("36:80, 89:, :56", ndarray(values, [44, 11, 56]));
      const expected = Int32Array.from(DATA);
      referenceSet(expected, SHAPE, [s(36, 80), s(89, null), s(null, 56)], values);
      expect(valuesOf((await target.read()).data)).toEqual(Array.from(expected));
    });

    it("broadcasts scalars and lower-dimensional values like numpy", async () => {
      const target = await pool.createDataset("broadcast", { shape: [6, 5, 4], dtype: "int16", chunks: [4, 2, 3], fillValue: -1 });
      await target.set("1:3", 7);
      await target.set(":, 0", [1, 2, 3, 4]);
      await target.set("5, :, ::-1", [[10], [20], [30], [40], [50]]);
      const expected = new Int16Array(120).fill(-1);
      referenceSet(expected, [6, 5, 4], [s(1, 3, null)], 7);
      for (let i = 0; i < 6; i++) for (let k = 0; k < 4; k++) expected[i * 20 + k] = k + 1;
      for (let j = 0; j < 5; j++) for (let k = 0; k < 4; k++) expected[5 * 20 + j * 4 + k] = (j + 1) * 10;
      expect(valuesOf((await target.read()).data)).toEqual(Array.from(expected));
    });

    it("clear() leaves only fill values", async () => {
      const target = await pool.createDataset("toclear", { data: DATA.subarray(0, 1000), shape: [10, 10, 10], chunks: 4, fillValue: 5 });
      await target.clear();
      const got = await target.read();
      expect(valuesOf(got.data).every((v) => v === 5)).toBe(true);
      expect(await target.storedChunkIndices()).toEqual([]);
    });

    it("map(x+1) into a new dataset and apply(x+1) in place", async () => {
      const source = await pool.createDataset("tomap", { data: DATA.subarray(0, 50 * 40), shape: [50, 40], chunks: [16, 16] });
      const plusOne = (chunk: ndarray.NdArray<dn.TypedArray>) => (chunk.data as Int32Array).map((v) => v + 1);
      const mapped = await source.map(plusOne, "mapped");
      expect(mapped.shape).toEqual([50, 40]);
      const expected = Array.from(DATA.subarray(0, 2000), (v) => v + 1);
      expect(valuesOf((await mapped.read()).data)).toEqual(expected);
      expect(valuesOf((await source.read()).data)).toEqual(Array.from(DATA.subarray(0, 2000)));
      await source.apply(plusOne);
      expect(valuesOf((await source.read()).data)).toEqual(expected);
    });

    it("three sequential slab writes then a full read", async () => {
      const target = await pool.createDataset("slabs", { shape: SHAPE, dtype: "int32", chunks: 32 });
      await target.set("0:30", ndarray(DATA.subarray(0, 300000), [30, 100, 100]));
      await target.set("30:70", ndarray(DATA.subarray(300000, 700000), [40, 100, 100]));
      await target.set("70:", ndarray(DATA.subarray(700000), [30, 100, 100]));
      const got = await target.read();
      expect(got.data).toEqual(DATA);
    });

    it("a missing dataset raises the not-found error naming it", async () => {
      await expect(pool.getDataset("nope")).rejects.toThrow(dn.NotFoundError);
      await expect(pool.getDataset("nope")).rejects.toThrow(/"\/nope"/);
      expect(await pool.hasDataset("nope")).toBe(false);
      expect(await pool.hasDataset("data")).toBe(true);
    });

    it("reopens a dataset with the same metadata and contents", async () => {
      const again = await (await fixture.cluster.getPool(pool.context.poolName)).getDataset("data");
      expect(again.shape).toEqual(SHAPE);
      expect(again.chunks).toEqual([32, 32, 32]);
      expect(valuesOf((await again.get("7, 8:12, 99")).data)).toEqual(referenceGet(DATA, SHAPE, [7, s(8, 12), 99]).values);
    });
  });
}
