/**
 * compute/: chunk-parallel work beyond one thread. Functions are registered by name
 * (registry.ts) and run chunk-wise by an engine: "local" (this process), "threads" (worker
 * threads, thread-pool.ts) or a queue of `dosna worker` processes on any host through BullMQ on
 * Redis (queue-client.ts on the caller's side, queue-worker.ts on the workers'; the Redis layout
 * is in queue-protocol.ts and docs/compute.md). engines.ts runs map/apply/clear on them;
 * install.ts wires that into Dataset.
 */
export { registerFunction, unregisterFunction, registeredFunctionNames, loadFunctions, type RegisteredFunction, type ChunkContext, type RegisterOptions } from "./registry.js";
export { QueueWorker, type QueueWorkerOptions } from "./queue-worker.js";
export { listJobs, type JobSummary } from "./jobs.js";
export { installCompute } from "./install.js";
export { resolveEngine } from "./engines.js";
export { redactRedisUrl } from "./redis.js";
