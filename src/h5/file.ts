/**
 * The HDF5-style face: h5wasm's (and h5py's) names over dosna's core objects. A script written
 * for h5wasm runs unchanged when every call is awaited. Only renaming and argument reshaping
 * belongs here; anything with logic lives in core/.
 */
import { AlreadyExistsError, NotFoundError, ValidationError } from "../errors.js";
import { convertArray, type DataType, type Scalar, type TypedArray } from "../format/index.js";
import type { CreateDatasetOptions } from "../core/create-options.js";
import { Dataset } from "../core/dataset.js";
import { Group } from "../core/group.js";
import { Pool } from "../core/pool.js";
import { Repository } from "../versioning/repository.js";
import { type FileMode, validateFileMode } from "../core/pool-modes.js";
import { type PoolTarget, type PoolTargetOptions, resolvePoolTarget } from "../core/pool-target.js";
import { h5DtypeOf, parseH5Dtype } from "./dtypes.js";
import { toSelection, type H5Slice } from "./ranges.js";

export type { FileMode };

/** h5wasm resolves this before use; dosna needs no initialisation. */
export const ready: Promise<void> = Promise.resolve();

export interface H5Attribute {
  name: string;
  value: unknown;
  /** Attributes are stored as JSON, so this equals `value` (h5wasm's plain-JSON spelling). */
  json_value: unknown;
}

/** What h5wasm returns for data: a flat C-order typed array, or one element for a 0-d dataset. */
export type H5Data = TypedArray | number | bigint;

export interface CreateDatasetArgs {
  name: string;
  data?: TypedArray | number[] | number;
  shape?: number[] | null;
  dtype?: string | null;
  chunks?: number[] | null;
  maxshape?: (number | null)[] | null;
  fillvalue?: Scalar;
  /** "gzip", "zstd" or "blosc"; a number is a gzip level, or the HDF5 filter id 1 (deflate) or 32015 (zstd). */
  compression?: number | "gzip" | "zstd" | "blosc" | null;
  /** The level: a number or a one-element list (h5py's tuple). */
  compression_opts?: number | number[];
  /** Byte-shuffle before compressing, as h5py's shuffle filter. */
  shuffle?: boolean;
  /** A per-chunk checksum, as h5py's fletcher32 filter (stored as Zarr's crc32c). */
  fletcher32?: boolean;
}

abstract class H5Node<T extends Group | Dataset> {
  protected abstract node(): Promise<T>;

  get attrs(): Promise<Record<string, H5Attribute>> {
    return this.node().then((node) =>
      // sorted by name, as HDF5 lists them
      Object.fromEntries(node.attrs.keys().sort().map((name) => [name, { name, value: node.attrs.get(name), json_value: node.attrs.get(name) }])),
    );
  }

  async get_attribute(name: string): Promise<unknown> {
    return (await this.node()).attrs.get(name);
  }

  async create_attribute(name: string, value: unknown): Promise<void> {
    await (await this.node()).attrs.set(name, value);
  }

  async delete_attribute(name: string): Promise<void> {
    await (await this.node()).attrs.delete(name);
  }
}

export class H5Group extends H5Node<Group> {
  constructor(protected readonly group: Promise<Group>) {
    super();
    group.catch(() => undefined);
  }

  protected node(): Promise<Group> {
    return this.group;
  }

  get path(): Promise<string> {
    return this.group.then((g) => `/${g.path}`);
  }

  async keys(): Promise<string[]> {
    return (await this.group).keys();
  }

  /** The dataset or group at `path`, or null when nothing is there (as h5wasm). */
  async get(path: string): Promise<H5Dataset | H5Group | null> {
    const group = await this.group;
    const relative = path.replace(/^\/+/, "");
    if (relative === "") return this;
    try {
      const node = await group.get(relative);
      return node instanceof Dataset ? new H5Dataset(node) : new H5Group(Promise.resolve(node));
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  async create_group(name: string): Promise<H5Group> {
    const group = await this.group;
    // awaited here so that a failure (exists, read-only) rejects this call, as h5wasm's throws
    return new H5Group(Promise.resolve(await group.createGroup(name)));
  }

  async require_group(name: string): Promise<H5Group> {
    return new H5Group(Promise.resolve(await (await this.group).requireGroup(name)));
  }

  async create_dataset(args: CreateDatasetArgs): Promise<H5Dataset> {
    const group = await this.group;
    const plain = typeof args.data === "number" || isFlatList(args.data) ? [args.data].flat() : undefined;
    const dtype = args.dtype ? parseH5Dtype(args.dtype) : plain ? guessPlainArrayDtype(plain) : undefined;
    // h5wasm reads a plain number as a 0-d dataset and a flat list as the C-order values of `shape`
    const data = plain ? convertArray(plain, dtype as DataType, `data of dataset "${args.name}"`) : (args.data as TypedArray | undefined);
    const dataset = await group.createDataset(args.name, {
      data,
      shape: args.shape ?? (typeof args.data === "number" ? [] : undefined),
      dtype,
      chunks: args.chunks ?? undefined,
      fillValue: args.fillvalue,
      ...compressionOptions(args),
    });
    return new H5Dataset(dataset);
  }

  /** Open `name` if it exists with the same shape and dtype, create it otherwise (h5py's require_dataset). */
  async require_dataset(args: CreateDatasetArgs): Promise<H5Dataset> {
    const group = await this.group;
    if (!(await group.has(args.name))) return this.create_dataset(args);
    const dataset = await group.getDataset(args.name);
    if (args.shape && args.shape.join() !== dataset.shape.join()) {
      throw new AlreadyExistsError(`${dataset.describe} exists with shape [${dataset.shape}], not [${args.shape}]`);
    }
    if (args.dtype && parseH5Dtype(args.dtype) !== dataset.dtype) {
      throw new AlreadyExistsError(`${dataset.describe} exists with dtype ${dataset.dtype}, not ${args.dtype}`);
    }
    return new H5Dataset(dataset);
  }

  async delete(name: string): Promise<void> {
    await (await this.group).delete(name);
  }
}

export class H5Dataset extends H5Node<Dataset> {
  constructor(readonly dataset: Dataset) {
    super();
  }

  protected async node(): Promise<Dataset> {
    return this.dataset;
  }

  get path(): string {
    return `/${this.dataset.path}`;
  }
  get shape(): number[] {
    return this.dataset.shape;
  }
  get ndim(): number {
    return this.dataset.ndim;
  }
  /** The dtype in h5wasm's spelling ("<f" for float32, "<d" for float64, "<i" for int32, ...). */
  get dtype(): string {
    return h5DtypeOf(this.dataset.dtype);
  }
  /** The whole array, flat in C order (as h5wasm); the element itself for a 0-d dataset. */
  get value(): Promise<H5Data> {
    return this.dataset.read().then((a) => this.h5Data(a.data));
  }

  /** One range per axis: [] for all, [start], [start, stop] or [start, stop, step]; flat C-order result. */
  async slice(ranges: H5Slice[]): Promise<H5Data> {
    return this.h5Data((await this.dataset.get(toSelection(ranges, this.dataset.shape))).data);
  }

  /** `data` holds the selection's values in C order (a flat list is fine, as in h5wasm), or one scalar. */
  async write_slice(ranges: H5Slice[], data: TypedArray | number[] | Scalar): Promise<void> {
    const values = isFlatList(data) ? convertArray(data, this.dataset.dtype, `data written to ${this.dataset.describe}`) : data;
    await this.dataset.set(toSelection(ranges, this.dataset.shape), values);
  }

  async resize(shape: number[]): Promise<void> {
    await this.dataset.resize(shape);
  }

  private h5Data(data: TypedArray): H5Data {
    return this.dataset.ndim === 0 ? (data as unknown as ArrayLike<number | bigint>)[0] : data;
  }
}

/**
 * `new File(nameOrUrl, mode, options)`: one pool opened in one of h5py's modes, r (read only, must
 * exist), r+ (read/write, must exist), w (create, truncate), w-/x (create, fail if exists), a
 * (read/write, create if missing); the same rules on every store. `nameOrUrl`: a local path or
 * file:// URL, s3://BUCKET/PREFIX, memory:NAME, or (after dn.autoInit, or with `{ cluster }`) a
 * pool name on that cluster: "/tmp/data.h5" is pool "tmp/data.h5".
 */
export class File extends H5Group {
  readonly filename: string;
  readonly mode: FileMode;
  readonly #target: PoolTarget;

  constructor(nameOrUrl: string, mode: FileMode = "r", options: FileOptions = {}) {
    validateFileMode(mode);
    const target = resolvePoolTarget(nameOrUrl, options, "File");
    super(openVersion(target.open(versionRequested(options) ? checkVersionMode(mode, nameOrUrl) : mode), options));
    this.#target = target;
    this.filename = target.filename;
    this.mode = mode;
  }

  /** The File once its pool is open: errors (missing, exists, foreign) reject here rather than at first use. */
  static async open(nameOrUrl: string, mode: FileMode = "r", options: FileOptions = {}): Promise<File> {
    const file = new File(nameOrUrl, mode, options);
    await file.group.catch(async (error: unknown) => {
      await file.#target.release();
      throw error;
    });
    return file;
  }

  async flush(): Promise<void> {
    // Every write is stored when its promise resolves.
  }

  /** Close the pool and any connection opened for this File alone; harmless if opening failed. */
  async close(): Promise<void> {
    const pool = (await this.group.catch(() => undefined)) as Pool | undefined;
    await pool?.close();
    await this.#target.release();
  }

  /** `await using f = new File(...)`: closes it at the end of the block (h5py's `with`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Where a File's pool is: `{ cluster }` for plain names, `{ s3 }` / `configFile` / `env` for s3://
 * URLs; and, for a pool holding a repository, which version to open read-only: `{ branch }`,
 * `{ tag }`, `{ snapshot }` (with `asOf` for a branch as of a time).
 */
export interface FileOptions extends PoolTargetOptions {
  branch?: string;
  tag?: string;
  snapshot?: string;
  asOf?: Date;
}

function versionRequested(options: FileOptions): boolean {
  return options.branch !== undefined || options.tag !== undefined || options.snapshot !== undefined;
}

function checkVersionMode(mode: FileMode, name: string): FileMode {
  if (mode !== "r") throw new ValidationError(`File ${JSON.stringify(name)} with a branch, tag or snapshot opens read-only: use mode "r" (write through repo.checkout({ branch, write: true }))`);
  return mode;
}

async function openVersion(pool: Promise<Pool>, options: FileOptions): Promise<Group> {
  if (!versionRequested(options)) return pool;
  const repo = await Repository.open(await pool);
  return repo.checkout({ branch: options.branch, tag: options.tag, snapshot: options.snapshot, asOf: options.asOf });
}

function isFlatList(data: unknown): data is number[] {
  return Array.isArray(data) && data.every((v) => typeof v === "number");
}

function guessPlainArrayDtype(data: number[]): DataType {
  return data.every(Number.isInteger) ? "int32" : "float64";
}

/** HDF5 filter ids h5py/hdf5plugin scripts pass as `compression`. */
const DEFLATE_FILTER = 1;
const ZSTD_FILTER = 32015;

/** h5py's compression, compression_opts, shuffle and fletcher32 as dosna's createDataset options. */
function compressionOptions(args: CreateDatasetArgs): Pick<CreateDatasetOptions, "compression" | "compressionLevel" | "shuffle" | "checksum"> {
  const flags = { shuffle: args.shuffle || undefined, checksum: args.fletcher32 || undefined };
  // h5wasm treats a falsy compression (undefined, null, 0) as none
  if (!args.compression) return flags;
  const opts = Array.isArray(args.compression_opts) ? args.compression_opts[0] : args.compression_opts;
  const c = args.compression;
  if (typeof c === "number" && opts === undefined && c !== ZSTD_FILTER) return { ...flags, compression: "gzip", compressionLevel: c };
  if (c === "gzip" || c === DEFLATE_FILTER) return { ...flags, compression: "gzip", compressionLevel: opts ?? 4 }; // h5py's default gzip level
  if (c === "zstd" || c === ZSTD_FILTER) return { ...flags, compression: "zstd", compressionLevel: opts };
  if (c === "blosc") return { ...flags, compression: "blosc", compressionLevel: opts };
  throw new ValidationError(
    `compression ${JSON.stringify(c)} of dataset "${args.name}" is not supported: expected "gzip" (or a gzip level 0–9, or filter ${DEFLATE_FILTER}), "zstd" (or filter ${ZSTD_FILTER}) or "blosc"`,
  );
}
