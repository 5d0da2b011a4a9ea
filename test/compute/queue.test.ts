/**
 * The queue engine with real processes: `dosna worker` processes (the built CLI) on loopback taking
 * BullMQ tasks from Redis, on a local-directory pool and on the S3 endpoint under test (the local
 * Ceph RGW). Results are compared element by element with a brute-force reference and with the local
 * engine; then the failures: a worker killed -9 mid-job, a function that throws, Redis restarted
 * mid-job, a cancelled job, a caller killed -9 and its job resubmitted, and bad input (unknown
 * function, unreachable Redis, wrong password, no worker, wrong result shape / dtype).
 *
 * Every test uses its own BullMQ queue name (other test files share the dev Redis), and every process
 * started is killed after each test. Skipped only when DOSNA_TEST_REDIS_URL is unset (or in the
 * unit-only pass, DOSNA_UNIT_ONLY=1); the RGW part also needs DOSNA_TEST_S3_ENDPOINT.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { redisTestUrl, s3TestConfig, uniquePoolName } from "../helpers/clusters.js";
import { failureOf } from "../helpers/expect-error.js";
import { dropPool, environmentWithoutDosna, s3Cluster, uniqueBucketName, workerEnvironment } from "../helpers/s3-fixtures.js";
import { expectStoreUnchanged, snapshotStore } from "../helpers/store-snapshot.js";
import { storeKeys } from "../helpers/store-keys.js";
import { FUNCTIONS, freePort, jobsJson, killAllProcesses, startNode, startPrivateRedis, startWorker, startWorkers, type DosnaWorker } from "../helpers/queue-processes.js";

const CALLER = fileURLToPath(new URL("./fixtures/map-caller.mjs", import.meta.url));
const REDIS = redisTestUrl();
const enabled = REDIS !== undefined && process.env.DOSNA_UNIT_ONLY !== "1";
const url = REDIS ?? "";

/** A BullMQ queue name of this test alone. */
const queueName = () => `t-${randomBytes(5).toString("hex")}`;

/** Deterministic float32 values, exactly representable, with a different pattern per seed. */
function testValues(n: number, seed = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 37 + seed * 11) % 101) - 50 + (i % 7) / 8);
}

async function filledDataset(pool: dn.Pool, name: string, shape: number[], chunks: number[], seed = 0): Promise<{ ds: dn.Dataset; values: Float32Array }> {
  const ds = await pool.createDataset(name, { shape, dtype: "float32", chunks });
  const values = testValues(shape.reduce((a, b) => a * b, 1), seed);
  await ds.set(":", values);
  return { ds, values };
}

async function valuesOf(ds: dn.Dataset): Promise<Float32Array> {
  return (await ds.get()).data as Float32Array;
}

/** Element-by-element equality (the first differing element named). */
function expectSameValues(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

const plusOne = (values: Float32Array) => Float32Array.from(values, (v) => v + 1);

/** The fixture's box3d, brute force: the mean over the 3x3x3 neighbourhood within each chunk's in-bounds part, summed in the same order. */
function box3dReference(values: Float32Array, shape: number[], chunks: number[]): Float32Array {
  const [X, Y, Z] = shape;
  const at = (x: number, y: number, z: number) => (x * Y + y) * Z + z;
  const out = new Float32Array(values.length);
  for (let cx = 0; cx < X; cx += chunks[0])
    for (let cy = 0; cy < Y; cy += chunks[1])
      for (let cz = 0; cz < Z; cz += chunks[2]) {
        const [ex, ey, ez] = [Math.min(X, cx + chunks[0]), Math.min(Y, cy + chunks[1]), Math.min(Z, cz + chunks[2])];
        for (let x = cx; x < ex; x++)
          for (let y = cy; y < ey; y++)
            for (let z = cz; z < ez; z++) {
              let sum = 0;
              let n = 0;
              for (let dx = -1; dx <= 1; dx++)
                for (let dy = -1; dy <= 1; dy++)
                  for (let dz = -1; dz <= 1; dz++) {
                    const [xx, yy, zz] = [x + dx, y + dy, z + dz];
                    if (xx < cx || xx >= ex || yy < cy || yy >= ey || zz < cz || zz >= ez) continue;
                    sum += values[at(xx, yy, zz)];
                    n++;
                  }
              out[at(x, y, z)] = sum / n;
            }
      }
  return out;
}

/** A BullMQ handle on queue `name`, to look at its tasks. */
function bullQueue(name: string): { queue: Queue; close: () => Promise<void> } {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  connection.on("error", () => undefined);
  const queue = new Queue(name, { connection });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

/** Wait until queue `name` has no task waiting, delayed or running (a failed or cancelled job's workers have gone idle). */
async function waitUntilIdle(name: string, timeoutMs = 20_000): Promise<void> {
  const { queue, close } = bullQueue(name);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await queue.getJobCounts("active", "waiting", "delayed", "prioritized");
      if (Object.values(counts).every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`queue ${name} still busy after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
      await sleep(100);
    }
  } finally {
    await close();
  }
}

/** The provenance activity of the newest record of `ds`. */
async function activityOf(ds: dn.Dataset): Promise<{ engine?: string; hosts?: string[]; job?: string; function?: string }> {
  const record = await dn.provenance(ds).records.recordOfDataset(ds.path);
  expect(record, `provenance record of ${ds.path}`).toBeDefined();
  return record!.data.activity as { engine?: string; hosts?: string[]; job?: string };
}

/** The job ran on the queue, every one of its `tasks` tasks done by these workers (each at least once), as `dosna jobs --json` and the workers' logs say. */
async function expectAllTasksRan(name: string, jobId: string, tasks: number, workers: DosnaWorker[], hosts: string[]): Promise<void> {
  const listing = await jobsJson(url, name);
  const job = listing.jobs.find((j) => j.id === jobId);
  expect(job, `job ${jobId} in dosna jobs`).toBeDefined();
  expect(job).toMatchObject({ state: "completed", tasks, tasksDone: tasks });
  const done = new Set(workers.flatMap((w) => w.doneTasks(jobId)));
  expect([...done].sort()).toEqual(Array.from({ length: tasks }, (_, i) => `${jobId}-${i}`).sort());
  expect(hosts.length).toBeGreaterThan(0);
  const ours = workers.map((w) => w.hostPid);
  for (const host of hosts) expect(ours).toContain(host);
  expect([...job!.hosts].sort()).toEqual([...hosts].sort());
}

interface Target {
  pool: dn.Pool;
  poolName: string;
  /** The fs cluster's root directory (fs only). */
  root?: string;
  env: NodeJS.ProcessEnv;
  cleanup: () => Promise<void>;
}

async function fsTarget(): Promise<Target> {
  const root = await mkdtemp(join(tmpdir(), "dosna-queue-"));
  const cluster = await new dn.Cluster({ backend: "fs", root }).connect();
  const poolName = uniquePoolName("queue");
  const pool = await cluster.createPool(poolName);
  return {
    pool,
    poolName,
    root,
    env: environmentWithoutDosna(),
    cleanup: async () => {
      await cluster.disconnect();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function s3Target(): Promise<Target> {
  const cluster = await s3Cluster();
  const name = uniqueBucketName("queue");
  const pool = await cluster.createPool(name);
  return {
    pool,
    poolName: name,
    env: workerEnvironment(),
    cleanup: async () => {
      await dropPool(cluster, name);
      await cluster.disconnect();
    },
  };
}

if (!enabled) {
  describe.skip(`queue engine with dosna worker processes: ${REDIS === undefined ? "no DOSNA_TEST_REDIS_URL" : "DOSNA_UNIT_ONLY=1"}`, () => {
    it("needs a Redis", () => {});
  });
} else {
  beforeAll(async () => {
    // The local engine (the reference runs) needs the fixture functions in this process too.
    await dn.loadFunctions(FUNCTIONS);
  });
  afterEach(killAllProcesses);

  const targets: Array<{ name: string; make: () => Promise<Target> }> = [{ name: "fs", make: fsTarget }];
  if (s3TestConfig()) targets.push({ name: "S3 (RGW)", make: s3Target });
  else describe.skip("queue engine on S3: no DOSNA_TEST_S3_ENDPOINT", () => it("needs an S3 endpoint", () => {}));

  for (const { name: backend, make } of targets) {
    describe(`3 dosna workers on ${backend}`, () => {
      let target: Target;
      beforeAll(async () => {
        target = await make();
      });
      afterAll(async () => {
        await target?.cleanup();
      });

      it("map(box3d) and apply(increment) equal the brute-force reference and the local engine, element by element", async () => {
        const name = queueName();
        const workers = await startWorkers(3, { url, name, env: target.env });
        const engine = { queue: url, name, taskBytes: 4096 };
        // 3x3x2 chunks of 8^3 float32 (2 KiB), edge chunks partial; 18 tasks (4 KiB tasks would hold 2 chunks, but fewer than 64 tasks hold one chunk each).
        const shape = [20, 18, 16];
        const chunks = [8, 8, 8];
        const { ds, values } = await filledDataset(target.pool, "in", shape, chunks);

        const out = await ds.map("box3d", "box", { engine });
        const local = await ds.map("box3d", "box-local", { engine: "local" });
        const reference = box3dReference(values, shape, chunks);
        expectSameValues(await valuesOf(local), reference, "local box3d vs brute force");
        expectSameValues(await valuesOf(out), reference, "queue box3d vs brute force");
        expect(out.attrs.get("dosna")).toBeUndefined(); // the job marker is gone once done
        const mapped = await activityOf(out);
        expect(mapped).toMatchObject({ function: "box3d", engine: "queue" });
        await expectAllTasksRan(name, mapped.job!, 18, workers, mapped.hosts!);
        console.log(`queue map on ${backend}: 18 tasks on ${mapped.hosts!.length} of 3 workers (${mapped.hosts!.join(", ")})`);

        const { ds: a } = await filledDataset(target.pool, "a", shape, chunks, 1);
        const { ds: b, values: bValues } = await filledDataset(target.pool, "b", shape, chunks, 1);
        await a.apply("increment", { engine });
        await b.apply("increment", { engine: "local" });
        expectSameValues(await valuesOf(b), plusOne(bValues), "local increment vs brute force");
        expectSameValues(await valuesOf(a), plusOne(bValues), "queue increment vs brute force");
        const applied = await activityOf(a);
        expect(applied).toMatchObject({ function: "increment", engine: "queue" });
        await expectAllTasksRan(name, applied.job!, 18, workers, applied.hosts!);
        // The staging array of the apply is gone.
        expect(await storeKeys(target.pool, ".dosna/compute/")).toEqual([]);
      }, 60_000);

      it("derive runs its blocks on the workers, and a cluster with the queue engine keeps the output current through them", async () => {
        const name = queueName();
        const workers = await startWorkers(2, { url, name, env: target.env });
        const engine = { queue: url, name };
        // 13 frames in chunks of 2: 7 blocks, the last one ragged.
        const values = Float32Array.from({ length: 13 * 16 }, (_, i) => (i * 7) % 23);
        const input = await target.pool.createDataset("dq_in", { shape: [13, 4, 4], dtype: "float32", chunks: [2, 4, 4] });
        await input.set(undefined, values);
        const out = await target.pool.derive({ from: "dq_in", fn: "rowStats", to: "dq_out", rowShape: [2], engine });
        const local = await target.pool.derive({ from: "dq_in", fn: "rowStats", to: "dq_local", rowShape: [2], engine: "local" });
        const valuesOf = async (ds: dn.Dataset) => {
          await ds.refresh();
          return Array.from((await ds.get()).data as Float32Array);
        };
        expect(await valuesOf(out)).toEqual(await valuesOf(local));
        const derived = (await dn.provenance(out).find({ dataset: "dq_out" })).find((r) => r.data.activity?.operation === "derive");
        expect(derived?.data.activity).toMatchObject({ function: "rowStats", engine: "queue", blocks: 7 });
        const workerHosts = new Set(workers.map((w) => w.hostPid));
        expect(derived!.data.activity!.hosts!.every((h) => workerHosts.has(h))).toBe(true);

        // A writer whose cluster runs compute on the queue: its write is recomputed by the workers.
        const clusterOptions = target.root ? { backend: "fs" as const, root: target.root } : { backend: "s3" as const, ...s3TestConfig()! };
        const writerCluster = await new dn.Cluster({ ...clusterOptions, engine }).connect();
        try {
          const writer = await (await writerCluster.getPool(target.poolName)).getDataset("dq_in");
          await writer.set([12], 1);
          values.fill(1, 12 * 16);
          const records = (await dn.provenance(out).find({ dataset: "dq_out" })).filter((r) => r.data.activity?.operation === "derive");
          expect(records.map((r) => r.data.activity?.blocks).sort()).toEqual([1, 7]);
          expect(records.find((r) => r.data.activity?.blocks === 1)?.data.activity).toMatchObject({ engine: "queue" });
        } finally {
          await writerCluster.disconnect();
        }
        const localAgain = await valuesOf(local);
        const got = await valuesOf(out);
        expect(got.slice(24)).toEqual([16, 1]);
        expect(got).toEqual(localAgain);
      }, 60_000);
    });
  }

  describe("failures, with workers on a local-directory pool", () => {
    let target: Target;
    beforeAll(async () => {
      target = await fsTarget();
    });
    afterAll(async () => {
      await target?.cleanup();
    });

    // 8x4 chunks of 8x8 float32 (256 bytes), one per task: 32 tasks.
    const SHAPE = [64, 32];
    const CHUNKS = [8, 8];
    const TASKS = 32;
    const slow = { ms: 150 };

    /** Which tasks of BullMQ job `jobId` were taken over from a dead worker (stalled and moved back). */
    async function takenOver(name: string, jobId: string, tasks: number): Promise<string[]> {
      const { queue, close } = bullQueue(name);
      try {
        const jobs = await Promise.all(Array.from({ length: tasks }, (_, i) => queue.getJob(`${jobId}-${i}`)));
        return jobs.flatMap((job) => (job && (job.stalledCounter > 0 || job.attemptsStarted > 1) ? [job.id!] : []));
      } finally {
        await close();
      }
    }

    for (const kind of ["map", "apply"] as const) {
      it(`a worker killed -9 halfway through a job: the ${kind} completes, every element +1 exactly once`, async () => {
        const name = queueName();
        const victim = await startWorker({ url, name, stallTimeoutS: 2, concurrency: 2 });
        const others = await startWorkers(2, { url, name, stallTimeoutS: 2 });
        const { ds, values } = await filledDataset(target.pool, `kill-${kind}`, SHAPE, CHUNKS);
        const engine = { queue: url, name, taskBytes: 256 };
        let progress = { done: 0, total: 0 };
        const onProgress = (p: { done: number; total: number }) => (progress = p);
        const running: Promise<dn.Dataset> =
          kind === "map" ? ds.map("slowIncrement", `kill-${kind}-out`, { engine, params: slow, onProgress }) : ds.apply("slowIncrement", { engine, params: slow, onProgress }).then(() => ds);
        running.catch(() => undefined);
        // Kill it about a third of the way through, while it holds tasks: it has finished one and runs two at a time.
        await victim.waitForLine(/ done \S+ \((map|stage),/, 30_000);
        for (const deadline = Date.now() + 20_000; progress.done < TASKS / 3 && Date.now() < deadline; ) await sleep(20);
        victim.kill("SIGKILL");
        const doneAtKill = progress.done;
        expect(doneAtKill).toBeLessThan(TASKS);
        const result = await running;
        expectSameValues(await valuesOf(result), plusOne(values), `${kind} after a worker was killed`);
        const activity = await activityOf(result);
        expect(activity.engine).toBe("queue");
        const all = [victim, ...others];
        await expectAllTasksRan(name, activity.job!, TASKS, all, activity.hosts!);
        // Both survivors worked, and the killed worker's tasks were taken over by them.
        for (const w of others) expect(w.doneTasks(activity.job).length).toBeGreaterThan(0);
        const overtaken = await takenOver(name, activity.job!, TASKS);
        console.log(`${kind}: killed ${victim.hostPid} at ${doneAtKill}/${TASKS} tasks; taken over: ${overtaken.join(", ") || "none"}`);
        expect(overtaken.length).toBeGreaterThan(0);
        if (kind === "apply") expect(await storeKeys(target.pool, ".dosna/compute/")).toEqual([]);
      }, 60_000);
    }

    it("a function that throws on one chunk fails the job after its attempts, naming function, chunk and worker; the output is gone", async () => {
      const name = queueName();
      const workers = await startWorkers(3, { url, name });
      const { ds } = await filledDataset(target.pool, "fail-in", [32, 32], CHUNKS);
      const before = await snapshotStore(target.pool.store);
      const error = await failureOf(() => ds.map("failAt", "fail-out", { engine: { queue: url, name, taskBytes: 256, attempts: 2 }, params: { at: [1, 2] } }));
      expect(error).toBeInstanceOf(dn.ComputeError);
      const message = (error as Error).message;
      expect(message).toContain('function "failAt" threw on chunk [1,2]');
      expect(message).toContain("deliberate failure at [1,2]");
      const where = /\(worker (\S+)\)/.exec(message)?.[1];
      expect(workers.map((w) => w.hostPid), message).toContain(where);
      // Two attempts, then no more.
      const attempts = workers.flatMap((w) => [...w.stderr().matchAll(/ failed (\S+) attempt (\d+):/g)].map((m) => m[2]));
      expect(attempts.sort()).toEqual(["1", "2"]);
      await waitUntilIdle(name);
      await expect(ds.context.store.get("fail-out/zarr.json")).resolves.toBeUndefined();
      await expectStoreUnchanged(target.pool.store, before);
    }, 60_000);

    it("Redis restarted mid-job: the job completes exactly or fails with a clear QueueError / ComputeError, never short", async () => {
      const redis = await startPrivateRedis();
      try {
        const name = queueName();
        await startWorkers(3, { url: redis.url, name, stallTimeoutS: 3 });
        const { ds, values } = await filledDataset(target.pool, "restart-in", SHAPE, CHUNKS);
        let restarted: Promise<void> | undefined;
        let doneAtRestart = -1;
        const running = ds.map("slowIncrement", "restart-out", {
          engine: { queue: redis.url, name, taskBytes: 256 },
          params: { ms: 100 },
          onProgress: (p) => {
            if (!restarted && p.done >= 6) {
              doneAtRestart = p.done;
              restarted = redis.restart();
            }
          },
        });
        const outcome = await running.then(
          (out) => ({ out, error: undefined }),
          (error: unknown) => ({ out: undefined, error }),
        );
        expect(restarted, "Redis was restarted during the job").toBeDefined();
        await restarted;
        if (outcome.out) {
          console.log(`Redis restarted at ${doneAtRestart}/${TASKS} tasks: the job completed`);
          expectSameValues(await valuesOf(outcome.out), plusOne(values), "map across a Redis restart");
        } else {
          console.log(`Redis restarted at ${doneAtRestart}/${TASKS} tasks: the job failed with ${String(outcome.error)}`);
          expect(outcome.error instanceof dn.QueueError || outcome.error instanceof dn.ComputeError, String(outcome.error)).toBe(true);
          expect((outcome.error as Error).message).toMatch(/job|Redis/);
        }
      } finally {
        await killAllProcesses();
        await redis.stop();
      }
    }, 60_000);

    it("cancel mid-job: AbortedError, the pending tasks leave the queue, the job is cancelled, the output is gone", async () => {
      const name = queueName();
      const workers = await startWorkers(3, { url, name });
      const { ds } = await filledDataset(target.pool, "cancel-in", SHAPE, CHUNKS);
      const before = await snapshotStore(target.pool.store);
      const controller = new AbortController();
      const error = await failureOf(() =>
        ds.map("slowIncrement", "cancel-out", {
          engine: { queue: url, name, taskBytes: 256 },
          params: slow,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.done >= 3) controller.abort();
          },
        }),
      );
      expect(error, String(error)).toBeInstanceOf(dn.AbortedError);
      const listing = await jobsJson(url, name);
      expect(listing.jobs).toHaveLength(1);
      const job = listing.jobs[0];
      expect(job.state).toBe("cancelled");
      expect(job.tasksDone).toBeLessThan(TASKS);
      const { queue, close } = bullQueue(name);
      try {
        const counts = await queue.getJobCounts("waiting", "delayed", "prioritized");
        expect(counts).toEqual({ waiting: 0, delayed: 0, prioritized: 0 });
      } finally {
        await close();
      }
      // The tasks running when it was cancelled finish; nothing else runs, and nothing of the output is left.
      await waitUntilIdle(name);
      const ran = workers.flatMap((w) => w.doneTasks(job.id));
      expect(ran.length).toBeLessThan(TASKS);
      await expectStoreUnchanged(target.pool.store, before);
    }, 60_000);

    it("resubmitted after its caller was killed -9: the same job carries on, runs only the tasks not done, output exact", async () => {
      const name = queueName();
      const first = await startWorkers(3, { url, name });
      const { ds, values } = await filledDataset(target.pool, "resume-in", SHAPE, CHUNKS);
      const params = { ms: 100 };
      const caller = startNode(CALLER, [target.root!, target.poolName, "resume-in", "resume-out", url, name, "256", JSON.stringify(params)], environmentWithoutDosna());
      await caller.waitForLine(/"done":([4-9]|[1-9]\d)\b/, 30_000);
      caller.kill("SIGKILL");
      await caller.exited;
      // Stop the workers too (they finish their running tasks), so that some tasks are certainly left.
      await Promise.all(first.map((w) => w.stop()));
      const out0 = await target.pool.getDataset("resume-out");
      const jobId = (out0.attrs.get("dosna") as { job: { id: string } }).job.id;
      const [job] = (await jobsJson(url, name)).jobs;
      expect(job).toMatchObject({ id: jobId, state: "running", tasks: TASKS });
      const doneBefore = job.tasksDone;
      expect(doneBefore).toBeGreaterThan(0);
      expect(doneBefore).toBeLessThan(TASKS);
      expect(first.flatMap((w) => w.doneTasks(jobId))).toHaveLength(doneBefore);

      const second = await startWorkers(3, { url, name });
      const out = await ds.map("slowIncrement", "resume-out", { engine: { queue: url, name, taskBytes: 256 }, params });
      expectSameValues(await valuesOf(out), plusOne(values), "resumed map");
      const activity = await activityOf(out);
      expect(activity.job).toBe(jobId);
      const rerun = second.flatMap((w) => w.doneTasks(jobId));
      console.log(`resubmission: ${doneBefore}/${TASKS} tasks done before the caller died, ${rerun.length} run on resubmission`);
      expect(rerun).toHaveLength(TASKS - doneBefore);
      const everyRun = [...first, ...second].flatMap((w) => w.doneTasks(jobId));
      expect(everyRun.sort()).toEqual(Array.from({ length: TASKS }, (_, i) => `${jobId}-${i}`).sort()); // each once
      await expectAllTasksRan(name, jobId, TASKS, [...first, ...second], activity.hosts!);
    }, 60_000);
  });

  describe("bad input: a clear error, nothing stored changed", () => {
    let target: Target;
    let ds: dn.Dataset;
    beforeAll(async () => {
      target = await fsTarget();
      ({ ds } = await filledDataset(target.pool, "bad-in", [16, 16], [8, 8]));
    });
    afterAll(async () => {
      await target?.cleanup();
    });

    /** `action` fails with `cls`, its message containing every fragment, and the pool holds the same keys and bytes afterwards. */
    async function expectCleanFailure(action: () => Promise<unknown>, cls: new (...args: never[]) => Error, fragments: string[], settle?: () => Promise<void>): Promise<string> {
      const before = await snapshotStore(target.pool.store);
      const error = await failureOf(action);
      expect(error, String(error)).toBeInstanceOf(cls);
      const message = (error as Error).message;
      for (const fragment of fragments) expect(message).toContain(fragment);
      await settle?.();
      await expectStoreUnchanged(target.pool.store, before);
      return message;
    }

    it("a function no worker registered: ComputeError naming it and listing the registered ones, before anything is written", async () => {
      const name = queueName();
      await startWorker({ url, name });
      const engine = { queue: url, name, waitForWorkers: 20_000 };
      const began = Date.now();
      const message = await expectCleanFailure(() => ds.map("noSuchFunction", "bad-out", { engine }), dn.ComputeError, ['"noSuchFunction"', `queue "${name}"`, '"box3d"', '"slowIncrement"', '"increment"']);
      expect(Date.now() - began, "it did not wait for a worker with the function").toBeLessThan(20_000);
      expect(message).toMatch(/registered: .*"failAt"/);
      await expectCleanFailure(() => ds.apply("noSuchFunction", { engine }), dn.ComputeError, ['"noSuchFunction"', '"box3d"']);
    }, 60_000);

    it("Redis unreachable (a closed port): QueueError naming the URL", async () => {
      const closed = `redis://127.0.0.1:${await freePort()}`;
      await expectCleanFailure(() => ds.map("increment", "bad-out", { engine: { queue: closed, name: queueName() } }), dn.QueueError, [`cannot reach Redis at ${closed}`, "ECONNREFUSED"]);
      await expectCleanFailure(() => ds.apply("increment", { engine: { queue: closed } }), dn.QueueError, [closed]);
    }, 60_000);

    it("a wrong or missing Redis password: QueueError naming the URL without the password", async () => {
      const secret = `right-${randomBytes(6).toString("hex")}`;
      const redis = await startPrivateRedis({ password: secret });
      try {
        const wrong = `wrong-${randomBytes(6).toString("hex")}`;
        const port = redis.port;
        const message = await expectCleanFailure(
          () => ds.map("increment", "bad-out", { engine: { queue: `redis://:${wrong}@127.0.0.1:${port}`, name: queueName() } }),
          dn.QueueError,
          [`redis://:***@127.0.0.1:${port}`, "refused the password"],
        );
        expect(message).not.toContain(wrong);
        expect(message).not.toContain(secret);
        const noPassword = await expectCleanFailure(() => ds.map("increment", "bad-out", { engine: { queue: `redis://127.0.0.1:${port}` } }), dn.QueueError, [`redis://127.0.0.1:${port}`, "needs a password"]);
        expect(noPassword).not.toContain(secret);
        // The right one works (the server is real): the queue answers, and says no worker is listening.
        await expectCleanFailure(() => ds.map("increment", "bad-out", { engine: { queue: redis.url, name: queueName(), waitForWorkers: 0 } }), dn.QueueError, ["no dosna worker is listening"]);
      } finally {
        await redis.stop();
      }
    }, 60_000);

    it("no worker listening (a queue nobody serves): QueueError saying so, after waitForWorkers", async () => {
      const name = queueName();
      const began = Date.now();
      await expectCleanFailure(() => ds.map("increment", "bad-out", { engine: { queue: url, name, waitForWorkers: 1500 } }), dn.QueueError, [`no dosna worker is listening on queue "${name}"`, url.replace(/\/\/:[^@]*@/, "//:***@")]);
      expect(Date.now() - began).toBeGreaterThanOrEqual(1500);
    }, 60_000);

    for (const [fn, fragments] of [
      ["wrongShape", ["returned 63 elements", "expected float32 of shape [8,8] (64 elements)"]],
      ["wrongDtype", ["returned a float64", "expected float32 of shape [8,8]"]],
    ] as const) {
      it(`a function returning the wrong ${fn === "wrongShape" ? "shape" : "dtype"} (${fn}): ComputeError naming the chunk, the expected and the got`, async () => {
        const name = queueName();
        const worker = await startWorker({ url, name });
        const message = await expectCleanFailure(
          () => ds.map(fn, "bad-out", { engine: { queue: url, name, taskBytes: 256 } }),
          dn.ComputeError,
          [`function "${fn}" on chunk [`, `(worker ${worker.hostPid})`, ...fragments],
          () => waitUntilIdle(name),
        );
        expect(message).toMatch(/on chunk \[\d+,\d+\] of /);
        // A wrong result is not retried: the function would return the same again.
        expect([...worker.stderr().matchAll(/ failed \S+ attempt (\d+)/g)].map((m) => m[1]).every((a) => a === "1")).toBe(true);
      }, 60_000);
    }
  });
}
