/**
 * Deterministic versions of the races between a writer and a concurrent delete that prunes the
 * writer's directory: real races hit these windows too rarely to test them by chance, so
 * node:fs/promises is wrapped to remove the directory (or the temp file) at the worst moment.
 */
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PreconditionFailedError, StorageError } from "../../src/errors.js";
import { FileSystemStore } from "../../src/store/index.js";
import { expectRejection, expectSameBytes } from "./conformance.js";

const sabotage = vi.hoisted(() => ({
  pruneBeforeWrite: 0,
  removeTempBeforeRename: 0,
  /** Run once, just before the next lock file is created: another writer's move between a precheck and the lock. */
  beforeLock: undefined as (() => Promise<void>) | undefined,
  /** How often a lock file was opened to see who holds it, i.e. how often a writer waited on one. */
  lockInspections: 0,
}));

vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const { dirname } = await import("node:path");
  return {
    ...actual,
    writeFile: async (...args: Parameters<typeof actual.writeFile>) => {
      const [file] = args;
      if (sabotage.pruneBeforeWrite > 0 && typeof file === "string") {
        sabotage.pruneBeforeWrite--;
        await actual.rmdir(dirname(file)).catch(() => undefined);
      }
      return actual.writeFile(...args);
    },
    open: async (...args: Parameters<typeof actual.open>) => {
      if (String(args[0]).endsWith(".dosna-lock")) sabotage.lockInspections++;
      return actual.open(...args);
    },
    link: async (...args: Parameters<typeof actual.link>) => {
      const before = sabotage.beforeLock;
      if (before !== undefined && String(args[1]).endsWith(".dosna-lock")) {
        sabotage.beforeLock = undefined;
        await before();
      }
      return actual.link(...args);
    },
    rename: async (...args: Parameters<typeof actual.rename>) => {
      if (sabotage.removeTempBeforeRename > 0) {
        sabotage.removeTempBeforeRename--;
        await actual.unlink(args[0]);
      }
      return actual.rename(...args);
    },
  };
});

const fs = await import("node:fs/promises");

describe("FileSystemStore writers racing directory pruning", () => {
  let dir: string;
  let store: FileSystemStore;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dosna-fs-races-"));
    store = new FileSystemStore(dir);
    sabotage.pruneBeforeWrite = 0;
    sabotage.removeTempBeforeRename = 0;
    sabotage.beforeLock = undefined;
    sabotage.lockInspections = 0;
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("recreates a directory pruned between its mkdir and the write, as often as it happens", async () => {
    await store.set("a/b/old", Uint8Array.of(1));
    await store.delete("a/b/old"); // a/b is gone, so the next write must make it
    sabotage.pruneBeforeWrite = 5;
    await store.set("a/b/new", Uint8Array.of(2));
    expect(sabotage.pruneBeforeWrite).toBe(0);
    expectSameBytes(await store.get("a/b/new"), Uint8Array.of(2));
    expect(await fs.readdir(path.join(dir, "a", "b"))).toEqual(["new"]);
  });

  it("retries an exclusive create whose directory was pruned", async () => {
    sabotage.pruneBeforeWrite = 3;
    await store.set("x/y/z", Uint8Array.of(3), { ifNoneMatch: true });
    expectSameBytes(await store.get("x/y/z"), Uint8Array.of(3));
  });

  it("writes again when its temp file vanished before the rename", async () => {
    sabotage.removeTempBeforeRename = 2;
    await store.set("t/k", Uint8Array.of(4));
    expectSameBytes(await store.get("t/k"), Uint8Array.of(4));
    expect(await fs.readdir(path.join(dir, "t"))).toEqual(["k"]);
  });

  it("gives up with StorageError naming the key rather than retrying forever", async () => {
    sabotage.pruneBeforeWrite = Number.POSITIVE_INFINITY;
    await expectRejection(store.set("never/lands", Uint8Array.of(5)), StorageError, '"never/lands"', "ENOENT");
  });

  it("a conditional write that loses under the lock to a delete of the last key leaves no directory behind", async () => {
    const version = await store.set("p/q/k", Uint8Array.of(1));
    // As another process would: the directory cannot be pruned yet, the writer's temp file is in it.
    sabotage.beforeLock = () => fs.unlink(path.join(dir, "p", "q", "k"));
    await expectRejection(store.set("p/q/k", Uint8Array.of(2), { ifMatch: version }), PreconditionFailedError, '"p/q/k"');
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it("a delete beside a write in progress leaves the directory to it, and the last delete prunes it", async () => {
    await store.set("r/old", Uint8Array.of(1));
    // The delete's lock file is created while the other key's write is about to rename into r/.
    sabotage.beforeLock = () => store.delete("r/old");
    await store.set("r/new", Uint8Array.of(2));
    expect(await fs.readdir(path.join(dir, "r"))).toEqual(["new"]);
    await store.delete("r/new");
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it("writers of one key in one process queue in memory rather than poll each other's lock files", async () => {
    const twin = new FileSystemStore(dir);
    const writes = Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? store : twin).set("q/k", Uint8Array.of(i)));
    await Promise.all(writes);
    expect(sabotage.lockInspections).toBe(0);
    expect(await fs.readdir(path.join(dir, "q"))).toEqual(["k"]);
  });
});
