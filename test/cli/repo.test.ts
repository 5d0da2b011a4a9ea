/**
 * The built `dosna` command on a repository in a local pool: repo init (importing a plain pool),
 * log, branch, tag, diff, merge (merge snapshot, fast-forward, up to date, conflicts), checkout
 * --export, gc, and --ref on ls/info/get/export/cp. Commits are made through the library in this
 * process, and every output is checked against what the library says. Bad input exits 1 (a merge
 * conflict 2) and leaves every stored object as it was.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm as rmDir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemStore, NotFoundError, Pool, readNpy, Repository, type Session } from "../../src/index.js";
import { expectStoreUnchanged, snapshotStore } from "../helpers/store-snapshot.js";
import { dosna, dosnaOk, ensureBuilt } from "./run.js";

const author = { name: "Ada", email: "ada@example.org" };
const ID = "[0-9a-f]{24}";

let dir: string;
let pool: Pool;
let repo: Repository;
/** Snapshot ids by name, as the library reports them. */
const ids: Record<string, string> = {};

async function openPool(path: string): Promise<Pool> {
  return Pool.open(new FileSystemStore(path, { createRoot: false }), { name: path });
}

async function values(session: Pool, path: string, selection = "..."): Promise<number[]> {
  return Array.from((await (await session.getDataset(path)).get(selection)).data as Int32Array);
}

async function valuesAt(ref: string, path: string, selection = "..."): Promise<number[]> {
  return values(await repo.checkout({ snapshot: await repo.resolve(ref) }), path, selection);
}

/** Commit on `branch` through the library: `change` edits the session. */
async function commit(branch: string, message: string, change: (s: Session) => Promise<void>): Promise<string> {
  const session = await repo.checkout({ branch, write: true });
  await change(session);
  return session.commit(message);
}

const run = (args: string[]) => dosna(args, { cwd: dir });
const runOk = (args: string[]) => dosnaOk(args, { cwd: dir });

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-repo-"));
  // A plain pool with data: repo init imports it.
  pool = await Pool.initialise(new FileSystemStore(join(dir, "lab")), { name: join(dir, "lab") });
  await pool.createDataset("vol", { data: Int32Array.from({ length: 24 }, (_, i) => i), shape: [4, 6], chunks: [2, 3] });
  await pool.createDataset("big", { data: Int32Array.from({ length: 20 }, (_, i) => i), shape: [20], chunks: [2] });
  await pool.createGroup("g", { attrs: { site: "A" } });
  const plain = await Pool.initialise(new FileSystemStore(join(dir, "plain")), { name: join(dir, "plain") });
  await plain.createDataset("x", { shape: [2], dtype: "int8" });
});
afterAll(async () => {
  await rmDir(dir, { recursive: true, force: true });
});

describe("dosna repo init", () => {
  it("imports a plain pool as the first commit on main; a second init is refused and changes nothing", async () => {
    const out = await runOk(["repo", "init", "lab", "--author", "Ada <ada@example.org>"]);
    const match = new RegExp(`^initialised a repository in .*lab::: branch main at (${ID}) \\(import of pool ".*lab": 2 datasets, 14 chunks\\)\\n$`).exec(out);
    expect(match, out).not.toBeNull();
    repo = await Repository.open(pool, { author });
    const log = await repo.log("main");
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ id: match![1], parents: [], author });
    ids.import = log[0].id;
    expect(await valuesAt("main", "vol")).toEqual(Array.from({ length: 24 }, (_, i) => i));

    const before = await snapshotStore(pool.store);
    const again = await run(["repo", "init", "lab"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^dosna: pool ".*lab" already holds a repository\n$/);
    await expectStoreUnchanged(pool.store, before);
  });

  it("creates a missing local directory as a new, empty repository; a bad --author creates nothing", async () => {
    expect(await runOk(["repo", "init", "fresh"])).toMatch(new RegExp(`^initialised a repository in .*fresh::: branch main at ${ID} \\(repository created\\)\\n$`));
    const fresh = await Repository.open(await openPool(join(dir, "fresh")));
    expect((await fresh.log()).map((e) => e.message)).toEqual(["repository created"]);
    const bad = await run(["repo", "init", "fresh2", "--author", "<nobody@example.org>"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('dosna: --author must be "Name" or "Name <email>", got "<nobody@example.org>"\n');
    expect(existsSync(join(dir, "fresh2"))).toBe(false);
  });
});

describe("history: log, tag, branch", () => {
  it("log lists the commits newest first with their branches and tags, as the library does", async () => {
    ids.v1 = await commit("main", "first edit", async (s) => (await s.getDataset("vol")).set("0:2, :", -1));
    expect(await runOk(["tag", "lab", "v1"])).toBe(`created tag v1 at ${ids.v1} (main)\n`);
    ids.second = await commit("main", "second edit\n\nwith a body", async (s) => {
      await (await s.getDataset("vol")).set("2:4, 3:6", 100);
      await (await s.getDataset("big")).set("...", 5);
      await s.createDataset("g/new", { shape: [3], dtype: "int32", data: new Int32Array([7, 8, 9]) });
    });

    const [text, json, limited, fromTag] = await Promise.all([
      runOk(["log", "lab"]),
      runOk(["log", "lab", "--json"]),
      runOk(["log", "lab", "-n", "1", "--json"]),
      runOk(["log", "lab", "--ref", "v1", "--json"]),
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SNAPSHOT\s+TIME\s+AUTHOR\s+MESSAGE$/);
    expect(lines.slice(1)).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^${ids.second}  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  Ada <ada@example.org>  \\(main\\) second edit$`));
    expect(lines[2]).toMatch(new RegExp(`^${ids.v1}  .*  \\(tag: v1\\) first edit$`));
    expect(lines[3]).toMatch(new RegExp(`^${ids.import}  .*  import of pool ".*lab"$`));
    const library = await repo.log("main");
    expect(JSON.parse(json)).toEqual(
      library.map((e) => ({ id: e.id, parents: e.parents, time: e.time.toISOString(), author: e.author, message: e.message, metadata: e.metadata })),
    );
    expect((JSON.parse(limited) as Array<{ id: string }>).map((e) => e.id)).toEqual([ids.second]);
    expect((JSON.parse(fromTag) as Array<{ id: string }>).map((e) => e.id)).toEqual((await repo.log("v1")).map((e) => e.id));
  });

  it("branch creates, lists, resets and deletes branches; tag lists tags", async () => {
    expect(await runOk(["branch", "lab", "dev", "--from", "v1"])).toBe(`created branch dev at ${ids.v1} (from v1)\n`);
    expect(await runOk(["branch", "lab", "scratch"])).toBe(`created branch scratch at ${ids.second} (from main)\n`);
    expect(await repo.listBranches()).toEqual(["dev", "main", "scratch"]);

    const [text, json, tags, tagsJson] = await Promise.all([runOk(["branch", "lab"]), runOk(["branch", "lab", "--json"]), runOk(["tag", "lab"]), runOk(["tag", "lab", "--json"])]);
    expect(text).toMatch(/^NAME\s+SNAPSHOT\s+TIME\s+MESSAGE\n/);
    expect(text).toMatch(new RegExp(`^dev\\s+${ids.v1}\\s+\\S+Z\\s+first edit$`, "m"));
    expect(text).toMatch(new RegExp(`^main\\s+${ids.second}\\s+\\S+Z\\s+second edit$`, "m"));
    const listed = JSON.parse(json) as Array<{ name: string; snapshot: string; message: string }>;
    expect(listed.map((b) => [b.name, b.snapshot])).toEqual(await Promise.all((await repo.listBranches()).map(async (b) => [b, await repo.resolve(b)])));
    expect(tags).toMatch(new RegExp(`^NAME\\s+SNAPSHOT\\s+TIME\\s+MESSAGE\\nv1\\s+${ids.v1}\\s+\\S+Z\\s+first edit\\n$`));
    expect(JSON.parse(tagsJson)).toMatchObject([{ name: "v1", snapshot: ids.v1, message: "first edit" }]);

    expect(await runOk(["branch", "lab", "scratch", "--reset", "v1"])).toBe(`reset branch scratch to ${ids.v1} (v1; was at ${ids.second})\n`);
    expect(await repo.resolve("scratch")).toBe(ids.v1);
    expect(await runOk(["branch", "lab", "scratch", "--delete"])).toBe(`deleted branch scratch (was at ${ids.v1})\n`);
    expect(await repo.listBranches()).toEqual(["dev", "main"]);
    expect(await runOk(["-q", "tag", "lab", "v2", "dev"])).toBe("");
    expect(await repo.resolve("v2")).toBe(ids.v1);
  });
});

describe("--ref on ls, info, get, export and cp", () => {
  it("get reads the version asked for; without --ref the main branch", async () => {
    const [old, now, plainRow, oldJson, bySnapshot, newDataset] = await Promise.all([
      runOk(["get", "lab/vol", "2, :", "--ref", "v1"]),
      runOk(["get", "lab/vol", "2, :", "--ref", "main"]),
      runOk(["get", "lab/vol", "0, :"]),
      runOk(["get", "--json", "--ref", "v1", "lab/vol"]),
      runOk(["get", "--json", "--ref", ids.import, "lab/vol"]),
      runOk(["get", "--ref", "main", "lab/g/new"]),
    ]);
    expect(old).toBe("[12 13 14 15 16 17]\n");
    expect(now).toBe("[ 12  13  14 100 100 100]\n");
    expect(await valuesAt("main", "vol", "2, :")).toEqual([12, 13, 14, 100, 100, 100]);
    // Without --ref a repository pool reads main, not the plain contents it held at `repo init`.
    expect(plainRow).toBe(`[${(await valuesAt("main", "vol", "0, :")).join(" ")}]\n`.replace(/\[(.*)\]/, (_, v: string) => `[${v.split(" ").map((x) => x.padStart(2)).join(" ")}]`));
    const parsed = JSON.parse(oldJson) as { shape: number[]; data: number[][] };
    expect(parsed.shape).toEqual([4, 6]);
    expect(parsed.data.flat()).toEqual(await valuesAt("v1", "vol"));
    expect((JSON.parse(bySnapshot) as { data: number[][] }).data.flat()).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(newDataset).toBe("[7 8 9]\n");
    const missing = await run(["get", "--ref", "v1", "lab/g/new"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^dosna: nothing at "\/g\/new" in pool ".*lab@[0-9a-f]{24}"\n$/);
  });

  it("ls and info describe the version: its nodes, stored chunks and bytes, the snapshot read", async () => {
    const [atV1, atMain, text, info, poolInfo, plainInfo] = await Promise.all([
      runOk(["ls", "-r", "--json", "--ref", "v1", "lab"]),
      runOk(["ls", "-r", "--json", "--ref", "main", "lab"]),
      runOk(["ls", "-r", "--ref", "main", "lab"]),
      runOk(["info", "--json", "--ref", "v1", "lab/vol"]),
      runOk(["info", "--ref", "v1", "lab"]),
      runOk(["info", "lab"]),
    ]);
    const paths = (json: string) => (JSON.parse(json) as Array<{ path: string }>).map((e) => e.path);
    expect(paths(atV1)).toEqual(["big", "g", "vol"]);
    expect(paths(atMain)).toEqual(["big", "g", "g/new", "vol"]);
    const summary = await repo.summary("main");
    const newBytes = summary.datasets.find((d) => d.path === "g/new")!.bytes;
    expect(text).toMatch(new RegExp(`^g/new\\s+\\[3\\]\\s+int32\\s+\\[3\\]\\s+bytes\\s+1/1\\s+${newBytes} B$`, "m"));
    expect(text).toMatch(/^vol\s+\[4, 6\]\s+int32\s+\[2, 3\]\s+bytes\s+4\/4\s+96 B$/m);
    expect(JSON.parse(info)).toMatchObject({
      kind: "dataset",
      path: "vol",
      shape: [4, 6],
      storedChunks: 4,
      storedBytes: 96,
      version: { ref: "v1", snapshot: ids.v1, message: "first edit", author },
    });
    expect(poolInfo).toMatch(new RegExp(`^version\\s+v1: snapshot ${ids.v1}, \\S+Z, Ada <ada@example.org>: first edit$`, "m"));
    expect(plainInfo).toMatch(new RegExp(`^version\\s+main: snapshot ${await repo.resolve("main")}, `, "m"));
    expect(plainInfo).toMatch(/^repository\s+branches dev, main; tags v1, v2$/m);
  });

  it("export --ref writes the old values to .npy; cp --ref copies the version into a plain pool", async () => {
    await runOk(["export", "--ref", "v1", "lab/vol", "v1.npy"]);
    const npy = await readNpy(join(dir, "v1.npy"));
    expect(npy.shape).toEqual([4, 6]);
    expect(Array.from(npy.array.data as Int32Array)).toEqual(await valuesAt("v1", "vol"));

    const copied = await runOk(["cp", "--ref", "v1", "lab", "./copy::"]);
    expect(copied).toMatch(/^copied .*lab:: at v1 to .*copy::: 2 datasets, 2 groups; /);
    const copy = await openPool(join(dir, "copy"));
    expect(await copy.keys()).toEqual(["big", "g", "vol"]);
    expect(await values(copy, "vol")).toEqual(await valuesAt("v1", "vol"));
    expect(await values(copy, "big")).toEqual(await valuesAt("v1", "big"));
    expect((await copy.getGroup("g")).attrs.toJSON()).toEqual({ site: "A" });
  });
});

describe("diff and merge", () => {
  it("diff lists added nodes and, per dataset, chunk indices changed (cut short in text, all in JSON)", async () => {
    const [text, json, same] = await Promise.all([runOk(["diff", "lab", "v1", "main"]), runOk(["diff", "lab", "v1", "main", "--json"]), runOk(["diff", "lab", "v1", "dev"])]);
    const library = await repo.diff("v1", "main");
    expect(JSON.parse(json)).toEqual(library);
    expect(library.datasets.find((d) => d.path === "big")!.chunks.changed).toHaveLength(10);
    expect(text).toBe(
      [
        `from v1    ${ids.v1}`,
        `to   main  ${ids.second}`,
        "+ /g/new (dataset)",
        "~ /big (dataset)",
        "    10 chunks changed: [0], [1], [2], [3], [4], [5], [6], [7], …",
        "~ /vol (dataset)",
        "    1 chunk changed: [1, 1]",
        "",
      ].join("\n"),
    );
    expect(same).toBe(`from v1   ${ids.v1}\nto   dev  ${ids.v1}\nthe same snapshot\n`);
  });

  it("merge of disjoint changes makes a merge snapshot; again it is up to date; a branch ahead fast-forwards", async () => {
    ids.dev = await commit("dev", "dev edit", async (s) => {
      const vol = await s.getDataset("vol");
      await vol.set("2:4, 0:3", 7);
      await vol.attrs.set("who", "dev");
    });
    const diff = JSON.parse(await runOk(["diff", "lab", "main", "dev", "--json"]));
    expect(diff).toEqual(await repo.diff("main", "dev"));
    expect(diff.datasets.find((d: { path: string }) => d.path === "vol")).toMatchObject({ attributesChanged: true, metadataChanged: false });

    const merged = await runOk(["merge", "lab", "dev", "-m", "bring dev in", "--author", "Bob <bob@example.org>"]);
    const match = new RegExp(`^merged "dev" into "main": merge snapshot (${ID}) \\(was at ${ids.second}\\)\\n$`).exec(merged);
    expect(match, merged).not.toBeNull();
    ids.merge = match![1];
    const head = (await repo.log("main", { limit: 1 }))[0];
    expect(head).toMatchObject({ id: ids.merge, parents: [ids.second, ids.dev], message: "bring dev in", author: { name: "Bob", email: "bob@example.org" } });
    expect(await runOk(["get", "--ref", "main", "lab/vol", "2:4, :"])).toBe("[[  7   7   7 100 100 100]\n [  7   7   7 100 100 100]]\n");
    expect(await valuesAt("main", "vol", "2:4, :")).toEqual([7, 7, 7, 100, 100, 100, 7, 7, 7, 100, 100, 100]);
    expect(JSON.parse(await runOk(["info", "--json", "--ref", "main", "lab/vol"])).attributes).toEqual({ who: "dev" });

    expect(await runOk(["merge", "lab", "dev"])).toBe(`branch "main" already contains "dev": nothing to merge (at ${ids.merge})\n`);

    await runOk(["branch", "lab", "ahead"]);
    ids.ahead = await commit("ahead", "ahead edit", async (s) => (await s.getDataset("big")).set("0", 42));
    const ff = JSON.parse(await runOk(["merge", "lab", "ahead", "--json"]));
    expect(ff).toEqual({ merged: true, source: "ahead", into: "main", snapshot: ids.ahead, previous: ids.merge, fastForward: true, upToDate: false });
    expect(await repo.resolve("main")).toBe(ids.ahead);
  });

  it("a conflicting merge lists the conflicts on stderr, exits 2 and changes nothing", async () => {
    await runOk(["branch", "lab", "rival"]);
    await commit("main", "main takes chunk [0, 0]", async (s) => (await s.getDataset("vol")).set("0, 0", 1));
    await commit("rival", "rival takes chunk [0, 0]", async (s) => (await s.getDataset("vol")).set("1, 1", 2));
    const mainBefore = await repo.resolve("main");
    const before = await snapshotStore(pool.store);
    const [text, json] = await Promise.all([run(["merge", "lab", "rival"]), run(["merge", "lab", "rival", "--into", "main", "--json"])]);
    expect(text.code).toBe(2);
    expect(text.stdout).toBe("");
    expect(text.stderr).toBe(
      'conflict: /vol: 1 chunk [0, 0]\ndosna: cannot merge "rival" into branch "main": both sides changed the same chunks or metadata of 1 node (listed above); "main" is unchanged\n',
    );
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ merged: false, source: "rival", into: "main", conflicts: [{ path: "vol", metadata: false, chunks: [[0, 0]] }] });
    await expectStoreUnchanged(pool.store, before);
    expect(await repo.resolve("main")).toBe(mainBefore);
  });
});

describe("checkout --export and gc", () => {
  it("checkout --export writes a version as plain Zarr v3 into a new pool or group; a non-empty one only with --overwrite", async () => {
    const out = await runOk(["checkout", "lab", "v1", "--export", "./v1out::"]);
    expect(out).toMatch(new RegExp(`^exported v1 \\(snapshot ${ids.v1}\\) of .*lab:: to .*v1out:: as plain Zarr v3: 4 nodes, 14 chunks; `));
    const exported = await openPool(join(dir, "v1out"));
    expect(await Repository.exists(exported)).toBe(false);
    expect(await exported.keys()).toEqual(["big", "g", "vol"]);
    expect(await values(exported, "vol")).toEqual(await valuesAt("v1", "vol"));
    expect(await runOk(["get", "v1out/vol", "0, :"])).toBe("[-1 -1 -1 -1 -1 -1]\n");

    const before = await snapshotStore(exported.store);
    const refused = await run(["checkout", "lab", "main", "--export", "./v1out::"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^dosna: .*v1out:: is not empty \(it holds big, g, vol\); .*--overwrite.*\n$/);
    await expectStoreUnchanged(exported.store, before);

    await runOk(["checkout", "lab", "main", "--export", "./v1out::", "--overwrite"]);
    expect(await exported.keys()).toEqual(["big", "g", "vol"]);
    expect(await exported.has("g/new")).toBe(true);
    expect(await values(exported, "vol")).toEqual(await valuesAt("main", "vol"));

    await runOk(["checkout", "lab", "dev", "--export", "./exports::versions/dev"]);
    const group = await openPool(join(dir, "exports"));
    expect(await values(group, "versions/dev/vol")).toEqual(await valuesAt("dev", "vol"));
    expect((await group.getDataset("versions/dev/vol")).attrs.toJSON()).toEqual({ who: "dev" });
  });

  it("gc keeps recent objects by default and deletes what no branch or tag reaches with --older-than", async () => {
    await runOk(["branch", "lab", "doomed"]);
    const doomed = await commit("doomed", "to be collected", async (s) => (await s.getDataset("big")).set("2:4", -9));
    await runOk(["branch", "lab", "doomed", "--delete"]);
    const counts = async () => {
      const found = { snapshots: 0, manifests: 0, chunks: 0 };
      for await (const key of pool.store.list(".dosna/repo/")) {
        for (const kind of ["snapshots", "manifests", "chunks"] as const) if (key.startsWith(`.dosna/repo/${kind}/`)) found[kind]++;
      }
      return found;
    };
    const all = await counts();
    const recent = JSON.parse(await runOk(["gc", "lab", "--json"]));
    expect(recent).toMatchObject({ deleted: { snapshots: 0, manifests: 0, chunks: 0 }, kept: all });

    const swept = JSON.parse(await runOk(["gc", "lab", "--older-than", "0s", "--json"]));
    expect(swept.deleted.snapshots).toBe(1);
    expect(swept.deleted.manifests).toBeGreaterThanOrEqual(1);
    expect(swept.deleted.chunks).toBe(1);
    expect(swept.kept).toEqual(await counts());
    expect(swept.kept.snapshots).toBe(all.snapshots - 1);
    // A fresh Repository: `repo` here keeps the snapshots it wrote in memory.
    await expect((await Repository.open(await openPool(join(dir, "lab")))).checkout({ snapshot: doomed })).rejects.toThrow(NotFoundError);
    for (const ref of ["main", "dev", "v1", "ahead", "rival"]) expect((await valuesAt(ref, "vol")).length).toBe(24);

    expect(await runOk(["gc", "lab", "--older-than", "2000-01-01"])).toBe(
      "deleted 0 snapshots, 0 manifests, 0 chunks (unreachable from any branch or tag, made before 2000-01-01T00:00:00Z); " +
        `kept ${swept.kept.snapshots} snapshots, ${swept.kept.manifests} manifests, ${swept.kept.chunks} chunks\n`,
    );

    // --expire drops old history no ref points at before collecting: the log shrinks, every ref reads the same
    const before = Object.fromEntries(await Promise.all(["main", "dev", "v1"].map(async (ref) => [ref, await valuesAt(ref, "vol")] as const)));
    const logBefore = (await (await Repository.open(await openPool(join(dir, "lab")))).log("main")).length;
    const expired = JSON.parse(await runOk(["gc", "lab", "--expire", "0s", "--older-than", "0s", "--json"]));
    expect(expired.expired.length).toBeGreaterThan(0);
    expect(expired.deleted.snapshots).toBe(expired.expired.length);
    const fresh = await Repository.open(await openPool(join(dir, "lab")));
    expect((await fresh.log("main")).length).toBeLessThan(logBefore);
    for (const ref of ["main", "dev", "v1"]) expect(await values(await fresh.checkout({ snapshot: await fresh.resolve(ref) }), "vol")).toEqual(before[ref]);
  });
});

describe("bad input changes nothing", () => {
  const branches = "ahead, dev, main, rival";
  const cases: Array<[string[], RegExp]> = [
    [["get", "lab/vol", "--ref", "nope"], new RegExp(`^dosna: no branch, tag or snapshot "nope" in the repository of pool ".*lab"; branches: ${branches}\\n$`)],
    [["log", "lab", "--ref", "nope"], new RegExp(`^dosna: no branch, tag or snapshot "nope" .*; branches: ${branches}\\n$`)],
    [["diff", "lab", "main", "nope"], /^dosna: no branch, tag or snapshot "nope" /],
    [["merge", "lab", "nope"], /^dosna: no branch, tag or snapshot "nope" /],
    [["merge", "lab", "dev", "--into", "v1"], /^dosna: branch "v1" does not exist in the repository of pool ".*lab" \(branches: ahead, dev, main, rival\)\n$/],
    [["branch", "lab", "main", "--delete"], /^dosna: branch "main" cannot be deleted\n$/],
    [["branch", "lab", "nope", "--delete"], /^dosna: branch "nope" does not exist .*\(branches: ahead, dev, main, rival\)\n$/],
    [["branch", "lab", "dev"], /^dosna: branch "dev" already exists\n$/],
    [["branch", "lab", "dev", "--reset", "nope"], /^dosna: no branch, tag or snapshot "nope" /],
    [["branch", "lab", "dev", "--delete", "--reset", "main"], /^dosna: --delete and --reset cannot be combined\n$/],
    [["branch", "lab", "--from", "main"], /^dosna: --from needs a branch NAME: dosna branch POOL NAME --from REF\n$/],
    [["branch", "lab", "bad name"], /^dosna: invalid branch name "bad name": it contains whitespace\n$/],
    [["tag", "lab", "v1", "main"], /^dosna: tag "v1" already exists \(tags never move\)\n$/],
    [["gc", "lab", "--older-than", "soon"], /^dosna: --older-than must be an age such as 30m, 1h, 2d or 1w, or an ISO date .*, got "soon"\n$/],
    [["gc", "lab", "--older-than", "2999-01-01"], /^dosna: --older-than 2999-01-01 is in the future/],
    [["log", "lab/vol"], /^dosna: `dosna log` takes a pool, not a node in it: "lab\/vol" names "\/vol" inside the pool .*lab::; give .*lab::\n$/],
    [["checkout", "lab", "nope", "--export", "./nothing::"], /^dosna: no branch, tag or snapshot "nope" /],
    [["checkout", "lab", "v1"], /^dosna: required option '--export <url>' not specified\n$/],
    [["repo", "init", "lab"], /^dosna: pool ".*lab" already holds a repository\n$/],
  ];

  it.each(cases)("dosna %j: exit 1, one line", async (args, pattern) => {
    const before = await snapshotStore(pool.store);
    const result = await run(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    await expectStoreUnchanged(pool.store, before);
    expect(existsSync(join(dir, "nothing"))).toBe(false);
  });

  it("plain writes into a repository pool (attrs, rm) are refused: no version would show them", async () => {
    const pool = await openPool(join(dir, "lab"));
    const before = await snapshotStore(pool.store);
    for (const args of [["attrs", "lab/vol", "units", '"mm"'], ["rm", "--yes", "lab/vol"]]) {
      const result = await run(args);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toMatch(/^dosna: .*lab:: holds a repository: write through a session and commit/);
    }
    await expectStoreUnchanged(pool.store, before);
  });

  it("--ref on a plain pool, and on a URL naming no pool: exit 1 saying so", async () => {
    const plain = await openPool(join(dir, "plain"));
    const before = await snapshotStore(plain.store);
    for (const args of [["ls", "plain", "--ref", "main"], ["get", "plain/x", "--ref", "v1"], ["cp", "--ref", "main", "plain", "./elsewhere::"], ["log", "plain"]]) {
      const result = await run(args);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toMatch(/^dosna: .*plain:: is a plain pool that holds no repository, which (--ref \S+|`dosna log`) needs \(make it one with `dosna repo init .*plain::`\)\n$/);
    }
    await expectStoreUnchanged(plain.store, before);
    expect(existsSync(join(dir, "elsewhere"))).toBe(false);
    const noPool = await run(["ls", "--ref", "main", "."]);
    expect(noPool.code).toBe(1);
    expect(noPool.stderr).toBe('dosna: --ref needs a pool, and "." names none (it lists pools)\n');
  });
});
