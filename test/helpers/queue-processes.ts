/**
 * Real processes for the queue engine's tests: `dosna worker` processes (the built CLI, loading
 * test/compute/fixtures/functions.mjs), one-shot CLI runs (`dosna jobs --json`), plain node scripts,
 * and private Redis servers started with scripts/redis-start.sh on a free port and their own state
 * dir (so a test may restart or password-protect one without disturbing the shared dev Redis).
 *
 * Every process started here is tracked: `killAllProcesses()` (call it in afterEach) SIGKILLs the
 * ones still running and waits for them to end, so a failing test leaves nothing behind.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { environmentWithoutDosna } from "./s3-fixtures.js";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
export const FUNCTIONS = fileURLToPath(new URL("../compute/fixtures/functions.mjs", import.meta.url));
const REDIS_START = fileURLToPath(new URL("../../scripts/redis-start.sh", import.meta.url));
const REDIS_STOP = fileURLToPath(new URL("../../scripts/redis-stop.sh", import.meta.url));

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the queue tests`);

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** SIGKILL every process started here that is still running, and wait until they have ended. */
export async function killAllProcesses(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started process whose output is collected as it runs. */
export interface WatchedProcess {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line (of stdout or stderr) matching `pattern`; rejects if the process ends first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<Exit>;
  kill(signal?: NodeJS.Signals): void;
}

/** Start `node <script> ...args` (tracked), collecting its output. */
export function startNode(script: string, args: string[], env: NodeJS.ProcessEnv): WatchedProcess {
  const child = track(spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] }));
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => ((out += d), changed()));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => ((err += d), changed()));
  let ended = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once("error", () => ((ended = true), changed(), resolve({ code: -1, signal: null })));
    child.once("close", (code, signal) => ((ended = true), changed(), resolve({ code, signal })));
  });
  return {
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = "SIGKILL") => void child.kill(signal),
    waitForLine(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = `${out}\n${err}`.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) finish(() => resolve(line));
          else if (ended) finish(() => reject(new Error(`process ${child.pid} ended before printing ${pattern}:\n${err}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`process ${child.pid}: no line matching ${pattern} within ${timeoutMs} ms:\n${err}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

export interface DosnaWorker extends WatchedProcess {
  /** "host:pid", as the queue records the hosts of a job. */
  readonly hostPid: string;
  /** Task ids ("<jobId>-<index>") this worker logged as done, of one job or all. */
  doneTasks(jobId?: string): string[];
  /** SIGTERM (finish the running tasks, then stop) and wait for the exit. */
  stop(): Promise<Exit>;
}

export interface WorkerSettings {
  /** redis://... of the queue. */
  url: string;
  /** The BullMQ queue name (every test uses its own). */
  name: string;
  /** The worker's environment (its S3 credentials); default: this process's without DOSNA_*. */
  env?: NodeJS.ProcessEnv;
  stallTimeoutS?: number;
  concurrency?: number;
}

/** Start a `dosna worker` process and wait until it listens. */
export async function startWorker(settings: WorkerSettings): Promise<DosnaWorker> {
  const args = [CLI, "worker", "--queue", settings.url, "--name", settings.name, "--functions", FUNCTIONS];
  if (settings.stallTimeoutS !== undefined) args.push("--stall-timeout", String(settings.stallTimeoutS));
  if (settings.concurrency !== undefined) args.push("--concurrency", String(settings.concurrency));
  const watched = startNode(args[0], args.slice(1), settings.env ?? environmentWithoutDosna());
  const line = await watched.waitForLine(/dosna worker \S+ listening on queue/, 30_000);
  const hostPid = /dosna worker (\S+) listening/.exec(line)![1];
  return {
    ...watched,
    hostPid,
    doneTasks: (jobId) => [...watched.stderr().matchAll(/ done (\S+) \(/g)].map((m) => m[1]).filter((id) => jobId === undefined || id.startsWith(`${jobId}-`)),
    async stop() {
      watched.kill("SIGTERM");
      return watched.exited;
    },
  };
}

/** Start `count` workers at once. */
export function startWorkers(count: number, settings: WorkerSettings): Promise<DosnaWorker[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(settings)));
}

/** Run the built CLI once (tracked, SIGKILLed after `timeoutMs`). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = environmentWithoutDosna(), timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const watched = startNode(CLI, args, env);
  const timer = setTimeout(() => watched.kill("SIGKILL"), timeoutMs);
  const { code } = await watched.exited;
  clearTimeout(timer);
  return { code, stdout: watched.stdout(), stderr: watched.stderr() };
}

export interface JobsListing {
  jobs: Array<{ id: string; state: string; kind: string; fn?: string; tasksDone: number; tasks: number; hosts: string[]; error?: string; caller?: string }>;
  workers: Array<{ id: string; host: string; pid: number; functions: string[] }>;
}

/** `dosna jobs --queue URL --name NAME --json`, parsed. */
export async function jobsJson(url: string, name: string): Promise<JobsListing> {
  const { code, stdout, stderr } = await runCli(["jobs", "--queue", url, "--name", name, "--json"]);
  if (code !== 0) throw new Error(`dosna jobs failed (${code}):\n${stderr}`);
  return JSON.parse(stdout) as JobsListing;
}

/** A 127.0.0.1 port that was free a moment ago and has no listener now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function bash(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    track(
      execFile("bash", [script, ...args], { env, timeout: 60_000, encoding: "utf8" }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${script} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      }),
    );
  });
}

export interface PrivateRedis {
  /** redis://[:password@]127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** scripts/redis-start.sh --restart: SIGTERM, then start again on the same port with the same data (AOF). */
  restart(): Promise<void>;
  /** scripts/redis-stop.sh: stop it and remove its state dir. */
  stop(): Promise<void>;
}

/** A Redis of the test's own (scripts/redis-start.sh on a free port, state in a fresh temp dir). */
export async function startPrivateRedis(options: { password?: string } = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), "dosna-queue-redis-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...environmentWithoutDosna(), DOSNA_REDIS_PORT: String(port) };
  delete env.REDISCLI_AUTH;
  if (options.password) env.DOSNA_REDIS_PASSWORD = options.password;
  await bash(REDIS_START, [dir], env);
  const url = options.password ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
  let stopped = false;
  return {
    url,
    port,
    dir,
    restart: async () => void (await bash(REDIS_START, ["--restart", dir], env)),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await bash(REDIS_STOP, [dir], env);
    },
  };
}
