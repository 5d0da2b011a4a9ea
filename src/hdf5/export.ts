/**
 * exportHdf5: a dataset, or a group with everything below it, into a new HDF5 file: groups,
 * datasets (shape, dtype, chunk shape, gzip when the dosna dataset is compressed) and attributes,
 * datasets slab by slab. The file is written under a temporary name and renamed into place, so
 * a failed export leaves no half-written file.
 *
 * HDF5 gets no fill value (h5wasm 0.10 cannot set one): a dataset whose fill value is not zero
 * has every element written, so its values read back the same; with fill value zero, slabs
 * without any stored chunk are not written (HDF5 reads them as zero too).
 */
import { randomBytes } from "node:crypto";
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Dataset as H5Dataset, Group as H5Group } from "h5wasm/node";
import { AlreadyExistsError, DosnaError, DtypeError, ValidationError } from "../errors.js";
import { throwIfAborted } from "../core/concurrency.js";
import { Dataset } from "../core/dataset.js";
import type { Group } from "../core/group.js";
import { product } from "../core/values.js";
import { allocateTypedArray, bytesPerElement, isZeroFillValue, type CodecSpec, type TypedArray } from "../format/index.js";
import { slice } from "../selection/index.js";
import { jsonToAttribute } from "./attributes.js";
import { exportFormOf, isFloat16Type, type ExportForm } from "./dtypes.js";
import { complexBytes, float16Bytes } from "./elements.js";
import { addressOfReference } from "./fill-value.js";
import { FLOAT16_PLACEHOLDER, FLOAT16_PLACEHOLDER_MEMBER, retypeFloat16Datasets } from "./float16-datatype.js";
import { summariseHdf5Error, useH5wasm, type H5Module } from "./h5wasm-loader.js";
import { checkNoNul, writeRawSlab, writeStringSlab } from "./raw-io.js";
import { regionSize, slabRegions, slabShapeOf, STRING_ELEMENT_BYTES, type Region } from "./slabs.js";
import type { Hdf5Progress } from "./import.js";

export interface ExportHdf5Options {
  /**
   * "auto" (default): gzip where the dosna dataset is compressed (at its gzip level, else
   * `compressionLevel` or 4); "gzip": every dataset; "none": no compression.
   */
  compression?: "auto" | "gzip" | "none";
  /** gzip level 0-9 for datasets that have none of their own. */
  compressionLevel?: number;
  /** Replace an existing file (default false). */
  overwrite?: boolean;
  /** Aim for slabs of about this many bytes (default 64 MiB), whole chunks each. */
  slabBytes?: number;
  signal?: AbortSignal;
  onProgress?: (progress: Hdf5Progress) => void;
}

export interface Hdf5ExportSummary {
  /** HDF5 paths of the groups and datasets written. */
  groups: string[];
  datasets: string[];
  bytes: number;
}

/** Attribute members that describe dosna's own bookkeeping (derivations, queue marks), not the data. */
const DOSNA_MEMBER = "dosna";
const DEFAULT_GZIP_LEVEL = 4;
const DIMENSION_LABELS = "DIMENSION_LABELS";
const COMPRESSORS_WITHOUT_GZIP = new Set(["zstd", "blosc", "numcodecs.zlib", "numcodecs.lz4", "numcodecs.bz2", "numcodecs.lzma", "numcodecs.zstd", "numcodecs.blosc", "numcodecs.gzip"]);

/** Write the dataset or group at `path` of `source` ("" for `source` itself) to a new HDF5 file `outFile`. */
export async function exportHdf5(source: Group, path: string, outFile: string, options: ExportHdf5Options = {}): Promise<Hdf5ExportSummary> {
  const level = options.compressionLevel;
  if (level !== undefined && (!Number.isInteger(level) || level < 0 || level > 9)) {
    throw new ValidationError(`compressionLevel of the HDF5 export must be an integer from 0 to 9, got ${level}`);
  }
  if (options.compression !== undefined && !["auto", "gzip", "none"].includes(options.compression)) {
    throw new ValidationError(`compression of the HDF5 export must be "auto", "gzip" or "none", got ${JSON.stringify(options.compression)}`);
  }
  const node = path === "" ? source : await source.get(path);
  if (!options.overwrite && (await stat(outFile).catch(() => undefined))) {
    throw new AlreadyExistsError(`"${outFile}" already exists; pass overwrite to replace it`);
  }
  const members = node instanceof Dataset ? [node] : await collect(node);
  for (const member of members) {
    if (member instanceof Dataset && exportFormOf(member.dtype) === undefined) {
      throw new DtypeError(`${member.describe} has dtype ${member.dtype}, which the HDF5 export cannot write yet`);
    }
  }
  const { h5, release } = await useH5wasm();
  const temporary = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString("hex")}.partial`);
  let file: InstanceType<H5Module["File"]>;
  try {
    file = new h5.File(temporary, "w");
  } catch (error) {
    release();
    throw new ValidationError(`cannot create HDF5 file "${outFile}" (${summariseHdf5Error(error)})`, { cause: error });
  }
  const summary: Hdf5ExportSummary = { groups: [], datasets: [], bytes: 0 };
  const float16: Float16Datasets = [];
  let closed = false;
  try {
    const total = members.reduce((n, m) => n + (m instanceof Dataset ? m.nbytes : 0), 0);
    const onBytes = (bytes: number, at: string) => {
      summary.bytes += bytes;
      options.onProgress?.({ done: summary.bytes, total, path: at });
    };
    if (node instanceof Dataset) {
      await writeDataset(h5, file, node.name, node, options, onBytes, float16);
      summary.datasets.push(`/${node.name}`);
    } else {
      writeAttributes(file, node.attrs.toJSON());
      summary.groups.push("/");
      for (const member of members) {
        throwIfAborted(options.signal, `HDF5 export of ${node.describe}`);
        const relative = relativePath(node.path, member.path);
        const parent = parentGroup(h5, file, relative);
        const name = relative.slice(relative.lastIndexOf("/") + 1);
        if (member instanceof Dataset) {
          await writeDataset(h5, parent, name, member, options, onBytes, float16);
          summary.datasets.push(`/${relative}`);
        } else {
          writeAttributes(parent.create_group(name), member.attrs.toJSON());
          summary.groups.push(`/${relative}`);
        }
      }
    }
    file.close();
    closed = true;
    await retypeFloat16Datasets(temporary, float16);
    checkFloat16Datasets(h5, temporary, float16);
    await rename(temporary, outFile);
    return summary;
  } catch (error) {
    if (!closed) {
      try {
        file.close();
      } catch {
        // the error that got us here is the one to report
      }
    }
    await rm(temporary, { force: true });
    throw error;
  } finally {
    release();
  }
}

async function collect(group: Group): Promise<Array<Group | Dataset>> {
  const out: Array<Group | Dataset> = [];
  for await (const member of group.visit()) out.push(member);
  return out;
}

/** The float16 datasets written, by path and object header address, to be retyped once the file is closed. */
type Float16Datasets = Array<{ path: string; address: bigint }>;

async function writeDataset(
  h5: H5Module,
  parent: H5Group,
  name: string,
  dataset: Dataset,
  options: ExportHdf5Options,
  onBytes: (bytes: number, at: string) => void,
  float16: Float16Datasets,
): Promise<void> {
  const form = exportFormOf(dataset.dtype)!;
  const shape = dataset.shape;
  const at = `${parent.path === "/" ? "" : parent.path}/${name}`;
  const elementBytes = bytesPerElement(dataset.dtype);
  if (shape.length === 0) {
    const value = (await dataset.read({ signal: options.signal })).data;
    if (form.kind === "string") checkNoNul(value as unknown as ArrayLike<string>, [], `HDF5 export of ${dataset.describe}`);
    const created = parent.create_dataset({ name, ...initialData(form, value, 1), shape });
    noteFloat16(form, created, float16);
    finishDataset(created, dataset);
    onBytes(elementBytes, at);
    return;
  }
  // HDF5 wants chunks no larger than a fixed dimension; an empty axis is made extendable instead
  const chunks = dataset.chunks.map((c, a) => Math.max(1, shape[a] === 0 ? c : Math.min(c, shape[a])));
  // h5wasm refuses filters on variable-length data
  const gzip = form.kind === "string" ? undefined : gzipLevelOf(dataset.metadata.codecs, options);
  // Created empty along axis 0 and then extended, so that no whole-array buffer is needed.
  const created = parent.create_dataset({
    name,
    ...initialData(form, allocateTypedArray(dataset.dtype, 0), 0),
    shape: [0, ...shape.slice(1)],
    maxshape: shape.map((n) => (n === 0 ? null : n)),
    chunks,
    ...(gzip !== undefined ? { compression: "gzip" as const, compression_opts: gzip } : {}),
  });
  created.resize(shape);
  noteFloat16(form, created, float16);
  const stored = await storedChunksWhenSkippable(dataset, options.signal);
  const slab = slabShapeOf(shape, dataset.chunks, form.kind === "string" ? STRING_ELEMENT_BYTES : elementBytes, options.slabBytes);
  const regions = [...slabRegions(shape, slab)];
  let next = regions.length > 0 ? readSlab(dataset, regions[0], stored, options.signal) : undefined;
  for (let i = 0; i < regions.length; i++) {
    throwIfAborted(options.signal, `HDF5 export of ${dataset.describe}`);
    const values = await next!;
    next = i + 1 < regions.length ? readSlab(dataset, regions[i + 1], stored, options.signal) : undefined;
    next?.catch(() => undefined); // surfaced when awaited
    if (values !== undefined) writeSlab(h5, created, form, regions[i], values, dataset);
    onBytes(regionSize(regions[i]) * elementBytes, at);
  }
  finishDataset(created, dataset);
}

/** h5wasm's create_dataset arguments for the type and the first `count` (0 or 1) values. */
function initialData(form: ExportForm, values: TypedArray, count: number): { data: never; dtype: never } {
  const h5args = (data: unknown, dtype: unknown) => ({ data: data as never, dtype: dtype as never });
  switch (form.kind) {
    case "float16": {
      const bytes = float16Bytes(values as ArrayLike<number>);
      return h5args(new Map([[FLOAT16_PLACEHOLDER_MEMBER, new Uint16Array(bytes.buffer, bytes.byteOffset, count)]]), FLOAT16_PLACEHOLDER);
    }
    case "complex": {
      const parts = values as Float32Array | Float64Array;
      const lane = (which: 0 | 1) => {
        const out = form.partBytes === 4 ? new Float32Array(count) : new Float64Array(count);
        for (let k = 0; k < count; k++) out[k] = parts[2 * k + which];
        return out;
      };
      return h5args(new Map([["r", lane(0)], ["i", lane(1)]]), form.h5dtype);
    }
    case "string":
      return h5args(Array.from(values as unknown as ArrayLike<string>).slice(0, count), "S");
    default:
      return h5args(count === 0 ? values : values.slice(0, 1), form.h5dtype);
  }
}

function writeSlab(h5: H5Module, created: H5Dataset, form: ExportForm, region: Region, values: TypedArray, dataset: Dataset): void {
  switch (form.kind) {
    case "float16":
      return writeRawSlab(h5, created, region, float16Bytes(values as ArrayLike<number>));
    case "complex":
      return writeRawSlab(h5, created, region, complexBytes(values as Float32Array | Float64Array));
    case "string":
      return writeStringSlab(h5, created, region, values as unknown as ArrayLike<string>, `HDF5 export of ${dataset.describe}`);
    default:
      return created.write_slice(region, values);
  }
}

function noteFloat16(form: ExportForm, created: H5Dataset, float16: Float16Datasets): void {
  if (form.kind === "float16") float16.push({ path: created.path, address: addressOfReference(created.create_reference().ref_data) });
}

/** After the retyping, HDF5 itself reads each float16 dataset's type as a 2-byte float (and its header checksums as valid). */
function checkFloat16Datasets(h5: H5Module, file: string, float16: Float16Datasets): void {
  if (float16.length === 0) return;
  const reopened = new h5.File(file, "r");
  try {
    for (const { path } of float16) {
      const node = reopened.get(path);
      if (!(node instanceof h5.Dataset) || !isFloat16Type(node.metadata)) throw new DosnaError(`HDF5 export: ${path} does not read back as float16 after its type was rewritten`);
    }
  } finally {
    reopened.close();
  }
}

function finishDataset(created: H5Dataset, dataset: Dataset): void {
  const { [DIMENSION_LABELS]: labels, ...attributes } = dataset.attrs.toJSON();
  // HDF5 keeps dimension labels in that attribute: dims write it, else the attribute is copied
  writeAttributes(created, dataset.dims?.some((l) => l !== null && l !== "") || labels === undefined ? attributes : { ...attributes, [DIMENSION_LABELS]: labels });
  dataset.dims?.forEach((label, axis) => {
    if (label !== null && label !== "") created.set_dimension_label(axis, label);
  });
}

/**
 * The grid indices (as keys) of the stored chunks, when slabs without any may be left unwritten:
 * the fill value is zero (or ""), which is what HDF5 reads where nothing was written.
 */
async function storedChunksWhenSkippable(dataset: Dataset, signal: AbortSignal | undefined): Promise<Set<string> | undefined> {
  const fill = dataset.fillValue;
  // HDF5 reads zeros (an empty string for variable-length strings) where nothing was written
  if (!isZeroFillValue(fill) || Object.is(fill, -0)) return undefined;
  return new Set((await dataset.storedChunkIndices(signal)).map((index) => index.join(",")));
}

/** A slab's values, or undefined when no chunk it covers is stored (and that may be skipped). */
async function readSlab(dataset: Dataset, region: Region, stored: Set<string> | undefined, signal: AbortSignal | undefined): Promise<TypedArray | undefined> {
  const selection = region.map(([start, stop]) => slice(start, stop));
  if (stored !== undefined && !dataset.chunksTouchedBy(selection).some((index) => stored.has(index.join(",")))) return undefined;
  return (await dataset.get(selection, { signal })).data;
}

function gzipLevelOf(codecs: CodecSpec[], options: ExportHdf5Options): number | undefined {
  const chosen = options.compression ?? "auto";
  if (chosen === "none") return undefined;
  const all = flattenCodecs(codecs);
  const gzip = all.find((c) => c.name === "gzip");
  const own = typeof gzip?.configuration?.level === "number" ? Math.min(9, Math.max(0, gzip.configuration.level)) : undefined;
  if (chosen === "gzip") return own ?? options.compressionLevel ?? DEFAULT_GZIP_LEVEL;
  const compressed = gzip !== undefined || all.some((c) => COMPRESSORS_WITHOUT_GZIP.has(c.name));
  return compressed ? (own ?? options.compressionLevel ?? DEFAULT_GZIP_LEVEL) : undefined;
}

/** The codecs of a sharded array's inner chunks count too. */
function flattenCodecs(codecs: CodecSpec[]): CodecSpec[] {
  return codecs.flatMap((c) => {
    const inner = c.configuration?.codecs;
    return Array.isArray(inner) ? [c, ...flattenCodecs(inner as CodecSpec[])] : [c];
  });
}

function writeAttributes(target: H5Group | H5Dataset, attributes: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (name === DOSNA_MEMBER) continue;
    const { data, shape, dtype } = jsonToAttribute(value);
    target.create_attribute(name, data, shape, dtype);
  }
}

function parentGroup(h5: H5Module, file: H5Group, relative: string): H5Group {
  const cut = relative.lastIndexOf("/");
  if (cut < 0) return file;
  const parent = file.get(relative.slice(0, cut));
  if (!(parent instanceof h5.Group)) throw new ValidationError(`HDF5 export: the group of /${relative} was not written before it`);
  return parent;
}

function relativePath(base: string, path: string): string {
  return base === "" ? path : path.slice(base.length + 1);
}
