/**
 * importHdf5: an HDF5 file (or one group or dataset of it) into a dosna group: every group,
 * dataset and attribute dosna can store, datasets slab by slab. What dosna cannot store is
 * skipped and reported, one item per dataset or attribute; the rest is imported.
 */
import { stat } from "node:fs/promises";
import ndarray from "ndarray";
import type { Dataset as H5Dataset } from "h5wasm/node";
import { AlreadyExistsError, NotFoundError, ValidationError } from "../errors.js";
import { throwIfAborted } from "../core/concurrency.js";
import { product } from "../core/values.js";
import type { Group } from "../core/group.js";
import type { Dataset } from "../core/dataset.js";
import type { CreateDatasetOptions } from "../core/create-options.js";
import { bytesPerElement } from "../format/index.js";
import { slice } from "../selection/index.js";
import { readScalarValue, readSlabValues, type SlabValues } from "./elements.js";
import { FillValueReader } from "./fill-value.js";
import { summariseHdf5Error, useH5wasm, type H5Module } from "./h5wasm-loader.js";
import { planImport, type Planned, type PlannedDataset, type SkippedItem } from "./plan.js";
import { regionSize, slabRegions, slabShapeOf, STRING_ELEMENT_BYTES, type Region } from "./slabs.js";

export interface Hdf5Progress {
  /** Bytes of dataset elements moved so far, and in all. */
  done: number;
  total: number;
  /** The HDF5 dataset being copied. */
  path: string;
}

export interface ImportHdf5Options {
  /** The HDF5 group or dataset to import (default "/", the whole file); a dataset lands under its own name. */
  source?: string;
  /**
   * "auto" (default): gzip, at the file's level and with its byte shuffle, where the HDF5 dataset
   * is deflate-compressed, none elsewhere. Any other value applies to every dataset.
   */
  compression?: "auto" | NonNullable<CreateDatasetOptions["compression"]>;
  /** With an explicit compression: its level. */
  compressionLevel?: number;
  /** Replace nodes of the target that the import would create (else an AlreadyExistsError before anything is written). */
  overwrite?: boolean;
  /** Aim for slabs of about this many bytes (default 64 MiB), whole chunks each. */
  slabBytes?: number;
  signal?: AbortSignal;
  onProgress?: (progress: Hdf5Progress) => void;
}

export type { SkippedItem };

export interface ImportedItem {
  kind: "group" | "dataset";
  /** The HDF5 path. */
  path: string;
  /** Where it is in the pool. */
  target: string;
}

export interface Hdf5ImportSummary {
  imported: ImportedItem[];
  skipped: SkippedItem[];
}

const DEFLATE = 1;
const DIMENSION_LABELS = "DIMENSION_LABELS";
const SHUFFLE = 2;

/** Import the HDF5 file at `file` into `target` (a pool or group). */
export async function importHdf5(file: string, target: Group, options: ImportHdf5Options = {}): Promise<Hdf5ImportSummary> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new NotFoundError(`HDF5 file "${file}" does not exist`);
  const fills = await FillValueReader.open(file);
  let h5file: InstanceType<H5Module["File"]>;
  let h5: H5Module;
  let release = () => {};
  try {
    if (!fills.isHdf5) throw new ValidationError(`"${file}" is not a readable HDF5 file (no HDF5 signature at its start)`);
    ({ h5, release } = await useH5wasm());
    h5file = openHdf5(h5, file);
  } catch (error) {
    release();
    await fills.close();
    throw error;
  }
  try {
    const skipped: SkippedItem[] = [];
    const planned = await planImport(h5, h5file, options.source ?? "/", fills, skipped);
    checkCompression(planned, options);
    await checkDestination(target, planned, options.overwrite ?? false);
    const imported: ImportedItem[] = [];
    const datasets = planned.filter((p): p is PlannedDataset => p.kind === "dataset");
    const total = datasets.reduce((n, d) => n + bytesOf(d), 0);
    let done = 0;
    for (const item of planned) {
      throwIfAborted(options.signal, `import of "${file}"`);
      const dosnaPath = targetPath(target, item.relative);
      if (item.kind === "group") {
        if (item.relative === "") await target.attrs.update(item.attributes);
        else await target.createGroup(item.relative, { attrs: item.attributes });
        imported.push({ kind: "group", path: item.path, target: dosnaPath });
        continue;
      }
      const dataset = await createTarget(target, item, options);
      await copyDataset(h5, item, dataset, options, (bytes) => {
        done += bytes;
        options.onProgress?.({ done, total, path: item.path });
      });
      imported.push({ kind: "dataset", path: item.path, target: dosnaPath });
    }
    return { imported, skipped };
  } finally {
    h5file.close();
    release();
    await fills.close();
  }
}

function openHdf5(h5: H5Module, file: string): InstanceType<H5Module["File"]> {
  let opened: InstanceType<H5Module["File"]> | undefined;
  try {
    opened = new h5.File(file, "r");
  } catch (error) {
    throw new ValidationError(`"${file}" is not a readable HDF5 file (${summariseHdf5Error(error)})`, { cause: error });
  }
  if (opened.file_id < 0n) throw new ValidationError(`"${file}" is not a readable HDF5 file`);
  return opened;
}

/** blosc needs fixed-size elements: refused for string datasets before anything is written. */
function checkCompression(planned: Planned[], options: ImportHdf5Options): void {
  if (options.compression !== "blosc") return;
  const strings = planned.find((p) => p.kind === "dataset" && p.dtype === "string");
  if (strings) throw new ValidationError(`compression "blosc" of the HDF5 import cannot hold the strings of ${strings.path} (blosc needs fixed-size elements); use gzip or zstd`);
}

/** Nothing is written when a node the import creates exists already, unless `overwrite` (then those nodes are deleted first). */
async function checkDestination(target: Group, planned: Planned[], overwrite: boolean): Promise<void> {
  for (const item of planned) {
    if (item.relative === "" || !(await target.has(item.relative))) continue;
    if (!overwrite) {
      throw new AlreadyExistsError(`${targetPath(target, item.relative)} already exists in the pool (the import of ${item.path} would replace it); pass overwrite to replace it`);
    }
  }
  if (!overwrite) return;
  // Delete top-down, skipping what a deleted ancestor took with it.
  for (const item of planned) if (item.relative !== "" && (await target.has(item.relative))) await target.delete(item.relative);
}

async function createTarget(target: Group, item: PlannedDataset, options: ImportHdf5Options): Promise<Dataset> {
  const filters = item.node.filters;
  const deflate = filters.find((f) => f.id === DEFLATE);
  const chosen = options.compression ?? "auto";
  const compression: CreateDatasetOptions = chosen === "auto"
    ? deflate
      ? // dosna's strings have no fixed-size elements to shuffle
        { compression: "gzip", compressionLevel: Math.min(9, Math.max(0, deflate.cd_values[0] ?? 4)), shuffle: item.dtype !== "string" && filters.some((f) => f.id === SHUFFLE) }
      : {}
    : { compression: chosen, ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}) };
  const dims = dimensionLabels(item.node, item.metadata.shape.length);
  // h5py keeps dimension labels in this attribute; in dosna they are the dataset's dims
  const { [DIMENSION_LABELS]: _labels, ...attributes } = item.attributes;
  return target.createDataset(item.relative, {
    shape: item.metadata.shape,
    dtype: item.dtype,
    ...(item.metadata.chunks && item.metadata.shape.length > 0 ? { chunks: item.metadata.chunks } : {}),
    ...(item.fillValue !== undefined ? { fillValue: item.fillValue } : {}),
    ...compression,
    attrs: dims ? attributes : item.attributes,
    ...(dims ? { dims } : {}),
  });
}

function dimensionLabels(node: H5Dataset, ndim: number): (string | null)[] | undefined {
  if (ndim === 0) return undefined;
  try {
    const labels = node.get_dimension_labels();
    return labels.length === ndim && labels.some((l) => l !== null && l !== "") ? labels.map((l) => (l === "" ? null : l)) : undefined;
  } catch {
    return undefined;
  }
}

/** Copy the elements slab by slab: the next slab is read from the file while the last one is written. */
async function copyDataset(h5: H5Module, item: PlannedDataset, dataset: Dataset, options: ImportHdf5Options, onBytes: (bytes: number) => void): Promise<void> {
  const shape = item.metadata.shape;
  const itemBytes = bytesPerElement(item.dtype);
  if (shape.length === 0) {
    await dataset.set([], readScalarValue(h5, item.node, item.form), { signal: options.signal });
    onBytes(itemBytes);
    return;
  }
  const planningBytes = item.form.kind === "string" ? Math.max(STRING_ELEMENT_BYTES, item.metadata.size) : itemBytes;
  const slab = slabShapeOf(shape, dataset.chunks, planningBytes, options.slabBytes);
  let pending: Promise<void> | undefined;
  for (const region of slabRegions(shape, slab)) {
    throwIfAborted(options.signal, `import of ${item.path}`);
    const values = readSlabValues(h5, item.node, item.form, region);
    await pending;
    pending = writeSlab(dataset, region, values, options.signal).then(() => onBytes(regionSize(region) * itemBytes));
    pending.catch(() => undefined); // surfaced when awaited
  }
  await pending;
}

async function writeSlab(dataset: Dataset, region: Region, values: SlabValues, signal: AbortSignal | undefined): Promise<void> {
  await dataset.set(region.map(([start, stop]) => slice(start, stop)), ndarray(values.data, values.shape), { signal });
}

function bytesOf(item: PlannedDataset): number {
  return product(item.metadata.shape) * bytesPerElement(item.dtype);
}

function targetPath(target: Group, relative: string): string {
  const base = target.path;
  return [base, relative].filter((p) => p !== "").join("/") || "/";
}
