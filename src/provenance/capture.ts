/**
 * Provenance of what dosna does, captured without asking: `map`, `apply`, `clone`, `load` and
 * `resize` of a Dataset are wrapped (a decorator on the class, installed once by the public entry
 * point), so core/ stays free of provenance code. An operation inside another captured one (the
 * clone inside a map) is not recorded twice. A failure to record never fails the operation: it is
 * reported as a process warning.
 *
 * Also here: the dataset-facing API (`ds.lineage()`, `ds.derived()`, `ds.invalidate()`,
 * `ds.isStale()`, `ds.revalidate()`, `ds.provenanceRecord()`), the `onStale` policy on reads, and
 * `withProvenance`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { NotFoundError, StaleDataError, ValidationError } from "../errors.js";
import { Dataset } from "../core/dataset.js";
import { Group } from "../core/group.js";
import type { Store } from "../store/store.js";
import { REPO_MARKER_KEY } from "../versioning/layout.js";
import { SessionStore } from "../versioning/session-store.js";
// Leaf modules of compute/ (no imports back): the registry, to name functions run by name, and how a run went.
import { findRegisteredFunction } from "../compute/registry.js";
import { takeRun } from "../compute/run-info.js";
import { Provenance, type ProvenanceGraph, type ProvenanceRecord, type RecordInput } from "./provenance.js";

function emptyGraph(): ProvenanceGraph {
  return { root: "", records: {}, edges: [], problems: [] };
}

const byStore = new WeakMap<Store, Provenance>();
const capturing = new AsyncLocalStorage<true>();
const warnedStale = new WeakMap<Store, Set<string>>();
/** Datasets this process invalidated or revalidated, by store and path: every open handle reads it. */
const staleHere = new WeakMap<Store, Map<string, StaleFlag | undefined>>();
interface StaleFlag {
  reason: string;
  at: string;
  source: string;
}

/** Something a record can point at: a record, its id, or a dataset (its newest record, made if it has none). */
export type RecordTarget = string | { id: string } | Dataset;

/** The provenance of the pool a group, dataset or store belongs to. */
export function provenance(target: Group | Dataset | Store): PoolProvenance {
  const store = target instanceof Group || target instanceof Dataset ? target.context.store : target;
  const where = target instanceof Group || target instanceof Dataset ? `pool "${target.context.poolName}"` : store.description;
  let found = byStore.get(store);
  if (!found) byStore.set(store, (found = new Provenance(store, where)));
  return new PoolProvenance(found, target instanceof Group || target instanceof Dataset ? target : undefined);
}

/** Provenance with datasets accepted wherever a record is. */
export class PoolProvenance {
  constructor(
    readonly records: Provenance,
    private readonly anchor: Group | Dataset | undefined,
  ) {}

  async record(input: Omit<RecordInput, "inputs" | "outputs"> & { inputs?: RecordTarget[]; outputs?: RecordTarget[] }): Promise<ProvenanceRecord> {
    // Every named record must exist before a dataset's record is made: a refused record stores nothing.
    for (const target of [...(input.inputs ?? []), ...(input.outputs ?? [])]) {
      if (target instanceof Dataset) continue;
      const id = await this.idOf(target);
      await this.records.get(id).catch((error: unknown) => {
        if (!(error instanceof NotFoundError)) throw error;
        throw new NotFoundError(`provenance record ${JSON.stringify(input.name)} names record ${id}, which does not exist in ${this.records.where}; nothing was recorded`);
      });
    }
    return this.records.record({ ...input, inputs: await this.ids(input.inputs ?? []), outputs: await this.ids(input.outputs ?? []) });
  }

  get(id: string): Promise<ProvenanceRecord> {
    return this.records.get(id);
  }

  find(query: Parameters<Provenance["find"]>[0]): Promise<ProvenanceRecord[]> {
    return this.records.find(query);
  }

  async lineage(target: RecordTarget, options: { depth?: number } = {}): Promise<ProvenanceGraph> {
    const id = await this.queryId(target);
    return id === undefined ? emptyGraph() : this.records.lineage(id, options);
  }

  async derived(target: RecordTarget, options: { depth?: number } = {}): Promise<ProvenanceGraph> {
    const id = await this.queryId(target);
    return id === undefined ? emptyGraph() : this.records.derived(id, options);
  }

  /** A query never writes: a dataset of a read-only pool with no record has no lineage. */
  private async queryId(target: RecordTarget): Promise<string | undefined> {
    if (target instanceof Dataset && target.context.readOnly) return (await this.records.recordOfDataset(target.path))?.id;
    return this.idOf(target);
  }

  /** Mark `target` and everything downstream stale; datasets among them are flagged for their readers (onStale). */
  async invalidate(target: RecordTarget, reason: string, options: { action?: string } = {}): Promise<ProvenanceRecord[]> {
    const marked = await this.records.invalidate(await this.idOf(target), reason, options);
    await this.flagDatasets(marked, (record) => ({ reason, at: record.stale!.at, by: record.stale!.by, source: record.stale!.source, ...(options.action ? { action: options.action } : {}) }));
    if (target instanceof Dataset) await target.refresh();
    return marked;
  }

  async revalidate(target: RecordTarget): Promise<ProvenanceRecord[]> {
    const cleared = await this.records.revalidate(await this.idOf(target));
    await this.flagDatasets(cleared, () => undefined);
    if (target instanceof Dataset) await target.refresh();
    return cleared;
  }

  /** The record id of a target: a dataset's newest record (made now if it has none). */
  async idOf(target: RecordTarget): Promise<string> {
    if (target instanceof Dataset) return (await datasetRecord(target, this.records)).id;
    if (typeof target === "string") return target;
    if (target && typeof target === "object" && typeof target.id === "string") return target.id;
    throw new ValidationError(`expected a provenance record, its id or a Dataset, got ${JSON.stringify(target)}`);
  }

  private ids(targets: RecordTarget[]): Promise<string[]> {
    return Promise.all(targets.map((t) => this.idOf(t)));
  }

  private async flagDatasets(records: ProvenanceRecord[], flag: (record: ProvenanceRecord) => unknown): Promise<void> {
    const context = this.anchor?.context;
    if (!context || context.readOnly) return;
    // In a repository pool the plain contents are no version's data: records are marked, nothing else.
    if ((await context.store.get(REPO_MARKER_KEY)) !== undefined) return;
    const root = new Group(context, "", {}, () => 8);
    for (const record of records) {
      if (record.data.dataset === undefined || record.kind !== "dataset") continue;
      const ds = await root.getDataset(record.data.dataset).catch(() => undefined);
      if (!ds) continue;
      const value = flag(record);
      let known = staleHere.get(context.store);
      if (!known) staleHere.set(context.store, (known = new Map()));
      known.set(record.data.dataset, value as StaleFlag | undefined);
      const current = (ds.attrs.get("dosna") as Record<string, unknown> | undefined) ?? {};
      const { stale: _old, ...rest } = current;
      const next = value === undefined ? rest : { ...rest, stale: value };
      if (Object.keys(next).length === 0) await ds.attrs.delete("dosna");
      else await ds.attrs.set("dosna", next);
    }
  }
}

/** The newest record of a dataset, or a new one (kind "dataset", version = content hash) if it has none. */
export async function datasetRecord(ds: Dataset, records: Provenance): Promise<ProvenanceRecord> {
  return (await records.recordOfDataset(ds.path)) ?? records.record({ kind: "dataset", name: ds.path, dataset: ds.path, datasetVersion: await contentVersion(ds) });
}

/**
 * A dataset's version for provenance: the snapshot id inside a repository, else a hash of its
 * metadata and the keys of its stored chunks (one LIST; chunk bytes are not read).
 */
export async function contentVersion(ds: Dataset): Promise<string> {
  const store = ds.context.store;
  if (store instanceof SessionStore) return `snapshot:${store.base.id}`;
  const hash = createHash("sha256");
  hash.update((await store.get(ds.path === "" ? "zarr.json" : `${ds.path}/zarr.json`)) ?? new Uint8Array());
  const keys: string[] = [];
  for await (const key of store.list(`${ds.path}/`)) if (!key.endsWith("zarr.json")) keys.push(key);
  for (const key of keys.sort()) hash.update(`\n${key}`);
  return `sha256:${hash.digest("hex").slice(0, 32)}`;
}

/**
 * What `dosna cp` does for provenance: the source dataset's whole lineage travels into the target
 * pool (same record ids), and the copy gets a record derived from the source's by operation "cp".
 */
export async function copyProvenance(source: Dataset, target: Dataset, options: { from?: string } = {}): Promise<void> {
  if (!captures(target)) return;
  try {
    const sourceRecords = provenance(source).records;
    const targetRecords = provenance(target).records;
    const origin = await sourceRecords.recordOfDataset(source.path);
    if (origin && sourceRecords !== targetRecords) {
      const graph = await sourceRecords.lineage(origin.id);
      await targetRecords.importRecords(Object.values(graph.records).map((r) => r.data));
    }
    await targetRecords.record({
      kind: "dataset",
      name: target.path,
      dataset: target.path,
      datasetVersion: await contentVersion(target),
      inputs: origin ? [origin.id] : [],
      activity: { operation: "cp", ...(options.from ? { parameters: { from: options.from } } : {}) },
    });
  } catch (error) {
    process.emitWarning(`dosna could not carry the provenance of ${source.describe} to ${target.describe}: ${(error as Error).message}`, { code: "DOSNA_PROVENANCE" });
  }
}

/** A function value, or the name of a registered one (compute/): its name and the hash of its source. */
function functionIdentity(fn: unknown): { function: string; sourceHash: string; registered?: boolean } {
  const entry = typeof fn === "string" ? findRegisteredFunction(fn) : undefined;
  const code = entry?.fn ?? fn;
  const source = typeof code === "function" ? Function.prototype.toString.call(code) : String(code);
  const sourceHash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  if (typeof fn === "string") return { function: fn, sourceHash, registered: true };
  return { function: (typeof fn === "function" && fn.name) || "(anonymous)", sourceHash };
}

/** How compute/ ran the operation (engine, the hosts of its workers), when it did. */
function engineOf(ds: Dataset): Record<string, unknown> {
  const run = takeRun(ds);
  return run ? { engine: run.engine, hosts: run.hosts, ...(run.job ? { job: run.job } : {}) } : {};
}

/** Sessions of a repository record their versions through commits, not here (their store holds only Zarr keys). */
function captures(ds: Dataset): boolean {
  return !ds.context.readOnly && ds.context.provenance !== false && !(ds.context.store instanceof SessionStore);
}

/** `version` replaces the content version (a LIST of every chunk key) when the caller has a cheaper name for it. */
async function recordOperation(operation: string, ds: Dataset, output: Dataset, activity: Record<string, unknown>, inputs: Dataset[], version?: string): Promise<void> {
  if (!captures(output)) return;
  const records = provenance(output).records;
  try {
    const inputIds = await Promise.all(inputs.map(async (input) => (await datasetRecord(input, records)).id));
    await records.record({
      kind: "dataset",
      name: output.path,
      dataset: output.path,
      datasetVersion: version ?? (await contentVersion(output)),
      inputs: inputIds,
      activity: { operation, ...activity },
    });
  } catch (error) {
    process.emitWarning(`dosna could not record the provenance of ${operation} on ${ds.describe}: ${(error as Error).message}`, { code: "DOSNA_PROVENANCE" });
  }
}

/** A derivation computed (some or all of) `output` from `input` (compute/derive.ts). */
export async function recordDerivation(input: Dataset, output: Dataset, activity: { function: string } & Record<string, unknown>, options: { version?: string } = {}): Promise<void> {
  await recordOperation("derive", input, output, { ...functionIdentity(activity.function), ...activity }, [input], options.version);
}

type AnyMethod = (this: Dataset, ...args: never[]) => Promise<unknown>;

/** Wrap a method so that its successful, outermost call is recorded by `after`. */
function wrap(name: "map" | "apply" | "clone" | "load" | "resize", after: (self: Dataset, args: unknown[], result: unknown) => Promise<void>): void {
  const original = Dataset.prototype[name] as unknown as AnyMethod;
  const wrapped = async function (this: Dataset, ...args: unknown[]) {
    if (capturing.getStore()) return original.apply(this, args as never[]);
    const result = await capturing.run(true, () => original.apply(this, args as never[]));
    await after(this, args, result);
    return result;
  };
  Object.defineProperty(Dataset.prototype, name, { value: wrapped, writable: true, configurable: true });
}

let installed = false;

/** Install capture and the dataset-facing methods (called once by src/index.ts). */
export function installProvenance(): void {
  if (installed) return;
  installed = true;
  const previousOf = async (ds: Dataset) => (captures(ds) ? [ds] : []);
  wrap("map", async (self, [fn, , options], out) =>
    recordOperation("map", self, out as Dataset, { ...functionIdentity(fn), ...paramsOf(options), ...engineOf(out as Dataset) }, [self]),
  );
  wrap("apply", async (self, [fn, options]) => recordOperation("apply", self, self, { ...functionIdentity(fn), ...paramsOf(options), ...engineOf(self) }, await previousOf(self)));
  wrap("clone", async (self, [, options], out) =>
    recordOperation("clone", self, out as Dataset, { parameters: { copyData: Boolean((options as { copyData?: boolean } | undefined)?.copyData) } }, [self]),
  );
  wrap("load", async (self) => recordOperation("load", self, self, {}, []));
  wrap("resize", async (self, [shape]) => recordOperation("resize", self, self, { parameters: { shape: [...(shape as number[])] } }, await previousOf(self)));

  const get = Dataset.prototype.get;
  Object.defineProperty(Dataset.prototype, "get", {
    value: async function (this: Dataset, ...args: Parameters<Dataset["get"]>) {
      checkStale(this);
      return get.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
  const getPoints = Dataset.prototype.getPoints;
  Object.defineProperty(Dataset.prototype, "getPoints", {
    value: async function (this: Dataset, ...args: Parameters<Dataset["getPoints"]>) {
      checkStale(this);
      return getPoints.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
  const methods: Record<string, (this: Dataset, ...args: never[]) => unknown> = {
    provenanceRecord(this: Dataset) {
      return datasetRecord(this, provenance(this).records);
    },
    lineage(this: Dataset, options?: { depth?: number }) {
      return provenance(this).lineage(this, options);
    },
    derived(this: Dataset, options?: { depth?: number }) {
      return provenance(this).derived(this, options);
    },
    invalidate(this: Dataset, reason: string, options?: { action?: string }) {
      return provenance(this).invalidate(this, reason, options);
    },
    revalidate(this: Dataset) {
      return provenance(this).revalidate(this);
    },
    async isStale(this: Dataset) {
      // What reads go by (the flag in zarr.json), or, where flags are not written, the newest record.
      await this.refresh();
      if ((this.attrs.get("dosna") as { stale?: unknown } | undefined)?.stale !== undefined) return true;
      const record = await provenance(this).records.recordOfDataset(this.path);
      return record?.stale !== undefined && (await this.context.store.get(REPO_MARKER_KEY)) !== undefined;
    },
  };
  for (const [name, value] of Object.entries(methods)) Object.defineProperty(Dataset.prototype, name, { value, writable: true, configurable: true });
}

function paramsOf(options: unknown): { parameters?: unknown } {
  const params = (options as { params?: unknown } | undefined)?.params;
  return params === undefined ? {} : { parameters: params };
}

/** Reads of a dataset flagged stale: warn once per dataset (default), ignore, or fail (pool option onStale). */
function checkStale(ds: Dataset): void {
  // What this process marked wins over a handle's cached metadata (opened before the invalidation).
  const known = staleHere.get(ds.context.store);
  const stale = known?.has(ds.path) ? known.get(ds.path) : (ds.attrs.get("dosna") as { stale?: StaleFlag } | undefined)?.stale;
  if (!stale) return;
  const policy = ds.context.onStale ?? "warn";
  if (policy === "ignore") return;
  const message = `${ds.describe} is stale since ${stale.at}: ${stale.reason} (invalidated through provenance record ${stale.source}; ds.revalidate() once fixed)`;
  if (policy === "error") throw new StaleDataError(message);
  let warned = warnedStale.get(ds.context.store);
  if (!warned) warnedStale.set(ds.context.store, (warned = new Set()));
  if (warned.has(ds.path)) return;
  warned.add(ds.path);
  process.emitWarning(message, { code: "DOSNA_STALE" });
}

/**
 * Run `fn` and record its run (kind "run"): the function's name and source hash, the parameters,
 * the inputs given and the outputs `outputs(result)` names.
 */
export function withProvenance<A extends unknown[], R>(
  fn: (...args: A) => Promise<R> | R,
  options: { pool: Group | Dataset; name?: string; inputs?: RecordTarget[]; outputs?: (result: R) => RecordTarget[]; parameters?: unknown; uris?: string[]; tags?: RecordInput["tags"] },
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const result = await fn(...args);
    const identity = functionIdentity(fn);
    await provenance(options.pool).record({
      kind: "run",
      name: options.name ?? identity.function,
      inputs: options.inputs ?? [],
      outputs: options.outputs ? options.outputs(result) : [],
      activity: { operation: "run", ...identity, ...(options.parameters !== undefined ? { parameters: options.parameters } : {}) },
      uris: options.uris,
      tags: options.tags,
    });
    return result;
  };
}

declare module "../core/dataset.js" {
  interface Dataset {
    /** This dataset's newest provenance record (made now, of kind "dataset", if it has none). */
    provenanceRecord(): Promise<ProvenanceRecord>;
    /** Everything upstream of this dataset's newest record, to `depth` steps. */
    lineage(options?: { depth?: number }): Promise<ProvenanceGraph>;
    /** Everything downstream of it. */
    derived(options?: { depth?: number }): Promise<ProvenanceGraph>;
    /** Mark it and everything downstream stale (readers then follow the pool's onStale). */
    invalidate(reason: string, options?: { action?: string }): Promise<ProvenanceRecord[]>;
    revalidate(): Promise<ProvenanceRecord[]>;
    isStale(): Promise<boolean>;
  }
}
