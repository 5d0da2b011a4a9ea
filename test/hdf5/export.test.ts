/**
 * dn.exportHdf5 against h5py: dosna writes groups, datasets of every dtype (numeric, bool,
 * float16, complex64/128, string; chunked, ragged, sharded, gzip / zstd / uncompressed, 0-d,
 * empty, sparse with a fill value) and attributes of every JSON kind; h5py reads the file back
 * and describes it, and every value, dtype, chunk shape, compression and attribute is compared
 * with what dosna holds (attributes by the documented mapping). A file h5py wrote, imported and
 * exported again reads the same in h5py.
 */
import { mkdtemp, readdir, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { dosnaValues, dumpedValues, dumpHdf5, hasValues, storableAttrs, writeTestFiles, type Dump } from "./oracle.js";

let dir: string;
let scan: Dump;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-hdf5-export-"));
  await writeTestFiles(dir);
  scan = await dumpHdf5(join(dir, "scan.h5"), join(dir, "scan-dump"));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The documented attribute mapping, restated: what h5py reads for a JSON attribute dosna exports. */
function exportedAttribute(value: unknown): unknown {
  const scalar = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);
  const shapeOf = (v: unknown): number[] => (Array.isArray(v) ? [v.length, ...(v.length > 0 ? shapeOf(v[0]) : [])] : []);
  const flat = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);
  const rectangular = (v: unknown, shape: number[]): boolean =>
    shape.length === 0 ? !(v !== null && typeof v === "object") : Array.isArray(v) && v.length === shape[0] && v.every((x) => rectangular(x, shape.slice(1)));
  const shape = shapeOf(value);
  const elements = flat(value);
  const oneKind = ["string", "boolean", "number"].some((t) => elements.every((e) => typeof e === t && (t !== "number" || Number.isFinite(e))));
  if (!rectangular(value, shape) || elements.length === 0 || !oneKind) return JSON.stringify(value);
  const map = (v: unknown): unknown => (Array.isArray(v) ? v.map(map) : scalar(v));
  return map(value);
}

const ATTRS: Record<string, unknown> = {
  text: "ünïcode ✓",
  integer: -42,
  large: 2 ** 40 + 3,
  real: 2.5,
  yes: true,
  vector: [1, 2, 3],
  reals: [0.5, -1.25],
  matrix: [[1, 2], [3, 4], [5, 6]],
  words: ["a", "bc", ""],
  flags: [true, false],
  object: { a: 1, b: [1, "x"] },
  nothing: null,
  mixed: [1, "two"],
  ragged: [[1], [2, 3]],
  empty: [],
  notANumber: "NaN",
};

async function buildSource(pool: dn.Group): Promise<void> {
  await pool.attrs.update(ATTRS);
  const numeric = await pool.createGroup("numeric", { attrs: { kind: "numbers" } });
  const dtypes: dn.DataType[] = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "bool"];
  for (const [i, dtype] of dtypes.entries()) {
    const ds = await numeric.createDataset(dtype, { shape: [5, 7], dtype, chunks: [2, 3] });
    const values = Array.from({ length: 35 }, (_, k) => (dtype === "bool" ? (k * (i + 1)) % 3 === 0 : ((k * (i + 3)) % 100) - (dtype.startsWith("u") ? 0 : 50) + (dtype.startsWith("float") ? 0.5 : 0)));
    await ds.set([], ndarray(typedOf(dtype, values), [5, 7]));
  }
  const extremes = await numeric.createDataset("u64_extremes", { data: new BigUint64Array([2n ** 64n - 1n, 2n ** 63n, 0n]) });
  await extremes.attrs.set("note", "exact");
  await numeric.createDataset("i64_extremes", { data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n]) });

  const layout = await pool.createGroup("layout/nested");
  await layout.attrs.set("depth", 2);
  await pool.createDataset("layout/gzip", { data: Float32Array.from({ length: 600 }, (_, i) => i / 8), shape: [20, 30], chunks: [7, 8], compression: "gzip", compressionLevel: 7 });
  await pool.createDataset("layout/zstd", { data: Int32Array.from({ length: 100 }, (_, i) => i % 13), shape: [10, 10], chunks: [4, 4], compression: "zstd" });
  await pool.createDataset("layout/plain", { data: Uint16Array.from({ length: 24 }, (_, i) => i), shape: [2, 3, 4], chunks: [1, 2, 3] });
  await pool.createDataset("layout/sharded", { data: Float64Array.from({ length: 64 }, (_, i) => i * 1.5), shape: [8, 8], chunks: [2, 2], shards: [4, 4] });
  await pool.createDataset("layout/big_chunks", { data: Int16Array.from([1, 2, 3]), chunks: [100] });
  const sparse = await pool.createDataset("layout/sparse_fill", { shape: [9, 10], dtype: "int16", chunks: [3, 4], fillValue: -7 });
  await sparse.set("0:3, 0:4", 5);
  await sparse.set("8, 9", 9);
  const zeros = await pool.createDataset("layout/sparse_zero", { shape: [9, 10], dtype: "float32", chunks: [3, 4] });
  await zeros.set("4, 5", 2.5);
  await pool.createDataset("layout/scalar", { shape: [], dtype: "float64", fillValue: 1 }).then((d) => d.set([], 3.25));
  await pool.createDataset("layout/scalar_u64", { shape: [], dtype: "uint64" }).then((d) => d.set([], 2n ** 64n - 2n));
  await pool.createDataset("layout/empty", { shape: [0, 3], dtype: "int32", chunks: [2, 3] });
  await pool.createDataset("layout/labelled", { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2], dims: ["y", "x"], attrs: { units: "m", dosna: { internal: true } } });
  await buildTypes(await pool.createGroup("types", { attrs: { about: "float16, complex, strings" } }));
}

const HALVES = [0, -0, 1, -2.5, 0.0999755859375, 65504, -65504, 2 ** -24, 6.103515625e-5, Infinity, -Infinity, NaN];

/** float16, complex and string datasets, each kind chunked, sparse with a zero and a non-zero fill value, and 0-d. */
async function buildTypes(types: dn.Group): Promise<void> {
  const half = await types.createDataset("half", { shape: [5, 7], dtype: "float16", chunks: [2, 3], compression: "gzip", compressionLevel: 2, dims: ["row", "col"] });
  await half.set([], ndarray(Float32Array.from({ length: 35 }, (_, k) => HALVES[k % HALVES.length] * (k < 12 ? 1 : 1 + k / 64)), [5, 7]));
  const halfFill = await types.createDataset("half_fill", { shape: [9], dtype: "float16", chunks: [2], fillValue: -2.5 });
  await halfFill.set("3:5", [7, 0.333]);
  await types.createDataset("half_sharded", { data: Float32Array.from({ length: 64 }, (_, i) => i / 3), dtype: "float16", shape: [8, 8], chunks: [2, 2], shards: [4, 4] });
  await types.createDataset("half_scalar", { shape: [], dtype: "float16" }).then((d) => d.set([], 0.1));
  const parts = [1.5, -0, Infinity, NaN, -1e-30, 3.25, 0.5, -7];
  const z64 = await types.createDataset("z64", { shape: [4, 5], dtype: "complex64", chunks: [3, 2], compression: "zstd" });
  await z64.set([], ndarray(Float32Array.from({ length: 40 }, (_, k) => parts[k % parts.length] * (1 + Math.floor(k / 8))), [4, 5, 2]));
  const sparse = await types.createDataset("z128_sparse", { shape: [6], dtype: "complex128", chunks: [2] });
  await sparse.set("3", [2.5, -1e300]);
  const zFill = await types.createDataset("z128_fill", { shape: [5], dtype: "complex128", chunks: [2], fillValue: [1, -1] });
  await zFill.set("4", [0, 3]);
  await types.createDataset("z_scalar", { shape: [], dtype: "complex64" }).then((d) => d.set([], [-1.5, 0.25]));
  const words = await types.createDataset("words", { shape: [3, 4], dtype: "string", chunks: [2, 3], compression: "zstd", attrs: { lang: "mixed" } });
  await words.set([], [["", "a", "bé", "日本語"], ["🙂", "tab\tnew\nline", "x".repeat(300), "ünïcode ✓"], ["q", "", "r", "s"]]);
  const wordsSparse = await types.createDataset("words_sparse", { shape: [7], dtype: "string", chunks: [3] });
  await wordsSparse.set("4", "only");
  const wordsFill = await types.createDataset("words_fill", { shape: [5], dtype: "string", chunks: [2], fillValue: "n/a" });
  await wordsFill.set("1", "given");
  await types.createDataset("word_scalar", { shape: [], dtype: "string" }).then((d) => d.set([], "scalar é"));
}

function typedOf(dtype: dn.DataType, values: Array<number | boolean>): dn.TypedArray {
  switch (dtype) {
    case "bool":
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "int64":
      return BigInt64Array.from(values, (v) => BigInt(Math.trunc(Number(v))));
    case "uint64":
      return BigUint64Array.from(values, (v) => BigInt(Math.trunc(Number(v))));
    case "float32":
      return Float32Array.from(values as number[]);
    case "float64":
      return Float64Array.from(values as number[]);
    case "int8":
      return Int8Array.from(values as number[]);
    case "int16":
      return Int16Array.from(values as number[]);
    case "int32":
      return Int32Array.from(values as number[]);
    case "uint8":
      return Uint8Array.from(values as number[]);
    case "uint16":
      return Uint16Array.from(values as number[]);
    default:
      return Uint32Array.from(values as number[]);
  }
}

const NUMPY_OF: Record<string, string> = {
  bool: "|u1", int8: "|i1", int16: "<i2", int32: "<i4", int64: "<i8", uint8: "|u1", uint16: "<u2", uint32: "<u4", uint64: "<u8",
  float16: "<f2", float32: "<f4", float64: "<f8", complex64: "<c8", complex128: "<c16", string: "|O",
};

function outFile(): string {
  return join(dir, `out-${counter++}.h5`);
}

/** Every dataset, group and attribute under `group` is in `dump` (at `prefix`) as dosna holds it. */
async function expectExported(group: dn.Group, dump: Dump, prefix = ""): Promise<void> {
  const expectedAttrs = (attrs: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(attrs).filter(([name]) => name !== "dosna").map(([name, v]) => [name, exportedAttribute(v)]));
  expect(dump.groups["/"].attrs).toEqual(expectedAttrs(group.attrs.toJSON()));
  const seen: string[] = [];
  for await (const node of group.visit()) {
    const path = `/${node.path.slice(prefix.length)}`;
    seen.push(path);
    if (node instanceof dn.Group) {
      expect(dump.groups[path]?.attrs, `attributes of ${path}`).toEqual(expectedAttrs(node.attrs.toJSON()));
      continue;
    }
    const got = dump.datasets[path];
    expect(got, path).toBeDefined();
    expect(got.dtype, `dtype of ${path}`).toBe(NUMPY_OF[node.dtype]);
    expect(got.shape, `shape of ${path}`).toEqual(node.shape);
    const contiguous = node.ndim === 0;
    expect(got.chunks, `chunks of ${path}`).toEqual(contiguous ? null : node.chunks.map((c, a) => (node.shape[a] === 0 ? c : Math.min(c, node.shape[a]))));
    const codecs = node.metadata.codecs.flatMap((c) => [c, ...((c.configuration?.codecs as typeof node.metadata.codecs | undefined) ?? [])]);
    // h5wasm refuses filters on variable-length strings
    const compressed = codecs.some((c) => ["gzip", "zstd", "blosc"].includes(c.name)) && !contiguous && node.dtype !== "string";
    const gzipLevel = codecs.find((c) => c.name === "gzip")?.configuration?.level;
    expect(got.compression, `compression of ${path}`).toBe(compressed ? "gzip" : null);
    if (compressed) expect(got.compression_opts, `gzip level of ${path}`).toBe(gzipLevel ?? 4);
    // HDF5 keeps dimension labels as an attribute
    const labels = node.dims ? { DIMENSION_LABELS: node.dims } : {};
    expect(got.attrs, `attributes of ${path}`).toEqual({ ...expectedAttrs(node.attrs.toJSON()), ...labels });
    expect(got.dims, `dims of ${path}`).toEqual(node.dims ?? node.shape.map(() => ""));
    // variable-length UTF-8, which h5py's asstr() decodes
    if (node.dtype === "string") expect(got.string, `string type of ${path}`).toEqual({ encoding: "utf-8", length: null });
    const values = await dosnaValues(node);
    expect(await dumpedValues(dump, got), `values of ${path}`).toEqual(node.dtype === "bool" ? values.map(Number) : values);
  }
  expect(Object.keys({ ...dump.groups, ...dump.datasets }).filter((p) => p !== "/").sort()).toEqual(seen.sort());
}

describe.each(backendKinds)("exportHdf5 on $name", (kind) => {
  const suite = poolSuiteOn(kind, "hdf5-export");
  beforeAll(async () => {
    await buildSource(suite.pool);
  });

  it("writes a whole pool: groups, every dtype, chunking, compression, 0-d, empty, sparse, attributes; h5py reads it back", async () => {
    const file = outFile();
    const summary = await dn.exportHdf5(suite.pool, "", file);
    expect(summary.datasets).toContain("/layout/sparse_fill");
    expect(summary.groups).toContain("/layout/nested");
    const dump = await dumpHdf5(file, `${file}.dump`);
    await expectExported(suite.pool, dump);
    // the fill value cannot be set through h5wasm: the sparse dataset's unwritten elements were written
    expect(dump.datasets["/layout/sparse_fill"].fillvalue).toBe(0);
  });

  it("writes one dataset under its own name, and one group with what is below it", async () => {
    const file = outFile();
    expect((await dn.exportHdf5(suite.pool, "layout/gzip", file)).datasets).toEqual(["/gzip"]);
    const one = await dumpHdf5(file, `${file}.dump`);
    expect(Object.keys(one.datasets)).toEqual(["/gzip"]);
    const ds = await suite.pool.getDataset("layout/gzip");
    expect(await dumpedValues(one, one.datasets["/gzip"])).toEqual(await dosnaValues(ds));
    expect(one.datasets["/gzip"]).toMatchObject({ chunks: [7, 8], compression: "gzip", compression_opts: 7 });

    const groupFile = outFile();
    await dn.exportHdf5(suite.pool, "numeric", groupFile, { compression: "gzip", compressionLevel: 2 });
    const group = await dumpHdf5(groupFile, `${groupFile}.dump`);
    expect(group.groups["/"].attrs).toEqual({ kind: "numbers" });
    expect(Object.keys(group.datasets).sort()).toEqual((await (await suite.pool.getGroup("numeric")).listDatasets()).map((n) => `/${n}`).sort());
    expect(group.datasets["/int32"]).toMatchObject({ compression: "gzip", compression_opts: 2 });
    expect(await dumpedValues(group, group.datasets["/u64_extremes"])).toEqual([2n ** 64n - 1n, 2n ** 63n, 0n]);
  });

  it("writes a file h5py wrote, imported, the same again", async () => {
    const target = await suite.pool.requireGroup("roundtrip");
    await dn.importHdf5(join(dir, "scan.h5"), target);
    const file = outFile();
    await dn.exportHdf5(suite.pool, "roundtrip", file);
    const again = await dumpHdf5(file, `${file}.dump`);
    for (const [path, original] of Object.entries(scan.datasets)) {
      // types dosna cannot store, and the lzf dataset h5wasm cannot decode, were not imported
      if (!hasValues(original) || path === "/unsupported/lzf") {
        expect(again.datasets[path], path).toBeUndefined();
        continue;
      }
      const copy = again.datasets[path];
      expect(copy.shape, path).toEqual(original.shape);
      // bool is written as uint8, fixed-length strings as variable-length ones (uncompressed)
      expect(copy.dtype.slice(1), path).toBe(original.dtype === "|b1" ? "u1" : original.string ? "O" : original.dtype.slice(1));
      if (original.chunks) expect(copy.chunks, path).toEqual(original.chunks);
      expect(copy.compression, path).toBe(original.string ? null : original.compression);
      if (original.compression && !original.string) expect(copy.compression_opts, path).toBe(original.compression_opts);
      const values = await dumpedValues(scan, original);
      expect(await dumpedValues(again, copy), path).toEqual(original.dtype === "|b1" ? values.map(Number) : values);
      expect(copy.attrs, path).toEqual(Object.fromEntries(Object.entries(storableAttrs(original.attrs)).map(([k, v]) => [k, exportedAttribute(v)])));
      expect(copy.dims, path).toEqual(original.dims);
    }
    expect(again.groups["/"].attrs).toEqual(Object.fromEntries(Object.entries(storableAttrs(scan.groups["/"].attrs)).map(([k, v]) => [k, exportedAttribute(v)])));
  });

  it("reads big datasets slab by slab and leaves no file behind when it fails", async () => {
    const big = await suite.pool.createDataset("slabs/big", { data: Float32Array.from({ length: 120 * 90 }, (_, i) => (i % 97) / 4), shape: [120, 90], chunks: [25, 20] });
    const file = outFile();
    const reports: dn.Hdf5Progress[] = [];
    await dn.exportHdf5(suite.pool, "slabs/big", file, { slabBytes: 25 * 20 * 4, onProgress: (p) => reports.push({ ...p }) });
    expect(reports).toHaveLength(25);
    expect(reports.at(-1)).toEqual({ done: 120 * 90 * 4, total: 120 * 90 * 4, path: "/big" });
    const dump = await dumpHdf5(file, `${file}.dump`);
    expect(await dumpedValues(dump, dump.datasets["/big"])).toEqual(await dosnaValues(big));

    // strings are planned at 64 bytes each: 80-string chunks, one a slab; complex128 at its 16 bytes
    const words = await suite.pool.createDataset("slabs/words", { shape: [40, 30], dtype: "string", chunks: [10, 8] });
    await words.set([], ndarray(Array.from({ length: 1200 }, (_, i) => `w${i}${"é".repeat(i % 5)}`) as never, [40, 30]));
    const complex = await suite.pool.createDataset("slabs/complex", { data: Float64Array.from({ length: 2 * 1200 }, (_, i) => i / 7 - 50), dtype: "complex128", shape: [40, 30], chunks: [10, 8] });
    for (const [ds, slabBytes] of [[words, 80 * 64], [complex, 80 * 16]] as const) {
      const out = outFile();
      const progress: dn.Hdf5Progress[] = [];
      await dn.exportHdf5(suite.pool, ds.path, out, { slabBytes, onProgress: (p) => progress.push({ ...p }) });
      expect(progress, ds.path).toHaveLength(16);
      const read = await dumpHdf5(out, `${out}.dump`);
      expect(await dumpedValues(read, read.datasets[`/${ds.name}`]), ds.path).toEqual(await dosnaValues(ds));
    }

    const existing = outFile();
    await writeFile(existing, "keep me");
    await expect(dn.exportHdf5(suite.pool, "slabs/big", existing)).rejects.toThrow(dn.AlreadyExistsError);
    expect(await readFile(existing, "utf8")).toBe("keep me");

    const aborted = outFile();
    const controller = new AbortController();
    await expect(
      dn.exportHdf5(suite.pool, "slabs/big", aborted, { slabBytes: 25 * 20 * 4, signal: controller.signal, onProgress: () => controller.abort() }),
    ).rejects.toThrow(dn.AbortedError);
    const left = (await readdir(dir)).filter((name) => name.includes(aborted.split("/").pop()!));
    expect(left).toEqual([]);
    await expect(dn.exportHdf5(suite.pool, "slabs/missing", outFile())).rejects.toThrow(dn.NotFoundError);
  });

  it("refuses a string holding NUL (HDF5 ends a variable-length string there), leaving no file", async () => {
    const nul = await suite.pool.createDataset("nul/words", { shape: [2, 3], dtype: "string", chunks: [1, 3] });
    await nul.set("1, 2", "a\0b");
    const file = outFile();
    await expect(dn.exportHdf5(suite.pool, "nul", file)).rejects.toThrow(
      /HDF5 export of dataset "?\/?nul\/words"?.*: the string at index \[1, 2\] holds a NUL character, which an HDF5 variable-length string cannot hold/,
    );
    expect((await readdir(dir)).filter((name) => name.includes(file.split("/").pop()!))).toEqual([]);
    await nul.set("1, 2", "a b");
    const scalar = await suite.pool.createDataset("nul/scalar", { shape: [], dtype: "string" });
    await scalar.set([], "\0");
    await expect(dn.exportHdf5(suite.pool, "nul/scalar", file)).rejects.toThrow(/: the string at index \[\] holds a NUL character/);
    await suite.pool.delete("nul/scalar");
    await dn.exportHdf5(suite.pool, "nul", file);
    const dump = await dumpHdf5(file, `${file}.dump`);
    expect(dump.datasets["/words"].strings).toEqual(["", "", "", "", "", "a b"]);
    await suite.pool.delete("nul");
  });
});
