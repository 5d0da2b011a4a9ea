/**
 * Zarr v2, checked both ways against Debian's zarr-python 2.13 (fixtures/zarr-v2-oracle.py):
 * - dosna reads every array zarr-python wrote (dtypes, big endian, order F, "." and "/" separators,
 *   blosc/zlib/gzip/zstd/lz4 compressors, shuffle and delta filters, unwritten chunks, a 0-d array),
 *   on fs, memory and S3 (the same objects uploaded), every value against numpy's own read;
 * - zarr-python reads what dosna writes into a v2 pool, including resizes and attribute updates;
 * - writers in several processes on a v2 array lose no attribute, resize or row;
 * - consolidated metadata (v2 .zmetadata, v3 inline) is kept current, extension members are kept;
 * - `dosna cp` converts v2 ⇄ v3; unsupported v2 metadata fails naming the key and the problem.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ndarray, { type NdArray } from "ndarray";
import * as dn from "../../src/index.js";
import { typedArrayConstructorFor } from "../../src/format/index.js";
import { copyTree } from "../../src/cli/copy.js";
import { runWorkers } from "../helpers/node-processes.js";
import { s3Cluster, uniqueBucketName, dropPool } from "../helpers/s3-fixtures.js";
import { rowValue } from "../concurrency/values.js";

const ORACLE = join(import.meta.dirname, "fixtures/zarr-v2-oracle.py");
const WRITER = join(import.meta.dirname, "../concurrency/writer.ts");
const python = (...args: string[]) => execFileSync("/usr/bin/python3", [ORACLE, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });

/** The formula of the oracle's `values(shape, dtype)`, element i in C order. */
function formula(dtype: dn.DataType, i: number): number | bigint | boolean {
  if (dtype === "bool") return i % 3 === 0;
  if (dtype.startsWith("float")) return i * 0.25 - 7.5;
  const v = dtype.startsWith("uint") ? (i * 7) % 250 : ((i * 7) % 250) - 120;
  return dtype.endsWith("64") ? BigInt(v) : v;
}

function formulaValues(dtype: dn.DataType, size: number): Array<number | bigint | boolean> {
  return Array.from({ length: size }, (_, i) => formula(dtype, i));
}

/** The oracle's values as an ndarray dosna can write. */
function formulaArray(dtype: dn.DataType, shape: number[]): NdArray<dn.TypedArray> {
  const size = shape.reduce((a, b) => a * b, 1);
  if (dtype === "string") return ndarray(Array.from({ length: size }, (_, i) => `s${i}é`), shape) as never;
  if (dtype === "complex64" || dtype === "complex128") {
    const lanes = new (dtype === "complex64" ? Float32Array : Float64Array)(2 * size);
    for (let i = 0; i < size; i++) lanes[2 * i] = ((i * 7) % 250) - 120;
    return ndarray(lanes, [...shape, 2]);
  }
  const data = new (typedArrayConstructorFor(dtype))(size);
  formulaValues(dtype, size).forEach((v, i) => (data[i] = typeof v === "boolean" ? Number(v) : (v as never)));
  return ndarray(data, shape);
}

const flat = (a: { data: ArrayLike<unknown> }) => Array.from(a.data as ArrayLike<number>, (v) => (typeof v === "bigint" ? v : Number(v)));

let dir: string;
let fixture: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-zarr-v2-"));
  fixture = join(dir, "fixture");
  await mkdir(join(fixture, "expected"), { recursive: true });
  python("write", fixture);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(root, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/** Every array of the fixture, read by dosna, equals numpy's read of it. */
async function expectFixtureRead(pool: dn.Pool): Promise<void> {
  expect(pool.zarrFormat).toBe(2);
  expect(pool.attrs.toJSON()).toEqual({ title: "v2 fixture", n: 3, nested: { a: [1, 2] } });
  const seen: string[] = [];
  for await (const node of pool.visit()) {
    if (!(node instanceof dn.Dataset)) continue;
    seen.push(node.path);
    if (node.dtype === "string") {
      const strings = JSON.parse(await readFile(join(fixture, "expected", `${node.name}.json`), "utf8")) as string[];
      expect(Array.from((await node.get()).data as unknown as string[])).toEqual(strings);
      continue;
    }
    const expected = await dn.readNpy(join(fixture, "expected", `${node.name}.npy`));
    const got = await node.get();
    expect(got.shape, node.path).toEqual(expected.shape);
    const a = flat(got);
    const b = flat(expected.array);
    expect(a.length, node.path).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(a[i], b[i]) && a[i] !== b[i]) throw new Error(`${node.path}: element ${i} is ${a[i]}, numpy read ${b[i]}`);
    }
    expect(node.attrs.get("made_by"), node.path).toMatch(/^zarr-python 2\./);
    expect(node.dims, node.path).toEqual(node.shape.map((_, k) => `d${k}`));
  }
  expect(seen.sort()).toEqual([
    "bool_raw",
    "c16_blosc",
    "c8_raw_F",
    "f2_zlib",
    "f4_blosc_lz4",
    "f8_lz4",
    "i2_shuffle_zlib",
    "i4_bigendian_zstd",
    "i4_delta_zlib",
    "i8_zlib",
    "nested/deeper/f8_blosc_zstd_slash",
    "scalar",
    "text",
    "u1_blosc_zlib",
    "u2_gzip_F",
  ]);
  // a part read: chunk-aligned or not, through the v2 keys
  const part = await (await pool.getDataset("u2_gzip_F")).get("1:6, ::2, 3");
  const whole = await dn.readNpy(join(fixture, "expected", "u2_gzip_F.npy"));
  expect(part.shape).toEqual([5, 5]);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(part.get(i, j)).toBe(whole.array.get(i + 1, 2 * j, 3));
}

describe("Zarr v2 written by zarr-python 2.13", () => {
  it("opens on the fs store and every value equals numpy's read", async () => {
    const cluster = new dn.Cluster({ backend: "fs", root: fixture });
    await cluster.connect();
    try {
      await expectFixtureRead(await cluster.getPool("store"));
    } finally {
      await cluster.disconnect();
    }
  });

  it("opens from a memory store and from S3 holding the same objects", async () => {
    const files = await filesUnder(join(fixture, "store"));
    const memory = new dn.MemoryStore();
    for (const file of files) await memory.set(file, await readFile(join(fixture, "store", file)));
    await expectFixtureRead(await dn.Pool.open(memory, { name: "v2-memory" }));
    if (!process.env.DOSNA_TEST_S3_ENDPOINT) return;
    const cluster = await s3Cluster();
    const name = uniqueBucketName("v2");
    try {
      const created = await cluster.createPool(name);
      await created.store.delete("zarr.json");
      for (const file of files) await created.store.set(file, await readFile(join(fixture, "store", file)));
      await expectFixtureRead(await cluster.getPool(name));
    } finally {
      await dropPool(cluster, name);
      await cluster.disconnect();
    }
  });

  it("an array with a codec or dtype dosna lacks fails naming the key and the problem; the rest opens", async () => {
    const store = new dn.MemoryStore();
    const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    await store.set(".zgroup", json({ zarr_format: 2 }));
    const zarray = { zarr_format: 2, shape: [4], chunks: [2], dtype: "<f4", compressor: null, fill_value: 0, order: "C", filters: null };
    await store.set("ok/.zarray", json(zarray));
    await store.set("bz/.zarray", json({ ...zarray, compressor: { id: "nosuchcodec", level: 9 } }));
    await store.set("structured/.zarray", json({ ...zarray, dtype: [["a", "<f4"]] }));
    await store.set("text/.zarray", json({ ...zarray, dtype: "<U8" }));
    const pool = await dn.Pool.open(store, { name: "bad-v2" });
    await expect(pool.getDataset("bz")).rejects.toThrow(/"bz\/zarr\.json".*codec "numcodecs\.nosuchcodec" is not supported/);
    await expect(pool.getDataset("structured")).rejects.toThrow(/"structured\/\.zarray".*structured dtypes/);
    await expect(pool.getDataset("text")).rejects.toThrow(/"text\/\.zarray".*dtype "<U8" is not supported/);
    expect(flat(await (await pool.getDataset("ok")).get())).toEqual([0, 0, 0, 0]);
    expect(await pool.listDatasets()).toEqual(["ok"]);
  });
});

describe("Zarr v2 written by dosna, read by zarr-python 2.13", () => {
  const CASES: Array<{ name: string; dtype: dn.DataType; shape: number[]; chunks: number[]; options: Partial<dn.CreateDatasetOptions>; compressor: string | null; filters: string[] }> = [
    { name: "f4_gzip", dtype: "float32", shape: [13, 10], chunks: [5, 4], options: { compression: "gzip" }, compressor: "gzip", filters: [] },
    { name: "i2_zstd_shuffle", dtype: "int16", shape: [9, 7, 5], chunks: [4, 4, 4], options: { compression: "zstd", shuffle: true }, compressor: "zstd", filters: ["shuffle"] },
    { name: "u8_blosc", dtype: "uint64", shape: [40], chunks: [16], options: { compression: "blosc" }, compressor: "blosc", filters: [] },
    { name: "b_raw", dtype: "bool", shape: [6, 6], chunks: [4, 4], options: {}, compressor: null, filters: [] },
    { name: "f2_zstd", dtype: "float16", shape: [6, 5], chunks: [4, 4], options: { compression: "zstd" }, compressor: "zstd", filters: [] },
    { name: "c8_gzip", dtype: "complex64", shape: [5, 3], chunks: [2, 2], options: { compression: "gzip" }, compressor: "gzip", filters: [] },
    { name: "text", dtype: "string", shape: [7], chunks: [3], options: { compression: "gzip" }, compressor: "gzip", filters: ["vlen-utf8"] },
    { name: "deep/down/f8", dtype: "float64", shape: [5, 5], chunks: [2, 3], options: { compression: "gzip" }, compressor: "gzip", filters: [] },
  ];

  it("every array, group, attribute, resize and fill value", async () => {
    const root = join(dir, "dosna-written");
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    try {
      const pool = await cluster.createPool("store", { zarrFormat: 2, attrs: { made_by: "dosna" } });
      expect(pool.zarrFormat).toBe(2);
      for (const c of CASES) {
        const ds = await pool.createDataset(c.name, { shape: c.shape, dtype: c.dtype, chunks: c.chunks, ...c.options, attrs: { case: c.name }, dims: c.shape.map((_, k) => `axis${k}`) });
        await ds.set(undefined, formulaArray(c.dtype, c.shape));
      }
      // grown after creation: zarr-python must see the new shape and the values written into it
      const grown = await pool.createDataset("grown", { shape: [3, 4], dtype: "int32", chunks: [2, 2], fillValue: -5 });
      await grown.resize([6, 4]);
      await grown.set(":", formulaArray("int32", [6, 4]));
      await grown.attrs.set("later", [1, "two"]);
      await (await pool.createGroup("g", { attrs: { kind: "group" } })).attrs.set("more", true);
      const holes = await pool.createDataset("holes", { shape: [8], dtype: "float32", chunks: [2], fillValue: NaN });
      await holes.set("2:4", 1.5);
      const keys = await filesUnder(join(root, "store"));
      expect(keys.filter((k) => k.endsWith("zarr.json"))).toEqual([]);
      expect(keys).toContain("f4_gzip/.zarray");
      expect(keys).toContain("f4_gzip/0.0");
      expect(keys.filter((k) => k.startsWith("holes/")).sort()).toEqual(["holes/.zarray", "holes/1"]);

      const seen = JSON.parse(python("check", root)) as {
        root_attrs: Record<string, unknown>;
        arrays: Record<string, { dtype: string; shape: number[]; chunks: number[]; compressor: string | null; filters: string[]; order: string; attrs: Record<string, unknown>; equal: boolean; sum: number }>;
        groups: Record<string, Record<string, unknown>>;
      };
      expect(seen.root_attrs).toEqual({ made_by: "dosna" });
      for (const c of CASES) {
        const a = seen.arrays[c.name];
        expect(a, c.name).toBeDefined();
        expect(a.equal, `${c.name}: values equal the formula in zarr-python`).toBe(true);
        expect(a.shape).toEqual(c.shape);
        expect(a.chunks).toEqual(c.chunks);
        expect(a.compressor).toBe(c.compressor);
        expect(a.filters).toEqual(c.filters);
        expect(a.attrs).toEqual({ case: c.name, _ARRAY_DIMENSIONS: c.shape.map((_, k) => `axis${k}`) });
      }
      expect(seen.arrays.grown).toMatchObject({ shape: [6, 4], equal: true, attrs: { later: [1, "two"] } });
      expect(seen.groups.g).toEqual({ kind: "group", more: true });
      expect(seen.arrays.holes.sum, "a sum over NaN fill values").toBeNull();
      expect(flat(await holes.get())).toEqual([NaN, NaN, 1.5, 1.5, NaN, NaN, NaN, NaN]);
    } finally {
      await cluster.disconnect();
    }
  });

  it("on S3 (Ceph RGW): a v2 pool stores only v2 objects and reads back", async () => {
    if (!process.env.DOSNA_TEST_S3_ENDPOINT) return;
    const cluster = await s3Cluster();
    const name = uniqueBucketName("v2w");
    try {
      const pool = await cluster.createPool(name, { zarrFormat: 2 });
      const ds = await pool.createDataset("a", { shape: [10, 6], dtype: "int32", chunks: [4, 4], compression: "zstd" });
      await ds.set(":", formulaArray("int32", [10, 6]));
      await ds.attrs.set("x", 1);
      await ds.resize([12, 6]);
      const keys: string[] = [];
      for await (const key of (pool.store as dn.ZarrV2Store).inner.list("")) if (!key.startsWith(".dosna/")) keys.push(key);
      expect(keys.sort()).toEqual([".zgroup", "a/.zarray", "a/.zattrs", "a/0.0", "a/0.1", "a/1.0", "a/1.1", "a/2.0", "a/2.1"]);
      const again = await (await cluster.getPool(name)).getDataset("a");
      expect(again.shape).toEqual([12, 6]);
      expect(again.attrs.toJSON()).toEqual({ x: 1 });
      expect(flat(await again.get("0:10"))).toEqual(formulaValues("int32", 60));
    } finally {
      await dropPool(cluster, name);
      await cluster.disconnect();
    }
  });
});

describe("writers in several processes on a v2 array", () => {
  it("3 processes setting attributes (one resizing) and 3 writing interleaved rows lose nothing", async () => {
    const root = join(dir, "processes");
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    const writers = 3;
    const env = { ...process.env, DOSNA_BACKEND: "fs", DOSNA_ROOT: root, DOSNA_TEST_PARTIES: String(writers) };
    try {
      const pool = await cluster.createPool("p", { zarrFormat: 2 });
      await pool.createDataset("meta", { shape: [4, 4], dtype: "int32", chunks: [2, 2] });
      const count = 6;
      const attrs = await runWorkers(WRITER, Array.from({ length: writers }, (_, w) => ["attrs", "p", "meta", String(w), String(count), join(dir, "barrier-attrs")]), env, 120_000);
      for (const outcome of attrs) expect(outcome.exitCode, outcome.stderr).toBe(0);
      const meta = await pool.getDataset("meta");
      const expected: Record<string, number> = {};
      for (let w = 0; w < writers; w++) for (let i = 0; i < count; i++) expected[`w${w}-${i}`] = i;
      expect(meta.attrs.toJSON()).toEqual(expected);
      expect(meta.shape).toEqual([4 + count, 4]);

      const rows = await pool.createDataset("rows", { shape: [12, 10], dtype: "float64", chunks: [4, 5], compression: "gzip" });
      const outcomes = await runWorkers(WRITER, Array.from({ length: writers }, (_, w) => ["rows", "p", "rows", String(w), String(writers), join(dir, "barrier-rows")]), env, 120_000);
      for (const outcome of outcomes) expect(outcome.exitCode, outcome.stderr).toBe(0);
      const got = await rows.get();
      for (let r = 0; r < 12; r++) for (let c = 0; c < 10; c++) expect(got.get(r, c)).toBe(rowValue(r, c));
    } finally {
      await cluster.disconnect();
    }
  }, 240_000);
});

describe("consolidated metadata", () => {
  it("v2 .zmetadata: dosna's creates, resizes, attribute changes and deletes show in zarr.open_consolidated", async () => {
    const root = join(dir, "consolidated-v2");
    await mkdir(join(root, "expected"), { recursive: true });
    python("write", root);
    python("consolidate", root);
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    try {
      const pool = await cluster.getPool("store");
      await pool.createDataset("added", { shape: [4, 3], dtype: "int16", chunks: [2, 3], data: ndarray(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), [4, 3]), attrs: { new: "yes" } });
      await (await pool.getDataset("i8_zlib")).resize([20, 10]);
      await (await pool.getDataset("f8_lz4")).attrs.set("touched", 2);
      await pool.attrs.set("title", "changed by dosna");
      await pool.delete("bool_raw");
      await pool.createGroup("new_group/inner");
      const seen = JSON.parse(python("consolidated", root)) as Record<string, { shape?: number[]; attrs: Record<string, unknown>; sum?: number; group?: boolean }>;
      expect(seen.added).toEqual({ shape: [4, 3], attrs: { new: "yes" }, sum: 78 });
      expect(seen.i8_zlib.shape).toEqual([20, 10]);
      expect(seen.f8_lz4.attrs.touched).toBe(2);
      expect(seen.bool_raw).toBeUndefined();
      expect(seen["new_group/inner"]).toEqual({ group: true, attrs: {} });
      const zmetadata = JSON.parse(await readFile(join(root, "store", ".zmetadata"), "utf8")) as { metadata: Record<string, Record<string, unknown>> };
      expect(zmetadata.metadata[".zattrs"]).toMatchObject({ title: "changed by dosna" });
      expect(Object.keys(zmetadata.metadata).filter((k) => k.startsWith("bool_raw"))).toEqual([]);
    } finally {
      await cluster.disconnect();
    }
  });

  it("v3 inline consolidated_metadata: kept current, listings come from it, other members are kept", async () => {
    const store = new dn.MemoryStore();
    const pool0 = await dn.Pool.initialise(store, { name: "c3" });
    await pool0.createDataset("a", { shape: [4], dtype: "float32", chunks: [2] });
    // consolidate as zarr-python 3 does, plus another tool's extension member
    const rootDoc = JSON.parse(new TextDecoder().decode(await store.get("zarr.json"))) as Record<string, unknown>;
    const aDoc = JSON.parse(new TextDecoder().decode(await store.get("a/zarr.json"))) as Record<string, unknown>;
    const consolidated = { kind: "inline", must_understand: false, metadata: { a: aDoc } };
    await store.set("zarr.json", new TextEncoder().encode(JSON.stringify({ ...rootDoc, consolidated_metadata: consolidated, "other.tool": { must_understand: false, keep: [1, 2] } })));
    await store.set("a/zarr.json", new TextEncoder().encode(JSON.stringify({ ...aDoc, "other.tool": { must_understand: false, level: 3 } })));

    const pool = await dn.Pool.open(store, { name: "c3" });
    await pool.createDataset("b/c", { shape: [6, 2], dtype: "int8", chunks: [3, 2] });
    await (await pool.getDataset("a")).resize([8]);
    await (await pool.getDataset("a")).attrs.set("units", "m");
    await pool.attrs.set("root", 1);
    const root = JSON.parse(new TextDecoder().decode(await store.get("zarr.json"))) as { attributes: unknown; "other.tool": unknown; consolidated_metadata: { metadata: Record<string, { shape?: number[]; attributes?: unknown; node_type: string }> } };
    expect(root.attributes).toEqual({ root: 1 });
    expect(root["other.tool"]).toEqual({ must_understand: false, keep: [1, 2] });
    const members = root.consolidated_metadata.metadata;
    expect(Object.keys(members).sort()).toEqual(["a", "b", "b/c"]);
    expect(members.a.shape).toEqual([8]);
    expect(members.a.attributes).toEqual({ units: "m" });
    expect(members["b/c"].shape).toEqual([6, 2]);
    const a = JSON.parse(new TextDecoder().decode(await store.get("a/zarr.json"))) as Record<string, unknown>;
    expect(a["other.tool"]).toEqual({ must_understand: false, level: 3 });

    // listings are answered from the consolidated metadata (as zarr-python does): a node written
    // behind its back is not listed until consolidated, but opens by name
    await store.set("hidden/zarr.json", new TextEncoder().encode(JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} })));
    expect(await pool.keys()).toEqual(["a", "b"]);
    expect(await pool.hasGroup("hidden")).toBe(true);
    await pool.delete("b");
    expect(Object.keys((JSON.parse(new TextDecoder().decode(await store.get("zarr.json"))) as typeof root).consolidated_metadata.metadata)).toEqual(["a"]);
  });
});

describe("dosna cp between Zarr v2 and v3", () => {
  it("v2 → v3 → v2: values, attributes and layout survive; zarr-python reads the v2 result", async () => {
    const root = join(dir, "cp");
    const cluster = new dn.Cluster({ backend: "fs", root: join(fixture) });
    const out = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    await out.connect();
    try {
      const v2 = await cluster.getPool("store", { readOnly: true });
      const v3 = await out.createPool("v3");
      await copyTree({ pool: v2, node: v2 }, { pool: v3, path: "" }, { njobs: 4 });
      expect(v3.zarrFormat).toBe(3);
      const names = (await filesUnder(join(root, "v3"))).filter((k) => k.endsWith("zarr.json"));
      expect(names).toContain("i4_delta_zlib/zarr.json");
      for (const name of ["f4_blosc_lz4", "u2_gzip_F", "i4_delta_zlib", "i4_bigendian_zstd", "nested/deeper/f8_blosc_zstd_slash"]) {
        const expected = await dn.readNpy(join(fixture, "expected", `${name.split("/").pop()}.npy`));
        expect(flat(await (await v3.getDataset(name)).get()), name).toEqual(flat(expected.array));
      }
      const back = await out.createPool("back", { zarrFormat: 2 });
      await copyTree({ pool: v3, node: v3 }, { pool: back, path: "" }, { njobs: 4 });
      const backFiles = await filesUnder(join(root, "back"));
      expect(backFiles.filter((k) => k.endsWith("zarr.json"))).toEqual([]);
      for (const name of ["f4_blosc_lz4", "u2_gzip_F", "i4_delta_zlib"]) {
        const expected = await dn.readNpy(join(fixture, "expected", `${name}.npy`));
        expect(flat(await (await back.getDataset(name)).get()), name).toEqual(flat(expected.array));
      }
      // a dosna-native v3 array (default chunk keys) into a v2 pool: re-encoded under v2 keys
      const native = await v3.createDataset("native", { shape: [7, 5], dtype: "float32", chunks: [3, 3], compression: "zstd", data: formulaArray("float32", [7, 5]) });
      const nativeRoot = join(dir, "cp-native");
      const nativeCluster = new dn.Cluster({ backend: "fs", root: nativeRoot });
      await nativeCluster.connect();
      try {
        const target = await nativeCluster.createPool("store", { zarrFormat: 2 });
        await copyTree({ pool: v3, node: native }, { pool: target, path: "native" }, { njobs: 4 });
      } finally {
        await nativeCluster.disconnect();
      }
      expect(await filesUnder(join(nativeRoot, "store"))).toEqual([".zgroup", "native/.zarray", "native/0.0", "native/0.1", "native/1.0", "native/1.1", "native/2.0", "native/2.1"]);
      const seen = JSON.parse(python("check", nativeRoot)) as { arrays: Record<string, { equal: boolean; compressor: string; shape: number[] }> };
      expect(seen.arrays.native).toMatchObject({ equal: true, compressor: "zstd", shape: [7, 5] });
    } finally {
      await cluster.disconnect();
      await out.disconnect();
    }
  });

  it("a sharded v3 array into a v2 pool is refused naming the codec, and nothing is stored", async () => {
    const v3 = await dn.Pool.initialise(new dn.MemoryStore(), { name: "s3src" });
    const sharded = await v3.createDataset("sh", { shape: [8, 8], dtype: "int32", chunks: [2, 2], shards: [4, 4] });
    const target = await dn.Pool.initialise(new dn.MemoryStore(), { name: "v2dst", zarrFormat: 2 });
    await expect(copyTree({ pool: v3, node: sharded }, { pool: target, path: "copied" }, { njobs: 2 })).rejects.toThrow(/cannot be stored as Zarr v2: codec "sharding_indexed"/);
    expect(await target.keys()).toEqual([]);
  });
});

describe("bytes (object dtype with numcodecs.VLenBytes) with zarr-python 2.13, both ways", () => {
  /** Element i of the test arrays: empty every 5th, else up to 6 bytes running through 0x00 and 0xff. */
  const element = (i: number) => (i % 5 === 0 ? new Uint8Array(0) : Uint8Array.from({ length: i % 7 || 3 }, (_, k) => (i * 37 + k * 101) & 255));
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
  const SHAPE = [7, 5];
  const SIZE = 35;
  const expectedHex = Array.from({ length: SIZE }, (_, i) => hex(element(i)));
  /** zarr 2.13 reading a v2 array: dtype, filters, compressor and every element (C order) as hex, or its repr if not bytes. */
  const READ = String.raw`
import json, sys, zarr
z = zarr.open(sys.argv[1], mode="r")
out = [bytes(v).hex() if isinstance(v, bytes) else repr(v) for v in z[...].reshape(-1)]
print(json.dumps({"dtype": str(z.dtype), "filters": [f.codec_id for f in (z.filters or [])], "compressor": z.compressor.codec_id if z.compressor else None, "values": out}))`;

  it("zarr-python 2.13 reads every element of a bytes array dosna wrote (ragged chunks, gzip, a part rewritten)", async () => {
    const root = join(dir, "bytes-dosna-written");
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    try {
      const pool = await cluster.createPool("store", { zarrFormat: 2 });
      const ds = await pool.createDataset("blobs", { shape: SHAPE, dtype: "bytes", chunks: [3, 2], compression: "gzip" });
      expect(ds.metadata.codecs[0]).toEqual({ name: "vlen-bytes" });
      const values = Array.from({ length: 7 }, (_, r) => Array.from({ length: 5 }, (_, c) => element(r * 5 + c)));
      await ds.set(":, :", values);
      await ds.set("6, ::-2", ndarray([element(34), element(32), element(30)], [3]));
      const zarray = JSON.parse(await readFile(join(root, "store", "blobs", ".zarray"), "utf8")) as Record<string, unknown>;
      expect(zarray).toMatchObject({ dtype: "|O", filters: [{ id: "vlen-bytes" }], fill_value: "", compressor: { id: "gzip" } });
      const seen = JSON.parse(execFileSync("/usr/bin/python3", ["-c", READ, join(root, "store", "blobs")], { encoding: "utf8" })) as { dtype: string; filters: string[]; compressor: string; values: string[] };
      expect(seen.dtype).toBe("object");
      expect(seen.filters).toEqual(["vlen-bytes"]);
      expect(seen.compressor).toBe("gzip");
      expect(seen.values).toEqual(expectedHex);
    } finally {
      await cluster.disconnect();
    }
  });

  it("dosna reads every element of a bytes array zarr-python 2.13 wrote (zlib, one chunk unwritten: empty bytes)", async () => {
    const root = join(dir, "bytes-zarr-written");
    const path = join(root, "store", "blobs");
    const WRITE = String.raw`
import json, sys, zarr, numcodecs, numpy as np
zarr.open_group(sys.argv[1], mode="w")
z = zarr.open(sys.argv[2], mode="w", shape=(7, 5), chunks=(3, 2), dtype=object, object_codec=numcodecs.VLenBytes(), compressor=numcodecs.Zlib(level=3))
v = np.empty(35, dtype=object)
v[:] = [bytes.fromhex(h) for h in json.loads(sys.stdin.read())]
v = v.reshape(7, 5)
z[:, 2:] = v[:, 2:]
z[3:, :2] = v[3:, :2]  # chunk (0, 0) is never written
print(json.dumps([bytes(x).hex() if isinstance(x, bytes) else repr(x) for x in z[...].reshape(-1)]))`;
    const zarrRead = JSON.parse(execFileSync("/usr/bin/python3", ["-c", WRITE, join(root, "store"), path], { encoding: "utf8", input: JSON.stringify(expectedHex) })) as string[];
    const unwritten = new Set([0, 1, 5, 6, 10, 11]);
    // zarr-python 2 fills unwritten elements of an object array with its fill value 0; dosna with empty bytes
    expect(zarrRead.filter((_, i) => unwritten.has(i))).toEqual(new Array(6).fill("0"));
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    try {
      const ds = await (await cluster.getPool("store")).getDataset("blobs");
      expect(ds.dtype).toBe("bytes");
      expect((ds.fillValue as Uint8Array).byteLength).toBe(0);
      const got = Array.from((await ds.get()).data as unknown as Uint8Array[], hex);
      expect(got).toEqual(zarrRead.map((h, i) => (unwritten.has(i) ? "" : h)));
      expect(got.filter((_, i) => !unwritten.has(i))).toEqual(expectedHex.filter((_, i) => !unwritten.has(i)));
      const part = await ds.get("::-3, 4");
      expect(Array.from(part.data as unknown as Uint8Array[], hex)).toEqual([34, 19, 4].map((i) => expectedHex[i]));
    } finally {
      await cluster.disconnect();
    }
  });
});
