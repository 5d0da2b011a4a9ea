/**
 * The caller's side of the queue engine: checks that Redis answers and that a worker with the
 * function is listening (before anything is written), puts a job's tasks on the BullMQ queue,
 * follows their progress, and fails clearly (the first task error with its function, chunk and
 * worker; tasks gone from Redis; no worker left; Redis gone too long) instead of hanging or
 * returning short. A resubmitted job adds only the tasks not yet done.
 */
import { hostname } from "node:os";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { AbortedError, ComputeError, QueueError } from "../errors.js";
import type { QueueEngineSpec } from "../core/engine-spec.js";
import { DEFAULT_QUEUE_NAME, FINISHED_RETENTION_S, keys, PROTOCOL_VERSION, taskId, WORKER_TTL_MS, workerInfoSchema, type JobSpec, type JobState, type Task, type WorkerInfo } from "./queue-protocol.js";
import { queueLibraries } from "./queue-libraries.js";
import { checkRedisUrl, describeRedisError, probeRedis, redactRedisUrl, redisConnection } from "./redis.js";
import { describeNames } from "./registry.js";

export type TaskInput = Omit<Task, "v" | "job" | "index">;

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number }) => void;
}

/** How often the caller looks at a job's progress: a few cheap commands, so a short wait after the last task. */
const POLL_MS = 25;
const STATE_CHECK_MS = 1000;
const DEFAULT_WAIT_FOR_WORKERS_MS = 10_000;
/** The caller gives up when Redis has not answered for this long during a job. */
const REDIS_SILENCE_MS = 60_000;

export class QueueClient {
  readonly shownUrl: string;
  readonly name: string;

  private constructor(
    readonly spec: QueueEngineSpec,
    private readonly redis: Redis,
    private readonly queue: Queue,
  ) {
    this.shownUrl = redactRedisUrl(spec.queue);
    this.name = spec.name ?? DEFAULT_QUEUE_NAME;
  }

  static async open(spec: QueueEngineSpec): Promise<QueueClient> {
    const url = checkRedisUrl(spec.queue, "engine.queue");
    await probeRedis(url);
    const connection = await redisConnection(url);
    const { Queue } = (await queueLibraries()).bullmq;
    const queue = new Queue(spec.name ?? DEFAULT_QUEUE_NAME, { connection });
    // Without a listener BullMQ prints every connection error (e.g. while Redis restarts) to stderr.
    queue.on("error", () => undefined);
    return new QueueClient(spec, connection, queue);
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }

  /** Workers whose heartbeat is recent. */
  async liveWorkers(): Promise<WorkerInfo[]> {
    return liveWorkers(this.redis, this.name);
  }

  /**
   * Wait (up to waitForWorkers) for a worker, then check one has `fn`: QueueError / ComputeError
   * otherwise, so a job that cannot run fails before it writes anything.
   */
  async requireWorkers(fn: string | undefined, signal?: AbortSignal): Promise<WorkerInfo[]> {
    const waitMs = this.spec.waitForWorkers ?? DEFAULT_WAIT_FOR_WORKERS_MS;
    const deadline = Date.now() + waitMs;
    let workers = await this.liveWorkers();
    while (workers.length === 0) {
      if (signal?.aborted) throw new AbortedError("waiting for a dosna worker was aborted", { cause: signal.reason });
      if (Date.now() >= deadline) {
        throw new QueueError(
          `no dosna worker is listening on queue "${this.name}" at ${this.shownUrl} (waited ${Math.round(waitMs / 1000)} s): ` +
            `start one with \`dosna worker --queue ${this.shownUrl} --functions MODULE\`, or pass waitForWorkers: Infinity to wait for one`,
        );
      }
      await sleep(250);
      workers = await this.liveWorkers();
    }
    if (fn !== undefined && !workers.some((w) => w.functions.includes(fn))) {
      const known = [...new Set(workers.flatMap((w) => w.functions))].sort();
      throw new ComputeError(`no worker on queue "${this.name}" at ${this.shownUrl} has a function "${fn}" registered (registered: ${describeNames(known)}; ${workers.length} worker(s) listening)`);
    }
    return workers;
  }

  /** Run the tasks of job `jobId` to the end; resolves with the hosts that ran them. */
  async run(jobId: string, jobSpec: JobSpec, inputs: readonly TaskInput[], options: RunOptions = {}): Promise<{ hosts: string[] }> {
    const k = keys(this.name);
    const tasks: Task[] = inputs.map((input, index) => ({ v: PROTOCOL_VERSION, job: jobId, index, ...input }));
    // Progress in stored objects (a task without objects, a .npy slab, counts one).
    const objectsOf = tasks.map((t) => Math.max(1, t.objects.length));
    const totalObjects = objectsOf.reduce((a, b) => a + b, 0);
    const created = Date.now();
    const [[, fresh]] = (await this.redis
      .multi()
      .hsetnx(k.job(jobId), "created", new Date(created).toISOString())
      .hset(k.job(jobId), { spec: JSON.stringify(jobSpec), total: tasks.length, objects: totalObjects, state: "running", caller: `${hostname()}:${process.pid}` })
      .hdel(k.job(jobId), "error", "finished", "stopped")
      .zadd(k.jobs, created, jobId)
      .exec()) as [[null, number], ...unknown[]];
    const done = new Set((await this.redis.smembers(k.done(jobId))).map(Number));
    await this.enqueue(tasks.filter((t) => !done.has(t.index)), fresh === 0);
    try {
      await this.follow(jobId, tasks, objectsOf, totalObjects, options);
    } catch (error) {
      const state: JobState = error instanceof AbortedError ? "cancelled" : "failed";
      // A failed job's output is removed too (unless Redis lost the job, QueueError: kept to resume):
      // stop its tasks as a cancel does, and mark it stopped so that workers skip its later tasks.
      const stop = !(error instanceof QueueError);
      await this.finish(jobId, state, error instanceof AbortedError ? undefined : (error as Error).message, stop).catch(() => undefined);
      if (stop) {
        await this.removePending(jobId, tasks).catch(() => undefined);
        // Tasks already running finish (workers check for cancellation only between tasks): wait
        // for them, so that what the caller removes next is not written again behind its back.
        await this.waitForRunning(jobId, tasks).catch(() => undefined);
      }
      throw error;
    }
    await this.finish(jobId, "completed");
    return { hosts: (await this.redis.smembers(k.hosts(jobId))).sort() };
  }

  private async enqueue(tasks: readonly Task[], resubmitted: boolean): Promise<void> {
    const attempts = this.spec.attempts ?? 3;
    for (let i = 0; i < tasks.length; i += 500) {
      const batch = tasks.slice(i, i + 500);
      // A task left failed by an earlier run of the same job is retried; one that exists otherwise is left alone (BullMQ ignores a duplicate id).
      if (resubmitted) {
        const states = await Promise.all(batch.map((task) => this.queue.getJobState(taskId(task.job, task.index))));
        for (const [j, state] of states.entries()) {
          if (state === "failed") await (await this.queue.getJob(taskId(batch[j].job, batch[j].index)))?.retry("failed");
        }
      }
      await this.queue.addBulk(
        batch.map((task) => ({
          name: task.kind,
          data: task,
          opts: {
            jobId: taskId(task.job, task.index),
            attempts,
            backoff: { type: "exponential", delay: 250 },
            removeOnComplete: { age: FINISHED_RETENTION_S },
            removeOnFail: { age: FINISHED_RETENTION_S },
          },
        })),
      );
    }
  }

  private async follow(jobId: string, tasks: readonly Task[], objectsOf: readonly number[], totalObjects: number, options: RunOptions): Promise<void> {
    const k = keys(this.name);
    let lastStateCheck = Date.now();
    let lastAnswer = Date.now();
    let lastWorkerSeen = Date.now();
    let reported = -1;
    const waitForWorkers = this.spec.waitForWorkers ?? DEFAULT_WAIT_FOR_WORKERS_MS;
    for (;;) {
      if (options.signal?.aborted) throw new AbortedError(`job ${jobId} on queue "${this.name}" was cancelled`, { cause: options.signal.reason });
      const answer = await withTimeout(this.redis.multi().scard(k.done(jobId)).hget(k.job(jobId), "error").exists(k.job(jobId)).exec(), 2000);
      if (answer === undefined) {
        if (Date.now() - lastAnswer > REDIS_SILENCE_MS) throw new QueueError(`lost Redis at ${this.shownUrl} for ${REDIS_SILENCE_MS / 1000} s during job ${jobId}: its output is incomplete; run it again when Redis is back (finished tasks are skipped)`);
        continue;
      }
      lastAnswer = Date.now();
      const [[, doneCount], [, error], [, exists]] = answer as [[null, number], [null, string | null], [null, number]];
      if (!exists) throw new QueueError(`job ${jobId}'s state is gone from Redis at ${this.shownUrl} (was Redis restarted without persistence, or flushed?): its output is incomplete; run it again`);
      if (error) throw new ComputeError(`job ${jobId} failed: ${error}`);
      if (doneCount !== reported) {
        reported = doneCount;
        const doneObjects = doneCount >= tasks.length ? totalObjects : Math.round((doneCount / tasks.length) * totalObjects);
        options.onProgress?.({ done: doneObjects, total: totalObjects });
      }
      if (doneCount >= tasks.length) return;
      if (Date.now() - lastStateCheck >= STATE_CHECK_MS) {
        lastStateCheck = Date.now();
        await this.checkTasks(jobId, tasks);
        if ((await this.liveWorkers()).length > 0) lastWorkerSeen = Date.now();
        else if (Date.now() - lastWorkerSeen > waitForWorkers) {
          throw new QueueError(`no dosna worker has been listening on queue "${this.name}" at ${this.shownUrl} for ${Math.round(waitForWorkers / 1000)} s; ${tasks.length - doneCount} of job ${jobId}'s ${tasks.length} tasks are not done`);
        }
      }
      await sleep(POLL_MS);
    }
  }

  /** Tasks that failed for good, or vanished (Redis lost them), end the job now. */
  private async checkTasks(jobId: string, tasks: readonly Task[]): Promise<void> {
    const done = new Set((await this.redis.smembers(keys(this.name).done(jobId))).map(Number));
    const pending = tasks.filter((t) => !done.has(t.index)).slice(0, 256);
    const states = await Promise.all(pending.map((t) => this.queue.getJobState(taskId(jobId, t.index))));
    for (let i = 0; i < pending.length; i++) {
      if (states[i] === "failed") {
        const job = await this.queue.getJob(taskId(jobId, pending[i].index));
        throw new ComputeError(`job ${jobId} failed: ${job?.failedReason ?? `task ${pending[i].index} failed`}`);
      }
      if (states[i] === "unknown" && !(await this.redis.sismember(keys(this.name).done(jobId), pending[i].index))) {
        throw new QueueError(`task ${pending[i].index} of job ${jobId} is gone from Redis at ${this.shownUrl} (Redis restarted without persistence, or the queue was cleaned): its output is incomplete; run the job again (finished tasks are skipped)`);
      }
    }
  }

  private async waitForRunning(jobId: string, tasks: readonly Task[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const states = await Promise.all(tasks.map((t) => this.queue.getJobState(taskId(jobId, t.index))));
      if (!states.includes("active")) return;
      await sleep(100);
    }
  }

  private async removePending(jobId: string, tasks: readonly Task[]): Promise<void> {
    for (const task of tasks) await this.queue.remove(taskId(jobId, task.index)).catch(() => 0);
  }

  private async finish(jobId: string, state: JobState, error?: string, stopped = false): Promise<void> {
    const k = keys(this.name);
    const tx = this.redis.multi().hset(k.job(jobId), { state, finished: new Date().toISOString(), ...(stopped ? { stopped: "1" } : {}) });
    if (error) tx.hsetnx(k.job(jobId), "error", error);
    for (const key of [k.job(jobId), k.done(jobId), k.hosts(jobId), k.tokens(jobId)]) tx.expire(key, FINISHED_RETENTION_S);
    await tx.exec();
  }

  /** Version tokens the staged apply's tasks read, by object key. */
  async tokens(jobId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(keys(this.name).tokens(jobId));
  }
}

export async function liveWorkers(redis: Redis, name: string): Promise<WorkerInfo[]> {
  const k = keys(name);
  const ids = await redis.zrangebyscore(k.workers, Date.now() - WORKER_TTL_MS, "+inf");
  if (ids.length === 0) return [];
  const facts = await redis.mget(ids.map((id) => k.worker(id)));
  return facts.flatMap((text) => {
    if (!text) return [];
    const parsed = workerInfoSchema.safeParse(JSON.parse(text));
    return parsed.success ? [parsed.data] : [];
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export { describeRedisError };
