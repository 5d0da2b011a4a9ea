/**
 * What provenance queries cost (src/provenance/): store requests and time of `lineage`, `derived`
 * and `find` in a pool of 1,000 and of 10,000 records, on memory, fs (a temporary directory) and S3
 * (the local Ceph RGW), to show that a query's requests follow its answer, not the pool.
 *
 * The pool's records are a realistic graph: pipelines of 20 steps (raw data, runs, datasets, a
 * model at the end), each step taking its predecessor as input, 30% of steps also the same stage of
 * one of the 8 pipelines before it and 10% the stage before that (merged data), and half of the
 * first runs one of 20 shared config records (hubs whose fan-out grows with the pool). Tags: pipeline, step, stage,
 * beamline. The records are written in parallel (`--concurrency`, default 64), one step of every
 * pipeline at a time (so inputs exist).
 *
 * Every request goes through a counting decorator of the pool's Store (CountingStore below): GETs,
 * PUTs, LIST calls, keys listed, and LIST pages (1,000 keys a page, as S3 returns them; on memory
 * and fs a list is one call). "requests" = GETs + PUTs + deletes + LIST pages.
 *
 *   npx tsx bench/provenance.ts [--stores memory,fs,s3] [--sizes 1000,10000] [--queries 5]
 *                               [--concurrency 64] [--seed 1]
 * S3 runs when DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _REGION) is set; the bucket of
 * each size is deleted at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pLimit from "p-limit";
import * as dn from "../src/index.js";
import type { DirectoryListing, GetOptions, GetVersionedOptions } from "../src/store/store.js";
import { commandLine, median } from "./harness.js";

const { option } = commandLine(process.argv.slice(2));
const storesWanted = option("stores", "memory,fs,s3").split(",");
const sizes = option("sizes", "1000,10000").split(",").map(Number);
const QUERIES = Number(option("queries", "5"));
const CONCURRENCY = Number(option("concurrency", "64"));
const SEED = Number(option("seed", "1"));
const STEPS = 20;
const CONFIGS = 20;
/** Merged inputs come from one of the this many pipelines before. */
const NEIGHBOURS = 8;
const STAGES = ["acquisition", "reduction", "peak-finding", "labelling", "training"];
const LIST_PAGE = 1000;

interface Counts {
  get: number;
  put: number;
  delete: number;
  lists: number;
  listed: number;
  pages: number;
}
const zero = (): Counts => ({ get: 0, put: 0, delete: 0, lists: 0, listed: 0, pages: 0 });
const requestsOf = (c: Counts) => c.get + c.put + c.delete + c.pages;

/** A Store that counts what passes through it, by kind of request. */
class CountingStore implements dn.Store {
  counts = zero();
  readonly conditionalSupport?: dn.Store["conditionalSupport"];

  constructor(private readonly inner: dn.Store) {
    if (inner.conditionalSupport) this.conditionalSupport = (options) => inner.conditionalSupport!(options);
  }
  get description(): string {
    return this.inner.description;
  }
  reset(): Counts {
    const was = this.counts;
    this.counts = zero();
    return was;
  }
  get(key: string, range?: dn.ByteRange, options?: GetOptions): Promise<Uint8Array | undefined> {
    this.counts.get++;
    return this.inner.get(key, range, options);
  }
  getVersioned(key: string, options?: GetVersionedOptions): Promise<dn.VersionedBytes | undefined> {
    this.counts.get++;
    return this.inner.getVersioned(key, options);
  }
  set(key: string, value: Uint8Array, options?: dn.SetOptions): Promise<string> {
    this.counts.put++;
    return this.inner.set(key, value, options);
  }
  delete(key: string, options?: dn.DeleteOptions): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key, options);
  }
  deleteMany(keys: string[], options?: dn.RequestOptions): Promise<void> {
    this.counts.delete += Math.ceil(keys.length / LIST_PAGE);
    return this.inner.deleteMany(keys, options);
  }
  async *list(prefix: string, options?: dn.RequestOptions): AsyncIterable<string> {
    const counts = this.counts;
    counts.lists++;
    let n = 0;
    try {
      for await (const key of this.inner.list(prefix, options)) {
        n++;
        yield key;
      }
    } finally {
      counts.listed += n;
      counts.pages += Math.max(1, Math.ceil(n / LIST_PAGE));
    }
  }
  listDir(prefix: string, options?: dn.RequestOptions): Promise<DirectoryListing> {
    this.counts.pages++;
    return this.inner.listDir(prefix, options);
  }
  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Built {
  /** ids[p][k]: pipeline p, step k. */
  ids: string[][];
  configs: string[];
  writeMs: number;
  writeCounts: Counts;
  records: number;
  fanIn: number;
  /** Time window in which one step of all pipelines was written (for a time-range search). */
  window: { from: Date; to: Date };
}

async function build(prov: dn.PoolProvenance, store: CountingStore, total: number): Promise<Built> {
  const rand = random(SEED);
  const pipelines = Math.floor((total - CONFIGS) / STEPS);
  const limit = pLimit(CONCURRENCY);
  const started = performance.now();
  store.reset();
  const configs = await Promise.all(
    Array.from({ length: CONFIGS }, (_, c) =>
      limit(async () => (await prov.record({ kind: "config", name: `config-${c}`, uris: [`s3://configs/beamline-${c}.yaml`], tags: { beamline: `${c % 8}-ID` } })).id),
    ),
  );
  const ids: string[][] = Array.from({ length: pipelines }, () => []);
  let edges = 0;
  let window = { from: new Date(), to: new Date() };
  for (let k = 0; k < STEPS; k++) {
    const plans = Array.from({ length: pipelines }, (_, p) => {
      const inputs: string[] = [];
      if (k > 0) {
        inputs.push(ids[p][k - 1]);
        // Merged data comes from neighbouring pipelines (the scans just before), so the shape of a
        // record's neighbourhood does not depend on how many pipelines the pool holds.
        if (rand() < 0.3) inputs.push(ids[(p + pipelines - 1 - Math.floor(rand() * NEIGHBOURS)) % pipelines][k - 1]);
        if (k > 1 && rand() < 0.1) inputs.push(ids[(p + pipelines - 1 - Math.floor(rand() * NEIGHBOURS)) % pipelines][k - 2]);
        if (k === 1 && rand() < 0.5) inputs.push(configs[Math.floor(rand() * CONFIGS)]);
      }
      edges += new Set(inputs).size;
      return { p, inputs: [...new Set(inputs)] };
    });
    const from = new Date();
    const made = await Promise.all(
      plans.map(({ p, inputs }) =>
        limit(() =>
          prov.record({
            kind: k === STEPS - 1 ? "model" : k % 2 === 0 ? "dataset" : "run",
            name: `p${p}/s${k}`,
            inputs,
            ...(k % 2 === 1 ? { parameters: { threshold: 3 + (p % 5), step: k } } : {}),
            tags: { pipeline: p, step: k, stage: STAGES[k % STAGES.length], beamline: `${p % 8}-ID` },
          }),
        ),
      ),
    );
    if (k === STEPS / 2) window = { from, to: new Date() };
    made.forEach((record, p) => ids[p].push(record.id));
  }
  const writeMs = performance.now() - started;
  const records = CONFIGS + pipelines * STEPS;
  return { ids, configs, writeMs, writeCounts: store.reset(), records, fanIn: edges / records, window };
}

interface Row {
  store: string;
  records: number;
  query: string;
  answer: number;
  requests: number;
  gets: number;
  lists: number;
  listed: number;
  ms: number;
}

/** Run `query` on each start, counting the requests of each; medians. */
async function measure(store: CountingStore, label: string, name: string, records: number, starts: unknown[], query: (start: never) => Promise<number>): Promise<Row> {
  const answers: number[] = [];
  const requests: number[] = [];
  const gets: number[] = [];
  const lists: number[] = [];
  const listed: number[] = [];
  const times: number[] = [];
  for (const start of starts) {
    store.reset();
    const t0 = performance.now();
    answers.push(await query(start as never));
    times.push(performance.now() - t0);
    const c = store.reset();
    requests.push(requestsOf(c));
    gets.push(c.get);
    lists.push(c.pages);
    listed.push(c.listed);
  }
  return { store: label, records, query: name, answer: median(answers), requests: median(requests), gets: median(gets), lists: median(lists), listed: median(listed), ms: median(times) };
}

function pick<T>(items: T[], n: number, rand: () => number): T[] {
  return Array.from({ length: n }, () => items[Math.floor(rand() * items.length)]);
}

async function benchOne(label: string, cluster: dn.Cluster, total: number): Promise<Row[]> {
  const poolName = `provbench-${total}-${process.pid}-${Date.now().toString(36)}`;
  const pool = await cluster.createPool(poolName);
  const rows: Row[] = [];
  try {
    const store = new CountingStore(pool.context.store);
    const prov = dn.provenance(store);
    const built = await build(prov, store, total);
    const perRecord = requestsOf(built.writeCounts) / built.records;
    console.log(
      `${label}: ${built.records} records (mean fan-in ${built.fanIn.toFixed(2)}) written in ${(built.writeMs / 1000).toFixed(1)} s ` +
        `(${((built.records / built.writeMs) * 1000).toFixed(0)} records/s, ${perRecord.toFixed(1)} requests per record, ${CONCURRENCY} at a time)`,
    );
    const rand = random(SEED + 7);
    const pipelines = built.ids.length;
    const graphSize = (g: dn.ProvenanceGraph) => Object.keys(g.records).length;
    const tails = pick(built.ids, QUERIES, rand).map((chain) => chain[STEPS - 1]);
    const heads = pick(built.ids, QUERIES, rand).map((chain) => chain[0]);
    const middles = pick(built.ids, QUERIES, rand).map((chain) => chain[STEPS / 2]);
    const some = pick([...Array(pipelines).keys()], QUERIES, rand);
    rows.push(await measure(store, label, "lineage(model, depth 10)", built.records, tails, (id: string) => prov.lineage(id, { depth: 10 }).then(graphSize)));
    rows.push(await measure(store, label, "lineage(model) (all)", built.records, tails, (id: string) => prov.lineage(id).then(graphSize)));
    rows.push(await measure(store, label, "derived(raw, depth 10)", built.records, heads, (id: string) => prov.derived(id, { depth: 10 }).then(graphSize)));
    rows.push(await measure(store, label, "derived(step 10, depth 10)", built.records, middles, (id: string) => prov.derived(id, { depth: 10 }).then(graphSize)));
    rows.push(await measure(store, label, "derived(config hub, depth 10)", built.records, built.configs.slice(0, 1), (id: string) => prov.derived(id, { depth: 10 }).then(graphSize)));
    rows.push(await measure(store, label, "find tag pipeline=p", built.records, some, (p: number) => prov.find({ tag: { name: "pipeline", value: p } }).then((r) => r.length)));
    rows.push(await measure(store, label, "find name p/s7", built.records, some, (p: number) => prov.find({ name: `p${p}/s7` }).then((r) => r.length)));
    rows.push(await measure(store, label, "find tag+kind (beamline, model)", built.records, some, (p: number) => prov.find({ kind: "model", tag: { name: "beamline", value: `${p % 8}-ID` } }).then((r) => r.length)));
    rows.push(await measure(store, label, "find tag stage=training", built.records, [0], () => prov.find({ tag: { name: "stage", value: "training" } }).then((r) => r.length)));
    rows.push(await measure(store, label, "find time range (one step)", built.records, [0], () => prov.find({ ...built.window }).then((r) => r.length)));
    const [first] = await prov.find({ name: "p0/s0" });
    if (first.id !== built.ids[0][0]) throw new Error("the bench's own check failed: find by name did not return p0/s0");
  } finally {
    const t0 = performance.now();
    try {
      await cluster.deletePool(poolName, { force: true });
      console.log(`${label}: pool of ${total} records deleted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      // Do not hide the error that got us here (if any) behind this one.
      console.error(`${label}: could not delete pool ${poolName}: ${(error as Error).message}`);
    }
  }
  return rows;
}

const work = mkdtempSync(join(tmpdir(), "dosna-provenance-bench-"));
const targets: Array<{ label: string; make: () => dn.Cluster }> = [];
if (storesWanted.includes("memory")) targets.push({ label: "memory", make: () => new dn.Cluster({ backend: "memory" }) });
if (storesWanted.includes("fs")) targets.push({ label: "fs", make: () => new dn.Cluster({ backend: "fs", root: join(work, "fs") }) });
if (storesWanted.includes("s3")) {
  const endpoint = process.env.DOSNA_TEST_S3_ENDPOINT;
  if (endpoint) {
    const s3 = { endpoint, accessKeyId: process.env.DOSNA_TEST_S3_ACCESS_KEY ?? "", secretAccessKey: process.env.DOSNA_TEST_S3_SECRET_KEY ?? "", region: process.env.DOSNA_TEST_S3_REGION ?? "us-east-1" };
    targets.push({ label: "s3", make: () => new dn.Cluster({ backend: "s3", ...s3 }) });
  } else console.log('(S3 skipped: set DOSNA_TEST_S3_ENDPOINT, e.g. eval "$(bash scripts/rgw-start.sh)")');
}

const rows: Row[] = [];
try {
  for (const { label, make } of targets) {
    const cluster = await make().connect();
    try {
      for (const total of sizes) rows.push(...(await benchOne(label, cluster, total)));
    } finally {
      await cluster.disconnect();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const num = (s: string | number, n: number) => String(s).padStart(n);
console.log(`\nmedians of ${QUERIES} starts (one for the hub, stage and time-range rows); requests = GET + PUT + LIST pages (${LIST_PAGE} keys a page)`);
console.log(`${pad("store", 8)}${num("records", 8)}  ${pad("query", 34)}${num("answer", 7)}${num("requests", 10)}${num("GET", 7)}${num("LIST", 6)}${num("listed", 8)}${num("req/answer", 12)}${num("ms", 9)}`);
for (const r of rows) {
  console.log(
    `${pad(r.store, 8)}${num(r.records, 8)}  ${pad(r.query, 34)}${num(r.answer, 7)}${num(r.requests, 10)}${num(r.gets, 7)}${num(r.lists, 6)}${num(r.listed, 8)}${num(r.answer ? (r.requests / r.answer).toFixed(2) : "-", 12)}${num(r.ms.toFixed(1), 9)}`,
  );
}
// The point: the same query on 10x the records costs about the same, when its answer is about the same size.
if (sizes.length > 1) {
  console.log(`\nrequests at ${sizes.at(-1)} records / requests at ${sizes[0]} records (same query; read it with the answer sizes beside it: requests per answer record stay flat):`);
  for (const store of targets.map((t) => t.label)) {
    for (const query of [...new Set(rows.filter((r) => r.store === store).map((r) => r.query))]) {
      const small = rows.find((r) => r.store === store && r.query === query && r.records < sizes.at(-1)!);
      const large = rows.find((r) => r.store === store && r.query === query && r.records >= sizes.at(-1)!);
      if (!small || !large) continue;
      console.log(`  ${pad(store, 8)}${pad(query, 34)} ${num((large.requests / small.requests).toFixed(2), 6)}  (answer ${small.answer} → ${large.answer})`);
    }
  }
}
