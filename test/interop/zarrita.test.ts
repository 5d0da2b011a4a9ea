/**
 * Interop at the dataset level on the local-directory store, with zarrita.js as the independent
 * Zarr v3 implementation: what dosna writes zarrita reads identically (whole and sliced), and
 * what zarrita writes dosna opens and slices correctly. Expected values come from brute-force
 * references, never from either library.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSystemStore as ZarritaFileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { seededRandom } from "../helpers/random.js";
import { comparable, referenceGet, referenceSet, type RefItem } from "../helpers/reference.js";

type Element = number | bigint;
const SHAPE = [7, 11, 5];
const CHUNKS = [3, 4, 2]; // ragged on every axis: 7 = 3+3+1, 11 = 4+4+3, 5 = 2+2+1
const SIZE = SHAPE.reduce((a, b) => a * b, 1);
const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

/** Seeded values that fit `dtype` exactly (floats are multiples of 1/8 so float32 holds them). */
function randomValues(dtype: dn.DataType, n: number, seed: number): Element[] {
  const next = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const big = (bits: number, signed: boolean) => {
    let v = 0n;
    for (let i = 0; i < bits / 16; i++) v = (v << 16n) | BigInt(int(0, 0xffff));
    return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
  };
  return Array.from({ length: n }, (): Element => {
    switch (dtype) {
      case "bool": return int(0, 1);
      case "int8": return int(-128, 127);
      case "uint8": return int(0, 255);
      case "int16": return int(-32768, 32767);
      case "uint16": return int(0, 65535);
      case "int32": return int(-(2 ** 31), 2 ** 31 - 1);
      case "uint32": return int(0, 2 ** 32 - 1);
      case "int64": return big(64, true);
      case "uint64": return big(64, false);
      case "float32": return int(-80000, 80000) / 8;
      case "float64": return (next() - 0.5) * 1e6;
      default: throw new Error(`no random values for ${dtype} here`);
    }
  });
}

const elementOf = (v: dn.Scalar): Element => (typeof v === "boolean" ? (v ? 1 : 0) : v);

interface DosnaCase {
  dtype: dn.DataType;
  gzip: boolean;
  fillValue: dn.Scalar;
}

const DOSNA_CASES: DosnaCase[] = [
  { dtype: "bool", gzip: false, fillValue: true },
  { dtype: "int8", gzip: true, fillValue: -3 },
  { dtype: "uint8", gzip: false, fillValue: 0 },
  { dtype: "int16", gzip: false, fillValue: 1000 },
  { dtype: "uint16", gzip: true, fillValue: 7 },
  { dtype: "int32", gzip: true, fillValue: 0 },
  { dtype: "uint32", gzip: false, fillValue: 4000000000 },
  { dtype: "int64", gzip: false, fillValue: -5n },
  { dtype: "uint64", gzip: true, fillValue: 2n ** 63n },
  { dtype: "float32", gzip: false, fillValue: NaN },
  { dtype: "float32", gzip: true, fillValue: -Infinity },
  { dtype: "float64", gzip: true, fillValue: NaN },
  { dtype: "float64", gzip: false, fillValue: 0.5 },
];

/** The written region: chunks of grid row 0 and grid column 0 lie wholly outside it and are never stored. */
const WRITTEN: RefItem[] = [s(3, 7), s(4, 11), s(null, null)];
const WRITTEN_SHAPE = [4, 7, 5];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-zarrita-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("dosna writes, zarrita reads", () => {
  let cluster: dn.Cluster;
  let pool: dn.Pool;
  let zroot: zarr.Location<ZarritaFileSystemStore>;

  beforeAll(async () => {
    cluster = new dn.Cluster({ backend: "fs", root: dir });
    pool = await cluster.createPool("from-dosna", { attrs: { origin: "dosna" } });
    await pool.createGroup("nested/deeper", { attrs: { level: 2 } });
    zroot = zarr.root(new ZarritaFileSystemStore(join(dir, "from-dosna")));
  });
  afterAll(async () => {
    await cluster.disconnect();
  });

  it("zarrita opens the pool and its groups with their attributes", async () => {
    const root = await zarr.open(zroot, { kind: "group" });
    expect(root.attrs).toEqual({ origin: "dosna" });
    const deeper = await zarr.open(zroot.resolve("nested/deeper"), { kind: "group" });
    expect(deeper.attrs).toEqual({ level: 2 });
  });

  DOSNA_CASES.forEach((c, index) => {
    const label = `${c.dtype} ${c.gzip ? "gzip" : "raw"} fill ${String(c.fillValue)}`;
    it(label, async () => {
      const path = `nested/deeper/arr${index}`;
      const ds = await pool.createDataset(path, {
        shape: SHAPE, dtype: c.dtype, chunks: CHUNKS, fillValue: c.fillValue, compression: c.gzip ? "gzip" : "none", attrs: { case: label },
      });
      const written = randomValues(c.dtype, WRITTEN_SHAPE.reduce((a, b) => a * b, 1), 100 + index);
      // a typed array as long as the selection takes the selection's shape; bools go in as 0/1 bytes
      await ds.set("3:7, 4:11, :", typedFrom(c.dtype === "bool" ? "uint8" : c.dtype, written));
      const reference: Element[] = new Array<Element>(SIZE).fill(elementOf(c.fillValue));
      referenceSet(reference, SHAPE, WRITTEN, written);
      expect(comparable((await ds.read()).data)).toEqual(comparable(reference)); // dosna itself agrees first
      const stored = (await ds.storedChunkIndices()).map((g) => g.join());
      expect(stored).not.toContain("0,0,0");
      expect(stored).toContain("2,2,2"); // the ragged corner chunk

      const arr = await zarr.open(zroot.resolve(path), { kind: "array" });
      expect(arr.shape).toEqual(SHAPE);
      expect(arr.chunks).toEqual(CHUNKS);
      expect(arr.dtype).toBe(c.dtype);
      expect(arr.attrs).toMatchObject({ case: label });
      expect(comparable([arr.fillValue])).toEqual(comparable([elementOf(c.fillValue)]));
      const whole = await zarr.get(arr);
      expect(whole.shape).toEqual(SHAPE);
      expect(comparable(whole.data)).toEqual(comparable(reference));

      const selections: Array<[Array<zarr.Slice | number | null>, RefItem[]]> = [
        [[zarr.slice(1, 6, 2), 3, null], [s(1, 6, 2), 3, s(null, null)]],
        [[6, zarr.slice(null, null, 3), zarr.slice(3, 5)], [6, s(null, null, 3), s(3, 5)]],
        [[zarr.slice(0, 1), zarr.slice(8, 11), 4], [s(0, 1), s(8, 11), 4]],
      ];
      for (const [zsel, ref] of selections) {
        const got = await zarr.get(arr, zsel);
        const expected = referenceGet(reference, SHAPE, ref);
        expect(got.shape).toEqual(expected.shape);
        expect(comparable(got.data)).toEqual(comparable(expected.values));
      }
      expect(comparable([await zarr.get(arr, [0, 0, 0])])).toEqual(comparable([reference[0]]));
    });
  });

  it("a 0-d dataset", async () => {
    const ds = await pool.createDataset("scalar", { shape: [], dtype: "float64", fillValue: -1 });
    expect((await zarr.get(await zarr.open(zroot.resolve("scalar"), { kind: "array" }), [])) as unknown).toBe(-1);
    await ds.set("...", 2.75);
    const arr = await zarr.open(zroot.resolve("scalar"), { kind: "array" });
    expect(arr.shape).toEqual([]);
    expect(await zarr.get(arr, [])).toBe(2.75);
  });

  it("data created from a typed array, resized, and then read by zarrita", async () => {
    const data = Int32Array.from(randomValues("int32", 35, 5) as number[]);
    const ds = await pool.createDataset("resized", { data, shape: [5, 7], chunks: [2, 3], fillValue: 9 });
    await ds.resize([3, 4]);
    await ds.resize([6, 8]);
    const arr = await zarr.open(zroot.resolve("resized"), { kind: "array" });
    expect(arr.shape).toEqual([6, 8]);
    const expected: number[] = [];
    for (let i = 0; i < 6; i++) for (let j = 0; j < 8; j++) expected.push(i < 3 && j < 4 ? data[i * 7 + j] : 9);
    expect(comparable((await zarr.get(arr)).data)).toEqual(expected);
  });
});

describe("zarrita writes, dosna reads", () => {
  const poolDir = () => join(dir, "from-zarrita");
  let zroot: zarr.Location<ZarritaFileSystemStore>;
  const ZARRITA_CASES: Array<{ dtype: dn.DataType; fillValue: dn.Scalar | null }> = [
    { dtype: "int16", fillValue: -7 },
    { dtype: "uint8", fillValue: null },
    { dtype: "int32", fillValue: 0 },
    { dtype: "int64", fillValue: 0 },
    { dtype: "uint32", fillValue: 12 },
    { dtype: "float32", fillValue: NaN },
    { dtype: "float64", fillValue: 1.5 },
    { dtype: "bool", fillValue: false },
  ];

  beforeAll(async () => {
    zroot = zarr.root(new ZarritaFileSystemStore(poolDir()));
    await zarr.create(zroot, { attributes: { made_by: "zarrita" } });
    await zarr.create(zroot.resolve("group"), { attributes: { kind: "container" } });
    await zarr.create(zroot.resolve("group/inner"));
  });

  ZARRITA_CASES.forEach(({ dtype, fillValue }, index) => {
    it(`${dtype} fill ${String(fillValue)}`, async () => {
      const path = `group/inner/z${index}`;
      const arr = await zarr.create(zroot.resolve(path), {
        shape: SHAPE, chunkShape: CHUNKS, dtype: dtype as never, attributes: { index },
        ...(fillValue === null ? {} : { fillValue: fillValue as never }),
      });
      const written = randomValues(dtype, WRITTEN_SHAPE.reduce((a, b) => a * b, 1), 200 + index);
      const data = dtype === "bool" ? new zarr.BoolArray(written.map((v) => v === 1)) : typedFrom(dtype, written);
      await zarr.set(arr, [zarr.slice(3, 7), zarr.slice(4, 11), null], { data, shape: WRITTEN_SHAPE, stride: [35, 5, 1] } as never);
      // zarrita stores a 64-bit fill value as a JSON number; dosna reads it as a bigint
      const fill = dtype.endsWith("int64") ? BigInt(fillValue as number) : elementOf(fillValue ?? 0);
      const reference: Element[] = new Array<Element>(SIZE).fill(fill);
      referenceSet(reference, SHAPE, WRITTEN, written);

      // through a Cluster on the directory holding the pool ...
      const cluster = new dn.Cluster({ backend: "fs", root: dir });
      const pool = await cluster.getPool("from-zarrita");
      expect(pool.attrs.toJSON()).toEqual({ made_by: "zarrita" });
      expect((await pool.getGroup("group")).attrs.toJSON()).toEqual({ kind: "container" });
      expect(await (await pool.getGroup("group/inner")).listDatasets()).toContain(`z${index}`);
      const ds = await pool.getDataset(path);
      expect([ds.shape, ds.chunks, ds.dtype]).toEqual([SHAPE, CHUNKS, dtype]);
      expect(comparable([elementOf(ds.fillValue as dn.Scalar)])).toEqual(comparable([fill]));
      expect(ds.attrs.toJSON()).toEqual({ index });
      expect(comparable((await ds.read()).data)).toEqual(comparable(reference));
      const cases: Array<[string, RefItem[]]> = [
        ["::-2, 3, 1:", [s(null, null, -2), 3, s(1, null)]],
        ["-1, -3:, ::-1", [-1, s(-3, null), s(null, null, -1)]],
        ["..., 2", [s(null, null), s(null, null), 2]],
        ["[6, 0, 2], 10, [true, false, false, true, true]", [{ points: [6, 0, 2] }, 10, { points: [0, 3, 4] }]],
        ["3:3", [s(3, 3)]],
      ];
      for (const [text, items] of cases) {
        const got = await ds.get(text);
        const expected = referenceGet(reference, SHAPE, items);
        expect(got.shape, text).toEqual(expected.shape);
        expect(comparable(got.data), text).toEqual(comparable(expected.values));
      }

      // ... and through Pool.open on a store of the pool directory itself
      const direct = await dn.Pool.open(new dn.FileSystemStore(poolDir()), { name: "from-zarrita" });
      const again = await direct.getDataset(path);
      expect(comparable((await again.get("1:3, 2:9:3, ::2")).data)).toEqual(comparable(referenceGet(reference, SHAPE, [s(1, 3), s(2, 9, 3), s(null, null, 2)]).values));
      await cluster.disconnect();
    });
  });

  it("dosna writes into a zarrita array and zarrita sees the change", async () => {
    const arr = await zarr.create(zroot.resolve("shared"), { shape: [5, 6], chunkShape: [2, 4], dtype: "float64", fillValue: 0 });
    const values = Float64Array.from({ length: 30 }, (_, i) => i + 0.25);
    await zarr.set(arr, null, { data: values, shape: [5, 6], stride: [6, 1] });
    const pool = await dn.Pool.open(new dn.FileSystemStore(poolDir()), { name: "from-zarrita" });
    const ds = await pool.getDataset("shared");
    await ds.set("1:4, ::-2", -1);
    await ds.set("4", 0); // an edge row back to the fill value: its chunks may be deleted
    const expected = Array.from(values);
    referenceSet(expected, [5, 6], [s(1, 4), s(null, null, -2)], -1);
    referenceSet(expected, [5, 6], [4], 0);
    const back = await zarr.get(await zarr.open(zroot.resolve("shared"), { kind: "array" }));
    expect(Array.from(back.data as Float64Array)).toEqual(expected);
  });
});

function typedFrom(dtype: dn.DataType, values: Element[]): dn.TypedArray {
  switch (dtype) {
    case "int8": return Int8Array.from(values as number[]);
    case "uint8": return Uint8Array.from(values as number[]);
    case "int16": return Int16Array.from(values as number[]);
    case "uint16": return Uint16Array.from(values as number[]);
    case "int32": return Int32Array.from(values as number[]);
    case "uint32": return Uint32Array.from(values as number[]);
    case "int64": return BigInt64Array.from(values as bigint[]);
    case "uint64": return BigUint64Array.from(values as bigint[]);
    case "float32": return Float32Array.from(values as number[]);
    default: return Float64Array.from(values as number[]);
  }
}
