/**
 * Compute commands: dosna worker (take chunk tasks from a BullMQ queue on Redis and run them),
 * dosna jobs (the queue's jobs and workers), dosna map / dosna apply (run a registered function
 * over a dataset on an engine, with a progress bar), dosna derive ls / refresh (derived datasets).
 */
import { hostname } from "node:os";
import { Dataset, listJobs, loadFunctions, parseEngineText, QueueWorker, redactRedisUrl, ValidationError, type DerivationInfo, type EngineSpec, type Group } from "../../index.js";
import type { Cli } from "../context.js";
import { describeLocation } from "../locations.js";
import { progressReporter } from "../progress.js";
import { formatDuration, formatTable, toJson } from "../text.js";

export interface WorkerOptions {
  queue: string;
  functions?: string[];
  concurrency?: number;
  stallTimeout?: number;
  name?: string;
}

export async function worker(cli: Cli, options: WorkerOptions): Promise<void> {
  if (!options.functions || options.functions.length === 0) {
    throw new ValidationError("dosna worker needs --functions MODULE (a module that registers chunk functions with dn.registerFunction); repeat it for several");
  }
  const names = await loadFunctions(...options.functions);
  const running = await QueueWorker.start({
    queue: options.queue,
    name: options.name,
    concurrency: options.concurrency,
    stallTimeoutMs: options.stallTimeout === undefined ? undefined : options.stallTimeout * 1000,
    njobs: cli.connections.njobs,
    env: process.env,
    configFile: cli.options.config,
    log: cli.options.quiet ? undefined : (line) => cli.warn(line),
  });
  cli.warn(
    `dosna worker ${hostname()}:${process.pid} listening on queue "${running.queueName}" at ${redactRedisUrl(options.queue)} ` +
      `with ${names.length} function(s): ${names.join(", ") || "none"} (concurrency ${options.concurrency ?? 1})`,
  );
  await new Promise<void>((resolve) => {
    if (cli.signal.aborted) return resolve();
    cli.signal.addEventListener("abort", () => resolve(), { once: true });
    process.once("SIGTERM", () => resolve());
  });
  cli.warn("dosna worker: finishing running tasks and stopping");
  await running.close();
}

export interface JobsOptions {
  queue: string;
  name?: string;
  limit?: number;
  json?: boolean;
}

export async function jobs(cli: Cli, options: JobsOptions): Promise<void> {
  const { jobs, workers } = await listJobs(options.queue, { name: options.name, limit: options.limit });
  if (options.json) {
    cli.print(toJson({ jobs, workers }));
    return;
  }
  if (jobs.length === 0) cli.print("no jobs");
  else {
    const rows = jobs.map((j) => [
      j.id,
      j.state,
      `${j.kind}${j.fn ? ` ${j.fn}` : ""}`,
      `${j.tasksDone}/${j.tasks}${j.tasks > 0 ? ` (${Math.floor((100 * j.tasksDone) / j.tasks)}%)` : ""}`,
      j.target ?? "",
      j.hosts.join(" "),
      j.created ?? "",
    ]);
    cli.print(formatTable([["JOB", "STATE", "WHAT", "TASKS", "TARGET", "WORKERS", "CREATED"], ...rows]));
    for (const j of jobs) if (j.error && j.state !== "completed") cli.print(`${j.id}: ${j.error}`);
  }
  cli.print(workers.length === 0 ? "no workers listening" : `workers: ${workers.map((w) => `${w.host}:${w.pid} (${w.functions.join(", ")})`).join("; ")}`);
}

export interface MapOptions {
  functions?: string[];
  engine?: string;
  params?: string;
}

function engineAndParams(options: MapOptions): { engine?: EngineSpec; params?: unknown } {
  let params: unknown;
  if (options.params !== undefined) {
    try {
      params = JSON.parse(options.params);
    } catch (error) {
      throw new ValidationError(`--params must be JSON, e.g. '{"sigma": 1.5}': ${(error as Error).message}`);
    }
  }
  return { engine: options.engine === undefined ? undefined : parseEngineText(options.engine, "--engine"), params };
}

export async function map(cli: Cli, url: string, fn: string, out: string, options: MapOptions): Promise<void> {
  if (options.functions?.length) await loadFunctions(...options.functions);
  const { engine, params } = engineAndParams(options);
  const { location, dataset } = await cli.openDataset(url);
  const progress = cli.progress(`map ${fn}`, "chunks");
  const began = Date.now();
  try {
    const result = await dataset.map(fn, out, { engine, params, signal: cli.signal, onProgress: progressReporter(progress) });
    progress.stop();
    cli.report(`mapped "${fn}" over ${describeLocation(location)} into ${describeLocation(location, result.path)} in ${formatDuration((Date.now() - began) / 1000)}`);
  } finally {
    progress.stop();
  }
}

export async function apply(cli: Cli, url: string, fn: string, options: MapOptions): Promise<void> {
  if (options.functions?.length) await loadFunctions(...options.functions);
  const { engine, params } = engineAndParams(options);
  const { location, dataset } = await cli.openDataset(url);
  const progress = cli.progress(`apply ${fn}`, "chunks");
  const began = Date.now();
  try {
    await dataset.apply(fn, { engine, params, signal: cli.signal, onProgress: progressReporter(progress) });
    progress.stop();
    cli.report(`applied "${fn}" to ${describeLocation(location)} in ${formatDuration((Date.now() - began) / 1000)}`);
  } finally {
    progress.stop();
  }
}

/** Every dataset under `node` (itself, when it is one), depth first, sorted. */
async function datasetsUnder(node: Group | Dataset): Promise<Dataset[]> {
  if (node instanceof Dataset) return [node];
  const found: Dataset[] = [];
  for (const name of await node.listDatasets()) found.push(await node.getDataset(name));
  for (const name of await node.listGroups()) found.push(...(await datasetsUnder(await node.getGroup(name))));
  return found;
}

export interface DeriveListOptions {
  json?: boolean;
}

/** dosna derive ls URL: the derivations of the datasets under URL, with their stale blocks. */
export async function deriveList(cli: Cli, url: string, options: DeriveListOptions): Promise<void> {
  const { node } = await cli.openNode(url, { readOnly: true });
  const rows: Array<DerivationInfo> = [];
  for (const dataset of await datasetsUnder(node)) rows.push(...(await dataset.derivations({ signal: cli.signal })));
  if (options.json) {
    cli.print(toJson(rows));
    return;
  }
  if (rows.length === 0) {
    cli.print("no derivations");
    return;
  }
  cli.print(
    formatTable([
      ["FROM", "TO", "FUNCTION", "PARAMS", "BLOCKS", "STALE"],
      ...rows.map((r) => [r.from, r.to, r.fn, r.params === undefined ? "" : JSON.stringify(r.params), `${r.blocks} × ${r.blockRows} rows`, String(r.staleBlocks)]),
    ]),
  );
}

export interface DeriveRefreshOptions {
  functions?: string[];
  engine?: string;
}

/** dosna derive refresh URL: recompute the stale blocks of what is derived from the datasets under URL. */
export async function deriveRefresh(cli: Cli, url: string, options: DeriveRefreshOptions): Promise<void> {
  if (options.functions?.length) await loadFunctions(...options.functions);
  const engine = options.engine === undefined ? undefined : parseEngineText(options.engine, "--engine");
  const { node } = await cli.openNode(url);
  let total = 0;
  for (const dataset of await datasetsUnder(node)) {
    for (const [output, blocks] of Object.entries(await dataset.refreshDerived({ engine, signal: cli.signal }))) {
      total += blocks.length;
      cli.report(`${output}: recomputed ${blocks.length} block(s) from /${dataset.path}`);
    }
  }
  if (total === 0) cli.report("nothing stale");
}
