/**
 * The writer lease, for stores without conditional writes: one writable session at a time, commits
 * and branch operations through the lease, and a writer killed with SIGKILL never needs its lock
 * removed by hand (the lease expires). Runs on a real directory store that refuses conditions.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { expectError } from "../helpers/expect-error.js";
import { startWorker } from "../helpers/node-processes.js";
import { environmentWithoutDosna } from "../helpers/s3-fixtures.js";
import { unconditionalPool } from "../helpers/unconditional-store.js";
import { valuesOf } from "../helpers/reference.js";

let root: string;
let counter = 0;
const lease = { ttlMs: 1500, settleMs: 20 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dosna-lease-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function seededRepository(): Promise<{ directory: string; repo: dn.Repository }> {
  const directory = join(root, `pool-${counter++}`);
  const repo = await dn.Repository.init(await unconditionalPool(directory), { lease });
  await using s = await repo.checkout({ branch: "main", write: true });
  await (await s.createDataset("vol", { shape: [4, 4], dtype: "int32", chunks: [2, 2] })).set("...", 1);
  await s.commit("seed");
  return { directory, repo };
}

const first = async (session: dn.Pool) => valuesOf((await (await session.getDataset("vol")).get("0, 0")).data as Int32Array)[0];

describe("writer lease (stores without conditional writes)", () => {
  it("one writable session at a time; the next one gets ConflictError naming the holder, then succeeds once it is released", async () => {
    const { repo } = await seededRepository();
    const writer = await repo.checkout({ branch: "main", write: true });
    await expectError(() => repo.checkout({ branch: "main", write: true }), dn.ConflictError, ["writer lease", `pid ${process.pid}`, "frees itself"]);
    // readers are never blocked
    expect(await first(await repo.checkout({ branch: "main" }))).toBe(1);
    await (await writer.getDataset("vol")).set("0, 0", 5);
    await writer.commit("five");
    await writer.close();
    const next = await repo.checkout({ branch: "main", write: true });
    expect(await first(next)).toBe(5);
    await next.close();
    expect((await repo.log()).map((e) => e.message)).toEqual(["five", "seed", "repository created"]);
  });

  it("branches, tags and merges take the lease for their one write", async () => {
    const { repo } = await seededRepository();
    await repo.createBranch("dev");
    await repo.createTag("v1", "main");
    await expectError(() => repo.createTag("v1", "main"), dn.AlreadyExistsError, ['tag "v1" already exists']);
    {
      await using dev = await repo.checkout({ branch: "dev", write: true });
      await (await dev.getDataset("vol")).set("3, 3", 7);
      await dev.commit("dev");
    }
    expect((await repo.merge("dev", { into: "main" })).fastForward).toBe(true);
    expect(valuesOf((await (await (await repo.checkout()).getDataset("vol")).get("3, 3")).data as Int32Array)[0]).toBe(7);
  });

  it("a writer killed with SIGKILL holds the lease only until it expires; nothing has to be removed by hand", async () => {
    const { directory, repo } = await seededRepository();
    const worker = startWorker(join(import.meta.dirname, "lease-worker.ts"), [directory, String(lease.ttlMs)], environmentWithoutDosna());
    await worker.waitForLine(/^leased$/);
    worker.kill("SIGKILL");
    await worker.ended;
    await expectError(() => repo.checkout({ branch: "main", write: true }), dn.ConflictError, ["writer lease", `pid ${worker.pid}`]);
    await new Promise((resolve) => setTimeout(resolve, lease.ttlMs + 200));
    await using s = await repo.checkout({ branch: "main", write: true });
    expect(await first(s)).toBe(1); // the dead writer never committed
    await (await s.getDataset("vol")).set("0, 0", 2);
    await s.commit("after the crash");
    expect(await first(await repo.checkout())).toBe(2);
  });
});
