/**
 * append, map and apply on complex, string and bytes datasets, on every backend: a chunk function sees a
 * complex chunk as get returns it (an ndarray [...chunk, 2] of interleaved [re, im]) and a string
 * chunk as a StringArray; the results are checked value by value against a reference computed here
 * element by element. Named functions run on worker threads too (complex); a float16 result may be
 * float32 on every runtime. Before this, append of
 * complex data refused its [re, im] axis, and map/apply of a complex dataset failed inside ndarray-ops.
 */
import { fileURLToPath } from "node:url";
import ndarray, { type NdArray } from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import type { TypedArray } from "../../src/format/index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";

const FUNCTIONS = fileURLToPath(new URL("../compute/fixtures/functions.mjs", import.meta.url));
const RESULTS = fileURLToPath(new URL("../compute/fixtures/results.mjs", import.meta.url));

/** The complex value the test stores at element i: (i + 0.5) - (2 i) j. */
const complexAt = (i: number): [number, number] => [i + 0.5, -2 * i];
const interleaved = (n: number, at: (i: number) => [number, number] = complexAt) => Float64Array.from({ length: 2 * n }, (_, k) => at(k >> 1)[k & 1]);

beforeAll(async () => {
  await dn.loadFunctions(FUNCTIONS, RESULTS);
  dn.registerFunction("doubleAsFloat32", (chunk: NdArray<TypedArray>) => Float32Array.from(chunk.data as ArrayLike<number>, (v) => 2 * v));
});

for (const kind of backendKinds) {
  describe(`append, map and apply on complex and string datasets (${kind.name})`, () => {
    let fixture: ClusterFixture;
    let poolName: string;
    beforeAll(async () => {
      fixture = await kind.make();
      poolName = uniquePoolName("complex-strings");
      await fixture.cluster.createPool(poolName);
    });
    afterAll(async () => {
      await fixture.cluster.deletePool(poolName).catch(() => undefined);
      await fixture.cleanup();
    });

    it("complex128: append along either axis, as nested [re, im], an ndarray or interleaved parts", async () => {
      const pool = await fixture.cluster.getPool(poolName);
      const z = await pool.createDataset("append", { shape: [2, 3], dtype: "complex128", chunks: [2, 2], data: ndarrayOf(interleaved(6), [2, 3, 2]) });
      expect(await z.append([[[100, 1], [101, 2], [102, 3]]])).toBe(2); // one row, nested
      expect(await z.append([[200, -1], [201, -2], [202, -3]])).toBe(3); // a single slice (ndim - 1)
      expect(await z.append(Float64Array.from([300, 0, 301, 0, 302, 0, 303, 0, 304, 0, 305, 0]))).toBe(4); // two rows, interleaved
      expect(z.shape).toEqual([6, 3]);
      const expected = [
        ...interleaved(6),
        ...[100, 1, 101, 2, 102, 3],
        ...[200, -1, 201, -2, 202, -3],
        ...[300, 0, 301, 0, 302, 0, 303, 0, 304, 0, 305, 0],
      ];
      expect(Array.from((await z.get()).data as Float64Array)).toEqual(expected);
      expect(await z.append([[[7, 8]], [[9, 10]], [[11, 12]], [[13, 14]], [[15, 16]], [[17, 18]]], { axis: 1 })).toBe(3);
      expect(z.shape).toEqual([6, 4]);
      const got = await z.get();
      for (let r = 0; r < 6; r++) {
        expect([got.get(r, 3, 0), got.get(r, 3, 1)]).toEqual([7 + 2 * r, 8 + 2 * r]);
        for (let c = 0; c < 3; c++) expect([got.get(r, c, 0), got.get(r, c, 1)]).toEqual([expected[(r * 3 + c) * 2], expected[(r * 3 + c) * 2 + 1]]);
      }
      await expect(z.append([[[1, 2, 3]]])).rejects.toThrow(dn.ShapeError);
      expect(z.shape).toEqual([6, 4]);
    });

    it("complex64: map and apply see [...chunk, 2] and write back what they return (edge chunks clipped)", async () => {
      const pool = await fixture.cluster.getPool(poolName);
      const shape = [5, 3];
      const z = await pool.createDataset("mapped", { shape, dtype: "complex64", chunks: [2, 2], data: ndarrayOf(Float32Array.from(interleaved(15)), [5, 3, 2]) });
      const seen: number[][] = [];
      // multiply by j: (re, im) -> (-im, re)
      const timesJ = (chunk: NdArray<TypedArray>) => {
        seen.push(chunk.shape.slice());
        const out = new Float32Array(chunk.size);
        for (let k = 0; k < chunk.size / 2; k++) {
          const parts = chunk.data as Float32Array;
          out[2 * k] = -parts[2 * k + 1];
          out[2 * k + 1] = parts[2 * k];
        }
        return out;
      };
      const out = await z.map(timesJ, "timesJ");
      expect(seen.every((s) => s.length === 3 && s[2] === 2)).toBe(true);
      expect(seen).toContainEqual([1, 1, 2]); // the corner edge chunk
      const reference = (i: number): [number, number] => [Math.fround(2 * i), Math.fround(i + 0.5)];
      expect(Array.from((await out.get()).data as Float32Array)).toEqual(Array.from(interleaved(15, reference)));
      await z.apply(timesJ);
      expect(Array.from((await z.get()).data as Float32Array)).toEqual(Array.from(interleaved(15, reference)));
      // by name, on a worker thread: "increment" adds 1 to every entry (both parts)
      await z.apply("increment", { engine: { threads: 1 } });
      expect(Array.from((await z.get()).data as Float32Array)).toEqual(Array.from(interleaved(15, (i) => [reference(i)[0] + 1, reference(i)[1] + 1])));
    });

    it("float16: a named function may return float32 values on every runtime (what Node 20 holds float16 in)", async () => {
      const pool = await fixture.cluster.getPool(poolName);
      const h = await pool.createDataset("half", { shape: [6], dtype: "float16", chunks: [4], data: Float32Array.from([0.5, 1, 1.5, 2, 2.5, 65504]) });
      await h.apply("doubleAsFloat32");
      // 2 × 65504 is past float16's range: Infinity, as numpy's astype(np.float16)
      expect(Array.from((await h.get()).data as ArrayLike<number>)).toEqual([1, 2, 3, 4, 5, Infinity]);
    });

    it("string: append, map and apply", async () => {
      const pool = await fixture.cluster.getPool(poolName);
      const s = await pool.createDataset("words", { shape: [3], dtype: "string", chunks: [2], data: ["alpha", "β", ""] as never });
      expect(await s.append(["gamma", "δέλτα"] as never)).toBe(3);
      const upper = await s.map((chunk) => (chunk.data as unknown as string[]).map((w) => w.toUpperCase()) as never, "upper");
      expect(Array.from((await upper.get()).data as unknown as string[])).toEqual(["ALPHA", "Β", "", "GAMMA", "ΔΈΛΤΑ"]);
      await s.apply((chunk) => (chunk.data as unknown as string[]).map((w) => `${w}!`) as never);
      expect(Array.from((await s.get()).data as unknown as string[])).toEqual(["alpha!", "β!", "!", "gamma!", "δέλτα!"]);
      await expect(s.apply(() => new Float32Array(2))).rejects.toThrow(dn.DtypeError);
      expect(Array.from((await s.get()).data as unknown as string[])).toEqual(["alpha!", "β!", "!", "gamma!", "δέλτα!"]);
    });

    it("bytes: append, map and apply", async () => {
      const pool = await fixture.cluster.getPool(poolName);
      const b = await pool.createDataset("blobs", { shape: [3], dtype: "bytes", chunks: [2], data: [Uint8Array.of(1), Uint8Array.of(2, 3), new Uint8Array(0)] as never });
      expect(await b.append([Buffer.from([4, 5, 6])] as never)).toBe(3);
      const tagged = await b.map((chunk) => (chunk.data as unknown as Uint8Array[]).map((x) => Uint8Array.from([...x, 9])) as never, "tagged");
      expect((Array.from((await tagged.get()).data as unknown as Uint8Array[])).map((x) => Array.from(x))).toEqual([[1, 9], [2, 3, 9], [9], [4, 5, 6, 9]]);
      await b.apply((chunk) => (chunk.data as unknown as Uint8Array[]).map((x) => Uint8Array.from(x).reverse()) as never);
      expect((Array.from((await b.get()).data as unknown as Uint8Array[])).map((x) => Array.from(x))).toEqual([[1], [3, 2], [], [6, 5, 4]]);
    });
  });
}

function ndarrayOf(data: Float32Array | Float64Array, shape: number[]): NdArray<TypedArray> {
  return ndarray(data as never, shape) as NdArray<TypedArray>;
}
