/**
 * Derived datasets kept current (SuperDuperDB's listeners): `pool.derive({ from, fn, to })`
 * computes `to` from `from` with a registered function, block by block along axis 0 (a block is
 * one chunk row of the input: rows [b·R, (b+1)·R) over the whole extent of the other axes, R the
 * input's chunk length on axis 0), and afterwards every write to `from` recomputes the blocks it
 * touched (derive-hooks.ts wires that into Dataset's writes).
 *
 * What is stored (plain JSON in the pool, so every process and host sees it):
 *   input's zarr.json   attributes.dosna.derivations: ["/to", ...]  (outputs to keep current)
 *   output's zarr.json  attributes.dosna.derivedFrom: { from, fn, params, blockRows, version }
 *   .dosna/derive/<output path>/stale/<b0>-<b1>-<id>   one marker per write: blocks b0…b1 are stale
 *
 * (the marker's last part is "w" or "d": see markStale). A writer puts a "writing" marker BEFORE it
 * writes the input and a "written" one after, then recomputes; a refresh recomputes the blocks of
 * every marker it lists and then deletes the "written" ones among them (written after their data,
 * so the refresh read that data). So staleness is never lost: a write that lands while a refresh
 * runs leaves its "written" marker behind for the next one, and a writer that dies mid-write leaves
 * a "writing" one, recomputed by every refresh and dropped once older than ABANDONED_MS. Blocks are recomputed on the engine of the
 * input's context (`engine` of the cluster, e.g. `dosna worker` processes) or in process.
 */
import { hostname } from "node:os";
import type { NdArray } from "ndarray";
import { AlreadyExistsError, ComputeError, NotFoundError, ValidationError } from "../errors.js";
import { forEachLimited } from "../core/concurrency.js";
import { Dataset } from "../core/dataset.js";
import type { EngineSpec } from "../core/engine-spec.js";
import type { Group } from "../core/group.js";
import { newObjectId } from "../core/object-ids.js";
import type { WritableValue } from "../core/values.js";
import type { DataType, TypedArray } from "../format/index.js";
import { slice } from "../selection/index.js";
import type { Store } from "../store/store.js";
import { checkChunkResult } from "./chunk-call.js";
import { dosnaAttrs, openDatasetAt, setDosnaMember } from "./dosna-attrs.js";
import { checkJsonParams, resolveEngine } from "./engines.js";
import { addressOf } from "./pool-address.js";
import { QueueClient, type TaskInput } from "./queue-client.js";
import { describeNames, findRegisteredFunction, registeredFunction, registeredFunctionNames, type ChunkContext } from "./registry.js";
import { ThreadPool } from "./thread-pool.js";
import { recordDerivation } from "../provenance/capture.js";

export interface DeriveOptions {
  /** Input dataset (a path in the pool). */
  from: string;
  /** A registered function's name: it gets a block of input rows and returns the output rows. */
  fn: string;
  /** Output dataset to create (a path in the pool). */
  to: string;
  /** JSON parameters passed to the function. */
  params?: unknown;
  /** Shape of one output row (the output is [n, ...rowShape]); default: the input's row shape. */
  rowShape?: readonly number[];
  /** Output data type; default: the input's. */
  dtype?: DataType;
  /** Output chunk shape of the axes after the first; default: the whole row (or the input's chunks when rowShape is the input's). */
  rowChunks?: readonly number[];
  /** Where the blocks run; default: the engine of the pool's cluster. */
  engine?: EngineSpec;
  njobs?: number;
  signal?: AbortSignal;
}

export interface DerivedFrom {
  version: 1;
  from: string;
  fn: string;
  params?: unknown;
  blockRows: number;
}

export interface DerivationInfo {
  /** The output dataset's path ("/frames_emb"). */
  to: string;
  from: string;
  fn: string;
  params?: unknown;
  blockRows: number;
  /** Blocks (of blockRows input rows) waiting to be recomputed. */
  staleBlocks: number;
  blocks: number;
}

const MARKERS = ".dosna/derive/";
/** A "writing" marker older than this belongs to a writer that died mid-write. */
const ABANDONED_MS = 10 * 60_000;
const HERE = `${hostname()}:${process.pid}`;

/** Outputs this process registered, by store and input path: handles opened before the registration see them too. */
const registeredHere = new WeakMap<Store, Map<string, Set<string>>>();

function absolute(path: string): string {
  return `/${path.replace(/^\/+/, "")}`;
}

function markerPrefix(output: Dataset): string {
  return `${MARKERS}${output.path}/stale/`;
}


/** The outputs derived from `ds` (paths), as its metadata and this process know them. */
export function derivationsOf(ds: Dataset): string[] {
  const stored = dosnaAttrs(ds).derivations;
  const outputs = new Set(Array.isArray(stored) ? stored.filter((x): x is string => typeof x === "string") : []);
  for (const path of registeredHere.get(ds.context.store)?.get(ds.path) ?? []) outputs.add(path);
  return [...outputs].sort();
}

export function derivedFromOf(ds: Dataset): DerivedFrom | undefined {
  const spec = dosnaAttrs(ds).derivedFrom as DerivedFrom | undefined;
  return spec && typeof spec === "object" && typeof spec.from === "string" && typeof spec.fn === "string" && Number.isInteger(spec.blockRows) ? spec : undefined;
}


/** `a → b → … → a` when registering from → to would close a loop, else undefined. */
async function findCycle(anchor: Dataset, from: string, to: string): Promise<string[] | undefined> {
  if (from === to) return [from, to];
  const seen = new Set<string>();
  const walk = async (path: string, trail: string[]): Promise<string[] | undefined> => {
    if (path === from) return trail;
    if (seen.has(path)) return undefined;
    seen.add(path);
    const ds = await openDatasetAt(anchor, path);
    if (!ds) return undefined;
    for (const next of derivationsOf(ds)) {
      const found = await walk(next.replace(/^\//, ""), [...trail, absolute(next)]);
      if (found) return found;
    }
    return undefined;
  };
  const loop = await walk(to, [absolute(from), absolute(to)]);
  return loop;
}

function blockCount(input: Dataset, blockRows: number): number {
  return input.shape[0] === 0 ? 0 : Math.ceil(input.shape[0] / blockRows);
}

/** A function to run on one block of rows: the named function, on this process's engine or threads. */
type BlockCall = (rows: NdArray<TypedArray>, context: ChunkContext) => Promise<WritableValue>;

/**
 * Compute block `b` of `output` from `input` with `call`, its result checked (shape and dtype),
 * and write it. Used in process, on threads (through `call`) and by queue workers.
 */
export async function computeBlock(input: Dataset, output: Dataset, spec: Pick<DerivedFrom, "fn" | "blockRows">, b: number, call: BlockCall, where: string, signal?: AbortSignal): Promise<void> {
  const start = b * spec.blockRows;
  const end = Math.min(input.shape[0], start + spec.blockRows);
  if (start >= end) return;
  const rows = await input.get([slice(start, end), ...input.shape.slice(1).map(() => null)], { signal });
  const context: ChunkContext = { gridIndex: input.shape.map((_, a) => (a === 0 ? b : 0)), origin: input.shape.map((_, a) => (a === 0 ? start : 0)), shape: input.shape, dtype: input.dtype };
  const expected = [end - start, ...output.shape.slice(1)];
  let result: WritableValue;
  try {
    result = await call(rows, context);
  } catch (error) {
    throw new ComputeError(`function "${spec.fn}" threw on rows [${start}, ${end}) (block ${b}) of ${input.describe}, deriving ${output.describe} (${where}): ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  checkChunkResult(result, expected, output.dtype, () => `function "${spec.fn}" on rows [${start}, ${end}) (block ${b}) of ${input.describe}, deriving ${output.describe} (${where})`);
  await output.set([slice(start, end), ...output.shape.slice(1).map(() => null)], result, { signal });
}

/** Run blocks on the engine of `input`'s context (or `engine`). */
async function runBlocks(input: Dataset, output: Dataset, spec: DerivedFrom, blocks: readonly number[], options: { engine?: EngineSpec; njobs?: number; signal?: AbortSignal }): Promise<{ engine: string; hosts: string[]; job?: string }> {
  if (blocks.length === 0) return { engine: "local", hosts: [] };
  const what = `derivation of ${output.describe} from ${input.describe}`;
  const engine = resolveEngine(options.engine ?? input.context.engine, what);
  const njobs = options.njobs ?? input.njobs;
  if (engine.kind === "queue") {
    const client = await QueueClient.open(engine.spec);
    try {
      await client.requireWorkers(spec.fn, options.signal);
      const address = addressOf(input);
      const perTask = Math.max(1, Math.ceil(blocks.length / 64));
      const tasks: TaskInput[] = [];
      for (let i = 0; i < blocks.length; i += perTask) {
        tasks.push({ kind: "derive", fn: spec.fn, params: spec.params, source: { pool: address, path: input.path }, target: { pool: address, path: output.path }, objects: blocks.slice(i, i + perTask).map((b) => [b]) });
      }
      const job = newObjectId();
      const { hosts } = await client.run(job, { kind: "derive", fn: spec.fn, params: spec.params, source: input.describe, target: output.describe }, tasks, { signal: options.signal });
      return { engine: "queue", hosts, job };
    } finally {
      await client.close();
    }
  }
  const entry = registeredFunction(spec.fn);
  if (engine.kind === "threads") {
    if (!entry.module) throw new ComputeError(`the threads engine cannot tell which module registered "${spec.fn}": pass { module: import.meta.url } to dn.registerFunction`);
    const pool = ThreadPool.acquire(engine.size, [entry.module]);
    try {
      const call: BlockCall = (rows, context) => pool.run(spec.fn, spec.params, rows, context, options.signal);
      await forEachLimited(blocks, (b) => computeBlock(input, output, spec, b, call, `a worker thread of ${HERE}`, options.signal), { njobs: Math.max(njobs, engine.size * 2), signal: options.signal }, what);
    } finally {
      pool.release();
    }
    return { engine: "threads", hosts: [HERE] };
  }
  const call: BlockCall = async (rows, context) => entry.fn(rows, spec.params, context);
  await forEachLimited(blocks, (b) => computeBlock(input, output, spec, b, call, `this process, ${HERE}`, options.signal), { njobs, signal: options.signal }, what);
  return { engine: "local", hosts: [HERE] };
}

/** The output must be as long as the input on axis 0 (appends extend it, shrinks cut it). */
async function followLength(input: Dataset, output: Dataset, signal?: AbortSignal): Promise<void> {
  if (output.shape[0] === input.shape[0]) return;
  await output.resize([input.shape[0], ...output.shape.slice(1)], { signal });
}

/** Register and compute a derivation (see the module comment). Refuses cycles, unknown functions and a first block of the wrong shape or dtype, storing nothing. */
export async function derive(group: Group, options: DeriveOptions): Promise<Dataset> {
  if (typeof options !== "object" || options === null) throw new ValidationError(`derive in ${group.describe}: expected options { from, fn, to }`);
  const what = `derive in ${group.describe}`;
  for (const field of ["from", "fn", "to"] as const) {
    if (typeof options[field] !== "string" || options[field] === "") throw new ValidationError(`${what}: options.${field} must be a non-empty string, got ${JSON.stringify(options[field])}`);
  }
  checkJsonParams(options.params, what);
  const input = await group.getDataset(options.from);
  const entry = findRegisteredFunction(options.fn);
  const engine = resolveEngine(options.engine ?? input.context.engine, what);
  if (!entry && engine.kind !== "queue") throw new NotFoundError(`${what}: no function "${options.fn}" is registered (registered: ${describeNames(registeredFunctionNames())})`);
  if (input.ndim === 0) throw new ValidationError(`${what}: ${input.describe} is 0-dimensional; a derivation works along axis 0`);
  const toPath = (group.path === "" ? options.to : `${group.path}/${options.to}`).replace(/^\/+/, "");
  const cycle = await findCycle(input, input.path, toPath);
  if (cycle) throw new ValidationError(`${what}: deriving ${absolute(toPath)} from ${input.describe} would make a cycle: ${cycle.join(" → ")}`);
  if (await group.has(options.to)) throw new AlreadyExistsError(`${what}: ${absolute(toPath)} already exists; delete it first or derive another name`);

  const rowShape = options.rowShape ? [...options.rowShape] : input.shape.slice(1);
  if (!rowShape.every((n) => Number.isInteger(n) && n >= 0)) throw new ValidationError(`${what}: rowShape must be non-negative integers, got ${JSON.stringify(options.rowShape)}`);
  const blockRows = input.chunks[0];
  const rowChunks = options.rowChunks ? [...options.rowChunks] : options.rowShape ? rowShape.map((n) => Math.max(1, n)) : input.chunks.slice(1);
  if (rowChunks.length !== rowShape.length) throw new ValidationError(`${what}: rowChunks [${rowChunks}] must have one entry per axis of rowShape [${rowShape}]`);
  const spec: DerivedFrom = { version: 1, from: absolute(input.path), fn: options.fn, ...(options.params !== undefined ? { params: options.params } : {}), blockRows };
  const output = await group.createDataset(options.to, { shape: [input.shape[0], ...rowShape], dtype: options.dtype ?? input.dtype, chunks: [blockRows, ...rowChunks], fillValue: 0 });
  const run = { engine: options.engine, njobs: options.njobs, signal: options.signal };
  try {
    // The first block shows a function of the wrong shape or dtype before anything is registered.
    if (blockCount(input, blockRows) > 0) await runBlocks(input, output, spec, [0], run);
    await setDosnaMember(output, "derivedFrom", spec);
    await addDerivation(input, absolute(output.path));
  } catch (error) {
    await output.delete().catch(() => undefined);
    throw error;
  }
  // Writes that landed before the registration are covered: every block is computed after it.
  const blocks = Array.from({ length: blockCount(input, blockRows) }, (_, b) => b);
  const ran = await runBlocks(input, output, spec, blocks, run);
  await recordDerivation(input, output, { function: spec.fn, parameters: spec.params, engine: ran.engine, hosts: ran.hosts, ...(ran.job ? { job: ran.job } : {}), blocks: blocks.length });
  return output;
}

async function addDerivation(input: Dataset, outputPath: string): Promise<void> {
  const byPath = registeredHere.get(input.context.store) ?? new Map<string, Set<string>>();
  registeredHere.set(input.context.store, byPath);
  const set = byPath.get(input.path) ?? new Set<string>();
  set.add(outputPath);
  byPath.set(input.path, set);
  await input.refresh();
  const current = dosnaAttrs(input);
  const list = Array.isArray(current.derivations) ? (current.derivations as string[]) : [];
  if (!list.includes(outputPath)) await setDosnaMember(input, "derivations", [...list, outputPath].sort());
}

/** Stop keeping `outputPath` current (the output stays, as plain data). */
export async function removeDerivation(input: Dataset, outputPath: string): Promise<void> {
  const path = absolute(outputPath);
  registeredHere.get(input.context.store)?.get(input.path)?.delete(path);
  await input.refresh();
  const current = dosnaAttrs(input);
  const list = Array.isArray(current.derivations) ? (current.derivations as string[]) : [];
  if (list.includes(path)) {
    const rest = list.filter((p) => p !== path);
    await setDosnaMember(input, "derivations", rest.length > 0 ? rest : undefined);
  }
  const output = await openDatasetAt(input, path.slice(1));
  if (output) {
    await setDosnaMember(output, "derivedFrom", undefined);
    const keys: string[] = [];
    for await (const key of output.context.store.list(markerPrefix(output))) keys.push(key);
    await output.context.store.deleteMany(keys);
  }
}

// ---------------------------------------------------------------------------------------------
// Stale markers.

interface Marker {
  key: string;
  first: number;
  last: number;
  state: "writing" | "written";
  /** When a "writing" marker was put (ms; 0 when unreadable). */
  at: number;
}

function markerKey(output: string, first: number, last: number, id: string, state: Marker["state"]): string {
  return `${MARKERS}${output.replace(/^\//, "")}/stale/${first}-${last}-${id}-${state === "writing" ? "w" : "d"}`;
}

/**
 * Put the marker of blocks first…last on every output: "writing" before the write, "written"
 * after it (a new key; the "writing" one is then removed). Each key is written once and never
 * changed, so a refresh may delete the "written" markers it saw without a conditional delete
 * (which some S3 endpoints, Ceph RGW among them, ignore).
 */
export async function markStale(input: Dataset, outputs: readonly string[], first: number, last: number, id: string, state: Marker["state"]): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify({ state, at: Date.now(), by: HERE }));
  const store = input.context.store;
  await Promise.all(outputs.map((out) => store.set(markerKey(out, first, last, id, state), body)));
  if (state === "written") await store.deleteMany(outputs.map((out) => markerKey(out, first, last, id, "writing")));
}

async function readMarkers(output: Dataset, signal?: AbortSignal): Promise<Marker[]> {
  const prefix = markerPrefix(output);
  const markers: Marker[] = [];
  for await (const key of output.context.store.list(prefix, { signal })) {
    const m = /^(\d+)-(\d+)-[A-Za-z0-9_-]+-([wd])$/.exec(key.slice(prefix.length));
    if (m) markers.push({ key, first: Number(m[1]), last: Number(m[2]), state: m[3] === "w" ? "writing" : "written", at: 0 });
  }
  // Only "writing" markers are read: whether their writer is long gone.
  await forEachLimited(markers.filter((m) => m.state === "writing"), async (marker) => {
    const bytes = await output.context.store.get(marker.key, undefined, { signal });
    try {
      const at = (JSON.parse(new TextDecoder().decode(bytes)) as { at?: unknown }).at;
      marker.at = typeof at === "number" ? at : 0;
    } catch {
      marker.at = 0;
    }
  }, { njobs: 16, signal }, `reading the stale markers of ${output.describe}`);
  return markers;
}

function blocksOf(markers: readonly Marker[], count: number): number[] {
  const blocks = new Set<number>();
  for (const m of markers) for (let b = m.first; b <= Math.min(m.last, count - 1); b++) blocks.add(b);
  return [...blocks].sort((a, b) => a - b);
}

/**
 * Recompute the stale blocks of the output at `outputPath` (derived from `input`), then drop the
 * markers that are done. Returns the blocks recomputed.
 */
export async function refreshDerived(input: Dataset, outputPath: string, options: { engine?: EngineSpec; njobs?: number; signal?: AbortSignal; blocks?: readonly number[] } = {}): Promise<number[]> {
  const output = await openDatasetAt(input, outputPath.replace(/^\//, ""));
  if (!output) return [];
  const spec = derivedFromOf(output);
  if (!spec || spec.from !== absolute(input.path)) return [];
  // In a repository session there are no markers: the session's own writes say what changed.
  const markers = input.context.zarrKeysOnly ? [] : await readMarkers(output, options.signal);
  if (markers.length === 0 && (options.blocks ?? []).length === 0 && output.shape[0] === input.shape[0]) return [];
  await input.refresh({ signal: options.signal });
  await followLength(input, output, options.signal);
  const count = blockCount(input, spec.blockRows);
  const blocks = [...new Set([...blocksOf(markers, count), ...(options.blocks ?? []).filter((b) => b < count)])].sort((a, b) => a - b);
  const ran = await runBlocks(input, output, spec, blocks, options);
  const now = Date.now();
  const done = markers.filter((m) => m.state === "written" || (m.at > 0 && now - m.at > ABANDONED_MS)).map((m) => m.key);
  await output.context.store.deleteMany(done, { signal: options.signal });
  // Named by the refresh: a content version would LIST every chunk of the output on each write.
  if (blocks.length > 0) {
    await recordDerivation(input, output, { function: spec.fn, parameters: spec.params, engine: ran.engine, hosts: ran.hosts, ...(ran.job ? { job: ran.job } : {}), blocks: blocks.length }, { version: `refresh:${newObjectId()}` });
  }
  return blocks;
}

/** The derivations of `input`, with how many of their blocks are stale. */
export async function derivationInfos(input: Dataset, options: { signal?: AbortSignal } = {}): Promise<DerivationInfo[]> {
  const infos: DerivationInfo[] = [];
  for (const path of derivationsOf(input)) {
    const output = await openDatasetAt(input, path.replace(/^\//, ""));
    const spec = output && derivedFromOf(output);
    if (!output || !spec) continue;
    const count = blockCount(input, spec.blockRows);
    const stale = input.context.zarrKeysOnly ? [] : blocksOf(await readMarkers(output, options.signal), count);
    infos.push({ to: path, from: spec.from, fn: spec.fn, ...(spec.params !== undefined ? { params: spec.params } : {}), blockRows: spec.blockRows, staleBlocks: stale.length, blocks: count });
  }
  return infos;
}

export function newWriteId(): string {
  return newObjectId();
}
