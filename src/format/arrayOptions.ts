/** Checks and defaults for the shape, chunks and compression a caller asks for when creating an array. */
import { ValidationError } from "../errors.js";
import { DEFAULT_BLOSC_LEVEL } from "./codecs/blosc.js";
import { DEFAULT_GZIP_LEVEL } from "./codecs/gzip.js";
import type { CodecSpec } from "./codecs/registry.js";
import { SHUFFLE_CODEC } from "./codecs/shuffle.js";
import { DEFAULT_ZSTD_LEVEL } from "./codecs/zstd.js";
import { ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL } from "./codecs/zstd-backend.js";
import { bytesPerElement, type DataType, describe, isVariableLengthType } from "./dataType.js";

/** Chunks chosen by `resolveChunkShape` hold at most about this many bytes. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

export type Compression = "zstd" | "gzip" | "blosc" | "none";
export const COMPRESSIONS: readonly Compression[] = ["zstd", "gzip", "blosc", "none"];

/** A shape: a non-negative integer (1-d) or a list of them. `what` names the argument, e.g. 'shape of dataset "a/b"'. */
export function validateShape(shape: unknown, what: string): number[] {
  const list = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(list) || !list.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new ValidationError(`${what} must be a non-negative integer or a list of them, got ${describe(shape)}`);
  }
  return [...(list as number[])];
}

/**
 * The chunk shape for an array of `shape`. A number applies to every axis and is clipped to the
 * axis size (so `chunks: 32` suits any shape); a list is taken as given (Zarr allows chunks larger
 * than the array) and must have one positive integer per axis. Undefined picks a shape of about
 * DEFAULT_CHUNK_BYTES by halving the largest axis of the full shape until it fits.
 */
export function resolveChunkShape(
  chunks: number | number[] | undefined,
  shape: number[],
  what: string,
  dataType: DataType = "float64",
): number[] {
  if (chunks === undefined) return defaultChunkShape(shape, bytesPerElement(dataType));
  if (typeof chunks === "number") {
    if (!Number.isSafeInteger(chunks) || chunks < 1) {
      throw new ValidationError(`${what} must be a positive integer or a list of them, got ${describe(chunks)}`);
    }
    return shape.map((size) => Math.min(chunks, Math.max(size, 1)));
  }
  if (!Array.isArray(chunks) || !chunks.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw new ValidationError(`${what} must be a positive integer or a list of them, got ${describe(chunks)}`);
  }
  if (chunks.length !== shape.length) {
    throw new ValidationError(
      `${what} [${chunks.join(", ")}] has ${chunks.length} dimensions but the shape [${shape.join(", ")}] has ${shape.length}`,
    );
  }
  return [...chunks];
}

function defaultChunkShape(shape: number[], itemSize: number): number[] {
  const chunk = shape.map((size) => Math.max(size, 1));
  const bytes = () => chunk.reduce((a, b) => a * b, itemSize);
  while (bytes() > DEFAULT_CHUNK_BYTES) {
    let largest = 0;
    for (let axis = 1; axis < chunk.length; axis++) if (chunk[axis] > chunk[largest]) largest = axis;
    chunk[largest] = Math.ceil(chunk[largest] / 2);
  }
  return chunk;
}

export interface CompressionOptions {
  compression?: Compression | null;
  /** gzip: 0–9 (default 5); zstd: -131072–22 (default 1); blosc: 0–9 (default 5). */
  compressionLevel?: number;
  /** Byte-shuffle elements before compressing (numcodecs.shuffle; Blosc's own shuffle for blosc). */
  shuffle?: boolean;
  /** Append a crc32c checksum to every chunk, verified on read. */
  checksum?: boolean;
  /** The array's data type: the element size that shuffling uses. */
  dataType?: DataType;
}

const LEVELS: Record<Exclude<Compression, "none">, { min: number; max: number; default: number }> = {
  gzip: { min: 0, max: 9, default: DEFAULT_GZIP_LEVEL },
  zstd: { min: ZSTD_MIN_LEVEL, max: ZSTD_MAX_LEVEL, default: DEFAULT_ZSTD_LEVEL },
  blosc: { min: 0, max: 9, default: DEFAULT_BLOSC_LEVEL },
};

/**
 * The codec list for a compression choice: `bytes` (little endian); then, with `shuffle`, a
 * byte shuffle by the element size; then the compressor; then, with `checksum`, `crc32c`.
 * gzip defaults to level 5 (zarr-python's default too: ~2.5× faster than level 6 at a similar
 * ratio), zstd to level 1 (see DEFAULT_ZSTD_LEVEL), blosc to zstd inside at clevel 5.
 */
/** The array→bytes codec a new array of `dataType` gets: vlen-utf8 for string, vlen-bytes for bytes, bytes (little endian) otherwise. */
function arrayToBytesCodecFor(dataType: DataType | undefined): CodecSpec {
  if (dataType === "string") return { name: "vlen-utf8" };
  if (dataType === "bytes") return { name: "vlen-bytes" };
  return { name: "bytes", configuration: { endian: "little" } };
}

export function codecsFor(options: CompressionOptions = {}, owner?: string): CodecSpec[] {
  const of = owner === undefined ? "" : ` of ${owner}`;
  const compression = options.compression ?? "none";
  if (!COMPRESSIONS.includes(compression)) {
    throw new ValidationError(`compression ${describe(compression)}${of} is not supported; expected one of ${COMPRESSIONS.map((c) => `"${c}"`).join(", ")}`);
  }
  const { compressionLevel: level, shuffle = false, checksum = false, dataType } = options;
  for (const [name, flag] of [["shuffle", shuffle], ["checksum", checksum]] as const) {
    if (typeof flag !== "boolean") throw new ValidationError(`${name}${of} must be true or false, got ${describe(flag)}`);
  }
  if (dataType === undefined && (shuffle || compression === "blosc")) {
    throw new ValidationError(`the data type is needed to choose the element size for ${shuffle ? "shuffle" : "blosc"}`);
  }
  const itemSize = dataType === undefined ? 1 : bytesPerElement(dataType);
  if (dataType !== undefined && isVariableLengthType(dataType) && (shuffle || compression === "blosc")) {
    throw new ValidationError(`${shuffle ? "shuffle" : "blosc"}${of} needs fixed-size elements; data type ${dataType} has none (use gzip or zstd)`);
  }
  const codecs: CodecSpec[] = [arrayToBytesCodecFor(dataType)];
  if (compression === "none") {
    if (level !== undefined) throw new ValidationError(`compressionLevel ${describe(level)}${of} was given without a compression`);
    if (shuffle) codecs.push({ name: SHUFFLE_CODEC, configuration: { elementsize: itemSize } });
  } else {
    const range = LEVELS[compression];
    if (level !== undefined && (typeof level !== "number" || !Number.isInteger(level) || level < range.min || level > range.max)) {
      throw new ValidationError(`compressionLevel${of} for ${compression} must be an integer from ${range.min} to ${range.max}, got ${describe(level)}`);
    }
    const chosen = level ?? range.default;
    if (compression === "blosc") {
      // Blosc shuffles inside its own blocks; bit shuffle is its better choice for 1-byte types
      const bloscShuffle = !shuffle ? "noshuffle" : itemSize === 1 ? "bitshuffle" : "shuffle";
      codecs.push({ name: "blosc", configuration: { cname: "zstd", clevel: chosen, shuffle: bloscShuffle, typesize: itemSize, blocksize: 0 } });
    } else {
      if (shuffle) codecs.push({ name: SHUFFLE_CODEC, configuration: { elementsize: itemSize } });
      codecs.push(compression === "gzip" ? { name: "gzip", configuration: { level: chosen } } : { name: "zstd", configuration: { level: chosen, checksum: false } });
    }
  }
  if (checksum) codecs.push({ name: "crc32c" });
  return codecs;
}
