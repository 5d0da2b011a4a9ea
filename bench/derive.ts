/**
 * What a derivation costs (src/compute/derive.ts): 10,000 frames of 32×32 float32 (--quick 2,000)
 * in chunks of one frame, on the fs store (a temporary directory; --store memory), derived into
 * per-frame statistics ([n, 2]: sum and max) with `pool.derive`. Reported, side by side:
 *
 *   derive               the whole output computed (block 0 checked first, then every block)
 *   map, same function   the same computation as a plain `ds.map` of a chunk function into a new
 *                        array (which writes whole frames, derive only the [1, 2] rows)
 *   one frame written    `set` of one frame on the input with the derivation: requests by kind
 *                        (counted by a Store decorator) and blocks recomputed (function calls),
 *                        and its time against the same `set` on an input without derivations
 *
 * Each timed case runs --repeats times (default 5, quick 3), medians reported.
 *
 *   npx tsx bench/derive.ts [--quick] [--frames N] [--repeats N] [--store fs|memory] [--json [FILE]]
 * Also a section of `npm run bench` (bench/run.ts; --no-derive skips it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { NdArray } from "ndarray";
import * as dn from "../src/index.js";
import { commandLine, median } from "./harness.js";

export interface DeriveBenchOptions {
  quick: boolean;
  frames?: number;
  repeats?: number;
  store?: "fs" | "memory";
}

export interface DeriveReport {
  date: string;
  frames: number;
  frameShape: number[];
  store: string;
  repeats: number;
  deriveMs: number;
  mapMs: number;
  /** derive ms / map ms. */
  deriveOverMap: number;
  oneFrame: { requests: Record<string, number>; blocksRecomputed: number; ms: number; plainMs: number; overPlain: number };
  failures: string[];
}

const SIDE = 32;

/** A Store decorator counting requests by operation. */
function countingStore(inner: dn.Store): { store: dn.Store; counts: Record<string, number>; reset(): void } {
  const counts: Record<string, number> = {};
  const counted = new Set(["get", "getVersioned", "set", "delete", "deleteMany", "list", "listDir"]);
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== "string" || !counted.has(property) || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (...args: unknown[]) => {
        counts[property] = (counts[property] ?? 0) + 1;
        const t = performance.now();
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (process.env.DOSNA_BENCH_TRACE && result instanceof Promise) void result.finally(() => console.log(`  ${property} ${String(args[0]).slice(0, 60)} ${(performance.now() - t).toFixed(1)} ms`));
        if (process.env.DOSNA_BENCH_TRACE && result && typeof result === "object" && Symbol.asyncIterator in (result as object)) {
          const inner = result as AsyncIterable<unknown>;
          return (async function* () {
            let n = 0;
            for await (const item of inner) {
              n++;
              yield item;
            }
            console.log(`  ${property} ${String(args[0]).slice(0, 60)} ${n} keys ${(performance.now() - t).toFixed(1)} ms`);
          })();
        }
        return result;
      };
    },
  });
  return { store, counts, reset: () => Object.keys(counts).forEach((k) => delete counts[k]) };
}

let calls = 0;
function frameStats(rows: NdArray<dn.TypedArray>): Float32Array {
  calls++;
  const r = rows.shape[0];
  const per = rows.size / Math.max(1, r);
  const out = new Float32Array(r * 2);
  for (let i = 0; i < r; i++) {
    let sum = 0;
    let max = -Infinity;
    for (let j = 0; j < per; j++) {
      const v = rows.data[i * per + j] as number;
      sum += v;
      if (v > max) max = v;
    }
    out[2 * i] = sum;
    out[2 * i + 1] = max;
  }
  return out;
}

export async function benchDerive(options: DeriveBenchOptions): Promise<DeriveReport> {
  const frames = options.frames ?? (options.quick ? 2000 : 10_000);
  const repeats = options.repeats ?? (options.quick ? 3 : 5);
  const storeKind = options.store ?? "fs";
  const failures: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "dosna-derive-bench-"));
  if (!dn.registeredFunctionNames().includes("benchFrameStats")) dn.registerFunction("benchFrameStats", frameStats);
  const inner = storeKind === "fs" ? new dn.FileSystemStore(join(dir, "pool")) : new dn.MemoryStore();
  const counting = countingStore(inner);
  const pool = await dn.Pool.initialise(counting.store, { name: "derive-bench" });
  const report: DeriveReport = {
    date: new Date().toISOString(),
    frames,
    frameShape: [SIDE, SIDE],
    store: storeKind,
    repeats,
    deriveMs: NaN,
    mapMs: NaN,
    deriveOverMap: NaN,
    oneFrame: { requests: {}, blocksRecomputed: NaN, ms: NaN, plainMs: NaN, overPlain: NaN },
    failures,
  };
  try {
    const values = Float32Array.from({ length: frames * SIDE * SIDE }, (_, i) => (i * 2654435761) % 1000);
    const make = async (name: string) => {
      const ds = await pool.createDataset(name, { shape: [frames, SIDE, SIDE], dtype: "float32", chunks: [1, SIDE, SIDE] });
      await ds.set(undefined, values);
      return ds;
    };
    const input = await make("frames");
    const plain = await make("plain");
    console.log(`== derive: ${frames} frames of ${SIDE}×${SIDE} float32 in chunks of one frame on ${storeKind}; ${repeats} runs a case`);
    const deriveRuns: number[] = [];
    const mapRuns: number[] = [];
    for (let r = 0; r < repeats; r++) {
      let t = performance.now();
      const out = await pool.derive({ from: "frames", fn: "benchFrameStats", to: `stats${r}`, rowShape: [2], engine: "local" });
      deriveRuns.push(performance.now() - t);
      if (r > 0) {
        await input.removeDerivation(`/stats${r}`);
        await out.delete();
      }
      t = performance.now();
      // The same computation as a chunk function (a map keeps the chunk's shape, so it writes whole frames).
      const mapped = await plain.map((chunk: NdArray<dn.TypedArray>) => (frameStats(chunk), chunk), `mapped${r}`, { engine: "local" });
      mapRuns.push(performance.now() - t);
      await mapped.delete();
    }
    report.deriveMs = median(deriveRuns);
    report.mapMs = median(mapRuns);
    report.deriveOverMap = report.deriveMs / report.mapMs;

    const frame = new Float32Array(SIDE * SIDE).fill(7);
    const oneRuns: number[] = [];
    const plainRuns: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const row = (r * 7919) % frames;
      counting.reset();
      const before = calls;
      let t = performance.now();
      await input.set([row], frame);
      oneRuns.push(performance.now() - t);
      if (r === 0) {
        report.oneFrame.requests = { ...counting.counts };
        report.oneFrame.blocksRecomputed = calls - before;
      }
      t = performance.now();
      await plain.set([row], frame);
      plainRuns.push(performance.now() - t);
    }
    report.oneFrame.ms = median(oneRuns);
    report.oneFrame.plainMs = median(plainRuns);
    report.oneFrame.overPlain = report.oneFrame.ms / report.oneFrame.plainMs;
    const stats = await pool.getDataset("stats0");
    const got = (await stats.get([(repeats - 1) * 7919 % frames])).data as Float32Array;
    if (got[0] !== 7 * SIDE * SIDE || got[1] !== 7) failures.push(`derive: the recomputed statistics of the written frame are [${[...got]}], expected [${7 * SIDE * SIDE}, 7]`);
    if (report.oneFrame.blocksRecomputed !== 1) failures.push(`derive: one written frame recomputed ${report.oneFrame.blocksRecomputed} blocks, expected 1`);
  } catch (error) {
    failures.push(`derive bench: ${(error as Error).message.split("\n")[0]}`);
  } finally {
    dn.unregisterFunction("benchFrameStats");
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

export function printDeriveTable(r: DeriveReport): void {
  console.log(`\nderive: ${r.frames} frames of [${r.frameShape}] float32 on ${r.store}, chunks of one frame; medians of ${r.repeats}`);
  console.log(`  derive (all ${r.frames} blocks)            ${r.deriveMs.toFixed(0)} ms   (a plain map of the same chunks: ${r.mapMs.toFixed(0)} ms; derive / map ${r.deriveOverMap.toFixed(2)})`);
  const requests = Object.entries(r.oneFrame.requests).map(([op, n]) => `${n} ${op}`).join(", ");
  console.log(`  one frame written                 ${r.oneFrame.ms.toFixed(1)} ms   (${r.oneFrame.blocksRecomputed} block recomputed; requests: ${requests}; the same set without derivations ${r.oneFrame.plainMs.toFixed(1)} ms, ratio ${r.oneFrame.overPlain.toFixed(2)})`);
  for (const f of r.failures) console.error(`  FAILED: ${f}`);
}

async function main(): Promise<void> {
  const { flag, option } = commandLine(process.argv.slice(2));
  const quick = flag("quick");
  const report = await benchDerive({ quick, frames: option("frames", "") ? Number(option("frames", "")) : undefined, repeats: option("repeats", "") ? Number(option("repeats", "")) : undefined, store: option("store", "fs") as "fs" | "memory" });
  printDeriveTable(report);
  if (flag("json")) {
    const given = option("json", "");
    const out = given && !given.startsWith("--") ? given : join(import.meta.dirname, "results", `derive-${report.date.replace(/[:.]/g, "-")}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2));
    console.log(`\nresults written to ${out}`);
  }
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
