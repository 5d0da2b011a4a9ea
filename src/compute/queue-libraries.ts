/**
 * BullMQ and ioredis, loaded on first use: together they add about 30 MiB to every process that
 * imports dosna, and most never use the queue engine.
 */
import type * as BullMQ from "bullmq";
import type * as IORedis from "ioredis";

export interface QueueLibraries {
  bullmq: typeof BullMQ;
  ioredis: typeof IORedis;
}

let loading: Promise<QueueLibraries> | undefined;

export function queueLibraries(): Promise<QueueLibraries> {
  loading ??= Promise.all([import("bullmq"), import("ioredis")]).then(([bullmq, ioredis]) => ({ bullmq, ioredis }));
  return loading;
}
