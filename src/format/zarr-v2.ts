/**
 * Zarr v2 metadata (`.zarray`, `.zgroup`, `.zattrs`) translated to and from the Zarr v3 zarr.json
 * documents the rest of dosna reads and writes. A v2 array is a v3 array whose chunk key encoding is
 * "v2" (chunk keys such as "a/0.1" or "a/0/1"), whose codecs are: `transpose` for order "F", the
 * filters, `bytes` with the dtype's byte order, then the compressor. Pure functions, no I/O.
 */
import { z } from "zod";
import { CorruptMetadataError, ValidationError } from "../errors.js";
import { codecDefinition, type CodecSpec } from "./codecs/registry.js";
import { fillValueFromJson, fillValueToJson } from "./fillValue.js";
import { encodeMetadata } from "./metadata.js";
import { bytesPerElement, type DataType, dataTypeOfNumpyTypestr, dataTypeOfZarrName, describe, isVariableLengthType, numpyTypestrOf } from "./dataType.js";

export const V2_ARRAY_KEY = ".zarray";
export const V2_GROUP_KEY = ".zgroup";
export const V2_ATTRIBUTES_KEY = ".zattrs";
export const V2_CONSOLIDATED_KEY = ".zmetadata";

/** xarray's attribute naming the dimensions of a v2 array (v3 has `dimension_names`). */
const DIMENSIONS_ATTRIBUTE = "_ARRAY_DIMENSIONS";

const VLEN_UTF8 = "vlen-utf8";
const VLEN_BYTES = "vlen-bytes";

/** The variable-length data types of a v2 object array ("|O"), by the object codec (its first filter), both ways. */
const OBJECT_CODECS: Record<string, "string" | "bytes"> = { [VLEN_UTF8]: "string", [VLEN_BYTES]: "bytes" };
const OBJECT_CODEC_OF = { string: VLEN_UTF8, bytes: VLEN_BYTES } as const;

const numcodecsConfig = z.looseObject({ id: z.string() });

const zarraySchema = z.object({
  zarr_format: z.literal(2),
  shape: z.array(z.number().int().nonnegative()),
  chunks: z.array(z.number().int().positive()),
  dtype: z.unknown(),
  compressor: numcodecsConfig.nullable().optional(),
  fill_value: z.unknown().optional(),
  order: z.enum(["C", "F"]).optional(),
  filters: z.array(numcodecsConfig).nullable().optional(),
  dimension_separator: z.enum([".", "/"]).optional(),
});

export type V2Codec = z.infer<typeof numcodecsConfig>;

/** The v3 zarr.json document of the v2 array whose parsed `.zarray` is `zarray`, with `.zattrs` `attributes`; errors name `where`. */
export function v3ArrayFromV2(zarray: unknown, attributes: Record<string, unknown>, where: string): Record<string, unknown> {
  const fail = (problem: string) => new CorruptMetadataError(`invalid Zarr v2 metadata at ${where}: ${problem}`);
  const parsed = zarraySchema.safeParse(zarray);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`${issue.path.join(".") || "document"}: ${issue.message}`);
  }
  const doc = parsed.data;
  if (doc.chunks.length !== doc.shape.length) {
    throw fail(`chunks [${doc.chunks.join(", ")}] has ${doc.chunks.length} dimensions but shape [${doc.shape.join(", ")}] has ${doc.shape.length}`);
  }
  const ndim = doc.shape.length;
  const codecs: CodecSpec[] = [];
  if (doc.order === "F" && ndim > 1) codecs.push({ name: "transpose", configuration: { order: [...Array(ndim).keys()].reverse() } });
  // zarr-python 2's strings and bytes: object dtype with the vlen-utf8 / vlen-bytes object codec as first filter
  const objectCodec = doc.dtype === "|O" ? doc.filters?.[0]?.id : undefined;
  const objectType = objectCodec !== undefined && Object.hasOwn(OBJECT_CODECS, objectCodec) ? OBJECT_CODECS[objectCodec] : undefined;
  if (doc.dtype === "|O" && objectType === undefined) {
    throw fail(`object dtype "|O" is supported only with the "${VLEN_UTF8}" or "${VLEN_BYTES}" object codec as first filter`);
  }
  const { dataType, endian } = objectType !== undefined ? { dataType: objectType as DataType, endian: undefined } : dataTypeFromV2(doc.dtype, fail);
  const filters = (doc.filters ?? []).slice(objectType !== undefined ? 1 : 0).map((filter) => v3CodecFromV2(filter, bytesPerElement(dataType)));
  const byteFilters = filters.filter((codec) => codecDefinition(codec.name)?.kind === "bytes_to_bytes");
  const arrayFilters = filters.filter((codec) => !byteFilters.includes(codec));
  const firstBytesFilter = filters.findIndex((codec) => byteFilters.includes(codec));
  if (firstBytesFilter >= 0 && filters.slice(firstBytesFilter).some((codec) => arrayFilters.includes(codec))) {
    throw fail(`filters ${filters.map((c) => JSON.stringify(c.name)).join(", ")}: an array filter after a bytes filter cannot be read`);
  }
  codecs.push(...arrayFilters, objectType !== undefined ? { name: OBJECT_CODEC_OF[objectType] } : { name: "bytes", configuration: endian === undefined ? {} : { endian } }, ...byteFilters);
  if (doc.compressor) codecs.push(v3CodecFromV2(doc.compressor, bytesPerElement(dataType)));
  const json: Record<string, unknown> = {
    zarr_format: 3,
    node_type: "array",
    shape: doc.shape,
    data_type: dataType,
    chunk_grid: { name: "regular", configuration: { chunk_shape: doc.chunks } },
    chunk_key_encoding: { name: "v2", configuration: { separator: doc.dimension_separator ?? "." } },
    // zarr-python 2 writes 0 as the fill value of object arrays unless told otherwise (bytes: an empty base64 string)
    fill_value: objectType !== undefined && typeof doc.fill_value !== "string" ? "" : (doc.fill_value ?? null),
    codecs,
    attributes,
  };
  const dimensions = attributes[DIMENSIONS_ATTRIBUTE];
  if (Array.isArray(dimensions) && dimensions.length === ndim && dimensions.every((d) => typeof d === "string")) json.dimension_names = dimensions;
  return json;
}

/** The v3 zarr.json document of a v2 group with `.zattrs` `attributes`. */
export function v3GroupFromV2(attributes: Record<string, unknown>): Record<string, unknown> {
  return { zarr_format: 3, node_type: "group", attributes };
}

export interface V2Documents {
  /** ".zarray" or ".zgroup". */
  metadataName: typeof V2_ARRAY_KEY | typeof V2_GROUP_KEY;
  metadata: Record<string, unknown>;
  attributes: Record<string, unknown>;
}

/**
 * The v2 documents of a v3 zarr.json document, for writing a v2 hierarchy. A v3 feature v2 cannot
 * hold (sharding, a checksum codec, a chunk key encoding other than "v2") is a ValidationError
 * naming `what` and the feature.
 */
export function v2DocumentsFromV3(doc: Record<string, unknown>, what: string): V2Documents {
  const attributes = { ...((doc.attributes as Record<string, unknown> | undefined) ?? {}) };
  if (doc.node_type === "group") return { metadataName: V2_GROUP_KEY, metadata: { zarr_format: 2 }, attributes };
  const fail = (problem: string) => new ValidationError(`${what} cannot be stored as Zarr v2: ${problem}`);
  const dataType = dataTypeOfZarrName(doc.data_type);
  if (dataType === undefined) throw fail(`data type ${describe(doc.data_type)} has no Zarr v2 spelling`);
  const shape = doc.shape as number[];
  const chunkShape = (doc.chunk_grid as { configuration: { chunk_shape: number[] } }).configuration.chunk_shape;
  const encoding = doc.chunk_key_encoding as { name: string; configuration?: { separator?: string } };
  if (encoding.name !== "v2") throw fail(`chunk key encoding "${encoding.name}" (v2 arrays use "v2")`);
  let order: "C" | "F" = "C";
  let endian: "little" | "big" = "little";
  const filters: V2Codec[] = [];
  let compressor: V2Codec | null = null;
  const codecs = doc.codecs as CodecSpec[];
  let afterBytes = false;
  for (const [position, codec] of codecs.entries()) {
    if (codec.name === "transpose") {
      const axes = codec.configuration?.order;
      const reversed = Array.isArray(axes) && axes.every((axis, k) => axis === shape.length - 1 - k);
      if (position !== 0 || !(reversed || codec.configuration?.order === "F")) throw fail(`transpose order ${describe(axes)} (v2 has only C and F order)`);
      order = "F";
    } else if (codec.name === "bytes") {
      endian = codec.configuration?.endian === "big" ? "big" : "little";
      afterBytes = true;
    } else if (codec.name === VLEN_UTF8 || codec.name === VLEN_BYTES) {
      filters.unshift({ id: codec.name });
      afterBytes = true;
    } else if (afterBytes && position === codecs.length - 1 && isCompressor(codec.name)) {
      compressor = v2CodecFromV3(codec, fail);
    } else {
      filters.push(v2CodecFromV3(codec, fail));
    }
  }
  const itemSize = bytesPerElement(dataType);
  const metadata: Record<string, unknown> = {
    zarr_format: 2,
    shape,
    chunks: chunkShape,
    dtype: isVariableLengthType(dataType) ? "|O" : `${itemSize === 1 ? "|" : endian === "big" ? ">" : "<"}${numpyTypestrOf(dataType)}`,
    compressor,
    // bytes: base64, as zarr-python writes it in v2 (a v3 document may hold the byte values as a list)
    fill_value: dataType === "bytes" ? fillValueToJson("bytes", fillValueFromJson("bytes", doc.fill_value, what)) : doc.fill_value,
    order,
    filters: filters.length === 0 ? null : filters,
    dimension_separator: encoding.configuration?.separator ?? ".",
  };
  const names = doc.dimension_names;
  if (Array.isArray(names) && names.every((n) => typeof n === "string")) attributes[DIMENSIONS_ATTRIBUTE] = names;
  return { metadataName: V2_ARRAY_KEY, metadata, attributes };
}

/** zarr.json bytes of a v3 array with the chunk keys a v2 array can have ("v2" encoding, "." separator). */
export function withV2ChunkKeys(zarrJson: Uint8Array): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(zarrJson)) as Record<string, unknown>;
  const encoding = doc.chunk_key_encoding as { name?: string } | undefined;
  if (doc.node_type !== "array" || encoding?.name === "v2") return zarrJson;
  return encodeMetadata({ ...doc, chunk_key_encoding: { name: "v2", configuration: { separator: "." } } });
}

const COMPRESSORS = new Set(["gzip", "zstd", "blosc", "numcodecs.zlib", "numcodecs.gzip", "numcodecs.zstd", "numcodecs.lz4", "numcodecs.blosc", "numcodecs.bz2", "numcodecs.lzma"]);

function isCompressor(name: string): boolean {
  return COMPRESSORS.has(name);
}

const BLOSC_SHUFFLE_NAMES = ["noshuffle", "shuffle", "bitshuffle"] as const;

/** A numcodecs codec of a v2 array as a v3 codec: dosna's own where it is the same format, else `numcodecs.<id>`. */
export function v3CodecFromV2(codec: V2Codec, itemSize: number): CodecSpec {
  const { id, ...configuration } = codec;
  switch (id) {
    case "gzip":
      return { name: "gzip", configuration: { level: configuration.level ?? 1 } };
    case "zstd":
      return { name: "zstd", configuration: { level: configuration.level ?? 0, checksum: configuration.checksum ?? false } };
    case "shuffle":
      return { name: "numcodecs.shuffle", configuration: { elementsize: configuration.elementsize ?? itemSize } };
    case "blosc": {
      const shuffle = typeof configuration.shuffle === "number" ? configuration.shuffle : 1;
      // numcodecs' AUTOSHUFFLE (-1): bit shuffle for 1-byte items, byte shuffle otherwise
      const name = shuffle === -1 ? (itemSize === 1 ? "bitshuffle" : "shuffle") : (BLOSC_SHUFFLE_NAMES[shuffle] ?? shuffle);
      return {
        name: "blosc",
        configuration: { cname: configuration.cname ?? "lz4", clevel: configuration.clevel ?? 5, shuffle: name, typesize: itemSize, blocksize: configuration.blocksize ?? 0 },
      };
    }
    default:
      return { name: `numcodecs.${id}`, configuration };
  }
}

function v2CodecFromV3(codec: CodecSpec, fail: (problem: string) => Error): V2Codec {
  const configuration = codec.configuration ?? {};
  switch (codec.name) {
    case "gzip":
      return { id: "gzip", level: configuration.level ?? 1 };
    case "zstd":
      return configuration.checksum === true ? { id: "zstd", level: configuration.level ?? 0, checksum: true } : { id: "zstd", level: configuration.level ?? 0 };
    case "numcodecs.shuffle":
      return { id: "shuffle", elementsize: configuration.elementsize };
    case "blosc":
      return {
        id: "blosc",
        cname: configuration.cname ?? "zstd",
        clevel: configuration.clevel ?? 5,
        shuffle: Math.max(0, BLOSC_SHUFFLE_NAMES.indexOf((configuration.shuffle ?? "noshuffle") as (typeof BLOSC_SHUFFLE_NAMES)[number])),
        blocksize: configuration.blocksize ?? 0,
      };
    default:
      if (codec.name.startsWith("numcodecs.")) return { id: codec.name.slice("numcodecs.".length), ...configuration };
      throw fail(`codec "${codec.name}" has no numcodecs equivalent`);
  }
}

function dataTypeFromV2(dtype: unknown, fail: (problem: string) => Error): { dataType: DataType; endian?: "little" | "big" } {
  if (typeof dtype !== "string") throw fail(`dtype ${describe(dtype)} (structured dtypes) is not supported`);
  const match = /^([<>|=]?)([a-zA-Z]\d+)$/.exec(dtype);
  const dataType = match ? dataTypeOfNumpyTypestr(match[2]) : undefined;
  if (!match || dataType === undefined) throw fail(`dtype ${JSON.stringify(dtype)} is not supported`);
  if (bytesPerElement(dataType) === 1) return { dataType };
  return { dataType, endian: match[1] === ">" ? "big" : "little" };
}
