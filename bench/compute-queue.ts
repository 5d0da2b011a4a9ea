/**
 * The queue side of the compute bench (bench/compute.ts): a Redis (DOSNA_TEST_REDIS_URL when set,
 * else one of scripts/redis-start.sh in a temporary directory, stopped afterwards), `dosna worker`
 * processes of the built CLI (started, waited for until they advertise themselves, stopped with
 * SIGTERM, killed if they linger, also when the bench fails or is interrupted), their per-task log
 * lines, and the removal of the bench's queues from Redis at the end.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";

export interface BenchRedis {
  url: string;
  /** The URL with any password masked. */
  shown: string;
  /** How it was found: "DOSNA_TEST_REDIS_URL" or "started by the bench on port N". */
  origin: string;
  stop(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(a Redis URL)";
  }
}

/** The Redis of the bench, or a sentence saying why the queue cases cannot run. */
export async function benchRedis(repoRoot: string): Promise<BenchRedis | string> {
  const given = process.env.DOSNA_TEST_REDIS_URL;
  if (given) {
    let url = given;
    const password = process.env.DOSNA_TEST_REDIS_PASSWORD;
    if (password) {
      const parsed = new URL(given);
      if (!parsed.password) {
        parsed.password = password;
        url = parsed.toString();
      }
    }
    return { url, shown: redact(url), origin: "DOSNA_TEST_REDIS_URL", stop: () => undefined };
  }
  if (!onPath("redis-server") || !onPath("redis-cli")) {
    return "redis-server is not installed (apt-get install redis-server, or set DOSNA_TEST_REDIS_URL)";
  }
  const dir = mkdtempSync(join(tmpdir(), "dosna-compute-redis-"));
  const port = await freePort();
  let out: string;
  try {
    out = execFileSync("bash", [join(repoRoot, "scripts/redis-start.sh"), dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DOSNA_REDIS_PORT: String(port), DOSNA_REDIS_PASSWORD: "" },
    });
  } catch (error) {
    stopRedis(repoRoot, dir);
    const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n").slice(-3).join(" / ");
    return `scripts/redis-start.sh failed: ${stderr || (error as Error).message}`;
  }
  const url = /DOSNA_TEST_REDIS_URL=(\S+)/.exec(out)?.[1];
  if (!url) {
    stopRedis(repoRoot, dir);
    return `scripts/redis-start.sh printed no DOSNA_TEST_REDIS_URL`;
  }
  let stopped = false;
  return {
    url,
    shown: redact(url),
    origin: `started by the bench (scripts/redis-start.sh ${dir})`,
    stop: () => {
      if (stopped) return;
      stopped = true;
      stopRedis(repoRoot, dir);
    },
  };
}

function stopRedis(repoRoot: string, dir: string): void {
  try {
    execFileSync("bash", [join(repoRoot, "scripts/redis-stop.sh"), dir], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    console.error(`compute bench: scripts/redis-stop.sh ${dir} failed: ${(error as Error).message.split("\n")[0]}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every worker process this bench started and has not yet seen exit (killed on the way out, whatever happens). */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface WorkerSet {
  queue: string;
  count: number;
  concurrency: number;
  logs: string[];
  pids: number[];
  stop(): Promise<void>;
}

export interface WorkerSetOptions {
  repoRoot: string;
  redisUrl: string;
  queue: string;
  count: number;
  concurrency: number;
  functions: string;
  logDir: string;
  /** Chunk requests in flight per task in the workers (DOSNA_NJOBS). */
  njobs?: number;
  readyTimeoutMs?: number;
}

/** Start `count` `dosna worker` processes on `queue` and wait until Redis lists all of them as live. */
export async function startWorkers(options: WorkerSetOptions): Promise<WorkerSet> {
  const cli = join(options.repoRoot, "dist/cli/main.js");
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const exited = new Map<ChildProcess, string>();
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (exited.has(child)) return;
        const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await gone;
        clearTimeout(timer);
      }),
    );
  };
  try {
    for (let i = 0; i < options.count; i++) {
      const log = join(options.logDir, `${options.queue}-${i}.log`);
      const fd = openSync(log, "a");
      const args = [cli, "worker", "--queue", options.redisUrl, "--name", options.queue, "--functions", options.functions, "--concurrency", String(options.concurrency)];
      const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...(options.njobs ? { DOSNA_NJOBS: String(options.njobs) } : {}) };
      const child = spawn(process.execPath, args, { stdio: ["ignore", fd, fd], env });
      closeSync(fd);
      live.add(child);
      children.push(child);
      logs.push(log);
      child.once("exit", (code, signal) => {
        live.delete(child);
        exited.set(child, signal ? `signal ${signal}` : `exit code ${code}`);
      });
    }
    await waitForWorkers(options, children, exited, logs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { queue: options.queue, count: options.count, concurrency: options.concurrency, logs, pids: children.map((c) => c.pid!), stop };
}

async function waitForWorkers(options: WorkerSetOptions, children: ChildProcess[], exited: Map<ChildProcess, string>, logs: string[]): Promise<void> {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      for (const [i, child] of children.entries()) {
        if (exited.has(child)) throw new Error(`dosna worker ${i} for queue "${options.queue}" exited (${exited.get(child)}) before it listened: ${tail(logs[i])}`);
      }
      const ids = await redis.zrangebyscore(`dosna:${options.queue}:workers`, Date.now() - 15_000, "+inf");
      if (ids.length >= options.count) return;
      if (Date.now() > deadline) throw new Error(`only ${ids.length} of ${options.count} dosna workers listen on queue "${options.queue}" after ${(options.readyTimeoutMs ?? 30_000) / 1000} s: ${tail(logs[0])}`);
      await sleep(100);
    }
  } finally {
    redis.disconnect();
  }
}

export function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join(" / ") || "(empty log)";
  } catch {
    return "(no log)";
  }
}

/** The in-worker durations ("done <task> (map, N objects) in X ms") logged since byte `from` of each log. */
export function taskDurations(logs: string[], from: number[]): number[] {
  const ms: number[] = [];
  logs.forEach((file, i) => {
    const text = readFileSync(file, "utf8").slice(from[i] ?? 0);
    for (const m of text.matchAll(/ done \S+ \(\w+, \d+ objects\) in (\d+) ms/g)) ms.push(Number(m[1]));
  });
  return ms;
}

export function logSizes(logs: string[]): number[] {
  return logs.map((file) => {
    try {
      return readFileSync(file).byteLength;
    } catch {
      return 0;
    }
  });
}

/**
 * When the tasks of job `jobId` (tasks `0 .. tasks-1`) ran, from BullMQ's records of them (ms since
 * the epoch; start and end set by the workers): the last one added to the queue, the first one
 * started and the last one finished.
 */
export async function taskTimes(redisUrl: string, queue: string, jobId: string, tasks: number): Promise<{ lastAdded: number; firstStart: number; lastEnd: number } | undefined> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let lastAdded = 0;
    let firstStart = Infinity;
    let lastEnd = 0;
    for (let i = 0; i < tasks; i += 1000) {
      const batch = redis.pipeline();
      for (let t = i; t < Math.min(tasks, i + 1000); t++) batch.hmget(`bull:${queue}:${jobId}-${t}`, "timestamp", "processedOn", "finishedOn");
      for (const [error, fields] of (await batch.exec()) ?? []) {
        if (error) return undefined;
        const [added, started, finished] = (fields as Array<string | null>).map(Number);
        if (!(added > 0 && started > 0 && finished > 0)) return undefined;
        lastAdded = Math.max(lastAdded, added);
        firstStart = Math.min(firstStart, started);
        lastEnd = Math.max(lastEnd, finished);
      }
    }
    return { lastAdded, firstStart, lastEnd };
  } finally {
    redis.disconnect();
  }
}

/** Remove the bench's queues from Redis: BullMQ's keys (obliterate) and dosna's own (dosna:NAME:*). */
export async function removeQueues(redisUrl: string, queues: string[]): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    for (const name of queues) {
      const q = new Queue(name, { connection: redis });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close().catch(() => undefined);
      for (const prefix of [`dosna:${name}:`, `bull:${name}:`]) {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== "0");
      }
    }
  } finally {
    redis.disconnect();
  }
}

/** CPU time (user + system, ms) a process has used, from /proc (Linux); NaN elsewhere or when it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** CPU time (ms) every core of the machine has been busy (not idle, not waiting on I/O), from /proc/stat. */
export function machineBusyMs(): number {
  try {
    const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
    void idle;
    void iowait;
    return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** The Redis server's CPU time (ms, INFO cpu: user + sys) so far. */
export async function redisCpuMs(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info("cpu");
    const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
    const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
    return (user + sys) * 1000;
  } catch {
    return NaN;
  } finally {
    redis.disconnect();
  }
}
