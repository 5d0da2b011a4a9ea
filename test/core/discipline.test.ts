/**
 * I/O discipline, observed through a Store wrapper that records every call: what a read or a
 * write fetches, puts and deletes, how many chunk requests run at once (njobs and its
 * inheritance), that concurrent writes never lose each other's updates, and cancellation.
 */
import ndarray from "ndarray";
import { beforeEach, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { referenceGet, valuesOf, type RefItem } from "../helpers/reference.js";

const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

async function instrumentedPool(options: ConstructorParameters<typeof InstrumentedStore>[1] = {}, njobs?: () => number) {
  const store = new InstrumentedStore(new dn.MemoryStore(), options);
  // Chunk I/O is counted here: provenance records (tested in test/provenance) are off.
  const pool = await dn.Pool.initialise(store, { name: "discipline", provenance: false, ...(njobs ? { njobs } : {}) });
  store.reset();
  return { store, pool };
}

async function storedKeys(store: dn.Store, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys.sort();
}

const sorted = (keys: string[]) => [...keys].sort();

describe("what opening costs", () => {
  it("opening a pool is one GET of its zarr.json", async () => {
    const { store } = await instrumentedPool();
    await dn.Pool.open(store, { name: "again" });
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["get", "zarr.json"]]);
  });

  it("opening a dataset is exactly one GET of its zarr.json, at any depth", async () => {
    const { store, pool } = await instrumentedPool();
    await pool.createDataset("data", { shape: [4], dtype: "int8" });
    await pool.createDataset("g/sub/deep", { shape: [4], dtype: "int8" });
    for (const [name, key] of [["data", "data/zarr.json"], ["g/sub/deep", "g/sub/deep/zarr.json"]]) {
      store.reset();
      await pool.getDataset(name);
      expect(store.calls.map((c) => [c.op, c.key])).toEqual([["get", key]]);
      store.reset();
      await pool.get(name);
      expect(store.calls.map((c) => [c.op, c.key])).toEqual([["get", key]]);
    }
    const group = await pool.getGroup("g");
    store.reset();
    await group.getDataset("sub/deep");
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["get", "g/sub/deep/zarr.json"]]);
  });
});

describe("reads", () => {
  const SHAPE = [10, 12, 7];
  const DATA = Int32Array.from({ length: 840 }, (_, i) => i + 1);
  let store: InstrumentedStore;
  let pool: dn.Pool;
  let ds: dn.Dataset;

  beforeEach(async () => {
    ({ store, pool } = await instrumentedPool());
    ds = await pool.createDataset("data", { shape: SHAPE, dtype: "int32", chunks: [3, 4, 5] });
    await ds.set("2:9, 1:10, :", ndarray(DATA, SHAPE).lo(2, 1, 0).hi(7, 9, 7));
    store.reset();
  });

  const selections: Array<[string, RefItem[]]> = [
    ["...", []],
    ["0, 0, 0", [0, 0, 0]],
    [":, :66, 5:", [s(null, null), s(null, 66), s(5, null)]],
    ["::-1, 3, ::3", [s(null, null, -1), 3, s(null, null, 3)]],
    ["[9, 0, 9, 1], [11, 11], -1", [{ points: [9, 0, 9, 1] }, { points: [11, 11] }, -1]],
    ["..., [true, false, false, false, false, false, true]", [s(null, null), s(null, null), { points: [0, 6] }]],
    ["5:5", [s(5, 5)]],
  ];
  for (const [text, reference] of selections) {
    it(`get("${text}") makes one GET per touched chunk and nothing else`, async () => {
      const full = valuesOf((await ds.read()).data);
      store.reset();
      const touched = ds.chunksTouchedBy(text).map((grid) => ds.chunkKeyOf(grid));
      const got = await ds.get(text);
      expect(valuesOf(got.data)).toEqual(referenceGet(full, SHAPE, reference).values);
      expect(store.calls.every((c) => c.op === "get")).toBe(true);
      expect(sorted(store.keysOf("get"))).toEqual(sorted(touched));
      expect(new Set(store.keysOf("get")).size).toBe(store.count("get"));
    });
  }

  it("reading a never-written dataset makes GETs only, one per chunk, and reads the fill value", async () => {
    const blank = await pool.createDataset("blank", { shape: [5, 9], dtype: "float32", chunks: [2, 4], fillValue: NaN });
    store.reset();
    const got = await blank.read();
    expect(valuesOf(got.data).every(Number.isNaN)).toBe(true);
    expect(store.calls.every((c) => c.op === "get")).toBe(true);
    expect(sorted(store.keysOf("get"))).toEqual(sorted([...blank.iterChunks()].map((c) => c.key)));
    expect(await storedKeys(store.inner, "blank/c")).toEqual([]);
  });

  it("inspecting a dataset never writes or deletes", async () => {
    await ds.read();
    await ds.chunk([1, 1, 1]).get();
    await ds.chunk([1, 1, 1]).exists();
    await ds.chunk([3, 2, 1]).exists();
    await ds.storedChunkIndices();
    await pool.hasDataset("data");
    await pool.keys();
    await pool.listDatasets();
    for (const op of ["set", "delete", "deleteMany"] as const) expect(store.count(op)).toBe(0);
  });
});

describe("writes", () => {
  let store: InstrumentedStore;
  let pool: dn.Pool;

  beforeEach(async () => {
    ({ store, pool } = await instrumentedPool());
  });

  it("a chunk fully covered by a write is PUT without a GET; a ragged edge chunk is read first (its part past the shape may hold another writer's appended rows)", async () => {
    const ds = await pool.createDataset("data", { shape: [10, 10], dtype: "int16", chunks: [4, 4] });
    store.reset();
    await ds.set("0:4, 4:8", 3);
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["set", "data/c/0/1"]]);
    store.reset();
    await ds.set("3::-1, 8:", new Int16Array(8).fill(4)); // negative step; ragged edge chunk [0, 2]
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([
      ["get", "data/c/0/2"],
      ["set", "data/c/0/2"],
    ]);
    store.reset();
    await ds.set("[7, 6, 5, 4], [3, 0, 2, 1]", 5); // index arrays that cover chunk [1, 0]
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["set", "data/c/1/0"]]);
    store.reset();
    await ds.set(undefined, Int16Array.from({ length: 100 }, (_, i) => i + 1));
    // The 4 interior-covered chunks are PUT at once; the 5 ragged edge chunks are read first.
    expect(sorted(store.keysOf("get"))).toEqual(sorted(["data/c/0/2", "data/c/1/2", "data/c/2/0", "data/c/2/1", "data/c/2/2"]));
    expect(sorted(store.keysOf("set"))).toEqual(sorted([...ds.iterChunks()].map((c) => c.key)));
    expect(store.calls).toHaveLength(14);
  });

  it("a partial write does one GET then one PUT of the chunk", async () => {
    const ds = await pool.createDataset("data", { shape: [10, 10], dtype: "int16", chunks: [4, 4], fillValue: 0 });
    await ds.set("0:4, 0:4", 1);
    store.reset();
    await ds.set("1:3, 2", 7);
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([
      ["get", "data/c/0/0"],
      ["set", "data/c/0/0"],
    ]);
    store.reset();
    await ds.set("3:5, 3:5", 9); // four chunks, each partly
    expect(store.count("get")).toBe(4);
    expect(store.count("set")).toBe(4);
    for (const key of store.keysOf("set")) {
      const calls = store.calls.filter((c) => c.key === key).map((c) => c.op);
      expect(calls).toEqual(["get", "set"]);
    }
  });

  it("writing the fill value over a whole chunk DELETES it: no object left", async () => {
    const ds = await pool.createDataset("data", { shape: [8, 8], dtype: "int32", chunks: [4, 4], fillValue: -1 });
    await ds.set("0:4, 0:4", 5);
    expect(await storedKeys(store.inner, "data/c")).toEqual(["data/c/0/0"]);
    store.reset();
    await ds.set("0:4, 0:4", -1);
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["delete", "data/c/0/0"]]);
    expect(await storedKeys(store.inner, "data/c")).toEqual([]);
    expect(valuesOf((await ds.get("0:4, 0:4")).data)).toEqual(new Array(16).fill(-1));
  });

  it("a partial write that leaves a chunk all fill value deletes it", async () => {
    const ds = await pool.createDataset("data", { shape: [8, 8], dtype: "uint8", chunks: [4, 4], fillValue: 7 });
    await ds.set("1, 2", 3);
    store.reset();
    await ds.set("1, 2", 7);
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([
      ["get", "data/c/0/0"],
      ["delete", "data/c/0/0"],
    ]);
    expect(await storedKeys(store.inner, "data/c")).toEqual([]);
  });

  it("writing the fill value where nothing was stored leaves nothing stored", async () => {
    const ds = await pool.createDataset("data", { shape: [8, 8], dtype: "int8", chunks: [4, 4] });
    await ds.set(undefined, 0);
    await ds.set("2:6, 2:6", 0);
    expect(await storedKeys(store.inner, "data/c")).toEqual([]);
    expect(store.count("set", "data/c/0/0")).toBe(0);
  });

  const fills: Array<[dn.DataType, dn.Scalar]> = [
    ["float64", NaN],
    ["float32", NaN],
    ["float32", 0.1], // not a float32: the stored elements are Math.fround(0.1)
    ["float64", -Infinity],
    ["int64", -(2n ** 63n)],
    ["uint64", 2n ** 64n - 1n],
    ["bool", true],
  ];
  for (const [dtype, fill] of fills) {
    it(`a chunk of the fill value ${String(fill)} (${dtype}) is deleted, not stored`, async () => {
      const ds = await pool.createDataset("data", { shape: [6], dtype, chunks: [3], fillValue: fill });
      const other = dtype === "bool" ? false : typeof fill === "bigint" ? 1n : 1;
      await ds.set(undefined, other);
      expect(await storedKeys(store.inner, "data/c")).toEqual(["data/c/0", "data/c/1"]);
      await ds.set("0:3", fill);
      expect(await storedKeys(store.inner, "data/c")).toEqual(["data/c/1"]);
      await ds.set("3:6", fill);
      expect(await storedKeys(store.inner, "data/c")).toEqual([]);
    });
  }
});

describe("njobs bounds the chunk requests in flight", () => {
  async function slowDataset(njobs?: () => number) {
    const { store, pool } = await instrumentedPool({ delayMs: 3 }, njobs);
    const ds = await pool.createDataset("data", { shape: [24, 6], dtype: "float64", chunks: [2, 3] }); // 24 chunks
    store.reset();
    return { store, pool, ds };
  }

  for (const njobs of [1, 3, 8]) {
    it(`njobs = ${njobs}: reads, covering writes and partial writes keep exactly ${njobs} in flight`, async () => {
      const { store, ds } = await slowDataset();
      ds.njobs = njobs;
      await ds.read();
      expect(store.maxInFlight).toBe(njobs);
      store.reset();
      await ds.set(undefined, 2);
      expect(store.maxInFlight).toBe(njobs);
      store.reset();
      await ds.set("::2, :", 3); // every chunk partly: GET then PUT inside one task
      expect(store.count("get")).toBe(24);
      expect(store.maxInFlight).toBe(njobs);
    });
  }

  it("a per-call njobs overrides the dataset's", async () => {
    const { store, ds } = await slowDataset();
    ds.njobs = 8;
    await ds.read({ njobs: 2 });
    expect(store.maxInFlight).toBe(2);
  });

  it("the pool's njobs function is the default, and a dataset override wins", async () => {
    let poolNjobs = 5;
    const { store, pool, ds } = await slowDataset(() => poolNjobs);
    expect(ds.njobs).toBe(5);
    await ds.read();
    expect(store.maxInFlight).toBe(5);
    poolNjobs = 2;
    store.reset();
    await ds.read();
    expect(store.maxInFlight).toBe(2);
    pool.njobs = 4;
    store.reset();
    await ds.read();
    expect(store.maxInFlight).toBe(4);
    ds.njobs = 6;
    store.reset();
    await ds.read();
    expect(store.maxInFlight).toBe(6);
    const created = await pool.createDataset("own", { shape: [24, 6], dtype: "int8", chunks: [2, 3], njobs: 3 });
    store.reset();
    await created.read();
    expect(store.maxInFlight).toBe(3);
  });

  it("Cluster → Pool → Dataset inheritance, as wired by the Cluster itself", async () => {
    const cluster = new dn.Cluster({ backend: "memory", njobs: 5 });
    await cluster.connect();
    const pool = await cluster.createPool("inherit");
    // Route the real pool's I/O through a slow instrumented store; the njobs chain stays the Cluster's own.
    const store = new InstrumentedStore(pool.store, { delayMs: 3 });
    (pool.context as { store: dn.Store }).store = store;
    const ds = await pool.createDataset("data", { shape: [24, 6], dtype: "int16", chunks: [2, 3] });
    const measure = async (dataset: dn.Dataset) => {
      store.reset();
      await dataset.read();
      return store.maxInFlight;
    };
    expect([pool.njobs, ds.njobs]).toEqual([5, 5]);
    expect(await measure(ds)).toBe(5);
    cluster.njobs = 2;
    expect(await measure(ds)).toBe(2);
    expect(await measure(await pool.getDataset("data"))).toBe(2);
    pool.njobs = 7;
    expect(await measure(ds)).toBe(7);
    ds.njobs = 3;
    expect(await measure(ds)).toBe(3);
    expect(await measure(await pool.getDataset("data"))).toBe(7);
    const group = await pool.createGroup("g");
    const inGroup = await group.createDataset("d", { shape: [24, 6], dtype: "int16", chunks: [2, 3] });
    expect(await measure(inGroup)).toBe(7);
    group.njobs = 4;
    expect(await measure(inGroup)).toBe(4);
    await cluster.disconnect();
  });

  it("a pool opened with its own njobs overrides the cluster's", async () => {
    const cluster = new dn.Cluster({ backend: "memory", njobs: 6 });
    await cluster.connect();
    await cluster.createPool("p");
    const pool = await cluster.getPool("p", { njobs: 2 });
    const ds = await pool.createDataset("d", { shape: [4], dtype: "int8" });
    expect([pool.njobs, ds.njobs]).toEqual([2, 2]);
    cluster.njobs = 9;
    expect(ds.njobs).toBe(2);
    await cluster.disconnect();
  });
});

describe("concurrent writes in one process never lose updates", () => {
  const SHAPE = [6, 20];

  async function jitteryDataset(seed: number) {
    const { store, pool } = await instrumentedPool({ delayMs: 0, jitterMs: 3, seed });
    const ds = await pool.createDataset("data", { shape: SHAPE, dtype: "int32", chunks: [3, 5], fillValue: 0 });
    return { store, pool, ds };
  }

  it("50 single-element writes into the same chunks, plus slabs sharing those chunks", async () => {
    const { ds } = await jitteryDataset(7);
    const expected = new Int32Array(120);
    const writes: Promise<void>[] = [];
    // 50 distinct elements of columns 0–8 (chunks [0,0], [0,1], [1,0], [1,1]), all at once.
    for (let k = 0; k < 50; k++) {
      const row = k % 6;
      const col = Math.floor(k / 6);
      expected[row * 20 + col] = 1000 + k;
      writes.push(ds.set([row, col], 1000 + k));
    }
    // Slabs over disjoint elements of shared chunks (columns 10–19, chunks [*, 2] and [*, 3]).
    const slabs: Array<[string, (r: number, c: number) => boolean, number]> = [
      ["0:3, 10:12", (r, c) => r < 3 && c >= 10 && c < 12, 1],
      ["0:3, 12:15", (r, c) => r < 3 && c >= 12 && c < 15, 2],
      ["3:6, 10:20:2", (r, c) => r >= 3 && c >= 10 && c % 2 === 0, 3],
      ["3:6, 11:20:2", (r, c) => r >= 3 && c >= 11 && c % 2 === 1, 4],
      ["0:3, 15:", (r, c) => r < 3 && c >= 15, 5],
    ];
    for (const [selection, inside, value] of slabs) {
      for (let i = 0; i < 120; i++) if (inside(Math.floor(i / 20), i % 20)) expected[i] = value;
      writes.push(ds.set(selection, value));
    }
    await Promise.all(writes);
    expect(writes.length).toBe(55);
    expect(valuesOf((await ds.read()).data)).toEqual(valuesOf(expected));
  });

  it("overlapping slabs: each chunk ends with one writer's values, every chunk written", async () => {
    const { ds } = await jitteryDataset(11);
    ds.njobs = 8;
    await Promise.all([ds.set("1:5, 2:18", 1), ds.set("1:5, 2:18", 2), ds.set("1:5, 2:18", 3)]);
    const got = ndarray((await ds.read()).data, SHAPE);
    for (let r = 0; r < 6; r++) {
      for (let c = 0; c < 20; c++) {
        const inside = r >= 1 && r < 5 && c >= 2 && c < 18;
        if (inside) expect([1, 2, 3]).toContain(got.get(r, c));
        else expect(got.get(r, c)).toBe(0);
      }
    }
    // Within a chunk the read-modify-write is serialised, so a chunk holds one writer's values.
    for (const chunk of ds.iterChunks()) {
      const [gr, gc] = chunk.gridIndex;
      const seen = new Set<number | bigint>();
      for (let r = gr * 3; r < gr * 3 + 3; r++) for (let c = gc * 5; c < gc * 5 + 5; c++) if (r >= 1 && r < 5 && c >= 2 && c < 18) seen.add(got.get(r, c));
      expect(seen.size).toBeLessThanOrEqual(1);
    }
  });

  it("two Dataset objects opened on the same store share the chunk locks", async () => {
    const { pool, ds } = await jitteryDataset(13);
    const twin = await pool.getDataset("data");
    const expected = new Int32Array(120);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 120; i += 1) {
      expected[i] = i + 1;
      writes.push((i % 2 === 0 ? ds : twin).set([Math.floor(i / 20), i % 20], i + 1));
    }
    await Promise.all(writes);
    expect(valuesOf((await ds.read()).data)).toEqual(valuesOf(expected));
  });
});

describe("cancellation", () => {
  it("an already aborted signal rejects with AbortedError and makes no store call", async () => {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset("data", { shape: [8, 8], dtype: "int8", chunks: [2, 2] });
    const controller = new AbortController();
    controller.abort(new Error("user gave up"));
    store.reset();
    const signal = controller.signal;
    for (const run of [
      () => ds.get("0", { signal }),
      () => ds.read({ signal }),
      () => ds.set(undefined, 1, { signal }),
      () => ds.set("1, 1", 1, { signal }),
      () => ds.clear({ signal }),
      () => ds.apply((a) => a, { signal }),
    ]) {
      await expect(run()).rejects.toBeInstanceOf(dn.AbortedError);
    }
    expect(store.calls.filter((c) => c.op === "get" || c.op === "set" || c.op === "delete")).toEqual([]);
    expect(await storedKeys(store.inner, "data/c")).toEqual([]);
  });

  it("a long read aborted midway rejects and stops issuing GETs", async () => {
    const { store, pool } = await instrumentedPool({ delayMs: 4 });
    const ds = await pool.createDataset("data", { shape: [64, 4], dtype: "float32", chunks: [1, 4] }); // 64 chunks
    ds.njobs = 4;
    const controller = new AbortController();
    store.reset();
    store.onCall = (call) => {
      if (call.op === "get" && store.count("get") === 6) controller.abort();
    };
    await expect(ds.read({ signal: controller.signal })).rejects.toBeInstanceOf(dn.AbortedError);
    const getsAtRejection = store.count("get");
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(store.count("get")).toBe(getsAtRejection);
    expect(getsAtRejection).toBeLessThan(64);
    expect(store.calls.filter((c) => c.afterAbort)).toEqual([]);
  });

  it("a long write aborted midway rejects and stops issuing requests", async () => {
    const { store, pool } = await instrumentedPool({ delayMs: 4 });
    const ds = await pool.createDataset("data", { shape: [64, 4], dtype: "float32", chunks: [1, 4] });
    ds.njobs = 3;
    const controller = new AbortController();
    const progress: number[] = [];
    store.reset();
    store.onCall = (call) => {
      if (call.op === "set" && store.count("set") === 5) controller.abort();
    };
    await expect(ds.set(undefined, 1.5, { signal: controller.signal, onProgress: (p) => progress.push(p.done) })).rejects.toBeInstanceOf(dn.AbortedError);
    const callsAtRejection = store.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(store.calls.length).toBe(callsAtRejection);
    expect(store.count("set")).toBeLessThan(64);
    expect(store.calls.filter((c) => c.afterAbort)).toEqual([]);
    expect(progress.length).toBeLessThan(64);
  });

  it("onProgress reports every chunk of a completed operation", async () => {
    const { pool } = await instrumentedPool();
    const ds = await pool.createDataset("data", { shape: [9, 4], dtype: "int8", chunks: [2, 4] }); // 5 chunks
    const seen: Array<[number, number]> = [];
    await ds.set(undefined, 1, { onProgress: ({ done, total }) => seen.push([done, total]) });
    expect(seen).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  });
});
