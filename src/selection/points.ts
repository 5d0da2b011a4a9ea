import { DtypeError, SelectionError, ShapeError } from "../errors.js";
import { parseSelection } from "./parse.js";
import { chunkGridShape } from "./plan.js";
import { describeValue, isSlice, sliceIndices } from "./slice.js";
import { cOrderStrides, pyShape } from "./strides.js";
import type { Slice, TypedArray } from "./types.js";

/**
 * Pointwise (coordinate) selection, as zarr's `vindex` and numpy's advanced indexing with one
 * integer array per axis: the i-th point is (rows[i], cols[i], ...), not the orthogonal product
 * that `normaliseSelection` builds; slices may stand beside the arrays, as numpy allows. Pure: normalising, grouping points by chunk, and the two
 * copy kernels between a decoded chunk and the points' flat buffer.
 */

/** An N-d strided array (a scijs ndarray or anything shaped like one). */
export interface StridedArrayLike {
  data: ArrayLike<number | bigint | boolean>;
  shape: readonly number[];
  stride?: readonly number[];
  offset?: number;
}

/** A nested JS array of integers (an N-d coordinate array) or of booleans (a mask). */
export type NestedPointArray<T> = readonly (T | NestedPointArray<T>)[];

/** The coordinates along one axis: one integer (broadcast to every point), or an integer array of any shape. */
export type PointCoordinate = number | bigint | ArrayLike<number | bigint> | NestedPointArray<number | bigint> | StridedArrayLike;

/** One item of a pointwise selection: coordinates, or (as numpy allows beside them) a slice, `null` (`:`) or `"..."`. */
export type PointItem = PointCoordinate | Slice | null | "...";

/**
 * A pointwise selection:
 * - a list with one item per axis (`"..."` standing for whole axes); the integer arrays and
 *   integers broadcast together like numpy's index arrays (an integer is 0-d, an array of length 1
 *   repeats) into the points' shape; slices and `null` keep their axis, numpy's way: in the place of
 *   the arrays when those are adjacent, after the points' dimensions otherwise;
 * - a boolean mask of the array's whole shape (nested booleans, or a strided array read as nonzero =
 *   true) given by itself, not in a list: the points where it is true, in C order;
 * - numpy text of such a list, `"[1, 2, 3], [4, 5, 6]"` or `"[0, 2], :, -1"`.
 */
export type PointSelection = string | readonly PointItem[] | NestedPointArray<boolean> | StridedArrayLike;

export interface NormalisedPoints {
  /** Per array axis, the coordinate of every point (non-negative, in bounds), in C order of `outputShape`. */
  coordinates: (Int32Array | Float64Array)[];
  /** The shape of the result: the broadcast shape of the coordinate arrays ([count] for a mask). */
  outputShape: number[];
  /** Number of points (product of outputShape). */
  count: number;
}

/**
 * The points of one chunk: element `chunkOffsets[k]` of the chunk (C order over the full chunk
 * shape) is point `positions[k]`. Positions increase within a chunk, so a set of repeated points
 * writes them in selection order and the last one wins, as in numpy.
 */
export interface PointChunk {
  readonly gridIndex: number[];
  /** Points never cover a chunk for sure (an edge chunk's padding, another writer's neighbours): always read-modify-write. */
  readonly coversChunk: false;
  readonly chunkOffsets: Float64Array;
  readonly positions: Float64Array;
}

/** Normalise a pointwise selection against `shape`; `what` (e.g. the dataset) prefixes error messages. */
export function normalisePoints(sel: PointSelection, shape: readonly number[], what?: string): NormalisedPoints {
  const fail = (message: string): never => {
    throw new SelectionError(what ? `${what}: ${message}` : message);
  };
  if (typeof sel === "string") {
    let items: unknown[];
    try {
      items = parseSelection(sel);
    } catch (e) {
      return fail((e as Error).message);
    }
    if (items.length === 1 && isBooleanList(items[0])) return maskPoints(items[0] as boolean[], [(items[0] as boolean[]).length], shape, true, fail);
    return coordinatePoints(items, shape, fail);
  }
  if (isStridedArray(sel)) return maskPoints(stridedValues(sel), [...sel.shape], shape, false, fail);
  if (!Array.isArray(sel)) return fail(`vindex takes a list of one integer array per axis or a boolean mask, got ${describeValue(sel)}`);
  if (sel.length > 0 && isBooleanNest(sel)) {
    const nest = flattenNest(sel, fail, "boolean mask");
    return maskPoints(nest.values, nest.shape, shape, true, fail);
  }
  return coordinatePoints(sel, shape, fail);
}

/** Group the points by the chunk (of `chunkShape`) holding them: one entry per touched chunk, in C order of the grid. */
export function planPointChunks(points: NormalisedPoints, shape: readonly number[], chunkShape: readonly number[]): PointChunk[] {
  const grid = chunkGridShape(shape, chunkShape);
  const ndim = shape.length;
  const { coordinates, count } = points;
  if (coordinates.length !== ndim) throw new ShapeError(`points have ${coordinates.length} axes but the array shape [${shape.join(", ")}] has ${ndim}`);
  if (count === 0) return [];
  const gridStrides = cOrderStrides(grid);
  const chunkStrides = cOrderStrides(chunkShape);
  const linear = elementCount(grid) <= Number.MAX_SAFE_INTEGER;
  // One pass assigns each point its chunk (a bucket in first-seen order), a counting sort then lays
  // the buckets out one after another, keeping point order inside each.
  const bucketOf = new Map<number | string, number>();
  const bucketGrid: number[][] = [];
  const sizes: number[] = [];
  const pointBucket = new Uint32Array(count);
  const offsets = new Float64Array(count);
  const gridIndex = new Array<number>(ndim);
  for (let p = 0; p < count; p++) {
    let id = 0;
    let offset = 0;
    for (let a = 0; a < ndim; a++) {
      const c = coordinates[a][p];
      const g = Math.floor(c / chunkShape[a]);
      gridIndex[a] = g;
      id += g * gridStrides[a];
      offset += (c - g * chunkShape[a]) * chunkStrides[a];
    }
    const key = linear ? id : gridIndex.join(",");
    let bucket = bucketOf.get(key);
    if (bucket === undefined) {
      bucket = bucketGrid.length;
      bucketOf.set(key, bucket);
      bucketGrid.push([...gridIndex]);
      sizes.push(0);
    }
    sizes[bucket]++;
    pointBucket[p] = bucket;
    offsets[p] = offset;
  }
  const order = bucketGrid.map((_, b) => b).sort((x, y) => compareGrid(bucketGrid[x], bucketGrid[y]));
  const start = new Float64Array(bucketGrid.length);
  let next = 0;
  for (const b of order) {
    start[b] = next;
    next += sizes[b];
  }
  const fill = Float64Array.from(start);
  const sortedOffsets = new Float64Array(count);
  const sortedPositions = new Float64Array(count);
  for (let p = 0; p < count; p++) {
    const at = fill[pointBucket[p]]++;
    sortedOffsets[at] = offsets[p];
    sortedPositions[at] = p;
  }
  return order.map((b) => ({
    gridIndex: bucketGrid[b],
    coversChunk: false,
    chunkOffsets: sortedOffsets.subarray(start[b], start[b] + sizes[b]),
    positions: sortedPositions.subarray(start[b], start[b] + sizes[b]),
  }));
}

/**
 * Copy one chunk's points into the flat result (C order of the output shape). `chunkElements` is
 * the number of elements of the full chunk shape; an element may span several array entries (the
 * chunk's length says how many), all of which are copied.
 */
export function copyChunkToPoints(chunk: TypedArray, chunkElements: number, out: TypedArray, plan: PointChunk): void {
  const width = entryWidth(chunk, chunkElements, out);
  copyPoints(chunk as unknown as Entries, plan.chunkOffsets, out as unknown as Entries, plan.positions, width);
}

/** Copy the values of one chunk's points (flat, C order of the output shape) into the chunk; repeated points: the last wins. */
export function copyPointsToChunk(values: TypedArray, chunk: TypedArray, chunkElements: number, plan: PointChunk): void {
  const width = entryWidth(chunk, chunkElements, values);
  copyPoints(values as unknown as Entries, plan.positions, chunk as unknown as Entries, plan.chunkOffsets, width);
}

interface Entries {
  [index: number]: unknown;
  readonly length: number;
}

function copyPoints(src: Entries, srcAt: Float64Array, dst: Entries, dstAt: Float64Array, width: number): void {
  const n = srcAt.length;
  if (width === 1) {
    for (let k = 0; k < n; k++) dst[dstAt[k]] = src[srcAt[k]];
    return;
  }
  for (let k = 0; k < n; k++) {
    const s = srcAt[k] * width;
    const d = dstAt[k] * width;
    for (let w = 0; w < width; w++) dst[d + w] = src[s + w];
  }
}

function entryWidth(chunk: TypedArray, chunkElements: number, other: TypedArray): number {
  if (chunk.constructor !== other.constructor) {
    throw new DtypeError(`cannot copy points between a ${chunk.constructor.name} chunk and a ${other.constructor.name} buffer; element types must match`);
  }
  const width = chunkElements === 0 ? 1 : chunk.length / chunkElements;
  if (!Number.isInteger(width) || width < 1) throw new ShapeError(`chunk holds ${chunk.length} entries, not a whole number per element of its ${chunkElements}`);
  return width;
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function compareGrid(x: readonly number[], y: readonly number[]): number {
  for (let a = 0; a < x.length; a++) if (x[a] !== y[a]) return x[a] - y[a];
  return 0;
}

/**
 * One item per axis: integer arrays and integers broadcast together (numpy's rules for index
 * arrays); slices (and `null`, `"..."`) keep their axis. numpy's placement: when the array/integer
 * axes are next to each other their broadcast dimensions take their place in the result, else
 * they come first. Every axis then becomes a coordinate array broadcast over the result shape.
 */
function coordinatePoints(given: readonly unknown[], shape: readonly number[], fail: (m: string) => never): NormalisedPoints {
  const items = expandEllipsis(given, shape, fail);
  const axes = items.map((item, axis): AxisItem => {
    if (item === null) return { kind: "range", start: 0, step: 1, count: shape[axis] };
    if (isSlice(item)) {
      try {
        return { kind: "range", ...sliceIndices(item, shape[axis]) };
      } catch (e) {
        return fail(`${(e as Error).message} (axis ${axis})`);
      }
    }
    return { kind: "array", array: coordinateArray(item, axis, shape[axis], fail) };
  });
  const advanced = axes.flatMap((a, axis) => (a.kind === "array" ? [axis] : []));
  const pointShape = broadcastShapes(advanced.map((axis) => ({ axis, shape: (axes[axis] as { array: CoordinateArray }).array.shape })), fail);
  const inPlace = advanced.length > 0 && advanced[advanced.length - 1] - advanced[0] === advanced.length - 1;
  // The result's dimensions: the slices before the arrays, the arrays' broadcast shape, the slices after (or the arrays' first).
  const sliceAxes = axes.flatMap((a, axis) => (a.kind === "range" ? [axis] : []));
  const layout: (number | "points")[] = inPlace
    ? [...sliceAxes.filter((axis) => axis < advanced[0]), "points", ...sliceAxes.filter((axis) => axis > advanced[0])]
    : advanced.length > 0
      ? ["points", ...sliceAxes]
      : sliceAxes;
  const outputShape: number[] = [];
  const sliceDim = new Map<number, number>();
  let before = 0;
  for (const entry of layout) {
    if (entry === "points") {
      before = outputShape.length;
      outputShape.push(...pointShape);
    } else {
      sliceDim.set(entry, outputShape.length);
      outputShape.push((axes[entry] as { count: number }).count);
    }
  }
  const arrays = axes.map((a, axis): CoordinateArray => {
    const own = outputShape.map(() => 1);
    if (a.kind === "range") {
      own[sliceDim.get(axis)!] = a.count;
      return { shape: own, values: Float64Array.from({ length: a.count }, (_, i) => a.start + i * a.step) };
    }
    // Right-aligned inside the arrays' block, size-1 elsewhere: the values keep their C order.
    const blockEnd = before + pointShape.length;
    a.array.shape.forEach((n, k) => (own[blockEnd - a.array.shape.length + k] = n));
    return { shape: own, values: a.array.values };
  });
  const count = elementCount(outputShape);
  const outStrides = cOrderStrides(outputShape);
  const coordinates = arrays.map((array, axis) => {
    const out = shape[axis] <= 0x7fffffff ? new Int32Array(count) : new Float64Array(count);
    if (array.values.length === count) {
      out.set(array.values);
      return out;
    }
    const own = cOrderStrides(array.shape);
    // Stride (in `array.values`) per result dimension: 0 where the array is broadcast along it.
    const strides = array.shape.map((n, k) => (n === 1 ? 0 : own[k]));
    for (let p = 0; p < count; p++) {
      let at = 0;
      let rest = p;
      for (let k = 0; k < outputShape.length; k++) {
        const i = Math.floor(rest / outStrides[k]);
        rest -= i * outStrides[k];
        at += i * strides[k];
      }
      out[p] = array.values[at];
    }
    return out;
  });
  return { coordinates, outputShape, count };
}

type AxisItem = { kind: "range"; start: number; step: number; count: number } | { kind: "array"; array: CoordinateArray };

/** The items with `"..."` replaced by whole axes; anything but exactly one item per axis is refused. */
function expandEllipsis(items: readonly unknown[], shape: readonly number[], fail: (m: string) => never): unknown[] {
  const ndim = shape.length;
  const ellipses = items.filter((item) => item === "...").length;
  if (ellipses > 1) fail("an index can only have a single ellipsis ('...')");
  if (ellipses === 1) {
    const at = items.indexOf("...");
    if (items.length - 1 > ndim) fail(`too many indices for array: array is ${ndim}-dimensional, but ${items.length - 1} were indexed`);
    return [...items.slice(0, at), ...new Array<null>(ndim - items.length + 1).fill(null), ...items.slice(at + 1)];
  }
  if (items.length !== ndim) {
    const hint = ndim === 1 ? `; for a 1-d array put the coordinate array in a list: [[0, 4, 2]]` : `; use null (or "...") for whole axes`;
    fail(`vindex needs one item (coordinate array, integer or slice) per axis: the array is ${ndim}-dimensional (shape [${shape.join(", ")}]) but ${items.length} ${items.length === 1 ? "was" : "were"} given${hint}`);
  }
  return [...items];
}

interface CoordinateArray {
  shape: number[];
  /** Normalised (non-negative, in-bounds) coordinates, C order of `shape`. */
  values: Float64Array;
}

function coordinateArray(item: unknown, axis: number, length: number, fail: (m: string) => never): CoordinateArray {
  let shape: number[];
  let raw: ArrayLike<unknown>;
  if (typeof item === "number" || typeof item === "bigint") {
    shape = [];
    raw = [item];
  } else if (typeof item === "boolean") {
    return fail(`a boolean is not a coordinate (axis ${axis}); a boolean mask covers the whole array and is given alone, not in a list`);
  } else if (ArrayBuffer.isView(item) && !(item instanceof DataView)) {
    shape = [(item as unknown as ArrayLike<unknown>).length];
    raw = item as unknown as ArrayLike<unknown>;
  } else if (isStridedArray(item)) {
    shape = [...item.shape];
    raw = stridedValues(item);
  } else if (Array.isArray(item)) {
    const nest = flattenNest(item, fail, `coordinate array for axis ${axis}`);
    shape = nest.shape;
    raw = nest.values;
  } else {
    return fail(`${describeValue(item)} is not a coordinate array for axis ${axis}; expected an integer, an integer array or a typed array`);
  }
  const values = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) values[i] = normaliseCoordinate(raw[i], axis, length, i, fail);
  return { shape, values };
}

function normaliseCoordinate(v: unknown, axis: number, length: number, position: number, fail: (m: string) => never): number {
  let n: number;
  if (typeof v === "bigint") {
    n = Number(v);
    if (!Number.isSafeInteger(n)) fail(`index ${v} is out of bounds for axis ${axis} with size ${length}`);
  } else if (typeof v === "number" && Number.isInteger(v)) {
    n = v;
  } else if (typeof v === "boolean") {
    return fail(`coordinate array for axis ${axis} holds a boolean at position ${position}; vindex takes integers, or one boolean mask of the whole array`);
  } else {
    return fail(`coordinate array for axis ${axis} holds ${describeValue(v)} at position ${position}; coordinates must be integers`);
  }
  if (n < -length || n >= length) fail(`index ${n} is out of bounds for axis ${axis} with size ${length}`);
  return n < 0 ? n + length : n;
}

/** numpy's broadcast of the index arrays' shapes; the error names the axes and their shapes. */
function broadcastShapes(arrays: readonly { axis: number; shape: readonly number[] }[], fail: (m: string) => never): number[] {
  const ndim = Math.max(0, ...arrays.map((a) => a.shape.length));
  const out = new Array<number>(ndim).fill(1);
  for (const array of arrays) {
    const lead = ndim - array.shape.length;
    array.shape.forEach((n, k) => {
      const have = out[lead + k];
      if (n === have || n === 1) return;
      if (have === 1) out[lead + k] = n;
      else mismatch();
    });
  }
  return out;

  function mismatch(): never {
    const described = arrays.map(({ axis, shape }) => `axis ${axis}: ${shape.length === 1 ? `length ${shape[0]}` : shape.length === 0 ? "an integer" : `shape ${pyShape(shape)}`}`);
    return fail(
      `coordinate arrays of different lengths (${described.join(", ")}): shape mismatch: indexing arrays could not be broadcast together with shapes ${arrays.map((a) => pyShape(a.shape)).join(" ")}`,
    );
  }
}

/** The true positions of a mask of the array's shape; a strided mask (not `onlyBooleans`) counts nonzero numbers as true. */
function maskPoints(mask: ArrayLike<unknown>, maskShape: readonly number[], shape: readonly number[], onlyBooleans: boolean, fail: (m: string) => never): NormalisedPoints {
  const ndim = shape.length;
  if (maskShape.length !== ndim) {
    fail(`boolean mask of shape [${maskShape.join(", ")}] does not fit the array: a vindex mask has the array's shape [${shape.join(", ")}]`);
  }
  maskShape.forEach((n, axis) => {
    if (n !== shape[axis]) fail(`boolean index did not match indexed array along axis ${axis}; size of axis is ${shape[axis]} but size of corresponding boolean axis is ${n}`);
  });
  let count = 0;
  const selected = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) if ((selected[i] = truthy(mask[i], i, onlyBooleans, fail) ? 1 : 0)) count++;
  const coordinates = shape.map((n) => (n <= 0x7fffffff ? new Int32Array(count) : new Float64Array(count)));
  const strides = cOrderStrides(shape);
  for (let i = 0, p = 0; i < mask.length; i++) {
    if (!selected[i]) continue;
    let rest = i;
    for (let a = 0; a < ndim; a++) {
      const c = Math.floor(rest / strides[a]);
      rest -= c * strides[a];
      coordinates[a][p] = c;
    }
    p++;
  }
  return { coordinates, outputShape: [count], count };
}

function truthy(v: unknown, position: number, onlyBooleans: boolean, fail: (m: string) => never): boolean {
  if (typeof v === "boolean") return v;
  if (!onlyBooleans && typeof v === "number") return v !== 0;
  if (!onlyBooleans && typeof v === "bigint") return v !== 0n;
  return fail(`boolean mask holds ${describeValue(v)} at flat position ${position}; expected booleans`);
}

function isBooleanList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "boolean");
}

/** A nested array whose first leaf is a boolean (then all must be: flattenNest checks the rest). */
function isBooleanNest(value: readonly unknown[]): boolean {
  let level: unknown = value;
  while (Array.isArray(level) && level.length > 0) level = level[0];
  return typeof level === "boolean";
}

function isStridedArray(value: unknown): value is StridedArrayLike {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && Array.isArray((value as StridedArrayLike).shape) && "data" in value;
}

/** The elements of a strided array in C order of its shape. */
function stridedValues(array: StridedArrayLike): unknown[] {
  const shape = array.shape;
  const strides = array.stride ?? cOrderStrides(shape);
  const offset = array.offset ?? 0;
  const count = elementCount(shape);
  const outStrides = cOrderStrides(shape);
  const values = new Array<unknown>(count);
  for (let p = 0; p < count; p++) {
    let at = offset;
    let rest = p;
    for (let k = 0; k < shape.length; k++) {
      const i = Math.floor(rest / outStrides[k]);
      rest -= i * outStrides[k];
      at += i * strides[k];
    }
    values[p] = array.data[at];
  }
  return values;
}

/** Shape and C-order leaves of a rectangular nested array. */
function flattenNest(value: readonly unknown[], fail: (m: string) => never, what: string): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const values: unknown[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) fail(`${what} is a nested array that is not rectangular (expected shape [${shape.join(", ")}])`);
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) fail(`${what} is a nested array that is not rectangular (expected shape [${shape.join(", ")}])`);
    for (const child of node as unknown[]) walk(child, depth + 1);
  };
  walk(value, 0);
  return { shape, values };
}
