/**
 * One trial of the versioning benchmark (bench/versioning.ts), in its own process: one system
 * (plain dosna, versioned dosna, or Icechunk with zarrita on it) on one store, on a pool or bucket of
 * its own that it deletes at the end.
 *
 *   node --import tsx bench/versioning-case.ts '<json VersioningCaseSpec>'   → one JSON line
 *
 * "rw": write the whole array into a new dataset (versioned: in a writable checkout, then commit),
 * read it all back (versioned: from a new read-only checkout of the branch), then `changes` times a
 * one-element change ("5, 6, 7"), each from opening the dataset (versioned: a new writable checkout)
 * to the end of its commit. Every read is checked against what was written, outside the timings.
 *
 * "history": the cost of `log` after N commits of one-element changes to a one-chunk dataset, and of
 * `diff` of two snapshots after 1 and after k changed chunks on arrays with few and with many chunks
 * (the same bytes): each timing the median of `historyRepeats` calls.
 */
import { randomBytes } from "node:crypto";
import ndarray from "ndarray";
import pLimit from "p-limit";
import * as dn from "../src/index.js";
import { smoothFloat32 } from "./spec.js";
import {
  createBucket,
  deleteBucket,
  icechunkS3Storage,
  loadIcechunk,
  s3Client,
  type IcechunkModule,
  type IcechunkRepository,
  type IcechunkSession,
  type IcechunkStore,
} from "./versioning-icechunk.js";
import type { DiffTiming, HistoryResult, LogTiming, RwResult, VersioningCaseSpec, VersioningStore } from "./versioning-spec.js";

const spec = JSON.parse(process.argv[2]) as VersioningCaseSpec;
const AUTHOR = { name: "bench", email: "b@example.org" };
const CHANGE_AT = [5, 6, 7];

const now = () => performance.now();
const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const strides = (shape: number[]) => shape.map((_, i) => size(shape.slice(i + 1)));

async function timedMs(run: () => Promise<unknown>): Promise<number> {
  const start = now();
  await run();
  return now() - start;
}

async function repeatedMs(times: number, run: () => Promise<unknown>): Promise<number> {
  const all: number[] = [];
  for (let i = 0; i < times; i++) all.push(await timedMs(run));
  return medianOf(all);
}

function sameData(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  if (got.length !== want.length) throw new Error(`${what}: read ${got.length} elements, wrote ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) throw new Error(`${what}: element ${i} reads ${got[i]}, wrote ${want[i]}`);
  }
}

function checkValue(what: string, got: number, want: number): void {
  if (Math.fround(got) !== Math.fround(want)) throw new Error(`${what}: [${CHANGE_AT}] reads ${got}, expected ${want}`);
}

/** One point (the chunk origin + 1 on every axis) in each of `count` chunks spread over the grid of `shape` in `chunks`. */
function pointsInSpreadChunks(shape: number[], chunks: number[], count: number): number[][] {
  const grid = shape.map((n, i) => Math.ceil(n / chunks[i]));
  const total = size(grid);
  const origins: number[][] = [];
  for (let j = 0; j < Math.min(count, total); j++) {
    let flat = Math.floor((j * total) / Math.min(count, total));
    const index = grid.map(() => 0);
    for (let a = grid.length - 1; a >= 0; a--) {
      index[a] = flat % grid[a];
      flat = Math.floor(flat / grid[a]);
    }
    origins.push(index.map((g, a) => g * chunks[a] + 1));
  }
  return origins;
}

// ---- the systems, behind one small interface -------------------------------------------------

interface System {
  /** Write `data` as a new array at `path` (and commit); the snapshot id, if versioned. */
  write(path: string, shape: number[], chunks: number[], data: Float32Array): Promise<string | undefined>;
  /** Open `path` (from a new read-only checkout) and read all of it. */
  read(path: string): Promise<ArrayLike<number>>;
  /** Set `points` of `path` to `value` (in a new writable checkout, then commit); the snapshot id, if versioned. */
  change(path: string, points: number[][], value: number, message: string): Promise<string | undefined>;
  /** Read one element from a new read-only checkout. */
  readPoint(path: string, point: number[]): Promise<number>;
  /** The number of snapshots `log` of the branch lists. */
  log?(): Promise<number>;
  /** The number of chunks `diff` reports added, changed or removed in `path`. */
  diff?(from: string, to: string, path: string): Promise<number>;
  /** Open the repository again: a new object, with none of the old one's caches. */
  reopen?(): Promise<void>;
  close(): Promise<void>;
}

function dosnaCluster(store: VersioningStore): dn.Cluster {
  if (store.kind === "memory") return new dn.Cluster({ backend: "memory", njobs: spec.njobs });
  if (store.kind === "fs") return new dn.Cluster({ backend: "fs", root: store.root, njobs: spec.njobs });
  return new dn.Cluster({ backend: "s3", ...store.s3, njobs: spec.njobs });
}

async function plainDosna(store: VersioningStore, poolName: string): Promise<System> {
  const cluster = dosnaCluster(store);
  await cluster.connect();
  const pool = await cluster.createPool(poolName);
  return {
    async write(path, shape, chunks, data) {
      const ds = await pool.createDataset(path, { shape, dtype: "float32", chunks });
      await ds.set("...", ndarray(data, shape));
      return undefined;
    },
    read: async (path) => (await (await pool.getDataset(path)).get("...")).data as Float32Array,
    async change(path, points, value) {
      const ds = await pool.getDataset(path);
      const limit = pLimit(spec.njobs);
      await Promise.all(points.map((p) => limit(() => ds.set(p.join(", "), value))));
      return undefined;
    },
    readPoint: async (path, point) => Number((await (await pool.getDataset(path)).get(point.join(", "))).get()),
    async close() {
      await cluster.deletePool(poolName, { force: true });
      await cluster.disconnect();
    },
  };
}

async function versionedDosna(store: VersioningStore, poolName: string): Promise<System> {
  // Run by tsx on a tree without src/versioning/ (a baseline), this case skips instead of failing.
  if (typeof (dn as Record<string, unknown>).Repository !== "function") throw new SkipCase("dn.Repository is not exported by this tree's src/index.ts");
  const cluster = dosnaCluster(store);
  await cluster.connect();
  const pool = await cluster.createPool(poolName);
  let repo = await dn.Repository.init(pool, { author: AUTHOR });
  const changedChunks = (path: string, diff: dn.RepositoryDiff) => {
    const entry = diff.datasets.find((d) => d.path === path || d.path === `/${path}`);
    return entry ? entry.chunks.added.length + entry.chunks.changed.length + entry.chunks.removed.length : 0;
  };
  return {
    async write(path, shape, chunks, data) {
      const s = await repo.checkout({ branch: "main", write: true });
      const ds = await s.createDataset(path, { shape, dtype: "float32", chunks });
      await ds.set("...", ndarray(data, shape));
      return s.commit(`write ${path}`);
    },
    async read(path) {
      const r = await repo.checkout({ branch: "main" });
      return (await (await r.getDataset(path)).get("...")).data as Float32Array;
    },
    async change(path, points, value, message) {
      const s = await repo.checkout({ branch: "main", write: true });
      const ds = await s.getDataset(path);
      const limit = pLimit(spec.njobs);
      await Promise.all(points.map((p) => limit(() => ds.set(p.join(", "), value))));
      return s.commit(message);
    },
    async readPoint(path, point) {
      const r = await repo.checkout({ branch: "main" });
      return Number((await (await r.getDataset(path)).get(point.join(", "))).get());
    },
    log: async () => (await repo.log("main")).length,
    diff: async (from, to, path) => changedChunks(path, await repo.diff(from, to)),
    async reopen() {
      repo = await dn.Repository.open(pool, { author: AUTHOR });
    },
    async close() {
      await cluster.deletePool(poolName, { force: true });
      await cluster.disconnect();
    },
  };
}

async function icechunk(store: VersioningStore, bucket: string): Promise<System> {
  const loaded = await loadIcechunk();
  if ("reason" in loaded) throw new SkipCase(loaded.reason);
  const ic: IcechunkModule = loaded.module;
  const zarr = await import("zarrita");
  let storage: unknown;
  let cleanUp = async () => {};
  if (store.kind === "memory") storage = await ic.Storage.newInMemory();
  else if (store.kind === "s3") {
    const client = s3Client(store.s3);
    await createBucket(client, bucket);
    storage = icechunkS3Storage(ic, client, bucket, "repo");
    cleanUp = async () => {
      await deleteBucket(client, bucket);
      client.destroy();
    };
  } else throw new SkipCase("the wasm32-wasi build of Icechunk has no local-filesystem storage (only in-memory and custom)");
  let repo: IcechunkRepository = await ic.Repository.create(storage);
  const limitedQueue = () => {
    const limit = pLimit(spec.njobs);
    const runs: Promise<void>[] = [];
    return { add: (fn: () => Promise<void>) => void runs.push(limit(fn)), onIdle: () => Promise.all(runs) };
  };
  const open = (store: IcechunkStore, path: string) => zarr.open.v3(zarr.root(store as never).resolve(`/${path}`), { kind: "array" });
  // The wasm build ignores in-place changes to bytes its own get returned when they are set back
  // (zarrita's partial-chunk write does exactly that: it patches the decoded chunk in place), so the
  // change is silently lost. A writable session's store hands out copies.
  const copyingStore = (session: IcechunkSession): IcechunkStore => ({
    get: async (key) => (await session.store.get(key))?.slice(),
    set: (key, value) => session.store.set(key, value),
  });
  return {
    async write(path, shape, chunks, data) {
      const s = await repo.writableSession("main");
      const arr = await zarr.create(zarr.root(copyingStore(s) as never).resolve(`/${path}`), { shape, chunkShape: chunks, dtype: "float32", fillValue: 0 });
      await zarr.set(arr, null, { data, shape, stride: strides(shape) }, { createQueue: limitedQueue });
      return s.commit(`write ${path}`);
    },
    async read(path) {
      const r = await repo.readonlySession({ branch: "main" });
      const out = await zarr.get(await open(r.store, path), null, { createQueue: limitedQueue });
      return (out as { data: Float32Array }).data;
    },
    async change(path, points, value, message) {
      const s = await repo.writableSession("main");
      const arr = await open(copyingStore(s), path);
      const limit = pLimit(spec.njobs);
      await Promise.all(points.map((p) => limit(() => zarr.set(arr as never, p, value as never))));
      return s.commit(message);
    },
    async readPoint(path, point) {
      const r = await repo.readonlySession({ branch: "main" });
      return Number(await zarr.get(await open(r.store, path), point));
    },
    log: async () => (await repo.ancestry({ branch: "main" })).length,
    diff: async (from, to, path) => ((await repo.diff({ fromSnapshotId: from, toSnapshotId: to })).updatedChunks?.[`/${path}`] ?? []).length,
    async reopen() {
      repo = await ic.Repository.open(storage);
    },
    close: () => cleanUp(),
  };
}

class SkipCase extends Error {}

// ---- the cases ---------------------------------------------------------------------------------

async function rw(system: System): Promise<RwResult> {
  const { shape, chunks } = spec;
  const data = smoothFloat32(shape);
  const writeMs = await timedMs(() => system.write("vol", shape, chunks, data));
  let back: ArrayLike<number> = [];
  const readMs = await timedMs(async () => {
    back = await system.read("vol");
  });
  sameData(`${spec.system} read of vol`, back, data);
  back = [];
  const changeMsAll: number[] = [];
  for (let i = 0; i < spec.changes; i++) changeMsAll.push(await timedMs(() => system.change("vol", [CHANGE_AT], 1.5 + i, `change ${i}`)));
  checkValue(`${spec.system} after ${spec.changes} changes`, await system.readPoint("vol", CHANGE_AT), 1.5 + spec.changes - 1);
  return { writeMs, readMs, changeMs: medianOf(changeMsAll), changeMsAll };
}

/**
 * A history call timed twice: cold (the first call on a freshly opened repository object, median
 * over `repeats` reopenings) and warm (the same call again on that object: its caches filled),
 * after one uncounted round.
 */
async function coldAndWarm(system: System, repeats: number, call: () => Promise<number>): Promise<{ coldMs: number; warmMs: number; value: number }> {
  const cold: number[] = [];
  const warm: number[] = [];
  let value = 0;
  // One round first, not counted: the code paths compiled, as they are for every later call. A
  // call slower than 2 s (log of 1000 commits on S3) is timed once more, not `repeats` times.
  await system.reopen!();
  const firstMs = await timedMs(call);
  const rounds = firstMs > 2000 ? 1 : repeats;
  for (let i = 0; i < rounds; i++) {
    await system.reopen!();
    cold.push(await timedMs(async () => (value = await call())));
    warm.push(await timedMs(call));
  }
  return { coldMs: medianOf(cold), warmMs: medianOf(warm), value };
}

async function history(system: System): Promise<HistoryResult> {
  if (!system.log || !system.diff || !system.reopen) throw new SkipCase(`${spec.system} has no history`);
  const repeats = spec.historyRepeats ?? 5;
  const log: LogTiming[] = [];
  // A one-chunk dataset; every commit changes one element of it.
  await system.write("tiny", [16], [16], new Float32Array(16));
  let changes = 0;
  for (const target of [...(spec.logCommits ?? [])].sort((a, b) => a - b)) {
    const buildStart = now();
    const before = changes;
    for (; changes < target; changes++) await system.change("tiny", [[changes % 16]], changes + 1, `tiny ${changes}`);
    const buildMsPerCommit = (now() - buildStart) / Math.max(1, target - before);
    const t = await coldAndWarm(system, repeats, () => system.log!());
    log.push({ commits: target, entries: t.value, coldMs: t.coldMs, warmMs: t.warmMs, buildMsPerCommit });
  }
  const diff: DiffTiming[] = [];
  for (const array of spec.diffArrays ?? []) {
    const path = array.name;
    const data = smoothFloat32(array.shape);
    const base = (await system.write(path, array.shape, array.chunks, data))!;
    let from = base;
    for (const k of spec.diffChangedChunks ?? []) {
      const points = pointsInSpreadChunks(array.shape, array.chunks, k);
      const to = (await system.change(path, points, -1 - k, `${path}: ${k} chunks`))!;
      const t = await coldAndWarm(system, repeats, () => system.diff!(from, to, path));
      if (t.value !== points.length) throw new Error(`${spec.system}: diff after ${points.length} changed chunks of ${path} reports ${t.value}`);
      const chunksInArray = size(array.shape.map((n, i) => Math.ceil(n / array.chunks[i])));
      diff.push({ array: path, shape: array.shape, chunks: array.chunks, chunksInArray, changedChunks: points.length, reported: t.value, coldMs: t.coldMs, warmMs: t.warmMs });
      from = to;
    }
  }
  return { log, diff };
}

async function main(): Promise<unknown> {
  const name = `dosna-vbench-${randomBytes(4).toString("hex")}`;
  let system: System;
  try {
    if (spec.system === "plain") system = await plainDosna(spec.store, name);
    else if (spec.system === "versioned") system = await versionedDosna(spec.store, name);
    else system = await icechunk(spec.store, name);
  } catch (error) {
    if (error instanceof SkipCase) return { skipped: error.message };
    throw error;
  }
  try {
    return spec.case === "rw" ? await rw(system) : await history(system);
  } catch (error) {
    if (error instanceof SkipCase) return { skipped: error.message };
    throw error;
  } finally {
    await system.close();
  }
}

main().then(
  (result) => {
    console.log(JSON.stringify(result));
    // The wasm build of Icechunk keeps worker threads alive.
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
