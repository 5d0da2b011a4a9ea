/**
 * nearest / createVectorIndex / updateVectorIndex on every backend (memory, fs, and the S3
 * endpoint under test when DOSNA_TEST_S3_ENDPOINT is set):
 * - the exact path equals a brute-force reference written here (all three metrics; integer-valued
 *   data, so distances are exact and ties real, broken by row index) over several chunkings,
 *   a ragged last chunk, columns split over chunks, float64, odd query counts, and filters;
 * - the HNSW path reaches recall@10 ≥ 0.95 on 5,000 × 32 clustered data, filtered searches keep to
 *   the filter, very selective filters go exact, the index reopens from a fresh pool handle;
 * - updates after an append, a change of rows and a shrink re-add exactly the rows of the changed
 *   objects and reach a fresh index's recall; an update with nothing changed reads only tokens;
 * - bad input fails with the error class and the values named, and changes nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { nearest, type NearestResult, type VectorMetric } from "../../src/compute/vector-search.js";
import { createVectorIndex, deleteVectorIndex, updateVectorIndex, vectorIndexInfo } from "../../src/compute/vector-index.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectError, expectErrorAndNoChange } from "../helpers/expect-error.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { seededRandom } from "../helpers/random.js";
import { expectStoreUnchanged, snapshotStore } from "../helpers/store-snapshot.js";

const METRICS: VectorMetric[] = ["l2", "cosine", "ip"];

/** Brute force: every row's distance in doubles, sorted (distance, index); the k first, padded with −1. */
function reference(data: ArrayLike<number>, n: number, d: number, queries: ArrayLike<number>, q: number, k: number, metric: VectorMetric, keep: (row: number) => boolean = () => true): { indices: number[]; distances: number[] } {
  const indices: number[] = [];
  const distances: number[] = [];
  for (let i = 0; i < q; i++) {
    const scored: [number, number][] = [];
    let qq = 0;
    for (let j = 0; j < d; j++) qq += queries[i * d + j] ** 2;
    for (let r = 0; r < n; r++) {
      if (!keep(r)) continue;
      let dot = 0;
      let xx = 0;
      let l2 = 0;
      for (let j = 0; j < d; j++) {
        const a = queries[i * d + j];
        const b = data[r * d + j];
        dot += a * b;
        xx += b * b;
        l2 += (a - b) ** 2;
      }
      const denominator = Math.sqrt(qq) * Math.sqrt(xx);
      scored.push([metric === "l2" ? l2 : metric === "ip" ? 1 - dot : denominator === 0 ? 1 : 1 - dot / denominator, r]);
    }
    scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let j = 0; j < k; j++) {
      indices.push(j < scored.length ? scored[j][1] : -1);
      distances.push(j < scored.length ? Math.fround(scored[j][0]) : Infinity);
    }
  }
  return { indices, distances };
}

function expectEqualsReference(got: NearestResult, want: { indices: number[]; distances: number[] }): void {
  expect(Array.from(got.indices)).toEqual(want.indices);
  expect(Array.from(got.distances)).toEqual(want.distances);
}

/** Integer values in [lo, hi]: distances are exact in doubles and ties common. */
function integerValues(count: number, lo: number, hi: number, seed: number, wide = false): Float32Array | Float64Array {
  const next = seededRandom(seed);
  const out = wide ? new Float64Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + Math.floor(next() * (hi - lo + 1));
  return out;
}

/** n rows around `clusters` centres in [-1, 1]^d, spread ~0.25 (sums of uniforms). */
function clustered(n: number, d: number, clusters: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, () => 2 * next() - 1));
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(next() * clusters)];
    for (let j = 0; j < d; j++) out[i * d + j] = c[j] + 0.25 * (next() + next() + next() - 1.5);
  }
  return out;
}

/** Queries near rows of `data` (each a row plus noise). */
function queriesNear(data: Float32Array, n: number, d: number, q: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(q * d);
  for (let i = 0; i < q; i++) {
    const r = Math.floor(next() * n);
    for (let j = 0; j < d; j++) out[i * d + j] = data[r * d + j] + 0.1 * (next() - 0.5);
  }
  return out;
}

function recall(got: NearestResult, truth: NearestResult): number {
  const { queries, k } = truth;
  let hits = 0;
  for (let i = 0; i < queries; i++) {
    const want = new Set(truth.indices.subarray(i * k, (i + 1) * k));
    for (let j = 0; j < k; j++) if (want.has(got.indices[i * k + j])) hits++;
  }
  return hits / (queries * k);
}

for (const kind of backendKinds) {
  describe(`vector search on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let pool: dn.Pool;
    let poolName: string;
    let counter = 0;
    const fresh = () => `v${counter++}`;

    beforeAll(async () => {
      fixture = await kind.make();
      poolName = uniquePoolName("vectors");
      pool = await fixture.cluster.createPool(poolName);
    });
    afterAll(async () => {
      await fixture.cleanup();
    });

    describe("exact", () => {
      const n = 203;
      const d = 7;
      const data = integerValues(n * d, -2, 2, 5) as Float32Array;
      // Some all-zero rows: cosine distance 1 to everything.
      data.fill(0, 10 * d, 11 * d);
      data.fill(0, 150 * d, 151 * d);
      const q = 9;
      const queries = integerValues(q * d, -2, 2, 6) as Float32Array;
      queries.set(data.subarray(42 * d, 43 * d), 3 * d); // a query equal to row 42
      queries.fill(0, 5 * d, 6 * d); // a zero query

      for (const chunks of [[50, 7], [64, 3], [203, 7], [17, 4]]) {
        it(`equals brute force for all metrics with chunks [${chunks}]${n % chunks[0] ? " (ragged last chunk)" : ""}`, async () => {
          const ds = await pool.createDataset(fresh(), { shape: [n, d], dtype: "float32", chunks });
          await ds.set(undefined, data);
          for (const metric of METRICS) {
            for (const k of [1, 5, n]) {
              const got = await nearest(ds, queries, k, { metric, njobs: 3 });
              expect(got.method).toBe("exact");
              expect([got.queries, got.k]).toEqual([q, k]);
              expectEqualsReference(got, reference(data, n, d, queries, q, k, metric));
            }
          }
        });
      }

      it("reads float64 datasets and takes queries as number[][], ndarrays and one number[]", async () => {
        const wide = integerValues(n * d, -3, 3, 8, true) as Float64Array;
        const ds = await pool.createDataset(fresh(), { shape: [n, d], dtype: "float64", chunks: [40, 7] });
        await ds.set(undefined, wide);
        const nested = Array.from({ length: q }, (_, i) => Array.from(queries.subarray(i * d, (i + 1) * d)));
        for (const metric of METRICS) {
          const want = reference(wide, n, d, queries, q, 6, metric);
          expectEqualsReference(await nearest(ds, nested, 6, { metric }), want);
          const view = { data: Float64Array.from(queries), shape: [q, d], stride: [d, 1], offset: 0 };
          expectEqualsReference(await nearest(ds, view, 6, { metric }), want);
        }
        const one = await nearest(ds, nested[2], 4, { metric: "l2" });
        expect(one.queries).toBe(1);
        expectEqualsReference(one, reference(wide, n, d, queries.subarray(2 * d, 3 * d), 1, 4, "l2"));
      });

      it("distances are the documented ones: squared L2, 1 − cos, 1 − inner product", async () => {
        const ds = await pool.createDataset(fresh(), { shape: [2, 2], dtype: "float32", chunks: [1, 2] });
        await ds.set(undefined, new Float32Array([3, 4, 1, 0]));
        const l2 = await nearest(ds, [[0, 0]], 2, { metric: "l2" });
        expect([Array.from(l2.indices), Array.from(l2.distances)]).toEqual([[1, 0], [1, 25]]);
        const cos = await nearest(ds, [[1, 0]], 2, { metric: "cosine" });
        expect(Array.from(cos.indices)).toEqual([1, 0]);
        expect(cos.distances[0]).toBe(0);
        expect(cos.distances[1]).toBeCloseTo(0.4, 6);
        const ip = await nearest(ds, [[1, 1]], 2, { metric: "ip" });
        expect([Array.from(ip.indices), Array.from(ip.distances)]).toEqual([[0, 1], [-6, 0]]);
      });

      it("filters by mask, by row range and by both, padding with −1 when fewer than k rows qualify; skips blocks with no kept row", async () => {
        const name = fresh();
        const ds = await pool.createDataset(name, { shape: [n, d], dtype: "float32", chunks: [20, 7] });
        await ds.set(undefined, data);
        const next = seededRandom(9);
        const mask = Array.from({ length: n }, () => next() < 0.3);
        const bytes = Uint8Array.from(mask, (m) => (m ? 1 : 0));
        for (const metric of METRICS) {
          expectEqualsReference(await nearest(ds, queries, 8, { metric, filter: mask }), reference(data, n, d, queries, q, 8, metric, (r) => mask[r]));
          expectEqualsReference(await nearest(ds, queries, 8, { metric, filter: bytes }), reference(data, n, d, queries, q, 8, metric, (r) => mask[r]));
          expectEqualsReference(await nearest(ds, queries, 8, { metric, rows: [40, 150] }), reference(data, n, d, queries, q, 8, metric, (r) => r >= 40 && r < 150));
          const both = (r: number) => mask[r] && r >= 45 && r < 70;
          expectEqualsReference(await nearest(ds, queries, 12, { metric, filter: mask, rows: [45, 70] }), reference(data, n, d, queries, q, 12, metric, both));
        }
        const few = await nearest(ds, queries, 5, { metric: "l2", rows: [100, 103] });
        expect(Array.from(few.indices.subarray(0, 5)).slice(3)).toEqual([-1, -1]);
        expect(Array.from(few.distances.subarray(0, 5)).slice(3)).toEqual([Infinity, Infinity]);

        // Rows 45…69 lie in blocks 2 and 3 (of 20 rows): only their chunks are read.
        const store = new InstrumentedStore(pool.context.store);
        const watched = await (await dn.Pool.open(store, { name: poolName })).getDataset(name);
        store.reset();
        await nearest(watched, queries, 3, { metric: "l2", rows: [45, 70] });
        expect(store.keysOf("get").filter((key) => key.includes("/c/")).sort()).toEqual([`${name}/c/2/0`, `${name}/c/3/0`]);
      });

      it("honours an abort signal", async () => {
        const ds = await pool.createDataset(fresh(), { shape: [n, d], dtype: "float32", chunks: [20, 7] });
        const controller = new AbortController();
        controller.abort();
        await expectError(() => nearest(ds, queries, 3, { metric: "l2", signal: controller.signal }), dn.AbortedError, ["nearest"]);
      });
    });

    describe("HNSW", () => {
      const n = 5000;
      const d = 32;
      const k = 10;
      const data = clustered(n, d, 40, 21);
      const queries = queriesNear(data, n, d, 200, 22);
      let name: string;
      let ds: dn.Dataset;
      let truth: NearestResult;

      beforeAll(async () => {
        name = fresh();
        ds = await pool.createDataset(name, { shape: [n, d], dtype: "float32", chunks: [512, 32] });
        await ds.set(undefined, data);
        truth = await nearest(ds, queries, k, { metric: "l2" });
      });

      it("reaches recall@10 ≥ 0.95 for every metric; exact: true and another metric still scan exactly", async () => {
        const info = await createVectorIndex(ds, { kind: "hnsw", metric: "l2" });
        expect(info).toMatchObject({ kind: "hnsw", metric: "l2", dims: d, rows: n, params: { connectivity: 16, expansionAdd: 128, expansionSearch: 64 } });
        expect(info.key).toMatch(new RegExp(`^\\.dosna/index/${name}/hnsw-[0-9a-f]+\\.usearch$`));
        expect(await vectorIndexInfo(ds)).toEqual(info);
        const approx = await nearest(ds, queries, k, { metric: "l2" });
        expect(approx.method).toBe("hnsw");
        expect(recall(approx, truth)).toBeGreaterThanOrEqual(0.95);
        expect(await nearest(ds, queries, k, { metric: "l2", exact: true })).toEqual(truth);
        expect((await nearest(ds, queries, k, { metric: "cosine" })).method).toBe("exact");

        for (const metric of ["cosine", "ip"] as const) {
          const other = await pool.createDataset(fresh(), { shape: [n, d], dtype: "float32", chunks: [1000, 16] });
          await other.set(undefined, data);
          const exact = await nearest(other, queries, k, { metric });
          await createVectorIndex(other, { kind: "hnsw", metric, expansionSearch: 96 });
          const got = await nearest(other, queries, k, { metric });
          expect(got.method).toBe("hnsw");
          expect(recall(got, exact), metric).toBeGreaterThanOrEqual(0.95);
        }
      });

      it("filters: results keep to the filter; a very selective filter goes exact", async () => {
        await createVectorIndex(ds, { kind: "hnsw", metric: "l2" });
        const mask = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
        const exact = await nearest(ds, queries, k, { metric: "l2", filter: mask, exact: true });
        const got = await nearest(ds, queries, k, { metric: "l2", filter: mask });
        expect(got.method).toBe("hnsw");
        expect(Array.from(got.indices).every((i) => mask[i] === 1)).toBe(true);
        expect(recall(got, exact)).toBeGreaterThanOrEqual(0.9);
        const ranged = await nearest(ds, queries, k, { metric: "l2", rows: [1000, 4000] });
        expect(Array.from(ranged.indices).every((i) => i >= 1000 && i < 4000)).toBe(true);
        expect(recall(ranged, await nearest(ds, queries, k, { metric: "l2", rows: [1000, 4000], exact: true }))).toBeGreaterThanOrEqual(0.9);
        // 100 rows of 5,000 = 2 %, below the 5 % threshold.
        const narrow = await nearest(ds, queries, k, { metric: "l2", rows: [2000, 2100] });
        expect(narrow.method).toBe("exact");
        expect(narrow).toEqual(await nearest(ds, queries, k, { metric: "l2", rows: [2000, 2100], exact: true }));
      });

      it("is stored in the pool and used from a fresh pool handle", async () => {
        await createVectorIndex(ds, { kind: "hnsw", metric: "l2" });
        const before = await nearest(ds, queries, k, { metric: "l2" });
        const keys: string[] = [];
        for await (const key of pool.context.store.list(`.dosna/index/${name}/`)) keys.push(key);
        expect(keys.sort()).toEqual([`.dosna/index/${name}/index.json`, (await vectorIndexInfo(ds))!.key].sort());
        const reopened = await (await fixture.cluster.getPool(poolName)).getDataset(name);
        const after = await nearest(reopened, queries, k, { metric: "l2" });
        expect(after.method).toBe("hnsw");
        expect(recall(after, truth)).toBeGreaterThanOrEqual(0.95);
        expect(after.indices).toEqual(before.indices);
      });

      it("updates after an append, a change of rows and a shrink: only changed objects' rows, recall of a fresh index", async () => {
        const own = fresh();
        const x = await pool.createDataset(own, { shape: [n, d], dtype: "float32", chunks: [500, 16] });
        await x.set(undefined, data);
        await createVectorIndex(x, { kind: "hnsw", metric: "l2" });

        // Nothing changed: one LIST and one token read per stored object, nothing written.
        const store = new InstrumentedStore(pool.context.store);
        const watched = await (await dn.Pool.open(store, { name: poolName })).getDataset(own);
        const snapshot = await snapshotStore(pool.context.store);
        store.reset();
        expect(await updateVectorIndex(watched)).toEqual({ rowsUpdated: 0, rowsRemoved: 0, rebuilt: false, rows: n });
        expect(store.count("list")).toBe(1);
        expect(store.count("get")).toBe(1 + 20); // index.json, then 10 row blocks × 2 column objects
        expect(store.count("set") + store.count("delete") + store.count("deleteMany")).toBe(0);
        await expectStoreUnchanged(pool.context.store, snapshot);

        // Append 700 rows: block 10 (5000…5500) and block 11 (5500…5700) are new.
        const extra = clustered(700, d, 40, 23);
        await x.resize([n + 700, d]);
        await x.set(`${n}:${n + 700}, :`, extra);
        // Before the update, the appended rows are scanned exactly beside the graph.
        const probe = extra.slice(650 * d, 651 * d);
        const stale = await nearest(x, probe, 1, { metric: "l2" });
        expect([stale.method, stale.indices[0]]).toEqual(["hnsw", n + 650]);
        expect(await updateVectorIndex(x)).toEqual({ rowsUpdated: 700, rowsRemoved: 0, rebuilt: false, rows: n + 700 });

        // Change rows 1234…1239 (one column block): block 2's rows (1000…1500) are re-added. The new
        // values come from other rows (4000…4005) of the same distribution: an outlier far from every
        // cluster is not reliably reachable by HNSW's greedy search (a CI run once found row 5655).
        const moved = new Float32Array(6 * 16);
        for (let r = 0; r < 6; r++) moved.set(data.subarray((4000 + r) * d, (4000 + r) * d + 16), r * 16);
        await x.set("1234:1240, 0:16", moved);
        expect(await updateVectorIndex(x)).toEqual({ rowsUpdated: 500, rowsRemoved: 0, rebuilt: false, rows: n + 700 });
        const all = new Float32Array((n + 700) * d);
        all.set(data);
        all.set(extra, n * d);
        for (let r = 0; r < 6; r++) all.set(moved.subarray(r * 16, (r + 1) * 16), (1234 + r) * d);
        const movedQuery = all.slice(1236 * d, 1237 * d);
        const top = await nearest(x, movedQuery, 1, { metric: "l2" });
        expect([top.method, top.indices[0]]).toEqual(["hnsw", 1236]);

        const newQueries = queriesNear(all, n + 700, d, 200, 25);
        const exact = await nearest(x, newQueries, k, { metric: "l2", exact: true });
        const updated = recall(await nearest(x, newQueries, k, { metric: "l2" }), exact);
        const rebuiltName = fresh();
        const rebuilt = await pool.createDataset(rebuiltName, { shape: [n + 700, d], dtype: "float32", chunks: [500, 16] });
        await rebuilt.set(undefined, all);
        await createVectorIndex(rebuilt, { kind: "hnsw", metric: "l2" });
        const freshRecall = recall(await nearest(rebuilt, newQueries, k, { metric: "l2" }), exact);
        expect(updated).toBeGreaterThanOrEqual(0.95);
        expect(updated).toBeGreaterThanOrEqual(freshRecall - 0.02);

        // Shrink to 4,800 rows: rows ≥ 4,800 never come back, block 9 is re-added, blocks 10 and 11 dropped.
        await x.resize([4800, d]);
        const tail = all.slice(5200 * d, 5201 * d);
        const cut = await nearest(x, tail, k, { metric: "l2" });
        expect(Array.from(cut.indices).every((i) => i >= 0 && i < 4800)).toBe(true);
        expect(await updateVectorIndex(x)).toEqual({ rowsUpdated: 300, rowsRemoved: 900, rebuilt: false, rows: 4800 });
        expect((await vectorIndexInfo(x))!.rows).toBe(4800);

        await deleteVectorIndex(x);
        expect(await vectorIndexInfo(x)).toBeUndefined();
        const left: string[] = [];
        for await (const key of pool.context.store.list(`.dosna/index/${own}/`)) left.push(key);
        expect(left).toEqual([]);
        expect((await nearest(x, tail, 1, { metric: "l2" })).method).toBe("exact");
      });
    });

    describe("bad input", () => {
      const n = 30;
      const d = 4;
      let ds: dn.Dataset;
      let cube: dn.Dataset;
      let line: dn.Dataset;
      let ints: dn.Dataset;

      // A pool of its own: each case snapshots every key of it.
      let small: dn.Pool;

      beforeAll(async () => {
        small = await fixture.cluster.createPool(uniquePoolName("vectors-bad"));
        const pool = small;
        ds = await pool.createDataset(fresh(), { shape: [n, d], dtype: "float32", chunks: [8, 4] });
        await ds.set(undefined, integerValues(n * d, -2, 2, 31));
        cube = await pool.createDataset(fresh(), { shape: [4, 5, 6], dtype: "float32", chunks: [2, 5, 6] });
        line = await pool.createDataset(fresh(), { shape: [30], dtype: "float32", chunks: [8] });
        ints = await pool.createDataset(fresh(), { shape: [n, d], dtype: "int32", chunks: [8, 4] });
      });

      const query = [[1, 2, 3, 4]];
      const cases: [string, () => { run: () => Promise<unknown>; cls: new (...args: never[]) => Error; fragments: string[] }][] = [
        ["a query of the wrong dimension", () => ({ run: () => nearest(ds, [[1, 2, 3]], 2, { metric: "l2" }), cls: dn.ShapeError, fragments: ["dimension 3", "dimension 4"] })],
        ["one row of several with the wrong dimension", () => ({ run: () => nearest(ds, [[1, 2, 3, 4], [1, 2, 3, 4, 5]], 2, { metric: "l2" }), cls: dn.ShapeError, fragments: ["query 1", "dimension 5", "dimension 4"] })],
        ["flat queries that are not rows of d", () => ({ run: () => nearest(ds, new Float32Array(6), 2, { metric: "l2" }), cls: dn.ShapeError, fragments: ["6 values", "dimension 4"] })],
        ["an ndarray of the wrong dimension", () => ({ run: () => nearest(ds, { data: new Float32Array(10), shape: [2, 5], stride: [5, 1], offset: 0 }, 2, { metric: "l2" }), cls: dn.ShapeError, fragments: ["dimension 5", "[2,5]", "dimension 4"] })],
        ["k = 0", () => ({ run: () => nearest(ds, query, 0, { metric: "l2" }), cls: dn.ValidationError, fragments: ["k must be", "30 rows", "got 0"] })],
        ["k > n", () => ({ run: () => nearest(ds, query, 31, { metric: "l2" }), cls: dn.ValidationError, fragments: ["30 rows", "got 31"] })],
        ["k not an integer", () => ({ run: () => nearest(ds, query, 2.5, { metric: "l2" }), cls: dn.ValidationError, fragments: ["got 2.5"] })],
        ["a 3-D dataset", () => ({ run: () => nearest(cube, query, 1, { metric: "l2" }), cls: dn.ShapeError, fragments: ["[4,5,6]", "2-D"] })],
        ["a 1-D dataset", () => ({ run: () => nearest(line, query, 1, { metric: "l2" }), cls: dn.ShapeError, fragments: ["[30]", "2-D"] })],
        ["an int32 dataset", () => ({ run: () => nearest(ints, query, 1, { metric: "l2" }), cls: dn.DtypeError, fragments: ["int32", "float32 or float64"] })],
        ["an unknown metric", () => ({ run: () => nearest(ds, query, 1, { metric: "hamming" as never }), cls: dn.ValidationError, fragments: ['"hamming"', '"l2", "cosine" or "ip"'] })],
        ["a mask of the wrong length", () => ({ run: () => nearest(ds, query, 1, { metric: "l2", filter: new Uint8Array(29) }), cls: dn.ShapeError, fragments: ["length 29", "30 rows"] })],
        ["a row range past the end", () => ({ run: () => nearest(ds, query, 1, { metric: "l2", rows: [5, 31] }), cls: dn.ValidationError, fragments: ["[5,31]", "30"] })],
        ["njobs 0", () => ({ run: () => nearest(ds, query, 1, { metric: "l2", njobs: 0 }), cls: dn.ValidationError, fragments: ["njobs", "got 0"] })],
        ["an index of an unknown kind", () => ({ run: () => createVectorIndex(ds, { kind: "ivf" as never, metric: "l2" }), cls: dn.ValidationError, fragments: ['"ivf"', '"hnsw"'] })],
        ["an index with an unknown metric", () => ({ run: () => createVectorIndex(ds, { kind: "hnsw", metric: "dot" as never }), cls: dn.ValidationError, fragments: ['"dot"'] })],
        ["an index with connectivity 1", () => ({ run: () => createVectorIndex(ds, { kind: "hnsw", metric: "l2", connectivity: 1 }), cls: dn.ValidationError, fragments: ["connectivity", "got 1"] })],
        ["an index of an int32 dataset", () => ({ run: () => createVectorIndex(ints, { kind: "hnsw", metric: "l2" }), cls: dn.DtypeError, fragments: ["int32"] })],
        ["an index of a 3-D dataset", () => ({ run: () => createVectorIndex(cube, { kind: "hnsw", metric: "l2" }), cls: dn.ShapeError, fragments: ["[4,5,6]"] })],
        ["updating a dataset without an index", () => ({ run: () => updateVectorIndex(ds), cls: dn.NotFoundError, fragments: ["no vector index", ds.describe] })],
      ];
      for (const [label, make] of cases) {
        it(`${label} fails clearly and changes nothing`, async () => {
          const { run, cls, fragments } = make();
          await expectErrorAndNoChange(small.context.store, run, cls, fragments);
        });
      }
    });
  });
}
