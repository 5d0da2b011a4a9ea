/**
 * Streaming between .npy files and datasets, slab by slab, so arrays larger than memory move
 * through: importNpy reads whole chunk rows of the file at a time (along axis 0 for C order,
 * along the last axis for Fortran order, which is what is contiguous in the file) and writes each
 * as a set of fully covered chunks; exportNpy reads the selection in slabs of whole chunk rows
 * along its first axis and appends them to the file in order.
 */
import ndarray, { type NdArray } from "ndarray";
import { AbortedError } from "../errors.js";
import type { Dataset } from "../core/dataset.js";
import type { Group } from "../core/group.js";
import type { CreateDatasetOptions } from "../core/create-options.js";
import { bytesPerElement, type DataType, elementLanes, type Scalar, type TypedArray } from "../format/index.js";
import { normaliseSelection, slice, type AxisSelection, type Selection, type SelectionItem } from "../selection/index.js";
import { elementLayout } from "./elements.js";
import { NpyReader, NpyWriter } from "./file-io.js";

/** Bytes moved so far and in all. */
export interface TransferProgress {
  done: number;
  total: number;
}

interface TransferOptions {
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  /**
   * Aim for slabs of about this many bytes (default 64 MiB), cut at chunk boundaries. A slab grows
   * past it only up to the next chunk boundary, and never past 4× it.
   */
  slabBytes?: number;
}

export interface ImportNpyOptions extends TransferOptions {
  chunks?: number | number[];
  compression?: CreateDatasetOptions["compression"];
  compressionLevel?: number;
  fillValue?: Scalar;
  attrs?: Record<string, unknown>;
  /** Replace whatever exists at `name` (only once the file has been validated). */
  overwrite?: boolean;
}

export interface ExportNpyOptions extends TransferOptions {
  /** Export only this selection (numpy syntax or items); the file gets the selection's result shape. */
  selection?: Selection;
  /** Replace an existing file (default true, as np.save does). */
  overwrite?: boolean;
}

const DEFAULT_SLAB_BYTES = 64 * 1024 * 1024;

/** Create dataset `name` under `group` from the .npy file at `path`. Nothing is created if the file is not a valid, supported .npy. */
export async function importNpy(path: string, group: Group, name: string, options: ImportNpyOptions = {}): Promise<Dataset> {
  const reader = await NpyReader.open(path);
  try {
    const dataset = await createImportTarget(reader, group, name, options);
    await copyFileToDataset(reader, dataset, options);
    return dataset;
  } finally {
    await reader.close();
  }
}

async function copyFileToDataset(reader: NpyReader, dataset: Dataset, options: TransferOptions): Promise<void> {
  const shape = reader.shape;
  const total = reader.header.dataBytes;
  if (shape.length === 0) {
    const data = await reader.readElements(0, 1);
    await dataset.set([], ndarray(data as never, elementLanes(reader.dtype) === 2 ? [2] : []), { signal: options.signal });
    options.onProgress?.({ done: total, total });
    return;
  }
  const slabs = npySlabs(reader, dataset, options.slabBytes);
  let done = 0;
  let next = slabs.length ? readNpySlab(reader, slabs[0]) : undefined;
  for (let i = 0; i < slabs.length; i++) {
    throwIfAborted(options.signal, `import into ${dataset.describe}`);
    const data = await next!;
    next = i + 1 < slabs.length ? readNpySlab(reader, slabs[i + 1]) : undefined;
    next?.catch(() => undefined); // surfaced when awaited
    await writeNpySlab(reader, dataset, slabs[i], data, options.signal);
    done += slabBytesOf(reader, slabs[i]);
    options.onProgress?.({ done, total });
  }
}

/**
 * The slabs an import moves, as [start, end) rows along the file's contiguous axis (axis 0 for C
 * order, the last for Fortran order), cut at the dataset's chunk boundaries. Each can be written
 * on its own (compute/ hands them to queue workers).
 */
export function npySlabs(reader: NpyReader, dataset: Dataset, slabBytes?: number): Array<[number, number]> {
  const shape = reader.shape;
  const axis = slabAxis(reader);
  return slabRanges(shape[axis], (r) => Math.floor(r / dataset.chunks[axis]), rowElementsOf(reader) * bytesPerElement(reader.dtype), slabBytes);
}

export function slabBytesOf(reader: NpyReader, [start, end]: [number, number]): number {
  return (end - start) * rowElementsOf(reader) * bytesPerElement(reader.dtype);
}

export function readNpySlab(reader: NpyReader, [start, end]: [number, number]): Promise<TypedArray> {
  const rowElements = rowElementsOf(reader);
  return reader.readElements(start * rowElements, (end - start) * rowElements);
}

/** Write one slab (read with readNpySlab, or read here) into `dataset`, whose shape is the file's. */
export async function writeNpySlab(reader: NpyReader, dataset: Dataset, [start, end]: [number, number], data?: TypedArray, signal?: AbortSignal): Promise<void> {
  const shape = reader.shape;
  const axis = slabAxis(reader);
  const fortran = axis > 0;
  const values = data ?? (await readNpySlab(reader, [start, end]));
  const slabShape = shape.map((size, a) => (a === axis ? end - start : size));
  const layout = elementLayout(slabShape, fortran, elementLanes(reader.dtype));
  const value = ndarray(values as never, layout.shape, layout.stride, 0);
  const region: SelectionItem[] = fortran ? ["...", slice(start, end)] : [slice(start, end)];
  await dataset.set(region, value as NdArray<TypedArray>, { signal });
}

/** Fortran order is contiguous along the last axis: slab along it so each read is one range. */
function slabAxis(reader: NpyReader): number {
  return reader.fortranOrder && reader.shape.length > 1 ? reader.shape.length - 1 : 0;
}

function rowElementsOf(reader: NpyReader): number {
  const shape = reader.shape;
  return shape.reduce((a, b) => a * b, 1) / Math.max(shape[slabAxis(reader)], 1);
}

/** The dataset an import of `reader`'s file creates (replacing what is at `name` with `overwrite`). */
export async function createImportTarget(reader: NpyReader, group: Group, name: string, options: ImportNpyOptions): Promise<Dataset> {
  if (options.overwrite && (await group.has(name))) await group.delete(name);
  return group.createDataset(name, {
    shape: reader.shape,
    dtype: reader.dtype,
    chunks: options.chunks,
    compression: options.compression,
    compressionLevel: options.compressionLevel,
    fillValue: options.fillValue,
    attrs: options.attrs,
  });
}

/** Write `dataset` (or a selection of it) to a C-order .npy file at `path`. */
export async function exportNpy(
  dataset: Dataset,
  path: string,
  options: ExportNpyOptions = {},
): Promise<{ shape: number[]; dtype: DataType; bytes: number }> {
  const sel = normaliseSelection(options.selection, dataset.shape, dataset.describe);
  const shape = sel.outputShape;
  const dtype = dataset.dtype;
  const itemSize = bytesPerElement(dtype);
  const total = shape.reduce((a, b) => a * b, 1) * itemSize;
  const writer = await NpyWriter.create(path, { dtype, shape, overwrite: options.overwrite ?? true });
  try {
    if (shape.length === 0) {
      await writer.append((await dataset.get(options.selection, { signal: options.signal })).data);
      options.onProgress?.({ done: total, total });
    } else {
      const axis = sel.axes.findIndex((a) => a.kind !== "int");
      const along = sel.axes[axis];
      const chunk = dataset.chunks[axis];
      const rowBytes = (total / Math.max(shape[0], 1)) || 0;
      const slabs = slabRanges(shape[0], (r) => Math.floor(arrayIndex(along, r) / chunk), rowBytes, options.slabBytes);
      const read = ([start, end]: [number, number]) =>
        dataset.get(sel.axes.map((a, i) => (i === axis ? subRange(a, start, end) : asItem(a))), { signal: options.signal });
      let done = 0;
      let next = slabs.length ? read(slabs[0]) : undefined;
      for (let i = 0; i < slabs.length; i++) {
        throwIfAborted(options.signal, `export of ${dataset.describe}`);
        const slab = await next!;
        next = i + 1 < slabs.length ? read(slabs[i + 1]) : undefined;
        next?.catch(() => undefined);
        await writer.append(slab.data);
        done += (slabs[i][1] - slabs[i][0]) * rowBytes;
        options.onProgress?.({ done, total });
      }
    }
    await writer.close();
  } finally {
    await writer.abort();
  }
  return { shape, dtype, bytes: total };
}

/**
 * Split rows 0..n into [start, end) slabs: each ends at a chunk boundary (where `chunkOf` changes)
 * once it holds at least `target` bytes, or wherever it reaches 4× `target`.
 */
export function slabRanges(n: number, chunkOf: (row: number) => number, rowBytes: number, target = DEFAULT_SLAB_BYTES): Array<[number, number]> {
  const slabs: Array<[number, number]> = [];
  let start = 0;
  while (start < n) {
    let end = start + 1;
    let bytes = rowBytes;
    while (end < n && bytes < 4 * target && !(bytes >= target && chunkOf(end) !== chunkOf(end - 1))) {
      end++;
      bytes += rowBytes;
    }
    slabs.push([start, end]);
    start = end;
  }
  return slabs;
}

function arrayIndex(axis: AxisSelection, row: number): number {
  if (axis.kind === "slice") return axis.start + axis.step * row;
  if (axis.kind === "points") return axis.indices[row];
  return axis.index;
}

/** Rows start..end of one normalised axis, as a selection item. */
function subRange(axis: AxisSelection, start: number, end: number): SelectionItem {
  if (axis.kind === "points") return Array.from(axis.indices.subarray(start, end));
  if (axis.kind === "int") return axis.index;
  return sliceItem(axis.start + axis.step * start, end - start, axis.step);
}

function asItem(axis: AxisSelection): SelectionItem {
  if (axis.kind === "int") return axis.index;
  if (axis.kind === "points") return Array.from(axis.indices);
  return sliceItem(axis.start, axis.count, axis.step);
}

function sliceItem(first: number, count: number, step: number): SelectionItem {
  if (count === 0) return slice(0, 0);
  const stop = first + step * count;
  return slice(first, stop < 0 ? null : stop, step);
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
}
