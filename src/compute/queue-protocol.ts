/**
 * What the queue engine keeps in Redis, besides BullMQ's own keys (docs/compute.md is the spec).
 * Everything is JSON; no message carries code or credentials.
 *
 *   BullMQ queue NAME              one BullMQ job per task, id "<jobId>-<taskIndex>", data: Task
 *   dosna:NAME:workers             sorted set: worker id → last heartbeat (ms)
 *   dosna:NAME:worker:<id>         worker facts (WorkerInfo JSON), expires without heartbeats
 *   dosna:NAME:jobs                sorted set: job id → creation time (ms)
 *   dosna:NAME:job:<id>            hash: spec (JSON), total, state, error, created, finished
 *   dosna:NAME:job:<id>:done       set of finished task indices (idempotent progress)
 *   dosna:NAME:job:<id>:hosts      set of "host:pid" of the workers that ran tasks
 *   dosna:NAME:job:<id>:tokens     hash: object key → version token the task read (staged apply)
 */
import { z } from "zod";
import { poolAddressSchema } from "./pool-address.js";

export const PROTOCOL_VERSION = 1;
export const DEFAULT_QUEUE_NAME = "dosna";
/** Worker facts expire this long after the last heartbeat; callers consider such workers gone. */
export const WORKER_TTL_MS = 15_000;
export const HEARTBEAT_MS = 4_000;
/** Finished jobs' records (and BullMQ's finished tasks) are kept this long for `dosna jobs` and resubmission. */
export const FINISHED_RETENTION_S = 7 * 24 * 3600;
/** A version token meaning "the object was absent when read". */
export const ABSENT = "";

const datasetRef = z.object({ pool: poolAddressSchema, path: z.string() }).strict();
const gridIndex = z.array(z.number().int().nonnegative());

export const taskSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    job: z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/),
    index: z.number().int().nonnegative(),
    /**
     * map: fn over source into target; stage: the same, recording source tokens (apply in place);
     * clear: delete target objects; copy: the source's values in each target object's region;
     * npy: rows [start, end) of a .npy file (a path the worker can read) into target;
     * derive: blocks (objects: [[b], ...], axis-0 chunk rows of source) of a derivation into target.
     */
    kind: z.enum(["map", "stage", "clear", "copy", "npy", "derive"]),
    fn: z.string().optional(),
    params: z.unknown().optional(),
    source: datasetRef.optional(),
    target: datasetRef,
    /** Grid indices of the stored objects (chunks, or shards) of the task (map, stage, clear, copy). */
    objects: z.array(gridIndex),
    file: z.string().optional(),
    rows: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).optional(),
  })
  .strict()
  .refine((t) => (t.kind === "npy" ? t.file !== undefined && t.rows !== undefined : t.objects.length > 0), { message: "an npy task needs file and rows; other tasks need objects" });

export type Task = z.infer<typeof taskSchema>;

export const workerInfoSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number(),
  functions: z.array(z.string()),
  concurrency: z.number(),
  started: z.string(),
  version: z.number(),
});

export type WorkerInfo = z.infer<typeof workerInfoSchema>;

export type JobState = "running" | "completed" | "failed" | "cancelled";

export interface JobSpec {
  kind: Task["kind"] | "apply" | "import";
  fn?: string;
  params?: unknown;
  source?: string;
  target: string;
}

export function keys(queueName: string) {
  const base = `dosna:${queueName}`;
  return {
    workers: `${base}:workers`,
    worker: (id: string) => `${base}:worker:${id}`,
    jobs: `${base}:jobs`,
    job: (id: string) => `${base}:job:${id}`,
    done: (id: string) => `${base}:job:${id}:done`,
    hosts: (id: string) => `${base}:job:${id}:hosts`,
    tokens: (id: string) => `${base}:job:${id}:tokens`,
  };
}

export function taskId(jobId: string, index: number): string {
  return `${jobId}-${index}`;
}
