/**
 * What versions cost: plain dosna, versioned dosna (dn.Repository, src/versioning/) and Icechunk
 * (`@earthmover/icechunk` 2.2, its wasm32-wasi build, with zarrita on it) side by side in one run,
 * on the same data, on memory, on fs (a temporary directory) and on S3 (the local Ceph RGW):
 *
 *   1. write 64 MiB float32 [256,256,256] in 64³ chunks into a new dataset (versioned: then commit),
 *      read it all back (versioned: from a new read-only checkout of the branch), and a one-element
 *      change `set("5, 6, 7", x)` (versioned: in a new writable checkout, then commit). Each trial is
 *      one process per system; the systems alternate, `--runs` times; medians are reported.
 *   2. history: `log` after 100 and 1000 commits of one-element changes, and `diff` of two snapshots
 *      after 1 and after 64 changed chunks, on the 64-chunk array and on one of the same bytes in
 *      4096 chunks (16³): that the cost follows what changed, not the size of the array. Each
 *      timing cold (first call on a freshly opened repository) and warm (the call again).
 *
 * Icechunk has no local-filesystem storage in its wasm build: on fs it is skipped. On S3 it runs on
 * `Storage.newCustom` over the AWS SDK (bench/versioning-icechunk.ts).
 *
 *   npx tsx bench/versioning.ts [--quick] [--runs N] [--stores memory,fs,s3] [--njobs N]
 *                               [--changes N] [--no-history] [--json [FILE]]
 *   --quick: 16 MiB ([64,256,256]), log after 10 and 100 commits, diff after 1 and 16 chunks.
 *   --json: also write the report as JSON (default bench/results/versioning-<date>.json).
 * Also the last step of `npm run bench` (bench/run.ts; --no-versioning skips it). S3 runs when
 * DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _REGION) is set; every bucket it makes is
 * deleted at the end of its trial.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { benchStores, caseEnvironment, commandLine, median } from "./harness.js";
import type { CaseAnswer, DiffArray, HistoryResult, RwResult, VersioningCaseSpec, VersioningStore, VersioningSystem } from "./versioning-spec.js";

export interface VersioningBenchOptions {
  quick: boolean;
  /** memory, fs, s3 (s3 only when DOSNA_TEST_S3_ENDPOINT is set). */
  stores: string[];
  runs?: number;
  njobs?: number;
  /** One-element changes per trial. */
  changes?: number;
  history?: boolean;
  /** A compiled bench directory (bench/run.ts has one) to run versioning-case.js from; else tsx runs the .ts. */
  compiledBench?: string;
}

export interface VersioningRow {
  store: string;
  system: VersioningSystem;
  writeMs: number;
  readMs: number;
  changeMs: number;
  note: string;
}

export interface HistoryRow {
  store: string;
  system: VersioningSystem;
  measure: string;
  coldMs: number;
  warmMs: number;
  note: string;
}

export interface VersioningReport {
  date: string;
  node: string;
  settings: Record<string, unknown>;
  rows: VersioningRow[];
  history: HistoryRow[];
  ratios: Record<string, number>;
  goals: Array<{ ratio: string; value: number; goal: number; met: boolean }>;
  skipped: string[];
  failures: string[];
  runs: Record<string, unknown>;
}

const SYSTEMS: VersioningSystem[] = ["plain", "versioned", "icechunk"];
const LABEL: Record<VersioningSystem, string> = { plain: "dosna plain", versioned: "dosna versioned", icechunk: "icechunk+zarrita" };

function caseRunner(compiledBench: string | undefined): (spec: VersioningCaseSpec) => CaseAnswer<unknown> {
  const script = compiledBench ? join(compiledBench, "versioning-case.js") : join(import.meta.dirname, "versioning-case.ts");
  const nodeArgs = ["--disable-warning=ExperimentalWarning", ...(compiledBench ? [] : ["--import", "tsx"]), script];
  return (spec) => {
    const out = execFileSync(process.execPath, [...nodeArgs, JSON.stringify(spec)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: caseEnvironment(),
      maxBuffer: 16 << 20,
    });
    return JSON.parse(out.trim().split("\n").pop()!) as CaseAnswer<unknown>;
  };
}

const isSkipped = (x: unknown): x is { skipped: string } => typeof x === "object" && x !== null && "skipped" in x;

export async function benchVersioning(options: VersioningBenchOptions): Promise<VersioningReport> {
  const { quick } = options;
  const runs = options.runs ?? 3;
  const njobs = options.njobs ?? 16;
  const changes = options.changes ?? 5;
  const shape = quick ? [64, 256, 256] : [256, 256, 256];
  const chunks = [64, 64, 64];
  const sizeMiB = (shape.reduce((a, b) => a * b, 1) * 4) / 2 ** 20;
  const logCommits = quick ? [10, 100] : [100, 1000];
  const diffChangedChunks = quick ? [1, 16] : [1, 64];
  const diffArrays: DiffArray[] = [
    { name: "big", shape, chunks },
    { name: "fine", shape, chunks: [16, 16, 16] },
  ];
  const historyRepeats = quick ? 3 : 5;
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));

  const workDir = mkdtempSync(join(tmpdir(), "dosna-versioning-"));
  const stores: Array<{ name: string; spec: VersioningStore }> = [];
  if (options.stores.includes("memory")) stores.push({ name: "memory", spec: { kind: "memory" } });
  stores.push(...benchStores(options.stores.filter((s) => s !== "memory"), workDir));
  const runCase = caseRunner(options.compiledBench);

  const rows: VersioningRow[] = [];
  const historyRows: HistoryRow[] = [];
  const ratios: Record<string, number> = {};
  const goals: VersioningReport["goals"] = [];
  const skipped: string[] = [];
  const failures: string[] = [];
  const rawRuns: Record<string, unknown> = {};

  const attempt = <T>(what: string, spec: VersioningCaseSpec): T | undefined => {
    try {
      const answer = runCase(spec);
      if (isSkipped(answer)) {
        if (!skipped.some((s) => s.startsWith(`${what}:`))) skipped.push(`${what}: ${answer.skipped}`);
        return undefined;
      }
      return answer as T;
    } catch (error) {
      failures.push(`${what}: ${(error as Error).message.split("\n")[0]}`);
      return undefined;
    }
  };

  try {
    for (const { name: storeName, spec: store } of stores) {
      console.log(`== versioning, ${storeName}: [${shape}] float32 (${sizeMiB} MiB) in chunks [${chunks}], ${runs} run${runs === 1 ? "" : "s"} of ${SYSTEMS.join(" / ")}`);
      const base = { case: "rw" as const, store, shape, chunks, njobs, changes };
      const trials: Record<string, RwResult[]> = Object.fromEntries(SYSTEMS.map((s) => [s, []]));
      const off = new Set<VersioningSystem>();
      for (let r = 0; r < runs; r++) {
        for (const system of SYSTEMS) {
          if (off.has(system)) continue;
          const result = attempt<RwResult>(`${storeName} ${system}`, { ...base, system });
          if (result) trials[system].push(result);
          else off.add(system);
        }
      }
      rawRuns[storeName] = { rw: trials };
      const med = (system: VersioningSystem, key: "writeMs" | "readMs" | "changeMs") => median(trials[system].map((t) => t[key]));
      for (const system of SYSTEMS) {
        if (trials[system].length === 0) continue;
        const n = trials[system].length;
        rows.push({
          store: storeName,
          system,
          writeMs: med(system, "writeMs"),
          readMs: med(system, "readMs"),
          changeMs: med(system, "changeMs"),
          note: `${n} run${n === 1 ? "" : "s"} × ${changes} changes; write ${trials[system].map((t) => t.writeMs.toFixed(0)).join("/")}`,
        });
      }
      const has = (system: VersioningSystem) => trials[system].length > 0;
      const goal = (name: string, value: number, limit: number) => {
        ratios[name] = value;
        goals.push({ ratio: name, value, goal: limit, met: value <= limit });
      };
      if (has("versioned") && has("plain")) {
        goal(`${storeName}: versioned write+commit / plain write`, med("versioned", "writeMs") / med("plain", "writeMs"), 1.15);
        goal(`${storeName}: versioned read / plain read`, med("versioned", "readMs") / med("plain", "readMs"), 1.1);
        ratios[`${storeName}: versioned change+commit / plain change`] = med("versioned", "changeMs") / med("plain", "changeMs");
      }
      if (has("versioned") && has("icechunk")) {
        ratios[`${storeName}: change+commit dosna / icechunk`] = med("versioned", "changeMs") / med("icechunk", "changeMs");
        ratios[`${storeName}: write+commit dosna / icechunk`] = med("versioned", "writeMs") / med("icechunk", "writeMs");
        ratios[`${storeName}: read dosna versioned / icechunk`] = med("versioned", "readMs") / med("icechunk", "readMs");
      }

      if (options.history === false) continue;
      console.log(
        `== versioning history, ${storeName}: log after ${logCommits.join(" and ")} commits; diff after ${diffChangedChunks.join(" and ")} changed chunks ` +
          `of [${shape}] in [${diffArrays.map((a) => a.chunks[0] + "³").join("] and [")}] chunks`,
      );
      const historySpec = { ...base, case: "history" as const, logCommits, diffArrays, diffChangedChunks, historyRepeats };
      for (const system of ["versioned", "icechunk"] as const) {
        if (off.has(system)) continue;
        const h = attempt<HistoryResult>(`${storeName} ${system} history`, { ...historySpec, system });
        if (!h) continue;
        (rawRuns[storeName] as Record<string, unknown>)[`history ${system}`] = h;
        for (const l of h.log) {
          historyRows.push({ store: storeName, system, measure: `log, ${l.commits} commits`, coldMs: l.coldMs, warmMs: l.warmMs, note: `${l.entries} entries; each commit took ${l.buildMsPerCommit.toFixed(1)} ms` });
        }
        for (const d of h.diff) {
          historyRows.push({ store: storeName, system, measure: `diff, ${d.changedChunks} of ${d.chunksInArray} chunks changed`, coldMs: d.coldMs, warmMs: d.warmMs, note: `${d.array}: [${d.shape}] in [${d.chunks}]` });
        }
        const [few, many] = [h.log[0], h.log[h.log.length - 1]];
        if (few && many && few !== many) ratios[`${storeName}: ${system} log ${many.commits}/${few.commits} commits (cold)`] = many.coldMs / few.coldMs;
        const diffOf = (array: string, k: number) => h.diff.find((d) => d.array === array && d.changedChunks === Math.min(k, d.chunksInArray));
        const [k1, kN] = [diffChangedChunks[0], diffChangedChunks[diffChangedChunks.length - 1]];
        const big1 = diffOf("big", k1);
        const bigN = diffOf("big", kN);
        const fine1 = diffOf("fine", k1);
        const fineN = diffOf("fine", kN);
        if (big1 && bigN) ratios[`${storeName}: ${system} diff ${kN}/${k1} changed chunks, ${big1.chunksInArray}-chunk array (cold)`] = bigN.coldMs / big1.coldMs;
        if (fine1 && fineN) ratios[`${storeName}: ${system} diff ${kN}/${k1} changed chunks, ${fine1.chunksInArray}-chunk array (cold)`] = fineN.coldMs / fine1.coldMs;
        if (big1 && fine1) ratios[`${storeName}: ${system} diff of ${k1} changed chunk, ${fine1.chunksInArray}/${big1.chunksInArray}-chunk array (cold)`] = fine1.coldMs / big1.coldMs;
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    settings: {
      quick,
      runs,
      njobs,
      changes,
      shape,
      chunks,
      sizeMiB,
      logCommits,
      diffArrays,
      diffChangedChunks,
      historyRepeats,
      stores: stores.map((s) => s.name),
      cores: availableParallelism(),
      loadAverage: { start: loadAtStart, end: loadavg().map((x) => Number(x.toFixed(2))) },
    },
    rows,
    history: historyRows,
    ratios,
    goals,
    skipped,
    failures,
    runs: rawRuns,
  };
}

const pad = (s: string, n: number) => s.padEnd(n);
const ms = (x: number) => (Number.isNaN(x) ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function printVersioningTables(report: VersioningReport): void {
  const s = report.settings as { shape: number[]; chunks: number[]; sizeMiB: number; runs: number; njobs: number; changes: number; cores: number; loadAverage: { start: number[]; end: number[] } };
  console.log(
    `\nversioning: [${s.shape}] float32 (${s.sizeMiB} MiB) in chunks [${s.chunks}], njobs ${s.njobs}; medians of ${s.runs} runs, ms ` +
      `(load average ${s.loadAverage.start[0]} at the start, ${s.loadAverage.end[0]} at the end, ${s.cores} cores)`,
  );
  console.log(`${pad("store", 8)}${pad("system", 18)}${pad("write(+commit)", 16)}${pad("read", 10)}${pad("1-element change(+commit)", 27)}note`);
  for (const r of report.rows) console.log(`${pad(r.store, 8)}${pad(LABEL[r.system], 18)}${pad(ms(r.writeMs), 16)}${pad(ms(r.readMs), 10)}${pad(ms(r.changeMs), 27)}${r.note}`);
  if (report.history.length > 0) {
    console.log(`\nversioning history: ms, cold = first call on a freshly opened repository, warm = the call again`);
    console.log(`${pad("store", 8)}${pad("system", 18)}${pad("measure", 34)}${pad("cold", 10)}${pad("warm", 10)}note`);
    for (const h of report.history) console.log(`${pad(h.store, 8)}${pad(LABEL[h.system], 18)}${pad(h.measure, 34)}${pad(ms(h.coldMs), 10)}${pad(ms(h.warmMs), 10)}${h.note}`);
  }
  console.log("\nversioning ratios (same run):");
  for (const [name, value] of Object.entries(report.ratios)) {
    const g = report.goals.find((x) => x.ratio === name);
    console.log(`  ${pad(name, 70)} ${value.toFixed(2)}${g ? `   goal ≤ ${g.goal}: ${g.met ? "met" : "NOT met"}` : ""}`);
  }
  for (const line of report.skipped) console.log(`  skipped: ${line}`);
}

export function printVersioningFailures(report: VersioningReport): void {
  if (report.failures.length === 0) return;
  console.error(`\nversioning: FAILED cases:`);
  for (const f of report.failures) console.error(`  ${f}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { flag, option } = commandLine(args);
  const report = await benchVersioning({
    quick: flag("quick"),
    stores: option("stores", "memory,fs,s3").split(","),
    runs: Number(option("runs", "3")),
    njobs: Number(option("njobs", "16")),
    changes: Number(option("changes", "5")),
    history: !flag("no-history"),
  });
  printVersioningTables(report);
  if (flag("json")) {
    const given = option("json", "");
    const out = given && !given.startsWith("--") ? given : join(import.meta.dirname, "results", `versioning-${report.date.replace(/[:.]/g, "-")}.json`);
    mkdirSync(join(out, ".."), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2));
    console.log(`\nresults written to ${out}`);
  }
  printVersioningFailures(report);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
