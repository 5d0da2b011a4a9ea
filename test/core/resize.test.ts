/**
 * Dataset.resize on every backend, against a brute-force reference: the overlap of old and new
 * shapes keeps its values, everything else reads as the fill value (never stale data), and chunks
 * wholly outside the new bounds are gone from the store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { randomInts, seededRandom } from "../helpers/random.js";
import { referenceSet, valuesOf, type RefItem } from "../helpers/reference.js";
import { chunkKeysOf } from "../helpers/store-keys.js";

/** numpy-free reference of a resize: copy the overlap into a fresh array full of `fill`. */
function resizeReference(data: ArrayLike<number>, oldShape: number[], newShape: number[], fill: number): number[] {
  const size = newShape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(size).fill(fill);
  const index = new Array<number>(newShape.length).fill(0);
  for (let k = 0; k < size; k++) {
    if (index.every((i, axis) => i < oldShape[axis])) {
      let old = 0;
      for (let axis = 0; axis < oldShape.length; axis++) old = old * oldShape[axis] + index[axis];
      out[k] = data[old];
    }
    for (let axis = newShape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < newShape[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** The chunk keys a dataset may hold at `shape`: every grid index below ceil(shape / chunks). */
function keysWithin(path: string, stored: string[], shape: number[], chunks: number[]): string[] {
  return stored.filter((key) => {
    const grid = key.slice(`${path}/c/`.length).split("/").map(Number);
    return grid.every((g, axis) => g * chunks[axis] < shape[axis]);
  });
}

const sameValues = (got: ArrayLike<number | bigint>, expected: number[]) => {
  expect(valuesOf(got).map((v) => (Number.isNaN(v as number) ? "NaN" : v))).toEqual(expected.map((v) => (Number.isNaN(v) ? "NaN" : v)));
};

for (const kind of backendKinds) {
  describe(`resize on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let pool: dn.Pool;
    let counter = 0;
    const SHAPE = [5, 7];
    const CHUNKS = [2, 3];
    const DATA = randomInts(35, 1, 1000, 11);

    beforeAll(async () => {
      fixture = await kind.make();
      pool = await fixture.cluster.createPool(uniquePoolName("resize"));
    });
    afterAll(async () => {
      await fixture.cleanup();
    });

    const fresh = (fillValue = -1) =>
      pool.createDataset(`d${counter++}`, { data: DATA, shape: SHAPE, chunks: CHUNKS, fillValue });

    it("grows: old values stay, new area is fill, metadata persists", async () => {
      const ds = await fresh();
      await ds.resize([9, 10]);
      expect(ds.shape).toEqual([9, 10]);
      expect(ds.chunkGrid).toEqual([5, 4]);
      sameValues((await ds.read()).data, resizeReference(DATA, SHAPE, [9, 10], -1));
      const reopened = await (await fixture.cluster.getPool(pool.context.poolName)).getDataset(ds.path);
      expect(reopened.shape).toEqual([9, 10]);
      sameValues((await reopened.read()).data, resizeReference(DATA, SHAPE, [9, 10], -1));
      // the grown area is writable
      await ds.set("8, 9", 4242);
      expect((await ds.get("8, 9")).data[0]).toBe(4242);
    });

    it("shrinks: keeps the overlap and deletes the chunks wholly outside", async () => {
      const ds = await fresh();
      const before = await chunkKeysOf(pool, ds.path);
      expect(before).toHaveLength(3 * 3);
      await ds.resize([3, 4]);
      expect(ds.shape).toEqual([3, 4]);
      sameValues((await ds.read()).data, resizeReference(DATA, SHAPE, [3, 4], -1));
      const after = await chunkKeysOf(pool, ds.path);
      expect(after).toEqual(keysWithin(ds.path, before, [3, 4], CHUNKS));
      expect(after).toEqual([`${ds.path}/c/0/0`, `${ds.path}/c/0/1`, `${ds.path}/c/1/0`, `${ds.path}/c/1/1`]);
    });

    it("shrink then grow shows fill values, not stale data", async () => {
      for (const fill of [-1, 0, NaN]) {
        const ds = await pool.createDataset(`sg${counter++}`, { data: Float32Array.from(DATA), shape: SHAPE, chunks: CHUNKS, fillValue: fill });
        // 3 and 4 cut through chunks on both axes, so edge chunks keep a stale tail unless reset
        await ds.resize([3, 4]);
        await ds.resize(SHAPE);
        const shrunk = resizeReference(DATA, SHAPE, [3, 4], fill);
        sameValues((await ds.read()).data, resizeReference(shrunk, [3, 4], SHAPE, fill));
        // growing across a whole-chunk boundary too
        await ds.resize([1, 1]);
        await ds.resize([6, 9]);
        sameValues((await ds.read()).data, resizeReference(resizeReference(DATA, SHAPE, [1, 1], fill), [1, 1], [6, 9], fill));
        expect(await chunkKeysOf(pool, ds.path)).toEqual([`${ds.path}/c/0/0`]);
      }
    });

    it("shrinking an axis to 0 removes every chunk; growing again is all fill", async () => {
      const ds = await fresh(7);
      await ds.resize([0, 7]);
      expect((await ds.read()).shape).toEqual([0, 7]);
      expect(await chunkKeysOf(pool, ds.path)).toEqual([]);
      await ds.resize([2, 2]);
      sameValues((await ds.read()).data, [7, 7, 7, 7]);
    });

    it("random resizes and writes agree with the reference", async () => {
      const next = seededRandom(2024);
      const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
      for (let trial = 0; trial < 6; trial++) {
        const ndim = int(1, 3);
        let shape = Array.from({ length: ndim }, () => int(0, 7));
        const chunks = Array.from({ length: ndim }, () => int(1, 4));
        const fill = int(-3, 3);
        const ds = await pool.createDataset(`rand${counter++}`, { shape, dtype: "int16", chunks, fillValue: fill });
        let reference = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(fill);
        for (let step = 0; step < 6; step++) {
          if (next() < 0.5 && shape.every((n) => n > 0)) {
            const items: RefItem[] = shape.map((n) => {
              const a = int(0, n - 1);
              return { slice: [a, int(a + 1, n), null] };
            });
            const value = int(10, 99);
            await ds.set(items.map((item) => dn.slice(...(item as { slice: [number, number, null] }).slice)), value);
            referenceSet(reference, shape, items, value);
          } else {
            const newShape = shape.map(() => int(0, 9));
            await ds.resize(newShape);
            reference = resizeReference(reference, shape, newShape, fill);
            shape = newShape;
            const stored = await chunkKeysOf(pool, ds.path);
            expect(stored).toEqual(keysWithin(ds.path, stored, shape, chunks));
          }
          const got = await ds.read();
          expect(got.shape, `trial ${trial} step ${step}`).toEqual(shape);
          sameValues(got.data, reference);
        }
      }
    });

    it("refuses a different number of dimensions, negative or fractional sizes, and changes nothing", async () => {
      const ds = await fresh();
      const keys = await chunkKeysOf(pool, ds.path);
      await expect(ds.resize([5])).rejects.toThrow(dn.ShapeError);
      await expect(ds.resize([5, 7, 1])).rejects.toThrow(/2 to 3 dimensions/);
      await expect(ds.resize([5, -1])).rejects.toThrow(dn.DosnaError);
      await expect(ds.resize([5, -1])).rejects.toThrow(/-1/);
      await expect(ds.resize([2.5, 7])).rejects.toThrow(dn.DosnaError);
      expect(ds.shape).toEqual(SHAPE);
      expect(await chunkKeysOf(pool, ds.path)).toEqual(keys);
      sameValues((await ds.read()).data, Array.from(DATA));
    });

    it("a read-only pool cannot resize", async () => {
      const ds = await fresh();
      const readOnly = await fixture.cluster.getPool(pool.context.poolName, { readOnly: true });
      await expect((await readOnly.getDataset(ds.path)).resize([1, 1])).rejects.toThrow(dn.ReadOnlyError);
      expect((await pool.getDataset(ds.path)).shape).toEqual(SHAPE);
    });
  });
}
