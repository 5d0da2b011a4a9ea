/**
 * scripts/redis-start.sh and scripts/redis-stop.sh against Debian's real redis-server: a server on
 * a free port with its state in a temp dir, bound to 127.0.0.1 only, AOF on, reused when healthy,
 * data kept across `--restart`, an optional password that is never logged, and a stop that removes
 * the state dir. Skipped only when redis-server is not installed (the scripts would install it).
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const START = fileURLToPath(new URL("../scripts/redis-start.sh", import.meta.url));
const STOP = fileURLToPath(new URL("../scripts/redis-stop.sh", import.meta.url));
const hasRedis = spawnSync("sh", ["-c", "command -v redis-server && command -v redis-cli"], { stdio: "ignore" }).status === 0;

/** The environment without the caller's DOSNA_REDIS_* / REDISCLI_AUTH settings, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DOSNA_REDIS_") && k !== "REDISCLI_AUTH") env[k] = v;
  return { ...env, ...extra };
}

function run(script: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync("bash", [script, ...args], { env, encoding: "utf8", timeout: 60_000 });
}

function cli(port: number, args: string[], auth?: string): string {
  const env = cleanEnv(auth ? { REDISCLI_AUTH: auth } : {});
  return execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { env, encoding: "utf8", timeout: 10_000 }).trim();
}

/** Whether something accepts TCP connections on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 2000 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

/** A port in from..from+99 that nothing listens on and that we can bind on 127.0.0.1. */
async function freePort(from: number, avoid: number[] = []): Promise<number> {
  for (let port = from; port < from + 100; port++) {
    if (avoid.includes(port) || (await accepts("127.0.0.1", port))) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free port in ${from}..${from + 99}`);
}

const pidOf = (dir: string): number => Number(readFileSync(join(dir, "redis.pid"), "utf8").trim());

describe("scripts/redis-start.sh and redis-stop.sh", () => {
  let root = "";
  let dir = "";
  let port = 0;
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    if (!hasRedis) return;
    root = mkdtempSync(join(tmpdir(), "dosna-redis-scripts-"));
    dir = join(root, "state"); // does not exist yet: the script creates it, the stop removes it
    port = await freePort(6491);
    env = cleanEnv({ DOSNA_REDIS_PORT: String(port) });
  });

  afterAll(() => {
    if (!root) return;
    for (const d of [dir, join(root, "with-password")]) if (existsSync(d)) run(STOP, [d], env);
    rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(!hasRedis)("rejects bad arguments and ports with clear messages", () => {
    const badPort = run(START, [dir], cleanEnv({ DOSNA_REDIS_PORT: "70000" }));
    expect(badPort.status).toBe(1);
    expect(badPort.stderr).toContain("the port must be a number in 1..65535, got DOSNA_REDIS_PORT='70000'");
    expect(run(START, [dir], cleanEnv({ DOSNA_REDIS_PORT: "63x9" })).stderr).toContain("DOSNA_REDIS_PORT='63x9'");
    expect(run(START, ["--bogus"], env).stderr).toContain("unknown option '--bogus'");
    expect(run(START, ["a", "b"], env).stderr).toContain("expected at most one state dir, got 'a' and 'b'");
    expect(run(STOP, ["a", "b"], env).stderr).toContain("usage: scripts/redis-stop.sh [STATE_DIR]");
    const noServer = run(START, ["--restart", join(root, "nothing-here")], env);
    expect(noServer.status).toBe(1);
    expect(noServer.stderr).toContain("run scripts/redis-start.sh first");
    expect(existsSync(join(dir, "redis.conf"))).toBe(false);
  });

  it.skipIf(!hasRedis)("starts a server that answers PONG and prints the export (also in env.sh)", () => {
    const started = run(START, [dir], env);
    expect(started.status, started.stderr).toBe(0);
    const exportLine = `export DOSNA_TEST_REDIS_URL=redis://127.0.0.1:${port}`;
    expect(started.stdout.trim().split("\n").at(-1)).toBe(exportLine);
    expect(readFileSync(join(dir, "env.sh"), "utf8").trim()).toBe(exportLine);
    expect(started.stdout).not.toContain("PASSWORD");
    expect(cli(port, ["ping"])).toBe("PONG");
    expect(cli(port, ["info", "server"])).toContain(`process_id:${pidOf(dir)}`);
  });

  it.skipIf(!hasRedis)("listens on 127.0.0.1 only, with protected mode, AOF everysec, no RDB, state inside the dir", async () => {
    expect(cli(port, ["config", "get", "bind"]).split("\n")).toEqual(["bind", "127.0.0.1"]);
    expect(cli(port, ["config", "get", "protected-mode"]).split("\n")).toEqual(["protected-mode", "yes"]);
    expect(cli(port, ["config", "get", "appendonly"]).split("\n")).toEqual(["appendonly", "yes"]);
    expect(cli(port, ["config", "get", "appendfsync"]).split("\n")).toEqual(["appendfsync", "everysec"]);
    expect(cli(port, ["config", "get", "save"]).split("\n")).toEqual(["save"]); // empty value: no snapshots
    expect(cli(port, ["info", "persistence"])).toMatch(/^aof_enabled:1\r?$/m);
    const dataDir = cli(port, ["config", "get", "dir"]).split("\n")[1];
    expect(dataDir).toBe(join(realpathSync(dir), "data"));
    expect(existsSync(join(dir, "data", "appendonlydir"))).toBe(true);
    expect(statSync(join(dir, "redis.conf")).mode & 0o077).toBe(0); // may hold the password
    // Not reachable on any other address of this machine.
    const others = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === "IPv4");
    for (const address of others) expect(await accepts(address!.address, port), address!.address).toBe(false);
  });

  it.skipIf(!hasRedis)("reuses the healthy server already running from the same state dir", () => {
    const pid = pidOf(dir);
    const again = run(START, [dir], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`reusing the healthy redis-server (pid ${pid})`);
    expect(again.stdout.trim().split("\n").at(-1)).toBe(`export DOSNA_TEST_REDIS_URL=redis://127.0.0.1:${port}`);
    expect(pidOf(dir)).toBe(pid);
  });

  it.skipIf(!hasRedis)("--restart stops the server and starts it again with the same data", async () => {
    const pid = pidOf(dir);
    expect(cli(port, ["set", "dosna:restart-test", "kept across restarts"])).toBe("OK");
    await sleep(1500); // appendfsync everysec
    const restarted = run(START, ["--restart", dir], cleanEnv()); // the port comes from the state dir's config
    expect(restarted.status, restarted.stderr).toBe(0);
    expect(restarted.stderr).toContain(`stopping redis-server (pid ${pid})`);
    expect(restarted.stdout.trim().split("\n").at(-1)).toBe(`export DOSNA_TEST_REDIS_URL=redis://127.0.0.1:${port}`);
    expect(pidOf(dir)).not.toBe(pid);
    expect(cli(port, ["ping"])).toBe("PONG");
    expect(cli(port, ["get", "dosna:restart-test"])).toBe("kept across restarts");
  });

  it.skipIf(!hasRedis)("redis-stop.sh stops it, removes the state dir, and is safe to run again", async () => {
    const stopped = run(STOP, [dir], env);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(await accepts("127.0.0.1", port)).toBe(false);
    expect(spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"], { encoding: "utf8" }).stdout + "").not.toContain("PONG");
    const again = run(STOP, [dir], env);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("nothing to stop");
  });

  it.skipIf(!hasRedis)("with DOSNA_REDIS_PASSWORD: requires it, exports it separately, never logs it", async () => {
    const secret = `pw "with" \\ $pecial ${Date.now()}`;
    const pwDir = join(root, "with-password");
    const pwPort = await freePort(port + 1);
    const pwEnv = cleanEnv({ DOSNA_REDIS_PORT: String(pwPort), DOSNA_REDIS_PASSWORD: secret });
    const started = run(START, [pwDir], pwEnv);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stderr).not.toContain("pw ");
    const lines = started.stdout.trim().split("\n");
    expect(lines.at(-2)).toBe(`export DOSNA_TEST_REDIS_URL=redis://127.0.0.1:${pwPort}`); // no password in the URL
    expect(lines.at(-1)).toMatch(/^export DOSNA_TEST_REDIS_PASSWORD=/);
    // The export line is shell-quoted: evaluating it gives the password back exactly.
    const evaluated = execFileSync("bash", ["-c", `${lines.join("\n")}\nprintf %s "$DOSNA_TEST_REDIS_PASSWORD"`], { env: cleanEnv(), encoding: "utf8" });
    expect(evaluated).toBe(secret);
    expect(statSync(join(pwDir, "env.sh")).mode & 0o077).toBe(0);
    expect(cli(pwPort, ["ping"])).toMatch(/NOAUTH/);
    expect(cli(pwPort, ["ping"], secret)).toBe("PONG");
    // --restart uses the recorded password even when the caller's environment has none.
    const restarted = run(START, ["--restart", pwDir], cleanEnv());
    expect(restarted.status, restarted.stderr).toBe(0);
    expect(restarted.stderr).not.toContain("pw ");
    expect(cli(pwPort, ["ping"], secret)).toBe("PONG");
    expect(run(STOP, [pwDir], cleanEnv()).status).toBe(0);
    expect(existsSync(pwDir)).toBe(false);
    expect(await accepts("127.0.0.1", pwPort)).toBe(false);
  });
});
