/**
 * float16, complex64, complex128 and string datasets on every backend: written, read (ragged edge chunks,
 * negative steps, integer indices), reopened, fill values of every form, sharded and compressed;
 * variable-length strings and bytes likewise; the bad inputs of the table. On the local-directory
 * store, an independent numpy reader and writer of the Zarr v3 layout checks what dosna stores and
 * reads what numpy stores, zarrita.js reads dosna's string arrays, and dosna reads string chunks
 * numcodecs encoded.
 */
import { spawnSync } from "node:child_process";
import { FileSystemStore as ZarritaFileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DtypeError, ShapeError } from "../../src/errors.js";
import { BytesArray, float16ArrayConstructor } from "../../src/format/index.js";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";

const SHAPE = [5, 7];
const CHUNKS = [2, 3]; // ragged on both axes: 5 = 2+2+1, 7 = 3+3+1
const SIZE = 35;

/** float16 inputs with what numpy's astype(np.float16) makes of them (through float32, as dosna stores them). */
const HALF_CASES: [number, number][] = [
  [0.1, 0.0999755859375], [70000, Infinity], [-1e-8, -0], [65519, 65504], [2049, 2048], [2051, 2052],
  [1 / 3, 0.333251953125], [6e-8, 5.960464477539063e-8], [-2.5, -2.5], [NaN, NaN], [-Infinity, -Infinity],
];

/** Deterministic complex values: element i is [re, im], both exact in float32. */
function complexParts(n: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor, seed = 0): Float32Array | Float64Array {
  const out = new Ctor(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = ((i * 7 + seed) % 13) - 6.5 + i / 1024;
    out[2 * i + 1] = -(i + seed) * 0.375;
  }
  return out;
}

/** [re, im] pairs of a C-order region of a [rows, cols] interleaved array. */
function region(parts: ArrayLike<number>, cols: number, rows: number[], colsSel: number[]): number[] {
  const out: number[] = [];
  for (const r of rows) for (const c of colsSel) out.push(parts[2 * (r * cols + c)], parts[2 * (r * cols + c) + 1]);
  return out;
}

/** A byte string as hex, for comparing bytes datasets' elements. */
const bytesHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const hexList = (a: { data: unknown }) => Array.from(a.data as ArrayLike<Uint8Array>, bytesHex);

const range = (a: number, b: number, step = 1) => {
  const out: number[] = [];
  for (let i = a; step > 0 ? i < b : i > b; i += step) out.push(i);
  return out;
};

for (const kind of backendKinds) {
  describe(`float16 and complex datasets on ${kind.name}`, () => {
    const suite = poolSuiteOn(kind, "dtypes-ext");
    let counter = 0;
    const reopen = async (name: string) => (await suite.cluster.getPool(suite.poolName)).getDataset(name);
    // S3 has no conditional DELETE: an edge chunk that becomes all fill in a read-modify-write is
    // overwritten with a fill chunk instead of deleted (chunk-io's removeIfUnchanged).
    const deletesConditionally = kind.name !== "s3";

    for (const fill of [0, NaN, -Infinity, 0.1]) {
      it(`float16 with fill value ${fill}: values round as numpy's, edges, reopen`, async () => {
        const name = `half-${counter++}`;
        const ds = await suite.pool.createDataset(name, { shape: SHAPE, dtype: "<f2", chunks: CHUNKS, fillValue: fill, compression: "gzip" });
        expect(ds.dtype).toBe("float16");
        const storedFill = fill === 0.1 ? 0.0999755859375 : fill;
        expect(ds.fillValue).toBe(storedFill);
        expect(ds.nbytes).toBe(SIZE * 2);
        const blank = await ds.read();
        expect(blank.data).toBeInstanceOf(float16ArrayConstructor());
        expect(list(blank.data)).toEqual(new Array(SIZE).fill(storedFill));

        // rows 3..4, all columns: touches the ragged last chunk row and column
        const inputs = HALF_CASES.map(([v]) => v);
        await ds.set("3:, 7:-15:-1", new Float64Array([...inputs, 1, 2, 3]));
        const expected = new Array(SIZE).fill(storedFill);
        const wanted = [...HALF_CASES.map(([, w]) => w), 1, 2, 3];
        for (let k = 0; k < 14; k++) expected[(3 + Math.floor(k / 7)) * 7 + (6 - (k % 7))] = wanted[k];
        for (const ds2 of [ds, await reopen(name)]) {
          const got = await ds2.read();
          expect(got.data).toBeInstanceOf(float16ArrayConstructor());
          expect(list(got.data)).toEqual(expected);
          expect(Object.is((await ds2.get("3, 4")).data[0], -0)).toBe(true);
          expect(ds2.fillValue).toBe(storedFill);
        }
        // A write of nothing but fill values deletes the stored chunks again.
        await ds.set(":, :", storedFill);
        if (deletesConditionally) expect(await ds.storedChunkIndices()).toEqual([]);
        expect(list((await ds.read()).data)).toEqual(new Array(SIZE).fill(storedFill));
      });
    }

    for (const dtype of ["complex64", "complex128"] as const) {
      const Parts = dtype === "complex64" ? Float32Array : Float64Array;
      for (const fill of [undefined, [1, -2], [NaN, Infinity], 3] as const) {
        it(`${dtype} with fill value ${JSON.stringify(fill)}: every input form, selections, reopen`, async () => {
          const name = `cx-${counter++}`;
          const ds = await suite.pool.createDataset(name, { shape: SHAPE, dtype, chunks: CHUNKS, fillValue: fill as dn.FillValue | undefined });
          const storedFill = fill === undefined ? [0, 0] : typeof fill === "number" ? [fill, 0] : [...fill];
          expect(ds.fillValue).toEqual(storedFill);
          expect(ds.nbytes).toBe(SIZE * (dtype === "complex64" ? 8 : 16));

          const blank = await ds.read();
          expect(blank.data).toBeInstanceOf(Parts);
          expect(blank.shape).toEqual([...SHAPE, 2]);
          const expected = new Parts(2 * SIZE);
          for (let i = 0; i < SIZE; i++) expected.set(storedFill, 2 * i);
          expect(list(blank.data)).toEqual(list(expected));

          // the whole array from an interleaved typed array
          const all = complexParts(SIZE, Parts);
          await ds.set(undefined, all);
          expected.set(all);
          // a region from a nested array of [re, im] pairs
          await ds.set("1:3, 4:", [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]]);
          for (const [k, [r, c]] of [[1, 4], [1, 5], [1, 6], [2, 4], [2, 5], [2, 6]].entries()) expected.set([2 * k + 1, 2 * k + 2], 2 * (r * 7 + c));
          // a column from a transposed (non-contiguous) ndarray view of shape [1, 5, 2] → [5, 1, 2]
          const col = ndarray(new Parts([100, 101, 102, 103, 104, 200, 201, 202, 203, 204]), [2, 5]).transpose(1, 0);
          await ds.set(":, 0", col);
          for (let r = 0; r < 5; r++) expected.set([100 + r, 200 + r], 2 * (r * 7));
          // a complex scalar [re, im] broadcast, and a real scalar (imaginary part 0)
          await ds.set("4, 1:3", [-1, -0.5]);
          expected.set([-1, -0.5, -1, -0.5], 2 * (4 * 7 + 1));
          await ds.set("0, 6", 42);
          expected.set([42, 0], 2 * 6);

          for (const ds2 of [ds, await reopen(name)]) {
            expect(ds2.dtype).toBe(dtype);
            expect(ds2.fillValue).toEqual(storedFill);
            const got = await ds2.read();
            expect(got.shape).toEqual([...SHAPE, 2]);
            expect(list(got.data)).toEqual(list(expected));
            // negative steps across ragged chunks
            const back = await ds2.get("::-2, 6:0:-3");
            expect(back.shape).toEqual([3, 2, 2]);
            expect(list(back.data)).toEqual(region(expected, 7, [4, 2, 0], [6, 3]));
            expect(back.get(1, 0, 0)).toBe(expected[2 * (2 * 7 + 6)]);
            expect(back.get(1, 0, 1)).toBe(expected[2 * (2 * 7 + 6) + 1]);
            // an integer index on every axis: one element, shape [2]
            const one = await ds2.get("-1, -1");
            expect(one.shape).toEqual([2]);
            expect(list(one.data)).toEqual(region(expected, 7, [4], [6]));
            // index arrays
            const picked = await ds2.get([[4, 0, 4], [6, 1]]);
            expect(list(picked.data)).toEqual(region(expected, 7, [4, 0, 4], [6, 1]));
          }
          // what get returns, set takes back unchanged
          const whole = await ds.read();
          await ds.set(undefined, whole);
          expect(list((await ds.read()).data)).toEqual(list(expected));
          // a whole write of the fill leaves no chunk stored, and reads as the fill
          await ds.set(undefined, storedFill as [number, number]);
          if (deletesConditionally) expect(await ds.storedChunkIndices()).toEqual([]);
          expect(list((await ds.read()).data)).toEqual(Array.from({ length: 2 * SIZE }, (_, i) => storedFill[i % 2]));
        });
      }

      it(`${dtype}: sharded with gzip, createDataset({data}) and load`, async () => {
        const name = `cx-shard-${counter++}`;
        const data = ndarray(complexParts(SIZE, Parts, 5), [...SHAPE, 2]);
        const ds = await suite.pool.createDataset(name, { data, dtype, chunks: [1, 3], shards: [2, 6], compression: "gzip" });
        expect(ds.shape).toEqual(SHAPE);
        expect(ds.shards).toEqual([2, 6]);
        expect(list((await (await reopen(name)).read()).data)).toEqual(list(data.data));
        const other = complexParts(SIZE, Parts, 9);
        await ds.load(ndarray(other, [...SHAPE, 2]));
        expect(list((await ds.get("2:4, 2:5")).data)).toEqual(region(other, 7, [2, 3], [2, 3, 4]));
        await expect(ds.load(ndarray(other, [5, 14]))).rejects.toThrow(ShapeError);
      });
    }

    it("complex64 pointwise (vindex) get and set keep [re, im] together", async () => {
      const ds = await suite.pool.createDataset(`cx-points-${counter++}`, { shape: [4, 3], dtype: "complex64", chunks: [2, 2], fillValue: [1, -2] });
      const parts = new Float32Array(24).map((_, i) => i);
      await ds.set(":, :", parts);
      const got = await ds.vindex.get([[0, 3], [2, 1]]);
      expect(got.shape).toEqual([2, 2]);
      expect(list(got.data)).toEqual([4, 5, 20, 21]);
      await ds.vindex.set([[0, 3], [2, 1]], [[100, 101], [102, 103]]);
      parts.set([100, 101], 4);
      parts.set([102, 103], 20);
      expect(list((await ds.read()).data)).toEqual(list(parts));
    });

    it("float16 sharded with zstd", async () => {
      const ds = await suite.pool.createDataset(`half-shard-${counter++}`, { shape: [9], dtype: "float16", chunks: [2], shards: [4], compression: "zstd" });
      await ds.set("1:8", [0.1, 1, 2, 3, 4, 5, 65536]);
      expect(list((await ds.read()).data)).toEqual([0, 0.0999755859375, 1, 2, 3, 4, 5, Infinity, 0]);
    });

    for (const fill of ["", "n/a"]) {
      it(`string with fill value ${JSON.stringify(fill)}: scalars, nested arrays, ndarrays, edges, reopen, all-fill chunks deleted`, async () => {
        const name = `str-${counter++}`;
        const ds = await suite.pool.createDataset(name, { shape: SHAPE, dtype: "string", chunks: CHUNKS, fillValue: fill, compression: "zstd" });
        expect(ds.dtype).toBe("string");
        expect(ds.fillValue).toBe(fill);
        expect(ds.metadata.codecs[0]).toEqual({ name: "vlen-utf8" });
        const expected: string[] = new Array(SIZE).fill(fill);
        const blank = await ds.read();
        expect(blank.shape).toEqual(SHAPE);
        expect(list(blank.data as unknown as string[])).toEqual(expected);

        await ds.set("3:, 4:", [["日本", "é", ""], ["a".repeat(1000), "🧪", "x y"]]);
        [["日本", "é", ""], ["a".repeat(1000), "🧪", "x y"]].forEach((row, r) => row.forEach((v, c) => (expected[(3 + r) * 7 + 4 + c] = v)));
        await ds.set("0, :", "row0");
        for (let c = 0; c < 7; c++) expected[c] = "row0";
        await ds.set("1:3, 0", ndarray(["p", "q"], [2]));
        expected[7] = "p";
        expected[14] = "q";
        for (const ds2 of [ds, await reopen(name)]) {
          expect(ds2.fillValue).toBe(fill);
          expect(list((await ds2.read()).data as unknown as string[])).toEqual(expected);
          const back = await ds2.get("::-2, 6:0:-3");
          expect(back.shape).toEqual([3, 2]);
          expect(list(back.data as unknown as string[])).toEqual([expected[34], expected[31], expected[20], expected[17], expected[6], expected[3]]);
          expect(list((await ds2.get("4, -2")).data as unknown as string[])).toEqual(["🧪"]);
        }
        // what get returns, set takes back
        await ds.set("3:, 4:", await ds.get("3:, 4:"));
        expect(list((await ds.read()).data as unknown as string[])).toEqual(expected);
        // writing the fill everywhere deletes every stored chunk
        await ds.set(":, :", fill);
        if (deletesConditionally) expect(await (await reopen(name)).storedChunkIndices()).toEqual([]);
        expect(list((await ds.read()).data as unknown as string[])).toEqual(new Array(SIZE).fill(fill));
      });
    }

    it("string through the chunk cache: hits return the strings, writes invalidate", async () => {
      const ds = await suite.pool.createDataset(`str-cache-${counter++}`, { shape: [6], dtype: "string", chunks: [2] });
      ds.setChunkCache(1 << 20);
      await ds.set(":", ["a", "b", "c", "d", "e", "f"]);
      expect(list((await ds.read()).data)).toEqual(["a", "b", "c", "d", "e", "f"]);
      expect(list((await ds.get("1:3")).data)).toEqual(["b", "c"]);
      expect(ds.chunkCache!.hits).toBeGreaterThan(0);
      await ds.set("2", "X");
      expect(list((await ds.read()).data)).toEqual(["a", "b", "X", "d", "e", "f"]);
    });

    it("string sharded: inner chunks round trip", async () => {
      const ds = await suite.pool.createDataset(`str-shard-${counter++}`, { shape: [9], dtype: "string", chunks: [2], shards: [4] });
      await ds.set("1:8", ["a", "bb", "", "dddd", "é", "f", "g"]);
      await ds.set("4", "x");
      expect(list((await ds.read()).data as unknown as string[])).toEqual(["", "a", "bb", "", "x", "é", "f", "g", ""]);
    });

    for (const fill of [new Uint8Array(0), Uint8Array.of(0xff, 0)]) {
      it(`bytes with fill value 0x${bytesHex(fill)}: one Uint8Array or Buffer, nested arrays, ndarrays, edges, reopen, all-fill chunks deleted`, async () => {
        const name = `bytes-${counter++}`;
        const ds = await suite.pool.createDataset(name, { shape: SHAPE, dtype: "bytes", chunks: CHUNKS, fillValue: fill, compression: "zstd" });
        expect(ds.dtype).toBe("bytes");
        expect(bytesHex(ds.fillValue as Uint8Array)).toBe(bytesHex(fill));
        expect(ds.metadata.codecs[0]).toEqual({ name: "vlen-bytes" });
        const expected: string[] = new Array(SIZE).fill(bytesHex(fill));
        const blank = await ds.read();
        expect(blank.shape).toEqual(SHAPE);
        expect(blank.data).toBeInstanceOf(BytesArray);
        expect(hexList(blank)).toEqual(expected);

        const block = [[Uint8Array.of(0), Buffer.from("é"), new Uint8Array(0)], [new Uint8Array(5000).fill(7), Uint8Array.of(0xff, 0xfe), Buffer.from([1, 2, 3])]];
        await ds.set("3:, 4:", block);
        block.forEach((row, r) => row.forEach((v, c) => (expected[(3 + r) * 7 + 4 + c] = bytesHex(v))));
        const row0 = Buffer.from("row0");
        await ds.set("0, :", row0); // one element, broadcast
        for (let c = 0; c < 7; c++) expected[c] = bytesHex(row0);
        const column = [Uint8Array.of(9), Uint8Array.of(8, 8)];
        await ds.set("1:3, 0", ndarray(column, [2]));
        expected[7] = "09";
        expected[14] = "0808";
        // what was written is a copy: changing the caller's arrays afterwards changes nothing stored
        row0.fill(0);
        column[0][0] = 0;
        block[1][2][0] = 0;
        for (const ds2 of [ds, await reopen(name)]) {
          expect(bytesHex(ds2.fillValue as Uint8Array)).toBe(bytesHex(fill));
          expect(hexList(await ds2.read())).toEqual(expected);
          const back = await ds2.get("::-2, 6:0:-3");
          expect(back.shape).toEqual([3, 2]);
          expect(hexList(back)).toEqual([expected[34], expected[31], expected[20], expected[17], expected[6], expected[3]]);
          expect(hexList(await ds2.get("4, -2"))).toEqual(["fffe"]);
        }
        // what get returns, set takes back
        await ds.set("3:, 4:", await ds.get("3:, 4:"));
        expect(hexList(await ds.read())).toEqual(expected);
        // writing the fill everywhere deletes every stored chunk
        await ds.set(":, :", fill);
        if (deletesConditionally) expect(await (await reopen(name)).storedChunkIndices()).toEqual([]);
        expect(hexList(await ds.read())).toEqual(new Array(SIZE).fill(bytesHex(fill)));
      });
    }

    it("bytes through the chunk cache and sharded: hits return the bytes, writes invalidate, inner chunks round trip", async () => {
      const ds = await suite.pool.createDataset(`bytes-cache-${counter++}`, { shape: [6], dtype: "bytes", chunks: [2] });
      ds.setChunkCache(1 << 20);
      await ds.set(":", [0, 1, 2, 3, 4, 5].map((i) => Uint8Array.of(i, i)));
      expect(hexList(await ds.read())).toEqual(["0000", "0101", "0202", "0303", "0404", "0505"]);
      expect(hexList(await ds.get("1:3"))).toEqual(["0101", "0202"]);
      expect(ds.chunkCache!.hits).toBeGreaterThan(0);
      await ds.set("2", Uint8Array.of(0xaa));
      expect(hexList(await ds.read())).toEqual(["0000", "0101", "aa", "0303", "0404", "0505"]);
      const sharded = await suite.pool.createDataset(`bytes-shard-${counter++}`, { shape: [9], dtype: "bytes", chunks: [2], shards: [4], compression: "gzip" });
      await sharded.set("1:8", [1, 2, 3, 4, 5, 6, 7].map((n) => new Uint8Array(n).fill(n)));
      await sharded.set("4", Uint8Array.of(0));
      expect(hexList(await sharded.read())).toEqual(["", "01", "0202", "030303", "00", "0505050505", "060606060606", "07070707070707", ""]);
    });

    describe("bad input", () => {
      it("numbers (or a typed array) written to a string dataset: DtypeError naming the dataset and both types", async () => {
        const ds = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "string", fillValue: "-" });
        await expect(ds.set("0", 5)).rejects.toThrow(DtypeError);
        await expect(ds.set("0", 5)).rejects.toThrow(new RegExp(`${ds.name}.*number 5.*data type string`));
        await expect(ds.set(":", new Float32Array(3))).rejects.toThrow(/Float32Array values in data type string/);
        await expect(ds.set(":", ["a", 2, "c"] as never)).rejects.toThrow(/number 2 in data type string/);
        expect(list((await ds.read()).data as unknown as string[])).toEqual(["-", "-", "-"]);
        const f = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "float64" });
        await expect(f.set(":", await ds.get(":"))).rejects.toThrow(/strings in data type float64/);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "string", fillValue: 0 })).rejects.toThrow(DtypeError);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "string", compression: "blosc" })).rejects.toThrow(/fixed-size/);
      });

      it("numbers, strings or other typed arrays written to a bytes dataset: DtypeError naming the dataset and both types; nothing stored changes", async () => {
        const ds = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "bytes", fillValue: Uint8Array.of(45) });
        await ds.set("1", Uint8Array.of(1, 2));
        await expect(ds.set("0", 5)).rejects.toThrow(DtypeError);
        await expect(ds.set("0", 5)).rejects.toThrow(new RegExp(`${ds.name}.*number 5 in data type bytes; expected Uint8Array`));
        await expect(ds.set(":", "abc" as never)).rejects.toThrow(new RegExp(`${ds.name}.*string "abc" in data type bytes`));
        await expect(ds.set(":", new Float32Array(3))).rejects.toThrow(/Float32Array values in data type bytes/);
        await expect(ds.set(":", [Uint8Array.of(1), 2, Uint8Array.of(3)] as never)).rejects.toThrow(/number 2 in data type bytes/);
        await expect(ds.set(":", ["a", "b", "c"] as never)).rejects.toThrow(/string "a" in data type bytes/);
        await expect(ds.set(":", ndarray(new Uint16Array(3), [3]))).rejects.toThrow(/Uint16Array values in data type bytes/);
        expect(hexList(await ds.read())).toEqual(["2d", "0102", "2d"]);
        const f = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "float64" });
        await expect(f.set(":", await ds.get(":"))).rejects.toThrow(new RegExp(`${f.name}.*bytes in data type float64`));
        await expect(f.set(":", [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)] as never)).rejects.toThrow(/bytes \(a Uint8Array element\) in data type float64/);
        expect(list((await f.read()).data)).toEqual([0, 0, 0]);
        const s = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "string" });
        await expect(s.set(":", Uint8Array.of(1, 2, 3))).rejects.toThrow(/Uint8Array values in data type string/);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "bytes", fillValue: 0 })).rejects.toThrow(/fill value of .*0 is not a Uint8Array/);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "bytes", fillValue: "x" })).rejects.toThrow(DtypeError);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "uint8", fillValue: Uint8Array.of(1) })).rejects.toThrow(/is bytes, but data type uint8 is not bytes/);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "bytes", compression: "blosc" })).rejects.toThrow(/fixed-size elements; data type bytes/);
      });

      it("a string written to a numeric dataset: DtypeError naming the dataset and both types", async () => {
        const ds = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "float32" });
        await expect(ds.set("0", "abc" as never)).rejects.toThrow(DtypeError);
        await expect(ds.set("0", "abc" as never)).rejects.toThrow(new RegExp(`${ds.name}.*string.*float32`));
        await expect(ds.set(":", ["a", "b", "c"] as never)).rejects.toThrow(/string \("a"\).*float32/);
        const cx = await suite.pool.createDataset(`bad-${counter++}`, { shape: [3], dtype: "complex64" });
        await expect(cx.set(":", "1+2j" as never)).rejects.toThrow(/string.*complex64/);
        expect(list((await cx.read()).data)).toEqual(new Array(6).fill(0));
      });

      it("complex values without a last axis of 2, or a bad complex fill value, are refused", async () => {
        const cx = await suite.pool.createDataset(`bad-${counter++}`, { shape: [2, 3], dtype: "complex128", fillValue: [1, 1] });
        await expect(cx.set(":, :", ndarray(new Float64Array(6), [2, 3]))).rejects.toThrow(ShapeError);
        await expect(cx.set(":, :", ndarray(new Float64Array(6), [2, 3]))).rejects.toThrow(/last axis of length 2/);
        await expect(cx.set(":, :", [[1, 2, 3], [4, 5, 6]])).rejects.toThrow(ShapeError);
        expect(list((await cx.read()).data)).toEqual(new Array(12).fill(1));
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [2], dtype: "complex64", fillValue: [1, 2, 3] as never })).rejects.toThrow(/fill ?value/i);
        await expect(suite.pool.createDataset(`bad-${counter++}`, { shape: [2], dtype: "float16", fillValue: [1, 2] })).rejects.toThrow(DtypeError);
      });
    });
  });
}

const PYTHON = "/usr/bin/python3";
const hasNumpy = spawnSync(PYTHON, ["-c", "import numpy"], { stdio: "ignore" }).status === 0;

/**
 * An independent reader and writer of a Zarr v3 array on disk (regular grid, default "/" keys,
 * bytes + optional gzip codecs), in numpy: `read` prints the whole array's bytes in hex, as
 * little-endian numpy `descr`; `write` stores `values` (hex of the same) as a new array.
 */
const ZARR_PY = String.raw`
import json, os, sys, zlib, itertools
import numpy as np
mode, path, descr = sys.argv[1], sys.argv[2], sys.argv[3]
def fill_of(meta, dt):
    f = meta["fill_value"]
    conv = lambda x: float(x) if not (isinstance(x, str) and x.startswith("0x")) else np.frombuffer(bytes.fromhex(x[2:])[::-1], dtype=dt if dt.kind == "f" else np.dtype("<f%d" % (dt.itemsize // 2)))[0]
    return complex(conv(f[0]), conv(f[1])) if dt.kind == "c" else conv(f)
if mode == "read":
    meta = json.load(open(os.path.join(path, "zarr.json")))
    dt = np.dtype(descr)
    assert meta["data_type"] == {"<f2": "float16", "<c8": "complex64", "<c16": "complex128"}[descr]
    shape, chunks = meta["shape"], meta["chunk_grid"]["configuration"]["chunk_shape"]
    out = np.full(shape, fill_of(meta, dt), dtype=dt)
    grid = [range(-(-s // c)) for s, c in zip(shape, chunks)]
    for idx in itertools.product(*grid):
        p = os.path.join(path, "c", *map(str, idx))
        if not os.path.exists(p): continue
        raw = open(p, "rb").read()
        if any(c["name"] == "gzip" for c in meta["codecs"]): raw = zlib.decompress(raw, 31)
        chunk = np.frombuffer(raw, dtype=dt).reshape(chunks)
        sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape))
        out[sl] = chunk[tuple(slice(0, x.stop - x.start) for x in sl)]
    print(out.tobytes().hex())
else:
    shape, chunks = json.loads(sys.argv[4]), json.loads(sys.argv[5])
    values = np.frombuffer(bytes.fromhex(sys.stdin.read().strip()), dtype=descr).reshape(shape)
    dt = values.dtype
    fill = ["NaN", "0x3c00"][0] if dt.kind == "f" else [1.5, "-Infinity"]
    meta = {"zarr_format": 3, "node_type": "array", "shape": shape, "data_type": {"f": "float16", "c": "complex%d" % (dt.itemsize * 8)}[dt.kind],
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], "attributes": {}}
    os.makedirs(path)
    json.dump(meta, open(os.path.join(path, "zarr.json"), "w"))
    grid = [range(-(-s // c)) for s, c in zip(shape, chunks)]
    for idx in itertools.product(*grid):
        if all(i == 0 for i in idx): continue  # one chunk left unwritten: reads as the fill value
        chunk = np.full(chunks, fill_of(meta, dt), dtype=dt)
        sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape))
        chunk[tuple(slice(0, x.stop - x.start) for x in sl)] = values[sl]
        d = os.path.join(path, "c", *map(str, idx[:-1]))
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, str(idx[-1])), "wb").write(chunk.tobytes())
`;

/** The entries of any array-like (typed array, StringArray), for comparisons. */
const list = (a: unknown): unknown[] => Array.from(a as ArrayLike<unknown>);

function runZarrPy(args: string[], input?: string): string {
  const result = spawnSync(PYTHON, ["-c", ZARR_PY, ...args], { encoding: "utf8", input });
  if (result.status !== 0) throw new Error(`numpy zarr reader failed: ${result.stderr}`);
  return result.stdout.trim();
}

const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");

describe.skipIf(!hasNumpy)("numpy reads what dosna stores and dosna reads what numpy stores (local directory)", () => {
  let root = "";
  let cluster: dn.Cluster;
  let pool: dn.Pool;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "dosna-dtypes-np-"));
    cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    pool = await cluster.createPool("p");
  });
  afterAll(async () => {
    await cluster?.disconnect();
    await rm(root, { recursive: true, force: true });
  });
  const directoryOf = (name: string) => join(root, "p", name);

  it("float16 written by dosna (gzip, NaN fill, ragged) reads in numpy bit for bit", async () => {
    const ds = await pool.createDataset("half", { shape: SHAPE, dtype: "float16", chunks: CHUNKS, fillValue: NaN, compression: "gzip" });
    const values = new Float32Array(28).map((_, i) => (i - 14) * 0.3 + (i % 5 === 0 ? 1e-6 : 0));
    await ds.set("1:, :", values);
    const fromNumpy = runZarrPy(["read", directoryOf("half"), "<f2"]);
    const expected = spawnSync(PYTHON, ["-c", `import numpy as np, sys
v = np.frombuffer(bytes.fromhex(sys.stdin.read()), dtype='<f4').astype(np.float16)
out = np.full((5, 7), np.nan, dtype=np.float16); out[1:, :] = v.reshape(4, 7); print(out.tobytes().hex())`], { encoding: "utf8", input: hex(values) });
    expect(fromNumpy).toBe(expected.stdout.trim());
  });

  it.each(["complex64", "complex128"] as const)("%s written by dosna (ragged, [re, im] fill) reads in numpy", async (dtype) => {
    const Parts = dtype === "complex64" ? Float32Array : Float64Array;
    const name = `cx-${dtype}`;
    const ds = await pool.createDataset(name, { shape: SHAPE, dtype, chunks: CHUNKS, fillValue: [NaN, -1] });
    const values = complexParts(20, Parts);
    await ds.set(":4, 2:", values);
    const got = runZarrPy(["read", directoryOf(name), dtype === "complex64" ? "<c8" : "<c16"]);
    const expected = new Parts(2 * SIZE);
    for (let i = 0; i < SIZE; i++) expected.set([NaN, -1], 2 * i);
    for (let k = 0; k < 20; k++) expected.set([values[2 * k], values[2 * k + 1]], 2 * (Math.floor(k / 5) * 7 + 2 + (k % 5)));
    expect(got).toBe(hex(expected));
  });

  it("zarrita.js reads a string array dosna wrote (vlen-utf8 + gzip, ragged, fill)", async () => {
    const ds = await pool.createDataset("strings", { shape: SHAPE, dtype: "string", chunks: CHUNKS, fillValue: "·", compression: "gzip" });
    const values = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? "" : `s${i}-${"é".repeat(i % 4)}`));
    await ds.set("1:, 2:", ndarray(values, [4, 5]));
    const arr = await zarr.open(zarr.root(new ZarritaFileSystemStore(join(root, "p"))).resolve("strings"), { kind: "array" });
    expect(arr.dtype).toBe("string");
    const got = await zarr.get(arr);
    const expected: string[] = new Array(SIZE).fill("·");
    values.forEach((v, k) => (expected[(1 + Math.floor(k / 5)) * 7 + 2 + (k % 5)] = v));
    expect(list(got.data as unknown as string[])).toEqual(expected);
  });

  it("dosna reads string chunks numcodecs.VLenUTF8 encoded (as zarr-python writes them)", async () => {
    const dir = directoryOf("np-strings");
    const script = String.raw`
import json, os, sys, numcodecs, numpy as np
path = sys.argv[1]
os.makedirs(os.path.join(path, "c"))
meta = {"zarr_format": 3, "node_type": "array", "shape": [5], "data_type": "string",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": "", "codecs": [{"name": "vlen-utf8", "configuration": {}}], "attributes": {}}
json.dump(meta, open(os.path.join(path, "zarr.json"), "w"))
chunks = {"0": ["ab", "ü"], "2": ["日本語", ""]}  # chunk 1 never written; the edge chunk is padded
for k, v in chunks.items():
    open(os.path.join(path, "c", k), "wb").write(bytes(numcodecs.VLenUTF8().encode(np.array(v, dtype=object))))
`;
    const result = spawnSync(PYTHON, ["-c", script, dir], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    const ds = await pool.getDataset("np-strings");
    expect(ds.dtype).toBe("string");
    expect(list((await ds.read()).data as unknown as string[])).toEqual(["ab", "ü", "", "", "日本語"]);
  });

  it.each([["<f2", "float16"], ["<c8", "complex64"], ["<c16", "complex128"]] as const)("an array numpy stored as %s opens and slices in dosna", async (descr, dtype) => {
    const name = `np-${dtype}`;
    const values = spawnSync(PYTHON, ["-c", `import numpy as np
n = 35; i = np.arange(n)
v = ((i * 0.37 - 5) + (1j * (i - 17) / 8 if '${descr}' != '<f2' else 0)).astype('${descr}'); print(v.tobytes().hex())`], { encoding: "utf8" }).stdout.trim();
    const dir = directoryOf(name);
    runZarrPy(["write", dir, descr, JSON.stringify(SHAPE), JSON.stringify(CHUNKS)], values);
    const ds = await pool.getDataset(name);
    expect(ds.dtype).toBe(dtype);
    const bytes = Buffer.from(values, "hex");
    if (dtype === "float16") {
      expect(ds.fillValue).toBeNaN();
      const asFloat32 = spawnSync(PYTHON, ["-c", "import numpy as np, sys; print(np.frombuffer(bytes.fromhex(sys.stdin.read()), dtype='<f2').astype('<f4').tobytes().hex())"], { encoding: "utf8", input: values }).stdout.trim();
      const b = Buffer.from(asFloat32, "hex");
      const expected = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      for (const i of [0, 1, 2, 7, 8, 9]) expected[i] = NaN; // chunk (0, 0) was never written
      expect(list((await ds.read()).data)).toEqual(list(expected));
      expect(list((await ds.get("4, ::-3")).data)).toEqual([expected[34], expected[31], expected[28]]);
    } else {
      expect(ds.fillValue).toEqual([1.5, -Infinity]);
      const Parts = dtype === "complex64" ? Float32Array : Float64Array;
      const parts = new Parts(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      for (const i of [0, 1, 2, 7, 8, 9]) parts.set([1.5, -Infinity], 2 * i);
      expect(list((await ds.read()).data)).toEqual(list(parts));
      expect(list((await ds.get("4, ::-3")).data)).toEqual(region(parts, 7, [4], [6, 3, 0]));
    }
  });
});
