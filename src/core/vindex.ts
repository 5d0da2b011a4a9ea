/**
 * Pointwise reads and writes of a dataset (`ds.vindex`, as zarr's): the points are grouped by
 * chunk (selection/points.ts) and each touched chunk goes once through the array's chunk I/O,
 * `njobs` at a time, as `get`/`set` do. A write patches each chunk with the conditional
 * read-modify-write of chunk-io.ts, so writers of other points of the same chunks, in any
 * process, lose nothing. Everything is checked before the first request: a bad selection or
 * value stores nothing.
 */
import ndarray, { type NdArray } from "ndarray";
import { allocateTypedArray, type DataType, type TypedArray } from "../format/index.js";
import {
  copyChunkToPoints,
  copyPointsToChunk,
  copySelectionToChunk,
  normalisePoints,
  normaliseSelection,
  planChunks,
  planPointChunks,
  type NormalisedPoints,
  type PointSelection,
} from "../selection/index.js";
import type { ChunkIO, ChunkRunOptions } from "./chunk-io.js";
import type { OperationOptions } from "./dataset.js";
import { product, toStridedSource, valueShapeOf, type WritableValue } from "./values.js";

/** What a pointwise read or write needs of its dataset (handed over by Dataset, whose chunk I/O is its own). */
export interface PointAccess {
  readonly io: ChunkIO;
  readonly shape: readonly number[];
  readonly dtype: DataType;
  readonly describe: string;
  allocateOutput(shape: readonly number[]): TypedArray;
  runOptions(options: OperationOptions, what: string): ChunkRunOptions;
}

/** The dataset methods behind `ds.vindex` (they are Dataset's, so what wraps a dataset's reads and writes wraps these too). */
interface PointMethods {
  getPoints(selection: PointSelection, options?: OperationOptions): Promise<NdArray<TypedArray>>;
  setPoints(selection: PointSelection, value: WritableValue, options?: OperationOptions): Promise<void>;
}

/**
 * `ds.vindex`: coordinate selection, as zarr's `z.vindex[...]` and numpy's indexing with one integer
 * array per axis. `get([rows, cols])` returns the points (rows[i], cols[i]) as an ndarray of the
 * coordinate arrays' broadcast shape; `set([rows, cols], values)` writes them (a scalar, or one value
 * per point broadcast like numpy). Slices may stand beside the arrays (`[rows, null, cols]`), placed
 * as numpy places them. A boolean mask of the whole shape, given alone, selects where it is true
 * (C order). Repeated points in a set: the last one wins, as in numpy.
 */
export class PointIndexer {
  constructor(private readonly dataset: PointMethods) {}

  get(selection: PointSelection, options?: OperationOptions): Promise<NdArray<TypedArray>> {
    return this.dataset.getPoints(selection, options);
  }

  set(selection: PointSelection, value: WritableValue, options?: OperationOptions): Promise<void> {
    return this.dataset.setPoints(selection, value, options);
  }
}

export async function readPoints(access: PointAccess, selection: PointSelection, options: OperationOptions = {}): Promise<NdArray<TypedArray>> {
  const points = normalisePoints(selection, access.shape, access.describe);
  const out = access.allocateOutput(points.outputShape);
  const io = access.io;
  const chunkElements = product(io.chunkShape);
  const plans = planPointChunks(points, access.shape, io.chunkShape);
  const outputIsFill = io.fill.isZero();
  await io.readChunks(
    plans,
    (plan, chunk) => {
      if (chunk === undefined && outputIsFill) return;
      copyChunkToPoints(chunk ?? io.fill.chunk(), chunkElements, out, plan);
    },
    { ...access.runOptions(options, "pointwise read"), visitCopies: true },
  );
  return ndarray(out as never, valueShapeOf(access.dtype, points.outputShape)) as NdArray<TypedArray>;
}

export async function writePoints(access: PointAccess, selection: PointSelection, value: WritableValue, options: OperationOptions = {}): Promise<void> {
  const points = normalisePoints(selection, access.shape, access.describe);
  const values = pointValues(value, points, access.dtype, `value written to ${access.describe} by vindex`);
  const io = access.io;
  const chunkElements = product(io.chunkShape);
  const plans = planPointChunks(points, access.shape, io.chunkShape);
  await io.writeChunks(plans, (plan, chunk) => copyPointsToChunk(values, chunk, chunkElements, plan), access.runOptions(options, "pointwise write"));
}

/** Grid indices of the chunks a pointwise selection touches (what a vindex get or set of it would fetch). */
export function chunksTouchedByPoints(access: Pick<PointAccess, "io" | "shape" | "describe">, selection: PointSelection): number[][] {
  const points = normalisePoints(selection, access.shape, access.describe);
  return planPointChunks(points, access.shape, access.io.chunkShape).map((p) => [...p.gridIndex]);
}

/** The written value as one flat buffer of the points (C order of the output shape), broadcast and converted like `set`'s. */
function pointValues(value: WritableValue, points: NormalisedPoints, dtype: DataType, what: string): TypedArray {
  const shape = points.outputShape;
  const source = toStridedSource(value, dtype, shape, what);
  const values = allocateTypedArray(dtype, points.count);
  if (points.count === 0) return values;
  // The selection kernel does the strided (broadcast) gather: the whole output as one chunk, all of it selected.
  const [whole] = planChunks(normaliseSelection(undefined, shape), shape, shape);
  copySelectionToChunk(source, values, shape, whole);
  return values;
}
