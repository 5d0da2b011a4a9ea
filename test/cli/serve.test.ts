/**
 * The built `dosna serve`: started on a local pool with --port 0, it prints where it listens on
 * stderr, answers the API and Zarr keys, and stops on SIGTERM with exit 0; --host 0.0.0.0 without
 * a token exits 1 with one line saying a token is needed; with DOSNA_SERVE_TOKEN set, requests
 * without it get 401.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemStore, Pool, Repository } from "../../src/index.js";
import { CLI, cleanEnv, dosna, ensureBuilt } from "./run.js";

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-serve-"));
  const pool = await Pool.initialise(new FileSystemStore(join(dir, "lab")), { name: "lab" });
  const ds = await pool.createDataset("vol", { shape: [3, 4], dtype: "int16", chunks: [2, 2] });
  await ds.set(undefined, Int16Array.from({ length: 12 }, (_, i) => i));
  const versioned = await Pool.initialise(new FileSystemStore(join(dir, "versioned")), { name: "versioned" });
  const repo = await Repository.init(versioned);
  const s1 = await repo.checkout({ branch: "main", write: true });
  await (await s1.createDataset("v", { shape: [2], dtype: "int32", chunks: [2] })).set(undefined, 1);
  await repo.createTag("v1", await s1.commit("ones"));
  const s2 = await repo.checkout({ branch: "main", write: true });
  await (await s2.getDataset("v")).set(undefined, 2);
  await s2.commit("twos");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Start `dosna serve ARGS`; resolves with the process and the URL it printed. */
function startServe(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, "serve", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dosna serve printed no URL in 20 s: ${stderr}`)), 20_000);
    child.stderr!.on("data", (d) => {
      stderr += d;
      const m = / on (http:\/\/127\.0\.0\.1:\d+) /.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], stderr: () => stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dosna serve exited ${code} before listening: ${stderr}`));
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("dosna serve", () => {
  it("serves a local pool, logs requests without the query, and stops on SIGTERM", async () => {
    const { child, url, stderr } = await startServe([join(dir, "lab"), join(dir, "versioned"), "--port", "0"]);
    try {
      expect(await (await fetch(`${url}/api/pools`)).json()).toEqual(["lab", "versioned"]);
      expect(await (await fetch(`${url}/`)).text()).toContain("<title>dosna</title>");
      const json = (await (await fetch(`${url}/api/data/lab/vol?format=json&sel=1:3,1`)).json()) as { data: number[] };
      expect(json.data).toEqual([5, 9]);
      expect((await fetch(`${url}/zarr/lab/vol/zarr.json`)).status).toBe(200);
    } finally {
      const exited = exitOf(child);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
    expect(stderr()).toContain("GET /api/data/lab/vol 200");
    expect(stderr()).not.toContain("sel=");
  });

  it("needs a token for a non-loopback host, and then every request needs it", async () => {
    const refused = await dosna(["serve", join(dir, "lab"), "--host", "0.0.0.0", "--port", "0"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("needs a token");
    const { child, url } = await startServe([join(dir, "lab"), "--port", "0"], cleanEnv({ DOSNA_SERVE_TOKEN: "tok-123" }));
    try {
      expect((await fetch(`${url}/api/pools`)).status).toBe(401);
      expect((await fetch(`${url}/api/pools`, { headers: { authorization: "Bearer tok-123" } })).status).toBe(200);
    } finally {
      const exited = exitOf(child);
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("--ref serves a repository's version by default; ?ref= reads others; --ref on a plain pool exits 1", async () => {
    const { child, url } = await startServe([join(dir, "versioned"), "--port", "0", "--ref", "v1"]);
    try {
      const values = async (query = "") => ((await (await fetch(`${url}/api/data/versioned/v?format=json${query}`)).json()) as { data: number[] }).data;
      expect(await values()).toEqual([1, 1]);
      expect(await values("&ref=main")).toEqual([2, 2]);
      expect(((await (await fetch(`${url}/api/repo/versioned`)).json()) as { tags: string[] }).tags).toEqual(["v1"]);
    } finally {
      const exited = exitOf(child);
      child.kill("SIGTERM");
      await exited;
    }
    const plain = await dosna(["serve", join(dir, "lab"), "--port", "0", "--ref", "v1"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("holds no repository");
  });
});
