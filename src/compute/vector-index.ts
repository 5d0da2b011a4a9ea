/**
 * Approximate nearest-neighbour indexes over the rows of a 2-D `[n, d]` float dataset, built with
 * usearch's HNSW and stored in the pool beside the dataset, under a reserved prefix:
 *
 *   .dosna/index/<dataset path>/index.json          the manifest (below); written last
 *   .dosna/index/<dataset path>/hnsw-<id>.usearch   usearch's saved graph and vectors (f32)
 *
 * index.json: `{ format: "dosna-vector-index", version: 1, kind: "hnsw", metric, dims, dtype,
 * rows, blockRows, params: { connectivity, expansionAdd, expansionSearch }, file, bytes, blocks,
 * churn, builtAt, updatedAt }`. `rows` is the number of rows indexed (keys 0 … rows−1 are row
 * numbers); `blocks[b][c]` is the version token, at build or update time, of the stored object
 * holding rows [b·blockRows, (b+1)·blockRows) and columns block c (null: not stored, read as the
 * fill value); `churn` counts rows removed or replaced since the last full build. Each build or
 * update writes a new graph file, then the manifest (conditionally, on an update), then deletes
 * the graph file the manifest named before, so a reader never pairs a manifest with a wrong graph.
 *
 * An update compares the recorded tokens with the current ones (one LIST of the dataset's objects,
 * one zero-length versioned read per stored object) and re-adds only the rows of objects that
 * changed, appeared or were cut by a resize.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import type * as Usearch from "usearch";
import { CorruptMetadataError, DtypeError, NotFoundError, PreconditionFailedError, ShapeError, ValidationError } from "../errors.js";
import { assertWritable } from "../core/context.js";
import { forEachLimited, throwIfAborted } from "../core/concurrency.js";
import type { Dataset } from "../core/dataset.js";
import { newObjectId } from "../core/object-ids.js";
import { retryOnConflict } from "../core/optimistic.js";
import { slice } from "../selection/index.js";

/**
 * How distances are measured, the same on the exact and the HNSW path (smaller is nearer):
 * "l2" the squared Euclidean distance ‖q − x‖², "cosine" 1 − q·x / (‖q‖ ‖x‖) (1 when either is
 * zero), "ip" 1 − q·x (the inner product, negated and shifted as usearch does).
 */
export type VectorMetric = "l2" | "cosine" | "ip";

export const VECTOR_METRICS: readonly VectorMetric[] = ["l2", "cosine", "ip"];

export interface VectorIndexParams {
  /** Graph degree (HNSW's M); default 16. */
  connectivity: number;
  /** Candidate list size while adding (efConstruction); default 128. */
  expansionAdd: number;
  /** Candidate list size while searching (ef); default 64. */
  expansionSearch: number;
}

export interface CreateVectorIndexOptions extends Partial<VectorIndexParams> {
  kind: "hnsw";
  metric: VectorMetric;
  /** Concurrent object reads (default: the dataset's njobs). */
  njobs?: number;
  signal?: AbortSignal;
}

export interface UpdateVectorIndexOptions {
  njobs?: number;
  signal?: AbortSignal;
}

/** What `createVectorIndex` / `vectorIndexInfo` report about a stored index. */
export interface VectorIndexInfo {
  kind: "hnsw";
  metric: VectorMetric;
  dims: number;
  rows: number;
  params: VectorIndexParams;
  /** Store key of the graph file and its size. */
  key: string;
  bytes: number;
  builtAt: string;
  updatedAt: string;
}

export interface VectorIndexUpdate {
  /** Rows (re-)added: every current row of the objects that changed or are new (all rows when rebuilt). */
  rowsUpdated: number;
  /** Rows taken out because the dataset shrank. */
  rowsRemoved: number;
  /** Whether the index was built anew (dimension or layout changed, or too many rows churned). */
  rebuilt: boolean;
  /** Rows indexed now. */
  rows: number;
}

export const INDEX_PREFIX = ".dosna/index/";
const DEFAULT_PARAMS: VectorIndexParams = { connectivity: 16, expansionAdd: 128, expansionSearch: 64 };
const USEARCH_METRIC: Record<VectorMetric, string> = { l2: "l2sq", cosine: "cos", ip: "ip" };

/** usearch 2.25's ESM entry cannot find its native build (it recurses until the stack overflows): load its CommonJS entry, lazily. */
let usearchModule: typeof Usearch | undefined;
function usearch(): typeof Usearch {
  usearchModule ??= createRequire(import.meta.url)("usearch") as typeof Usearch;
  return usearchModule;
}

const paramsSchema = z.object({ connectivity: z.number().int(), expansionAdd: z.number().int(), expansionSearch: z.number().int() });
const manifestSchema = z.object({
  format: z.literal("dosna-vector-index"),
  version: z.literal(1),
  kind: z.literal("hnsw"),
  metric: z.enum(["l2", "cosine", "ip"]),
  dims: z.number().int().positive(),
  dtype: z.enum(["float32", "float64"]),
  rows: z.number().int().nonnegative(),
  blockRows: z.number().int().positive(),
  params: paramsSchema,
  file: z.string().regex(/^hnsw-[A-Za-z0-9_-]+\.usearch$/),
  bytes: z.number().int().nonnegative(),
  blocks: z.array(z.array(z.string().nullable())),
  churn: z.number().int().nonnegative(),
  builtAt: z.string(),
  updatedAt: z.string(),
});
export type VectorIndexManifest = z.infer<typeof manifestSchema>;

export interface LoadedVectorIndex {
  manifest: VectorIndexManifest;
  index: Usearch.Index;
}

// ---------------------------------------------------------------------------------------------
// The dataset as a matrix of rows: checks and reads shared with the exact search.

/** `[n, d]` of a dataset vector search can run on; ShapeError naming the shape, DtypeError naming the dtype, otherwise. */
export function vectorShapeOf(ds: Dataset, what: string): { n: number; d: number } {
  const shape = ds.shape;
  if (shape.length !== 2) {
    throw new ShapeError(`${what}: ${ds.describe} has shape [${shape}] (${shape.length}-D), but vector search needs a 2-D [rows, dimension] dataset`);
  }
  if (shape[1] === 0) throw new ShapeError(`${what}: ${ds.describe} has shape [${shape}]: its rows have dimension 0`);
  if (ds.dtype !== "float32" && ds.dtype !== "float64") {
    throw new DtypeError(`${what}: ${ds.describe} has dtype ${ds.dtype}, but vector search needs float32 or float64`);
  }
  return { n: shape[0], d: shape[1] };
}

export function checkMetric(metric: unknown, what: string): VectorMetric {
  if (typeof metric === "string" && (VECTOR_METRICS as readonly string[]).includes(metric)) return metric as VectorMetric;
  throw new ValidationError(`${what}: unknown metric ${JSON.stringify(metric)}; expected "l2", "cosine" or "ip"`);
}

export function checkNjobs(njobs: unknown, fallback: number, what: string): number {
  if (njobs === undefined) return fallback;
  if (!Number.isInteger(njobs) || (njobs as number) < 1) throw new ValidationError(`${what}: njobs must be a positive integer, got ${JSON.stringify(njobs)}`);
  return njobs as number;
}

/** Rows [start, end) of a 2-D float dataset, C order (`(end − start) · d` values), read with one request at a time. */
export async function readRows(ds: Dataset, start: number, end: number, signal?: AbortSignal): Promise<Float32Array | Float64Array> {
  const block = await ds.get([slice(start, end), null], { signal, njobs: 1 });
  return block.data as Float32Array | Float64Array;
}

/** [start, end) pieces of `rows` rows each, aligned to multiples of `rows`, covering [from, to). */
export function rowBlocks(rows: number, from: number, to: number): { start: number; end: number }[] {
  const blocks: { start: number; end: number }[] = [];
  for (let b = Math.floor(from / rows); b * rows < to; b++) blocks.push({ start: Math.max(from, b * rows), end: Math.min(to, (b + 1) * rows) });
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Keys and the manifest.

function indexDirectory(ds: Dataset): string {
  return `${INDEX_PREFIX}${ds.path === "" ? "" : `${ds.path}/`}`;
}
function manifestKeyOf(ds: Dataset): string {
  return `${indexDirectory(ds)}index.json`;
}

function parseManifest(bytes: Uint8Array, key: string, ds: Dataset): VectorIndexManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new CorruptMetadataError(`vector index manifest ${JSON.stringify(key)} of ${ds.describe} is not valid JSON`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "manifest"}: ${i.message}`).join("; ");
    throw new CorruptMetadataError(`vector index manifest ${JSON.stringify(key)} of ${ds.describe} is not a dosna vector index manifest (${issues})`);
  }
  return parsed.data;
}

function encodeManifest(manifest: VectorIndexManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest)}\n`);
}

function infoOf(ds: Dataset, manifest: VectorIndexManifest): VectorIndexInfo {
  return {
    kind: manifest.kind,
    metric: manifest.metric,
    dims: manifest.dims,
    rows: manifest.rows,
    params: { ...manifest.params },
    key: `${indexDirectory(ds)}${manifest.file}`,
    bytes: manifest.bytes,
    builtAt: manifest.builtAt,
    updatedAt: manifest.updatedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Version tokens of the dataset's stored objects, per block of rows.

/**
 * `tokens[b][c]`: the version of the object holding row block b and column block c, null when not
 * stored. One LIST of the dataset's keys, then a zero-length versioned read of each stored object.
 */
async function objectTokens(ds: Dataset, njobs: number, signal: AbortSignal | undefined, what: string): Promise<{ blockRows: number; tokens: (string | null)[][] }> {
  const [n, d] = ds.shape;
  const [blockRows, colRows] = ds.objectShape;
  const blocks = Math.ceil(n / blockRows);
  const columns = Math.ceil(d / colRows);
  const store = ds.context.store;
  const stored = new Set<string>();
  for await (const key of store.list(ds.path === "" ? "" : `${ds.path}/`, { signal })) stored.add(key);
  const tokens = Array.from({ length: blocks }, () => new Array<string | null>(columns).fill(null));
  const present: [number, number, string][] = [];
  for (let b = 0; b < blocks; b++) {
    for (let c = 0; c < columns; c++) {
      const key = ds.objectKeyOf([b, c]);
      if (stored.has(key)) present.push([b, c, key]);
    }
  }
  await forEachLimited(
    present,
    async ([b, c, key]) => {
      const got = await store.getVersioned(key, { range: { offset: 0, length: 0 }, signal });
      tokens[b][c] = got?.version ?? null;
    },
    { njobs, signal },
    what,
  );
  return { blockRows, tokens };
}

// ---------------------------------------------------------------------------------------------
// usearch indexes in memory and as bytes.

function newUsearchIndex(dims: number, metric: VectorMetric, params: VectorIndexParams): Usearch.Index {
  const u = usearch();
  return new u.Index({
    dimensions: dims,
    metric: USEARCH_METRIC[metric] as Usearch.MetricKind,
    quantization: "f32" as Usearch.ScalarKind,
    connectivity: params.connectivity,
    expansion_add: params.expansionAdd,
    expansion_search: params.expansionSearch,
    multi: false,
  });
}

async function withTempFile<T>(use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "dosna-index-"));
  try {
    return await use(join(dir, "hnsw.usearch"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function serialise(index: Usearch.Index): Promise<Uint8Array> {
  return withTempFile(async (path) => {
    index.save(path);
    return new Uint8Array(await readFile(path));
  });
}

function deserialise(bytes: Uint8Array, manifest: VectorIndexManifest): Promise<Usearch.Index> {
  return withTempFile(async (path) => {
    await writeFile(path, bytes);
    const index = newUsearchIndex(manifest.dims, manifest.metric, manifest.params);
    index.load(path);
    return index;
  });
}

/** Add rows [start, end) (C-order values `data`) under their row numbers as keys. */
function addRows(index: Usearch.Index, start: number, end: number, data: Float32Array | Float64Array): void {
  if (end <= start) return;
  const keys = new BigUint64Array(end - start);
  for (let i = 0; i < keys.length; i++) keys[i] = BigInt(start + i);
  index.add(keys, data instanceof Float32Array ? data : Float32Array.from(data), 0);
}

function removeRows(index: Usearch.Index, start: number, end: number): void {
  if (end <= start) return;
  const keys = new BigUint64Array(end - start);
  for (let i = 0; i < keys.length; i++) keys[i] = BigInt(start + i);
  index.remove(keys);
}

/** Read the given row ranges (`njobs` reads at a time, each one block of chunk rows) and add them. */
async function addRanges(ds: Dataset, index: Usearch.Index, ranges: { start: number; end: number }[], njobs: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  const pieces = ranges.flatMap((r) => rowBlocks(ds.chunks[0], r.start, r.end));
  await forEachLimited(pieces, async (p) => addRows(index, p.start, p.end, await readRows(ds, p.start, p.end, signal)), { njobs, signal }, what);
  throwIfAborted(signal, what);
}

// ---------------------------------------------------------------------------------------------
// The per-handle cache of loaded indexes.

const loadedIndexes = new WeakMap<Dataset, { version: string; loaded: Promise<LoadedVectorIndex> }>();

/**
 * The dataset's stored index, loaded (cached per dataset handle and manifest version: a call
 * that finds the manifest unchanged costs one GET of index.json), or undefined when there is none.
 */
export async function openVectorIndex(ds: Dataset, signal?: AbortSignal): Promise<LoadedVectorIndex | undefined> {
  const store = ds.context.store;
  const key = manifestKeyOf(ds);
  for (let attempt = 1; ; attempt++) {
    const got = await store.getVersioned(key, { signal });
    if (got === undefined) {
      loadedIndexes.delete(ds);
      return undefined;
    }
    const cached = loadedIndexes.get(ds);
    if (cached && cached.version === got.version) return cached.loaded;
    const manifest = parseManifest(got.bytes, key, ds);
    const fileKey = `${indexDirectory(ds)}${manifest.file}`;
    const bytes = await store.get(fileKey, undefined, { signal });
    if (bytes === undefined) {
      // Replaced by a concurrent update between our two reads: read the manifest again.
      if (attempt < 3) continue;
      throw new CorruptMetadataError(`vector index of ${ds.describe}: ${JSON.stringify(key)} names the graph ${JSON.stringify(fileKey)}, which is not in the store (rebuild it with createVectorIndex)`);
    }
    const loaded = deserialise(bytes, manifest).then((index) => ({ manifest, index }));
    loadedIndexes.set(ds, { version: got.version, loaded });
    try {
      return await loaded;
    } catch (error) {
      loadedIndexes.delete(ds);
      throw new CorruptMetadataError(`vector index of ${ds.describe}: usearch could not load ${JSON.stringify(fileKey)}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The stored index's manifest, summarised, or undefined when the dataset has none (one GET). */
export async function vectorIndexInfo(ds: Dataset, options: { signal?: AbortSignal } = {}): Promise<VectorIndexInfo | undefined> {
  const key = manifestKeyOf(ds);
  const bytes = await ds.context.store.get(key, undefined, { signal: options.signal });
  return bytes === undefined ? undefined : infoOf(ds, parseManifest(bytes, key, ds));
}

/** Remove the dataset's stored index (nothing when it has none). */
export async function deleteVectorIndex(ds: Dataset, options: { signal?: AbortSignal } = {}): Promise<void> {
  assertWritable(ds.context, ds.describe);
  const store = ds.context.store;
  const directory = indexDirectory(ds);
  const files: string[] = [];
  for await (const key of store.list(directory, { signal: options.signal })) {
    // Only this dataset's files: deeper keys belong to other datasets (for the root dataset, to every other one).
    if (!key.slice(directory.length).includes("/") && key !== manifestKeyOf(ds)) files.push(key);
  }
  // The manifest first: without it the graph files are unreferenced leftovers, never a broken index.
  await store.delete(manifestKeyOf(ds), { signal: options.signal });
  await store.deleteMany(files, { signal: options.signal });
  loadedIndexes.delete(ds);
}

// ---------------------------------------------------------------------------------------------
// Build and update.

function checkParams(options: Partial<VectorIndexParams>, what: string): VectorIndexParams {
  const params = { ...DEFAULT_PARAMS };
  const limits: Record<keyof VectorIndexParams, [number, number]> = { connectivity: [2, 256], expansionAdd: [1, 1 << 16], expansionSearch: [1, 1 << 16] };
  for (const name of Object.keys(limits) as (keyof VectorIndexParams)[]) {
    const value = options[name];
    if (value === undefined) continue;
    const [lo, hi] = limits[name];
    if (!Number.isInteger(value) || value < lo || value > hi) throw new ValidationError(`${what}: ${name} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(value)}`);
    params[name] = value;
  }
  return params;
}

/**
 * Build an HNSW index (usearch) over the rows of a 2-D float32/float64 `[n, d]` dataset and store
 * it beside the dataset (see the module comment); `nearest` uses it from then on unless told
 * `{ exact: true }`. Replaces any index the dataset had. Reads the rows `njobs` chunk-row blocks
 * at a time; the graph itself is in memory (about n · (4d + 8·connectivity) bytes).
 */
export async function createVectorIndex(ds: Dataset, options: CreateVectorIndexOptions): Promise<VectorIndexInfo> {
  const what = `createVectorIndex on ${ds.describe}`;
  vectorShapeOf(ds, what);
  if (typeof options !== "object" || options === null) throw new ValidationError(`${what}: options { kind: "hnsw", metric } are required`);
  if (options.kind !== "hnsw") throw new ValidationError(`${what}: unknown index kind ${JSON.stringify(options.kind)}; expected "hnsw"`);
  const metric = checkMetric(options.metric, what);
  const params = checkParams(options, what);
  const njobs = checkNjobs(options.njobs, ds.njobs, what);
  assertWritable(ds.context, ds.describe);
  usearch(); // fail here, before reading anything, if the native addon is missing
  const { manifest, index } = await buildIndex(ds, metric, params, njobs, options.signal, what);
  await storeIndex(ds, manifest, index, undefined, options.signal);
  return infoOf(ds, manifest);
}

async function buildIndex(ds: Dataset, metric: VectorMetric, params: VectorIndexParams, njobs: number, signal: AbortSignal | undefined, what: string): Promise<LoadedVectorIndex> {
  const { n, d } = vectorShapeOf(ds, what);
  // Tokens before data: a row written in between is re-added by the next update, never missed.
  const { blockRows, tokens } = await objectTokens(ds, njobs, signal, what);
  const index = newUsearchIndex(d, metric, params);
  await addRanges(ds, index, [{ start: 0, end: n }], njobs, signal, what);
  const now = new Date().toISOString();
  const manifest: VectorIndexManifest = {
    format: "dosna-vector-index",
    version: 1,
    kind: "hnsw",
    metric,
    dims: d,
    dtype: ds.dtype as "float32" | "float64",
    rows: n,
    blockRows,
    params,
    file: "",
    bytes: 0,
    blocks: tokens,
    churn: 0,
    builtAt: now,
    updatedAt: now,
  };
  return { manifest, index };
}

/**
 * Write the graph under a new name, then the manifest (only if still at `replacing` when that is
 * given, else unconditionally), then delete the graph the old manifest named. Caches the result.
 */
async function storeIndex(ds: Dataset, manifest: VectorIndexManifest, index: Usearch.Index, replacing: string | undefined, signal: AbortSignal | undefined): Promise<void> {
  const store = ds.context.store;
  const bytes = await serialise(index);
  manifest.file = `hnsw-${newObjectId()}.usearch`;
  manifest.bytes = bytes.length;
  const directory = indexDirectory(ds);
  const manifestKey = manifestKeyOf(ds);
  await store.set(`${directory}${manifest.file}`, bytes, { signal });
  let previous: VectorIndexManifest | undefined;
  let version: string;
  try {
    if (replacing !== undefined) {
      const old = await store.get(manifestKey, undefined, { signal, ifMatch: replacing });
      previous = old && parseManifest(old, manifestKey, ds);
      version = await store.set(manifestKey, encodeManifest(manifest), { ifMatch: replacing, signal });
    } else {
      const old = await store.get(manifestKey, undefined, { signal });
      previous = old === undefined ? undefined : parseManifest(old, manifestKey, ds);
      version = await store.set(manifestKey, encodeManifest(manifest), { signal });
    }
  } catch (error) {
    await store.delete(`${directory}${manifest.file}`).catch(() => undefined);
    loadedIndexes.delete(ds);
    throw error;
  }
  loadedIndexes.set(ds, { version, loaded: Promise.resolve({ manifest, index }) });
  if (previous && previous.file !== manifest.file) await store.delete(`${directory}${previous.file}`, { signal }).catch(() => undefined);
}

/**
 * Bring the dataset's stored index up to date with its rows: rows of objects whose version token
 * changed since the index was built or last updated, of new objects (appended rows) and of the
 * edge block whose row count changed are removed and added again; rows past a shrunken end are
 * removed. When nothing changed this costs the manifest GET, one LIST and one zero-length read
 * per stored object, and writes nothing. The index is rebuilt instead when the dimension or the
 * object layout changed, or when more rows churned since the last build than the index holds
 * (usearch leaves removed entries in the graph). Uses the handle's shape: after another process
 * resized the dataset, `ds.refresh()` first. NotFoundError when the dataset has no index.
 */
export async function updateVectorIndex(ds: Dataset, options: UpdateVectorIndexOptions = {}): Promise<VectorIndexUpdate> {
  const what = `updateVectorIndex on ${ds.describe}`;
  vectorShapeOf(ds, what);
  const njobs = checkNjobs(options.njobs, ds.njobs, what);
  const signal = options.signal;
  assertWritable(ds.context, ds.describe);
  const key = manifestKeyOf(ds);
  return retryOnConflict(what, key, ds.context.conflicts, signal, async () => {
    const got = await ds.context.store.getVersioned(key, { signal });
    if (got === undefined) throw new NotFoundError(`${what}: ${ds.describe} has no vector index (create one with createVectorIndex)`);
    const old = parseManifest(got.bytes, key, ds);
    const { n, d } = vectorShapeOf(ds, what);
    const { blockRows, tokens } = await objectTokens(ds, njobs, signal, what);
    const layoutChanged = old.dims !== d || old.blockRows !== blockRows || old.dtype !== ds.dtype || (tokens[0] && old.blocks[0] && tokens[0].length !== old.blocks[0].length);
    const changed: { start: number; end: number; oldEnd: number }[] = [];
    const blocks = Math.max(tokens.length, old.blocks.length);
    for (let b = 0; b < blocks; b++) {
      const start = b * blockRows;
      const end = Math.min(n, start + blockRows);
      const oldEnd = Math.min(old.rows, start + blockRows);
      const same = b < tokens.length && b < old.blocks.length && end === oldEnd && tokens[b].every((t, c) => t === old.blocks[b][c]);
      if (!same) changed.push({ start, end: Math.max(start, end), oldEnd: Math.max(start, oldEnd) });
    }
    if (!layoutChanged && changed.length === 0) return { rowsUpdated: 0, rowsRemoved: 0, rebuilt: false, rows: old.rows };
    const rowsUpdated = changed.reduce((sum, c) => sum + (c.end - c.start), 0);
    const rowsRemoved = changed.reduce((sum, c) => sum + Math.max(0, c.oldEnd - c.end), 0);
    const churn = old.churn + changed.reduce((sum, c) => sum + (c.oldEnd - c.start), 0);
    if (layoutChanged || churn > Math.max(old.rows, n)) {
      const built = await buildIndex(ds, old.metric, old.params, njobs, signal, what);
      await storeIndex(ds, built.manifest, built.index, got.version, signal);
      return { rowsUpdated: n, rowsRemoved: Math.max(0, old.rows - n), rebuilt: true, rows: n };
    }
    const loaded = await openVectorIndex(ds, signal);
    if (loaded === undefined) throw new NotFoundError(`${what}: ${ds.describe} has no vector index (create one with createVectorIndex)`);
    if (loaded.manifest.file !== old.file) throw new PreconditionFailedError(`${what}: the index changed while it was being updated`);
    // The cached index is changed in place: drop it from the cache until the new manifest is stored.
    loadedIndexes.delete(ds);
    const index = loaded.index;
    for (const c of changed) removeRows(index, c.start, c.oldEnd);
    await addRanges(ds, index, changed.filter((c) => c.end > c.start), njobs, signal, what);
    const manifest: VectorIndexManifest = { ...old, rows: n, blocks: tokens, churn, updatedAt: new Date().toISOString() };
    await storeIndex(ds, manifest, index, got.version, signal);
    return { rowsUpdated, rowsRemoved, rebuilt: false, rows: n };
  });
}
