/**
 * Vector search (src/compute/vector-search.ts, vector-index.ts) on 100,000 × 128 float32
 * embeddings (--quick: 20,000), clustered (--clusters centres in [-1, 1]^128, default 200, noise
 * ~0.25 per coordinate), stored in chunks of [1000, 128] on the fs store (a temporary directory;
 * --store memory, or s3 with DOSNA_TEST_S3_ENDPOINT set); 1,000 queries drawn from the same
 * distribution (new points, not copies of stored rows); k = 10, metric l2:
 *
 *   1. exact `nearest` (block reads + the 2×4 dot-product kernel + per-query heaps) vs a plain
 *      brute-force loop over the whole array in memory (Σ (q − x)² per row, top-k by insertion):
 *      the ratio brute ms / exact ms, and whether both found the same neighbours;
 *   2. HNSW: build time of createVectorIndex (reads, usearch add, save, upload), then recall@10
 *      against the exact answer and queries/s against the exact queries/s (goal: recall ≥ 0.95 at
 *      ≥ 20× the exact q/s); the median of --repeats timed runs after one warm-up (which loads the
 *      index into the handle's cache);
 *   3. an incremental update after rewriting 1 % of the rows (one chunk row) vs a full rebuild:
 *      the ratio rebuild ms / update ms, and the recall after the update.
 *
 *   npx tsx bench/vector-search.ts [--quick] [--rows N] [--queries N] [--repeats N] [--store fs|memory|s3] [--clusters N] [--expansion-search N] [--json [FILE]]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as dn from "../src/index.js";
import { nearest, type NearestResult } from "../src/compute/vector-search.js";
import { createVectorIndex, updateVectorIndex } from "../src/compute/vector-index.js";
import { commandLine, median, seededRandom } from "./harness.js";

export interface VectorSearchBenchOptions {
  quick: boolean;
  /** Rows of the dataset (default 100,000; quick 20,000). */
  rows?: number;
  /** Dimension (default 128). */
  dims?: number;
  /** Queries per search (default 1,000). */
  queries?: number;
  /** Timed HNSW searches (default 5, quick 3); the median is reported. */
  repeats?: number;
  store?: "fs" | "memory" | "s3";
  /** Centres of the clustered data (default 200). */
  clusters?: number;
  /** The index's expansionSearch (default: createVectorIndex's). */
  expansionSearch?: number;
}

export interface VectorSearchReport {
  date: string;
  rows: number;
  dims: number;
  queries: number;
  k: number;
  store: string;
  clusters: number;
  cores: number;
  exactMs: number;
  exactQps: number;
  bruteMs: number;
  /** brute ms / exact ms (> 1: nearest is faster than the plain loop). */
  exactVsBrute: number;
  /** Queries whose exact neighbours differ from the brute-force loop's (near-ties only). */
  exactMismatches: number;
  buildMs: number;
  indexBytes: number;
  hnswMs: number;
  hnswQps: number;
  recall: number;
  /** hnsw q/s / exact q/s. */
  speedup: number;
  updateMs: number;
  rowsUpdated: number;
  rebuildMs: number;
  /** rebuild ms / update ms. */
  updateVsRebuild: number;
  recallAfterUpdate: number;
  goalMet: boolean;
}

/** `clusters` centres in [-1, 1]^d. */
function centresOf(d: number, clusters: number, seed: number): Float32Array[] {
  const next = seededRandom(seed);
  return Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => 2 * next() - 1));
}

/** n points around random centres, noise ~0.25 per coordinate (a sum of three uniforms). */
function embeddings(centres: Float32Array[], n: number, d: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(next() * centres.length)];
    for (let j = 0; j < d; j++) out[i * d + j] = c[j] + 0.25 * (next() + next() + next() - 1.5);
  }
  return out;
}

/** The plain loop: every row's Σ (q − x)², the k smallest kept sorted by insertion. */
function bruteForce(data: Float32Array, n: number, d: number, queries: Float32Array, q: number, k: number): Int32Array {
  const out = new Int32Array(q * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let i = 0; i < q; i++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    const qo = i * d;
    for (let r = 0; r < n; r++) {
      let s = 0;
      const xo = r * d;
      for (let j = 0; j < d; j++) {
        const t = queries[qo + j] - data[xo + j];
        s += t * t;
      }
      if (s >= bestD[k - 1]) continue;
      let at = k - 1;
      while (at > 0 && bestD[at - 1] > s) {
        bestD[at] = bestD[at - 1];
        bestI[at] = bestI[at - 1];
        at--;
      }
      bestD[at] = s;
      bestI[at] = r;
    }
    out.set(bestI, i * k);
  }
  return out;
}

function recallOf(got: NearestResult, truth: NearestResult): number {
  const { queries, k } = truth;
  let hits = 0;
  for (let i = 0; i < queries; i++) {
    const want = new Set(truth.indices.subarray(i * k, (i + 1) * k));
    for (let j = 0; j < k; j++) if (want.has(got.indices[i * k + j])) hits++;
  }
  return hits / (queries * k);
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

function makeCluster(store: "fs" | "memory" | "s3", workDir: string): dn.Cluster {
  if (store === "memory") return new dn.Cluster({ backend: "memory" });
  if (store === "fs") return new dn.Cluster({ backend: "fs", root: join(workDir, "fs") });
  const endpoint = process.env.DOSNA_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error("--store s3 needs DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _REGION)");
  return new dn.Cluster({
    backend: "s3",
    endpoint,
    accessKeyId: process.env.DOSNA_TEST_S3_ACCESS_KEY ?? "",
    secretAccessKey: process.env.DOSNA_TEST_S3_SECRET_KEY ?? "",
    region: process.env.DOSNA_TEST_S3_REGION ?? "us-east-1",
  });
}

export async function benchVectorSearch(options: VectorSearchBenchOptions): Promise<VectorSearchReport> {
  const quick = options.quick;
  const n = options.rows ?? (quick ? 20_000 : 100_000);
  const d = options.dims ?? 128;
  const q = options.queries ?? 1000;
  const repeats = options.repeats ?? (quick ? 3 : 5);
  const storeKind = options.store ?? "fs";
  const k = 10;
  const chunkRows = 1000;
  const workDir = mkdtempSync(join(tmpdir(), "dosna-bench-vectors-"));
  const cluster = makeCluster(storeKind, workDir);
  await cluster.connect();
  const poolName = `dosna-bench-vectors-${process.pid}`;
  try {
    const pool = await cluster.createPool(poolName);
    const centres = centresOf(d, options.clusters ?? 200, 1);
    const data = embeddings(centres, n, d, 2);
    // Queries: new points of the same distribution (not perturbed copies of stored rows).
    const queries = embeddings(centres, q, d, 3);
    const ds = await pool.createDataset("embeddings", { shape: [n, d], dtype: "float32", chunks: [chunkRows, d] });
    await ds.set(undefined, data);

    // 1. exact vs the plain loop.
    await nearest(ds, queries.subarray(0, 4 * d), k, { metric: "l2", exact: true }); // warm-up (JIT)
    const exact = await timed(() => nearest(ds, queries, k, { metric: "l2", exact: true }));
    const brute = await timed(() => bruteForce(data, n, d, queries, q, k));
    let exactMismatches = 0;
    for (let i = 0; i < q; i++) {
      const a = new Set(exact.value.indices.subarray(i * k, (i + 1) * k));
      if (!brute.value.subarray(i * k, (i + 1) * k).every((r) => a.has(r))) exactMismatches++;
    }

    // 2. HNSW.
    const build = await timed(() => createVectorIndex(ds, { kind: "hnsw", metric: "l2", expansionSearch: options.expansionSearch }));
    await nearest(ds, queries, k, { metric: "l2" }); // warm-up: the index is cached by the handle from here on
    const runs: { ms: number; value: NearestResult }[] = [];
    for (let r = 0; r < repeats; r++) runs.push(await timed(() => nearest(ds, queries, k, { metric: "l2" })));
    const hnswMs = median(runs.map((r) => r.ms));
    const approx = runs[0].value;
    if (approx.method !== "hnsw") throw new Error(`the HNSW search ran as ${approx.method}`);
    const recall = recallOf(approx, exact.value);

    // 3. update 1 % of the rows (one chunk row) vs a full rebuild.
    const changedRows = Math.max(1, Math.round(n / 100));
    const start = Math.floor(n / 2 / chunkRows) * chunkRows;
    const replacement = embeddings(centres, changedRows, d, 4);
    await ds.set(`${start}:${start + changedRows}, :`, replacement);
    const update = await timed(() => updateVectorIndex(ds));
    const now = new Float32Array(data);
    now.set(replacement, start * d);
    const truthAfter = await nearest(ds, queries, k, { metric: "l2", exact: true });
    const recallAfterUpdate = recallOf(await nearest(ds, queries, k, { metric: "l2" }), truthAfter);
    const rebuild = await timed(() => createVectorIndex(ds, { kind: "hnsw", metric: "l2", expansionSearch: options.expansionSearch }));

    const exactQps = q / (exact.ms / 1000);
    const hnswQps = q / (hnswMs / 1000);
    return {
      date: new Date().toISOString(),
      rows: n,
      dims: d,
      queries: q,
      k,
      store: storeKind,
      clusters: centres.length,
      cores: availableParallelism(),
      exactMs: exact.ms,
      exactQps,
      bruteMs: brute.ms,
      exactVsBrute: brute.ms / exact.ms,
      exactMismatches,
      buildMs: build.ms,
      indexBytes: build.value.bytes,
      hnswMs,
      hnswQps,
      recall,
      speedup: hnswQps / exactQps,
      updateMs: update.ms,
      rowsUpdated: update.value.rowsUpdated,
      rebuildMs: rebuild.ms,
      updateVsRebuild: rebuild.ms / update.ms,
      recallAfterUpdate,
      goalMet: recall >= 0.95 && hnswQps >= 20 * exactQps,
    };
  } finally {
    await cluster.deletePool(poolName, { force: true }).catch(() => undefined);
    await cluster.disconnect();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function printVectorSearchTable(r: VectorSearchReport): void {
  const f = (x: number, digits = 1) => x.toFixed(digits);
  console.log(`\nvector search: ${r.rows.toLocaleString("en")} × ${r.dims} float32 (${r.clusters} clusters) on ${r.store}, ${r.queries} queries, k = ${r.k}, l2, ${r.cores} cores`);
  const rows: [string, string, string, string][] = [
    ["case", "ms", "queries/s", "note"],
    ["brute-force loop (in memory)", f(r.bruteMs, 0), f(r.queries / (r.bruteMs / 1000)), ""],
    ["exact nearest", f(r.exactMs, 0), f(r.exactQps), `${f(r.exactVsBrute, 2)}× the loop; ${r.exactMismatches} queries differ`],
    ["hnsw build", f(r.buildMs, 0), "", `${f(r.indexBytes / 2 ** 20)} MiB index`],
    ["hnsw nearest", f(r.hnswMs, 1), f(r.hnswQps), `recall@${r.k} ${f(r.recall, 3)}, ${f(r.speedup)}× exact q/s`],
    ["update 1 % of rows", f(r.updateMs, 0), "", `${r.rowsUpdated} rows re-added; ${f(r.updateVsRebuild, 2)}× faster than a rebuild; recall ${f(r.recallAfterUpdate, 3)}`],
    ["full rebuild", f(r.rebuildMs, 0), "", ""],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 || c === 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
  console.log(`goal (recall ≥ 0.95 at ≥ 20× the exact q/s): ${r.goalMet ? "met" : "NOT met"}`);
}

async function main(): Promise<void> {
  const { flag, option } = commandLine(process.argv.slice(2));
  const quick = flag("quick");
  const number = (name: string) => (option(name, "") === "" ? undefined : Number(option(name, "")));
  const report = await benchVectorSearch({
    quick,
    rows: number("rows"),
    queries: number("queries"),
    repeats: number("repeats"),
    clusters: number("clusters"),
    expansionSearch: number("expansion-search"),
    store: option("store", "fs") as "fs" | "memory" | "s3",
  });
  printVectorSearchTable(report);
  if (flag("json")) {
    const given = option("json", "");
    const out = given && !given.startsWith("--") ? given : join(import.meta.dirname, "results", `vector-search-${report.date.replace(/[:.]/g, "-")}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2));
    console.log(`\nresults written to ${out}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
