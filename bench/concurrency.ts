/**
 * What optimistic concurrency (issue 8: every partial chunk write a read-modify-write with a version
 * token and a conditional PUT, retried on conflict; per-key lock files and fsync on the fs store)
 * costs, measured against the code before it in the same run, on fs and on S3 (the local Ceph RGW):
 *
 *   1. whole-chunk writes (bench/case.ts "dosna-write"), now vs the baseline build; on fs also now
 *      with durable off, so the fsync cost shows on its own;
 *   2. single writes at njobs 1, each its own `set`: a whole chunk, one row of an existing chunk,
 *      one row of an absent chunk: median ms and store calls (and HTTP requests on S3) per write;
 *   3. 8 processes (each its own Cluster) writing interleaved rows of one dataset whose chunks they
 *      all share, and 1 process writing every row (on fs also durable off): rows/s, chunk PUTs per
 *      chunk update (retries), and the row updates lost (every row is verified after every run; the
 *      current code must lose none, or this reports FAILED and exits 1).
 *
 * The baseline (default af3ea9b, the last commit before this work) is checked out in a temporary
 * git worktree, compiled with its own tsconfig.bench.json, and removed at the end. Cases run
 * compiled, one process each; now and before alternate; medians are reported.
 *
 *   npx tsx bench/concurrency.ts [--quick] [--stores fs,s3] [--baseline REF] [--repeats N] [--out FILE]
 * Also run at the end of `npm run bench` (bench/run.ts; --no-concurrency skips it). S3 runs when
 * DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY) is set.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ConcurrencyCaseSpec, PartialLatencyResult, RowsVerifyResult, RowsWriteResult, WriteLatency } from "./concurrency-spec.js";
import { benchStores, caseEnvironment, commandLine, compileBench, median, runCase } from "./harness.js";
import type { CaseResult, CaseSpec, StoreSpec } from "./spec.js";

export const DEFAULT_BASELINE = "af3ea9b";
/** The current tree's FileSystemBackend options that turn fsync off. */
const NOT_DURABLE = { durable: false };

export interface ConcurrencyBenchOptions {
  quick: boolean;
  stores: string[];
  /** Git ref of the code before optimistic concurrency. */
  baseline: string;
  repeats?: number;
  /** The current tree's compiled bench directory, when the caller has compiled it already. */
  currentBuild?: string;
}

export interface ConcurrencyRow {
  store: string;
  measure: string;
  now: number;
  before: number;
  note: string;
}

export interface ConcurrencyReport {
  date: string;
  node: string;
  baseline: { ref: string; commit: string };
  settings: Record<string, unknown>;
  rows: ConcurrencyRow[];
  ratios: Record<string, number>;
  /** Lost or failed row updates of the current code: must be empty. */
  failures: string[];
  /** Every run's raw results, by store and variant. */
  runs: Record<string, unknown>;
}

interface Build {
  name: "now" | "before";
  dir: string;
}

const repoRoot = resolve(import.meta.dirname, "..");

function git(args: string[]): string {
  return execFileSync("git", ["-C", repoRoot, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Check out `ref` in a worktree under `parent`, with the current node_modules, and compile its bench (with our concurrency case). */
function buildBaseline(ref: string, parent: string): { tree: string; commit: string; build: string } {
  const commit = git(["rev-parse", "--verify", `${ref}^{commit}`]);
  const tree = join(parent, "baseline");
  git(["worktree", "add", "--detach", tree, commit]);
  symlinkSync(join(repoRoot, "node_modules"), join(tree, "node_modules"), "dir");
  for (const file of ["concurrency-case.ts", "concurrency-spec.ts"]) copyFileSync(join(repoRoot, "bench", file), join(tree, "bench", file));
  console.log(`== baseline ${ref} (${commit.slice(0, 10)}): compiling in ${tree}`);
  return { tree, commit, build: compileBench(tree) };
}

function removeWorktree(tree: string): void {
  try {
    git(["worktree", "remove", "--force", tree]);
  } catch (error) {
    console.error(`could not remove the baseline worktree ${tree}: ${(error as Error).message}`);
  }
}

/** Run the 8 (or 1) row writers at once, each its own process; their results. */
function runWriters(build: Build, spec: ConcurrencyCaseSpec, writers: number, barrier: string): Promise<RowsWriteResult[]> {
  const script = join(build.dir, "concurrency-case.js");
  return Promise.all(
    Array.from(
      { length: writers },
      (_, writer) =>
        new Promise<RowsWriteResult>((done, fail) => {
          const child = spawn(process.execPath, [script, JSON.stringify({ ...spec, case: "rows-write", writer, writers, barrier })], {
            env: caseEnvironment(),
            stdio: ["ignore", "pipe", "pipe"],
          });
          let stdout = "";
          let stderr = "";
          child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
          child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
          child.on("error", fail);
          child.on("close", (code) => {
            if (code !== 0) fail(new Error(`${build.name} writer ${writer} of ${writers} exited with ${code}:\n${stderr}`));
            else done(JSON.parse(stdout.trim().split("\n").pop()!) as RowsWriteResult);
          });
        }),
    ),
  );
}

interface RowsRun {
  rowsPerSecond: number;
  /** Chunk PUTs (attempted, so with the retries) and chunk GETs per chunk a row write updates. */
  putsPerUpdate: number;
  getsPerUpdate: number;
  seconds: number;
  written: number;
  failed: number;
  lost: number;
  lostRows: number[];
  firstError?: string;
}

let barrierCount = 0;

/** Prepare the shared dataset, run the writers, verify every row: all with `build`'s code. */
async function rowsRun(build: Build, base: ConcurrencyCaseSpec, writers: number, workDir: string): Promise<RowsRun> {
  const script = join(build.dir, "concurrency-case.js");
  const spec = { ...base, dataset: `rows-${build.name}${base.fsOptions ? "-options" : ""}-${writers}` };
  runCase(script, { ...spec, case: "rows-prepare" });
  const results = await runWriters(build, spec, writers, join(workDir, "barriers", String(barrierCount++)));
  const verified = runCase<RowsVerifyResult>(script, { ...spec, case: "rows-verify" });
  const seconds = (Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs))) / 1000;
  const written = results.reduce((a, r) => a + r.rows, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  const updates = written * Math.ceil(spec.shape[1] / spec.chunks[1]);
  const calls = (names: string[]) => results.reduce((a, r) => a + names.reduce((b, name) => b + (r.chunkCalls[name] ?? 0), 0), 0);
  return {
    rowsPerSecond: spec.shape[0] / seconds,
    putsPerUpdate: calls(["set"]) / updates,
    getsPerUpdate: calls(["get", "getVersioned"]) / updates,
    seconds,
    written,
    failed,
    lost: verified.lost,
    lostRows: verified.lostRows,
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}

const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const describeCalls = (calls: Record<string, number>) =>
  Object.entries(calls)
    .map(([name, n]) => `${name} ${Number.isInteger(n) ? n : n.toFixed(2)}`)
    .join(" + ");

interface Settings {
  quick: boolean;
  repeats: number;
  latencyRepeats: number;
  rowRepeats: number;
  writeMiB: number;
  latencyWrites: number;
  rowShape: number[];
  rowChunks: number[];
  writers: number;
}

/** One store's part of the run: where its rows, ratios, failures and raw runs go. */
interface StoreBench {
  name: string;
  store: StoreSpec;
  isFs: boolean;
  now: Build;
  before: Build;
  /** The case spec every case of this store starts from (its pool, created fresh). */
  base: ConcurrencyCaseSpec;
  settings: Settings;
  workDir: string;
  add(measure: string, now: number, before: number, note?: string): void;
  ratios: Record<string, number>;
  failures: string[];
  runs: Record<string, unknown>;
}

const caseJs = (b: Build) => join(b.dir, "case.js");
const concurrencyJs = (b: Build) => join(b.dir, "concurrency-case.js");

/** 1. Whole-chunk writes, bench/case.ts "dosna-write" with the spec bench/run.ts uses; on fs also durable off. */
function wholeChunkWrites(b: StoreBench): void {
  const { repeats, writeMiB } = b.settings;
  const spec: CaseSpec = { case: "dosna-write", store: b.store, pool: b.base.pool, dataset: "vol", shape: [writeMiB, 512, 512], chunks: [64, 64, 64], njobs: 16 };
  console.log(`== ${b.name}: whole-chunk writes of [${spec.shape}] float32, chunks [${spec.chunks}], njobs 16, ${repeats}× now/before${b.isFs ? "/durable off" : ""}`);
  const runs: Record<string, CaseResult[]> = { now: [], before: [], notDurable: [] };
  for (let r = 0; r < repeats; r++) {
    runs.now.push(runCase<CaseResult>(caseJs(b.now), spec));
    runs.before.push(runCase<CaseResult>(caseJs(b.before), spec));
    if (b.isFs) runs.notDurable.push(runCase<CaseResult>(caseJs(b.now), { ...spec, fsOptions: NOT_DURABLE }));
  }
  b.runs.wholeChunkWrites = runs;
  const mb = (results: CaseResult[]) => median(results.map((x) => x.mbPerSecond));
  b.add("whole-chunk write MiB/s", mb(runs.now), mb(runs.before), `${writeMiB} MiB, 1 MiB chunks, njobs 16, median of ${repeats}`);
  b.ratios[`${b.name}: whole-chunk write MiB/s now/before`] = mb(runs.now) / mb(runs.before);
  if (b.isFs) {
    b.add("  same, durable off (now)", mb(runs.notDurable), mb(runs.before), "no fsync of files and directories");
    b.ratios[`${b.name}: whole-chunk write durable on/off`] = mb(runs.now) / mb(runs.notDurable);
  }
}

type WriteKind = "whole" | "partialExisting" | "partialNew";

/** 2. Single writes at njobs 1, each its own set: time and requests per write. */
function singleWrites(b: StoreBench): void {
  const { latencyRepeats, latencyWrites, rowChunks } = b.settings;
  const spec: ConcurrencyCaseSpec = { ...b.base, case: "partial-latency", dataset: "lat", chunks: rowChunks, writes: latencyWrites };
  const chunkKiB = (rowChunks[0] * rowChunks[1] * 4) / 1024;
  console.log(`== ${b.name}: single writes of int32 chunks [${rowChunks}] (${chunkKiB} KiB) at njobs 1, ${latencyWrites} per kind, ${latencyRepeats}× now/before${b.isFs ? "/durable off" : ""}`);
  const runs: Record<string, PartialLatencyResult[]> = { now: [], before: [], notDurable: [] };
  for (let r = 0; r < latencyRepeats; r++) {
    runs.now.push(runCase<PartialLatencyResult>(concurrencyJs(b.now), spec));
    runs.before.push(runCase<PartialLatencyResult>(concurrencyJs(b.before), spec));
    if (b.isFs) runs.notDurable.push(runCase<PartialLatencyResult>(concurrencyJs(b.now), { ...spec, fsOptions: NOT_DURABLE }));
  }
  b.runs.singleWrites = runs;
  const ms = (results: PartialLatencyResult[], kind: WriteKind, which: "medianMs" | "p90Ms" = "medianMs") => median(results.map((x) => x[kind][which]));
  const last = (results: PartialLatencyResult[], kind: WriteKind): WriteLatency => results[results.length - 1][kind];
  // On S3 the HTTP requests on the wire; on fs the store calls.
  const requests = (l: WriteLatency) => (b.isFs ? sum(l.storeCalls) : l.httpRequests);
  const unit = b.isFs ? "store calls" : "HTTP requests";
  for (const [kind, label] of [
    ["whole", "whole-chunk write"],
    ["partialExisting", "partial write, existing chunk"],
    ["partialNew", "partial write, absent chunk"],
  ] as const) {
    const n = last(runs.now, kind);
    const p = last(runs.before, kind);
    const notDurable = b.isFs ? `; durable off ${ms(runs.notDurable, kind).toFixed(2)} ms` : "";
    b.add(`${label} ms`, ms(runs.now, kind), ms(runs.before, kind), `p90 now ${ms(runs.now, kind, "p90Ms").toFixed(1)}, before ${ms(runs.before, kind, "p90Ms").toFixed(1)}${notDurable}`);
    b.add(`  ${unit} per write`, requests(n), requests(p), `now ${describeCalls(n.storeCalls)}; before ${describeCalls(p.storeCalls)}`);
  }
  const create = (results: PartialLatencyResult[], which: "firstCreate" | "secondCreate") => median(results.map((x) => x[which].ms));
  const createRequests = (results: PartialLatencyResult[], which: "firstCreate" | "secondCreate") => results[results.length - 1][which].httpRequests;
  const probe = b.isFs
    ? ""
    : `; HTTP requests first/second: now ${createRequests(runs.now, "firstCreate")}/${createRequests(runs.now, "secondCreate")}, ` +
      `before ${createRequests(runs.before, "firstCreate")}/${createRequests(runs.before, "secondCreate")}`;
  b.add(
    "create dataset, first of a process ms",
    create(runs.now, "firstCreate"),
    create(runs.before, "firstCreate"),
    `second create ${create(runs.now, "secondCreate").toFixed(1)} / ${create(runs.before, "secondCreate").toFixed(1)} ms${probe}`,
  );
  const partialNow = ms(runs.now, "partialExisting");
  const partialBefore = ms(runs.before, "partialExisting");
  b.ratios[`${b.name}: partial write ms now/before`] = partialNow / partialBefore;
  b.ratios[`${b.name}: partial write (absent chunk) ms now/before`] = ms(runs.now, "partialNew") / ms(runs.before, "partialNew");
  b.ratios[`${b.name}: partial write ${unit} now/before`] = requests(last(runs.now, "partialExisting")) / requests(last(runs.before, "partialExisting"));
  // "At most one extra round trip": the extra time of a partial write in units of one whole-chunk write (one PUT).
  b.ratios[`${b.name}: partial write extra ms / whole-chunk write ms`] = (partialNow - partialBefore) / ms(runs.now, "whole");
  if (b.isFs) b.ratios[`${b.name}: partial write ms durable on/off`] = partialNow / ms(runs.notDurable, "partialExisting");
}

/** 3. 8 processes writing interleaved rows of chunks they all share, and 1 process alone; every row verified. */
async function rowWriters(b: StoreBench): Promise<void> {
  const { rowRepeats, rowShape, rowChunks, writers } = b.settings;
  const spec: ConcurrencyCaseSpec = { ...b.base, case: "rows-write", shape: rowShape, chunks: rowChunks, njobs: 8 };
  const chunksPerRow = rowShape[1] / rowChunks[1];
  console.log(
    `== ${b.name}: ${writers} processes writing interleaved rows of int32 [${rowShape}] chunks [${rowChunks}] ` +
      `(each row ${(rowShape[1] * 4) / 1024} KiB over ${chunksPerRow} chunks), and 1 process, ${rowRepeats}× now/before${b.isFs ? "/durable off" : ""}`,
  );
  const runs: Record<string, RowsRun[]> = { now8: [], before8: [], notDurable8: [], now1: [], before1: [], notDurable1: [] };
  for (let r = 0; r < rowRepeats; r++) {
    runs.now8.push(await rowsRun(b.now, spec, writers, b.workDir));
    runs.before8.push(await rowsRun(b.before, spec, writers, b.workDir));
    if (b.isFs) runs.notDurable8.push(await rowsRun(b.now, { ...spec, fsOptions: NOT_DURABLE }, writers, b.workDir));
    runs.now1.push(await rowsRun(b.now, spec, 1, b.workDir));
    runs.before1.push(await rowsRun(b.before, spec, 1, b.workDir));
    if (b.isFs) runs.notDurable1.push(await rowsRun(b.now, { ...spec, fsOptions: NOT_DURABLE }, 1, b.workDir));
  }
  b.runs.rows = runs;
  const rps = (results: RowsRun[]) => median(results.map((x) => x.rowsPerSecond));
  const lost = (results: RowsRun[]) => results.map((x) => x.lost + x.failed);
  const perUpdate = (results: RowsRun[], what: "putsPerUpdate" | "getsPerUpdate") => median(results.map((x) => x[what]));
  b.add(`${writers} processes rows/s`, rps(runs.now8), rps(runs.before8), `median of ${rowRepeats}`);
  if (b.isFs) b.add("  same, durable off (now)", rps(runs.notDurable8), rps(runs.before8), `lost: [${lost(runs.notDurable8)}]`);
  b.add(`  row updates lost of ${rowShape[0]}`, Math.max(...lost(runs.now8)), median(lost(runs.before8)), `every run: now [${lost(runs.now8)}], before [${lost(runs.before8)}]`);
  b.add(
    "  chunk PUTs per chunk update",
    perUpdate(runs.now8, "putsPerUpdate"),
    perUpdate(runs.before8, "putsPerUpdate"),
    `GETs ${perUpdate(runs.now8, "getsPerUpdate").toFixed(2)} / ${perUpdate(runs.before8, "getsPerUpdate").toFixed(2)}; above 1: conflicts retried`,
  );
  b.add("1 process rows/s", rps(runs.now1), rps(runs.before1), `median of ${rowRepeats}`);
  if (b.isFs) b.add("  same, durable off (now)", rps(runs.notDurable1), rps(runs.before1), `lost: [${lost(runs.notDurable1)}]`);
  b.ratios[`${b.name}: ${writers}-process rows/s now/before`] = rps(runs.now8) / rps(runs.before8);
  b.ratios[`${b.name}: ${writers}-process / 1-process rows/s (now)`] = rps(runs.now8) / rps(runs.now1);
  b.ratios[`${b.name}: 1-process rows/s now/before`] = rps(runs.now1) / rps(runs.before1);
  if (b.isFs) b.ratios[`${b.name}: ${writers}-process rows/s durable on/off`] = rps(runs.now8) / rps(runs.notDurable8);
  // The current code must lose nothing, in any run.
  for (const [variant, results] of [
    [`${writers} processes`, runs.now8],
    [`${writers} processes, durable off`, runs.notDurable8],
    ["1 process", runs.now1],
    ["1 process, durable off", runs.notDurable1],
  ] as const) {
    results.forEach((x, i) => {
      if (x.lost > 0 || x.failed > 0) {
        const rows = x.lostRows.slice(0, 12).join(", ");
        b.failures.push(`${b.name}, ${variant}, run ${i + 1}: ${x.lost} of ${rowShape[0]} rows lost (rows ${rows}), ${x.failed} sets failed${x.firstError ? ` (${x.firstError})` : ""}`);
      }
    });
  }
}

export async function benchConcurrency(options: ConcurrencyBenchOptions): Promise<ConcurrencyReport> {
  const { quick } = options;
  const repeats = options.repeats ?? (quick ? 3 : 5);
  const settings: Settings = {
    quick,
    repeats,
    // Short latency runs, alternated often: on a noisy machine the load drifts within minutes.
    latencyRepeats: Math.max(repeats, quick ? 5 : 7),
    latencyWrites: quick ? 20 : 40,
    rowRepeats: quick ? 1 : 3,
    writeMiB: quick ? 64 : 256,
    rowShape: quick ? [96, 8192] : [96, 16384],
    rowChunks: [32, 1024],
    writers: 8,
  };
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  const workDir = mkdtempSync(join(tmpdir(), "dosna-concurrency-"));
  const stores = benchStores(options.stores, workDir);
  let baselineTree: string | undefined;
  const cleanUp = () => {
    if (baselineTree) removeWorktree(baselineTree);
    baselineTree = undefined;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanUp();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const rows: ConcurrencyRow[] = [];
  const ratios: Record<string, number> = {};
  const failures: string[] = [];
  const runs: Record<string, unknown> = {};
  let commit = "";
  try {
    const now: Build = { name: "now", dir: options.currentBuild ?? compileBench(repoRoot) };
    const baseline = buildBaseline(options.baseline, workDir);
    baselineTree = baseline.tree;
    commit = baseline.commit;
    const before: Build = { name: "before", dir: baseline.build };
    for (const { name, spec: store } of stores) {
      const pool = `dosna-conc-${randomBytes(4).toString("hex")}`;
      const base: ConcurrencyCaseSpec = { case: "setup", store, pool, dataset: "d", shape: settings.rowShape, chunks: settings.rowChunks, njobs: 1 };
      const storeRuns: Record<string, unknown> = {};
      runs[name] = storeRuns;
      const bench: StoreBench = {
        name,
        store,
        isFs: store.kind === "fs",
        now,
        before,
        base,
        settings,
        workDir,
        add: (measure, nowValue, beforeValue, note = "") => rows.push({ store: name, measure, now: nowValue, before: beforeValue, note }),
        ratios,
        failures,
        runs: storeRuns,
      };
      runCase(concurrencyJs(now), base);
      try {
        wholeChunkWrites(bench);
        singleWrites(bench);
        await rowWriters(bench);
      } finally {
        try {
          runCase(concurrencyJs(now), { ...base, case: "drop" });
        } catch (error) {
          console.error(`could not drop pool ${pool} from ${name}: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanUp();
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    baseline: { ref: options.baseline, commit },
    settings: { ...settings, stores: stores.map((s) => s.name), cores: availableParallelism(), loadAverage: { start: loadAtStart, end: loadavg().map((x) => Number(x.toFixed(2))) } },
    rows,
    ratios,
    failures,
    runs,
  };
}

const pad = (s: string, n: number) => s.padEnd(n);
const format = (x: number) => (Number.isInteger(x) ? String(x) : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

export function printConcurrencyTable(report: ConcurrencyReport): void {
  const load = report.settings.loadAverage as { start: number[]; end: number[] };
  console.log(
    `\nconcurrency: now vs before (${report.baseline.ref}, ${report.baseline.commit.slice(0, 10)}); ` +
      `load average ${load.start[0]} at the start, ${load.end[0]} at the end, ${report.settings.cores} cores`,
  );
  console.log(`${pad("store", 7)}${pad("measure", 38)}${pad("now", 10)}${pad("before", 10)}${pad("now/before", 12)}note`);
  for (const r of report.rows) {
    const ratio = r.before === 0 ? (r.now === 0 ? "-" : "∞") : (r.now / r.before).toFixed(2);
    console.log(`${pad(r.store, 7)}${pad(r.measure, 38)}${pad(format(r.now), 10)}${pad(format(r.before), 10)}${pad(ratio, 12)}${r.note}`);
  }
}

export function printFailures(report: ConcurrencyReport): void {
  if (report.failures.length === 0) return;
  console.error(`\nFAILED: the current code lost or failed row updates under concurrent writers:`);
  for (const failure of report.failures) console.error(`  ${failure}`);
}

async function main(): Promise<void> {
  const { flag, option } = commandLine(process.argv.slice(2));
  const repeats = option("repeats", "");
  const report = await benchConcurrency({
    quick: flag("quick"),
    stores: option("stores", "fs,s3").split(","),
    baseline: option("baseline", DEFAULT_BASELINE),
    repeats: repeats ? Number(repeats) : undefined,
  });
  printConcurrencyTable(report);
  console.log("\nratios (same run):");
  for (const [name, value] of Object.entries(report.ratios)) console.log(`  ${pad(name, 52)} ${value.toFixed(2)}`);
  const out = option("out", join(import.meta.dirname, "results", `concurrency-${report.date.replace(/[:.]/g, "-")}.json`));
  mkdirSync(join(out, ".."), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2));
  console.log(`\nresults written to ${out}`);
  printFailures(report);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
