import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, NotFoundError, PreconditionFailedError, StorageError, ValidationError } from "../../src/errors.js";
import { FileSystemBackend, FileSystemStore } from "../../src/store/index.js";
import {
  collect,
  expectRejection,
  expectSameBytes,
  INVALID_POOL_NAMES,
  randomData,
  runBackendConformance,
  runNestedPoolConformance,
  runStoreConformance,
} from "./conformance.js";

async function makeTempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-store-"));
}

async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** Every file and directory under `dir`, as "/"-separated relative paths. */
async function tree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map((entry) => entry.split(path.sep).join("/")).sort();
}

runStoreConformance("FileSystemStore", async () => {
  const dir = await makeTempDir();
  return { store: new FileSystemStore(path.join(dir, "root")), cleanup: () => removeDir(dir) };
});

runStoreConformance("FileSystemBackend pool", async () => {
  const dir = await makeTempDir();
  const backend = new FileSystemBackend(dir);
  await backend.createPool("pool");
  return { store: backend.openPool("pool"), cleanup: () => removeDir(dir) };
});

runBackendConformance("FileSystemBackend", async () => {
  const dir = await makeTempDir();
  return { backend: new FileSystemBackend(path.join(dir, "not", "yet", "made")), cleanup: () => removeDir(dir) };
});

runNestedPoolConformance("FileSystemBackend", async () => {
  const dir = await makeTempDir();
  return { backend: new FileSystemBackend(path.join(dir, "not", "yet", "made")), cleanup: () => removeDir(dir) };
});

runNestedPoolConformance("FileSystemBackend, not durable", async () => {
  const dir = await makeTempDir();
  return { backend: new FileSystemBackend(dir, { durable: false }), cleanup: () => removeDir(dir) };
});

describe("FileSystemStore on disk", () => {
  let dir: string;
  let root: string;
  let store: FileSystemStore;

  beforeEach(async () => {
    dir = await makeTempDir();
    root = path.join(dir, "root");
    store = new FileSystemStore(root);
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("stores key a/b/c as the file <root>/a/b/c and describes itself by its path", async () => {
    const data = randomData(100);
    await store.set("a/b/c", data);
    expectSameBytes(new Uint8Array(await fs.readFile(path.join(root, "a", "b", "c"))), data);
    expect(store.description).toBe(`fs:${root}`);
  });

  it("reads a missing root as empty and creates it on the first write", async () => {
    expect(await store.get("k")).toBeUndefined();
    expect(await collect(store.list(""))).toEqual([]);
    expect(await store.listDir("")).toEqual({ keys: [], prefixes: [] });
    await store.set("k", Uint8Array.of(1));
    expect(await tree(root)).toEqual(["k"]);
  });

  it("leaves no temp files after plain sets, overwrites and failed exclusive creates", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `t/${i % 4}/k${i}`);
    await Promise.all(keys.map((key) => store.set(key, randomData(1000))));
    await Promise.all(keys.map((key) => store.set(key, randomData(10))));
    const refused = await Promise.allSettled(keys.map((key) => store.set(key, randomData(5), { ifNoneMatch: true })));
    expect(refused.every((outcome) => outcome.status === "rejected")).toBe(true);
    const files = (await tree(root)).filter((entry) => !["t", "t/0", "t/1", "t/2", "t/3"].includes(entry));
    expect(files).toEqual([...keys].sort());
  });

  it("a reader racing repeated overwrites only ever sees complete versions", async () => {
    // Version v is (200 KiB + v) bytes, all equal to v: a torn or mixed read shows up as a wrong
    // length or a stray byte value.
    const versionLength = (version: number) => 200 * 1024 + version;
    const version = (v: number) => new Uint8Array(versionLength(v)).fill(v);
    await store.set("hot", version(1));
    let writing = true;
    const writer = (async () => {
      for (let v = 2; v <= 60; v++) await store.set("hot", version(v));
      writing = false;
    })();
    let reads = 0;
    const problems: string[] = [];
    while (writing) {
      const [whole, tail] = await Promise.all([store.get("hot"), store.get("hot", { suffixLength: 16 })]);
      reads++;
      const v = whole?.[0] ?? -1;
      if (whole === undefined || whole.length !== versionLength(v) || whole.some((byte) => byte !== v)) {
        problems.push(`torn read of ${whole?.length} bytes starting with ${v}`);
      }
      if (tail === undefined || tail.length !== 16 || tail.some((byte) => byte !== tail[0])) {
        problems.push("torn ranged read");
      }
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expectSameBytes(await store.get("hot"), version(60));
  });

  it("deleting the last key prunes empty directories up to, not including, the root", async () => {
    await store.set("p/q/r/s", Uint8Array.of(1));
    await store.set("p/kept", Uint8Array.of(2));
    await store.delete("p/q/r/s");
    expect(await tree(root)).toEqual(["p", "p/kept"]);
    await store.delete("p/kept");
    expect(await tree(root)).toEqual([]);
  });

  it("rejects keys that would escape the root, and writes nothing outside it", async () => {
    for (const key of ["../outside", "a/../../outside", "/etc/passwd", "..\\outside"]) {
      await expectRejection(store.set(key, Uint8Array.of(1)), ValidationError, JSON.stringify(key));
    }
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it("rejects keys that look like its own temp files", async () => {
    await expectRejection(store.set("a/.123.abc.dosna-tmp", Uint8Array.of(1)), ValidationError, "temp");
  });

  it("rejects keys that look like its own lock files", async () => {
    await expectRejection(store.set("a/.k.dosna-lock", Uint8Array.of(1)), ValidationError, "lock", '"a/.k.dosna-lock"');
    await expectRejection(store.get(".0123456789abcdef.dosna-reap"), ValidationError, "lock");
  });

  it("leaves no lock or temp file behind, and no directory after a failed conditional write", async () => {
    const version = await store.set("cas/k", Uint8Array.of(1));
    await store.set("cas/k", Uint8Array.of(2), { ifMatch: version });
    await expectRejection(store.set("cas/k", Uint8Array.of(3), { ifMatch: version }), PreconditionFailedError, '"cas/k"');
    await expectRejection(store.set("new/dir/k", Uint8Array.of(3), { ifMatch: version }), PreconditionFailedError, '"new/dir/k"');
    await expectRejection(store.delete("cas/k", { ifMatch: version }), PreconditionFailedError, '"cas/k"');
    await expectRejection(store.delete("new/dir/k", { ifMatch: version }), PreconditionFailedError, '"new/dir/k"');
    expect(await tree(root)).toEqual(["cas", "cas/k"]);
  });

  it("locks keys whose names are too long to take the lock file's affixes", async () => {
    const key = `long/${"n".repeat(250)}`;
    const version = await store.set(key, Uint8Array.of(1));
    await store.set(key, Uint8Array.of(2), { ifMatch: version });
    expectSameBytes(await store.get(key), Uint8Array.of(2));
    await store.delete(key);
    expect(await tree(root)).toEqual([]);
  });

  it("works the same with durable: false, and refuses bad options naming them", async () => {
    const fast = new FileSystemStore(root, { durable: false });
    const version = await fast.set("f/k", Uint8Array.of(1));
    expect((await fast.getVersioned("f/k"))?.version).toBe(version);
    await fast.set("f/k", Uint8Array.of(2), { ifMatch: version });
    await fast.deleteMany(["f/k"]);
    expect(await tree(root)).toEqual([]);
    expect(() => new FileSystemStore(root, { lockStaleMs: 0 })).toThrow(/lockStaleMs.*positive/);
    expect(() => new FileSystemStore(root, { durable: "yes" as unknown as boolean })).toThrow(ValidationError);
    expect(() => new FileSystemBackend(dir, { lockStaleMs: Number.NaN })).toThrow(/FileSystemBackend.*lockStaleMs/);
  });

  it("treats a path through a file, or a directory, as a missing key", async () => {
    await store.set("file", Uint8Array.of(1));
    await store.set("dir/inner", Uint8Array.of(2));
    expect(await store.get("file/below")).toBeUndefined();
    expect(await store.get("file/below", { offset: 0 })).toBeUndefined();
    expect(await store.get("dir")).toBeUndefined();
    await store.delete("file/below");
    await store.delete("dir");
    expect(await tree(root)).toEqual(["dir", "dir/inner", "file"]);
  });

  it("reports other I/O failures as StorageError naming the path and the error code", async () => {
    await store.set("file", Uint8Array.of(1));
    const error = await store.set("file/below", Uint8Array.of(2)).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/ENOTDIR|EEXIST/);
    expect((error as Error).message).toContain(path.join(root, "file"));
    expect((error as Error).message).toContain('"file/below"');
  });

  it.skipIf(process.getuid?.() === 0)("reports an unreadable directory as StorageError with EACCES", async () => {
    await store.set("locked/k", Uint8Array.of(1));
    await fs.chmod(path.join(root, "locked"), 0o000);
    try {
      await expectRejection(store.get("locked/k"), StorageError, "EACCES", path.join(root, "locked"));
      await expectRejection(store.listDir("locked/"), StorageError, "EACCES");
    } finally {
      await fs.chmod(path.join(root, "locked"), 0o755);
    }
  });
});

describe("FileSystemBackend on disk", () => {
  let dir: string;
  let backend: FileSystemBackend;

  beforeEach(async () => {
    dir = await makeTempDir();
    backend = new FileSystemBackend(dir);
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it("keeps pools as sub-directories and lists only those, not dot-directories or files", async () => {
    await backend.createPool("alpha");
    await backend.createPool("beta");
    await fs.mkdir(path.join(dir, ".hidden"));
    await fs.writeFile(path.join(dir, "stray-file"), "x");
    expect(await backend.listPools()).toEqual(["alpha", "beta"]);
    expect((await fs.stat(path.join(dir, "alpha"))).isDirectory()).toBe(true);
    expect(await backend.hasPool("stray-file")).toBe(false);
    await expectRejection(backend.deletePool("stray-file"), NotFoundError, "stray-file");
    expect(await fs.readFile(path.join(dir, "stray-file"), "utf8")).toBe("x");
  });

  it("deletes a pool with everything in it", async () => {
    await backend.createPool("full");
    await backend.openPool("full").set("a/b/c", Uint8Array.of(1));
    await backend.deletePool("full");
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it("gives its pools' stores the durable and lockStaleMs options", async () => {
    const quick = new FileSystemBackend(dir, { durable: false, lockStaleMs: 150 });
    await quick.createPool("p");
    const store = quick.openPool("p");
    await store.set("k", Uint8Array.of(1));
    // A fresh lock of another host: the pool's store waits for it only as long as its stale timeout.
    await fs.writeFile(path.join(dir, "p", ".k.dosna-lock"), JSON.stringify({ host: "0123456789ab", pid: 1, nonce: "0123456789abcdef" }));
    const started = performance.now();
    await store.set("k", Uint8Array.of(2));
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("the store of a deleted pool reads nothing and refuses to write, rather than recreating the pool", async () => {
    await backend.createPool("gone");
    const store = backend.openPool("gone");
    await store.set("k", Uint8Array.of(1));
    await backend.deletePool("gone");
    expect(await store.get("k")).toBeUndefined();
    await expectRejection(store.set("a/b", Uint8Array.of(2)), NotFoundError, '"a/b"', path.join(dir, "gone"));
    expect(await backend.hasPool("gone")).toBe(false);
  });

  it("keeps a nested pool as nested directories and lists only the top-level directory", async () => {
    await backend.createPool("a/b/c");
    await backend.openPool("a/b/c").set("g/zarr.json", Uint8Array.of(1));
    expect(await tree(dir)).toEqual(["a", "a/b", "a/b/c", "a/b/c/g", "a/b/c/g/zarr.json"]);
    expect(await fs.readFile(path.join(dir, "a", "b", "c", "g", "zarr.json"))).toEqual(Buffer.of(1));
    expect(await backend.listPools()).toEqual(["a"]);
    // The directories above a nested pool stand at pool paths too.
    expect(await backend.hasPool("a/b")).toBe(true);
    await expectRejection(backend.createPool("a/b"), AlreadyExistsError, '"a/b"');
  });

  it("deletes a nested pool with everything in it, leaving its parents and its sibling", async () => {
    await backend.createPool("a/b/c");
    await backend.createPool("a/b/d");
    await backend.openPool("a/b/c").set("x/k", Uint8Array.of(1));
    await backend.openPool("a/b/d").set("k", Uint8Array.of(2));
    await backend.deletePool("a/b/c");
    expect(await tree(dir)).toEqual(["a", "a/b", "a/b/d", "a/b/d/k"]);
    expectSameBytes(await backend.openPool("a/b/d").get("k"), Uint8Array.of(2));
    await backend.deletePool("a/b/d");
    expect(await tree(dir)).toEqual(["a", "a/b"]);
    expect(await backend.hasPool("a/b")).toBe(true);
  });

  it("makes the missing parents of a nested pool under an existing one", async () => {
    await backend.createPool("a");
    await backend.openPool("a").set("k", Uint8Array.of(1));
    await backend.createPool("a/x/y");
    expect(await tree(dir)).toEqual(["a", "a/k", "a/x", "a/x/y"]);
  });

  it("fails with StorageError, not AlreadyExistsError, when a parent of a nested pool is a file", async () => {
    await backend.createPool("a");
    await backend.openPool("a").set("f", Uint8Array.of(1));
    await expectRejection(backend.createPool("a/f/c"), StorageError, '"a/f/c"', path.join(dir, "a", "f"));
    await expectRejection(backend.createPool("a/f/c/d"), StorageError, '"a/f/c/d"');
    expect(await tree(dir)).toEqual(["a", "a/f"]);
  });

  it("creates nothing on disk for a refused pool name, not even the root", async () => {
    const rooted = new FileSystemBackend(path.join(dir, "root"));
    for (const poolName of [...INVALID_POOL_NAMES, "../outside", "a/../../outside"]) {
      await expectRejection(rooted.createPool(poolName), ValidationError, JSON.stringify(poolName));
      await expectRejection(rooted.deletePool(poolName), ValidationError, JSON.stringify(poolName));
      expect(() => rooted.openPool(poolName)).toThrow(ValidationError);
    }
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
