/**
 * FileSystemStore between processes: compare-and-swap from many real processes, writers killed
 * with SIGKILL, the recovery of stale lock files (dead pid on this host, old lock of another
 * host), orphaned temp files, version tokens that never repeat, and symbolic links out of the root.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortedError, PreconditionFailedError, StorageError, ValidationError } from "../../src/errors.js";
import { FileSystemStore } from "../../src/store/filesystem.js";
import { lockContent, takeLock } from "../../src/store/fs-lock.js";
import { hostId } from "../../src/store/fs-owner.js";
import { runWorkers, type WorkerOutcome } from "../helpers/node-processes.js";
import { collect, expectRejection, expectSameBytes } from "./conformance.js";

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "fs-worker.ts");
const OTHER_HOST = hostId() === "0123456789ab" ? "ba9876543210" : "0123456789ab";
/** Long enough that a test which finishes cannot have waited for a lock to go stale by age. */
const NEVER_STALE_MS = 600_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The pid of a process that has just exited (and been reaped), so certainly not running. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

/** The pid a lock file names, or undefined when there is none (or it does not parse yet). */
async function lockHolder(lockPath: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await fs.readFile(lockPath, "utf8")) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/** Every file under `dir` whose name is one of the store's own (temp, lock, reap). */
async function reservedFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.filter((entry) => /\.dosna-(tmp|lock|reap)$/.test(entry)).sort();
}

function expectWorkersSucceeded(outcomes: WorkerOutcome[]): void {
  for (const outcome of outcomes) {
    expect(outcome.exitCode, `worker ${outcome.args.join(" ")} failed:\n${outcome.stderr}`).toBe(0);
  }
}

/** Whether `bytes` is one whole object written by fs-worker.ts (all bytes equal, 1000 to 3999 of them). */
function isWholePattern(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && bytes.length >= 1000 && bytes.length < 4000 && bytes.every((byte) => byte === bytes[0]);
}

/** Process state from /proc ("R", "S", "T" for stopped, ...). */
async function processState(pid: number): Promise<string> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

function startHammer(root: string, key: string): { child: ChildProcess; ready: Promise<void> } {
  const options = { root, key, durable: false };
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, "hammer", JSON.stringify(options)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => chunk.includes("ready") && resolve());
    child.on("exit", (code) => reject(new Error(`hammer exited (${code}) before its first write:\n${stderr}`)));
  });
  return { child, ready };
}

describe("FileSystemStore between processes", () => {
  let dir: string;
  let root: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-concurrency-"));
    root = path.join(dir, "root");
    await fs.mkdir(root);
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("8 processes doing compare-and-swap increments of one counter lose none, starting over a dead writer's lock", async () => {
    const perWorker = 40;
    const store = new FileSystemStore(root);
    await store.set("c/counter", encoder.encode("0"));
    // Every worker meets this lock first and must recover it by its pid, not by its age.
    await fs.writeFile(path.join(root, "c", ".counter.dosna-lock"), lockContent({ host: hostId(), pid: await deadPid() }));
    const options = { root, key: "c/counter", n: perWorker, barrier: path.join(dir, "barrier"), parties: 8, lockStaleMs: NEVER_STALE_MS };
    const outcomes = await runWorkers(WORKER, Array.from({ length: 8 }, () => ["cas", JSON.stringify(options)]), process.env, 100_000);
    expectWorkersSucceeded(outcomes);
    expect(outcomes.map((outcome) => outcome.result?.done)).toEqual(Array(8).fill(perWorker));
    expect(decoder.decode(await store.get("c/counter"))).toBe(String(8 * perWorker));
    expect(await reservedFiles(root)).toEqual([]);
  }, 120_000);

  // Linux: the test reads /proc to see that the stopped writer really is stopped.
  it.skipIf(process.platform !== "linux")("a writer killed with SIGKILL while it holds the key's lock does not block the other writers", async () => {
    const lockPath = path.join(root, ".hot.dosna-lock");
    let killedHolding: number | undefined;
    // Stop the hammering process at random moments until it is caught holding the lock, then kill it.
    for (let victims = 0; killedHolding === undefined && victims < 5; victims++) {
      const { child, ready } = startHammer(root, "hot");
      await ready;
      const exited = once(child, "exit");
      for (let tries = 0; tries < 3000 && killedHolding === undefined; tries++) {
        child.kill("SIGSTOP");
        while ((await processState(child.pid!)) !== "T") await sleep(0);
        if ((await lockHolder(lockPath)) === child.pid) {
          child.kill("SIGKILL");
          killedHolding = child.pid;
        } else {
          child.kill("SIGCONT");
          await sleep(Math.random() * 3);
        }
      }
      if (killedHolding === undefined) child.kill("SIGKILL");
      await exited;
    }
    expect(killedHolding, "the hammering writer was never caught holding its lock").toBeDefined();
    expect(await lockHolder(lockPath)).toBe(killedHolding);

    const options = { root, key: "hot", n: 25, barrier: path.join(dir, "barrier"), parties: 3, lockStaleMs: NEVER_STALE_MS };
    const outcomes = await runWorkers(WORKER, Array.from({ length: 3 }, () => ["writes", JSON.stringify(options)]), process.env, 60_000);
    expectWorkersSucceeded(outcomes);
    for (const outcome of outcomes) expect(outcome.result?.ms as number).toBeLessThan(15_000);
    const store = new FileSystemStore(root);
    expect(isWholePattern(await store.get("hot"))).toBe(true);
    expect(await lockHolder(lockPath)).toBeUndefined();
    await store.removeOrphans(); // a temp file the victim was writing when killed
    expect(await reservedFiles(root)).toEqual([]);
  }, 120_000);
});

describe("FileSystemStore lock recovery", () => {
  let dir: string;
  let root: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-locks-"));
    root = path.join(dir, "root");
    await fs.mkdir(path.join(root, "d"), { recursive: true });
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const lockOf = (name: string) => path.join(root, "d", `.${name}.dosna-lock`);

  /** Starts `work` and reports whether it is still pending after `ms`. */
  async function pendingAfter(work: Promise<unknown>, ms: number): Promise<boolean> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    await sleep(ms);
    return !settled;
  }

  it("recovers at once the lock of a process of this host that has exited", async () => {
    const store = new FileSystemStore(root, { lockStaleMs: NEVER_STALE_MS });
    const version = await store.set("d/k", Uint8Array.of(1));
    await fs.writeFile(lockOf("k"), lockContent({ host: hostId(), pid: await deadPid() }));
    const started = performance.now();
    await store.set("d/k", Uint8Array.of(2), { ifMatch: version });
    await store.delete("d/other"); // missing: no lock needed
    await fs.writeFile(lockOf("k"), lockContent({ host: hostId(), pid: await deadPid() }));
    await store.delete("d/k");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await store.get("d/k")).toBeUndefined();
    expect(await reservedFiles(root)).toEqual([]);
  });

  it("recovers the lock of another host once it was taken longer ago than the stale timeout, not before", async () => {
    const store = new FileSystemStore(root, { lockStaleMs: 500 });
    await store.set("d/k", Uint8Array.of(1));
    // The second lock's mtime is an hour old, as a claim written long before it was linked would be:
    // the age that counts is the ctime, set when the lock was taken.
    const hourAgo = Date.now() / 1000 - 3600;
    for (const [value, mtime] of [[2, undefined], [3, hourAgo]] as const) {
      await fs.writeFile(lockOf("k"), lockContent({ host: OTHER_HOST, pid: 1 }));
      if (mtime !== undefined) await fs.utimes(lockOf("k"), mtime, mtime);
      const started = performance.now();
      const write = store.set("d/k", Uint8Array.of(value));
      expect(await pendingAfter(write, 250)).toBe(true);
      await write;
      expect(performance.now() - started).toBeGreaterThanOrEqual(450);
      expect(performance.now() - started).toBeLessThan(5_000);
      expectSameBytes(await store.get("d/k"), Uint8Array.of(value));
    }
    expect(await reservedFiles(root)).toEqual([]);
  });

  it("a fresh lock of a live holder makes writers and deleters wait, never share it, until it is removed", async () => {
    const store = new FileSystemStore(root, { lockStaleMs: NEVER_STALE_MS });
    // A live pid of this host (this very process), and a process of another host: both are waited for.
    for (const owner of [{ host: hostId(), pid: process.pid }, { host: OTHER_HOST, pid: 1 }]) {
      const version = await store.set("d/k", Uint8Array.of(1));
      const planted = lockContent(owner);
      await fs.writeFile(lockOf("k"), planted);
      const write = store.set("d/k", Uint8Array.of(2), { ifMatch: version });
      const erase = store.delete("d/k", { ifMatch: version });
      expect(await pendingAfter(write, 300)).toBe(true);
      expect(await pendingAfter(erase, 0)).toBe(true);
      expectSameBytes(await store.get("d/k"), Uint8Array.of(1));
      expect((await store.listDir("d/")).keys, "a lock is not listed").toEqual(["d/k"]);
      expect(await fs.readFile(lockOf("k"), "utf8"), "nor removed by a writer or a listing").toBe(planted);
      await fs.unlink(lockOf("k"));
      // Both went for the same version: whichever took the lock first wins, the other finds it changed.
      const [written, erased] = await Promise.allSettled([write, erase]);
      expect([written.status, erased.status].sort()).toEqual(["fulfilled", "rejected"]);
      const loser = written.status === "rejected" ? written : (erased as PromiseRejectedResult);
      expect(loser.reason).toBeInstanceOf(PreconditionFailedError);
      expect(await reservedFiles(root)).toEqual([]);
    }
  });

  it("a writer waiting for a lock gives up with AbortedError when its signal fires, leaving no temp file", async () => {
    const store = new FileSystemStore(root, { lockStaleMs: NEVER_STALE_MS });
    await fs.writeFile(lockOf("k"), lockContent({ host: OTHER_HOST, pid: 1 }));
    const controller = new AbortController();
    const write = store.set("d/k", Uint8Array.of(1), { signal: controller.signal });
    await sleep(100);
    controller.abort();
    await expectRejection(write, AbortedError, "aborted", '"d/k"');
    expect(await fs.readdir(path.join(root, "d"))).toEqual([".k.dosna-lock"]);
  });

  it("of 16 recoverers racing for one dead writer's lock exactly one holds it at a time", async () => {
    const lockPath = lockOf("k");
    for (let round = 0; round < 10; round++) {
      await fs.writeFile(lockPath, lockContent({ host: hostId(), pid: await deadPid() }));
      let holders = 0;
      let maxHolders = 0;
      let acquired = 0;
      // takeLock skips the in-process queue, so these contend exactly as processes would.
      await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const claim = { path: path.join(root, "d", `claim-${i}`), nonce: `${round}`.padStart(8, "0") + `${i}`.padStart(8, "0") };
          await fs.writeFile(claim.path, lockContent({ host: hostId(), pid: process.pid }, claim.nonce));
          await takeLock(lockPath, claim, { staleMs: NEVER_STALE_MS, operation: "test" });
          await fs.unlink(claim.path);
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          await fs.stat(lockPath);
          await sleep(Math.random() * 2);
          holders--;
          acquired++;
          await fs.unlink(lockPath);
        }),
      );
      expect(maxHolders, `round ${round}`).toBe(1);
      expect(acquired).toBe(16);
      expect(await reservedFiles(root)).toEqual([]);
    }
  });

  it("knows a lock it linked itself when link() reports EEXIST for it (a retransmitted request on NFS)", async () => {
    const claim = { path: path.join(root, "d", "claim"), nonce: "0123456789abcdef" };
    await fs.writeFile(claim.path, lockContent({ host: OTHER_HOST, pid: 1 }, claim.nonce));
    await fs.link(claim.path, lockOf("k")); // as if the first, lost, reply had said it worked
    const started = performance.now();
    await takeLock(lockOf("k"), claim, { staleMs: NEVER_STALE_MS, operation: "test" });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("takes over a lock whose recoverer died after naming it, once that name is stale", async () => {
    const store = new FileSystemStore(root, { lockStaleMs: 300 });
    const nonce = "00112233aabbccdd";
    await fs.writeFile(lockOf("k"), lockContent({ host: hostId(), pid: await deadPid() }, nonce));
    await fs.link(lockOf("k"), path.join(root, "d", `.${nonce}.dosna-reap`));
    const started = performance.now();
    await store.set("d/k", Uint8Array.of(7));
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expectSameBytes(await store.get("d/k"), Uint8Array.of(7));
    expect(await reservedFiles(root)).toEqual([]);
  });

  it("hides lock files from listings and refuses keys that look like them", async () => {
    const store = new FileSystemStore(root);
    await store.set("d/k", Uint8Array.of(1));
    await fs.writeFile(lockOf("k"), lockContent({ host: OTHER_HOST, pid: 1 }));
    expect(await store.listDir("d/")).toEqual({ keys: ["d/k"], prefixes: [] });
    expect(await collect(store.list(""))).toEqual(["d/k"]);
    for (const key of ["d/.k.dosna-lock", ".x.dosna-lock", "a/.0011.dosna-reap/b"]) {
      await expectRejection(store.set(key, Uint8Array.of(1)), ValidationError, JSON.stringify(key), "lock");
    }
  });
});

describe("FileSystemStore orphaned files", () => {
  let dir: string;
  let root: string;
  let store: FileSystemStore;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-orphans-"));
    root = path.join(dir, "root");
    store = new FileSystemStore(root);
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const tempOf = (host: string, pid: number) => `.${host}.${pid}.0123456789abcdef.dosna-tmp`;

  it("a listing removes the temp files of dead writers of this host, and keeps those of live ones", async () => {
    await store.set("a/k", Uint8Array.of(1));
    const dead = tempOf(hostId(), await deadPid());
    const live = tempOf(hostId(), process.pid);
    const foreign = tempOf(OTHER_HOST, 1);
    for (const name of [dead, live, foreign]) await fs.writeFile(path.join(root, "a", name), "partial");
    expect(await store.listDir("a/")).toEqual({ keys: ["a/k"], prefixes: [] });
    expect((await fs.readdir(path.join(root, "a"))).sort()).toEqual([live, foreign, "k"].sort());

    await fs.writeFile(path.join(root, "a", dead), "partial");
    expect(await collect(store.list("a/"))).toEqual(["a/k"]);
    expect(await fs.readdir(path.join(root, "a"))).not.toContain(dead);
  });

  it("removeOrphans sweeps the whole root: dead writers' temp files, hour-old ones, stale locks, and prunes emptied directories", async () => {
    await store.set("x/keep", Uint8Array.of(1));
    const hourAgo = Date.now() / 1000 - 3601;
    const plant = async (relative: string, content: string, mtime?: number) => {
      const file = path.join(root, relative);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, content);
      if (mtime !== undefined) await fs.utimes(file, mtime, mtime);
    };
    await plant(`deep/er/${tempOf(hostId(), await deadPid())}`, "partial");
    await plant(`x/${tempOf(OTHER_HOST, 1)}`, "old", hourAgo);
    await plant("x/.4242.0123456789abcdef.dosna-tmp", "old format", hourAgo); // written before names said the host
    await plant(`x/y/.z.dosna-lock`, lockContent({ host: hostId(), pid: await deadPid() }));
    const kept = [`x/${tempOf(OTHER_HOST, 2)}`, `x/${tempOf(hostId(), process.pid)}`, "x/.keep.dosna-lock"];
    await plant(kept[0], "fresh");
    await plant(kept[1], "mine");
    await plant(kept[2], lockContent({ host: OTHER_HOST, pid: 1 }));

    expect(await store.removeOrphans()).toBe(4);
    expect(await reservedFiles(root)).toEqual([...kept].sort());
    expect((await fs.readdir(root)).sort(), "deep/er and x/y were emptied and pruned").toEqual(["x"]);
    expect(await store.removeOrphans()).toBe(0);
    expect(await new FileSystemStore(path.join(dir, "missing")).removeOrphans()).toBe(0);
  });
});

describe("FileSystemStore version tokens", () => {
  let dir: string;
  let store: FileSystemStore;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-versions-"));
    store = new FileSystemStore(dir);
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("never repeat over quick replaces of the same size", async () => {
    // On ext4 these 300 objects share two to six inode numbers: a rename frees one for the next write.
    const tokens = new Set<string>();
    for (let i = 0; i < 300; i++) tokens.add(await store.set("k", Uint8Array.of(i % 256, 0)));
    expect(tokens.size).toBe(300);
  });

  it("stay ordered when the stored object's mtime is ahead of the clock", async () => {
    const first = await store.set("k", Uint8Array.of(1));
    const tomorrow = Date.now() / 1000 + 86_400;
    await fs.utimes(path.join(dir, "k"), tomorrow, tomorrow);
    const ahead = (await store.getVersioned("k"))!.version;
    expect(ahead).not.toBe(first);
    const aheadNs = (await fs.stat(path.join(dir, "k"), { bigint: true })).mtimeNs;
    const next = await store.set("k", Uint8Array.of(2), { ifMatch: ahead });
    expect(next).not.toBe(ahead);
    const nextNs = (await fs.stat(path.join(dir, "k"), { bigint: true })).mtimeNs;
    expect(nextNs > aheadNs, `mtime ${nextNs} after ${aheadNs}`).toBe(true);
    expect(nextNs - aheadNs < 1_000_000n, "bumped by microseconds, not more").toBe(true);
    await expectRejection(store.set("k", Uint8Array.of(3), { ifMatch: ahead }), PreconditionFailedError, '"k"');
    expect((await store.getVersioned("k"))!.version).toBe(next);
  });
});

describe("FileSystemStore and symbolic links", () => {
  let dir: string;
  let root: string;
  let outside: string;
  let store: FileSystemStore;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-symlinks-"));
    root = path.join(dir, "root");
    outside = path.join(dir, "outside");
    await fs.mkdir(root);
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, "secret"), "secret");
    await fs.symlink(outside, path.join(root, "esc"));
    store = new FileSystemStore(root);
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("refuses reads, writes, deletes and listings through a directory link that leaves the root", async () => {
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ["esc/secret", () => store.get("esc/secret")],
      ["esc/secret", () => store.get("esc/secret", { offset: 1 })],
      ["esc/secret", () => store.getVersioned("esc/secret")],
      ["esc/new", () => store.set("esc/new", Uint8Array.of(1))],
      ["esc/secret", () => store.set("esc/secret", Uint8Array.of(1), { ifNoneMatch: "*" })],
      ["esc/deeper/new", () => store.set("esc/deeper/new", Uint8Array.of(1))],
      ["esc/secret", () => store.delete("esc/secret")],
      ["esc/missing", () => store.get("esc/missing")],
      ["esc/", () => store.listDir("esc/")],
      ["esc/", () => collect(store.list("esc/"))],
    ];
    for (const [subject, refusal] of refusals) {
      await expectRejection(refusal(), StorageError, JSON.stringify(subject), "outside the pool", "symbolic link");
    }
    await expectRejection(store.deleteMany(["ok", "esc/secret"]), StorageError, '"esc/secret"', "symbolic link");
    expect(await fs.readdir(outside)).toEqual(["secret"]);
    expect(await fs.readFile(path.join(outside, "secret"), "utf8")).toBe("secret");
    expect(await collect(store.list(""))).toEqual([]);
    expect(await store.listDir("")).toEqual({ keys: [], prefixes: [] });
  });

  it("refuses to read an object that is itself a symbolic link", async () => {
    await fs.symlink(path.join(outside, "secret"), path.join(root, "link"));
    await expectRejection(store.get("link"), StorageError, '"link"', "symbolic link");
    await expectRejection(store.getVersioned("link"), StorageError, '"link"', "symbolic link");
    expect(await collect(store.list(""))).toEqual([]);
  });

  it("follows links that stay inside the root, and works on a root reached through a link", async () => {
    await store.set("real/k", Uint8Array.of(5));
    await fs.symlink(path.join(root, "real"), path.join(root, "alias"));
    expectSameBytes(await store.get("alias/k"), Uint8Array.of(5));
    await fs.symlink(root, path.join(dir, "root-link"));
    const viaLink = new FileSystemStore(path.join(dir, "root-link"));
    expectSameBytes(await viaLink.get("real/k"), Uint8Array.of(5));
    await viaLink.set("real/k2", Uint8Array.of(6));
    expect(await collect(viaLink.list("real/"))).toEqual(expect.arrayContaining(["real/k", "real/k2"]));
  });
});
