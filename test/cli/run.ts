/**
 * Running the built `dosna` command as a subprocess. The build (`npm run build`, i.e. tsc into
 * dist/) is redone first when any file under src/ is newer than dist/cli/main.js, once across all
 * test workers (a lock directory serialises them).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "dist/cli/main.js");

function newestSource(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(CLI).mtimeMs;
  } catch {
    return 0;
  }
}

/** Build dist/ if it is missing or older than src/. */
export async function ensureBuilt(): Promise<void> {
  const lock = join(tmpdir(), `dosna-cli-build-${Buffer.from(ROOT).toString("hex").slice(-24)}.lock`);
  for (;;) {
    if (builtAt() >= newestSource(join(ROOT, "src"))) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another worker is building; a lock older than 5 minutes is left over from a crash.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 300_000) rmSync(lock, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    try {
      if (builtAt() < newestSource(join(ROOT, "src"))) {
        // tsc emits even when files other than ours have type errors; the CLI file must exist afterwards.
        const result = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
        if (builtAt() === 0) throw new Error(`npm run build did not produce ${CLI}:\n${result.stdout}${result.stderr}`);
      }
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added to an environment without any DOSNA_* variable of the test process. */
  env?: Record<string, string | undefined>;
  input?: string;
}

/** Environment of the test process without DOSNA_* settings, so the CLI sees only what a test gives it. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("DOSNA_") && key !== "CI") env[key] = value;
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export function dosna(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** As dosna(), and the command must succeed; returns stdout. */
export async function dosnaOk(args: string[], options: RunOptions = {}): Promise<string> {
  const result = await dosna(args, options);
  if (result.code !== 0) throw new Error(`dosna ${args.join(" ")} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Runs a command with a pseudo-terminal on stdin/stdout/stderr (util-linux `script`), when available. */
export const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;

export function dosnaInTerminal(args: string[], options: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  return new Promise((resolvePromise, reject) => {
    const child = spawn("script", ["-qec", quoted, "/dev/null"], { cwd: options.cwd, env: cleanEnv({ COLUMNS: "100", ...options.env }) });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr: "" }));
    // The pseudo-terminal buffers the input until the command reads it.
    child.stdin.end(options.input ?? "");
  });
}
