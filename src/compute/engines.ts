/**
 * map / apply / clear on an engine: "local" (this process), "threads" (worker threads of this
 * machine) or a queue (`dosna worker` processes on any host, through BullMQ on Redis). The functions
 * are named ones from the registry; the engine is chosen per call (`options.engine`) or per cluster.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import { ComputeError, PreconditionFailedError, QueueError, ValidationError } from "../errors.js";
import { gridIndices, type ChunkFunction, type ChunkTransform, type ComputeOptions, type Dataset, type OperationOptions } from "../core/dataset.js";
import type { EngineSpec, QueueEngineSpec } from "../core/engine-spec.js";
import { newObjectId } from "../core/object-ids.js";
import { dosnaAttrs, openDatasetAt, setDosnaMember } from "./dosna-attrs.js";
import { forEachLimited } from "../core/concurrency.js";
import { checkedTransform, chunkContext, type ArrayFacts } from "./chunk-call.js";
import { addressOf } from "./pool-address.js";
import { ABSENT } from "./queue-protocol.js";
import { QueueClient, type TaskInput } from "./queue-client.js";
import { findRegisteredFunction, nameOfRegistered, registeredFunction } from "./registry.js";
import { recordRun } from "./run-info.js";
import { ThreadPool } from "./thread-pool.js";
import { checkRedisUrl } from "./redis.js";

type ResolvedEngine = { kind: "local" } | { kind: "threads"; size: number } | { kind: "queue"; spec: QueueEngineSpec };

const queueSpecSchema = z
  .object({
    queue: z.string(),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
    waitForWorkers: z.number().nonnegative().optional(),
    taskBytes: z.number().int().positive().optional(),
    attempts: z.number().int().min(1).max(100).optional(),
  })
  .strict();

const DEFAULT_TASK_BYTES = 8 * 1024 * 1024;
const MIN_TASKS = 64;
const HERE = `${hostname()}:${process.pid}`;

export function resolveEngine(spec: EngineSpec | undefined, what: string): ResolvedEngine {
  if (spec === undefined || spec === "local") return { kind: "local" };
  if (spec === "threads") return { kind: "threads", size: ThreadPool.defaultSize() };
  if (typeof spec === "object" && spec !== null && "threads" in spec) {
    const size = (spec as { threads: unknown }).threads;
    if (!Number.isInteger(size) || (size as number) < 1) throw new ValidationError(`${what}: engine { threads } must be a positive integer, got ${JSON.stringify(size)}`);
    return { kind: "threads", size: size as number };
  }
  if (typeof spec === "object" && spec !== null && "queue" in spec) {
    const parsed = queueSpecSchema.safeParse(spec);
    if (!parsed.success) throw new ValidationError(`${what}: invalid queue engine: ${parsed.error.issues.map((i) => `${i.path.join(".") || "engine"}: ${i.message}`).join("; ")}`);
    checkRedisUrl(parsed.data.queue, `${what}: engine.queue`);
    return { kind: "queue", spec: parsed.data };
  }
  throw new ValidationError(`${what}: engine must be "local", "threads", { threads: N } or { queue: "redis://host:port" }, got ${JSON.stringify(spec)}`);
}

/** The named function to run, or undefined when a plain function runs locally as before. */
function functionName(fn: ChunkFunction | string, engine: ResolvedEngine, what: string): string | undefined {
  if (typeof fn === "string") return fn;
  if (typeof fn !== "function") throw new ValidationError(`${what}: expected a function or the name of a registered function, got ${typeof fn}`);
  const name = nameOfRegistered(fn);
  if (name === undefined && engine.kind !== "local") {
    throw new ValidationError(`${what}: the ${engine.kind} engine runs only functions registered by name (dn.registerFunction("name", fn) in a module the workers load), and this function is not registered`);
  }
  return name;
}

export function checkJsonParams(params: unknown, what: string): void {
  const seen = new Set<unknown>();
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value === "string" || typeof value === "boolean") return;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new ValidationError(`${what}: params${path} is ${value}, which JSON cannot carry`);
      return;
    }
    if (typeof value !== "object") throw new ValidationError(`${what}: params${path} is a ${typeof value}: params must be plain JSON (they travel to workers as JSON)`);
    if (seen.has(value)) throw new ValidationError(`${what}: params${path} refers to itself`);
    seen.add(value);
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
    else {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new ValidationError(`${what}: params${path} is a ${value.constructor?.name ?? "class instance"}: params must be plain JSON`);
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    }
    seen.delete(value);
  };
  if (params !== undefined) walk(params, "");
}

function factsOf(ds: Dataset): ArrayFacts {
  return { describe: ds.describe, shape: ds.shape, dtype: ds.dtype, chunks: ds.chunks };
}

/** A transform running the named function on the engine's threads, its results checked. */
function threadTransform(pool: ThreadPool, name: string, params: unknown, facts: ArrayFacts, signal?: AbortSignal): ChunkTransform {
  return checkedTransform(name, (chunk, p, context) => pool.run(name, p, chunk, context, signal), params, facts, `a worker thread of ${HERE}`);
}

async function withThreads<T>(engine: { size: number }, name: string, run: (pool: ThreadPool) => Promise<T>): Promise<T> {
  const entry = registeredFunction(name);
  if (!entry.module) throw new ComputeError(`the threads engine cannot tell which module registered "${name}": pass { module: import.meta.url } to dn.registerFunction`);
  const pool = ThreadPool.acquire(engine.size, [entry.module]);
  try {
    return await run(pool);
  } finally {
    pool.release();
  }
}

function ioOptions(options: OperationOptions, engine: { size: number }, ds: Dataset): OperationOptions {
  return { ...options, njobs: Math.max(options.njobs ?? ds.njobs, engine.size * 2) };
}

/**
 * Groups of whole objects of about `taskBytes` each (at least one), in C order, and at least
 * MIN_TASKS groups when there are that many objects, so that small arrays still spread over the
 * workers. Depends only on the data (not on how many workers listen): a resubmitted job must cut
 * the same tasks to skip the ones done.
 */
export function taskObjects(ds: Dataset, objects: number[][], taskBytes = DEFAULT_TASK_BYTES): number[][][] {
  const objectBytes = ds.objectShape.reduce((a, b) => a * b, 1) * Math.max(1, ds.nbytes / Math.max(1, ds.size));
  const byBytes = Math.max(1, Math.floor(taskBytes / Math.max(1, objectBytes)));
  const per = Math.min(byBytes, Math.max(1, Math.ceil(objects.length / MIN_TASKS)));
  const groups: number[][][] = [];
  for (let i = 0; i < objects.length; i += per) groups.push(objects.slice(i, i + per));
  return groups;
}

function jobSpecHash(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

interface StoredJob {
  id: string;
  spec: string;
}

function storedJob(ds: Dataset): StoredJob | undefined {
  const job = dosnaAttrs(ds).job as StoredJob | undefined;
  return job && typeof job === "object" && typeof job.id === "string" ? job : undefined;
}

function setStoredJob(ds: Dataset, job: StoredJob | undefined): Promise<void> {
  return setDosnaMember(ds, "job", job);
}

export async function computeMap(ds: Dataset, fn: ChunkFunction | string, outName: string, options: ComputeOptions, original: () => Promise<Dataset>): Promise<Dataset> {
  const what = `map of ${ds.describe}`;
  const engine = resolveEngine(options.engine ?? ds.context.engine, what);
  const name = functionName(fn, engine, what);
  checkJsonParams(options.params, what);
  if (name === undefined || (engine.kind === "local" && typeof fn === "function" && options.params === undefined && !findRegisteredFunction(name))) return original();
  const params = options.params;
  if (engine.kind === "local") {
    const entry = registeredFunction(name);
    const out = await ds.clone(outName);
    await removeOnFailure(out, () => ds.mapObjects(ds.objectIndices(), checkedTransform(name, entry.fn, params, factsOf(ds), `this process, ${HERE}`), out, options));
    recordRun(out, { engine: "local", hosts: [HERE] });
    return out;
  }
  if (engine.kind === "threads") {
    return withThreads(engine, name, async (pool) => {
      const out = await ds.clone(outName);
      await removeOnFailure(out, () => ds.mapObjects(ds.objectIndices(), threadTransform(pool, name, params, factsOf(ds), options.signal), out, ioOptions(options, engine, ds)));
      recordRun(out, { engine: "threads", hosts: [HERE] });
      return out;
    });
  }
  const address = addressOf(ds);
  const client = await QueueClient.open(engine.spec);
  try {
    await client.requireWorkers(name, options.signal);
    const spec = jobSpecHash({ kind: "map", address, input: ds.path, outName, name, params });
    let out: Dataset | undefined;
    let jobId: string | undefined;
    const parent = ds.path.includes("/") ? ds.path.slice(0, ds.path.lastIndexOf("/")) : "";
    const outPath = outName.startsWith("/") ? outName.slice(1) : parent === "" ? outName : `${parent}/${outName}`;
    // A resubmitted job (its caller died) finds its output marked with the job and carries on.
    const existing = await ds.context.store.get(`${outPath}/zarr.json`);
    if (existing !== undefined) {
      const previous = await openDatasetAt(ds, outPath);
      const job = previous && storedJob(previous);
      if (previous && job && job.spec === spec) {
        out = previous;
        jobId = job.id;
      }
    }
    if (!out || !jobId) {
      out = await ds.clone(outName);
      jobId = newObjectId();
      await setStoredJob(out, { id: jobId, spec });
    }
    const target = { pool: address, path: out.path };
    const tasks: TaskInput[] = taskObjects(ds, ds.objectIndices(), engine.spec.taskBytes).map((objects) => ({
      kind: "map",
      fn: name,
      params,
      source: { pool: address, path: ds.path },
      target,
      objects,
    }));
    const { hosts } = await removeOnFailure(out, () => client.run(jobId!, { kind: "map", fn: name, params, source: ds.describe, target: out!.describe }, tasks, options));
    await setStoredJob(out, undefined);
    recordRun(out, { engine: "queue", hosts, job: jobId });
    return out;
  } finally {
    await client.close();
  }
}

export async function computeApply(ds: Dataset, fn: ChunkFunction | string, options: ComputeOptions, original: () => Promise<void>): Promise<void> {
  const what = `apply on ${ds.describe}`;
  const engine = resolveEngine(options.engine ?? ds.context.engine, what);
  const name = functionName(fn, engine, what);
  checkJsonParams(options.params, what);
  if (name === undefined || (engine.kind === "local" && typeof fn === "function" && options.params === undefined && !findRegisteredFunction(name))) return original();
  const params = options.params;
  const chunks = allChunkIndices(ds);
  if (engine.kind === "local") {
    const entry = registeredFunction(name);
    await ds.applyChunks(chunks, checkedTransform(name, entry.fn, params, factsOf(ds), `this process, ${HERE}`), options);
    recordRun(ds, { engine: "local", hosts: [HERE] });
    return;
  }
  if (engine.kind === "threads") {
    await withThreads(engine, name, (pool) => ds.applyChunks(chunks, threadTransform(pool, name, params, factsOf(ds), options.signal), ioOptions(options, engine, ds)));
    recordRun(ds, { engine: "threads", hosts: [HERE] });
    return;
  }
  await stagedApply(ds, name, params, engine.spec, options);
}

/**
 * Apply in place on queue workers, idempotently: workers map into a hidden staging array, noting the
 * version of each input object they read; then this process copies each staged object over its
 * original only if the original is still that version. An object changed meanwhile by another
 * writer is recomputed here from its new content (read-modify-write), so no update is lost.
 */
async function stagedApply(ds: Dataset, name: string, params: unknown, spec: QueueEngineSpec, options: ComputeOptions): Promise<void> {
  const address = addressOf(ds);
  const client = await QueueClient.open(spec);
  try {
    await client.requireWorkers(name, options.signal);
    const specHash = jobSpecHash({ kind: "apply", address, input: ds.path, name, params, shape: ds.shape });
    const stagingPath = `.dosna/compute/apply-${specHash}`;
    let staging = (await ds.context.store.get(`${stagingPath}/zarr.json`)) === undefined ? undefined : await openDatasetAt(ds, stagingPath);
    let jobId = staging && storedJob(staging)?.id;
    if (!staging || !jobId) {
      if (staging) await staging.delete();
      staging = await ds.clone(`/${stagingPath}`, { createAncestors: false });
      jobId = newObjectId();
      await setStoredJob(staging, { id: jobId, spec: specHash });
    }
    const objects = ds.objectIndices();
    const tasks: TaskInput[] = taskObjects(ds, objects, spec.taskBytes).map((group) => ({
      kind: "stage",
      fn: name,
      params,
      source: { pool: address, path: ds.path },
      target: { pool: address, path: staging!.path },
      objects: group,
    }));
    // Nothing of the input changes until every task is done: a failed or cancelled job leaves it as it was.
    const { hosts } = await removeOnFailure(staging, () =>
      client.run(jobId!, { kind: "apply", fn: name, params, source: ds.describe, target: ds.describe }, tasks, { signal: options.signal, onProgress: options.onProgress }),
    );
    const tokens = await client.tokens(jobId);
    const changed: number[][] = [];
    await forEachLimited(objects, async (object) => {
      if (!(await copyBack(ds, staging!, object, tokens[ds.objectKeyOf(object)], options.signal))) changed.push(object);
    }, { njobs: options.njobs ?? ds.njobs, signal: options.signal }, `copy-back of the apply on ${ds.describe}`);
    if (changed.length > 0) await recomputeChanged(ds, name, params, changed, options);
    await staging.delete();
    recordRun(ds, { engine: "queue", hosts: changed.length > 0 ? [...new Set([...hosts, HERE])].sort() : hosts, job: jobId });
  } finally {
    await client.close();
  }
}

/** Copy one staged object over the original if the original is still the version the worker read; false when another writer changed it. */
async function copyBack(ds: Dataset, staging: Dataset, object: number[], token: string | undefined, signal?: AbortSignal): Promise<boolean> {
  if (token === undefined) return false;
  const store = ds.context.store;
  const key = ds.objectKeyOf(object);
  const staged = await store.get(staging.objectKeyOf(object), undefined, { signal });
  try {
    if (staged === undefined) {
      if (token !== ABSENT) await store.delete(key, { ifMatch: token, signal });
    } else {
      await store.set(key, staged, token === ABSENT ? { ifNoneMatch: "*", signal } : { ifMatch: token, signal });
    }
    return true;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    // Copied already by an earlier run of this job?
    const now = await store.get(key, undefined, { signal });
    return now === undefined ? staged === undefined : staged !== undefined && Buffer.compare(now, staged) === 0;
  }
}

async function recomputeChanged(ds: Dataset, name: string, params: unknown, objects: number[][], options: ComputeOptions): Promise<void> {
  const entry = findRegisteredFunction(name);
  const chunkKeys = new Set(objects.map((o) => ds.objectKeyOf(o)));
  const chunks = allChunkIndices(ds).filter((g) => chunkKeys.has(ds.chunkKeyOf(g)));
  if (!entry) {
    throw new ComputeError(
      `apply of "${name}" on ${ds.describe}: ${objects.length} object(s) (first: chunk [${chunks[0]}]) were changed by another writer while the workers ran, ` +
        `and "${name}" is not registered in this process to recompute them: their previous content is kept; load the functions module here and run the apply again`,
    );
  }
  await ds.applyChunks(chunks, checkedTransform(name, entry.fn, params, factsOf(ds), `this process, ${HERE}`), options);
}

export async function computeClear(ds: Dataset, options: ComputeOptions, original: () => Promise<void>): Promise<void> {
  const engine = resolveEngine(options.engine ?? ds.context.engine, `clear of ${ds.describe}`);
  if (engine.kind !== "queue") return original();
  const address = addressOf(ds);
  const client = await QueueClient.open(engine.spec);
  try {
    await client.requireWorkers(undefined, options.signal);
    const stored = await storedObjects(ds, options.signal);
    if (stored.length === 0) return;
    const tasks: TaskInput[] = [];
    for (let i = 0; i < stored.length; i += 1000) tasks.push({ kind: "clear", target: { pool: address, path: ds.path }, objects: stored.slice(i, i + 1000) });
    await client.run(newObjectId(), { kind: "clear", target: ds.describe }, tasks, options);
  } finally {
    await client.close();
  }
}

async function storedObjects(ds: Dataset, signal?: AbortSignal): Promise<number[][]> {
  const keys = new Set<string>();
  for await (const key of ds.context.store.list(ds.path === "" ? "c" : `${ds.path}/`, { signal })) keys.add(key);
  return ds.objectIndices().filter((o) => keys.has(ds.objectKeyOf(o)));
}

function allChunkIndices(ds: Dataset): number[][] {
  return [...gridIndices(ds.chunkGrid)];
}

/**
 * A map's output is removed when the map fails or is cancelled, so a failed job leaves nothing
 * behind; except when Redis lost the job (QueueError), where running it again resumes it.
 */
async function removeOnFailure<T>(out: Dataset, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof QueueError)) await out.delete().catch(() => undefined);
    throw error;
  }
}

export { chunkContext };
