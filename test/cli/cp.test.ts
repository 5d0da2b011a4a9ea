/**
 * dosna cp between local pools (and memory): datasets, groups and whole pools; stored objects
 * copied byte for byte when the layout matches; re-encoding when asked to re-chunk or recompress;
 * resuming after an interruption (present-and-equal chunks skipped, damaged or stale ones fixed);
 * and refusals onto datasets of another shape or dtype.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm as rmDir, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, FileSystemStore, Pool, type Store } from "../../src/index.js";
import { dosna, dosnaOk, ensureBuilt } from "./run.js";

let dir: string;
let source: Pool;

async function open(name: string): Promise<Pool> {
  return Pool.open(new FileSystemStore(join(dir, name), { createRoot: false }), { name });
}

/** Every key and its bytes. */
/** The hierarchy's objects (provenance under .dosna/ is checked on its own). */
async function contents(store: Store, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const key of store.list(prefix)) {
    if (!key.startsWith(".dosna/")) out.set(key.slice(prefix.length), Buffer.from((await store.get(key))!).toString("base64"));
  }
  return out;
}

async function values(pool: Pool, path: string): Promise<number[]> {
  const ds = await pool.getDataset(path);
  return Array.from((await ds.read()).data as Float64Array, Number);
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-cp-"));
  source = await Pool.initialise(new FileSystemStore(join(dir, "src")), { name: "src", attrs: { origin: "test" } });
  const a = await source.createDataset("a", { data: Float64Array.from({ length: 600 }, (_, i) => Math.sqrt(i)), shape: [20, 30], chunks: [6, 7], compression: "gzip", fillValue: -1 });
  await a.set("0:6, 0:7", -1); // an all-fill chunk: not stored
  await a.attrs.set("units", "K");
  await source.createDataset("g/b", { data: Int16Array.from({ length: 50 }, (_, i) => i - 25), chunks: 8, dimensionNames: ["t"] });
  await source.createGroup("g/empty", { attrs: { note: "kept" } });
});
afterAll(async () => {
  await rmDir(dir, { recursive: true, force: true });
});

describe("cp", () => {
  it("copies a whole pool: metadata and stored objects byte for byte", async () => {
    const out = await dosnaOk(["cp", "src", "copy::"], { cwd: dir });
    expect(out).toMatch(/^copied .*src:: to .*copy::: 2 datasets, 3 groups; chunks: \d+ written, [\d.]+ KiB copied as stored; /);
    const copy = await open("copy");
    expect(await contents(copy.store)).toEqual(await contents(source.store));
  });

  it("carries a dataset's provenance along: its lineage, and a record of the copy", async () => {
    const derived = await (await source.getDataset("a")).map(function doubled(chunk) {
      return (chunk.data as Float64Array).map((v) => v * 2);
    }, "a-doubled");
    const origin = await derived.provenanceRecord();
    await dosnaOk(["cp", "src/a-doubled", "carried::d"], { cwd: dir });
    const copy = await (await open("carried")).getDataset("d");
    const lineage = await copy.lineage();
    const records = Object.values(lineage.records);
    const root = lineage.records[lineage.root];
    expect(root.data).toMatchObject({ kind: "dataset", dataset: "d", inputs: [origin.id], activity: { operation: "cp" } });
    expect(records.map((r) => r.data.activity?.operation).sort()).toEqual(["cp", "map", undefined].sort());
    expect(records.find((r) => r.data.activity?.operation === "map")!.data).toMatchObject({ id: origin.id, dataset: "a-doubled", activity: { function: "doubled" } });
    await source.delete("a-doubled");
  });

  it("copies a dataset to a new path in another pool, and a group into a group", async () => {
    await dosnaOk(["create", "dst", "--pool"], { cwd: dir });
    await Promise.all([dosnaOk(["cp", "src/a", "dst/x/y/a2"], { cwd: dir }), dosnaOk(["cp", "src/g", "dst::h"], { cwd: dir })]);
    const dst = await open("dst");
    expect(await contents(dst.store, "x/y/a2/")).toEqual(await contents(source.store, "a/"));
    expect(await contents(dst.store, "h/")).toEqual(await contents(source.store, "g/"));
    expect(await dst.keys()).toEqual(["h", "x"]);
  });

  it("re-encodes when asked for other chunks or compression, keeping values, fill value and attributes", async () => {
    const out = await dosnaOk(["cp", "src/a", "rechunked::a", "--chunks", "8,8", "--compression", "none"], { cwd: dir });
    expect(out).toMatch(/chunks: 12 written \(12 re-encoded\)/);
    const copy = await open("rechunked");
    const a = await copy.getDataset("a");
    expect([a.chunks, a.fillValue, a.attrs.toJSON(), a.metadata.codecs.map((c) => c.name)]).toEqual([[8, 8], -1, { units: "K" }, ["bytes"]]);
    expect(await values(copy, "a")).toEqual(await values(source, "a"));
  });

  it("resumes: skips chunks present and equal, rewrites damaged ones, removes stale ones", async () => {
    await dosnaOk(["cp", "src", "resume::"], { cwd: dir });
    const copy = await open("resume");
    const keys = [...(await contents(copy.store, "a/c/")).keys()].sort();
    // Simulate an interrupted copy: one chunk missing, one truncated, one stale chunk from elsewhere.
    await unlink(join(dir, "resume", "a", "c", ...keys[0].split("/")));
    await writeFile(join(dir, "resume", "a", "c", ...keys[1].split("/")), "damaged");
    await copy.store.set("a/c/0/0", await readFile(join(dir, "src", "a", "c", ...keys[2].split("/"))));
    const out = await dosnaOk(["cp", "src", "resume::"], { cwd: dir });
    const total = (await contents(source.store)).size - 5; // minus the five zarr.json files
    expect(out).toContain(`chunks: 2 written, `);
    expect(out).toContain(`${total - 2} already present and equal, 1 stale removed`);
    expect(await contents(copy.store)).toEqual(await contents(source.store));
  });

  it("resumes a re-encoding copy: equal chunks are skipped", async () => {
    await dosnaOk(["cp", "src/a", "rechunk2::a", "--chunks", "5,5"], { cwd: dir });
    const copy = await open("rechunk2");
    const a = await copy.getDataset("a");
    await a.chunk([1, 1]).delete();
    await a.set("15:20, 25:30", 0);
    const out = await dosnaOk(["cp", "src/a", "rechunk2::a", "--chunks", "5,5"], { cwd: dir });
    expect(out).toContain("chunks: 2 written (2 re-encoded), 22 already present and equal");
    expect(await values(copy, "a")).toEqual(await values(source, "a"));
  });

  it("refuses to copy onto a dataset of another shape or dtype, or onto a group, unless --overwrite", async () => {
    const target = await Pool.initialise(new FileSystemStore(join(dir, "occupied")), { name: "occupied" });
    await target.createDataset("a", { shape: [20, 31], dtype: "float64", data: new Float64Array(620).fill(7) });
    await target.createDataset("b", { shape: [50], dtype: "int32" });
    await target.createGroup("c");
    const before = await contents(target.store);
    const [shape, dtype, kind] = await Promise.all([
      dosna(["cp", "src/a", "occupied/a"], { cwd: dir }),
      dosna(["cp", "src/g/b", "occupied/b"], { cwd: dir }),
      dosna(["cp", "src/a", "occupied/c"], { cwd: dir }),
    ]);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toBe(
      'dosna: refusing to copy onto pool "' + join(dir, "occupied") + '": dataset "/a" has shape [20, 31] float64, the source has shape [20, 30] float64; pass --overwrite to replace\n',
    );
    expect(dtype.stderr).toContain('dataset "/b" has shape [50] int32, the source has shape [50] int16');
    expect(kind.stderr).toContain('"/c" is a group, the source is a dataset');
    expect([dtype.code, kind.code]).toEqual([1, 1]);
    expect(await contents(target.store)).toEqual(before);
    await dosnaOk(["cp", "--overwrite", "src/a", "occupied/a"], { cwd: dir });
    await dosnaOk(["cp", "--overwrite", "src/a", "occupied/c"], { cwd: dir });
    expect(await contents(target.store, "a/")).toEqual(await contents(source.store, "a/"));
    expect((await target.get("c")) instanceof Dataset).toBe(true);
  });

  it("refuses to copy a node into itself, and works between memory pools within one command", async () => {
    const [self, inside, memory] = await Promise.all([
      dosna(["cp", "src/g", "src/g"], { cwd: dir }),
      dosna(["cp", "src", "src::backup"], { cwd: dir }),
      dosna(["cp", "src/a", "memory:scratch/a"], { cwd: dir }),
    ]);
    expect([self.code, inside.code, memory.code]).toEqual([1, 1, 0]);
    expect(self.stderr).toMatch(/cannot copy "\/g" onto "\/g" in the same pool/);
    expect(inside.stderr).toMatch(/the destination is the source or inside it/);
    expect(memory.stdout).toMatch(/copied .*src::a to memory:scratch::a: 1 dataset, 0 groups/);
  });

  it("--zarr-format 2 makes a Zarr v2 destination that zarr-python reads; ls, info and get read v2 pools", async () => {
    const out = await dosnaOk(["cp", join(dir, "src"), `${join(dir, "as-v2")}::`, "--zarr-format", "2"]);
    expect(out).toMatch(/copied .*: 2 datasets, 3 groups/);
    const v2 = await open("as-v2");
    expect(v2.zarrFormat).toBe(2);
    expect(await values(v2, "a")).toEqual(await values(source, "a"));
    expect((await readFile(join(dir, "as-v2", "a", ".zarray"), "utf8")).includes('"dimension_separator": "."')).toBe(true);
    const python = JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", "import json,sys,zarr; a=zarr.open_group(sys.argv[1],mode='r')['a']; print(json.dumps({'shape': list(a.shape), 'sum': float(a[...].sum()), 'units': a.attrs['units'], 'fill': float(a.fill_value)}))", join(dir, "as-v2")], { encoding: "utf8" }),
    ) as { shape: number[]; sum: number; units: string; fill: number };
    const expected = await values(source, "a");
    expect(python.shape).toEqual([20, 30]);
    expect(python.sum).toBeCloseTo(expected.reduce((x, y) => x + y, 0), 6);
    expect(python).toMatchObject({ units: "K", fill: -1 });
    expect(await dosnaOk(["ls", join(dir, "as-v2")])).toMatch(/\ba\b[\s\S]*\bg\b/);
    expect(await dosnaOk(["get", `${join(dir, "as-v2", "g", "b")}`, "0:3"])).toMatch(/-25.*-24.*-23/s);
    // back to v3: an existing pool keeps its format; a new one is v3 by default
    await dosnaOk(["cp", join(dir, "as-v2"), `${join(dir, "back-v3")}::`]);
    const back = await open("back-v3");
    expect(back.zarrFormat).toBe(3);
    expect(await values(back, "a")).toEqual(expected);
  });
});
