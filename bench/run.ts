/**
 * dosna's benchmark suite: dosna side by side with the physical limit (raw GET/PUT of the same
 * chunk objects through the same store at the same concurrency) and with the peers (zarrita.js,
 * h5wasm), on the fs store and on an S3 endpoint (the local Ceph RGW), in one run. Each case runs
 * in its own process (peak RSS per case); paired cases alternate and report medians.
 *
 *   npm run bench                 # ~256 MiB float32, 1 MiB chunks
 *   npm run bench -- --quick      # 64 MiB, one repeat
 *   options: --size-mib N  --repeats N  --njobs N  --stores fs,s3  --out FILE
 *            --baseline REF (for bench/concurrency.ts, default af3ea9b)  --no-concurrency
 *            --no-versioning (bench/versioning.ts, on memory too; --runs N for it, default 3)
 *            --no-compute (bench/compute.ts: engines local/threads/queue workers, queue overhead;
 *            Redis from DOSNA_TEST_REDIS_URL or started by it)
 *            --no-models (bench/vector-search.ts on fs, bench/derive.ts, bench/batches.ts)
 *            --reads-only (only the whole-array reads side by side: dosna-read, raw-get, zarrita-read,
 *            with their ratios and peak RSS; nothing else)  --shape Z,Y,X (instead of --size-mib)
 *            --reads-baseline DIR (with --reads-only: also the dosna-read of another tree, compiled
 *            into DIR/.bench-build by compileBench, alternating with this one: before/after in one run)
 *   e.g. the read-speed comparison of issue 15: --reads-only --shape 256,256,256 --repeats 5
 * S3 runs when DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY) is set, e.g. after
 *   eval "$(bash scripts/rgw-start.sh)"
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { benchConcurrency, DEFAULT_BASELINE, printConcurrencyTable, printFailures, type ConcurrencyReport } from "./concurrency.js";
import { benchStores, commandLine, compileBench, median, runCase as runCaseScript } from "./harness.js";
import { benchBatches, printBatchesTable, type BatchesReport } from "./batches.js";
import { benchDerive, printDeriveTable, type DeriveReport } from "./derive.js";
import { benchVectorSearch, printVectorSearchTable, type VectorSearchReport } from "./vector-search.js";
import { benchCompute, printComputeFailures, printComputeTables, type ComputeReport } from "./compute.js";
import { benchVersioning, printVersioningFailures, printVersioningTables, type VersioningReport } from "./versioning.js";
import type { CaseResult, CaseSpec } from "./spec.js";

const { flag, option } = commandLine(process.argv.slice(2));

const quick = flag("quick");
const sizeMiB = Number(option("size-mib", quick ? "64" : "256"));
const repeats = Number(option("repeats", quick ? "1" : "3"));
const njobs = Number(option("njobs", "16"));
const storesWanted = option("stores", "fs,s3").split(",");
const readsOnly = flag("reads-only");
// One 512×512 float32 plane is 1 MiB: the array is sizeMiB planes deep (unless --shape says otherwise).
const shapeOption = option("shape", "");
const shape = shapeOption ? shapeOption.split(",").map(Number) : [Math.max(1, Math.round(sizeMiB)), 512, 512];
const chunks = [64, 64, 64];
const chunkBytes = 64 ** 3 * 4;
const outputBytes = shape.reduce((a, b) => a * b, 1) * 4;

const workDir = mkdtempSync(join(tmpdir(), "dosna-bench-"));
const stores = benchStores(storesWanted, workDir);

const repoRoot = join(import.meta.dirname, "..");
const caseScript = join(compileBench(repoRoot), "case.js");
const baselineTree = option("reads-baseline", "");
const baselineCaseScript = baselineTree ? join(compileBench(baselineTree), "case.js") : undefined;
/** A spec's `script` runs another tree's compiled case.js (--reads-baseline). */
const runCase = ({ script, ...spec }: CaseSpec & { script?: string }) => runCaseScript<CaseResult>(script ?? caseScript, spec);

/** Run cases alternately `repeats` times; the median MB/s and the max RSS of each. */
function paired(specs: Record<string, CaseSpec & { script?: string }>): Record<string, CaseResult> {
  const runs: Record<string, CaseResult[]> = Object.fromEntries(Object.keys(specs).map((k) => [k, []]));
  for (let r = 0; r < repeats; r++) for (const [name, spec] of Object.entries(specs)) runs[name].push(runCase(spec));
  return Object.fromEntries(
    Object.entries(runs).map(([name, results]) => {
      const mb = median(results.map((x) => x.mbPerSecond));
      const chosen = results.find((x) => x.mbPerSecond === mb)!;
      return [name, { ...chosen, maxRssBytes: Math.max(...results.map((x) => x.maxRssBytes)) }];
    }),
  );
}

interface Row {
  store: string;
  case: string;
  mbPerSecond: number;
  seconds: number;
  rssMiB: number;
  note: string;
}
const rows: Row[] = [];
const ratios: Record<string, number> = {};
const add = (store: string, name: string, r: CaseResult, note = "") =>
  rows.push({ store, case: name, mbPerSecond: r.mbPerSecond, seconds: r.seconds, rssMiB: r.maxRssBytes / 2 ** 20, note });

for (const { name: storeName, spec: store } of stores) {
  const base = { store, pool: "dosna-bench", dataset: "vol", shape, chunks, njobs };
  console.log(`== ${storeName}: preparing [${shape}] float32 (${outputBytes / 2 ** 20} MiB) in chunks [${chunks}]`);
  runCase({ ...base, case: "prepare" });

  if (readsOnly) {
    const specs: Record<string, CaseSpec & { script?: string }> = {
      "dosna-read": { ...base, case: "dosna-read" },
      "raw-get": { ...base, case: "raw-get" },
      "zarrita-read": { ...base, case: "zarrita-read" },
      ...(store.kind === "s3" ? { "zarrita-read (AWS SDK store)": { ...base, case: "zarrita-read", zarritaStore: "aws-sdk" as const } } : {}),
    };
    if (baselineCaseScript) specs["dosna-read (baseline)"] = { ...base, case: "dosna-read", script: baselineCaseScript };
    const r = paired(specs);
    const rssBudget = outputBytes + njobs * 2 * chunkBytes + 64 * 2 ** 20;
    for (const [name, result] of Object.entries(r)) {
      add(storeName, name, result);
      if (!name.startsWith("dosna-read")) continue;
      const tag = name === "dosna-read" ? "" : " (baseline)";
      ratios[`${storeName}: read dosna/raw${tag}`] = result.mbPerSecond / r["raw-get"].mbPerSecond;
      ratios[`${storeName}: read dosna/zarrita${tag}`] = result.mbPerSecond / r["zarrita-read"].mbPerSecond;
      const awsSdk = r["zarrita-read (AWS SDK store)"];
      if (awsSdk) ratios[`${storeName}: read dosna/zarrita with an AWS SDK store${tag}`] = result.mbPerSecond / awsSdk.mbPerSecond;
      ratios[`${storeName}: read peak RSS / budget${tag}`] = result.maxRssBytes / rssBudget;
    }
    continue;
  }

  const rw = paired({
    "dosna-write": { ...base, case: "dosna-write" },
    "raw-put": { ...base, case: "raw-put" },
    "dosna-read": { ...base, case: "dosna-read" },
    "raw-get": { ...base, case: "raw-get" },
    "zarrita-read": { ...base, case: "zarrita-read" },
  });
  for (const [name, r] of Object.entries(rw)) add(storeName, name, r);
  ratios[`${storeName}: write dosna/raw`] = rw["dosna-write"].mbPerSecond / rw["raw-put"].mbPerSecond;
  ratios[`${storeName}: read dosna/raw`] = rw["dosna-read"].mbPerSecond / rw["raw-get"].mbPerSecond;
  ratios[`${storeName}: read dosna/zarrita`] = rw["dosna-read"].mbPerSecond / rw["zarrita-read"].mbPerSecond;
  const rssBudget = outputBytes + njobs * 2 * chunkBytes + 64 * 2 ** 20;
  ratios[`${storeName}: read peak RSS / budget`] = rw["dosna-read"].maxRssBytes / rssBudget;

  if (store.kind === "fs") {
    const h5Dir = join(workDir, "h5");
    runCase({ ...base, case: "h5wasm-write", h5Dir });
    const h5 = paired({ "dosna-read": { ...base, case: "dosna-read" }, "h5wasm-read": { ...base, case: "h5wasm-read", h5Dir } });
    add(storeName, "h5wasm-read", h5["h5wasm-read"]);
    ratios[`${storeName}: read dosna/h5wasm`] = h5["dosna-read"].mbPerSecond / h5["h5wasm-read"].mbPerSecond;
  }

  const [z, y, x] = shape;
  const shapes: Record<string, string> = {
    "slab axis 0": `0:64, :, :`,
    "slab axis 1": `:, 0:64, :`,
    "slab axis 2": `:, :, 0:64`,
    "strided ::4": `::4, ::4, ::4`,
  };
  for (const [name, selection] of Object.entries(shapes)) {
    add(storeName, name, runCase({ ...base, case: name.startsWith("slab") ? "dosna-slab" : "dosna-strided", selection }), `of [${z},${y},${x}]`);
  }
  for (const which of ["first", "random"]) {
    const r = runCase({ ...base, case: "chunk-latency", selection: which, repeats: quick ? 20 : 100 });
    add(storeName, `1-chunk reads (${which})`, r, `p50 ${Number(r.p50ms).toFixed(1)} ms, p99 ${Number(r.p99ms).toFixed(1)} ms`);
  }
  for (const n of [1, 4, 16, 64]) add(storeName, `read njobs=${n}`, runCase({ ...base, njobs: n, case: "dosna-read" }));
  if (store.kind === "s3") {
    const t = paired({
      "read aws-sdk": { ...base, case: "dosna-read", transport: "aws" },
      "read minio": { ...base, case: "dosna-read", transport: "minio" },
      "write aws-sdk": { ...base, case: "dosna-write", transport: "aws" },
      "write minio": { ...base, case: "dosna-write", transport: "minio" },
    });
    for (const [name, r] of Object.entries(t)) add(storeName, name, r);
    ratios[`${storeName}: read minio/aws-sdk`] = t["read minio"].mbPerSecond / t["read aws-sdk"].mbPerSecond;
    ratios[`${storeName}: write minio/aws-sdk`] = t["write minio"].mbPerSecond / t["write aws-sdk"].mbPerSecond;
  }
}

// Codecs on smooth float data, fs store: compression ratio and MB/s.
const codecCases: Record<string, Record<string, unknown>> = {
  none: {},
  gzip: { compression: "gzip" },
  zstd: { compression: "zstd" },
  "zstd+shuffle": { compression: "zstd", shuffle: true },
};
if (storesWanted.includes("fs") && !readsOnly) {
  const codecShape = [64, 512, 512];
  for (const [name, createOptions] of Object.entries(codecCases)) {
    const base = { store: { kind: "fs" as const, root: join(workDir, "codecs") }, pool: "codecs", dataset: name.replace("+", "-"), shape: codecShape, chunks, njobs, createOptions };
    try {
      const w = runCase({ ...base, case: "prepare" });
      const r = runCase({ ...base, case: "dosna-read" });
      rows.push({ store: "fs codec", case: name, mbPerSecond: r.mbPerSecond, seconds: r.seconds, rssMiB: r.maxRssBytes / 2 ** 20, note: `ratio ${Number(w.ratio).toFixed(2)}×, write ${w.mbPerSecond.toFixed(0)} MB/s` });
    } catch {
      rows.push({ store: "fs codec", case: name, mbPerSecond: NaN, seconds: NaN, rssMiB: NaN, note: "not available" });
    }
  }
}

// Optimistic concurrency against the code before it (bench/concurrency.ts), in the same run.
let concurrency: ConcurrencyReport | undefined;
if (!readsOnly && !flag("no-concurrency")) {
  concurrency = await benchConcurrency({ quick, stores: storesWanted, baseline: option("baseline", DEFAULT_BASELINE), currentBuild: dirname(caseScript) });
  Object.assign(ratios, concurrency.ratios);
}

// What versions cost (bench/versioning.ts), in the same run.
let versioning: VersioningReport | undefined;
if (!readsOnly && !flag("no-versioning")) {
  // Its ratios (with their goals) print with its tables and go to the JSON under "versioning".
  versioning = await benchVersioning({ quick, stores: ["memory", ...storesWanted], runs: Number(option("runs", "3")), compiledBench: dirname(caseScript) });
}

// The compute engines (bench/compute.ts), in the same run.
let compute: ComputeReport | undefined;
if (!readsOnly && !flag("no-compute")) compute = await benchCompute({ quick });

// Models attached to data (issue 13): vector search, a derivation, training batches.
let models: { vectors: VectorSearchReport; derive: DeriveReport; batches: BatchesReport } | undefined;
if (!readsOnly && !flag("no-models")) {
  models = {
    vectors: await benchVectorSearch({ quick, store: "fs" }),
    derive: await benchDerive({ quick }),
    batches: await benchBatches({ quick, stores: storesWanted.filter((s) => s === "fs" || s === "s3") }),
  };
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`\n${pad("store", 10)}${pad("case", 24)}${pad("MiB/s", 10)}${pad("s", 8)}${pad("peak RSS MiB", 14)}note`);
for (const r of rows) {
  console.log(`${pad(r.store, 10)}${pad(r.case, 24)}${pad(r.mbPerSecond.toFixed(1), 10)}${pad(r.seconds.toFixed(2), 8)}${pad(r.rssMiB.toFixed(0), 14)}${r.note}`);
}
if (concurrency) printConcurrencyTable(concurrency);
if (versioning) printVersioningTables(versioning);
if (compute) printComputeTables(compute);
if (models) {
  printVectorSearchTable(models.vectors);
  printDeriveTable(models.derive);
  printBatchesTable(models.batches);
}
console.log("\nratios (same run):");
for (const [name, value] of Object.entries(ratios)) console.log(`  ${pad(name, 52)} ${value.toFixed(2)}`);

const out = option("out", join(import.meta.dirname, "results", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`));
mkdirSync(join(out, ".."), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, sizeMiB, shape, chunks, njobs, repeats, rows, ratios, concurrency, versioning, compute, models }, null, 2));
console.log(`\nresults written to ${out}`);
rmSync(workDir, { recursive: true, force: true });
if (concurrency) {
  printFailures(concurrency);
  if (concurrency.failures.length > 0) process.exitCode = 1;
}
if (versioning) {
  printVersioningFailures(versioning);
  if (versioning.failures.length > 0) process.exitCode = 1;
}
if (compute) {
  printComputeFailures(compute);
  if (compute.failures.length > 0) process.exitCode = 1;
}
if (models && models.derive.failures.length > 0) process.exitCode = 1;
