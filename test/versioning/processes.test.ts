/**
 * Versioning beyond one process: real `node` processes (test/versioning/commit-worker.ts) commit to
 * one branch of one repository at the same moment, on a local directory and on the S3 endpoint
 * under test (the local Ceph RGW). Disjoint changes all land as a chain of commits; overlapping
 * ones let exactly one commit win and every other fail with the right error; a process killed in
 * the middle of a commit leaves the branch at a whole snapshot, and `gc` then removes exactly what
 * no ref reaches.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { runWorkers, startWorker, type WorkerOutcome } from "../helpers/node-processes.js";
import { dropBucket, environmentWithoutDosna, s3ConnectionConfig, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";

const WORKER = fileURLToPath(new URL("./commit-worker.ts", import.meta.url));
const WORKERS = 8;
const ROWS = 4; // rows per chunk
const COLUMNS = 16;
const REPO_PREFIX = ".dosna/repo/";

interface Target {
  name: string;
  cluster: () => dn.Cluster;
  env: (extra: Record<string, string>) => NodeJS.ProcessEnv;
  dropPool: (name: string) => Promise<void>;
  cleanup: () => Promise<void>;
  /**
   * The crash test's array (one-element chunks, 32 × 32 of them per manifest block, one chunk per
   * block written by each commit): 64 blocks on the local disk, 16 on the RGW, where every request
   * takes tens of ms (and gc reads the manifests one by one).
   */
  crash: { shape: [number, number] };
}

async function fsTarget(): Promise<Target> {
  const root = await mkdtemp(join(tmpdir(), "dosna-versioning-processes-"));
  return {
    name: "fs",
    cluster: () => new dn.Cluster({ backend: "fs", root }),
    env: (extra) => ({ ...environmentWithoutDosna(), DOSNA_BACKEND: "fs", DOSNA_ROOT: root, ...extra }),
    dropPool: async () => {},
    cleanup: () => rm(root, { recursive: true, force: true }),
    crash: { shape: [256, 256] },
  };
}

function s3Target(): Target {
  const config = s3ConnectionConfig()!;
  return {
    name: "s3",
    cluster: () => new dn.Cluster({ backend: "s3", ...config }),
    env: (extra) => workerEnvironment(extra),
    dropPool: (name) => dropBucket(config, name),
    cleanup: async () => {},
    crash: { shape: [128, 128] },
  };
}

const targets: { name: string; make: () => Promise<Target> }[] = [{ name: "fs", make: fsTarget }];
if (s3ConnectionConfig()) targets.push({ name: "S3 (RGW)", make: async () => s3Target() });
else describe.skip("committing processes on S3: no DOSNA_TEST_S3_ENDPOINT", () => {});

interface CommitResult {
  worker: number;
  base: string;
  id?: string;
  error?: string;
  message?: string;
  conflicts?: dn.Conflict[];
}

function commitResults(outcomes: WorkerOutcome[]): CommitResult[] {
  for (const outcome of outcomes) {
    expect(outcome.exitCode, `worker ${outcome.args[3]} failed:\n${outcome.stderr}`).toBe(0);
    expect(outcome.result, `worker ${outcome.args[3]} printed no result:\n${outcome.stdout}`).toBeDefined();
  }
  return outcomes.map((o) => o.result as unknown as CommitResult).sort((a, b) => a.worker - b.worker);
}

/** The branch's history from its head through first parents, newest first; checks it is one chain equal to the log. */
async function historyChain(repo: dn.Repository, branch = "main"): Promise<dn.LogEntry[]> {
  const log = await repo.log(branch);
  const byId = new Map(log.map((e) => [e.id, e]));
  expect(byId.size, "log lists a snapshot twice").toBe(log.length);
  const chain: dn.LogEntry[] = [];
  let id: string | undefined = await repo.resolve(branch);
  while (id !== undefined) {
    const entry = byId.get(id);
    expect(entry, `snapshot ${id} (parent of ${chain.at(-1)?.id ?? "the head"}) is missing from the log`).toBeDefined();
    chain.push(entry!);
    expect(entry!.parents.length, `snapshot ${id} has ${entry!.parents.length} parents`).toBeLessThanOrEqual(1);
    id = entry!.parents[0];
  }
  expect(chain.length, "the log holds snapshots off the first-parent chain").toBe(log.length);
  return chain;
}

async function readDataset(repo: dn.Repository, snapshot: string, name: string, selection = ":"): Promise<Int32Array> {
  const session = await repo.checkout({ snapshot });
  return (await (await session.getDataset(name)).get(selection)).data as Int32Array;
}

/** Every repository key that a ref reaches, found by reading the objects themselves (not through Repository). */
async function reachableRepoKeys(store: dn.Store): Promise<string[]> {
  const decoder = new TextDecoder();
  const json = async (key: string) => {
    const bytes = await store.get(key);
    expect(bytes, `object ${key} is missing`).toBeDefined();
    return JSON.parse(decoder.decode(bytes!));
  };
  const keys = new Set([`${REPO_PREFIX}repo.json`]);
  const frontier: string[] = [];
  for await (const key of store.list(`${REPO_PREFIX}refs/`)) {
    keys.add(key);
    frontier.push((await json(key)).snapshot);
  }
  while (frontier.length > 0) {
    const snapshotKey = `${REPO_PREFIX}snapshots/${frontier.pop()}.json`;
    if (keys.has(snapshotKey)) continue;
    keys.add(snapshotKey);
    const snapshot = await json(snapshotKey);
    const manifestKeys: string[] = [];
    for (const node of Object.values(snapshot.nodes) as Array<{ manifests?: Record<string, { id: string }> }>) {
      for (const ref of Object.values(node.manifests ?? {})) {
        const manifestKey = `${REPO_PREFIX}manifests/${ref.id}.json`;
        if (!keys.has(manifestKey)) manifestKeys.push(manifestKey);
        keys.add(manifestKey);
      }
    }
    for (const manifest of await Promise.all(manifestKeys.map(json))) {
      for (const [chunkId] of Object.values(manifest.chunks) as Array<[string, number]>) keys.add(`${REPO_PREFIX}chunks/${chunkId}`);
    }
    frontier.push(...snapshot.parents);
  }
  return [...keys].sort();
}

async function repoKeys(store: dn.Store): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(REPO_PREFIX)) keys.push(key);
  return keys.sort();
}

/** The chain's commits from its head down to (and including) `created`. */
function versionsSince(chain: dn.LogEntry[], created: string): dn.LogEntry[] {
  const at = chain.findIndex((e) => e.id === created);
  expect(at, `snapshot ${created} is not in the history`).toBeGreaterThanOrEqual(0);
  return chain.slice(0, at + 1);
}

for (const { name, make } of targets) {
  describe(`committing processes on ${name}`, () => {
    let target: Target;
    let cluster: dn.Cluster;
    const pools: string[] = [];
    let barriers: string;

    beforeAll(async () => {
      target = await make();
      cluster = await target.cluster().connect();
      barriers = await mkdtemp(join(tmpdir(), "dosna-commit-barrier-"));
    });
    afterAll(async () => {
      for (const pool of pools) await target.dropPool(pool);
      await cluster?.disconnect();
      await target?.cleanup();
      await rm(barriers, { recursive: true, force: true });
    });

    /** A new pool made a repository, with one commit creating dataset "vol" (returns that commit's id). */
    async function repositoryWithDataset(prefix: string, options: dn.CreateDatasetOptions): Promise<{ pool: dn.Pool; repo: dn.Repository; created: string }> {
      const poolName = uniqueBucketName(prefix);
      pools.push(poolName);
      const pool = await cluster.createPool(poolName);
      const repo = await dn.Repository.init(pool);
      const session = await repo.checkout({ branch: "main", write: true });
      await session.createDataset("vol", options);
      return { pool, repo, created: await session.commit("create vol") };
    }

    function commitArgs(pool: dn.Pool, worker: number, value: number, rebase: boolean, barrier: string, selections: string[]): string[] {
      return ["commit", pool.context.poolName, "vol", String(worker), String(value), rebase ? "1" : "0", join(barriers, barrier), ...selections];
    }

    const rowsOf = (chunkRow: number) => `${chunkRow * ROWS}:${(chunkRow + 1) * ROWS}, :`;

    it(`${WORKERS} processes committing disjoint chunks with rebase all land, as one chain`, async () => {
      const { pool, repo, created } = await repositoryWithDataset("rebase", { shape: [WORKERS * ROWS, COLUMNS], dtype: "int32", chunks: [ROWS, COLUMNS] });
      const results = commitResults(
        await runWorkers(
          WORKER,
          Array.from({ length: WORKERS }, (_, w) => commitArgs(pool, w, w + 1, true, `disjoint-${name}`, [rowsOf(w)])),
          target.env({ DOSNA_TEST_PARTIES: String(WORKERS) }),
          120_000,
        ),
      );
      for (const r of results) {
        expect(r.error, `worker ${r.worker}: ${r.message}`).toBeUndefined();
        expect(r.base, "every worker started from the same snapshot").toBe(created);
      }
      const chain = await historyChain(repo);
      expect(chain).toHaveLength(2 + WORKERS);
      expect(chain[WORKERS].id).toBe(created);
      const commits = chain.slice(0, WORKERS);
      expect(commits.map((e) => e.id).sort()).toEqual(results.map((r) => r.id).sort());
      expect(commits.map((e) => e.message).sort()).toEqual(results.map((r) => `worker ${r.worker}`).sort());
      for (const entry of commits) expect(entry.metadata).toEqual({ worker: Number(entry.message.slice("worker ".length)), value: Number(entry.message.slice("worker ".length)) + 1 });

      const head = await readDataset(repo, chain[0].id, "vol");
      const lost: number[] = [];
      for (let r = 0; r < WORKERS * ROWS; r++) if (head.subarray(r * COLUMNS, (r + 1) * COLUMNS).some((v) => v !== Math.floor(r / ROWS) + 1)) lost.push(r);
      expect(lost, "rows whose commit was lost").toEqual([]);
      // Each snapshot of the chain holds exactly the rows of the commits at and below it.
      for (let i = 0; i <= WORKERS; i++) {
        const landed = new Set(chain.slice(i, WORKERS).map((e) => e.metadata.worker as number));
        const data = await readDataset(repo, chain[i].id, "vol");
        for (let w = 0; w < WORKERS; w++) expect(data[w * ROWS * COLUMNS], `rows of worker ${w} in commit ${chain[i].id}`).toBe(landed.has(w) ? w + 1 : 0);
      }
    }, 180_000);

    it(`${WORKERS} processes committing the same chunk without rebase: one wins, the others get ConflictError`, async () => {
      const { pool, repo, created } = await repositoryWithDataset("norebase", { shape: [WORKERS * ROWS, COLUMNS], dtype: "int32", chunks: [ROWS, COLUMNS] });
      const results = commitResults(
        await runWorkers(
          WORKER,
          Array.from({ length: WORKERS }, (_, w) => commitArgs(pool, w, 100 + w, false, `same-${name}`, [rowsOf(0)])),
          target.env({ DOSNA_TEST_PARTIES: String(WORKERS) }),
          120_000,
        ),
      );
      for (const r of results) expect(r.base).toBe(created);
      const winners = results.filter((r) => r.id !== undefined);
      expect(winners, "commits that landed").toHaveLength(1);
      expect(results.filter((r) => r.id === undefined).map((r) => r.error)).toEqual(new Array(WORKERS - 1).fill("ConflictError"));
      const winner = winners[0];

      const chain = await historyChain(repo);
      expect(chain.map((e) => e.id).slice(0, 2)).toEqual([winner.id, created]);
      expect(chain).toHaveLength(3);
      const head = await readDataset(repo, winner.id!, "vol");
      const expected = new Int32Array(WORKERS * ROWS * COLUMNS);
      expected.fill(100 + winner.worker, 0, ROWS * COLUMNS);
      expect(Array.from(head)).toEqual(Array.from(expected));
      for (const entry of chain) await (await repo.checkout({ snapshot: entry.id })).listDatasets();
      expect(Array.from(await readDataset(repo, created, "vol"))).toEqual(new Array(WORKERS * ROWS * COLUMNS).fill(0));
    }, 180_000);

    it(`${WORKERS} processes committing overlapping chunks with rebase: one wins, the others get MergeConflictError`, async () => {
      // Each writes the shared chunk row 0 and its own chunk row w + 1.
      const { pool, repo, created } = await repositoryWithDataset("overlap", { shape: [(WORKERS + 1) * ROWS, COLUMNS], dtype: "int32", chunks: [ROWS, COLUMNS] });
      const results = commitResults(
        await runWorkers(
          WORKER,
          Array.from({ length: WORKERS }, (_, w) => commitArgs(pool, w, 100 + w, true, `overlap-${name}`, [rowsOf(0), rowsOf(w + 1)])),
          target.env({ DOSNA_TEST_PARTIES: String(WORKERS) }),
          120_000,
        ),
      );
      for (const r of results) expect(r.base).toBe(created);
      const winners = results.filter((r) => r.id !== undefined);
      expect(winners, "commits that landed").toHaveLength(1);
      const losers = results.filter((r) => r.id === undefined);
      expect(losers.map((r) => r.error)).toEqual(new Array(WORKERS - 1).fill("MergeConflictError"));
      for (const r of losers) expect(r.conflicts, `worker ${r.worker}: ${r.message}`).toEqual([{ path: "vol", metadata: false, chunks: ["c/0/0"] }]);
      const winner = winners[0];

      const chain = await historyChain(repo);
      expect(chain.map((e) => e.id).slice(0, 2)).toEqual([winner.id, created]);
      expect(chain).toHaveLength(3);
      expect(chain[0].metadata).toEqual({ worker: winner.worker, value: 100 + winner.worker });
      const head = await readDataset(repo, winner.id!, "vol");
      const expected = new Int32Array((WORKERS + 1) * ROWS * COLUMNS);
      expected.fill(100 + winner.worker, 0, ROWS * COLUMNS);
      expected.fill(100 + winner.worker, (winner.worker + 1) * ROWS * COLUMNS, (winner.worker + 2) * ROWS * COLUMNS);
      expect(Array.from(head), "the head holds the winner's values and nothing of the losers'").toEqual(Array.from(expected));
      for (const entry of chain) await (await repo.checkout({ snapshot: entry.id })).listDatasets();
      expect(Array.from(await readDataset(repo, created, "vol"))).toEqual(new Array((WORKERS + 1) * ROWS * COLUMNS).fill(0));
    }, 180_000);

    it("a process killed in the middle of commits leaves the branch at a whole snapshot; gc then removes exactly the orphans", async () => {
      // One-element chunks, and a selection touching one chunk in each manifest block (32 × 32
      // chunks): every commit writes that many chunk objects, then as many manifests, a snapshot,
      // and the ref.
      const { shape } = target.crash;
      const kills = 3;
      const selection = "::32, ::32";
      const touched = (shape[0] / 32) * (shape[1] / 32);
      const { pool, repo, created } = await repositoryWithDataset("crash", { shape, dtype: "int32", chunks: [1, 1] });
      const valueOf = (entry: dn.LogEntry) => (entry.id === created ? 0 : (entry.metadata.value as number));
      const readsWhole = async (r: dn.Repository, entry: dn.LogEntry) => {
        const data = await readDataset(r, entry.id, "vol", selection);
        expect(data.length).toBe(touched);
        expect(new Set(data), `snapshot ${entry.id} ("${entry.message}") reads as one commit's values`).toEqual(new Set([valueOf(entry)]));
      };
      const rounds: Array<{ killed: string; committed: number; head: number }> = [];
      let headValue = 0;
      let orphansExpected = false;

      for (let round = 0; round < kills; round++) {
        // Let one commit land and time it, then kill the next commit at a random point of as long.
        const first = headValue + 1;
        const victim = first + 1;
        const worker = startWorker(WORKER, ["loop", pool.context.poolName, "vol", selection, String(first)], target.env({}));
        let delay = 0;
        try {
          const landed = await worker.waitForLine(new RegExp(`^COMMITTED ${first} `), 60_000);
          delay = Math.round(Math.random() * 1.2 * Number(landed.split(" ")[3]));
          await worker.waitForLine(new RegExp(`^COMMIT ${victim}$`), 60_000);
          await sleep(delay);
        } finally {
          worker.kill("SIGKILL");
        }
        const outcome = await worker.ended;
        expect(outcome.exitCode, `the worker should have been killed:\n${outcome.stderr}`).toBeNull();
        const numbers = (word: string) => outcome.stdout.split("\n").flatMap((line) => (line.startsWith(`${word} `) ? [Number(line.split(" ")[1])] : []));
        const committed = Math.max(headValue, ...numbers("COMMITTED"));
        const started = Math.max(...numbers("SET"));

        // A fresh Repository object (as a new process would open): nothing cached from before the kill.
        const fresh = await dn.Repository.open(await cluster.getPool(pool.context.poolName));
        const chain = versionsSince(await historyChain(fresh), created);
        const head = valueOf(chain[0]);
        expect([committed, started], `head value ${head} after a kill during the commit of ${started}`).toContain(head);
        expect(chain.map(valueOf), "one commit per value, in order").toEqual(Array.from({ length: head + 1 }, (_, i) => head - i));
        // The head and what this round added read whole (older snapshots are immutable and were read before).
        for (const entry of chain.slice(0, head - headValue + 1)) await readsWhole(fresh, entry);
        if (head < started) orphansExpected = true; // the chunk objects of `started` are stored, and no ref reaches them
        rounds.push({ killed: `${delay} ms after COMMIT ${victim}`, committed: numbers("COMMITTED").length, head });
        headValue = head;
      }

      const store = pool.store;
      const before = await repoKeys(store);
      const reachable = await reachableRepoKeys(store);
      expect(before, "every reachable object exists").toEqual(expect.arrayContaining(reachable));
      // gc from a Repository opened afresh, as a later process would run it.
      const collector = await dn.Repository.open(await cluster.getPool(pool.context.poolName));
      const result = await collector.gc({ olderThan: new Date(Date.now() + 60_000) });
      const after = await repoKeys(store);
      expect(after, `after kills ${JSON.stringify(rounds)}, gc leaves exactly what a ref reaches`).toEqual(reachable);
      const deleted = result.deleted.snapshots + result.deleted.manifests + result.deleted.chunks;
      expect(deleted, `gc reported ${JSON.stringify(result)}`).toBe(before.length - after.length);
      if (orphansExpected) expect(deleted, "objects of a commit killed before its ref moved").toBeGreaterThan(0);

      const chain = versionsSince(await historyChain(repo), created);
      expect(valueOf(chain[0])).toBe(headValue);
      for (const entry of chain) await readsWhole(repo, entry);
    }, 180_000);
  });
}
