/**
 * The options of `createDataset`, validated once at the boundary and resolved to Zarr metadata.
 */
import { z } from "zod";
import { DtypeError, ShapeError, ValidationError } from "../errors.js";
import {
  canonicalFillValue,
  codecsFor,
  COMPRESSIONS,
  dataTypeOfTypedArray,
  defaultFillValue,
  parseDataType,
  resolveChunkShape,
  validateShape,
  type ArrayInfo,
  type DataType,
  type FillValue,
} from "../format/index.js";
import { applyShardOptions } from "./shard-options.js";
import { elementShapeOf, isNdArray, isTypedArray, sameShape, toNdArray, type ArrayInput, type NestedArray } from "./values.js";
import { njobsSchema, parseWith } from "./validate.js";

const isComplexPair = (v: unknown) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number");
const scalarSchema = z.custom<FillValue>((v) => typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" || typeof v === "string" || v instanceof Uint8Array || isComplexPair(v), {
  message: "expected a number, bigint or boolean ([re, im] for a complex data type, a string for string, a Uint8Array for bytes)",
});

export const createDatasetSchema = z
  .object({
    shape: z.array(z.number()).optional(),
    dtype: z.string().optional(),
    chunks: z.union([z.number(), z.array(z.number())]).optional(),
    shards: z.array(z.number()).optional(),
    shardIndexLocation: z.enum(["start", "end"]).optional(),
    fillValue: scalarSchema.optional(),
    data: z.custom<ArrayInput | NestedArray>((v) => isNdArray(v) || isTypedArray(v) || Array.isArray(v), {
      message: "expected an ndarray, a typed array or a nested array",
    }).optional(),
    compression: z.enum(COMPRESSIONS).nullable().optional(),
    // the range depends on the compression: codecsFor checks it and names it
    compressionLevel: z.number().int().optional(),
    shuffle: z.boolean().optional(),
    checksum: z.boolean().optional(),
    attrs: z.record(z.string(), z.unknown()).optional(),
    dimensionNames: z.array(z.string().nullable()).optional(),
    /** The same as dimensionNames (xarray's and h5py's word). */
    dims: z.array(z.string().nullable()).optional(),
    njobs: njobsSchema.optional(),
  })
  .strict();

export type CreateDatasetOptions = z.input<typeof createDatasetSchema>;

export interface ResolvedCreate {
  info: ArrayInfo;
  data?: ReturnType<typeof toNdArray>;
  njobs?: number;
}

function dimensionNamesOf(names: (string | null)[] | undefined, dims: (string | null)[] | undefined, ndim: number, what: string): { dimensionNames: (string | null)[] } | undefined {
  if (names && dims && JSON.stringify(names) !== JSON.stringify(dims)) throw new ValidationError(`${what}: dims ${JSON.stringify(dims)} and dimensionNames ${JSON.stringify(names)} differ; give one`);
  const given = names ?? dims;
  if (!given) return undefined;
  if (given.length !== ndim) throw new ShapeError(`${what}: dims ${JSON.stringify(given)} has ${given.length} names for ${ndim} dimensions`);
  return { dimensionNames: given };
}

/** Validate options and work out the array's metadata; throws before anything is stored. */
export function resolveCreateOptions(options: unknown, what: string): ResolvedCreate {
  const o = parseWith(createDatasetSchema, options, `options for ${what}`);
  let dtype: DataType | undefined = o.dtype === undefined ? undefined : parseDataType(o.dtype, `dtype of ${what}`);
  let data: ResolvedCreate["data"];
  if (o.data !== undefined) {
    const raw = o.data;
    const inferred: DataType | undefined = isNdArray(raw) ? dataTypeOfTypedArray(raw.data) : isTypedArray(raw) ? dataTypeOfTypedArray(raw) : undefined;
    dtype ??= inferred ?? "float64";
    data = toNdArray(raw, dtype, `data of ${what}`, isTypedArray(raw) ? o.shape : undefined);
    if (o.shape !== undefined && !sameShape(o.shape, elementShapeOf(dtype, data.shape, `data of ${what}`))) {
      throw new ShapeError(`${what}: shape [${o.shape}] does not match the shape of data [${data.shape}]`);
    }
  }
  if (dtype === undefined) throw new DtypeError(`${what}: dtype is required when no data is given`);
  const shapeInput = data ? elementShapeOf(dtype, data.shape, `data of ${what}`) : o.shape;
  if (shapeInput === undefined) throw new ShapeError(`${what}: shape is required when no data is given`);
  const shape = validateShape(shapeInput, `shape of ${what}`);
  const chunkShape = resolveChunkShape(o.chunks, shape, `chunks of ${what}`, dtype);
  const fillValue = normaliseFillValue(dtype, o.fillValue ?? defaultFillValue(dtype), `fill value of ${what}`);
  const info: ArrayInfo = {
    shape,
    dataType: dtype,
    chunkShape,
    fillValue,
    codecs: codecsFor(
      { compression: o.compression, compressionLevel: o.compressionLevel, shuffle: o.shuffle, checksum: o.checksum, dataType: dtype },
      what,
    ),
    attributes: o.attrs ?? {},
    chunkKeyEncoding: { name: "default", separator: "/" },
    ...(dimensionNamesOf(o.dimensionNames, o.dims, shape.length, what) ?? {}),
  };
  const sharded = applyShardOptions(info, { shards: o.shards, shardIndexLocation: o.shardIndexLocation, chunksGiven: o.chunks !== undefined }, what);
  return { info: sharded, data, njobs: o.njobs };
}

export function normaliseFillValue(dtype: DataType, value: FillValue, what: string): FillValue {
  return canonicalFillValue(dtype, value, what);
}
