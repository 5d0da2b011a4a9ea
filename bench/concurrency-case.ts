/**
 * One case of the concurrency benchmark (see concurrency.ts), run compiled in its own process, in
 * the current tree and, compiled against the old src/, in the baseline worktree.
 *   node .bench-build/bench/concurrency-case.js '<json ConcurrencyCaseSpec>'   → one JSON line
 */
import { subscribe } from "node:diagnostics_channel";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import * as dn from "../src/index.js";
import {
  rowValue,
  type ConcurrencyCaseSpec,
  type PartialLatencyResult,
  type RowsVerifyResult,
  type RowsWriteResult,
  type WriteLatency,
} from "./concurrency-spec.js";

const spec = JSON.parse(process.argv[2]) as ConcurrencyCaseSpec;

let httpRequests = 0;
subscribe("http.client.request.start", () => httpRequests++);

function cluster(): dn.Cluster {
  if (spec.store.kind === "fs") return new dn.Cluster({ backend: "fs", root: spec.store.root, njobs: spec.njobs });
  return new dn.Cluster({ backend: "s3", ...spec.store.s3, njobs: spec.njobs });
}

/** Store method calls, by method name, of a wrapped store (a Proxy, so it fits the old and the new Store interface). */
class CallCounter {
  counts: Record<string, number> = {};
  /** The same, of calls on chunk keys (".../c/..."). */
  chunkCounts: Record<string, number> = {};

  wrap(store: dn.Store): dn.Store {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const name = String(property);
          this.counts[name] = (this.counts[name] ?? 0) + 1;
          if (typeof args[0] === "string" && args[0].includes("/c/")) this.chunkCounts[name] = (this.chunkCounts[name] ?? 0) + 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  snapshot(): Record<string, number> {
    return { ...this.counts };
  }
}

/** The pool, opened on a counted store: the cluster's store of the pool, or for fsOptions a FileSystemBackend's. */
async function countedPool(c: dn.Cluster, counter: CallCounter): Promise<dn.Pool> {
  let store: dn.Store;
  if (spec.store.kind === "fs" && spec.fsOptions) {
    // The baseline's FileSystemBackend takes no options: spec.fsOptions is only sent to the current tree.
    const Backend = dn.FileSystemBackend as unknown as new (root: string, options: object) => dn.Backend;
    store = new Backend(spec.store.root, spec.fsOptions).openPool(spec.pool);
  } else {
    store = (await c.getPool(spec.pool)).store;
  }
  return dn.Pool.open(counter.wrap(store), { name: spec.pool, njobs: () => spec.njobs });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Time `write(i)` for i in `indices`, one at a time, with the store calls and HTTP requests per write. */
async function measure(counter: CallCounter, indices: number[], write: (i: number) => Promise<unknown>): Promise<WriteLatency> {
  const before = counter.snapshot();
  const requestsBefore = httpRequests;
  const times: number[] = [];
  for (const i of indices) {
    const t = performance.now();
    await write(i);
    times.push(performance.now() - t);
  }
  const after = counter.snapshot();
  const storeCalls: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) {
    const per = (n - (before[name] ?? 0)) / indices.length;
    if (per > 0) storeCalls[name] = per;
  }
  times.sort((a, b) => a - b);
  return { count: indices.length, medianMs: percentile(times, 50), p90Ms: percentile(times, 90), storeCalls, httpRequests: (httpRequests - requestsBefore) / indices.length };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Datasets of `warmup + writes` chunks of [chunkRows, columns] int32 stacked along axis 0: chunk i
 * is rows i·chunkRows ... Every write is a separate `set` of chunk i, whole or one row of it.
 */
async function partialLatency(c: dn.Cluster): Promise<PartialLatencyResult> {
  const counter = new CallCounter();
  const pool = await countedPool(c, counter);
  const [chunkRows, columns] = spec.chunks;
  const writes = spec.writes ?? 30;
  const warmup = 3;
  const n = warmup + writes;
  const create = async (name: string) => {
    if (await pool.has(name)) await pool.delete(name);
    const requestsBefore = httpRequests;
    const t = performance.now();
    const ds = await pool.createDataset(name, { shape: [n * chunkRows, columns], dtype: "int32", chunks: [chunkRows, columns] });
    return { ds, ms: performance.now() - t, httpRequests: httpRequests - requestsBefore };
  };
  const { ds: existing, ...firstCreate } = await create(`${spec.dataset}-existing`);
  const { ds: absent, ...secondCreate } = await create(`${spec.dataset}-absent`);
  const chunk = new Int32Array(chunkRows * columns).map((_, k) => rowValue(Math.floor(k / columns), k % columns));
  const row = (i: number) => Int32Array.from({ length: columns }, (_, col) => rowValue(i, col));
  const rowOf = (i: number) => i * chunkRows + (i % chunkRows);
  const wholeChunk = (i: number) => existing.set(`${i * chunkRows}:${(i + 1) * chunkRows}, :`, chunk);
  const oneRow = (ds: dn.Dataset) => (i: number) => ds.set(`${rowOf(i)}, :`, row(i));

  // Whole chunks (which also creates the chunks the partial writes then patch), then one row of each.
  for (const i of range(0, warmup)) await wholeChunk(i);
  const whole = await measure(counter, range(warmup, n), wholeChunk);
  for (const i of range(0, warmup)) await oneRow(existing)(i);
  const partialExisting = await measure(counter, range(warmup, n), oneRow(existing));
  for (const i of range(0, warmup)) await oneRow(absent)(i);
  const partialNew = await measure(counter, range(warmup, n), oneRow(absent));

  const got = (await existing.get(`${rowOf(n - 1)}, :`)).data as Int32Array;
  if (got[columns - 1] !== rowValue(n - 1, columns - 1)) throw new Error(`partial-latency: row ${rowOf(n - 1)} did not read back as written`);
  await existing.delete();
  await absent.delete();
  return { whole, partialExisting, partialNew, firstCreate, secondCreate };
}

/** Every writer creates its file in `dir`, then waits until `parties` files are there. */
async function waitAtBarrier(dir: string, me: string, parties: number, timeoutMs = 120_000): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${me}`, "");
  const deadline = Date.now() + timeoutMs;
  while (readdirSync(dir).length < parties) {
    if (Date.now() > deadline) throw new Error(`barrier ${dir}: only ${readdirSync(dir).length} of ${parties} writers arrived within ${timeoutMs} ms`);
    await sleep(2);
  }
}

const now = () => performance.timeOrigin + performance.now();

async function rowsWrite(c: dn.Cluster): Promise<RowsWriteResult> {
  const counter = new CallCounter();
  const ds = await (await countedPool(c, counter)).getDataset(spec.dataset);
  const [n, columns] = ds.shape;
  const writer = spec.writer ?? 0;
  const writers = spec.writers ?? 1;
  const rows: Array<[number, Int32Array]> = [];
  for (let r = writer; r < n; r += writers) rows.push([r, Int32Array.from({ length: columns }, (_, col) => rowValue(r, col))]);
  await waitAtBarrier(spec.barrier!, String(writer), writers);
  const startMs = now();
  let failed = 0;
  let firstError: string | undefined;
  for (const [r, values] of rows) {
    try {
      await ds.set(`${r}, :`, values);
    } catch (error) {
      failed++;
      firstError ??= `row ${r}: ${(error as Error).name}: ${(error as Error).message}`;
    }
  }
  const endMs = now();
  return { writer, rows: rows.length - failed, failed, firstError, chunkCalls: { ...counter.chunkCounts }, startMs, endMs };
}

async function rowsVerify(c: dn.Cluster): Promise<RowsVerifyResult> {
  const ds = await (await c.getPool(spec.pool)).getDataset(spec.dataset);
  const [n, columns] = ds.shape;
  const all = (await ds.get(":")).data as Int32Array;
  const lostRows: number[] = [];
  for (let r = 0; r < n; r++) {
    for (let col = 0; col < columns; col++) {
      if (all[r * columns + col] !== rowValue(r, col)) {
        lostRows.push(r);
        break;
      }
    }
  }
  return { rows: n, lost: lostRows.length, lostRows };
}

async function main(): Promise<unknown> {
  const c = cluster();
  await c.connect();
  let result: unknown;
  switch (spec.case) {
    case "setup":
      if (await c.hasPool(spec.pool)) await c.deletePool(spec.pool, { force: true });
      await c.createPool(spec.pool);
      result = { pool: spec.pool };
      break;
    case "partial-latency":
      result = await partialLatency(c);
      break;
    case "rows-prepare": {
      const pool = await c.getPool(spec.pool);
      if (await pool.has(spec.dataset)) await pool.delete(spec.dataset);
      await pool.createDataset(spec.dataset, { shape: spec.shape, dtype: "int32", chunks: spec.chunks });
      result = { dataset: spec.dataset };
      break;
    }
    case "rows-write":
      result = await rowsWrite(c);
      break;
    case "rows-verify":
      result = await rowsVerify(c);
      break;
    case "drop":
      if (await c.hasPool(spec.pool)) await c.deletePool(spec.pool, { force: true });
      result = { dropped: spec.pool };
      break;
    default:
      throw new Error(`unknown concurrency case ${JSON.stringify(spec.case)}`);
  }
  await c.disconnect();
  return { ...(result as object), maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
