/**
 * dn.importHdf5 against h5py: h5py writes the files (nested groups, every numeric dtype, bool,
 * big-endian, chunked + gzip (+ shuffle) + contiguous, fill values, ragged chunking, 0-d, empty,
 * attributes of several kinds, and datasets dosna cannot store) and describes them; every group,
 * dataset, value and attribute dosna imported is checked against that description, on every
 * backend. Files with version 1 (libver earliest) and version 2 (latest) object headers both
 * give their fill values.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { dosnaDtypeOf, dosnaValues, dumpedValues, dumpHdf5, storableAttrs, unsupportedAttrs, writeTestFiles, type Dump } from "./oracle.js";

let dir: string;
let scan: Dump;
let latest: Dump;
let big: Dump;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-hdf5-import-"));
  await writeTestFiles(dir);
  [scan, latest, big] = await Promise.all([
    dumpHdf5(join(dir, "scan.h5"), join(dir, "scan-dump")),
    dumpHdf5(join(dir, "scan-latest.h5"), join(dir, "latest-dump")),
    dumpHdf5(join(dir, "big.h5"), join(dir, "big-dump")),
  ]);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXPECTED_SKIPS: Record<string, RegExp> = {
  "/unsupported/compound": /compound \{a: int32, b: float64\}/,
  "/unsupported/enum": /enum uint8 \{.*GREEN.*\}/,
  "/unsupported/reference": /object reference/,
  "/unsupported/strings": /string/,
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
    if (expected.npy === undefined || path in EXPECTED_SKIPS) {
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
      expect(codecs.includes("numcodecs.shuffle"), `shuffle of ${path}`).toBe(expected.shuffle);
    } else {
      expect(codecs, `codecs of ${path}`).toEqual(["bytes"]);
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
      .filter(([path, d]) => d.npy !== undefined && !(path in EXPECTED_SKIPS))
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
    expect(importedDatasets.sort()).toEqual(Object.keys(scan.datasets).filter((p) => scan.datasets[p].npy !== undefined && !(p in EXPECTED_SKIPS)).sort());
    await expectImported(suite.pool, scan);
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
