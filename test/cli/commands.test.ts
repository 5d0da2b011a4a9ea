/**
 * The built `dosna` command on local pools: create, ls, info, get (against numpy's own printing),
 * attrs, rm, the URL rules, progress output and exit codes. Results are checked by opening the
 * pools with the library in this process.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm as rmDir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, FileSystemStore, Group, Pool, writeNpy, type DataType } from "../../src/index.js";
import { hasNumpy, python } from "../npy/numpy-oracle.js";
import { dosna, dosnaInTerminal, dosnaOk, ensureBuilt, hasScript } from "./run.js";

let dir: string;

async function openPool(path: string): Promise<Pool> {
  return Pool.open(new FileSystemStore(path, { createRoot: false }), { name: path });
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-"));
});
afterAll(async () => {
  await rmDir(dir, { recursive: true, force: true });
});

describe("create, ls and info", () => {
  it("create a dataset, a group and a pool, then list and describe them", async () => {
    const created = await dosnaOk(
      ["create", "./lab::scans/vol", "--shape", "10,20", "--dtype", "<f4", "--chunks", "5,8", "--fill-value", "nan", "--compression", "gzip", "--attrs", '{"units": "m"}'],
      { cwd: dir },
    );
    expect(created).toContain("created dataset");
    await Promise.all([
      dosnaOk(["create", "./lab/scans/raw", "--group", "--attrs", '{"n": 3}'], { cwd: dir }),
      dosnaOk(["create", "lab2", "--pool"], { cwd: dir }),
      dosnaOk(["create", `./lab::flags`, "--shape", "()", "--dtype", "bool"], { cwd: dir }),
    ]);
    const pool = await openPool(join(dir, "lab"));
    const vol = (await pool.get("scans/vol")) as Dataset;
    expect(vol).toBeInstanceOf(Dataset);
    expect([vol.shape, vol.dtype, vol.chunks, vol.fillValue, vol.attrs.toJSON()]).toEqual([[10, 20], "float32", [5, 8], NaN, { units: "m" }]);
    expect(vol.metadata.codecs.map((c) => c.name)).toEqual(["bytes", "gzip"]);
    expect(((await pool.get("scans/raw")) as Group).attrs.toJSON()).toEqual({ n: 3 });
    expect(((await pool.get("flags")) as Dataset).shape).toEqual([]);
    expect(existsSync(join(dir, "lab2", "zarr.json"))).toBe(true);

    await vol.set("0:5, 0:8", 1.5);
    const [listing, recursive, json, pools, info, infoJson, again] = await Promise.all([
      dosnaOk(["ls", "lab"], { cwd: dir }),
      dosnaOk(["ls", "-r", join(dir, "lab")]),
      dosnaOk(["ls", "--json", "-r", pathToFileURL(join(dir, "lab")).href]),
      dosnaOk(["ls"], { cwd: dir }),
      dosnaOk(["info", "lab/scans/vol"], { cwd: dir }),
      dosnaOk(["info", "--json", `${join(dir, "lab")}::scans/vol`]),
      dosna(["create", "lab2", "--pool"], { cwd: dir }),
    ]);
    expect(listing.split("\n")[0]).toMatch(/^NAME\s+SHAPE\s+DTYPE\s+CHUNKS\s+CODECS\s+STORED\s+BYTES$/);
    expect(listing).toMatch(/^flags\s+\[\]\s+bool\s+\[\]\s+bytes\s+0\/1\s+0 B$/m);
    expect(listing).toMatch(/^scans\/\s+group$/m);
    expect(recursive).toMatch(/^scans\/vol\s+\[10, 20\]\s+float32\s+\[5, 8\]\s+bytes\+gzip\(5\)\s+1\/6\s+\d+ B$/m);
    expect(recursive).toMatch(/^scans\/raw\/\s+group$/m);
    const entries = JSON.parse(json) as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e.path, e.kind])).toEqual([
      ["flags", "dataset"],
      ["scans", "group"],
      ["scans/raw", "group"],
      ["scans/vol", "dataset"],
    ]);
    expect(entries[3]).toMatchObject({ shape: [10, 20], dtype: "float32", chunks: [5, 8], chunkGrid: [2, 3], fillValue: "NaN", storedChunks: 1, possibleChunks: 6 });
    expect(pools.trim().split("\n")).toEqual(["lab", "lab2"]);
    expect(info).toMatch(/^dataset\s+\/scans\/vol$/m);
    expect(info).toMatch(/^stored\s+1 of 6 chunks, \d+ B \(160 B decoded, ratio \d+\.\d\d\)$/m);
    expect(info).toMatch(/^attributes\s+units = "m"$/m);
    const described = JSON.parse(infoJson) as Record<string, unknown>;
    expect(described).toMatchObject({ kind: "dataset", path: "scans/vol", storedChunks: 1, decodedBytes: 160, attributes: { units: "m" } });
    expect(described.storedBytes).toBeGreaterThan(0);
    expect(described.compressionRatio).toBeCloseTo(160 / (described.storedBytes as number), 2);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^dosna: pool .*lab2:: already exists\n$/);
  });

  it("info on a group and a pool lists children and attributes", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "tree")), { name: "tree", attrs: { owner: "me" } });
    await pool.createDataset("a", { shape: [2], dtype: "int8" });
    await pool.createGroup("g/h");
    const [poolInfo, groupInfo] = await Promise.all([dosnaOk(["info", "tree"], { cwd: dir }), dosnaOk(["info", "--json", "tree/g"], { cwd: dir })]);
    expect(poolInfo).toMatch(/^pool\s+fs:.*tree$/m);
    expect(poolInfo).toMatch(/^datasets\s+a$/m);
    expect(poolInfo).toMatch(/^groups\s+g$/m);
    expect(poolInfo).toMatch(/^attributes\s+owner = "me"$/m);
    expect(JSON.parse(groupInfo)).toMatchObject({ kind: "group", path: "/g", children: [{ name: "h", kind: "group" }], attributes: {} });
  });
});

describe("URL rules for local paths", () => {
  it("finds the pool by walking up through directories holding zarr.json, or takes DIR::PATH as given", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "outer", "p")), { name: "p" });
    await pool.createDataset("g/d", { shape: [3], dtype: "int32", data: new Int32Array([1, 2, 3]) });
    const [walked, explicit, fileUrl, notAPool, notThere, deeper] = await Promise.all([
      dosnaOk(["get", "outer/p/g/d"], { cwd: dir }),
      dosnaOk(["get", `${join(dir, "outer", "p")}::g/d`]),
      dosnaOk(["get", pathToFileURL(join(dir, "outer", "p", "g", "d")).href]),
      dosna(["info", "outer/x"], { cwd: dir }),
      dosna(["info", "outer/p/g/missing"], { cwd: dir }),
      dosna(["get", "outer/p/g"], { cwd: dir }),
    ]);
    for (const out of [walked, explicit, fileUrl]) expect(out).toBe("[1 2 3]\n");
    expect(notAPool.code).toBe(1);
    expect(notAPool.stderr).toMatch(/^dosna: no dosna pool at or above ".*outer\/x": .*DIR::PATH \(for example "outer::x"\).*\n$/);
    expect(notThere.code).toBe(1);
    expect(notThere.stderr).toBe(`dosna: nothing at "/g/missing" in pool "${join(dir, "outer", "p")}"\n`);
    expect(deeper.code).toBe(1);
    expect(deeper.stderr).toMatch(/is a group, not a dataset/);
  });
});

describe.skipIf(!hasNumpy)("get prints exactly what numpy prints", () => {
  it("for every dtype, summarised arrays, selections and 0-d results", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "printing")), { name: "printing" });
    const arrays: Record<string, { dtype: DataType; data: ArrayBufferView; shape: number[] }> = {
      i16: { dtype: "int16", data: Int16Array.from({ length: 60 }, (_, i) => (i * 997) % 3001 - 1500), shape: [3, 4, 5] },
      f64: { dtype: "float64", data: Float64Array.from({ length: 35 }, (_, i) => (i === 3 ? NaN : i === 5 ? -Infinity : Math.sin(i) * 10 ** (i % 5))), shape: [5, 7] },
      f32: { dtype: "float32", data: Float32Array.from({ length: 40 * 60 }, (_, i) => Math.cos(i) * 3), shape: [40, 60] },
      b: { dtype: "bool", data: Uint8Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 1 : 0)), shape: [3, 4] },
      u64: { dtype: "uint64", data: BigUint64Array.from({ length: 6 }, (_, i) => 2n ** 64n - 1n - BigInt(i) * 12345678901234n), shape: [6] },
      i8: { dtype: "int8", data: Int8Array.from({ length: 3000 }, (_, i) => (i % 256) - 128), shape: [3000] },
    };
    for (const [name, a] of Object.entries(arrays)) {
      await pool.createDataset(name, { data: ndarray(a.data as never, a.shape), dtype: a.dtype, chunks: 7 });
      await writeNpy(join(dir, `print-${name}.npy`), ndarray(a.data as never, a.shape), { dtype: a.dtype });
    }
    const cases: Array<[string, string | undefined]> = [
      ["i16", undefined],
      ["i16", "1, ::-1, 2:4"],
      ["i16", "2, 3, 4"],
      ["f64", undefined],
      ["f64", "::2, [0, 3, 5]"],
      ["f32", undefined],
      ["f32", "5:9, ::-7"],
      ["b", undefined],
      ["b", "1, 0"],
      ["u64", undefined],
      ["i8", undefined],
      ["i8", "::-1"],
    ];
    const outputs = await Promise.all(cases.map(([name, sel]) => dosnaOk(["get", `printing/${name}`, ...(sel === undefined ? [] : [sel])], { cwd: dir })));
    const expected = JSON.parse(
      await python(
        `out = []
for name, sel in json.loads(sys.argv[1]):
    a = np.load(f'{sys.argv[2]}/print-{name}.npy')
    r = a if sel is None else eval(f'a[{sel}]')
    out.append(str(r) + "\\n")
print(json.dumps(out))`,
        [JSON.stringify(cases), dir],
      ),
    ) as string[];
    cases.forEach(([name, sel], i) => expect(outputs[i], `get ${name} ${sel ?? ""}`).toBe(expected[i]));
  });
});

describe("get --json", () => {
  it("prints shape, dtype and data with exact 64-bit integers and named non-finite floats", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "json")), { name: "json" });
    await pool.createDataset("f", { data: Float64Array.from([1.5, NaN, -Infinity, Infinity]), shape: [2, 2] });
    await pool.createDataset("i", { data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]), chunks: 1 });
    await pool.createDataset("b", { data: Uint8Array.from([1, 0]), dtype: "bool" });
    const [f, i, b, scalar] = await Promise.all([
      dosnaOk(["get", "--json", "json/f"], { cwd: dir }),
      dosnaOk(["get", "--json", "json/i"], { cwd: dir }),
      dosnaOk(["get", "--json", "json/b"], { cwd: dir }),
      dosnaOk(["get", "--json", "json/f", "1, 0"], { cwd: dir }),
    ]);
    expect(JSON.parse(f)).toEqual({ shape: [2, 2], dtype: "float64", data: [[1.5, "NaN"], ["-Infinity", "Infinity"]] });
    expect(i.trim()).toBe('{"shape":[2],"dtype":"int64","data":[-9223372036854775808,9223372036854775807]}');
    expect(JSON.parse(b)).toEqual({ shape: [2], dtype: "bool", data: [true, false] });
    expect(JSON.parse(scalar)).toEqual({ shape: [], dtype: "float64", data: "-Infinity" });
  });
});

describe("attrs", () => {
  it("sets, shows and deletes attributes of datasets, groups and pools", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "attrs")), { name: "attrs" });
    await pool.createDataset("d", { shape: [1], dtype: "uint8" });
    await dosnaOk(["attrs", "attrs/d", "scale", "0.5"], { cwd: dir });
    await dosnaOk(["attrs", "attrs/d", "label", "not json"], { cwd: dir });
    await dosnaOk(["attrs", "attrs/d", "meta", '{"a": [1, 2]}'], { cwd: dir });
    await dosnaOk(["attrs", "attrs", "title", '"pool title"'], { cwd: dir });
    const [all, one, missing] = await Promise.all([
      dosnaOk(["attrs", "attrs/d"], { cwd: dir }),
      dosnaOk(["attrs", "attrs/d", "meta"], { cwd: dir }),
      dosna(["attrs", "attrs/d", "nope"], { cwd: dir }),
    ]);
    expect(JSON.parse(all)).toEqual({ scale: 0.5, label: "not json", meta: { a: [1, 2] } });
    expect(JSON.parse(one)).toEqual({ a: [1, 2] });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^dosna: attribute "nope" is not set on .*attrs::d\n$/);
    await dosnaOk(["attrs", "attrs/d", "--delete", "scale", "--delete", "label"], { cwd: dir });
    const reopened = await openPool(join(dir, "attrs"));
    expect(((await reopened.get("d")) as Dataset).attrs.toJSON()).toEqual({ meta: { a: [1, 2] } });
    expect(reopened.attrs.toJSON()).toEqual({ title: "pool title" });
  });
});

describe("rm", () => {
  it("refuses without --yes when stdin is not a terminal, deletes with it", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "rm")), { name: "rm" });
    await pool.createDataset("d", { data: new Float32Array(10), chunks: 2 });
    await pool.createDataset("g/e", { data: Int32Array.from([1, 2, 3]) });
    const refused = await dosna(["rm", "rm/d"], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^dosna: refusing to delete dataset .*rm::d \(shape \[10\] float32\) without confirmation: stdin is not a terminal; pass --yes\n$/);
    expect(await pool.has("d")).toBe(true);
    await dosnaOk(["rm", "--yes", "rm/d"], { cwd: dir });
    await dosnaOk(["rm", "-y", "rm/g"], { cwd: dir });
    expect(await pool.keys()).toEqual([]);
    await dosnaOk(["rm", "-y", "rm"], { cwd: dir });
    expect(existsSync(join(dir, "rm"))).toBe(false);
  });

  it.skipIf(!hasScript)("asks on a terminal and deletes only on yes", async () => {
    const pool = await Pool.initialise(new FileSystemStore(join(dir, "ask")), { name: "ask" });
    await pool.createDataset("keep", { shape: [1], dtype: "int8" });
    await pool.createDataset("drop", { shape: [1], dtype: "int8" });
    const [no, yes] = await Promise.all([
      dosnaInTerminal(["rm", "ask/keep"], { cwd: dir, input: "n\n" }),
      dosnaInTerminal(["rm", "ask/drop"], { cwd: dir, input: "yes\n" }),
    ]);
    expect(no.stdout).toMatch(/delete dataset .*ask::keep .*\? \[y\/N\]/);
    expect(no.stdout).toContain("nothing deleted");
    expect(yes.stdout).toContain("deleted dataset");
    expect([no.code, yes.code]).toEqual([0, 0]);
    expect(await pool.keys()).toEqual(["keep"]);
  });
});

describe("progress and quiet", () => {
  it("prints plain progress lines when stderr is not a terminal, nothing with --quiet, a bar on a terminal", async () => {
    await writeNpy(join(dir, "progress.npy"), ndarray(Float64Array.from({ length: 5000 }, (_, i) => i), [100, 50]));
    const [plain, quiet, terminal] = await Promise.all([
      dosna(["import", "progress.npy", "prog::a", "--chunks", "10,50"], { cwd: dir }),
      dosna(["--quiet", "import", "progress.npy", "prog::b"], { cwd: dir }),
      hasScript ? dosnaInTerminal(["import", "progress.npy", "prog::c"], { cwd: dir }) : Promise.resolve(undefined),
    ]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^import progress\.npy: 100% \(39\.1 KiB of 39\.1 KiB, (-|\d.*\/s), done in .*\)$/m);
    expect(plain.stdout).toMatch(/^imported progress\.npy \(shape \[100, 50\] float64\) into .*prog::a in /);
    expect(quiet).toEqual({ code: 0, stdout: "", stderr: "" });
    if (terminal) {
      expect(terminal.code).toBe(0);
      expect(terminal.stdout).toMatch(/import progress\.npy \[[█░]+\] 100% \| 39\.1 KiB of 39\.1 KiB \| (-|\d.*\/s) \| ETA /);
    }
  });
});

describe("usage errors", () => {
  it("exit 1 with one line for unknown options, missing arguments and bad option values", async () => {
    const results = await Promise.all([
      dosna(["ls", "--nope"]),
      dosna(["get"]),
      dosna(["--njobs", "zero", "ls"]),
      dosna(["create", "memory:p/x", "--shape", "2,-1", "--dtype", "f4"]),
      dosna(["create", "memory:p/x", "--shape", "2", "--dtype", "float128"]),
      dosna(["create", "memory:p/x", "--shape", "2", "--dtype", "f4", "--compression", "lz4"]),
      dosna(["ls", "ftp://host/x"]),
    ]);
    for (const result of results) {
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
      expect(result.stderr.startsWith("dosna: ")).toBe(true);
    }
    expect(results[0].stderr).toContain("unknown option '--nope'");
    expect(results[2].stderr).toContain("--njobs must be a positive integer");
    expect(results[3].stderr).toContain('--shape must be a list of integers ≥ 0 such as "100,200", got "2,-1"');
    expect(results[4].stderr).toContain('--dtype "float128" is not a supported data type');
    expect(results[5].stderr).toMatch(/compression.*gzip/);
    expect(results[6].stderr).toContain('unsupported URL scheme "ftp:"');
  });

  it("memory: URLs work within one command", async () => {
    const out = await dosnaOk(["create", "memory:scratch/x", "--shape", "4", "--dtype", "int32"]);
    expect(out).toMatch(/^created dataset memory:scratch::x: shape \[4\] int32, chunks \[4\]\n$/);
    const [listed, json] = await Promise.all([dosnaOk(["ls", "memory:"]), dosnaOk(["ls", "--json", "memory:"])]);
    expect([listed, json]).toEqual(["", "[]\n"]);
  });
});
