/**
 * Issue 2's "bad input" table, on every backend: each failure has the right error class, a
 * message naming the dataset / key / argument / axis and what was expected, and leaves every
 * stored key and byte as it was.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectError, expectErrorAndNoChange } from "../helpers/expect-error.js";
import { referenceGet, valuesOf, type RefItem } from "../helpers/reference.js";

const SHAPE = [10, 12];
const CHUNKS = [4, 5];
const FILL = -1;
/** Row-major values of the written region "0:6, 0:7"; everything else is the fill value. */
const CONTENTS = Int32Array.from({ length: 120 }, (_, i) => (Math.floor(i / 12) < 6 && i % 12 < 7 ? i * 3 + 1 : FILL));
const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

for (const kind of backendKinds) {
  describe(`bad input on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let poolName: string;
    let pool: dn.Pool;
    let ds: dn.Dataset;
    let store: dn.Store;

    beforeAll(async () => {
      fixture = await kind.make();
      poolName = uniquePoolName("errors");
      pool = await fixture.cluster.createPool(poolName);
      store = pool.store;
      ds = await pool.createDataset("data", { shape: SHAPE, dtype: "int32", chunks: CHUNKS, fillValue: FILL });
      await ds.set("0:6, 0:7", ndarray(CONTENTS, SHAPE).hi(6, 7));
    });
    afterAll(async () => {
      await fixture.cluster.deletePool(poolName, { force: true });
      await fixture.cleanup();
    });

    it("the fixture holds the expected contents", async () => {
      expect(valuesOf((await ds.read()).data)).toEqual(valuesOf(CONTENTS));
    });

    describe("selections", () => {
      const cases: Array<[string, dn.Selection, string[]]> = [
        ["index out of range (string)", "0, 12", ['dataset "/data"', "index 12", "axis 1", "size 12"]],
        ["index out of range (negative)", [-11], ['dataset "/data"', "index -11", "axis 0", "size 10"]],
        ["index array out of range", [null, [0, 3, 12]], ['dataset "/data"', "index 12", "axis 1", "size 12"]],
        ["index array out of range (string)", "[10]", ['dataset "/data"', "index 10", "axis 0", "size 10"]],
        ["too many indices", "1, 2, 3", ['dataset "/data"', "too many indices", "2-dimensional", "3 were indexed"]],
        ["too many indices (array form)", [0, 0, 0], ['dataset "/data"', "too many indices", "2-dimensional"]],
        ["two ellipses", "..., 1, ...", ['dataset "/data"', "single ellipsis"]],
        ["two ellipses (array form)", ["...", "..."], ['dataset "/data"', "single ellipsis"]],
        ["zero step", ":, ::0", ['dataset "/data"', "step", "zero", "axis 1"]],
        ["zero step (array form)", [dn.slice(0, 5, 0)], ['dataset "/data"', "step", "zero", "axis 0"]],
        ["malformed string", "1:2:3:4", ['dataset "/data"', 'invalid selection "1:2:3:4"', "position 5"]],
        ["malformed string (empty item)", "1,,2", ['dataset "/data"', 'invalid selection "1,,2"', "position 2"]],
        ["malformed string (words)", "rows", ['dataset "/data"', 'invalid selection "rows"', "position 0"]],
        ["boolean mask of the wrong length", [[true, false]], ['dataset "/data"', "axis 0", "size of axis is 10", "boolean axis is 2"]],
        ["non-integer index", [1.5], ['dataset "/data"', "1.5", "axis 0", "integers"]],
      ];
      for (const [name, selection, fragments] of cases) {
        it(`get: ${name} → SelectionError`, async () => {
          await expectErrorAndNoChange(store, () => ds.get(selection), dn.SelectionError, fragments);
        });
        it(`set: ${name} → SelectionError, nothing written`, async () => {
          await expectErrorAndNoChange(store, () => ds.set(selection, 7), dn.SelectionError, fragments);
        });
      }

      it("a DataChunk selection beyond the chunk names the chunk and its size", async () => {
        await expectErrorAndNoChange(store, () => ds.chunk([0, 0]).get("4"), dn.SelectionError, [
          "chunk [0,0]",
          'dataset "/data"',
          "index 4",
          "axis 0",
          "size 4",
        ]);
      });

      it("a chunk outside the grid names the grid", async () => {
        await expectError(() => ds.chunk([3, 0]), dn.NotFoundError, ["chunk [3,0]", "[3,3]", 'dataset "/data"']);
        await expectError(() => ds.chunk([0]), dn.NotFoundError, ["chunk [0]", "[3,3]"]);
      });
    });

    describe("values that do not fit the selection", () => {
      const cases: Array<[string, dn.Selection, () => dn.WritableValue, string[]]> = [
        ["a typed array of another length", "0:3, 0:4", () => new Int32Array(5), ["(5,)", "(3,4)"]],
        ["a nested array of another shape", "0:3, 0:4", () => [[1, 2], [3, 4], [5, 6]], ["(3,2)", "(3,4)"]],
        ["an ndarray of another shape", ":, :", () => ndarray(new Int32Array(24), [2, 12]), ["(2,12)", "(10,12)"]],
        ["an ndarray with an extra leading axis", "0, :", () => ndarray(new Int32Array(24), [2, 12]), ["(2,12)", "(12,)"]],
        ["a 1-d value into a 0-d selection", "0, 0", () => [1, 2], ["(2,)", "()"]],
      ];
      for (const [name, selection, value, fragments] of cases) {
        it(`${name} → ShapeError naming both shapes, no chunk written`, async () => {
          await expectErrorAndNoChange(store, () => ds.set(selection, value()), dn.ShapeError, [
            'dataset "/data"',
            "could not broadcast",
            ...fragments,
          ]);
        });
      }

      it("a ragged nested array → ShapeError", async () => {
        await expectErrorAndNoChange(store, () => ds.set("0:2, 0:2", [[1, 2], [3]]), dn.ShapeError, ['dataset "/data"', "not rectangular"]);
      });

      it("load() of another shape → ShapeError naming both shapes", async () => {
        await expectErrorAndNoChange(store, () => ds.load(ndarray(new Int32Array(12), [3, 4])), dn.ShapeError, [
          'dataset "/data"',
          "[3,4]",
          "[10,12]",
        ]);
      });

      it("a value the dtype cannot hold → DtypeError, nothing written (even when it comes last)", async () => {
        await expectErrorAndNoChange(store, () => ds.set("0, 0", 1.5), dn.DtypeError, ['dataset "/data"', "1.5", "int32"]);
        await expectErrorAndNoChange(store, () => ds.set("0, 0", 2 ** 40), dn.DtypeError, ["out of range", "int32"]);
        const rows = Array.from({ length: 10 }, (_, r) => Array.from({ length: 12 }, (_, c) => (r === 9 && c === 11 ? 0.5 : r)));
        await expectErrorAndNoChange(store, () => ds.set(":, :", rows), dn.DtypeError, ['dataset "/data"', "0.5", "int32"]);
      });
    });

    describe("createDataset with bad options: a clear error and nothing created", () => {
      const cases: Array<[string, dn.CreateDatasetOptions, typeof dn.DosnaError, string[]]> = [
        ["unknown dtype", { shape: [4], dtype: "float128" }, dn.DtypeError, ['"float128"', "not a supported data type", "float32"]],
        ["unknown dtype (float128)", { shape: [4], dtype: "float128" }, dn.DtypeError, ['"float128"', "float64"]],
        ["chunks 0", { shape: [4, 4], dtype: "int8", chunks: 0 }, dn.ValidationError, ["chunks of", "positive integer", "0"]],
        ["negative chunks", { shape: [4, 4], dtype: "int8", chunks: -2 }, dn.ValidationError, ["chunks of", "positive integer", "-2"]],
        ["non-integer chunks", { shape: [4, 4], dtype: "int8", chunks: 2.5 }, dn.ValidationError, ["chunks of", "positive integer", "2.5"]],
        ["a zero in a chunk list", { shape: [4, 4], dtype: "int8", chunks: [4, 0] }, dn.ValidationError, ["chunks of", "positive integer", "[4, 0]"]],
        ["a fraction in a chunk list", { shape: [4, 4], dtype: "int8", chunks: [2, 1.5] }, dn.ValidationError, ["chunks of", "[2, 1.5]"]],
        ["chunks of the wrong rank", { shape: [4, 4], dtype: "int8", chunks: [4] }, dn.ValidationError, ["chunks of", "1 dimensions", "[4, 4]"]],
        ["a negative shape", { shape: [-1, 3], dtype: "int8" }, dn.ValidationError, ["shape of", "non-negative integer", "[-1, 3]"]],
        ["a fractional shape", { shape: [2.5], dtype: "int8" }, dn.ValidationError, ["shape of", "non-negative integer", "2.5"]],
        ["a fill value out of range", { shape: [4], dtype: "uint8", fillValue: 300 }, dn.DtypeError, ["fill value", "300", "uint8", "0 to 255"]],
        ["a fractional integer fill value", { shape: [4], dtype: "int32", fillValue: 1.5 }, dn.DtypeError, ["fill value", "1.5", "int32"]],
        ["no dtype and no data", { shape: [4] }, dn.DtypeError, ["dtype is required"]],
        ["no shape and no data", { dtype: "int8" }, dn.ShapeError, ["shape is required"]],
        ["a misspelt option", { shape: [4], dtype: "int8", chunk: 2 } as dn.CreateDatasetOptions, dn.ValidationError, ["chunk"]],
        ["an unknown compression", { shape: [4], dtype: "int8", compression: "lz4" } as unknown as dn.CreateDatasetOptions, dn.ValidationError, ["compression"]],
        ["data that contradicts the shape", { data: new Int16Array(6), shape: [4, 2] }, dn.ShapeError, ["length 6", "[4,2]"]],
      ];
      for (const [name, options, cls, fragments] of cases) {
        it(`${name} → ${cls.name}`, async () => {
          // A nested path: not even the parent groups may appear.
          await expectErrorAndNoChange(store, () => pool.createDataset("fresh/sub/x", options), cls, ['dataset "/fresh/sub/x"', ...fragments]);
          expect(await pool.has("fresh")).toBe(false);
        });
      }
    });

    describe("existing and missing nodes", () => {
      it("creating an existing dataset → AlreadyExistsError naming the path; its metadata untouched", async () => {
        await expectErrorAndNoChange(store, () => pool.createDataset("data", { shape: [3], dtype: "float64" }), dn.AlreadyExistsError, [
          'dataset "/data"',
          `pool "${poolName}"`,
          "already exists",
        ]);
        expect((await pool.getDataset("data")).shape).toEqual(SHAPE);
      });

      it("creating a dataset or group where the other kind exists → AlreadyExistsError", async () => {
        await pool.createGroup("grp");
        await expectErrorAndNoChange(store, () => pool.createDataset("grp", { shape: [3], dtype: "int8" }), dn.AlreadyExistsError, ['"/grp"', "already exists"]);
        await expectErrorAndNoChange(store, () => pool.createGroup("data"), dn.AlreadyExistsError, ['"/data"', "already exists"]);
        await expectErrorAndNoChange(store, () => pool.createGroup("grp"), dn.AlreadyExistsError, ['group "/grp"', "already exists"]);
        await expectErrorAndNoChange(store, () => pool.createDataset("data/inner", { shape: [3], dtype: "int8" }), dn.AlreadyExistsError, [
          '"/data/inner"',
          '"/data" is a dataset',
        ]);
      });

      it("opening a missing dataset or group → NotFoundError naming the path", async () => {
        await expectErrorAndNoChange(store, () => pool.getDataset("missing"), dn.NotFoundError, ['dataset "/missing"', `pool "${poolName}"`, "does not exist"]);
        await expectErrorAndNoChange(store, () => pool.getDataset("no/such/path"), dn.NotFoundError, ['"/no/such/path"', "does not exist"]);
        await expectErrorAndNoChange(store, () => pool.getGroup("missing"), dn.NotFoundError, ['group "/missing"', "does not exist"]);
        await expectErrorAndNoChange(store, () => pool.getGroup("data"), dn.NotFoundError, ['"/data"', "is a dataset"]);
        await expectErrorAndNoChange(store, () => pool.getDataset("grp"), dn.NotFoundError, ['"/grp"', "is a group"]);
        await expectErrorAndNoChange(store, () => pool.get("missing"), dn.NotFoundError, ['"/missing"', `pool "${poolName}"`]);
        await expectErrorAndNoChange(store, () => pool.deleteDataset("missing"), dn.NotFoundError, ['dataset "/missing"']);
        expect(await pool.hasDataset("missing")).toBe(false);
      });

      it("missing and existing pools → NotFoundError / AlreadyExistsError naming the pool", async () => {
        const cluster = fixture.cluster;
        await expectErrorAndNoChange(store, () => cluster.getPool("no-such-pool"), dn.NotFoundError, ['pool "no-such-pool"', "does not exist"]);
        await expectErrorAndNoChange(store, () => cluster.deletePool("no-such-pool"), dn.NotFoundError, ['pool "no-such-pool"']);
        await expectErrorAndNoChange(store, () => cluster.createPool(poolName), dn.AlreadyExistsError, [`pool "${poolName}"`, "already exists"]);
        expect(await cluster.hasPool("no-such-pool")).toBe(false);
      });
    });

    it("njobs that is not a positive integer → ValidationError naming the node, nothing changed", async () => {
      await expectErrorAndNoChange(store, () => {
        pool.njobs = 0;
      }, dn.ValidationError, [`pool "${poolName}"`, "njobs", "positive integer", "0"]);
      await expectErrorAndNoChange(store, () => {
        ds.njobs = 2.5;
      }, dn.ValidationError, ['dataset "/data"', "njobs", "2.5"]);
      await expectErrorAndNoChange(store, () => pool.createDataset("jobs", { shape: [2], dtype: "int8", njobs: 0 }), dn.ValidationError, ["njobs"]);
      await expectErrorAndNoChange(store, () => fixture.cluster.getPool(poolName, { njobs: -1 }), dn.ValidationError, ["njobs", "-1"]);
      await expectError(() => new dn.Cluster({ backend: "memory", njobs: 0 }), dn.ValidationError, ["cluster configuration", "njobs"]);
      expect([pool.njobs, ds.njobs]).toEqual([fixture.cluster.njobs, fixture.cluster.njobs]);
    });

    describe("corrupt stored objects", () => {
      let bad: dn.Dataset;
      let packed: dn.Dataset;
      const values = Int32Array.from({ length: 120 }, (_, i) => i - 50);

      beforeAll(async () => {
        bad = await pool.createDataset("corrupt", { data: values, shape: SHAPE, chunks: CHUNKS });
        packed = await pool.createDataset("packed", { data: values, shape: SHAPE, chunks: CHUNKS, compression: "gzip" });
      });

      async function expectOtherChunksReadable(dataset: dn.Dataset): Promise<void> {
        const got = await dataset.get("4:, 5:");
        expect(valuesOf(got.data)).toEqual(referenceGet(values, SHAPE, [s(4, null), s(5, null)]).values);
      }

      it("a chunk object with the wrong byte length → CorruptChunkError naming the key", async () => {
        const key = bad.chunkKeyOf([0, 0]);
        expect(key).toBe("corrupt/c/0/0");
        await store.set(key, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
        const fragments = ['"corrupt/c/0/0"', "7 bytes", "expected 80"];
        await expectErrorAndNoChange(store, () => bad.get("0, 0"), dn.CorruptChunkError, fragments);
        await expectErrorAndNoChange(store, () => bad.read(), dn.CorruptChunkError, fragments);
        await expectErrorAndNoChange(store, () => bad.chunk([0, 0]).get(), dn.CorruptChunkError, fragments);
        // A partial write must read the chunk first: it fails and leaves the bad object as it was.
        await expectErrorAndNoChange(store, () => bad.set("0:2, 0:2", 9), dn.CorruptChunkError, fragments);
        await expectOtherChunksReadable(bad);
      });

      it("undecodable bytes in a gzip dataset → CorruptChunkError naming the key and the codec", async () => {
        const key = packed.chunkKeyOf([0, 0]);
        await store.set(key, new TextEncoder().encode("this is not gzip data at all"));
        await expectErrorAndNoChange(store, () => packed.get("1, 1"), dn.CorruptChunkError, [`"${key}"`, "gzip"]);
        await expectOtherChunksReadable(packed);
      });

      it("valid gzip of the wrong length → CorruptChunkError naming the key", async () => {
        const key = packed.chunkKeyOf([1, 0]);
        await store.set(key, new Uint8Array(gzipSync(new Uint8Array(12))));
        await expectErrorAndNoChange(store, () => packed.get("4:8, :5"), dn.CorruptChunkError, [`"${key}"`, "12 bytes", "expected 80"]);
        await expectOtherChunksReadable(packed);
      });

      it("a write that covers a corrupt chunk replaces it without reading it", async () => {
        const key = bad.chunkKeyOf([0, 0]);
        await store.set(key, new Uint8Array([1, 2, 3]));
        await bad.set("0:4, 0:5", 5);
        expect(valuesOf((await bad.get("0:4, 0:5")).data)).toEqual(new Array(20).fill(5));
      });

      it("unreadable metadata → CorruptMetadataError naming the key; listing skips it", async () => {
        await store.set("broken/zarr.json", new TextEncoder().encode("{ not json"));
        await expectErrorAndNoChange(store, () => pool.getDataset("broken"), dn.CorruptMetadataError, ["broken/zarr.json", "not valid JSON"]);
        await store.set("weird/zarr.json", new TextEncoder().encode(JSON.stringify({ zarr_format: 3, node_type: "array", shape: [2], data_type: "float128" })));
        await expectErrorAndNoChange(store, () => pool.getDataset("weird"), dn.CorruptMetadataError, ["weird/zarr.json"]);
        const keys = await pool.keys();
        expect(keys).toContain("data");
        expect(keys).not.toContain("broken");
        expect(keys).not.toContain("weird");
      });
    });

    describe("something that is not a dosna pool", () => {
      it("a pool whose root zarr.json is missing → NotFoundError naming it, nothing written", async () => {
        const name = uniquePoolName("notapool");
        const other = await fixture.cluster.createPool(name);
        await other.store.delete("zarr.json");
        await other.store.set("notes.txt", new TextEncoder().encode("hello"));
        await other.store.set("sub/blob.bin", new Uint8Array([0, 1, 2]));
        await expectErrorAndNoChange(other.store, () => fixture.cluster.getPool(name), dn.NotFoundError, [`pool "${name}"`, "not a dosna/Zarr pool", "zarr.json"]);
        await fixture.cluster.deletePool(name, { force: true });
      });

      it("a pool whose root zarr.json is an array or garbage → CorruptMetadataError", async () => {
        const name = uniquePoolName("notapool");
        const other = await fixture.cluster.createPool(name);
        const array = await other.createDataset("x", { shape: [2], dtype: "int8" });
        await other.store.set("zarr.json", (await other.store.get(`${array.path}/zarr.json`))!);
        await expectErrorAndNoChange(other.store, () => fixture.cluster.getPool(name), dn.CorruptMetadataError, [`pool "${name}"`, "array, not a group"]);
        await other.store.set("zarr.json", new TextEncoder().encode("<html>"));
        await expectErrorAndNoChange(other.store, () => fixture.cluster.getPool(name), dn.CorruptMetadataError, ["zarr.json", "not valid JSON"]);
        await fixture.cluster.deletePool(name, { force: true });
      });
    });

    describe("a pool opened read-only", () => {
      let ro: dn.Pool;
      let roData: dn.Dataset;

      beforeAll(async () => {
        await pool.createGroup("ro-group", { attrs: { a: 1 } });
        ro = await fixture.cluster.getPool(poolName, { readOnly: true });
        roData = await ro.getDataset("data");
      });

      it("reads work", async () => {
        expect(valuesOf((await roData.read()).data)).toEqual(valuesOf(CONTENTS));
        expect(await ro.keys()).toContain("data");
      });

      const writes: Array<[string, string, () => Promise<unknown>]> = [
        ["createDataset", 'dataset "/new"', () => ro.createDataset("new", { shape: [2], dtype: "int8" })],
        ["createGroup", 'group "/new-group"', () => ro.createGroup("new-group")],
        ["requireGroup of a missing group", 'group "/new-group"', () => ro.requireGroup("new-group")],
        ["deleteDataset", 'dataset "/data"', () => ro.deleteDataset("data")],
        ["delete", '"/ro-group"', () => ro.delete("ro-group")],
        ["pool attrs.set", 'pool "errors-', () => ro.attrs.set("x", 1)],
        ["group attrs.set", 'group "/ro-group"', async () => (await ro.getGroup("ro-group")).attrs.set("b", 2)],
        ["dataset set", 'dataset "/data"', () => roData.set("0, 0", 5)],
        ["dataset load", 'dataset "/data"', () => roData.load(new Int32Array(120))],
        ["dataset clear", 'dataset "/data"', () => roData.clear()],
        ["dataset delete", 'dataset "/data"', () => roData.delete()],
        ["dataset resize", 'dataset "/data"', () => roData.resize([5, 5])],
        ["dataset apply", 'dataset "/data"', () => roData.apply((a) => a)],
        ["dataset map", 'dataset "/data"', () => roData.map((a) => a, "mapped")],
        ["dataset clone", 'dataset "/data"', () => roData.clone("cloned")],
        ["dataset attrs.set", 'dataset "/data"', () => roData.attrs.set("x", 1)],
        ["dataset attrs.delete", 'dataset "/data"', () => roData.attrs.delete("x")],
        ["chunk set", 'dataset "/data"', () => roData.chunk([0, 0]).set(undefined, 1)],
        ["chunk delete", 'dataset "/data"', () => roData.chunk([0, 0]).delete()],
      ];
      for (const [name, node, write] of writes) {
        it(`${name} → ReadOnlyError naming ${node}, nothing changed`, async () => {
          await expectErrorAndNoChange(store, write, dn.ReadOnlyError, [node, "read-only"]);
        });
      }
    });
  });
}

describe("directories that are not dosna pools (fs)", () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "dosna-notapool-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A directory of unrelated files, and a listing of everything in it with contents. */
  async function strangerDirectory(name: string): Promise<string> {
    const dir = join(root, name);
    await mkdir(join(dir, "photos"), { recursive: true });
    await writeFile(join(dir, "notes.txt"), "not a pool\n");
    await writeFile(join(dir, "photos", "cat.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    return dir;
  }

  async function contentsOf(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(dir.length)] = entry.isFile() ? (await readFile(path)).toString("base64") : "<dir>";
    }
    return out;
  }

  async function expectFileOpenFails(dir: string, mode: dn.FileMode, cls: typeof dn.DosnaError, fragments: string[]): Promise<void> {
    const before = await contentsOf(dir);
    const file = new dn.File(dir, mode);
    await expectError(() => file.keys(), cls, fragments);
    expect(await contentsOf(dir)).toEqual(before);
  }

  it('File(dir, "r") and "r+" on a directory of unrelated files → NotFoundError naming it', async () => {
    const dir = await strangerDirectory("stranger-r");
    await expectFileOpenFails(dir, "r", dn.NotFoundError, [dir, "not a dosna/Zarr pool", "zarr.json"]);
    await expectFileOpenFails(dir, "r+", dn.NotFoundError, [dir, "not a dosna/Zarr pool"]);
  });

  it('File(dir, "a" / "w" / "w-" / "x") on a directory of unrelated files refuses to touch it', async () => {
    const dir = await strangerDirectory("stranger-w");
    await expectFileOpenFails(dir, "a", dn.ValidationError, [dir, "not a dosna/Zarr pool"]);
    await expectFileOpenFails(dir, "w", dn.ValidationError, [dir, "not a dosna/Zarr pool", "refusing to truncate"]);
    await expectFileOpenFails(dir, "w-", dn.AlreadyExistsError, [dir, "already exists"]);
    await expectFileOpenFails(dir, "x", dn.AlreadyExistsError, [dir, "already exists"]);
  });

  it("File on a missing directory or on a plain file → a DosnaError naming the path", async () => {
    const missing = join(root, "missing");
    await expectFileOpenFails(root, "r", dn.NotFoundError, []); // the root itself is empty of a zarr.json too
    const file = new dn.File(missing, "r");
    await expectError(() => file.keys(), dn.NotFoundError, [missing, "does not exist"]);
    const plain = join(root, "plain.txt");
    await writeFile(plain, "hello");
    await expectError(() => new dn.File(plain, "r").keys(), dn.DosnaError, [plain]);
    expect(await readFile(plain, "utf8")).toBe("hello");
  });

  it("File on a directory with a garbage zarr.json → CorruptMetadataError naming the file", async () => {
    const dir = await strangerDirectory("stranger-json");
    await writeFile(join(dir, "zarr.json"), "{ definitely not");
    await expectFileOpenFails(dir, "r", dn.CorruptMetadataError, ["zarr.json", "not valid JSON"]);
    await expectFileOpenFails(dir, "a", dn.CorruptMetadataError, ["zarr.json"]);
  });

  it("Cluster.getPool on a plain directory in the fs root → NotFoundError, directory untouched", async () => {
    const clusterRoot = join(root, "cluster");
    const dir = await strangerDirectory(join("cluster", "holiday"));
    const cluster = new dn.Cluster({ backend: "fs", root: clusterRoot });
    await cluster.connect();
    const before = await contentsOf(dir);
    await expectError(() => cluster.getPool("holiday"), dn.NotFoundError, ['pool "holiday"', "not a dosna/Zarr pool"]);
    await expectError(() => cluster.getPool("holiday", { readOnly: true }), dn.NotFoundError, ['pool "holiday"']);
    expect(await contentsOf(dir)).toEqual(before);
    await cluster.disconnect();
  });
});

describe('writes through a File opened "r"', () => {
  let dir: string;
  let before: Record<string, string>;
  let file: dn.File;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dosna-ro-file-"));
    const writer = new dn.File(dir, "w");
    const grp = await writer.create_group("grp");
    await grp.create_attribute("kind", "group");
    await writer.create_dataset({ name: "values", data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    await writer.create_attribute("title", "read-only test");
    await writer.close();
    before = await snapshotDirectory(dir);
    file = new dn.File(dir, "r");
  });
  afterAll(async () => {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function snapshotDirectory(path: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) out[join(entry.parentPath, entry.name)] = (await readFile(join(entry.parentPath, entry.name))).toString("base64");
    }
    return out;
  }

  it("reads work", async () => {
    expect(await file.keys()).toEqual(["grp", "values"]);
    const values = (await file.get("values")) as dn.H5Dataset;
    expect(Array.from((await values.slice([[0, 1], []])) as Float32Array)).toEqual([1, 2, 3]);
  });

  const writes: Array<[string, (f: dn.File) => Promise<unknown>]> = [
    ["create_dataset", (f) => f.create_dataset({ name: "new", data: new Int8Array(3) })],
    ["create_group", (f) => f.create_group("new-group")],
    ["create_group (nested)", (f) => f.create_group("grp/inner")],
    ["require_group of a missing group", (f) => f.require_group("other")],
    ["create_attribute on the file", (f) => f.create_attribute("x", 1)],
    ["delete_attribute on the file", (f) => f.delete_attribute("title")],
    ["create_attribute on a group", async (f) => ((await f.get("grp")) as dn.H5Group).create_attribute("x", 1)],
    ["create_attribute on a dataset", async (f) => ((await f.get("values")) as dn.H5Dataset).create_attribute("x", 1)],
    ["write_slice", async (f) => ((await f.get("values")) as dn.H5Dataset).write_slice([[0, 1], [0, 2]], new Float32Array([9, 9]))],
    ["resize", async (f) => ((await f.get("values")) as dn.H5Dataset).resize([4, 3])],
    ["delete", (f) => f.delete("values")],
  ];
  for (const [name, write] of writes) {
    it(`${name} → ReadOnlyError, nothing changed`, async () => {
      await expectError(() => write(file), dn.ReadOnlyError, ["read-only"]);
      expect(await snapshotDirectory(dir)).toEqual(before);
    });
  }
});
