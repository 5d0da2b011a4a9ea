/**
 * Run TypeScript worker scripts as separate Node processes (through tsx), all at once, and collect
 * what each printed. A worker reports its result as one JSON object on its last stdout line.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface WorkerOutcome {
  args: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The JSON object on the last stdout line, if it printed one. */
  result: Record<string, unknown> | undefined;
}

/** Start `node --import tsx <script> ...args` once per entry of `argLists`, concurrently; wait for all. */
export function runWorkers(script: string, argLists: string[][], env: NodeJS.ProcessEnv, timeoutMs = 45_000): Promise<WorkerOutcome[]> {
  return Promise.all(argLists.map((args) => runWorker(script, args, env, timeoutMs)));
}

function runWorker(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<WorkerOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      resolve({ args, exitCode, stdout, stderr, result: lastJsonLine(stdout) });
    });
  });
}

function lastJsonLine(text: string): Record<string, unknown> | undefined {
  const line = text.trim().split("\n").pop();
  if (!line) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * A start line for processes: each one announces itself in `dir` and waits until `parties` have,
 * so the work after it really runs at the same time in every process.
 */
export async function waitAtBarrier(dir: string, me: string, parties: number, timeoutMs = 30_000): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, me), "");
  const deadline = Date.now() + timeoutMs;
  while ((await readdir(dir)).length < parties) {
    if (Date.now() > deadline) throw new Error(`barrier ${dir}: only ${(await readdir(dir)).length} of ${parties} arrived`);
    await sleep(5);
  }
}

export interface RunningWorker {
  readonly pid: number;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process ends first). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once the process has ended. */
  readonly ended: Promise<WorkerOutcome>;
  kill(signal?: NodeJS.Signals): void;
}

/** Start one worker and watch its output as it runs (for tests that act while it works). */
export function startWorker(script: string, args: string[], env: NodeJS.ProcessEnv): RunningWorker {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    for (const listener of listeners) listener();
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const ended = new Promise<WorkerOutcome>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => {
      for (const listener of listeners) listener();
      resolve({ args, exitCode, stdout, stderr, result: lastJsonLine(stdout) });
    });
  });
  let finished = false;
  void ended.finally(() => (finished = true));
  return {
    pid: child.pid ?? -1,
    ended,
    kill: (signal = "SIGKILL") => child.kill(signal),
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = stdout.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) done(() => resolve(line));
          else if (finished || child.exitCode !== null) done(() => reject(new Error(`worker ended before printing ${pattern}:\n${stderr}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${stderr}`))), timeoutMs);
        const done = (settle: () => void) => {
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
