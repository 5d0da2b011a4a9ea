/**
 * The object model of issue 2 on every backend: pools, nested groups, attributes that survive a
 * reopen, the forms createDataset accepts, DataChunk, iterChunks, clone, delete and njobs inheritance.
 * Contents are checked against brute-force references and stored keys against the store itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ndarray from "ndarray";
import * as dn from "../../src/index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { randomInts } from "../helpers/random.js";
import { referenceGet, referenceSet, valuesOf, type RefItem } from "../helpers/reference.js";
import { chunkKeysOf, storeKeys } from "../helpers/store-keys.js";

const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

for (const kind of backendKinds) {
  describe(`object model on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let cluster: dn.Cluster;

    beforeAll(async () => {
      fixture = await kind.make();
      cluster = fixture.cluster;
    });
    afterAll(async () => {
      await fixture.cleanup();
    });

    /** A fresh pool for one test; the caller need not delete it (the fixture's cleanup does). */
    const freshPool = (prefix = "p") => cluster.createPool(uniquePoolName(prefix));
    const reopen = (pool: dn.Pool) => cluster.getPool(pool.context.poolName);

    describe("pools", () => {
      it("create, has, get, list and delete", async () => {
        const a = uniquePoolName("zz-a");
        const b = uniquePoolName("aa-b");
        expect(await cluster.hasPool(a)).toBe(false);
        await cluster.createPool(a);
        await cluster.createPool(b);
        expect(await cluster.hasPool(a)).toBe(true);
        const listed = await cluster.listPools();
        expect(listed).toEqual(expect.arrayContaining([a, b]));
        expect(listed).toEqual([...listed].sort());
        const pool = await cluster.getPool(a);
        expect(pool).toBeInstanceOf(dn.Pool);
        expect(pool.path).toBe("");
        expect(await storeKeys(pool)).toEqual(["zarr.json"]);
        expect((await cluster.pool(b)).context.poolName).toBe(b);

        await cluster.deletePool(a);
        expect(await cluster.hasPool(a)).toBe(false);
        expect(await cluster.listPools()).not.toContain(a);
        await cluster.deletePool(b);
      });

      it("creating an existing pool or opening a missing one fails naming it", async () => {
        const name = uniquePoolName();
        await cluster.createPool(name);
        await expect(cluster.createPool(name)).rejects.toThrow(dn.AlreadyExistsError);
        await expect(cluster.createPool(name)).rejects.toThrow(name);
        const missing = uniquePoolName("missing");
        await expect(cluster.getPool(missing)).rejects.toThrow(dn.NotFoundError);
        await expect(cluster.getPool(missing)).rejects.toThrow(missing);
        await expect(cluster.deletePool(missing)).rejects.toThrow(dn.NotFoundError);
        await cluster.deletePool(name);
      });

      it("a non-empty pool is only deleted with force, and then completely", async () => {
        const pool = await freshPool();
        const name = pool.context.poolName;
        await pool.createDataset("g/ds", { data: new Int16Array([1, 2, 3]), shape: [3], chunks: 2 });
        await expect(cluster.deletePool(name)).rejects.toThrow(dn.ValidationError);
        await expect(cluster.deletePool(name)).rejects.toThrow(/not empty.*force/);
        expect(await cluster.hasPool(name)).toBe(true);
        expect(valuesOf((await (await (await reopen(pool)).getDataset("g/ds")).read()).data)).toEqual([1, 2, 3]);
        await cluster.deletePool(name, { force: true });
        expect(await cluster.hasPool(name)).toBe(false);
        // a new pool of the same name starts empty
        const again = await cluster.createPool(name);
        expect(await storeKeys(again)).toEqual(["zarr.json"]);
        await cluster.deletePool(name);
      });

      it("an emptied pool (everything deleted) is deleted without force", async () => {
        const pool = await freshPool();
        await pool.createDataset("d", { shape: [4], dtype: "uint8", chunks: 2 });
        await pool.deleteDataset("d");
        await cluster.deletePool(pool.context.poolName);
        expect(await cluster.hasPool(pool.context.poolName)).toBe(false);
      });
    });

    describe("groups and nested paths", () => {
      let pool: dn.Pool;
      beforeAll(async () => {
        pool = await freshPool("groups");
      });

      it('createGroup("a/b/c") creates the missing parents', async () => {
        const c = await pool.createGroup("a/b/c");
        expect(c).toBeInstanceOf(dn.Group);
        expect(c.path).toBe("a/b/c");
        expect(c.name).toBe("c");
        for (const path of ["a", "a/b", "a/b/c"]) expect(await pool.hasGroup(path)).toBe(true);
        expect(await pool.hasGroup("a/b/c/d")).toBe(false);
        expect(await storeKeys(pool, "a/")).toEqual(["a/b/c/zarr.json", "a/b/zarr.json", "a/zarr.json"]);
        const a = await pool.getGroup("a");
        expect(await a.listGroups()).toEqual(["b"]);
        expect((await a.getGroup("b/c")).path).toBe("a/b/c");
        expect(await a.hasGroup("b")).toBe(true);
      });

      it("creating an existing group fails; requireGroup returns it", async () => {
        await pool.createGroup("dup");
        await expect(pool.createGroup("dup")).rejects.toThrow(dn.AlreadyExistsError);
        await expect(pool.createGroup("dup")).rejects.toThrow('"/dup"');
        const required = await pool.requireGroup("dup");
        expect(required.path).toBe("dup");
        expect((await pool.requireGroup("fresh/sub")).path).toBe("fresh/sub");
        expect(await pool.hasGroup("fresh")).toBe(true);
      });

      it("createDataset in a nested path creates the groups above it", async () => {
        const ds = await pool.createDataset("x/y/z/ds", { shape: [5, 5], dtype: "float32", chunks: 3 });
        expect(ds.path).toBe("x/y/z/ds");
        expect(ds.name).toBe("ds");
        for (const path of ["x", "x/y", "x/y/z"]) expect(await pool.hasGroup(path)).toBe(true);
        expect(await pool.hasDataset("x/y/z/ds")).toBe(true);
        expect(await pool.hasGroup("x/y/z/ds")).toBe(false);
        const z = await pool.getGroup("x/y/z");
        expect(await z.listDatasets()).toEqual(["ds"]);
        expect((await z.getDataset("ds")).shape).toEqual([5, 5]);
        // from a subgroup, paths are relative to it
        const inY = await (await pool.getGroup("x/y")).createDataset("w/other", { shape: [2], dtype: "int8" });
        expect(inY.path).toBe("x/y/w/other");
        expect(await pool.hasDataset("x/y/w/other")).toBe(true);
      });

      it("keys, listGroups and listDatasets list direct children, sorted", async () => {
        const g = await pool.createGroup("listing");
        await g.createDataset("zeta", { shape: [1], dtype: "int8" });
        await g.createDataset("alpha", { shape: [1], dtype: "int8" });
        await g.createGroup("mid/deeper");
        await g.createGroup("beta");
        await g.createDataset("mid/inside", { shape: [1], dtype: "int8" });
        expect(await g.keys()).toEqual(["alpha", "beta", "mid", "zeta"]);
        expect(await g.listDatasets()).toEqual(["alpha", "zeta"]);
        expect(await g.listGroups()).toEqual(["beta", "mid"]);
        expect(await (await g.getGroup("mid")).keys()).toEqual(["deeper", "inside"]);
        expect(await pool.keys()).toContain("listing");
        expect(await pool.listDatasets()).not.toContain("listing");
      });

      it("a dataset cannot hold children, and kinds are not confused", async () => {
        await pool.createDataset("leaf", { shape: [2], dtype: "int8" });
        await expect(pool.createDataset("leaf/child", { shape: [2], dtype: "int8" })).rejects.toThrow(dn.AlreadyExistsError);
        await expect(pool.createGroup("leaf/child")).rejects.toThrow(/"\/leaf" is a dataset/);
        await expect(pool.getGroup("leaf")).rejects.toThrow(dn.NotFoundError);
        await expect(pool.getDataset("a")).rejects.toThrow(dn.NotFoundError);
        await expect(pool.getGroup("nowhere")).rejects.toThrow(/"\/nowhere"/);
        expect(await pool.get("leaf")).toBeInstanceOf(dn.Dataset);
        expect(await pool.get("a/b")).toBeInstanceOf(dn.Group);
        await expect(pool.get("nowhere")).rejects.toThrow(dn.NotFoundError);
      });

      it("deleteGroup removes the whole subtree and nothing else", async () => {
        const g = await pool.createGroup("doomed/inner");
        const ds = await g.createDataset("data", { data: new Int32Array([1, 2, 3, 4]), shape: [2, 2], chunks: 1 });
        expect(await chunkKeysOf(pool, ds.path)).toHaveLength(4);
        await pool.createGroup("doomed-sibling");
        await pool.deleteGroup("doomed");
        expect(await pool.hasGroup("doomed")).toBe(false);
        expect(await pool.hasGroup("doomed/inner")).toBe(false);
        expect(await storeKeys(pool, "doomed/")).toEqual([]);
        expect(await pool.hasGroup("doomed-sibling")).toBe(true);
        await expect(pool.deleteGroup("doomed")).rejects.toThrow(dn.NotFoundError);
      });

      it("rejects paths that escape or are empty", async () => {
        await expect(pool.createGroup("../evil")).rejects.toThrow(dn.DosnaError);
        await expect(pool.createDataset("a/../../b", { shape: [1], dtype: "int8" })).rejects.toThrow(dn.DosnaError);
        expect(await storeKeys(pool, "evil")).toEqual([]);
      });
    });

    describe("attributes persist across reopen", () => {
      it("on a pool, a group and a dataset: set, update, delete, keys, toJSON", async () => {
        const pool = await cluster.createPool(uniquePoolName("attrs"), { attrs: { created: "by test" } });
        expect(pool.attrs.toJSON()).toEqual({ created: "by test" });
        await pool.attrs.set("title", "pool title");
        const group = await pool.createGroup("g", { attrs: { level: 1 } });
        await group.attrs.update({ nested: { a: [1, 2, { b: null }] }, flag: true });
        const ds = await group.createDataset("ds", { shape: [3], dtype: "float64", attrs: { units: "m" } });
        await ds.attrs.set("scale", 0.5);
        await ds.attrs.set("units", "km"); // update
        await ds.attrs.set("typed", new Float32Array([1.5, 2]));
        await ds.attrs.set("big", 12n);
        await ds.attrs.set("gone", "soon");
        await ds.attrs.delete("gone");
        await expect(ds.attrs.set("bad", undefined)).rejects.toThrow(dn.ValidationError);
        await expect(ds.attrs.set("fn", () => 1)).rejects.toThrow(/attribute "fn"/);

        const again = await reopen(pool);
        expect(again.attrs.toJSON()).toEqual({ created: "by test", title: "pool title" });
        expect(again.attrs.keys().sort()).toEqual(["created", "title"]);
        const g2 = await again.getGroup("g");
        expect(g2.attrs.toJSON()).toEqual({ level: 1, nested: { a: [1, 2, { b: null }] }, flag: true });
        expect(g2.attrs.get("flag")).toBe(true);
        expect(g2.attrs.has("level")).toBe(true);
        expect(g2.attrs.has("missing")).toBe(false);
        const d2 = await again.getDataset("g/ds");
        expect(d2.attrs.toJSON()).toEqual({ units: "km", scale: 0.5, typed: [1.5, 2], big: 12 });
        expect(d2.attrs.keys().sort()).toEqual(["big", "scale", "typed", "units"]);
        expect(d2.attrs.get("gone")).toBeUndefined();

        // toJSON is a copy: changing it does not change the attributes
        const copy = d2.attrs.toJSON();
        copy.units = "changed";
        expect(d2.attrs.get("units")).toBe("km");
        // changing attributes does not touch the array metadata
        expect(d2.shape).toEqual([3]);
        expect(d2.dtype).toBe("float64");
        await d2.attrs.delete("units");
        expect((await (await reopen(pool)).getDataset("g/ds")).attrs.toJSON()).toEqual({ scale: 0.5, typed: [1.5, 2], big: 12 });
      });

      it("dataset attributes do not clobber data written meanwhile", async () => {
        const pool = await freshPool("attrs-data");
        const ds = await pool.createDataset("d", { data: new Uint8Array([1, 2, 3, 4]), shape: [4], chunks: 2 });
        await ds.attrs.set("k", "v");
        const back = await (await reopen(pool)).getDataset("d");
        expect(valuesOf((await back.read()).data)).toEqual([1, 2, 3, 4]);
        expect(back.attrs.get("k")).toBe("v");
      });
    });

    describe("createDataset forms", () => {
      let pool: dn.Pool;
      beforeAll(async () => {
        pool = await freshPool("create");
      });

      it("from {data: ndarray}, including a strided view", async () => {
        const base = ndarray(Float32Array.from({ length: 24 }, (_, i) => i / 4), [4, 6]);
        const ds = await pool.createDataset("nd", { data: base, chunks: [3, 4] });
        expect(ds.shape).toEqual([4, 6]);
        expect(ds.dtype).toBe("float32");
        expect(ds.chunks).toEqual([3, 4]);
        expect(valuesOf((await ds.read()).data)).toEqual(valuesOf(base.data));
        // a transposed, stepped view is stored as its logical contents
        const view = base.transpose(1, 0).step(-1, 2);
        const dv = await pool.createDataset("view", { data: view, chunks: 2 });
        expect(dv.shape).toEqual([6, 2]);
        const expected: number[] = [];
        for (let i = 0; i < 6; i++) for (let j = 0; j < 2; j++) expected.push(view.get(i, j));
        expect(valuesOf((await dv.read()).data)).toEqual(expected);
      });

      it("from {data: TypedArray, shape}, every dtype inferred from the typed array", async () => {
        const cases: Array<[dn.TypedArray, dn.DataType]> = [
          [new Int8Array([1, -2, 3, -4, 5, -6]), "int8"],
          [new Uint16Array([1, 2, 3, 4, 5, 65535]), "uint16"],
          [new Int32Array([1, -2, 3, -4, 5, -6]), "int32"],
          [new BigInt64Array([1n, -2n, 3n, -(2n ** 62n), 5n, 6n]), "int64"],
          [new BigUint64Array([1n, 2n, 3n, 2n ** 63n, 5n, 6n]), "uint64"],
          [new Float64Array([0.5, -1.25, NaN, Infinity, -0, 6]), "float64"],
        ];
        for (const [data, dtype] of cases) {
          const ds = await pool.createDataset(`typed-${dtype}`, { data, shape: [2, 3], chunks: [1, 2] });
          expect(ds.dtype).toBe(dtype);
          expect(ds.shape).toEqual([2, 3]);
          const back = await (await reopen(pool)).getDataset(`typed-${dtype}`);
          expect(valuesOf((await back.read()).data)).toEqual(valuesOf(data));
        }
      });

      it("a typed array whose length does not fit the shape fails and creates nothing", async () => {
        await expect(pool.createDataset("misfit", { data: new Int32Array(5), shape: [2, 3] })).rejects.toThrow(dn.ShapeError);
        expect(await pool.has("misfit")).toBe(false);
      });

      it("an explicit dtype converts the data", async () => {
        const ds = await pool.createDataset("converted", { data: new Float64Array([1, 2, 300]), shape: [3], dtype: "<i2" });
        expect(ds.dtype).toBe("int16");
        expect(valuesOf((await ds.read()).data)).toEqual([1, 2, 300]);
      });

      it("from {data: nested array}", async () => {
        const ds = await pool.createDataset("nested", { data: [[1, 2, 3], [4, 5, 6]], dtype: "int16", chunks: 2 });
        expect(ds.shape).toEqual([2, 3]);
        expect(ds.dtype).toBe("int16");
        expect(valuesOf((await ds.read()).data)).toEqual([1, 2, 3, 4, 5, 6]);
        const floats = await pool.createDataset("nested-default", { data: [[0.5], [1.5]] });
        expect(floats.dtype).toBe("float64");
        expect(floats.shape).toEqual([2, 1]);
        await expect(pool.createDataset("ragged", { data: [[1, 2], [3]] })).rejects.toThrow(/not rectangular/);
        expect(await pool.has("ragged")).toBe(false);
      });

      it("from {shape, dtype, chunks: number} and chunks as an array", async () => {
        const a = await pool.createDataset("bynumber", { shape: [10, 7, 3], dtype: "f8", chunks: 4 });
        expect(a.chunks).toEqual([4, 4, 3]); // a number is clipped to each axis
        expect(a.chunkGrid).toEqual([3, 2, 1]);
        const b = await pool.createDataset("byarray", { shape: [10, 7], dtype: "uint8", chunks: [5, 7], fillValue: 9 });
        expect(b.chunks).toEqual([5, 7]);
        expect(b.chunkGrid).toEqual([2, 1]);
        expect(b.fillValue).toBe(9);
        expect(valuesOf((await b.read()).data).every((v) => v === 9)).toBe(true);
        expect(await chunkKeysOf(pool, "byarray")).toEqual([]);
        const c = await pool.createDataset("default-chunks", { shape: [50, 60], dtype: "int32" });
        expect(c.chunks).toHaveLength(2);
        c.chunks.forEach((n, axis) => {
          expect(Number.isInteger(n) && n >= 1 && n <= [50, 60][axis]).toBe(true);
        });
        const reopened = await (await reopen(pool)).getDataset("byarray");
        expect([reopened.chunks, reopened.dtype, reopened.fillValue]).toEqual([[5, 7], "uint8", 9]);
      });

      it("bad options fail with a clear error and store nothing", async () => {
        const bad: Array<[string, dn.CreateDatasetOptions, RegExp]> = [
          ["b1", { shape: [3], dtype: "float128" }, /float128/],
          ["b2", { shape: [3], dtype: "int8", chunks: 0 }, /chunks/],
          ["b3", { shape: [3], dtype: "int8", chunks: [1.5] }, /chunks/],
          ["b4", { shape: [3, -1], dtype: "int8" }, /shape/],
          ["b5", { shape: [3], dtype: "int8", chunks: [1, 1] }, /chunks/],
          ["b6", { shape: [3] }, /dtype/],
          ["b7", { dtype: "int8" }, /shape/],
        ];
        for (const [name, options, message] of bad) {
          await expect(pool.createDataset(name, options), name).rejects.toThrow(dn.DosnaError);
          await expect(pool.createDataset(name, options), name).rejects.toThrow(message);
          expect(await storeKeys(pool, `${name}/`), name).toEqual([]);
        }
        await pool.createDataset("exists", { shape: [1], dtype: "int8" });
        await expect(pool.createDataset("exists", { shape: [1], dtype: "int8" })).rejects.toThrow(dn.AlreadyExistsError);
        await expect(pool.createDataset("exists", { shape: [1], dtype: "int8" })).rejects.toThrow('"/exists"');
      });
    });

    describe("DataChunk", () => {
      // shape [7, 5] in chunks [3, 2]: grid [3, 3], the last row and column of chunks are edge chunks
      const SHAPE = [7, 5];
      const DATA = randomInts(35, -100, 100, 3);
      let pool: dn.Pool;
      let ds: dn.Dataset;
      beforeAll(async () => {
        pool = await freshPool("chunks");
        ds = await pool.createDataset("d", { data: DATA, shape: SHAPE, chunks: [3, 2], fillValue: -1 });
      });

      it("key, origin and shape, including edge chunks", () => {
        expect(ds.chunkGrid).toEqual([3, 3]);
        const inner = ds.chunk([1, 1]);
        expect(inner.key).toBe("d/c/1/1");
        expect(inner.origin).toEqual([3, 2]);
        expect(inner.shape).toEqual([3, 2]);
        const edge = ds.chunk([2, 2]);
        expect(edge.key).toBe("d/c/2/2");
        expect(edge.origin).toEqual([6, 4]);
        expect(edge.shape).toEqual([1, 1]);
        expect(ds.chunk([0, 2]).shape).toEqual([3, 1]);
        expect(ds.chunk([2, 0]).shape).toEqual([1, 2]);
        expect(() => ds.chunk([3, 0])).toThrow(dn.NotFoundError);
        expect(() => ds.chunk([0])).toThrow(/chunk grid \[3,3\]/);
        expect(() => ds.chunk([-1, 0])).toThrow(dn.NotFoundError);
      });

      it("get reads the chunk's in-bounds region, with selections relative to it", async () => {
        for (const chunk of ds.iterChunks()) {
          const [r, c] = chunk.origin;
          const [h, w] = chunk.shape;
          const got = await chunk.get();
          const ref = referenceGet(DATA, SHAPE, [s(r, r + h), s(c, c + w)]);
          expect(got.shape).toEqual([h, w]);
          expect(valuesOf(got.data)).toEqual(ref.values);
        }
        const inner = ds.chunk([1, 1]);
        const picked = await inner.get("::-1, 1");
        expect(valuesOf(picked.data)).toEqual(referenceGet(DATA, SHAPE, [s(5, 2, -1), 3]).values);
        expect(valuesOf((await inner.get("-1, -2")).data)).toEqual([DATA[5 * 5 + 2]]);
        await expect(inner.get("3, 0")).rejects.toThrow(dn.SelectionError);
        await expect(ds.chunk([2, 2]).get("0, 1")).rejects.toThrow(dn.SelectionError);
      });

      it("set writes into the chunk only; exists and delete", async () => {
        const target = await pool.createDataset("writable", { data: DATA, shape: SHAPE, chunks: [3, 2], fillValue: -1 });
        const expected = Int32Array.from(DATA);
        const edge = target.chunk([2, 1]);
        await edge.set(null, [[70, 71]]);
        referenceSet(expected, SHAPE, [6, s(2, 4)], [70, 71]);
        await target.chunk([0, 0]).set("1:, ::-1", 5);
        referenceSet(expected, SHAPE, [s(1, 3), s(1, null, -1)], 5);
        await expect(edge.set("0, 2", 1)).rejects.toThrow(dn.SelectionError);
        expect(valuesOf((await target.read()).data)).toEqual(Array.from(expected));

        expect(await edge.exists()).toBe(true);
        await edge.delete();
        expect(await edge.exists()).toBe(false);
        expect(await storeKeys(pool, edge.key)).toEqual([]);
        referenceSet(expected, SHAPE, [6, s(2, 4)], -1);
        expect(valuesOf((await edge.get()).data)).toEqual([-1, -1]);
        expect(valuesOf((await target.read()).data)).toEqual(Array.from(expected));
        // Writing the fill value everywhere removes the object. It is an edge chunk, so the write is a
        // conditional read-modify-write: where the endpoint ignores conditional DELETEs (Ceph RGW) the
        // chunk is replaced by a stored fill chunk instead, conditionally; it reads as fill either way.
        const corner = target.chunk([0, 2]);
        expect(await corner.exists()).toBe(true);
        await corner.set(null, -1);
        const support = (await pool.context.store.conditionalSupport?.()) ?? { write: true, delete: true };
        expect(await corner.exists()).toBe(!support.delete);
        expect(valuesOf((await corner.get()).data).every((v) => v === -1)).toBe(true);
      });

      it("iterChunks yields every chunk of the grid once, in C order", () => {
        const grids = [...ds.iterChunks()].map((c) => c.gridIndex);
        const expected: number[][] = [];
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expected.push([i, j]);
        expect(grids).toEqual(expected);
      });

      it("iterChunks on 3-d and empty arrays", async () => {
        const cube = await pool.createDataset("cube", { shape: [5, 4, 3], dtype: "int8", chunks: [2, 3, 3] });
        const chunks = [...cube.iterChunks()];
        expect(chunks).toHaveLength(3 * 2 * 1);
        expect(chunks.map((c) => c.gridIndex.join())).toEqual(["0,0,0", "0,1,0", "1,0,0", "1,1,0", "2,0,0", "2,1,0"]);
        expect(chunks.reduce((n, c) => n + c.shape.reduce((a, b) => a * b, 1), 0)).toBe(cube.size);
        const empty = await pool.createDataset("empty", { shape: [0, 4], dtype: "int8", chunks: 2 });
        expect([...empty.iterChunks()]).toEqual([]);
        expect((await empty.read()).shape).toEqual([0, 4]);
      });
    });

    describe("clone and delete", () => {
      it("clone copies the structure only; with copyData the contents too", async () => {
        const pool = await freshPool("clone");
        const DATA = randomInts(6 * 5, 0, 1000, 9);
        const src = await pool.createDataset("g/src", {
          data: DATA, shape: [6, 5], chunks: [4, 2], fillValue: 7, compression: "gzip", attrs: { units: "m" },
        });
        const structure = await src.clone("copy");
        expect(structure.path).toBe("g/copy");
        expect([structure.shape, structure.chunks, structure.dtype, structure.fillValue]).toEqual([[6, 5], [4, 2], "int32", 7]);
        expect(structure.metadata.codecs).toEqual(src.metadata.codecs);
        expect(structure.attrs.toJSON()).toEqual({ units: "m" });
        expect(await chunkKeysOf(pool, "g/copy")).toEqual([]);
        expect(valuesOf((await structure.read()).data).every((v) => v === 7)).toBe(true);

        const full = await src.clone("/elsewhere/full", { copyData: true });
        expect(full.path).toBe("elsewhere/full");
        expect(await pool.hasGroup("elsewhere")).toBe(true); // the new subtree is a proper hierarchy
        const mapped = await src.map((chunk) => chunk.data, "derived/mapped");
        expect(mapped.path).toBe("g/derived/mapped");
        expect(await (await pool.getGroup("g/derived")).listDatasets()).toEqual(["mapped"]);
        expect(valuesOf((await mapped.read()).data)).toEqual(Array.from(DATA));
        await expect(src.clone("/g/src/inside")).rejects.toThrow(/"\/g\/src" is a dataset/);
        expect((await chunkKeysOf(pool, "elsewhere/full")).map((k) => k.slice("elsewhere/full".length))).toEqual(
          (await chunkKeysOf(pool, "g/src")).map((k) => k.slice("g/src".length)),
        );
        const reopened = await (await reopen(pool)).getDataset("elsewhere/full");
        expect(valuesOf((await reopened.read()).data)).toEqual(Array.from(DATA));
        // the clone is independent of its source
        await full.set("0, 0", -5);
        expect((await src.get("0, 0")).data[0]).toBe(DATA[0]);
        await expect(src.clone("copy")).rejects.toThrow(dn.AlreadyExistsError);
      });

      it("delete of a dataset removes every object it stored", async () => {
        const pool = await freshPool("delete");
        const ds = await pool.createDataset("g/victim", { data: randomInts(100, 1, 50, 2), shape: [10, 10], chunks: 3 });
        const neighbour = await pool.createDataset("g/victim2", { data: new Int8Array([1, 2]), shape: [2] });
        expect(await chunkKeysOf(pool, "g/victim")).toHaveLength(16);
        await ds.delete();
        expect(await storeKeys(pool, "g/victim/")).toEqual([]);
        expect(await pool.hasDataset("g/victim")).toBe(false);
        expect(await (await pool.getGroup("g")).keys()).toEqual(["victim2"]);
        expect(valuesOf((await neighbour.read()).data)).toEqual([1, 2]);
        await pool.deleteDataset("g/victim2");
        expect(await storeKeys(pool)).toEqual(["g/zarr.json", "zarr.json"]);
        await expect(pool.deleteDataset("g/victim2")).rejects.toThrow(dn.NotFoundError);
      });
    });

    describe("njobs inheritance", () => {
      it("Cluster → Pool → Dataset unless overridden", async () => {
        const own = await kind.make();
        try {
          const c = own.cluster;
          expect(c.njobs).toBe(8);
          const pool = await c.createPool(uniquePoolName("njobs"));
          const ds = await pool.createDataset("d", { shape: [4], dtype: "int8" });
          const group = await pool.createGroup("g");
          const nested = await group.createDataset("n", { shape: [4], dtype: "int8" });
          expect([pool.njobs, ds.njobs, group.njobs, nested.njobs]).toEqual([8, 8, 8, 8]);
          c.njobs = 3;
          expect([pool.njobs, ds.njobs, nested.njobs]).toEqual([3, 3, 3]);
          pool.njobs = 5;
          expect([c.njobs, pool.njobs, ds.njobs, group.njobs, nested.njobs]).toEqual([3, 5, 5, 5, 5]);
          group.njobs = 2;
          expect([ds.njobs, nested.njobs]).toEqual([5, 2]);
          ds.njobs = 1;
          expect([pool.njobs, ds.njobs]).toEqual([5, 1]);
          expect(() => (ds.njobs = 0)).toThrow(dn.ValidationError);
          const explicit = await pool.createDataset("e", { shape: [4], dtype: "int8", njobs: 6 });
          expect(explicit.njobs).toBe(6);
          const opened = await pool.getDataset("d");
          expect(opened.njobs).toBe(5);
          const poolWithOwn = await c.getPool(pool.context.poolName, { njobs: 4 });
          expect((await poolWithOwn.getDataset("d")).njobs).toBe(4);
          const configured = new dn.Cluster({ backend: "memory", njobs: 12 });
          expect((await configured.createPool("x")).njobs).toBe(12);
          expect(() => new dn.Cluster({ backend: "memory", njobs: 0 })).toThrow(dn.ValidationError);
        } finally {
          await own.cleanup();
        }
      });

      it("bounds the chunk requests actually in flight", async () => {
        const pool = await freshPool("inflight");
        const ds = await pool.createDataset("d", { data: randomInts(64, 1, 9, 4), shape: [8, 8], chunks: 2 });
        const store = pool.store;
        const originalGet = store.get.bind(store);
        let inFlight = 0;
        let peak = 0;
        store.get = async (...args: Parameters<typeof store.get>) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          try {
            await new Promise((resolve) => setTimeout(resolve, 1));
            return await originalGet(...args);
          } finally {
            inFlight--;
          }
        };
        try {
          const peakFor = async (njobs: number | undefined) => {
            peak = 0;
            if (njobs !== undefined) pool.njobs = njobs;
            const got = await (await pool.getDataset("d")).read();
            expect(got.size).toBe(64);
            return peak;
          };
          expect(await peakFor(1)).toBe(1);
          expect(await peakFor(3)).toBe(3);
          peak = 0;
          await ds.read({ njobs: 2 });
          expect(peak).toBe(2);
        } finally {
          store.get = originalGet;
        }
      });
    });
  });
}
