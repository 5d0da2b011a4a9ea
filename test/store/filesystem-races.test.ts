/**
 * Deterministic versions of the races between a writer and a concurrent delete that prunes the
 * writer's directory: real races hit these windows too rarely to test them by chance, so
 * node:fs/promises is wrapped to remove the directory (or the temp file) at the worst moment.
 */
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StorageError } from "../../src/errors.js";
import { FileSystemStore } from "../../src/store/index.js";
import { expectRejection, expectSameBytes } from "./conformance.js";

const sabotage = vi.hoisted(() => ({ pruneBeforeWrite: 0, removeTempBeforeRename: 0 }));

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
});
