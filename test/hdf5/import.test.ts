/**
 * dn.importHdf5 against h5py: h5py writes the files (nested groups, every numeric dtype, bool,
 * float16, complex64/128, variable- and fixed-length strings, big-endian, chunked + gzip
 * (+ shuffle) + contiguous, fill values, ragged chunking, 0-d, empty, attributes of several
 * kinds (complex and float16 too), and datasets dosna cannot store) and describes them; every
 * group, dataset, value and attribute dosna imported is checked against that description, on
 * every backend. Files with version 1 (libver earliest) and version 2 (latest) object headers
 * both give their fill values.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { dosnaDtypeOf, dosnaValues, dumpedValues, dumpHdf5, hasValues, storableAttrs, unsupportedAttrs, writeTestFiles, type Dump } from "./oracle.js";

let dir: string;
let scan: Dump;
let latest: Dump;
let big: Dump;
let bigStrings: Dump;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-hdf5-import-"));
  await writeTestFiles(dir);
  [scan, latest, big, bigStrings] = await Promise.all([
    dumpHdf5(join(dir, "scan.h5"), join(dir, "scan-dump")),
    dumpHdf5(join(dir, "scan-latest.h5"), join(dir, "latest-dump")),
    dumpHdf5(join(dir, "big.h5"), join(dir, "big-dump")),
    dumpHdf5(join(dir, "big-strings.h5"), join(dir, "big-strings-dump")),
  ]);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXPECTED_SKIPS: Record<string, RegExp> = {
  "/unsupported/compound": /compound \{a: int32, b: float64\}/,
  // two floats named r and i, but not of one type: not h5py's complex
  "/unsupported/complex_like": /^type compound \{r: float32, i: float64\}, which dosna cannot store$/,
  "/unsupported/enum": /enum uint8 \{.*GREEN.*\}/,
  "/unsupported/reference": /object reference/,
  "/unsupported/vlen": /variable-length sequence/,
  "/unsupported/lzf": /cannot be read \(filters lzf \(32000\): required filter 'lzf' is not registered\)/,
  "/unsupported/soft": /^another link to \/layout\/gzip, which is imported there$/,
  "/unsupported/missing": /^soft link to \/does\/not\/exist, which does not exist$/,
  "/unsupported/external": /^external link to elsewhere\.h5:\/data/,
};

function relative(path: string): string {
  return path.replace(/^\//, "");
}

function expectedFill(dtype: dn.DataType, value: unknown): unknown {
  // h5py cannot report a variable-length string's fill value; HDF5 reads "" there, dosna's default
  if (dtype === "string" && value === null) return "";
  if (value === "NaN") return NaN;
  if (dtype === "int64" || dtype === "uint64") return BigInt(value as number);
  return value;
}

/** Every group, dataset and attribute of `dump` is in `group` as h5py described it. */
async function expectImported(group: dn.Group, dump: Dump): Promise<void> {
  for (const [path, { attrs }] of Object.entries(dump.groups)) {
    const node = path === "/" ? group : await group.getGroup(relative(path));
    expect(node.attrs.toJSON(), `attributes of ${path}`).toEqual(storableAttrs(attrs));
  }
  for (const [path, expected] of Object.entries(dump.datasets)) {
    if (!hasValues(expected) || path in EXPECTED_SKIPS) {
      expect(await group.has(relative(path)), `${path} is not imported`).toBe(false);
      continue;
    }
    const ds = await group.getDataset(relative(path));
    const what = `dataset ${path}`;
    expect(ds.dtype, what).toBe(dosnaDtypeOf(expected.dtype));
    expect(ds.shape, what).toEqual(expected.shape);
    if (expected.chunks) expect(ds.chunks, `chunks of ${path}`).toEqual(expected.chunks);
    expect(ds.fillValue, `fill value of ${path}`).toEqual(expectedFill(ds.dtype, expected.fillvalue));
    const codecs = ds.metadata.codecs.map((c) => c.name);
    if (expected.compression === "gzip") {
      expect(ds.metadata.codecs.find((c) => c.name === "gzip")?.configuration, `gzip of ${path}`).toEqual({ level: expected.compression_opts });
      // dosna's strings have no fixed-size elements to shuffle
      expect(codecs.includes("numcodecs.shuffle"), `shuffle of ${path}`).toBe(expected.shuffle && ds.dtype !== "string");
    } else {
      expect(codecs, `codecs of ${path}`).toEqual([ds.dtype === "string" ? "vlen-utf8" : "bytes"]);
    }
    const { DIMENSION_LABELS: labels, ...attrs } = storableAttrs(expected.attrs);
    expect(ds.attrs.toJSON(), `attributes of ${path}`).toEqual(attrs);
    if (labels !== undefined) expect(ds.dims, `dims of ${path}`).toEqual(labels);
    expect(await dosnaValues(ds), `values of ${path}`).toEqual(await dumpedValues(dump, expected));
  }
}

function expectSkips(summary: dn.Hdf5ImportSummary, dump: Dump): void {
  const datasetSkips = summary.skipped.filter((s) => s.attribute === undefined);
  expect(datasetSkips.map((s) => s.path).sort()).toEqual(Object.keys(EXPECTED_SKIPS).sort());
  for (const skip of datasetSkips) expect(skip.reason, skip.path).toMatch(EXPECTED_SKIPS[skip.path]);
  const attributeSkips = summary.skipped.filter((s) => s.attribute !== undefined).map((s) => `${s.path}@${s.attribute}`);
  const expected = [
    ...Object.entries(dump.groups).flatMap(([path, g]) => unsupportedAttrs(g.attrs).map((a) => `${path}@${a}`)),
    ...Object.entries(dump.datasets)
      .filter(([path, d]) => hasValues(d) && !(path in EXPECTED_SKIPS))
      .flatMap(([path, d]) => unsupportedAttrs(d.attrs).map((a) => `${path}@${a}`)),
  ];
  expect(attributeSkips.sort()).toEqual(expected.sort());
  expect(expected).toEqual(expect.arrayContaining(["/@point", "/layout/with_attrs@ref"]));
}

describe.each(backendKinds)("importHdf5 on $name", (kind) => {
  const suite = poolSuiteOn(kind, "hdf5-import");

  it("imports every group, dataset and attribute dosna can store into the pool's root and reports each one skipped", async () => {
    const summary = await dn.importHdf5(join(dir, "scan.h5"), suite.pool);
    expectSkips(summary, scan);
    const importedDatasets = summary.imported.filter((i) => i.kind === "dataset").map((i) => i.path);
    expect(importedDatasets.sort()).toEqual(Object.keys(scan.datasets).filter((p) => hasValues(scan.datasets[p]) && !(p in EXPECTED_SKIPS)).sort());
    await expectImported(suite.pool, scan);
  });

  it("imports float16, complex (h5py's compound {r, i}) and strings as dosna's float16, complex64/128 and string", async () => {
    const target = await suite.pool.requireGroup("source-types");
    const summary = await dn.importHdf5(join(dir, "scan.h5"), target, { source: "/types" });
    expect(summary.skipped).toEqual([]);
    const dtypes = Object.fromEntries(await Promise.all((await target.listDatasets()).map(async (n) => [n, (await target.getDataset(n)).dtype])));
    expect(dtypes).toEqual({
      f2: "float16", f2_be: "float16", f2_fill: "float16", f2_scalar: "float16",
      c8: "complex64", c16: "complex128", c16_be: "complex128", c8_fill: "complex64", c_scalar: "complex128",
      vstr: "string", vstr2d: "string", astr: "string", fixed: "string", fixed_utf8: "string", fixed_fill: "string", str_scalar: "string",
    });
    // dosna's in-memory complex: a last axis of [re, im]
    const c16 = await (await target.getDataset("c16")).get("1:3, ::3");
    expect(c16.shape).toEqual([2, 3, 2]);
    expect([c16.get(1, 2, 0), c16.get(1, 2, 1)]).toEqual([20 * 0.5, 20 * -1.25]); // row 2, column 6
    expect((await target.getDataset("c8_fill")).fillValue).toEqual([1, -2]);
    expect((await target.getDataset("f2_fill")).fillValue).toBe(-2.5);
    expect((await target.getDataset("fixed_fill")).fillValue).toBe("ab");
    expect(Array.from((await (await target.getDataset("fixed_utf8")).read()).data as unknown as string[])).toEqual(["é", "日本", "abc"]);
    expect(target.attrs.toJSON()).toEqual({ z: [1.5, -2], zs: [[1, 2], ["NaN", "-Infinity"]], half: 0.0999755859375, halves: [1.5, "-Infinity", 2 ** -24], fixed: ["ab", "cde"], text: "ünïcode ✓" });
  });

  it("reads a string dataset many chunks big slab by slab", async () => {
    const expected = bigStrings.datasets["/words"];
    const target = await suite.pool.requireGroup("string-slabs");
    const reports: dn.Hdf5Progress[] = [];
    // slabs are planned at 64 bytes a string: 10×8 chunks of 80 strings, one chunk a slab
    await dn.importHdf5(join(dir, "big-strings.h5"), target, { slabBytes: 80 * 64, onProgress: (p) => reports.push({ ...p }) });
    const ds = await target.getDataset("words");
    expect(ds.chunks).toEqual([10, 8]);
    expect(await dosnaValues(ds)).toEqual(await dumpedValues(bigStrings, expected));
    expect(reports).toHaveLength(4 * 4);
    expect(reports.at(-1)).toMatchObject({ done: 40 * 30 * 8, total: 40 * 30 * 8 });
  });

  it("imports a libver-latest file (version 2 object headers) into a nested group, fill values included", async () => {
    const target = await suite.pool.requireGroup("runs/latest");
    const summary = await dn.importHdf5(join(dir, "scan-latest.h5"), target);
    expectSkips(summary, latest);
    expect(summary.imported.find((i) => i.path === "/layout/sparse_fill")?.target).toBe("runs/latest/layout/sparse_fill");
    await expectImported(target, latest);
    const sparse = await target.getDataset("layout/sparse_fill");
    expect(sparse.fillValue).toBe(-7);
    // chunks h5py never wrote stay unwritten in dosna too
    expect((await sparse.storedChunkIndices()).sort()).toEqual([[0, 0], [2, 2]]);
  });

  it("refuses to replace existing nodes unless overwrite, and then replaces them", async () => {
    const target = await suite.pool.requireGroup("again");
    await dn.importHdf5(join(dir, "plain.h5"), target);
    const a = await target.getDataset("a");
    await a.set("0, 0", 999);
    await expect(dn.importHdf5(join(dir, "plain.h5"), target)).rejects.toThrow(dn.AlreadyExistsError);
    await expect(dn.importHdf5(join(dir, "plain.h5"), target)).rejects.toThrow(/again\/a already exists/);
    expect((await a.get("0, 0")).get()).toBe(999);
    await dn.importHdf5(join(dir, "plain.h5"), target, { overwrite: true });
    expect((await (await target.getDataset("a")).get("0, 0")).get()).toBe(0);
  });

  it("reads a dataset many chunks big slab by slab (one slab per chunk when slabs are chunk-sized)", async () => {
    const expected = big.datasets["/big"];
    const target = await suite.pool.requireGroup("slabs");
    const chunkBytes = 25 * 20 * 4;
    const reports: dn.Hdf5Progress[] = [];
    await dn.importHdf5(join(dir, "big.h5"), target, { slabBytes: chunkBytes, onProgress: (p) => reports.push({ ...p }) });
    const ds = await target.getDataset("big");
    expect(ds.chunks).toEqual([25, 20]);
    expect(await dosnaValues(ds)).toEqual(await dumpedValues(big, expected));
    // 120×90 in 25×20 chunks: 5×5 slabs; the ragged last row and column are smaller
    expect(reports).toHaveLength(25);
    expect(reports.at(-1)).toEqual({ done: 120 * 90 * 4, total: 120 * 90 * 4, path: "/big" });
    expect(reports[0].done).toBe(chunkBytes);

    const whole: dn.Hdf5Progress[] = [];
    await dn.importHdf5(join(dir, "big.h5"), await suite.pool.requireGroup("one-slab"), { onProgress: (p) => whole.push(p) });
    expect(whole).toHaveLength(1);
  });

  it("imports one group or one dataset of a file with source, and recompresses on request", async () => {
    const target = await suite.pool.requireGroup("partial");
    const summary = await dn.importHdf5(join(dir, "scan.h5"), target, { source: "/layout/gzip", compression: "zstd" });
    expect(summary).toEqual({ imported: [{ kind: "dataset", path: "/layout/gzip", target: "partial/gzip" }], skipped: [] });
    const ds = await target.getDataset("gzip");
    expect(ds.metadata.codecs.map((c) => c.name)).toEqual(["bytes", "zstd"]);
    expect(await dosnaValues(ds)).toEqual(await dumpedValues(scan, scan.datasets["/layout/gzip"]));

    const numeric = await suite.pool.requireGroup("partial-numeric");
    const part = await dn.importHdf5(join(dir, "scan.h5"), numeric, { source: "/numeric" });
    expect(part.skipped).toEqual([]);
    expect((await numeric.listDatasets()).sort()).toEqual(Object.keys(scan.datasets).filter((p) => p.startsWith("/numeric/")).map((p) => p.slice(9)).sort());
  });
});

describe("importHdf5 with bad input", () => {
  it("refuses blosc for a file with strings (blosc needs fixed-size elements) before writing anything", async () => {
    const cluster = new dn.Cluster({ backend: "memory" });
    await cluster.connect();
    const pool = await cluster.createPool("blosc");
    await expect(dn.importHdf5(join(dir, "scan.h5"), pool, { compression: "blosc" })).rejects.toThrow(
      /compression "blosc" of the HDF5 import cannot hold the strings of \/types\/astr \(blosc needs fixed-size elements\); use gzip or zstd/,
    );
    expect(await pool.keys()).toEqual([]);
    await dn.importHdf5(join(dir, "scan.h5"), pool, { source: "/numeric", compression: "blosc" });
    expect((await pool.getDataset("f4")).metadata.codecs.map((c) => c.name)).toContain("blosc");
    await cluster.disconnect();
  });

  it("names a missing file, a file that is not HDF5 and a missing source, creating nothing", async () => {
    const cluster = new dn.Cluster({ backend: "memory" });
    await cluster.connect();
    const pool = await cluster.createPool("bad");
    await expect(dn.importHdf5(join(dir, "nope.h5"), pool)).rejects.toThrow(dn.NotFoundError);
    const text = join(dir, "not-hdf5.h5");
    await writeFile(text, "just text, no HDF5 signature\n".repeat(20));
    await expect(dn.importHdf5(text, pool)).rejects.toThrow(new RegExp(`not-hdf5\\.h5" is not a readable HDF5 file`));
    await expect(dn.importHdf5(join(dir, "plain.h5"), pool, { source: "/missing" })).rejects.toThrow(/"\/missing" is not a group or dataset/);
    expect(await pool.keys()).toEqual([]);
    expect(pool.attrs.toJSON()).toEqual({});
    await cluster.disconnect();
  });
});
