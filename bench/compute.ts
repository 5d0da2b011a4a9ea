/**
 * What the compute engines give (src/compute/): the same `ds.map(name, out, { engine })` on the
 * engines side by side in one run, on the fs store (a temporary directory):
 *
 *   1. a CPU-bound chunk function ("box3d", a 3×3×3 box mean, bench/compute-functions.mjs) over a
 *      float32 3-D array of 256 MiB ([256,512,512] in 64³ chunks; --quick 64 MiB): engine "local"
 *      vs "threads" (one thread a core) vs a queue with 1 `dosna worker` vs a queue with 2 (each
 *      running --worker-concurrency tasks at once, default 2), each as
 *      a speed-up over local. Every output is checked against the local one (a SHA-256 over its
 *      chunks; the local one against a direct box mean of a few elements): a difference is a failure.
 *   2. the queue's own cost: "noop" over a 2-D array of 4096 chunks of 8×8 float32 on 1 worker
 *      running 8 tasks at once (`--concurrency 8`, as the local engine has 8 chunks in flight), with
 *      taskBytes of one chunk (4096 tasks) and with the default taskBytes (8 MiB: one task of all the
 *      chunks): per-task overhead = (queue ms − local ms) / tasks, and tasks per second. Each queue
 *      run is split with BullMQ's own timestamps into submit (map called → last task queued), run
 *      (first task started → last finished) and tail (→ map returned).
 *
 * Only the map is timed: the workers are started before, wait until Redis lists them, and are warmed
 * up (a small map on every engine); then the cases alternate, `--repeats` times (default 3, --quick
 * 1), and medians are reported. The bench loads dosna's build (dist/, as the workers do; rebuilt when
 * older than src/). Redis: DOSNA_TEST_REDIS_URL (+ DOSNA_TEST_REDIS_PASSWORD) when set, else one
 * started with scripts/redis-start.sh in a temporary directory and stopped at the end; without
 * redis-server the queue cases are skipped (printed). Every worker started is stopped, also on
 * errors and Ctrl-C, and the bench's queues are removed from Redis at the end.
 *
 *   npx tsx bench/compute.ts [--quick] [--size-mib N] [--repeats N] [--tiny-chunks N] [--worker-concurrency N] [--json [FILE]]
 * Also a section of `npm run bench` (bench/run.ts; --no-compute skips it).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import pLimit from "p-limit";
import type * as Dn from "../src/index.js";
import { benchRedis, logSizes, machineBusyMs, processCpuMs, redisCpuMs, removeQueues, startWorkers, taskDurations, taskTimes, type BenchRedis, type WorkerSet } from "./compute-queue.js";
import { commandLine, median } from "./harness.js";
import { smoothFloat32 } from "./spec.js";

export interface ComputeBenchOptions {
  quick: boolean;
  /** MiB of the float32 array of the CPU-bound case (default 256, quick 64). */
  sizeMiB?: number;
  /** Runs of every case (default 3, quick 1); the median is reported. */
  repeats?: number;
  /** Chunks of the overhead case's array (default 4096; a square grid of 8×8 chunks). */
  tinyChunks?: number;
  /** Tasks each worker of the CPU-bound case runs at once (default 2: one task reads and writes while the other computes). */
  workerConcurrency?: number;
}

export interface CpuRow {
  engine: string;
  ms: number;
  speedup: number;
  runs: number[];
  note: string;
}

export interface OverheadRow {
  case: string;
  tasks: number;
  ms: number;
  tasksPerSecond: number;
  overheadMsPerTask: number;
  runs: number[];
  note: string;
}

export interface CallRow {
  engine: string;
  ms: number;
  overLocalMs: number;
  runs: number[];
  note: string;
}

export interface ComputeReport {
  date: string;
  node: string;
  settings: Record<string, unknown>;
  cpu: CpuRow[];
  overhead: OverheadRow[];
  /** A map over a 1-chunk array: what a call costs on each engine besides its chunks. */
  calls: CallRow[];
  ratios: Record<string, number>;
  goals: Array<{ ratio: string; value: number; goal: number; direction: ">=" | "<="; met: boolean }>;
  skipped: string[];
  failures: string[];
  runs: Record<string, unknown>;
}

type EngineSpec = Dn.EngineSpec;
interface Timed {
  ms: number;
  /**
   * CPU time of the run (ms): this process (with its worker threads), the workers, Redis; and what
   * the rest of the machine used meanwhile, in cores (other processes, or the hypervisor's steal).
   */
  cpu: { callerMs: number; workersMs: number; redisMs: number; othersCores: number };
  /** Queue runs: submit / run / tail (ms), tasks, hosts that ran tasks, in-worker task ms (median). */
  queue?: { submitMs: number; runMs: number; tailMs: number; tasks: number; hosts: number; workerTaskMs?: number };
}

const CPU_CHUNK = 64;
const TINY_CHUNK = 8;

/** The repository: the folder above this file's holding package.json (this file also runs compiled, from .bench-build/bench). */
function findRepoRoot(): string {
  let dir = resolve(import.meta.dirname, "..");
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** dist/ is what `dosna worker` runs: build it when it is missing or older than src/. */
function ensureBuilt(repoRoot: string): void {
  const built = join(repoRoot, "dist/index.js");
  const cli = join(repoRoot, "dist/cli/main.js");
  if (existsSync(built) && existsSync(cli) && statSync(built).mtimeMs >= newestMtime(join(repoRoot, "src"))) return;
  console.log("== compute: building dist/ (missing or older than src/): npm run build");
  execFileSync(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", join(repoRoot, "tsconfig.build.json")], { stdio: "inherit" });
}

/** SHA-256 over every chunk of `ds` (its decoded bytes, C order of the grid; "absent" for one not stored). */
async function checksum(ds: Dn.Dataset): Promise<string> {
  const grids = [...ds.iterChunks()].map((c) => c.gridIndex);
  const digests: string[] = new Array(grids.length);
  const limit = pLimit(16);
  await Promise.all(
    grids.map((grid, i) =>
      limit(async () => {
        const data = await ds.readChunk(grid);
        digests[i] = data ? createHash("sha256").update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest("hex") : "absent";
      }),
    ),
  );
  return createHash("sha256").update(digests.join(",")).digest("hex");
}

/** The box mean of a few elements of chunk `grid` of `input`, computed here, against `output`'s: a message when they differ. */
async function checkBoxMean(input: Dn.Dataset, output: Dn.Dataset, grid: number[]): Promise<string | undefined> {
  const shape = input.chunks.map((c, a) => Math.min(c, input.shape[a] - grid[a] * c));
  const src = (await input.readChunk(grid)) as Float32Array;
  const out = (await output.readChunk(grid)) as Float32Array | undefined;
  if (!out) return `chunk [${grid}] of the local output is not stored`;
  const [n0, n1, n2] = shape;
  const at = (i: number, j: number, k: number) => (i * n1 + j) * n2 + k;
  const points = [
    [0, 0, 0],
    [1, 1, 1],
    [n0 - 1, n1 - 1, n2 - 1],
    [Math.floor(n0 / 2), Math.floor(n1 / 3), Math.floor(n2 / 5)],
    [n0 - 1, 0, Math.floor(n2 / 2)],
  ];
  for (const [i, j, k] of points) {
    let sum = 0;
    let n = 0;
    for (let a = Math.max(0, i - 1); a <= Math.min(n0 - 1, i + 1); a++)
      for (let b = Math.max(0, j - 1); b <= Math.min(n1 - 1, j + 1); b++)
        for (let c = Math.max(0, k - 1); c <= Math.min(n2 - 1, k + 1); c++) {
          sum += src[at(a, b, c)];
          n++;
        }
    const want = sum / n;
    const got = out[at(i, j, k)];
    if (!(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)))) return `element (${i},${j},${k}) of chunk [${grid}] is ${got}, the 3×3×3 mean is ${want}`;
  }
  return undefined;
}

/** A queue engine spec with the options the bench always passes. */
function queueEngine(redis: BenchRedis, workers: WorkerSet, taskBytes?: number): EngineSpec {
  return { queue: redis.url, name: workers.queue, waitForWorkers: 30_000, ...(taskBytes ? { taskBytes } : {}) };
}

export async function benchCompute(options: ComputeBenchOptions): Promise<ComputeReport> {
  const quick = options.quick;
  const sizeMiB = options.sizeMiB ?? (quick ? 64 : 256);
  const repeats = options.repeats ?? (quick ? 1 : 3);
  const tinyChunks = options.tinyChunks ?? 4096;
  const cpuConcurrency = options.workerConcurrency ?? 2;
  const repoRoot = findRepoRoot();
  const functionsModule = join(repoRoot, "bench/compute-functions.mjs");
  const cores = availableParallelism();
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  // One 512×512 float32 plane is 1 MiB: the array is sizeMiB planes deep.
  const shape = [Math.max(1, Math.round(sizeMiB)), 512, 512];
  const chunks = [CPU_CHUNK, CPU_CHUNK, CPU_CHUNK];
  const side = Math.max(1, Math.round(Math.sqrt(tinyChunks)));
  const tinyShape = [side * TINY_CHUNK, side * TINY_CHUNK];
  const tinyChunkBytes = TINY_CHUNK * TINY_CHUNK * 4;

  const cpu: CpuRow[] = [];
  const overhead: OverheadRow[] = [];
  const callRows: CallRow[] = [];
  const ratios: Record<string, number> = {};
  const goals: ComputeReport["goals"] = [];
  const skipped: string[] = [];
  const failures: string[] = [];
  const rawRuns: Record<string, unknown> = {};
  const goal = (name: string, value: number, limit: number, direction: ">=" | "<=") => {
    ratios[name] = value;
    goals.push({ ratio: name, value, goal: limit, direction, met: direction === ">=" ? value >= limit : value <= limit });
  };
  const settings = {
    quick,
    repeats,
    sizeMiB: (shape.reduce((a, b) => a * b, 1) * 4) / 2 ** 20,
    shape,
    chunks,
    tinyShape,
    tinyChunks: [TINY_CHUNK, TINY_CHUNK],
    cores,
    workerConcurrency: cpuConcurrency,
    redis: "none" as string,
    loadAverage: { start: loadAtStart, end: [] as number[] },
  };
  const report = (): ComputeReport => {
    settings.loadAverage.end = loadavg().map((x) => Number(x.toFixed(2)));
    return { date: new Date().toISOString(), node: process.version, settings, cpu, overhead, calls: callRows, ratios, goals, skipped, failures, runs: rawRuns };
  };

  try {
    ensureBuilt(repoRoot);
  } catch (error) {
    failures.push(`building dist/: ${(error as Error).message.split("\n")[0]}`);
    return report();
  }
  // The build, as the workers run it (one copy of dosna in this process, the one the functions module registers with).
  const dn = (await import(pathToFileURL(join(repoRoot, "dist/index.js")).href)) as typeof Dn;
  await dn.loadFunctions(functionsModule);

  const workDir = mkdtempSync(join(tmpdir(), "dosna-compute-bench-"));
  const logDir = join(workDir, "logs");
  mkdirSync(logDir);
  const prefix = `bench-${process.pid}-${Date.now().toString(36)}`;
  const queues: string[] = [];
  const running = new Set<WorkerSet>();
  let redis: BenchRedis | undefined;
  const cluster = new dn.Cluster({ backend: "fs", root: join(workDir, "fs") });
  // Ctrl-C / SIGTERM: stop what this bench started (the workers are also killed on exit) before going.
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\ncompute bench: ${signal}: stopping its workers and Redis`);
    redis?.stop();
    rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const workers = async (name: string, count: number, concurrency: number): Promise<WorkerSet> => {
    const queue = `${prefix}-${name}`;
    queues.push(queue);
    const set = await startWorkers({ repoRoot, redisUrl: redis!.url, queue, count, concurrency, functions: functionsModule, logDir });
    running.add(set);
    return set;
  };
  const stopWorkers = async (set: WorkerSet | undefined) => {
    if (!set || !running.has(set)) return;
    running.delete(set);
    await set.stop();
  };

  /** One timed map (only the map); for a queue engine also where its time went. */
  const timedMap = async (ds: Dn.Dataset, fn: string, out: string, engine: EngineSpec, set?: WorkerSet): Promise<{ out: Dn.Dataset; timed: Timed }> => {
    const logsBefore = set ? logSizes(set.logs) : [];
    const workersCpu = () => (set ? set.pids.reduce((sum, pid) => sum + processCpuMs(pid), 0) : 0);
    const callerCpu = () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    const [redis0, workers0, busy0, caller0] = [redis ? await redisCpuMs(redis.url) : 0, workersCpu(), machineBusyMs(), callerCpu()];
    const t0 = Date.now();
    const start = performance.now();
    const result = await ds.map(fn, out, { engine });
    const ms = performance.now() - start;
    const t1 = Date.now();
    const [caller1, busy1, workers1] = [callerCpu(), machineBusyMs(), workersCpu()];
    const redisMs = redis ? (await redisCpuMs(redis.url)) - redis0 : 0;
    const cpu = { callerMs: caller1 - caller0, workersMs: workers1 - workers0, redisMs, othersCores: 0 };
    cpu.othersCores = Math.max(0, busy1 - busy0 - cpu.callerMs - cpu.workersMs - cpu.redisMs) / ms;
    const timed: Timed = { ms, cpu };
    if (set && typeof engine === "object" && "queue" in engine) {
      const { jobs } = await dn.listJobs(engine.queue, { name: engine.name, limit: 1 });
      const job = jobs[0];
      const times = job && (await taskTimes(engine.queue, engine.name!, job.id, job.tasks));
      const inWorker = taskDurations(set.logs, logsBefore);
      if (job && times) {
        timed.queue = {
          submitMs: times.lastAdded - t0,
          runMs: times.lastEnd - times.firstStart,
          tailMs: t1 - times.lastEnd,
          tasks: job.tasks,
          hosts: job.hosts.length,
          workerTaskMs: inWorker.length > 0 ? median(inWorker) : undefined,
        };
      }
    }
    return { out: result, timed };
  };

  try {
    await cluster.connect();
    const pool = await cluster.createPool("compute");

    const found = await benchRedis(repoRoot);
    if (typeof found === "string") skipped.push(`queue cases: ${found}`);
    else {
      redis = found;
      settings.redis = `${redis.shown} (${redis.origin})`;
    }

    // 1. CPU-bound: box3d on every engine.
    console.log(`== compute: box3d over [${shape}] float32 (${settings.sizeMiB} MiB) in ${CPU_CHUNK}³ chunks on fs; ${repeats} run${repeats === 1 ? "" : "s"} of local / threads${redis ? " / queue ×1 / queue ×2" : ""}`);
    const vol = await pool.createDataset("vol", { shape, dtype: "float32", chunks });
    await vol.set(undefined, smoothFloat32(shape));
    const warm = await pool.createDataset("warm", { shape: [2 * CPU_CHUNK, 2 * CPU_CHUNK, 2 * CPU_CHUNK], dtype: "float32", chunks });
    await warm.set(undefined, smoothFloat32(warm.shape));
    let one: WorkerSet | undefined;
    let two: WorkerSet | undefined;
    try {
      const engines: Array<{ label: string; engine: EngineSpec; warmEngine: EngineSpec; set?: WorkerSet }> = [
        { label: "local", engine: "local", warmEngine: "local" },
        { label: `threads (${cores})`, engine: "threads", warmEngine: "threads" },
      ];
      if (redis) {
        one = await workers("cpu1", 1, cpuConcurrency);
        two = await workers("cpu2", 2, cpuConcurrency);
        // Warm-up with one chunk per task, so that both workers of the pair get some.
        engines.push({ label: "queue, 1 worker", engine: queueEngine(redis, one), warmEngine: queueEngine(redis, one, 4 * 2 ** 20), set: one });
        engines.push({ label: "queue, 2 workers", engine: queueEngine(redis, two), warmEngine: queueEngine(redis, two, 2 ** 20), set: two });
      }
      for (const e of engines) await (await warm.map("box3d", `warm-${e.label.replace(/\W+/g, "-")}`, { engine: e.warmEngine })).delete();

      const trials: Record<string, Timed[]> = Object.fromEntries(engines.map((e) => [e.label, []]));
      let reference: string | undefined;
      for (let r = 0; r < repeats; r++) {
        for (const e of engines) {
          const name = `box-${e.label.replace(/\W+/g, "-")}-${r}`;
          try {
            const { out, timed } = await timedMap(vol, "box3d", name, e.engine, e.set);
            trials[e.label].push(timed);
            const sum = await checksum(out);
            if (e.label === "local" && reference === undefined) {
              reference = sum;
              for (const grid of [[0, 0, 0], vol.chunkGrid.map((g) => g - 1)]) {
                const wrong = await checkBoxMean(vol, out, grid);
                if (wrong) failures.push(`box3d, local: not a 3×3×3 box mean: ${wrong}`);
              }
            } else if (sum !== reference) {
              failures.push(`box3d, ${e.label} (run ${r + 1}): the output differs from the local engine's (SHA-256 ${sum.slice(0, 12)}… vs ${reference?.slice(0, 12)}…)`);
            }
            await out.delete();
          } catch (error) {
            failures.push(`box3d, ${e.label} (run ${r + 1}): ${(error as Error).message.split("\n")[0]}`);
          }
        }
      }
      rawRuns.cpu = trials;
      const localMs = trials.local.length > 0 ? median(trials.local.map((t) => t.ms)) : NaN;
      for (const e of engines) {
        const runs = trials[e.label];
        if (runs.length === 0) continue;
        const ms = median(runs.map((t) => t.ms));
        const chosen = runs.find((t) => t.ms === ms)!;
        const q = chosen.queue;
        const note = q
          ? `${q.tasks} tasks; submit ${q.submitMs.toFixed(0)} ms, tasks ${q.runMs.toFixed(0)} ms, tail ${q.tailMs.toFixed(0)} ms; ${q.hosts} worker${q.hosts === 1 ? "" : "s"} ran tasks` +
            (q.workerTaskMs !== undefined ? `; ${q.workerTaskMs.toFixed(0)} ms a task in the worker` : "")
          : "";
        cpu.push({ engine: e.label, ms, speedup: localMs / ms, runs: runs.map((t) => t.ms), note });
        if (e.label !== "local") {
          const label = `fs: box3d speed-up, ${e.label.replace(/ \(\d+\)/, "")} / local`;
          if (e.label === "queue, 2 workers") goal(label, localMs / ms, 1.7, ">=");
          else ratios[label] = localMs / ms;
        }
      }
    } finally {
      await stopWorkers(one);
      await stopWorkers(two);
    }

    // 2. The queue's overhead: noop over many tiny chunks.
    if (redis) {
      const tasks = side * side;
      console.log(`== compute: queue overhead, noop over [${tinyShape}] float32 in ${TINY_CHUNK}×${TINY_CHUNK} chunks (${tasks} chunks of ${tinyChunkBytes} B); 1 worker --concurrency 8`);
      const tiny = await pool.createDataset("tiny", { shape: tinyShape, dtype: "float32", chunks: [TINY_CHUNK, TINY_CHUNK] });
      await tiny.set(undefined, smoothFloat32([1, ...tinyShape]));
      const tinyWarm = await pool.createDataset("tiny-warm", { shape: [8 * TINY_CHUNK, 8 * TINY_CHUNK], dtype: "float32", chunks: [TINY_CHUNK, TINY_CHUNK] });
      await tinyWarm.set(undefined, smoothFloat32([1, 8 * TINY_CHUNK, 8 * TINY_CHUNK]));
      const input = await checksum(tiny);
      let w: WorkerSet | undefined;
      try {
        w = await workers("tiny", 1, 8);
        const cases: Array<{ label: string; engine: EngineSpec; tasks: number; set?: WorkerSet }> = [
          { label: "local", engine: "local", tasks: 0 },
          { label: "queue, 1 chunk a task", engine: queueEngine(redis, w, tinyChunkBytes), tasks, set: w },
          { label: "queue, default taskBytes", engine: queueEngine(redis, w), tasks: Math.ceil((tasks * tinyChunkBytes) / (8 * 2 ** 20)), set: w },
        ];
        for (const c of cases) await (await tinyWarm.map("noop", `warm-${c.label.replace(/\W+/g, "-")}`, { engine: c.engine })).delete();
        const trials: Record<string, Timed[]> = Object.fromEntries(cases.map((c) => [c.label, []]));
        for (let r = 0; r < repeats; r++) {
          for (const c of cases) {
            try {
              const { out, timed } = await timedMap(tiny, "noop", `noop-${c.label.replace(/\W+/g, "-")}-${r}`, c.engine, c.set);
              trials[c.label].push(timed);
              if ((await checksum(out)) !== input) failures.push(`noop, ${c.label} (run ${r + 1}): the output differs from the input`);
              await out.delete();
            } catch (error) {
              failures.push(`noop, ${c.label} (run ${r + 1}): ${(error as Error).message.split("\n")[0]}`);
            }
          }
        }
        rawRuns.overhead = trials;
        const localMs = trials.local.length > 0 ? median(trials.local.map((t) => t.ms)) : NaN;
        for (const c of cases) {
          const runs = trials[c.label];
          if (runs.length === 0) continue;
          const ms = median(runs.map((t) => t.ms));
          const chosen = runs.find((t) => t.ms === ms)!;
          const q = chosen.queue;
          const n = q?.tasks ?? c.tasks;
          const perTask = c.label === "local" ? NaN : (ms - localMs) / n;
          const note = q
            ? `submit ${q.submitMs.toFixed(0)} ms, tasks ${q.runMs.toFixed(0)} ms, tail ${q.tailMs.toFixed(0)} ms` +
              (q.workerTaskMs !== undefined ? `; ${q.workerTaskMs.toFixed(1)} ms a task in the worker` : "") +
              (n === 1 ? `; ${(((ms - localMs) / tasks) * 1000).toFixed(0)} µs a chunk over local` : "")
            : `${((ms / tasks) * 1000).toFixed(0)} µs a chunk`;
          overhead.push({ case: c.label, tasks: c.label === "local" ? 0 : n, ms, tasksPerSecond: c.label === "local" ? NaN : n / (ms / 1000), overheadMsPerTask: perTask, runs: runs.map((t) => t.ms), note });
          if (c.label === "queue, 1 chunk a task") {
            goal(`fs: queue overhead ms a task (noop, 1 chunk a task, 1 worker ×8)`, perTask, 3, "<=");
            ratios[`fs: queue tasks/s (noop, 1 chunk a task, 1 worker ×8)`] = n / (ms / 1000);
          }
          if (c.label === "queue, default taskBytes") ratios[`fs: queue / local time (noop, default taskBytes, ${n} task${n === 1 ? "" : "s"})`] = ms / localMs;
        }

        // The fixed cost of one call: a map over a 1-chunk array on every engine.
        const single = await pool.createDataset("single", { shape: [TINY_CHUNK, TINY_CHUNK], dtype: "float32", chunks: [TINY_CHUNK, TINY_CHUNK] });
        await single.set(undefined, smoothFloat32([1, TINY_CHUNK, TINY_CHUNK]));
        const singleInput = await checksum(single);
        const calls: Array<{ label: string; engine: EngineSpec; set?: WorkerSet }> = [
          { label: "local", engine: "local" },
          { label: `threads (${cores})`, engine: "threads" },
          { label: "queue", engine: queueEngine(redis, w), set: w },
        ];
        const callTrials: Record<string, Timed[]> = Object.fromEntries(calls.map((c) => [c.label, []]));
        for (let r = 0; r < Math.max(3, repeats * 3); r++) {
          for (const c of calls) {
            try {
              const { out, timed } = await timedMap(single, "noop", `call-${c.label.replace(/\W+/g, "-")}-${r}`, c.engine, c.set);
              callTrials[c.label].push(timed);
              if ((await checksum(out)) !== singleInput) failures.push(`noop on 1 chunk, ${c.label} (run ${r + 1}): the output differs from the input`);
              await out.delete();
            } catch (error) {
              failures.push(`noop on 1 chunk, ${c.label} (run ${r + 1}): ${(error as Error).message.split("\n")[0]}`);
            }
          }
        }
        rawRuns.call = callTrials;
        const localCall = callTrials.local.length > 0 ? median(callTrials.local.map((t) => t.ms)) : NaN;
        for (const c of calls) {
          const runs = callTrials[c.label];
          if (runs.length === 0) continue;
          const ms = median(runs.map((t) => t.ms));
          const q = runs.find((t) => t.ms === ms)!.queue;
          const note = q ? `submit ${q.submitMs.toFixed(0)} ms, task ${q.runMs.toFixed(0)} ms, tail ${q.tailMs.toFixed(0)} ms (medians: submit ${median(runs.map((t) => t.queue?.submitMs ?? NaN)).toFixed(0)}, tail ${median(runs.map((t) => t.queue?.tailMs ?? NaN)).toFixed(0)})` : "";
          callRows.push({ engine: c.label, ms, overLocalMs: c.label === "local" ? NaN : ms - localCall, runs: runs.map((t) => t.ms), note });
          if (c.label !== "local") ratios[`fs: fixed cost of a map call, ${c.label.replace(/ \(\d+\)/, "")} − local (ms)`] = ms - localCall;
        }
      } finally {
        await stopWorkers(w);
      }
    } else {
      skipped.push("queue overhead: no Redis");
    }
  } catch (error) {
    failures.push(`compute bench: ${(error as Error).message.split("\n")[0]}`);
  } finally {
    for (const set of [...running]) await stopWorkers(set);
    if (redis) {
      await removeQueues(redis.url, queues).catch((error) => console.error(`compute bench: could not remove its queues from Redis: ${(error as Error).message}`));
      redis.stop();
    }
    await cluster.disconnect().catch(() => undefined);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(workDir, { recursive: true, force: true });
  }
  return report();
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number, digits = 0) => (Number.isNaN(x) ? "-" : x.toFixed(digits));

export function printComputeTables(report: ComputeReport): void {
  const s = report.settings as { shape: number[]; chunks: number[]; sizeMiB: number; repeats: number; tinyShape: number[]; tinyChunks: number[]; cores: number; workerConcurrency: number; redis: string; loadAverage: { start: number[]; end: number[] } };
  const runs = `median of ${s.repeats} run${s.repeats === 1 ? "" : "s"}, alternating`;
  console.log(
    `\ncompute: box3d (3×3×3 box mean) over [${s.shape}] float32 (${s.sizeMiB} MiB) in [${s.chunks}] chunks on fs; ${runs}; ${s.cores} cores ` +
      `(load average ${s.loadAverage.start[0]} at the start, ${s.loadAverage.end[0]} at the end); workers run ${s.workerConcurrency} tasks at once; Redis ${s.redis}`,
  );
  console.log(`${pad("engine", 20)}${pad("ms", 9)}${pad("speed-up vs local", 19)}${pad("runs (ms)", 22)}note`);
  for (const r of report.cpu) console.log(`${pad(r.engine, 20)}${pad(num(r.ms), 9)}${pad(`${num(r.speedup, 2)}×`, 19)}${pad(r.runs.map((x) => num(x)).join("/"), 22)}${r.note}`);
  if (report.overhead.length > 0) {
    console.log(`\ncompute overhead: noop over [${s.tinyShape}] float32 in [${s.tinyChunks}] chunks on fs; 1 worker --concurrency 8; ${runs}`);
    console.log(`${pad("case", 27)}${pad("tasks", 7)}${pad("ms", 8)}${pad("tasks/s", 9)}${pad("ms/task over local", 20)}${pad("runs (ms)", 20)}note`);
    for (const r of report.overhead) {
      console.log(`${pad(r.case, 27)}${pad(r.tasks ? String(r.tasks) : "-", 7)}${pad(num(r.ms), 8)}${pad(num(r.tasksPerSecond), 9)}${pad(num(r.overheadMsPerTask, 2), 20)}${pad(r.runs.map((x) => num(x)).join("/"), 20)}${r.note}`);
    }
  }
  if (report.calls.length > 0) {
    console.log(`\ncompute: fixed cost of one map call (noop over a 1-chunk [${s.tinyChunks}] array); median of ${Math.max(3, s.repeats * 3)} runs, alternating`);
    console.log(`${pad("engine", 20)}${pad("ms", 9)}${pad("over local (ms)", 17)}${pad("runs (ms)", 34)}note`);
    for (const r of report.calls) console.log(`${pad(r.engine, 20)}${pad(num(r.ms, 1), 9)}${pad(num(r.overLocalMs, 1), 17)}${pad(r.runs.map((x) => num(x)).join("/"), 34)}${r.note}`);
  }
  console.log("\ncompute ratios (same run):");
  for (const [name, value] of Object.entries(report.ratios)) {
    const g = report.goals.find((x) => x.ratio === name);
    console.log(`  ${pad(name, 70)} ${value.toFixed(2)}${g ? `   goal ${g.direction === ">=" ? "≥" : "≤"} ${g.goal}: ${g.met ? "met" : "NOT met"}` : ""}`);
  }
  for (const line of report.skipped) console.log(`  skipped: ${line}`);
}

export function printComputeFailures(report: ComputeReport): void {
  if (report.failures.length === 0) return;
  console.error(`\ncompute: FAILED:`);
  for (const f of report.failures) console.error(`  ${f}`);
}

async function main(): Promise<void> {
  const { flag, option } = commandLine(process.argv.slice(2));
  const quick = flag("quick");
  const report = await benchCompute({
    quick,
    sizeMiB: Number(option("size-mib", quick ? "64" : "256")),
    repeats: Number(option("repeats", quick ? "1" : "3")),
    tinyChunks: Number(option("tiny-chunks", "4096")),
    workerConcurrency: Number(option("worker-concurrency", "2")),
  });
  printComputeTables(report);
  if (flag("json")) {
    const given = option("json", "");
    const out = given && !given.startsWith("--") ? given : join(import.meta.dirname, "results", `compute-${report.date.replace(/[:.]/g, "-")}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2));
    console.log(`\nresults written to ${out}`);
  }
  printComputeFailures(report);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
