/**
 * The `sharding_indexed` codec's layout, as pure functions: many inner chunks in one stored object
 * (a shard), with an index of (offset, nbytes) per inner chunk at the start or end of the object.
 *
 * In zarr.json the chunk grid's chunk_shape is the SHARD shape; the codec's configuration holds
 * the inner chunk shape (which must divide it), the inner chunks' codecs, the index codecs (`bytes`
 * then optionally `crc32c`, so the index has a fixed size) and where the index sits. The index is a
 * uint64 array of shape [...chunksPerShard, 2] in C order; an inner chunk that is not stored has
 * offset = nbytes = 2^64-1. Offsets count from the start of the shard object.
 */
import { CorruptChunkError } from "../errors.js";
import { crc32c } from "./codecs/crc32c.js";
import { buildCodecChain } from "./codecs/pipeline.js";
import { CodecConfigurationError, type CodecSpec } from "./codecs/registry.js";
import { type DataType, describe } from "./dataType.js";

export const SHARDING_CODEC_NAME = "sharding_indexed";

export type ShardIndexLocation = "start" | "end";
export const SHARD_INDEX_LOCATIONS: readonly ShardIndexLocation[] = ["start", "end"];

/** What dosna writes as index_codecs (zarr-python's default too). */
export const DEFAULT_INDEX_CODECS: readonly CodecSpec[] = [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }];

/** A shard that cannot be read: truncated, bad index checksum, entries pointing outside the object. */
export class CorruptShardError extends CorruptChunkError {}

export interface ShardLayout {
  /** Outer chunk shape: one stored object per shard of the array's chunk grid. */
  shardShape: number[];
  /** The read/write granularity inside a shard. */
  innerChunkShape: number[];
  chunksPerShard: number[];
  innerCodecs: CodecSpec[];
  indexLocation: ShardIndexLocation;
  /** Number of index entries (inner chunks per shard). */
  entryCount: number;
  /** Encoded size of the index in bytes (16 per entry, plus 4 with crc32c). */
  indexByteLength: number;
  indexLittleEndian: boolean;
  indexChecksum: boolean;
}

/**
 * Decoded index: [offset0, nbytes0, offset1, nbytes1, ...] as numbers, EMPTY_ENTRY (-1) for both
 * members of an inner chunk that is not stored.
 */
export type ShardIndex = Float64Array;
export const EMPTY_ENTRY = -1;

const EMPTY_U64 = 0xffff_ffff_ffff_ffffn;

/** True when the codec list uses sharding (anywhere: parseShardLayout says whether dosna can read it). */
export function usesSharding(codecs: readonly CodecSpec[]): boolean {
  return codecs.some((c) => c.name === SHARDING_CODEC_NAME);
}

/** The codec spec of a sharded array, as dosna writes it. */
export function shardingCodecSpec(options: {
  innerChunkShape: readonly number[];
  codecs: readonly CodecSpec[];
  indexLocation?: ShardIndexLocation;
}): CodecSpec {
  return {
    name: SHARDING_CODEC_NAME,
    configuration: {
      chunk_shape: [...options.innerChunkShape],
      codecs: options.codecs.map(plainSpec),
      index_codecs: DEFAULT_INDEX_CODECS.map(plainSpec),
      index_location: options.indexLocation ?? "end",
    },
  };
}

/**
 * A problem with an inner chunk shape that does not divide the shard shape, naming both and the
 * first axis at fault; undefined when it divides.
 */
export function shardShapeProblem(shardShape: readonly number[], innerChunkShape: readonly number[]): string | undefined {
  if (innerChunkShape.length !== shardShape.length) {
    return `inner chunk shape [${innerChunkShape.join(", ")}] has ${innerChunkShape.length} dimensions but the shard shape [${shardShape.join(", ")}] has ${shardShape.length}`;
  }
  for (let axis = 0; axis < shardShape.length; axis++) {
    if (shardShape[axis] % innerChunkShape[axis] !== 0) {
      return (
        `inner chunk shape [${innerChunkShape.join(", ")}] does not divide the shard shape [${shardShape.join(", ")}] ` +
        `(axis ${axis}: ${shardShape[axis]} is not a multiple of ${innerChunkShape[axis]})`
      );
    }
  }
  return undefined;
}

/**
 * The shard layout of an array whose codecs are `[sharding_indexed]`, checked completely (inner
 * codecs included). Throws CodecConfigurationError naming what is wrong.
 */
export function parseShardLayout(codecs: readonly CodecSpec[], context: { dataType: DataType; chunkShape: readonly number[] }): ShardLayout {
  if (codecs.length !== 1 || codecs[0].name !== SHARDING_CODEC_NAME) {
    throw new CodecConfigurationError(
      `"${SHARDING_CODEC_NAME}" must be the array's only codec (codecs before or after it are not supported), got [${codecs.map((c) => JSON.stringify(c.name)).join(", ")}]`,
    );
  }
  const fail = (problem: string) => new CodecConfigurationError(`codec "${SHARDING_CODEC_NAME}": ${problem}`);
  const config = codecs[0].configuration;
  if (config === undefined) throw fail("configuration is missing");
  const shardShape = [...context.chunkShape];
  const inner = config.chunk_shape;
  if (!Array.isArray(inner) || !inner.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw fail(`chunk_shape must be a list of positive integers, got ${describe(inner)}`);
  }
  const innerChunkShape = inner as number[];
  const problem = shardShapeProblem(shardShape, innerChunkShape);
  if (problem !== undefined) throw fail(problem);

  const innerCodecs = codecList(config.codecs, "codecs", fail);
  if (usesSharding(innerCodecs)) throw fail("nested sharding (sharding_indexed inside codecs) is not supported");
  try {
    buildCodecChain(innerCodecs, { dataType: context.dataType, chunkShape: innerChunkShape });
  } catch (error) {
    if (error instanceof CodecConfigurationError) throw fail(`inner codecs: ${error.message}`);
    throw error;
  }

  const indexCodecs = codecList(config.index_codecs, "index_codecs", fail);
  const { littleEndian, checksum } = parseIndexCodecs(indexCodecs, fail);

  const location = config.index_location ?? "end";
  if (location !== "start" && location !== "end") {
    throw fail(`index_location must be "start" or "end", got ${describe(location)}`);
  }
  const chunksPerShard = shardShape.map((n, axis) => n / innerChunkShape[axis]);
  const entryCount = chunksPerShard.reduce((a, b) => a * b, 1);
  return {
    shardShape,
    innerChunkShape,
    chunksPerShard,
    innerCodecs,
    indexLocation: location,
    entryCount,
    indexByteLength: entryCount * 16 + (checksum ? 4 : 0),
    indexLittleEndian: littleEndian,
    indexChecksum: checksum,
  };
}

function codecList(value: unknown, member: string, fail: (problem: string) => CodecConfigurationError): CodecSpec[] {
  if (!Array.isArray(value)) throw fail(`${member} must be a list of codecs, got ${describe(value)}`);
  return value.map((c, i) => {
    if (typeof c === "string") return { name: c };
    const ok = c !== null && typeof c === "object" && typeof c.name === "string" &&
      (c.configuration === undefined || (c.configuration !== null && typeof c.configuration === "object" && !Array.isArray(c.configuration)));
    if (!ok) throw fail(`${member}[${i}] must be a codec ({ "name": ..., "configuration": {...} }), got ${describe(c)}`);
    return c.configuration === undefined ? { name: c.name } : { name: c.name, configuration: c.configuration };
  });
}

/** The index must have a fixed encoded size: `bytes`, optionally followed by `crc32c`. */
function parseIndexCodecs(codecs: CodecSpec[], fail: (problem: string) => CodecConfigurationError): { littleEndian: boolean; checksum: boolean } {
  const names = codecs.map((c) => c.name);
  const supported = (names.length === 1 && names[0] === "bytes") || (names.length === 2 && names[0] === "bytes" && names[1] === "crc32c");
  if (!supported) {
    throw fail(`index_codecs must be ["bytes"] or ["bytes", "crc32c"], got [${names.map((n) => JSON.stringify(n)).join(", ")}]`);
  }
  const endian = codecs[0].configuration?.endian ?? "little";
  if (endian !== "little" && endian !== "big") throw fail(`index_codecs: bytes endian must be "little" or "big", got ${describe(endian)}`);
  return { littleEndian: endian === "little", checksum: names.length === 2 };
}

/** Where inner chunk `innerGridIndex` (on the array's inner chunk grid) lives: its shard and its entry in that shard's index. */
export function locateInnerChunk(innerGridIndex: readonly number[], chunksPerShard: readonly number[]): { shardGridIndex: number[]; entry: number } {
  const shardGridIndex = new Array<number>(innerGridIndex.length);
  let entry = 0;
  for (let axis = 0; axis < innerGridIndex.length; axis++) {
    const per = chunksPerShard[axis];
    shardGridIndex[axis] = Math.floor(innerGridIndex[axis] / per);
    entry = entry * per + (innerGridIndex[axis] - shardGridIndex[axis] * per);
  }
  return { shardGridIndex, entry };
}

/** The inner-grid index of entry `entry` of the shard at `shardGridIndex`. */
export function innerGridIndexOf(shardGridIndex: readonly number[], entry: number, chunksPerShard: readonly number[]): number[] {
  const local = entryCoordinates(entry, chunksPerShard);
  return local.map((l, axis) => shardGridIndex[axis] * chunksPerShard[axis] + l);
}

/** Entry number → its position in the shard's grid of inner chunks (C order). */
export function entryCoordinates(entry: number, chunksPerShard: readonly number[]): number[] {
  const coords = new Array<number>(chunksPerShard.length);
  for (let axis = chunksPerShard.length - 1; axis >= 0; axis--) {
    coords[axis] = entry % chunksPerShard[axis];
    entry = Math.floor(entry / chunksPerShard[axis]);
  }
  return coords;
}

/** The byte range the index occupies in a shard object of `objectLength` bytes. */
export function indexRange(layout: ShardLayout, objectLength: number): { offset: number; length: number } {
  const length = layout.indexByteLength;
  return layout.indexLocation === "start" ? { offset: 0, length } : { offset: objectLength - length, length };
}

/**
 * Decode the index bytes of the shard stored at `key`. With `objectLength` (the whole shard was
 * read) every entry is also checked to lie inside the object. CorruptShardError naming `key` otherwise.
 */
export function decodeShardIndex(bytes: Uint8Array, layout: ShardLayout, key: string, objectLength?: number): ShardIndex {
  if (bytes.byteLength !== layout.indexByteLength) {
    throw new CorruptShardError(
      `shard "${key}" is truncated or corrupt: its index should be ${layout.indexByteLength} bytes, got ${bytes.byteLength}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataLength = layout.entryCount * 16;
  if (layout.indexChecksum) {
    const stored = view.getUint32(dataLength, true);
    const computed = crc32c(bytes.subarray(0, dataLength));
    if (stored !== computed) {
      throw new CorruptShardError(
        `shard "${key}" has a corrupt index: crc32c checksum is 0x${hex(stored)}, expected 0x${hex(computed)}`,
      );
    }
  }
  const index: ShardIndex = new Float64Array(layout.entryCount * 2);
  const little = layout.indexLittleEndian;
  for (let entry = 0; entry < layout.entryCount; entry++) {
    const offset = view.getBigUint64(entry * 16, little);
    const nbytes = view.getBigUint64(entry * 16 + 8, little);
    const where = () => `inner chunk [${entryCoordinates(entry, layout.chunksPerShard).join(", ")}]`;
    if (offset === EMPTY_U64 || nbytes === EMPTY_U64) {
      if (offset !== nbytes) {
        throw new CorruptShardError(`shard "${key}" has a corrupt index: ${where()} has offset ${offset} and nbytes ${nbytes} (only one marks it empty)`);
      }
      index[entry * 2] = EMPTY_ENTRY;
      index[entry * 2 + 1] = EMPTY_ENTRY;
      continue;
    }
    const end = offset + nbytes;
    if (end > BigInt(objectLength ?? Number.MAX_SAFE_INTEGER)) {
      const size = objectLength === undefined ? "" : ` (the shard is ${objectLength} bytes)`;
      throw new CorruptShardError(`shard "${key}" has a corrupt index: ${where()} at bytes ${offset}–${end} lies outside the shard${size}`);
    }
    index[entry * 2] = Number(offset);
    index[entry * 2 + 1] = Number(nbytes);
  }
  return index;
}

/** The index of a shard whose whole object (`bytes`, stored at `key`) was read. */
export function decodeShardIndexOfObject(bytes: Uint8Array, layout: ShardLayout, key: string): ShardIndex {
  if (bytes.byteLength < layout.indexByteLength) {
    throw new CorruptShardError(
      `shard "${key}" is truncated or corrupt: it is ${bytes.byteLength} bytes, smaller than its ${layout.indexByteLength}-byte index`,
    );
  }
  const { offset, length } = indexRange(layout, bytes.byteLength);
  return decodeShardIndex(bytes.subarray(offset, offset + length), layout, key, bytes.byteLength);
}

/** The encoded index of `index` (see ShardIndex). */
export function encodeShardIndex(index: ShardIndex, layout: ShardLayout): Uint8Array {
  const out = new Uint8Array(layout.indexByteLength);
  const view = new DataView(out.buffer);
  const little = layout.indexLittleEndian;
  for (let entry = 0; entry < layout.entryCount; entry++) {
    const offset = index[entry * 2];
    const nbytes = index[entry * 2 + 1];
    view.setBigUint64(entry * 16, offset === EMPTY_ENTRY ? EMPTY_U64 : BigInt(offset), little);
    view.setBigUint64(entry * 16 + 8, nbytes === EMPTY_ENTRY ? EMPTY_U64 : BigInt(nbytes), little);
  }
  if (layout.indexChecksum) view.setUint32(layout.entryCount * 16, crc32c(out.subarray(0, layout.entryCount * 16)), true);
  return out;
}

/**
 * The shard object holding `chunks` (encoded inner chunks by entry number; undefined = not
 * stored), in entry order, with the index where the layout puts it. Undefined when no inner chunk
 * is stored: such a shard is deleted rather than written.
 */
export function assembleShard(chunks: readonly (Uint8Array | undefined)[], layout: ShardLayout): Uint8Array | undefined {
  let dataLength = 0;
  for (const chunk of chunks) if (chunk !== undefined) dataLength += chunk.byteLength;
  if (chunks.every((c) => c === undefined)) return undefined;
  const out = new Uint8Array(dataLength + layout.indexByteLength);
  const index: ShardIndex = new Float64Array(layout.entryCount * 2).fill(EMPTY_ENTRY);
  let position = layout.indexLocation === "start" ? layout.indexByteLength : 0;
  for (let entry = 0; entry < layout.entryCount; entry++) {
    const chunk = chunks[entry];
    if (chunk === undefined) continue;
    out.set(chunk, position);
    index[entry * 2] = position;
    index[entry * 2 + 1] = chunk.byteLength;
    position += chunk.byteLength;
  }
  const { offset } = indexRange(layout, out.byteLength);
  out.set(encodeShardIndex(index, layout), offset);
  return out;
}

/** A shard holding no inner chunk (only its index, every entry empty): it reads exactly as an absent shard. */
export function emptyShard(layout: ShardLayout): Uint8Array {
  const index: ShardIndex = new Float64Array(layout.entryCount * 2).fill(EMPTY_ENTRY);
  return encodeShardIndex(index, layout);
}

/**
 * Decoded shard indexes by shard key, each with the version token of the shard object it was read
 * from; least recently used dropped first once over `maxBytes`. An entry is only a guess at the
 * current index: a reader must check it against the stored object (by sending its version with
 * the data GETs) before trusting it, and drop it when that check fails.
 */
export class ShardIndexCache {
  private readonly entries = new Map<string, { version: string; index: ShardIndex }>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): { version: string; index: ShardIndex } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, version: string, index: ShardIndex): void {
    this.delete(key);
    if (index.byteLength > this.maxBytes) return;
    this.entries.set(key, { version, index });
    this.bytes += index.byteLength;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.index.byteLength;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.bytes -= entry.index.byteLength;
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** One range request covering several neighbouring byte ranges of the same object. */
export interface CoalescedRange<T> {
  offset: number;
  length: number;
  /** The ranges it covers, each with its position relative to `offset`. */
  members: { item: T; start: number; length: number }[];
}

/**
 * Merge byte ranges into fewer requests: ranges are sorted by offset and a range joins the previous
 * request when the gap between them is at most `maxGap` bytes and the request stays within
 * `maxLength` bytes (overlapping ranges always join).
 */
export function coalesceRanges<T>(
  ranges: readonly { offset: number; length: number; item: T }[],
  maxGap: number,
  maxLength = Infinity,
): CoalescedRange<T>[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  const out: CoalescedRange<T>[] = [];
  let current: { offset: number; end: number; members: { item: T; offset: number; length: number }[] } | undefined;
  const flush = () => {
    if (current === undefined) return;
    const base = current.offset;
    out.push({
      offset: base,
      length: current.end - base,
      members: current.members.map((m) => ({ item: m.item, start: m.offset - base, length: m.length })),
    });
  };
  for (const range of sorted) {
    const end = range.offset + range.length;
    const overlaps = current !== undefined && range.offset < current.end;
    const near = current !== undefined && range.offset - current.end <= maxGap && Math.max(end, current.end) - current.offset <= maxLength;
    if (current !== undefined && (overlaps || near)) {
      current.end = Math.max(current.end, end);
      current.members.push(range);
    } else {
      flush();
      current = { offset: range.offset, end, members: [range] };
    }
  }
  flush();
  return out;
}

function plainSpec(spec: CodecSpec): CodecSpec {
  return spec.configuration === undefined ? { name: spec.name } : { name: spec.name, configuration: { ...spec.configuration } };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
