/**
 * `dosna worker`: takes tasks from a BullMQ queue on Redis and runs them on pools it opens with its
 * own credentials (environment or config file, never the queue). It runs only functions registered
 * in the modules it loaded. Tasks are idempotent (whole output objects, written whole), so BullMQ's
 * retries and its take-over of a stalled task (a worker killed mid-task) change nothing in the result.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { ComputeError, DosnaError, NotFoundError } from "../errors.js";
import { ABSENT, DEFAULT_QUEUE_NAME, HEARTBEAT_MS, keys, PROTOCOL_VERSION, taskSchema, WORKER_TTL_MS, type Task, type WorkerInfo } from "./queue-protocol.js";
import { queueLibraries } from "./queue-libraries.js";
import { checkRedisUrl, probeRedis, redactRedisUrl, redisConnection } from "./redis.js";
import { PoolOpener } from "./pool-address.js";
import { findRegisteredFunction, registeredFunctionNames } from "./registry.js";
import { checkedTransform, ChunkResultError } from "./chunk-call.js";
import { Dataset } from "../core/dataset.js";
import { copyObjectRegion } from "./copy-region.js";
import { computeBlock } from "./derive.js";
import { forEachLimited } from "../core/concurrency.js";
import { NpyReader } from "../npy/file-io.js";
import { writeNpySlab } from "../npy/transfer.js";

export interface QueueWorkerOptions {
  /** redis://... of the queue. */
  queue: string;
  /** BullMQ queue name (default "dosna"). */
  name?: string;
  /** Tasks run at once (default 1). */
  concurrency?: number;
  /** A task whose worker stops renewing its lock (killed) is taken over after this long (ms, default 30000). */
  stallTimeoutMs?: number;
  /** Chunk requests in flight per task (default 8). */
  njobs?: number;
  /** Store credentials: the worker's own environment (DOSNA_*) and config file. */
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  /** One line per event (task done or failed); never contains secrets. */
  log?: (line: string) => void;
}

export class QueueWorker {
  readonly id: string;
  readonly where: string;
  private readonly opener: PoolOpener;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly shownUrl: string;
  /** BullMQ's error for a task not to retry (the library is loaded in `start`). */
  private unrecoverable!: typeof UnrecoverableError;

  private constructor(
    private readonly options: QueueWorkerOptions,
    private readonly redis: Redis,
    private worker: Worker | undefined,
  ) {
    this.where = `worker ${hostname()}:${process.pid}`;
    this.id = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.shownUrl = redactRedisUrl(options.queue);
    this.opener = new PoolOpener({ env: options.env, configFile: options.configFile, njobs: options.njobs });
  }

  /** Connect (failing at once if Redis cannot be used) and start taking tasks. */
  static async start(options: QueueWorkerOptions): Promise<QueueWorker> {
    const url = checkRedisUrl(options.queue, "dosna worker --queue");
    await probeRedis(url);
    const { Worker, UnrecoverableError } = (await queueLibraries()).bullmq;
    const self = new QueueWorker(options, await redisConnection(url), undefined);
    self.unrecoverable = UnrecoverableError;
    await self.beat();
    self.heartbeat = setInterval(() => void self.beat().catch(() => undefined), HEARTBEAT_MS);
    const stall = options.stallTimeoutMs ?? 30_000;
    self.worker = new Worker(self.queueName, (job: Job) => self.process(job), {
      connection: await redisConnection(url),
      concurrency: options.concurrency ?? 1,
      lockDuration: stall,
      stalledInterval: Math.max(1000, Math.floor(stall / 2)),
      maxStalledCount: 2,
    });
    self.worker.on("error", () => undefined);
    self.worker.on("failed", (job, error) => void self.onFailed(job, error).catch(() => undefined));
    await self.worker.waitUntilReady();
    return self;
  }

  get queueName(): string {
    return this.options.name ?? DEFAULT_QUEUE_NAME;
  }

  info(): WorkerInfo {
    return {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      functions: registeredFunctionNames(),
      concurrency: this.options.concurrency ?? 1,
      started: new Date().toISOString(),
      version: PROTOCOL_VERSION,
    };
  }

  /** Stop taking tasks, finish the running ones, withdraw the advertisement. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.worker?.close();
    const k = keys(this.queueName);
    await this.redis.multi().zrem(k.workers, this.id).del(k.worker(this.id)).exec().catch(() => undefined);
    this.redis.disconnect();
    await this.opener.close();
  }

  private async beat(): Promise<void> {
    const k = keys(this.queueName);
    await this.redis.multi().zadd(k.workers, Date.now(), this.id).set(k.worker(this.id), JSON.stringify(this.info()), "PX", WORKER_TTL_MS).exec();
  }

  private log(line: string): void {
    this.options.log?.(`${new Date().toISOString()} ${line}`);
  }

  private async process(job: Job): Promise<{ where: string }> {
    const parsed = taskSchema.safeParse(job.data);
    if (!parsed.success) throw new this.unrecoverable(`task ${job.id} on queue "${this.queueName}" is not a dosna task: ${parsed.error.issues[0]?.message}`);
    const task = parsed.data;
    const k = keys(this.queueName);
    const [state, stopped] = await this.redis.hmget(k.job(task.job), "state", "stopped");
    if (state === "cancelled" || stopped) return { where: this.where };
    const started = Date.now();
    try {
      await this.run(task);
    } catch (error) {
      const message = error instanceof DosnaError && /\((worker|this process)/.test(error.message) ? error.message : `task ${task.index} of job ${task.job} (${task.kind}) failed on ${this.where}: ${(error as Error).message}`;
      this.log(`failed ${job.id} attempt ${job.attemptsMade + 1}: ${message}`);
      if (error instanceof ChunkResultError) throw new this.unrecoverable(message);
      throw new ComputeError(message, { cause: error });
    }
    await this.redis.multi().sadd(k.done(task.job), task.index).sadd(k.hosts(task.job), `${hostname()}:${process.pid}`).exec();
    this.log(`done ${job.id} (${task.kind}, ${task.objects.length} objects) in ${Date.now() - started} ms`);
    return { where: this.where };
  }

  private async onFailed(job: Job | undefined, error: Error): Promise<void> {
    if (!job) return;
    const final = error instanceof this.unrecoverable || job.attemptsMade >= (job.opts.attempts ?? 1);
    const task = taskSchema.safeParse(job.data);
    if (final && task.success) await this.redis.hsetnx(keys(this.queueName).job(task.data.job), "error", error.message);
  }

  private async run(task: Task): Promise<void> {
    const target = await this.dataset(task.target);
    switch (task.kind) {
      case "clear":
        await target.context.store.deleteMany(task.objects.map((o) => target.objectKeyOf(o)));
        return;
      case "copy": {
        const source = await this.dataset(task.source!);
        for (const object of task.objects) await copyObjectRegion(source, target, object, { njobs: this.options.njobs ?? 8 });
        return;
      }
      case "npy": {
        const reader = await NpyReader.open(task.file!);
        try {
          if (reader.shape.length !== target.ndim || reader.shape.some((n, a) => n !== target.shape[a])) {
            throw new ComputeError(`"${task.file}" has shape [${reader.shape}] but ${target.describe} has shape [${target.shape}]`);
          }
          await writeNpySlab(reader, target, task.rows!);
        } finally {
          await reader.close();
        }
        return;
      }
      case "derive": {
        const source = await this.dataset(task.source!);
        const entry = findRegisteredFunction(task.fn ?? "");
        if (!entry) throw new NotFoundError(`no function "${task.fn}" is registered on ${this.where} (registered: ${registeredFunctionNames().join(", ") || "none"})`);
        const spec = { fn: entry.name, blockRows: source.chunks[0] };
        const call = async (rows: Parameters<typeof entry.fn>[0], context: Parameters<typeof entry.fn>[2]) => entry.fn(rows, task.params, context);
        await forEachLimited(task.objects.map((o) => o[0]), (b) => computeBlock(source, target, spec, b, call, this.where), { njobs: this.options.njobs ?? 8 }, `derive task ${task.index} of job ${task.job}`);
        return;
      }
      case "map":
      case "stage": {
        const source = await this.dataset(task.source!);
        const entry = findRegisteredFunction(task.fn ?? "");
        if (!entry) throw new NotFoundError(`no function "${task.fn}" is registered on ${this.where} (registered: ${registeredFunctionNames().join(", ") || "none"})`);
        if (task.kind === "stage") await this.recordTokens(task, source);
        const facts = { describe: source.describe, shape: source.shape, dtype: source.dtype, chunks: source.chunks };
        await source.mapObjects(task.objects, checkedTransform(entry.name, entry.fn, task.params, facts, this.where), target, { njobs: this.options.njobs ?? 8 });
        return;
      }
    }
  }

  /** Version tokens of the source objects, read BEFORE their data: the copy-back of a staged apply writes only over these versions. */
  private async recordTokens(task: Task, source: Dataset): Promise<void> {
    const tokens: Record<string, string> = {};
    await Promise.all(
      task.objects.map(async (object) => {
        const key = source.objectKeyOf(object);
        const stored = await source.context.store.getVersioned(key, { range: { offset: 0, length: 0 } });
        tokens[key] = stored?.version ?? ABSENT;
      }),
    );
    await this.redis.hset(keys(this.queueName).tokens(task.job), tokens);
  }

  private async dataset(ref: Task["target"]): Promise<Dataset> {
    const pool = await this.opener.open(ref.pool);
    return pool.getDataset(ref.path);
  }
}

export { redactRedisUrl };
