/** `dosna jobs`: the queue engine's jobs (running and finished) and workers, from Redis. */
import { keys, DEFAULT_QUEUE_NAME, type WorkerInfo } from "./queue-protocol.js";
import { checkRedisUrl, probeRedis, redisConnection } from "./redis.js";
import { liveWorkers } from "./queue-client.js";

export interface JobSummary {
  id: string;
  state: string;
  kind: string;
  fn?: string;
  source?: string;
  target?: string;
  tasksDone: number;
  tasks: number;
  created?: string;
  finished?: string;
  caller?: string;
  hosts: string[];
  error?: string;
}

export async function listJobs(queue: string, options: { name?: string; limit?: number } = {}): Promise<{ jobs: JobSummary[]; workers: WorkerInfo[] }> {
  const url = checkRedisUrl(queue, "dosna jobs --queue");
  await probeRedis(url);
  const redis = await redisConnection(url);
  try {
    const name = options.name ?? DEFAULT_QUEUE_NAME;
    const k = keys(name);
    const ids = await redis.zrevrange(k.jobs, 0, (options.limit ?? 50) - 1);
    const jobs: JobSummary[] = [];
    for (const id of ids) {
      const [record, done, hosts] = await Promise.all([redis.hgetall(k.job(id)), redis.scard(k.done(id)), redis.smembers(k.hosts(id))]);
      if (!record.spec) {
        await redis.zrem(k.jobs, id); // expired
        continue;
      }
      const spec = JSON.parse(record.spec) as { kind: string; fn?: string; source?: string; target?: string };
      jobs.push({
        id,
        state: record.state ?? "unknown",
        kind: spec.kind,
        fn: spec.fn,
        source: spec.source,
        target: spec.target,
        tasksDone: done,
        tasks: Number(record.total ?? 0),
        created: record.created,
        finished: record.finished,
        caller: record.caller,
        hosts: hosts.sort(),
        error: record.error,
      });
    }
    return { jobs, workers: await liveWorkers(redis, name) };
  } finally {
    redis.disconnect();
  }
}
