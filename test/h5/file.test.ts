/**
 * dn.File, the HDF5-style face: h5py's modes on a local directory, and the h5wasm method names
 * over core objects. Stored bytes are checked on disk; contents against plain loops.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { valuesOf } from "../helpers/reference.js";

let root: string;
let counter = 0;
/** A path under the test's temp directory that does not exist yet. */
const freshPath = (name = "f") => join(root, `${name}-${counter++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dosna-h5-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Write a small file with one dataset and one attribute, and close it. */
async function makeFile(path: string): Promise<void> {
  const f = new dn.File(path, "w");
  await f.create_dataset({ name: "values", data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], chunks: [1, 2] });
  await f.create_attribute("title", "original");
  await f.close();
}

async function filesUnder(path: string): Promise<string[]> {
  return (await readdir(path, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(path.length + 1))
    .sort();
}

const asH5Dataset = (node: dn.H5Dataset | dn.H5Group | null): dn.H5Dataset => {
  expect(node).toBeInstanceOf(dn.H5Dataset);
  return node as dn.H5Dataset;
};
const asH5Group = (node: dn.H5Dataset | dn.H5Group | null): dn.H5Group => {
  expect(node).toBeInstanceOf(dn.H5Group);
  return node as dn.H5Group;
};

describe("File modes (h5py)", () => {
  it('"r" opens an existing file read-only; every write fails with ReadOnlyError', async () => {
    const path = freshPath();
    await makeFile(path);
    const before = await filesUnder(path);
    const f = new dn.File(path, "r");
    expect(f.mode).toBe("r");
    expect(f.filename).toBe(path);
    expect(await f.keys()).toEqual(["values"]);
    const ds = asH5Dataset(await f.get("values"));
    expect(valuesOf((await ds.value) as Int32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const writes: Array<() => Promise<unknown>> = [
      () => f.create_dataset({ name: "new", data: new Int8Array(3) }),
      () => f.create_group("g"),
      () => f.create_attribute("x", 1),
      () => f.delete_attribute("title"),
      () => ds.write_slice([[0, 1]], 9),
      () => ds.create_attribute("x", 1),
      () => ds.resize([4, 3]),
      () => f.delete("values"),
    ];
    for (const write of writes) await expect(write()).rejects.toThrow(dn.ReadOnlyError);
    expect(await filesUnder(path)).toEqual(before);
    await f.close();
  });

  it('"r" and "r+" need an existing dosna directory', async () => {
    for (const mode of ["r", "r+"] as const) {
      const missing = freshPath("missing");
      await expect(new dn.File(missing, mode).keys()).rejects.toThrow(dn.NotFoundError);
      await expect(new dn.File(missing, mode).keys()).rejects.toThrow(missing);
      await expect(readdir(missing)).rejects.toThrow(); // nothing was created
      const foreign = freshPath("foreign");
      await mkdir(foreign);
      await writeFile(join(foreign, "notes.txt"), "not zarr");
      await expect(new dn.File(foreign, mode).keys()).rejects.toThrow(/not a dosna\/Zarr pool/);
    }
  });

  it('"r+" reads and writes an existing file', async () => {
    const path = freshPath();
    await makeFile(path);
    const f = new dn.File(path, "r+");
    const ds = asH5Dataset(await f.get("values"));
    await ds.write_slice([[1, 2], [0, 3, 2]], [-1, -3]);
    await f.create_group("added");
    await f.close();
    const r = new dn.File(path, "r");
    expect(valuesOf((await asH5Dataset(await r.get("values")).value) as Int32Array)).toEqual([1, 2, 3, -1, 5, -3]);
    expect(await r.keys()).toEqual(["added", "values"]);
  });

  it('"w" creates, and truncates an existing dosna directory', async () => {
    const path = freshPath();
    const created = new dn.File(path, "w");
    expect(await created.keys()).toEqual([]);
    expect(await filesUnder(path)).toEqual(["zarr.json"]);
    await makeFile(path);
    expect(await filesUnder(path)).toContain("values/c/0/0");
    const f = new dn.File(path, "w");
    expect(await f.keys()).toEqual([]);
    expect(await f.attrs).toEqual({});
    expect(await filesUnder(path)).toEqual(["zarr.json"]);
  });

  it('"w" refuses a non-empty directory that is not a dosna pool, and leaves it alone', async () => {
    const foreign = freshPath("foreign");
    await mkdir(join(foreign, "sub"), { recursive: true });
    await writeFile(join(foreign, "sub", "precious.txt"), "keep me");
    await expect(new dn.File(foreign, "w").keys()).rejects.toThrow(/not a dosna\/Zarr pool; refusing to truncate/);
    expect(await readFile(join(foreign, "sub", "precious.txt"), "utf8")).toBe("keep me");
    expect(await filesUnder(foreign)).toEqual(["sub/precious.txt"]);
    // an empty directory is fine
    const empty = freshPath("empty");
    await mkdir(empty);
    expect(await new dn.File(empty, "w").keys()).toEqual([]);
  });

  it("a regular file (say an HDF5 file) is refused in every mode, untouched", async () => {
    const path = `${freshPath("real")}.h5`;
    await writeFile(path, "\x89HDF\r\n", "latin1");
    for (const mode of ["r", "r+", "w", "w-", "x", "a"] as const) {
      await expect(new dn.File(path, mode).keys(), mode).rejects.toThrow(/is a file, not a dosna\/Zarr directory/);
    }
    expect(await readFile(path, "latin1")).toBe("\x89HDF\r\n");
  });

  it('"w-" and "x" create, and fail if the file exists', async () => {
    for (const mode of ["w-", "x"] as const) {
      const path = freshPath();
      const f = new dn.File(path, mode);
      await f.create_dataset({ name: "d", data: new Float64Array([1.5]) });
      await f.close();
      await expect(new dn.File(path, mode).keys()).rejects.toThrow(dn.AlreadyExistsError);
      await expect(new dn.File(path, mode).keys()).rejects.toThrow(path);
      const foreign = freshPath("foreign");
      await mkdir(foreign);
      await writeFile(join(foreign, "x"), "");
      await expect(new dn.File(foreign, mode).keys()).rejects.toThrow(dn.AlreadyExistsError);
      // the existing file is intact
      expect(valuesOf((await asH5Dataset(await new dn.File(path, "r").get("d")).value) as Float64Array)).toEqual([1.5]);
    }
  });

  it('"a" creates a missing file and opens an existing one keeping its contents', async () => {
    const path = freshPath();
    const f = new dn.File(path, "a");
    expect(await f.keys()).toEqual([]);
    await f.create_dataset({ name: "d", data: new Uint8Array([1, 2]) });
    await f.close();
    const again = new dn.File(path, "a");
    expect(await again.keys()).toEqual(["d"]);
    await again.create_dataset({ name: "e", data: new Uint8Array([3]) });
    expect(await again.keys()).toEqual(["d", "e"]);
    const foreign = freshPath("foreign");
    await mkdir(foreign);
    await writeFile(join(foreign, "x"), "");
    await expect(new dn.File(foreign, "a").keys()).rejects.toThrow(/not a dosna\/Zarr pool/);
  });

  it("an invalid mode fails at once, naming the valid ones", () => {
    expect(() => new dn.File(freshPath(), "rw" as dn.FileMode)).toThrow(dn.ValidationError);
    expect(() => new dn.File(freshPath(), "Sa" as dn.FileMode)).toThrow(/"Sa".*r, r\+, w, w-, x, a/);
  });

  it("accepts file:// URLs", async () => {
    const path = freshPath("url");
    const url = pathToFileURL(path).href;
    const f = new dn.File(url, "w");
    expect(f.filename).toBe(path);
    await f.create_dataset({ name: "d", data: new Int16Array([4, 5]) });
    expect(await filesUnder(path)).toEqual(["d/c/0", "d/zarr.json", "zarr.json"]);
    expect(valuesOf((await asH5Dataset(await new dn.File(url, "r").get("d")).value) as Int16Array)).toEqual([4, 5]);
  });
});

describe("datasets, groups and attributes through File", () => {
  let path: string;
  let f: dn.File;
  beforeAll(async () => {
    path = freshPath("api");
    f = new dn.File(path, "w");
  });

  it("create_dataset with data, shape, dtype, chunks and fillvalue", async () => {
    const ds = await f.create_dataset({ name: "full", data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2], dtype: "<f4", chunks: [2, 2] });
    expect(ds.shape).toEqual([3, 2]);
    expect(ds.ndim).toBe(2);
    expect(ds.dtype).toBe("<f");
    expect(ds.path).toBe("/full");
    expect(ds.dataset.chunks).toEqual([2, 2]);
    expect(valuesOf((await ds.value) as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);

    const empty = await f.create_dataset({ name: "empty", shape: [5], dtype: "<i2", chunks: [2], fillvalue: -9 });
    expect(empty.dtype).toBe("<h");
    expect(valuesOf((await empty.value) as Int16Array)).toEqual([-9, -9, -9, -9, -9]);
    expect(await filesUnder(join(path, "empty"))).toEqual(["zarr.json"]);

    // dtype converts the data; numpy spellings work as well as struct codes
    const converted = await f.create_dataset({ name: "converted", data: new Float64Array([1, 2, 3]), dtype: "uint8" });
    expect(converted.dtype).toBe("<B");
    expect((await converted.value) as Uint8Array).toBeInstanceOf(Uint8Array);
    const dtypes: Array<[string, string]> = [["<d", "<d"], ["f8", "<d"], ["<i", "<i"], [">q", "<q"], ["<Q", "<Q"], ["int16", "<h"], ["b", "<b"]];
    for (const [given, reported] of dtypes) {
      expect((await f.create_dataset({ name: `dt-${counter++}`, shape: [1], dtype: given })).dtype, given).toBe(reported);
    }
  });

  it("create_dataset from plain numbers as h5wasm does: a flat list fills the shape, a number is 0-d", async () => {
    const grid = await f.create_dataset({ name: "grid", data: [1, 2, 3, 4, 5, 6], shape: [2, 3] });
    expect([grid.shape, grid.dtype]).toEqual([[2, 3], "<i"]);
    expect(valuesOf((await grid.slice([[1, 2], []])) as Int32Array)).toEqual([4, 5, 6]);
    const floats = await f.create_dataset({ name: "floats", data: [0.5, 2] });
    expect([floats.shape, floats.dtype]).toEqual([[2], "<d"]);
    const scalar = await f.create_dataset({ name: "scalar", data: 42 });
    expect(scalar.shape).toEqual([]);
    expect(scalar.ndim).toBe(0);
    expect(scalar.dtype).toBe("<i");
    expect(await scalar.value).toBe(42);
    expect(await scalar.slice([])).toBe(42);
    await scalar.write_slice([], 7);
    expect(await asH5Dataset(await new dn.File(path, "r").get("scalar")).value).toBe(7);
    const typedScalar = await f.create_dataset({ name: "fscalar", data: 2.5, dtype: "<f" });
    expect([typedScalar.shape, typedScalar.dtype, await typedScalar.value]).toEqual([[], "<f", 2.5]);
  });

  it("compression: gzip with a level in compression_opts, h5wasm's numeric form, and none", async () => {
    const data = new Int32Array(64).map((_, i) => i % 5);
    const codecsOf = (ds: dn.H5Dataset) => ds.dataset.metadata.codecs.map((c) => [c.name, (c.configuration as { level?: number } | undefined)?.level]);
    const cases: Array<[Partial<dn.CreateDatasetArgs>, Array<[string, number | undefined]>]> = [
      [{ compression: "gzip" }, [["bytes", undefined], ["gzip", 4]]],
      [{ compression: "gzip", compression_opts: 9 }, [["bytes", undefined], ["gzip", 9]]],
      [{ compression: "gzip", compression_opts: [2] }, [["bytes", undefined], ["gzip", 2]]],
      [{ compression: 6 }, [["bytes", undefined], ["gzip", 6]]], // a bare number is the gzip level
      [{ compression: 1, compression_opts: 3 }, [["bytes", undefined], ["gzip", 3]]], // filter id 1 (deflate) + level
      [{ compression: null }, [["bytes", undefined]]],
      [{ compression: 0 }, [["bytes", undefined]]],
      [{}, [["bytes", undefined]]],
    ];
    for (const [options, expected] of cases) {
      const name = `z${counter++}`;
      const ds = await f.create_dataset({ name, data, shape: [8, 8], chunks: [4, 8], ...options });
      expect(codecsOf(ds), JSON.stringify(options)).toEqual(expected);
      const stored = await readFile(join(path, name, "c", "1", "0"));
      const raw = expected.length > 1 ? gunzipSync(stored) : stored;
      if (expected.length > 1) expect([stored[0], stored[1]]).toEqual([0x1f, 0x8b]);
      expect(Array.from(new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4))).toEqual(Array.from(data.subarray(32)));
      expect(valuesOf((await asH5Dataset(await new dn.File(path, "r").get(name)).value) as Int32Array)).toEqual(Array.from(data));
    }
    await expect(f.create_dataset({ name: "lzf", data, compression: "lzf" as never })).rejects.toThrow(/compression "lzf".*"lzf"|"lzf" of dataset "lzf"/);
    await expect(f.create_dataset({ name: "szip", data, compression: 32001, compression_opts: [1] })).rejects.toThrow(dn.ValidationError);
    expect(await f.get("lzf")).toBeNull();
  });

  it("get returns the node, or null when nothing is there; keys lists children", async () => {
    const g = await f.create_group("outer/inner");
    expect(await g.path).toBe("/outer/inner");
    await g.create_dataset({ name: "leaf", data: new Int8Array([1]) });
    expect(await asH5Group(await f.get("outer")).keys()).toEqual(["inner"]);
    expect(await asH5Group(await f.get("/outer/inner")).keys()).toEqual(["leaf"]);
    expect(asH5Dataset(await f.get("outer/inner/leaf")).path).toBe("/outer/inner/leaf");
    expect(asH5Dataset(await asH5Group(await f.get("outer")).get("inner/leaf")).path).toBe("/outer/inner/leaf");
    expect(await f.get("nothing")).toBeNull();
    expect(await f.get("outer/nothing/deeper")).toBeNull();
    expect(await f.get("/")).toBe(f);
    expect(await f.keys()).toEqual(expect.arrayContaining(["grid", "outer", "scalar"]));
    expect(await f.keys()).toEqual([...(await f.keys())].sort());
    await expect(f.create_group("outer")).rejects.toThrow(dn.AlreadyExistsError);
    expect(await (await f.require_group("outer")).path).toBe("/outer");
  });

  it("attrs, create_attribute, get_attribute and delete_attribute persist across reopen", async () => {
    await f.create_attribute("title", "demo");
    await f.create_attribute("version", 3);
    const g = asH5Group(await f.get("outer"));
    await g.create_attribute("list", [1, 2, 3]);
    const ds = asH5Dataset(await f.get("grid"));
    await ds.create_attribute("units", "mm");
    await ds.create_attribute("zeta", { nested: true });
    await ds.create_attribute("alpha", 0.5);
    await ds.create_attribute("units", "cm"); // replaces
    await ds.create_attribute("temporary", 1);
    await ds.delete_attribute("temporary");

    const r = new dn.File(path, "r");
    const fileAttrs = await r.attrs;
    expect(fileAttrs.title).toEqual({ name: "title", value: "demo", json_value: "demo" });
    expect(fileAttrs.version.value).toBe(3);
    expect(await r.get_attribute("title")).toBe("demo");
    expect((await asH5Group(await r.get("outer")).attrs).list.json_value).toEqual([1, 2, 3]);
    const dsAttrs = await asH5Dataset(await r.get("grid")).attrs;
    expect(Object.keys(dsAttrs)).toEqual(["alpha", "units", "zeta"]); // sorted by name, as HDF5 lists them
    expect(dsAttrs.units.value).toBe("cm");
    expect(dsAttrs.zeta.value).toEqual({ nested: true });
    expect(await asH5Dataset(await r.get("grid")).get_attribute("missing")).toBeUndefined();
  });

  it("slice, write_slice, value, shape, dtype", async () => {
    const shape = [4, 5, 6];
    const data = new Float64Array(120).map((_, i) => i);
    const ds = await f.create_dataset({ name: "cube", data, shape, chunks: [3, 2, 4] });
    const at = (i: number, j: number, k: number) => i * 30 + j * 6 + k;
    /** h5wasm's hyperslab semantics: clamp [start, stop) to [0, size], positive steps only. */
    const reference = (source: Float64Array, ranges: Array<[number?, number?, number?]>) => {
      const axes = shape.map((size, axis) => {
        const [start = 0, stop = size, step = 1] = ranges[axis] ?? [];
        const out: number[] = [];
        for (let i = Math.max(0, start); i < Math.min(size, stop); i += step) out.push(i);
        return out;
      });
      const out: number[] = [];
      for (const i of axes[0]) for (const j of axes[1]) for (const k of axes[2]) out.push(source[at(i, j, k)]);
      return out;
    };
    const cases: Array<Array<[number?, number?, number?]>> = [
      [],
      [[1, 3]],
      [[0, 4, 3], [1, 5, 2], [5]],
      [[2, 3], [], [0, 6, 4]],
      [[1, 99], [-5, 2], [3, 4]],
      [[3, 1]],
    ];
    for (const ranges of cases) {
      expect(valuesOf((await ds.slice(ranges as never)) as Float64Array), JSON.stringify(ranges)).toEqual(reference(data, ranges));
    }
    await expect(ds.slice([[0, 1, 0]] as never)).rejects.toThrow(/step 0/);
    await expect(ds.slice([[], [], [], []])).rejects.toThrow(/4 ranges.*3 dimensions/);

    const expected = Float64Array.from(data);
    const writes: Array<[Array<[number?, number?, number?]>, number[] | number]> = [
      [[[1, 3], [0, 5, 2], [2, 3]], [-1, -2, -3, -4, -5, -6]],
      [[[3], [4], []], -7],
      [[[], [1, 2], [0, 6, 5]], Array.from({ length: 8 }, (_, i) => 100 + i)],
    ];
    for (const [ranges, values] of writes) {
      const flat = typeof values === "number" ? values : new Float64Array(values);
      await ds.write_slice(ranges as never, flat);
      let n = 0;
      const axes = shape.map((size, axis) => {
        const [start = 0, stop = size, step = 1] = ranges[axis] ?? [];
        const out: number[] = [];
        for (let i = start; i < Math.min(size, stop); i += step) out.push(i);
        return out;
      });
      for (const i of axes[0]) for (const j of axes[1]) for (const k of axes[2]) expected[at(i, j, k)] = typeof values === "number" ? values : values[n++];
    }
    await ds.write_slice([[0, 1], [0, 1], [0, 2]], [11, 12]); // a plain list works like a typed array
    expected[0] = 11;
    expected[1] = 12;
    expect(valuesOf((await ds.value) as Float64Array)).toEqual(Array.from(expected));
    await expect(ds.write_slice([[0, 1], [0, 1], [0, 3]], [1, 2])).rejects.toThrow(dn.ShapeError);
    expect(valuesOf((await asH5Dataset(await new dn.File(path, "r").get("cube")).value) as Float64Array)).toEqual(Array.from(expected));
  });

  it("resize grows with fill values and shrinks, also after a reopen", async () => {
    const ds = await f.create_dataset({ name: "growing", data: new Uint16Array([1, 2, 3, 4]), shape: [2, 2], chunks: [1, 2], maxshape: [null, 2], fillvalue: 0 });
    await ds.resize([3, 2]);
    expect(ds.shape).toEqual([3, 2]);
    expect(valuesOf((await ds.value) as Uint16Array)).toEqual([1, 2, 3, 4, 0, 0]);
    await ds.resize([1, 2]);
    await ds.resize([3, 2]);
    expect(valuesOf((await ds.value) as Uint16Array)).toEqual([1, 2, 0, 0, 0, 0]);
    const reopened = asH5Dataset(await new dn.File(path, "r").get("growing"));
    expect(reopened.shape).toEqual([3, 2]);
    await expect(ds.resize([3])).rejects.toThrow(dn.ShapeError);
  });

  it("require_dataset opens a matching dataset, creates a missing one, refuses a mismatch", async () => {
    const created = await f.require_dataset({ name: "req", shape: [3], dtype: "<i4", fillvalue: 1 });
    expect(valuesOf((await created.value) as Int32Array)).toEqual([1, 1, 1]);
    await created.write_slice([[0, 1]], 5);
    const opened = await f.require_dataset({ name: "req", shape: [3], dtype: "<i" });
    expect(valuesOf((await opened.value) as Int32Array)).toEqual([5, 1, 1]);
    await expect(f.require_dataset({ name: "req", shape: [4], dtype: "<i" })).rejects.toThrow(/shape \[3\], not \[4\]/);
    await expect(f.require_dataset({ name: "req", shape: [3], dtype: "<f" })).rejects.toThrow(/dtype int32, not <f/);
  });

  it("delete removes a dataset or a group with everything below it", async () => {
    const g = await f.create_group("trash/deep");
    await g.create_dataset({ name: "d", data: new Int8Array([1, 2]) });
    await f.delete("trash");
    expect(await f.get("trash")).toBeNull();
    await expect(readdir(join(path, "trash"))).rejects.toThrow();
  });
});
