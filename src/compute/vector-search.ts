/**
 * k-nearest-neighbour search over the rows of a 2-D `[n, d]` float32/float64 dataset.
 *
 *   const { indices, distances } = await nearest(ds, queries, 10, { metric: "cosine" });
 *   // neighbours of query i: indices[i*k … i*k+k), nearest first
 *
 * Two paths, one result (NearestResult):
 * - exact: the rows are read one block of chunk rows (axis 0) at a time, `njobs` blocks in flight,
 *   never the whole dataset: memory is about njobs × block + q × k. Each block is scored against
 *   every query with a dot-product kernel (2 queries × 4 rows per step, plain loops over the typed
 *   arrays; norms precomputed) and each query keeps its k best in a bounded max-heap.
 * - HNSW: when the dataset has a stored index (vector-index.ts) of the same metric and dimension,
 *   and `exact` is not set. Rows appended since the index was last updated are scanned exactly and
 *   merged in; rows past a shrunken end are dropped.
 *
 * Distances (see VectorMetric): "l2" squared Euclidean, "cosine" 1 − cos, "ip" 1 − q·x; smaller is
 * nearer on both paths. Each query's k results are sorted by distance ascending, ties by row index
 * ascending; when fewer than k rows qualify (a filter) the rest is index −1, distance +Infinity.
 * NaN distances count as +Infinity.
 *
 * Filters: `filter` a boolean mask over the n rows (Uint8Array, nonzero = keep, or boolean[]),
 * `rows` a range [start, end); both together keep their intersection. The exact path skips rows
 * (and blocks with no kept row are not read). The HNSW path asks the graph for k / s · 2
 * candidates (s: the fraction of indexed rows kept), growing ×4 until k of them pass; it falls
 * back to the exact path for everything when s < 5 %, and for single queries whose candidates
 * ran out (the whole graph searched) before k passed.
 */
import { ShapeError, ValidationError } from "../errors.js";
import { forEachLimited, throwIfAborted } from "../core/concurrency.js";
import type { Dataset } from "../core/dataset.js";
import { isNdArray, type NdArrayLike } from "../core/values.js";
import { checkMetric, checkNjobs, openVectorIndex, readRows, rowBlocks, vectorShapeOf, type LoadedVectorIndex, type VectorMetric } from "./vector-index.js";

export type { VectorMetric } from "./vector-index.js";

/** Queries: q·d values row after row, an ndarray [q, d] (or [d]), or nested rows (number[][], or one number[]). */
export type VectorQueries = Float32Array | Float64Array | NdArrayLike | readonly (readonly number[])[] | readonly number[];

export interface NearestOptions {
  metric: VectorMetric;
  /** Brute force even when the dataset has an index. */
  exact?: boolean;
  /** Rows to consider: a mask over all n rows (nonzero / true = keep). */
  filter?: Uint8Array | readonly boolean[];
  /** Rows to consider: [start, end). */
  rows?: readonly [number, number];
  /** Concurrent block reads (default: the dataset's njobs). */
  njobs?: number;
  signal?: AbortSignal;
}

export interface NearestResult {
  /** Row numbers, [queries, k] row-major: query i's neighbours are indices[i·k … i·k + k), nearest first; −1 where fewer than k rows qualified. */
  indices: Int32Array;
  /** Distances matching `indices` (+Infinity for the −1 padding). */
  distances: Float32Array;
  queries: number;
  k: number;
  /** Which path answered. */
  method: "exact" | "hnsw";
}

/** Below this fraction of kept rows a filtered search skips the graph and scans exactly. */
export const FILTER_EXACT_BELOW = 0.05;

type Rows = Float32Array | Float64Array;

/** Which rows a search may return: the range [start, end) and, optionally, a mask over all rows. */
interface RowScope {
  start: number;
  end: number;
  mask?: Uint8Array;
}

/**
 * The k nearest rows of `ds` to each query (see the module comment for paths, distances and
 * filters). Validates everything before reading any row: ShapeError for a non-2-D dataset or a
 * query dimension other than the dataset's, DtypeError for a non-float dataset, ValidationError
 * for k outside 1…n, an unknown metric or a bad filter.
 */
export async function nearest(ds: Dataset, queries: VectorQueries, k: number, options: NearestOptions): Promise<NearestResult> {
  const what = `nearest on ${ds.describe}`;
  const { n, d } = vectorShapeOf(ds, what);
  if (typeof options !== "object" || options === null) throw new ValidationError(`${what}: options { metric } are required`);
  const metric = checkMetric(options.metric, what);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new ValidationError(`${what}: k must be an integer from 1 to the dataset's ${n} rows, got ${JSON.stringify(k)}`);
  const { data: Q, count: q } = queryMatrix(queries, d, ds.dtype === "float64", what);
  const scope = rowScope(options, n, what);
  const njobs = checkNjobs(options.njobs, ds.njobs, what);
  if (options.exact !== undefined && typeof options.exact !== "boolean") throw new ValidationError(`${what}: exact must be a boolean, got ${JSON.stringify(options.exact)}`);
  const signal = options.signal;
  throwIfAborted(signal, what);
  if (!options.exact) {
    const loaded = await openVectorIndex(ds, signal);
    if (loaded && loaded.manifest.metric === metric && loaded.manifest.dims === d) {
      const top = await searchIndexed(ds, loaded, Q, q, d, k, metric, scope, njobs, signal, what);
      if (top) return { ...top.finish(), queries: q, k, method: "hnsw" };
    }
  }
  const top = new TopK(q, k);
  await scanExact(ds, Q, q, d, metric, top, scope, njobs, signal, what);
  return { ...top.finish(), queries: q, k, method: "exact" };
}

// ---------------------------------------------------------------------------------------------
// Arguments.

function queryMatrix(queries: VectorQueries, d: number, wide: boolean, what: string): { data: Rows; count: number } {
  const make = (length: number): Rows => (wide ? new Float64Array(length) : new Float32Array(length));
  const view: unknown = queries;
  if (ArrayBuffer.isView(view) && !(view instanceof Float32Array || view instanceof Float64Array)) {
    throw new ValidationError(`${what}: queries must be a Float32Array or Float64Array of q·d values, an ndarray [q, d] or number[][], got a ${view.constructor.name}`);
  }
  if (queries instanceof Float32Array || queries instanceof Float64Array) {
    if (queries.length % d !== 0) {
      throw new ShapeError(`${what}: queries of ${queries.length} values are not rows of the dataset's dimension ${d} (${queries.length} is not a multiple of ${d})`);
    }
    const data = make(queries.length);
    data.set(queries);
    return { data, count: queries.length / d };
  }
  if (isNdArray(queries)) {
    const shape = queries.shape;
    if (shape.length !== 1 && shape.length !== 2) throw new ShapeError(`${what}: queries of shape [${shape}] must be [q, ${d}] or [${d}]`);
    const dims = shape[shape.length - 1];
    if (dims !== d) throw new ShapeError(`${what}: queries have dimension ${dims} (shape [${shape}]), but the dataset's rows have dimension ${d}`);
    const count = shape.length === 2 ? shape[0] : 1;
    const [rowStride, colStride] = shape.length === 2 ? queries.stride : [0, queries.stride[0]];
    const source = queries.data as ArrayLike<number>;
    const data = make(count * d);
    for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) data[i * d + j] = Number(source[queries.offset + i * rowStride + j * colStride]);
    return { data, count };
  }
  if (Array.isArray(queries)) {
    const rows = (queries.length > 0 && !Array.isArray(queries[0]) ? [queries] : queries) as readonly (readonly unknown[])[];
    const data = make(rows.length * d);
    rows.forEach((row, i) => {
      if (!Array.isArray(row)) throw new ValidationError(`${what}: query ${i} is not an array of numbers`);
      if (row.length !== d) throw new ShapeError(`${what}: query ${i} has dimension ${row.length}, but the dataset's rows have dimension ${d}`);
      for (let j = 0; j < d; j++) {
        const v = row[j];
        if (typeof v !== "number") throw new ValidationError(`${what}: query ${i} holds ${JSON.stringify(v)} at position ${j}, not a number`);
        data[i * d + j] = v;
      }
    });
    return { data, count: rows.length };
  }
  throw new ValidationError(`${what}: queries must be a Float32Array or Float64Array of q·d values, an ndarray [q, d] or number[][], got ${queries === null ? "null" : typeof queries}`);
}

function rowScope(options: NearestOptions, n: number, what: string): RowScope {
  let start = 0;
  let end = n;
  if (options.rows !== undefined) {
    const r = options.rows;
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isInteger) || r[0] < 0 || r[0] > r[1] || r[1] > n) {
      throw new ValidationError(`${what}: rows must be a range [start, end) with 0 ≤ start ≤ end ≤ ${n} (the dataset's rows), got ${JSON.stringify(r)}`);
    }
    [start, end] = r;
  }
  const filter = options.filter;
  if (filter === undefined) return { start, end };
  if (!(filter instanceof Uint8Array) && !Array.isArray(filter)) {
    throw new ValidationError(`${what}: filter must be a Uint8Array or boolean[] mask over the dataset's ${n} rows, got ${filter === null ? "null" : typeof filter}`);
  }
  if (filter.length !== n) throw new ShapeError(`${what}: filter mask has length ${filter.length}, but the dataset has ${n} rows`);
  const mask = new Uint8Array(n);
  for (let i = start; i < end; i++) mask[i] = filter[i] ? 1 : 0;
  return { start, end, mask };
}

function allowedIn(scope: RowScope, from: number, to: number): number {
  const lo = Math.max(from, scope.start);
  const hi = Math.min(to, scope.end);
  if (hi <= lo) return 0;
  if (!scope.mask) return hi - lo;
  let count = 0;
  for (let i = lo; i < hi; i++) count += scope.mask[i];
  return count;
}

// ---------------------------------------------------------------------------------------------
// Top-k per query: a max-heap of (distance, index) pairs, ordered lexicographically.

export class TopK {
  private readonly dist: Float64Array;
  private readonly idx: Int32Array;
  private readonly size: Int32Array;

  constructor(
    readonly queries: number,
    readonly k: number,
  ) {
    this.dist = new Float64Array(queries * k);
    this.idx = new Int32Array(queries * k);
    this.size = new Int32Array(queries);
  }

  /** The distance a candidate for query `qi` must not exceed to enter (+Infinity until k are held). */
  bound(qi: number): number {
    return this.size[qi] < this.k ? Infinity : this.dist[qi * this.k];
  }

  offer(qi: number, distance: number, index: number): void {
    const k = this.k;
    const base = qi * k;
    const dist = this.dist;
    const idx = this.idx;
    const d = distance !== distance ? Infinity : distance;
    let size = this.size[qi];
    if (size < k) {
      // Sift up from the end.
      let at = size++;
      this.size[qi] = size;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        const pd = dist[base + parent];
        if (pd > d || (pd === d && idx[base + parent] > index)) break;
        dist[base + at] = pd;
        idx[base + at] = idx[base + parent];
        at = parent;
      }
      dist[base + at] = d;
      idx[base + at] = index;
      return;
    }
    const td = dist[base];
    if (d > td || (d === td && index >= idx[base])) return;
    // Replace the root and sift down.
    let at = 0;
    while (true) {
      let child = 2 * at + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size) {
        const cd = dist[base + child];
        const rd = dist[base + right];
        if (rd > cd || (rd === cd && idx[base + right] > idx[base + child])) child = right;
      }
      const cd = dist[base + child];
      if (cd < d || (cd === d && idx[base + child] < index)) break;
      dist[base + at] = cd;
      idx[base + at] = idx[base + child];
      at = child;
    }
    dist[base + at] = d;
    idx[base + at] = index;
  }

  /** Each query's pairs, sorted (distance, index) ascending, padded with −1 / +Infinity. */
  finish(): { indices: Int32Array; distances: Float32Array } {
    const { queries, k } = this;
    const indices = new Int32Array(queries * k).fill(-1);
    const distances = new Float32Array(queries * k).fill(Infinity);
    const order: number[] = [];
    for (let qi = 0; qi < queries; qi++) {
      const base = qi * k;
      const size = this.size[qi];
      order.length = 0;
      for (let j = 0; j < size; j++) order.push(base + j);
      order.sort((a, b) => this.dist[a] - this.dist[b] || this.idx[a] - this.idx[b]);
      for (let j = 0; j < size; j++) {
        indices[base + j] = this.idx[order[j]];
        distances[base + j] = this.dist[order[j]];
      }
    }
    return { indices, distances };
  }

  /** Query `qi`'s pairs in heap order. */
  entries(qi: number): { distance: number; index: number }[] {
    const out: { distance: number; index: number }[] = [];
    for (let j = 0; j < this.size[qi]; j++) out.push({ distance: this.dist[qi * this.k + j], index: this.idx[qi * this.k + j] });
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Exact scan.

/** Per-query norms: ‖q‖² for "l2", ‖q‖ for "cosine" (unused for "ip"). */
function rowNorms(data: Rows, count: number, d: number, metric: VectorMetric): Float64Array {
  const out = new Float64Array(count);
  if (metric === "ip") return out;
  for (let i = 0; i < count; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) s += data[o + j] * data[o + j];
    out[i] = metric === "cosine" ? Math.sqrt(s) : s;
  }
  return out;
}

/**
 * Offer every row in `scope` to `top`, reading blocks of `ds.chunks[0]` rows, `njobs` at a time.
 * Blocks with no kept row are not read; rows the mask drops are compacted away before scoring.
 */
async function scanExact(ds: Dataset, Q: Rows, q: number, d: number, metric: VectorMetric, top: TopK, scope: RowScope, njobs: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (q === 0) return;
  const qNorms = rowNorms(Q, q, d, metric);
  const blocks = rowBlocks(ds.chunks[0], scope.start, scope.end).filter((b) => allowedIn(scope, b.start, b.end) > 0);
  await forEachLimited(
    blocks,
    async (block) => {
      let X = await readRows(ds, block.start, block.end, signal);
      throwIfAborted(signal, what);
      let rows = block.end - block.start;
      let ids: Int32Array | undefined;
      if (scope.mask && allowedIn(scope, block.start, block.end) < rows) {
        ({ X, ids, rows } = compactRows(X, d, scope.mask, block.start, rows));
      }
      scoreBlock(Q, q, qNorms, X, rows, d, metric, block.start, ids, top);
    },
    { njobs, signal },
    what,
  );
  throwIfAborted(signal, what);
}

function compactRows(X: Rows, d: number, mask: Uint8Array, first: number, rows: number): { X: Rows; ids: Int32Array; rows: number } {
  let kept = 0;
  for (let r = 0; r < rows; r++) kept += mask[first + r];
  const out = X instanceof Float64Array ? new Float64Array(kept * d) : new Float32Array(kept * d);
  const ids = new Int32Array(kept);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    if (!mask[first + r]) continue;
    out.set(X.subarray(r * d, (r + 1) * d), at * d);
    ids[at++] = first + r;
  }
  return { X: out, ids, rows: kept };
}

/** Score `rows` rows of X against every query and offer them (row numbers `first + r`, or `ids[r]`). */
function scoreBlock(Q: Rows, q: number, qNorms: Float64Array, X: Rows, rows: number, d: number, metric: VectorMetric, first: number, ids: Int32Array | undefined, top: TopK): void {
  const xNorms = rowNorms(X, rows, d, metric);
  const dotA = new Float64Array(rows);
  const dotB = new Float64Array(rows);
  for (let i = 0; i < q; i += 2) {
    if (i + 1 < q) {
      dots2(Q, i * d, (i + 1) * d, X, rows, d, dotA, dotB);
      offerRows(top, i, dotA, qNorms[i], xNorms, rows, metric, first, ids);
      offerRows(top, i + 1, dotB, qNorms[i + 1], xNorms, rows, metric, first, ids);
    } else {
      dots1(Q, i * d, X, rows, d, dotA);
      offerRows(top, i, dotA, qNorms[i], xNorms, rows, metric, first, ids);
    }
  }
}

/** Dot products of two queries (at offsets qa, qb of Q) with each of `rows` rows: 2 × 4 per step. */
function dots2(Q: Rows, qa: number, qb: number, X: Rows, rows: number, d: number, outA: Float64Array, outB: Float64Array): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = r * d;
    const x1 = x0 + d;
    const x2 = x1 + d;
    const x3 = x2 + d;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0; // prettier-ignore
    for (let j = 0; j < d; j++) {
      const u = Q[qa + j];
      const v = Q[qb + j];
      const y0 = X[x0 + j];
      const y1 = X[x1 + j];
      const y2 = X[x2 + j];
      const y3 = X[x3 + j];
      a0 += u * y0;
      a1 += u * y1;
      a2 += u * y2;
      a3 += u * y3;
      b0 += v * y0;
      b1 += v * y1;
      b2 += v * y2;
      b3 += v * y3;
    }
    outA[r] = a0;
    outA[r + 1] = a1;
    outA[r + 2] = a2;
    outA[r + 3] = a3;
    outB[r] = b0;
    outB[r + 1] = b1;
    outB[r + 2] = b2;
    outB[r + 3] = b3;
  }
  for (; r < rows; r++) {
    const x = r * d;
    let a = 0;
    let b = 0;
    for (let j = 0; j < d; j++) {
      const y = X[x + j];
      a += Q[qa + j] * y;
      b += Q[qb + j] * y;
    }
    outA[r] = a;
    outB[r] = b;
  }
}

function dots1(Q: Rows, qa: number, X: Rows, rows: number, d: number, out: Float64Array): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = r * d;
    const x1 = x0 + d;
    const x2 = x1 + d;
    const x3 = x2 + d;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // prettier-ignore
    for (let j = 0; j < d; j++) {
      const u = Q[qa + j];
      a0 += u * X[x0 + j];
      a1 += u * X[x1 + j];
      a2 += u * X[x2 + j];
      a3 += u * X[x3 + j];
    }
    out[r] = a0;
    out[r + 1] = a1;
    out[r + 2] = a2;
    out[r + 3] = a3;
  }
  for (; r < rows; r++) {
    const x = r * d;
    let a = 0;
    for (let j = 0; j < d; j++) a += Q[qa + j] * X[x + j];
    out[r] = a;
  }
}

/** Distances from dot products, offered to query qi's heap; most rows fail the bound check and cost a compare. */
function offerRows(top: TopK, qi: number, dots: Float64Array, qNorm: number, xNorms: Float64Array, rows: number, metric: VectorMetric, first: number, ids: Int32Array | undefined): void {
  let bound = top.bound(qi);
  for (let r = 0; r < rows; r++) {
    let dist: number;
    if (metric === "l2") {
      dist = qNorm + xNorms[r] - 2 * dots[r];
      if (dist < 0) dist = 0;
    } else if (metric === "ip") {
      dist = 1 - dots[r];
    } else {
      const denominator = qNorm * xNorms[r];
      dist = denominator === 0 ? 1 : 1 - dots[r] / denominator;
    }
    if (dist > bound) continue;
    top.offer(qi, dist, ids ? ids[r] : first + r);
    bound = top.bound(qi);
  }
}

// ---------------------------------------------------------------------------------------------
// HNSW search.

/** usearch's answer for some queries: `count[i]` results of query i at [i·stride, …). */
interface GraphMatches {
  keys: BigUint64Array;
  distances: Float32Array;
  counts: number[];
  stride: number;
}

function searchGraph(loaded: LoadedVectorIndex, Q32: Float32Array, q: number, kk: number): GraphMatches {
  const result = loaded.index.search(Q32, kk, 0);
  if (q === 1) return { keys: result.keys, distances: result.distances, counts: [result.keys.length], stride: kk };
  const counts = Array.from((result as unknown as { counts: BigUint64Array }).counts, Number);
  return { keys: result.keys, distances: result.distances, counts, stride: kk };
}

/**
 * The HNSW path, or undefined when the filter keeps too few rows (the caller then scans exactly).
 * Rows past the indexed ones (appended since the last update) are scanned exactly and merged.
 */
async function searchIndexed(
  ds: Dataset,
  loaded: LoadedVectorIndex,
  Q: Rows,
  q: number,
  d: number,
  k: number,
  metric: VectorMetric,
  scope: RowScope,
  njobs: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<TopK | undefined> {
  const n = ds.shape[0];
  const indexed = Math.min(loaded.manifest.rows, n);
  const graphSize = loaded.index.size();
  const kept = allowedIn(scope, 0, indexed);
  const filtered = kept < loaded.manifest.rows;
  const selectivity = graphSize === 0 ? 0 : kept / graphSize;
  if (kept > 0 && filtered && selectivity < FILTER_EXACT_BELOW) return undefined;
  const top = new TopK(q, k);
  if (kept > 0 && q > 0) {
    const passes = (key: number): boolean => key < indexed && key >= scope.start && key < scope.end && (!scope.mask || scope.mask[key] === 1);
    const Q32 = Q instanceof Float32Array ? Q : Float32Array.from(Q);
    let pending = Array.from({ length: q }, (_, i) => i);
    let kk = filtered ? Math.min(graphSize, Math.ceil((2 * k) / selectivity)) : Math.min(graphSize, k);
    const exhausted: number[] = [];
    while (pending.length > 0) {
      throwIfAborted(signal, what);
      const batch = pending.length === q ? Q32 : gatherRows(Q32, pending, d);
      const found = searchGraph(loaded, batch, pending.length, kk);
      const again: number[] = [];
      pending.forEach((qi, b) => {
        const candidates: [number, number][] = [];
        for (let j = 0; j < found.counts[b]; j++) {
          const key = Number(found.keys[b * found.stride + j]);
          if (passes(key)) candidates.push([found.distances[b * found.stride + j], key]);
        }
        if (candidates.length >= Math.min(k, kept)) for (const [dist, key] of candidates) top.offer(qi, dist, key);
        else if (kk >= graphSize) exhausted.push(qi);
        else again.push(qi);
      });
      pending = again;
      kk = Math.min(graphSize, kk * 4);
    }
    if (exhausted.length > 0) {
      // The graph gave fewer than k kept rows even searched whole: these queries go exact.
      const sub = new TopK(exhausted.length, k);
      await scanExact(ds, gatherRows(Q, exhausted, d), exhausted.length, d, metric, sub, { ...scope, end: Math.min(scope.end, indexed) }, njobs, signal, what);
      exhausted.forEach((qi, s) => {
        for (const { distance, index } of sub.entries(s)) top.offer(qi, distance, index);
      });
    }
  }
  if (n > indexed && scope.end > indexed) await scanExact(ds, Q, q, d, metric, top, { ...scope, start: Math.max(scope.start, indexed) }, njobs, signal, what);
  throwIfAborted(signal, what);
  return top;
}

function gatherRows<T extends Rows>(Q: T, which: readonly number[], d: number): T {
  const out = (Q instanceof Float64Array ? new Float64Array(which.length * d) : new Float32Array(which.length * d)) as T;
  which.forEach((qi, i) => out.set(Q.subarray(qi * d, (qi + 1) * d), i * d));
  return out;
}
