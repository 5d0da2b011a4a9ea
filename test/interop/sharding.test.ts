/**
 * Sharded arrays dosna writes, read by zarrita.js (an independent Zarr v3 implementation that
 * reads `sharding_indexed` with the index at the end) on the local-directory store, compared with
 * brute-force references; and the bytes of a small shard compared with a layout built by hand
 * from the specification.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSystemStore as ZarritaFileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { crc32c } from "../../src/format/index.js";
import { seededRandom } from "../helpers/random.js";
import { comparable, referenceGet, referenceSet, type RefItem } from "../helpers/reference.js";
import { randomElement, type Element } from "../helpers/random-values.js";

const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

let dir: string;
let cluster: dn.Cluster;
let pool: dn.Pool;
let zroot: zarr.Location<ZarritaFileSystemStore>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-shard-interop-"));
  cluster = new dn.Cluster({ backend: "fs", root: dir });
  pool = await cluster.createPool("sharded");
  zroot = zarr.root(new ZarritaFileSystemStore(join(dir, "sharded")));
});
afterAll(async () => {
  await cluster.disconnect();
  await rm(dir, { recursive: true, force: true });
});

interface Case {
  dtype: dn.DataType;
  gzip: boolean;
  fillValue: dn.Scalar;
  shape: number[];
  chunks: number[];
  shards: number[];
}

const CASES: Case[] = [
  { dtype: "int16", gzip: false, fillValue: -7, shape: [11, 9, 5], chunks: [2, 3, 2], shards: [4, 6, 4] },
  { dtype: "float32", gzip: true, fillValue: NaN, shape: [11, 9, 5], chunks: [2, 3, 2], shards: [4, 3, 6] },
  { dtype: "uint8", gzip: true, fillValue: 0, shape: [30, 7], chunks: [3, 7], shards: [12, 7] },
  { dtype: "int64", gzip: false, fillValue: 5n, shape: [13], chunks: [2], shards: [8] },
  { dtype: "uint64", gzip: true, fillValue: 2n ** 63n, shape: [6, 6], chunks: [1, 1], shards: [3, 6] },
  { dtype: "float64", gzip: true, fillValue: 0.5, shape: [9, 10], chunks: [4, 5], shards: [8, 10] },
  { dtype: "bool", gzip: false, fillValue: true, shape: [7, 7], chunks: [2, 2], shards: [4, 4] },
  { dtype: "int32", gzip: false, fillValue: 0, shape: [5, 4], chunks: [5, 4], shards: [5, 4] },
];

describe("dosna writes sharded arrays, zarrita reads them", () => {
  CASES.forEach((c, n) => {
    const label = `${c.dtype} ${c.gzip ? "gzip" : "raw"} shape [${c.shape}] chunks [${c.chunks}] shards [${c.shards}]`;
    it(label, async () => {
      const ds = await pool.createDataset(`case${n}`, {
        shape: c.shape, dtype: c.dtype, chunks: c.chunks, shards: c.shards, fillValue: c.fillValue, compression: c.gzip ? "gzip" : "none",
      });
      const next = seededRandom(40 + n);
      const size = c.shape.reduce((a, b) => a * b, 1);
      const fill: Element = typeof c.fillValue === "boolean" ? Number(c.fillValue) : c.fillValue;
      const reference: Element[] = new Array<Element>(size).fill(fill);
      // A few overlapping writes: some inner chunks stay empty, some shards are never written, some
      // shards are written partially (read-modify-write) after a first write.
      const writes: RefItem[][] = [
        c.shape.map((d) => s(Math.floor(d / 3), d)),
        c.shape.map((d, axis) => (axis === 0 ? s(0, Math.ceil(d / 4)) : s(null, null, 2))),
        c.shape.map((d) => d - 1),
      ];
      for (const items of writes) {
        const shape = referenceGet(reference, c.shape, items).shape;
        const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => randomElement(c.dtype, next));
        const typed = new (typedArrayFor(c.dtype))(values.length) as unknown as Element[];
        values.forEach((v, i) => (typed[i] = v));
        await ds.set(items.map(toDosnaItem), typed as unknown as dn.TypedArray);
        referenceSet(reference, c.shape, items, values);
      }
      expect(comparable((await ds.read()).data)).toEqual(comparable(reference));

      const arr = await zarr.open(zroot.resolve(`case${n}`), { kind: "array" });
      expect(arr.shape).toEqual(c.shape);
      expect(arr.dtype).toBe(c.dtype);
      const whole = await zarr.get(arr);
      expect(whole.shape).toEqual(c.shape);
      expect(comparable(whole.data)).toEqual(comparable(reference));

      const selection: RefItem[] = c.shape.map((d, axis) => (axis === 0 ? s(1, d, 2) : axis === 1 ? Math.floor(d / 2) : s(null, null)));
      const zsel = selection.map((it) => (typeof it === "number" ? it : "slice" in it ? zarr.slice(it.slice[0], it.slice[1], it.slice[2]) : null));
      const got = (await zarr.get(arr, zsel)) as { data: unknown; shape: number[] };
      const expected = referenceGet(reference, c.shape, selection);
      expect(got.shape).toEqual(expected.shape);
      expect(comparable(got.data)).toEqual(comparable(expected.values));
    });
  });
});

describe("missing shards and empty inner chunks", () => {
  it("zarrita reads them as the fill value", async () => {
    // 3 shards of 4 inner chunks; only inner chunk 5 (in shard 1) is written.
    const ds = await pool.createDataset("sparse", { shape: [24], dtype: "int32", chunks: [2], shards: [8], fillValue: -3 });
    await ds.set("10:12", Int32Array.from([7, 8]));
    expect(await ds.storedChunkIndices()).toEqual([[5]]);
    const arr = await zarr.open(zroot.resolve("sparse"), { kind: "array" });
    const expected = Array.from({ length: 24 }, (_, i) => (i === 10 ? 7 : i === 11 ? 8 : -3));
    expect(Array.from((await zarr.get(arr)).data as Int32Array)).toEqual(expected);
  });
});

describe("the bytes of a shard follow the specification", () => {
  it("inner chunks in C order, then (offset, nbytes) uint64 pairs, then crc32c", async () => {
    // shape [4, 4] uint16, inner [2, 2], one shard: inner chunk [0, 1] stays fill (omitted).
    const ds = await pool.createDataset("layout", { shape: [4, 4], dtype: "uint16", chunks: [2, 2], shards: [4, 4] });
    await ds.set("0:2, 0:2", Uint16Array.from([1, 2, 3, 4]));
    await ds.set("2:4, :", Uint16Array.from([5, 6, 7, 8, 9, 10, 11, 12]));
    const bytes = new Uint8Array(await readFile(join(dir, "sharded", "layout", "c", "0", "0")));

    const chunk = (values: number[]) => new Uint8Array(Uint16Array.from(values).buffer);
    const data = [chunk([1, 2, 3, 4]), chunk([5, 6, 9, 10]), chunk([7, 8, 11, 12])];
    const index = new DataView(new ArrayBuffer(4 * 16 + 4));
    const empty = 2n ** 64n - 1n;
    const entries: Array<[bigint, bigint]> = [[0n, 8n], [empty, empty], [8n, 8n], [16n, 8n]];
    entries.forEach(([offset, nbytes], i) => {
      index.setBigUint64(i * 16, offset, true);
      index.setBigUint64(i * 16 + 8, nbytes, true);
    });
    index.setUint32(64, crc32c(new Uint8Array(index.buffer, 0, 64)), true);
    const expected = new Uint8Array(24 + 68);
    data.forEach((d, i) => expected.set(d, i * 8));
    expected.set(new Uint8Array(index.buffer), 24);
    expect(Array.from(bytes)).toEqual(Array.from(expected));
  });
});

function toDosnaItem(item: RefItem): dn.SelectionItem {
  if (typeof item === "number") return item;
  if ("slice" in item) return dn.slice(...item.slice);
  return item.points;
}

function typedArrayFor(dtype: dn.DataType): new (n: number) => ArrayLike<Element> {
  const ctors: Record<dn.DataType, new (n: number) => ArrayLike<Element>> = {
    bool: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
    uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array,
    float16: Float32Array, complex64: Float32Array, complex128: Float64Array, string: Float64Array, bytes: Float64Array, // not used: plain types only
  };
  return ctors[dtype];
}
