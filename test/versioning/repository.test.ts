/**
 * Repositories on every backend (memory, fs, and the RGW when configured): commits, isolation of
 * sessions, conflicts and rebase, branches and tags, log, diff, merge, time travel, summary, gc,
 * export and a version read by zarrita, the File face on a version, and the bad-input table.
 * Values are checked against plain arrays kept beside; stored objects are counted in the pool.
 */
import * as zarr from "zarrita";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds, type ClusterFixture, uniquePoolName } from "../helpers/clusters.js";
import { expectError } from "../helpers/expect-error.js";
import { valuesOf } from "../helpers/reference.js";
import { expectStoreUnchanged, snapshotStore } from "../helpers/store-snapshot.js";

const author = { name: "Ada", email: "ada@example.org" };

/** Keys under the repository's own prefix, by kind. */
async function repoObjects(pool: dn.Pool): Promise<{ chunks: number; manifests: number; snapshots: number }> {
  const counts = { chunks: 0, manifests: 0, snapshots: 0 };
  for await (const key of pool.store.list(".dosna/repo/")) {
    if (key.startsWith(".dosna/repo/chunks/")) counts.chunks++;
    else if (key.startsWith(".dosna/repo/manifests/")) counts.manifests++;
    else if (key.startsWith(".dosna/repo/snapshots/")) counts.snapshots++;
  }
  return counts;
}

async function read(session: dn.Pool, path: string, selection = "..."): Promise<number[]> {
  return valuesOf((await (await session.getDataset(path)).get(selection)).data as Int32Array).map(Number);
}

for (const kind of backendKinds) {
  describe(`Repository on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    const pools: string[] = [];
    const newPool = async () => {
      const name = kind.name === "s3" ? uniquePoolName("repo").toLowerCase().slice(0, 60) : uniquePoolName("repo");
      pools.push(name);
      return fixture.cluster.createPool(name);
    };
    /** A repository with dataset "vol" ([8, 8] int32 in [2, 4] chunks) committed as values 0..63. */
    const seeded = async () => {
      const pool = await newPool();
      const repo = await dn.Repository.init(pool, { author });
      const s = await repo.checkout({ branch: "main", write: true });
      const ds = await s.createDataset("vol", { shape: [8, 8], dtype: "int32", chunks: [2, 4] });
      await ds.set("...", new Int32Array(64).map((_, i) => i));
      const first = await s.commit("seed");
      return { pool, repo, session: s, first };
    };
    const seedValues = () => Array.from({ length: 64 }, (_, i) => i);

    beforeAll(async () => {
      fixture = await kind.make();
    });
    afterAll(async () => {
      for (const name of pools) await fixture.cluster.deletePool(name, { force: true }).catch(() => undefined);
      await fixture.cleanup();
    });

    it("init makes main with a first commit; open finds it; a second init and open of a plain pool are refused", async () => {
      const pool = await newPool();
      await expectError(() => dn.Repository.open(pool), dn.NotFoundError, [pool.describe, "holds no repository"]);
      const repo = await dn.Repository.init(pool, { author });
      expect(await repo.listBranches()).toEqual(["main"]);
      const log = await repo.log("main");
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ parents: [], message: "repository created", author });
      const before = await snapshotStore(pool.store);
      await expectError(() => dn.Repository.init(pool), dn.AlreadyExistsError, [pool.describe, "already holds a repository"]);
      await expectStoreUnchanged(pool.store, before);
      expect((await dn.Repository.open(pool)).defaultAuthor.name).toBeTypeOf("string");
    });

    it("a session's writes are invisible until commit, which makes them visible at once; old snapshots keep their data", async () => {
      const { repo, session, first } = await seeded();
      const ds = await session.getDataset("vol");
      await ds.set("0:2, :", -1);
      await session.createGroup("extra");
      const reader = await repo.checkout({ branch: "main" });
      expect(await read(reader, "vol")).toEqual(seedValues());
      expect(await reader.keys()).toEqual(["vol"]);
      const second = await session.commit("negate two rows", { metadata: { beamline: "I13" } });
      const after = await repo.checkout({ branch: "main" });
      const expected = seedValues().map((v, i) => (i < 16 ? -1 : v));
      expect(await read(after, "vol")).toEqual(expected);
      expect(await after.keys()).toEqual(["extra", "vol"]);
      expect(await read(await repo.checkout({ snapshot: first }), "vol")).toEqual(seedValues());
      const log = await repo.log("main");
      expect(log.map((e) => e.message)).toEqual(["negate two rows", "seed", "repository created"]);
      expect(log[0]).toMatchObject({ id: second, parents: [first], metadata: { beamline: "I13" }, author });
      expect(log[0].time).toBeInstanceOf(Date);
    });

    it("a one-element change shares every other chunk: one chunk, one manifest and one snapshot are written", async () => {
      const { pool, session } = await seeded();
      const before = await repoObjects(pool);
      await (await session.getDataset("vol")).set("5, 6", 1000);
      await session.commit("one element");
      const after = await repoObjects(pool);
      expect(after).toEqual({ chunks: before.chunks + 1, manifests: before.manifests + 1, snapshots: before.snapshots + 1 });
    });

    it("two sessions from one snapshot: the second commit gets ConflictError; rebase of disjoint chunks succeeds and keeps both", async () => {
      const { repo } = await seeded();
      const a = await repo.checkout({ branch: "main", write: true });
      const b = await repo.checkout({ branch: "main", write: true });
      await (await a.getDataset("vol")).set("0, 0", 100);
      await (await b.getDataset("vol")).set("7, 7", 200);
      await a.commit("a");
      const head = (await repo.log("main"))[0].id;
      await expectError(() => b.commit("b"), dn.ConflictError, ['branch "main"', "rebase"]);
      expect((await repo.log("main"))[0].id).toBe(head);
      await b.rebase();
      await b.commit("b");
      const values = await read(await repo.checkout(), "vol");
      expect(values[0]).toBe(100);
      expect(values[63]).toBe(200);
      // commit({ rebase: true }) does the same in one call
      const c = await repo.checkout({ branch: "main", write: true });
      const d = await repo.checkout({ branch: "main", write: true });
      await (await c.getDataset("vol")).set("2, 0", 300);
      await (await d.getDataset("vol")).set("4, 4", 400);
      await c.commit("c");
      await d.commit("d", { rebase: true });
      const final = await read(await repo.checkout(), "vol");
      expect([final[0], final[16], final[36], final[63]]).toEqual([100, 300, 400, 200]);
      expect((await repo.log("main")).slice(0, 4).map((e) => e.message)).toEqual(["d", "c", "b", "a"]);
    });

    it("overlapping chunks: rebase fails listing the dataset and chunk keys, and nothing changes", async () => {
      const { pool, repo } = await seeded();
      const a = await repo.checkout({ branch: "main", write: true });
      const b = await repo.checkout({ branch: "main", write: true });
      await (await a.getDataset("vol")).set("0, 0", 1);
      await (await b.getDataset("vol")).set("1, 1:6", 2); // chunks c/0/0 and c/0/1
      await a.commit("a");
      const refs = await snapshotStore(pool.store, ".dosna/repo/refs/");
      const error = await expectError(() => b.commit("b", { rebase: true }), dn.MergeConflictError, ['"/vol"', "c/0/0"]);
      expect(error.conflicts).toEqual([{ path: "vol", metadata: false, chunks: ["c/0/0"] }]);
      expect(await snapshotStore(pool.store, ".dosna/repo/refs/")).toEqual(refs);
      // the loser's session still holds its changes
      expect((await read(b, "vol", "1, :"))).toEqual([8, 2, 2, 2, 2, 2, 14, 15]);
      // metadata changed on both sides conflicts too
      const c = await repo.checkout({ branch: "main", write: true });
      const d = await repo.checkout({ branch: "main", write: true });
      await (await c.getDataset("vol")).attrs.set("units", "mm");
      await (await d.getDataset("vol")).attrs.set("units", "cm");
      await c.commit("c");
      const metadataConflict = await expectError(() => d.commit("d", { rebase: true }), dn.MergeConflictError, ["metadata"]);
      expect(metadataConflict.conflicts[0]).toMatchObject({ path: "vol", metadata: true });
    });

    it("branches and tags: create from a snapshot, tags never move, reset and delete (never main); names are checked", async () => {
      const { pool, repo, session, first } = await seeded();
      await repo.createBranch("dev", { from: first });
      await repo.createTag("v1", first);
      await (await session.getDataset("vol")).set("0, 0", -5);
      const second = await session.commit("change");
      expect(await repo.resolve("v1")).toBe(first);
      expect(await repo.resolve("dev")).toBe(first);
      expect(await repo.resolve("main")).toBe(second);
      const refs = await snapshotStore(pool.store, ".dosna/repo/refs/");
      await expectError(() => repo.createTag("v1", second), dn.AlreadyExistsError, ['tag "v1" already exists']);
      await expectError(() => repo.deleteBranch("main"), dn.ValidationError, ['"main" cannot be deleted']);
      for (const bad of ["a/../b", "has space", "tab\there", "ctrl\u0001", "", "../x", ".hidden", "a//b"]) {
        await expect(repo.createBranch(bad), JSON.stringify(bad)).rejects.toThrow(dn.ValidationError);
        await expect(repo.createTag(bad, first)).rejects.toThrow(dn.ValidationError);
      }
      expect(await snapshotStore(pool.store, ".dosna/repo/refs/")).toEqual(refs);
      expect(await repo.listTags()).toEqual(["v1"]);
      await repo.createBranch("feature/x", { from: "v1" });
      expect(await repo.listBranches()).toEqual(["dev", "feature/x", "main"]);
      await repo.resetBranch("main", "v1");
      expect(await read(await repo.checkout(), "vol")).toEqual(seedValues());
      await repo.resetBranch("main", second);
      await repo.deleteBranch("dev");
      expect(await repo.listBranches()).toEqual(["feature/x", "main"]);
      expect((await read(await repo.checkout({ tag: "v1" }), "vol"))[0]).toBe(0);
    });

    it("checkout of what does not exist names it and lists the branches; writes through a read-only checkout are refused", async () => {
      const { repo } = await seeded();
      await expectError(() => repo.checkout({ branch: "nope" }), dn.NotFoundError, ['branch "nope"', "branches: main"]);
      await expectError(() => repo.checkout({ tag: "nope" }), dn.NotFoundError, ['tag "nope"', "branches: main"]);
      await expectError(() => repo.checkout({ snapshot: "0123456789abcdef01234567" }), dn.NotFoundError, ["snapshot 0123456789abcdef01234567"]);
      await expectError(() => repo.checkout({ snapshot: "nonsense" }), dn.ValidationError, ["24 hex digits"]);
      await expectError(() => repo.resolve("nope"), dn.NotFoundError, ['"nope"', "branches: main"]);
      const reader = await repo.checkout({ branch: "main" });
      await expect((await reader.getDataset("vol")).set("0, 0", 1)).rejects.toThrow(dn.ReadOnlyError);
      await expect(reader.createGroup("g")).rejects.toThrow(dn.ReadOnlyError);
      await expect(reader.commit("x")).rejects.toThrow(dn.ReadOnlyError);
      const writer = await repo.checkout({ branch: "main", write: true });
      await expectError(() => writer.commit("nothing"), dn.ValidationError, ["nothing to commit", "allowEmpty"]);
      const empty = await writer.commit("empty on purpose", { allowEmpty: true });
      expect((await repo.log())[0]).toMatchObject({ id: empty, message: "empty on purpose" });
    });

    it("diff lists added and removed nodes, changed metadata and attributes, and the chunk indices added, changed and removed", async () => {
      const { repo, session, first } = await seeded();
      await (await session.getDataset("vol")).set("0, 0", -1); // chunk [0, 0] changed
      await (await session.getDataset("vol")).set("6:8, 4:8", 0); // chunk [3, 1]: all zero is still stored (fill 0? removed)
      await (await session.getDataset("vol")).attrs.set("units", "mm");
      await session.createDataset("added", { shape: [4], dtype: "uint8", chunks: [2] });
      await session.createGroup("g");
      const second = await session.commit("several");
      const diff = await repo.diff(first, second);
      expect(diff.added).toEqual([{ path: "added", kind: "array" }, { path: "g", kind: "group" }]);
      expect(diff.removed).toEqual([]);
      expect(diff.datasets).toEqual([{ path: "vol", metadataChanged: false, attributesChanged: true, chunks: { added: [], changed: [[0, 0]], removed: [[3, 1]] } }]);
      const s2 = await repo.checkout({ branch: "main", write: true });
      await s2.deleteDataset("added");
      await (await s2.getDataset("vol")).resize([10, 8]);
      await (await s2.getDataset("vol")).set("9, 0", 5);
      const third = await s2.commit("resize");
      const back = await repo.diff(second, third);
      expect(back.removed).toEqual([{ path: "added", kind: "array" }]);
      expect(back.datasets[0]).toMatchObject({ path: "vol", metadataChanged: true, attributesChanged: false, chunks: { added: [[4, 0]] } });
      expect((await repo.diff(third, third)).datasets).toEqual([]);
    });

    it("merge: fast-forward, a 3-way merge of disjoint changes, and conflicts that leave the target unchanged", async () => {
      const { pool, repo, first } = await seeded();
      await repo.createBranch("dev", { from: first });
      const dev = await repo.checkout({ branch: "dev", write: true });
      await (await dev.getDataset("vol")).set("7, :", 9);
      const devHead = await dev.commit("dev rows");
      expect(await repo.merge("dev", { into: "main" })).toEqual({ snapshot: devHead, fastForward: true });
      expect(await repo.resolve("main")).toBe(devHead);
      // diverge: main changes row 0, dev changes row 6 and adds a dataset
      const main = await repo.checkout({ branch: "main", write: true });
      await (await main.getDataset("vol")).set("0, :", 1);
      await main.commit("main row 0");
      const dev2 = await repo.checkout({ branch: "dev", write: true });
      await (await dev2.getDataset("vol")).set("6, :", 2);
      await dev2.createDataset("notes", { shape: [2], dtype: "int32", data: new Int32Array([4, 2]) });
      await dev2.commit("dev row 6");
      const merged = await repo.merge("dev", { into: "main", message: "bring dev in" });
      expect(merged.fastForward).toBe(false);
      const entry = (await repo.log("main"))[0];
      expect(entry).toMatchObject({ id: merged.snapshot, message: "bring dev in" });
      expect(entry.parents).toHaveLength(2);
      const values = await read(await repo.checkout(), "vol");
      expect(values.slice(0, 8)).toEqual(Array(8).fill(1));
      expect(values.slice(48, 56)).toEqual(Array(8).fill(2));
      expect(values.slice(56)).toEqual(Array(8).fill(9));
      expect(await read(await repo.checkout(), "notes")).toEqual([4, 2]);
      // conflicting: both change chunk [0, 0]
      const m = await repo.checkout({ branch: "main", write: true });
      await (await m.getDataset("vol")).set("0, 0", 50);
      await m.commit("m");
      const d = await repo.checkout({ branch: "dev", write: true });
      await (await d.getDataset("vol")).set("1, 1", 60);
      await d.commit("d");
      const refs = await snapshotStore(pool.store, ".dosna/repo/refs/");
      const error = await expectError(() => repo.merge("dev", { into: "main" }), dn.MergeConflictError, ['"/vol"', "c/0/0"]);
      expect(error.conflicts).toEqual([{ path: "vol", metadata: false, chunks: ["c/0/0"] }]);
      expect(await snapshotStore(pool.store, ".dosna/repo/refs/")).toEqual(refs);
    });

    it("time travel: a branch as of a time is its newest snapshot made at or before it", async () => {
      const { repo, session } = await seeded();
      const t0 = new Date();
      await new Promise((resolve) => setTimeout(resolve, 15));
      await (await session.getDataset("vol")).set("0, 0", 77);
      await session.commit("later");
      expect((await read(await repo.checkout({ branch: "main", asOf: t0 }), "vol"))[0]).toBe(0);
      expect((await read(await repo.checkout({ branch: "main", asOf: new Date() }), "vol"))[0]).toBe(77);
      await expectError(() => repo.checkout({ branch: "main", asOf: new Date(0) }), dn.NotFoundError, ["no snapshot made at or before"]);
    });

    it("summary: branches, tags, head commit, datasets with stored chunks and bytes", async () => {
      const { repo, first } = await seeded();
      await repo.createTag("v1", first);
      const summary = await repo.summary();
      expect(summary.branches).toEqual({ main: first });
      expect(summary.tags).toEqual({ v1: first });
      expect(summary.head).toMatchObject({ id: first, message: "seed" });
      expect(summary.datasets).toEqual([{ path: "vol", shape: [8, 8], dtype: "int32", chunks: 8, bytes: expect.any(Number) }]);
      expect(summary.storedChunks).toBe(8);
      expect(summary.storedBytes).toBe(summary.datasets[0].bytes);
    });

    it("a missing or corrupt manifest or snapshot is CorruptMetadataError naming the object; other snapshots stay readable", async () => {
      const { pool, repo, session, first } = await seeded();
      const manifestKeys = async () => {
        const keys: string[] = [];
        for await (const key of pool.store.list(".dosna/repo/manifests/")) keys.push(key);
        return keys;
      };
      const earlier = new Set(await manifestKeys());
      await (await session.getDataset("vol")).set("0, 0", -1);
      const second = await session.commit("second");
      // corrupt the manifest the second commit wrote
      const newest = (await manifestKeys()).filter((key) => !earlier.has(key))[0];
      await pool.store.set(newest, new TextEncoder().encode("{not json"));
      const fresh = await dn.Repository.open(pool);
      const broken = await fresh.checkout({ snapshot: second });
      await expectError(() => read(broken, "vol"), dn.CorruptMetadataError, ["manifest", newest.slice(".dosna/repo/manifests/".length, -5), '"/vol"']);
      expect(await read(await fresh.checkout({ snapshot: first }), "vol")).toEqual(seedValues());
      await pool.store.delete(newest);
      await expectError(() => (dn.Repository.open(pool)).then(async (r) => read(await r.checkout({ snapshot: second }), "vol")), dn.CorruptMetadataError, ["is missing", '"/vol"']);
      await pool.store.set(`.dosna/repo/snapshots/${second}.json`, new TextEncoder().encode('{"format":"dosna-snapshot"}'));
      await expectError(() => (dn.Repository.open(pool)).then((r) => r.checkout({ snapshot: second })), dn.CorruptMetadataError, [`snapshot ${second}`, "malformed"]);
    });

    it("gc removes what no branch or tag reaches, never what they reach, and spares young objects", async () => {
      const { pool, repo } = await seeded();
      const abandoned = await repo.checkout({ branch: "main", write: true });
      await (await abandoned.getDataset("vol")).set("...", 5); // 8 chunk objects no commit will reach
      const before = await repoObjects(pool);
      const young = await repo.gc(); // default grace period: an hour
      expect(young.deleted).toEqual({ snapshots: 0, manifests: 0, chunks: 0 });
      const result = await repo.gc({ olderThan: new Date(Date.now() + 60_000) });
      expect(result.deleted).toEqual({ snapshots: 0, manifests: 0, chunks: 8 });
      expect(await repoObjects(pool)).toEqual({ ...before, chunks: before.chunks - 8 });
      expect(await read(await repo.checkout(), "vol")).toEqual(seedValues());
    });

    it("expire drops old history no ref points at; gc then deletes it; every branch and tag reads as before", async () => {
      const { pool, repo, session } = await seeded();
      const pause = () => new Promise((resolve) => setTimeout(resolve, 15));
      const ds = await session.getDataset("vol");
      await pause();
      await ds.set("0, :", 1);
      const tagged = await session.commit("row 0 = 1");
      await repo.createTag("keep", tagged);
      await pause();
      await ds.set("0, :", 2);
      await session.commit("row 0 = 2");
      await pause();
      await ds.set("0, :", 3);
      const oldHead = await session.commit("row 0 = 3");
      await pause();
      const cutoff = new Date();
      await pause();
      await ds.set("1, :", 4);
      const head = await session.commit("row 1 = 4");
      const before = await read(await repo.checkout(), "vol");
      const keptBefore = await read(await repo.checkout({ tag: "keep" }), "vol");
      expect((await repo.log()).map((e) => e.message)).toEqual(["row 1 = 4", "row 0 = 3", "row 0 = 2", "row 0 = 1", "seed", "repository created"]);
      const result = await repo.expire({ olderThan: cutoff });
      // "seed", "row 0 = 2" and "row 0 = 3" are old and unpointed; the tag keeps "row 0 = 1", the first snapshot stays
      expect(result.expired).toHaveLength(3);
      expect(result.expired).toContain(oldHead);
      expect(result.rewritten).toEqual([head, tagged].sort());
      expect((await repo.log()).map((e) => e.message)).toEqual(["row 1 = 4", "row 0 = 1", "repository created"]);
      const counts = await repoObjects(pool);
      const gc = await repo.gc({ olderThan: new Date(Date.now() + 60_000) });
      expect(gc.deleted.snapshots).toBe(3);
      expect(gc.deleted.chunks).toBeGreaterThan(0);
      expect(await repoObjects(pool)).toEqual({ chunks: counts.chunks - gc.deleted.chunks, manifests: counts.manifests - gc.deleted.manifests, snapshots: counts.snapshots - 3 });
      const reopened = await dn.Repository.open(pool);
      expect(await read(await reopened.checkout(), "vol")).toEqual(before);
      expect(await read(await reopened.checkout({ tag: "keep" }), "vol")).toEqual(keptBefore);
      await expectError(() => reopened.checkout({ snapshot: oldHead }), dn.NotFoundError, [oldHead]);
    });

    it("an existing plain pool is imported as the first commit; export writes a version as plain Zarr that zarrita opens", async () => {
      const pool = await newPool();
      const plain = await pool.createDataset("scans/raw", { shape: [6, 5], dtype: "int32", chunks: [4, 2], fillValue: -1 });
      await plain.set("1:6, 1:", new Int32Array(20).map((_, i) => i * 3));
      const expected = valuesOf((await plain.read()).data as Int32Array).map(Number);
      await pool.attrs.set("title", "beamtime");
      const repo = await dn.Repository.init(pool, { author, message: "import" });
      const head = await repo.checkout();
      expect(await read(head, "scans/raw")).toEqual(expected);
      expect(head.attrs.get("title")).toBe("beamtime");
      expect((await repo.log())[0].message).toBe("import");
      // a version through zarrita, straight from the repository
      const version = await repo.store("main");
      const array = await zarr.open.v3(zarr.root(version).resolve("scans/raw"), { kind: "array" });
      expect(Array.from((await zarr.get(array)).data as Int32Array)).toEqual(expected);
      // export: a plain hierarchy in another pool
      const target = await newPool();
      // on S3 the chunks are copied by the server (CopyObject); elsewhere through the process
      expect(await repo.export("main", target)).toEqual({ nodes: 3, chunks: 6, copiedServerSide: kind.name === "s3" ? 6 : 0 });
      const exported = await fixture.cluster.getPool(target.context.poolName);
      expect(await read(exported, "scans/raw")).toEqual(expected);
      expect(exported.attrs.get("title")).toBe("beamtime");
    });

    it("dn.File opens a version read-only with { branch }, { tag } or { snapshot }", async () => {
      if (kind.name !== "fs" && kind.name !== "memory") return; // File needs a URL; memory and fs cover the face
      const { repo, session, first } = await seeded();
      await repo.createTag("v1", first);
      await (await session.getDataset("vol")).set("0, 0", 42);
      await session.commit("42");
      const url = kind.name === "memory" ? undefined : fixture.cluster.toJSON().endpoint;
      if (url === undefined) return;
      const root = String(url).replace(/^fs:/, "");
      const name = pools.at(-1)!;
      const latest = new dn.File(`${root}/${name}`, "r", { branch: "main" });
      expect(valuesOf((await ((await latest.get("vol")) as dn.H5Dataset).value) as Int32Array)[0]).toBe(42);
      const old = new dn.File(`${root}/${name}`, "r", { tag: "v1" });
      expect(valuesOf((await ((await old.get("vol")) as dn.H5Dataset).value) as Int32Array)[0]).toBe(0);
      expect(() => new dn.File(`${root}/${name}`, "a", { branch: "main" })).toThrow(/opens read-only/);
    });
  });
}
