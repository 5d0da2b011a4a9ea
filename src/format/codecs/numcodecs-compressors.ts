/**
 * numcodecs' compressors and checksums as Zarr v3 bytes→bytes codecs, each with numcodecs' own
 * framing, so chunks of Zarr v2 arrays (`"compressor": {"id": "zlib", ...}`) and of zarr-python 3
 * arrays naming `numcodecs.<id>` decode, and what dosna writes decodes in numcodecs:
 *
 * - `numcodecs.zlib` {level}: a zlib stream (RFC 1950); `numcodecs.gzip` {level}: a gzip member;
 * - `numcodecs.zstd` {level, checksum}: one zstd frame recording its content size (numcodecs
 *   needs it to decode), on the zstd codec's backend;
 * - `numcodecs.lz4` {acceleration}: the decoded size as a 4-byte little-endian header, then one
 *   LZ4 block (the block codec Blosc uses, blosc/lz4-block.ts; `acceleration` only trades ratio
 *   for speed in liblz4 and is accepted and ignored);
 * - `numcodecs.blosc` {cname, clevel, shuffle, blocksize}: Blosc 1 (blosc.ts), shuffle as
 *   numcodecs' numbers: -1 auto (bit shuffle for 1-byte elements, else byte shuffle), 0 none,
 *   1 byte, 2 bit; the type size is `typesize` (numcodecs ≥ 0.16) or else the element size;
 * - `numcodecs.crc32`, `numcodecs.adler32` {location}: the 4-byte little-endian checksum before
 *   the data (numcodecs ≥ 0.13 also allows "end").
 */
import { promisify } from "node:util";
import { deflate, inflate } from "node:zlib";
import { bytesPerElement } from "../dataType.js";
import { decodeLz4Block, encodeLz4Block } from "./blosc/lz4-block.js";
import { checkKeys, type Configuration, integerField } from "./numcodecs-config.js";
import { type BytesToBytesCodec, type CodecContext, CodecConfigurationError, codecDefinition, registerCodec } from "./registry.js";

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** numcodecs' default level for zlib, gzip and zstd. */
const NUMCODECS_LEVEL = 1;

const decodedSizeOf = (context: CodecContext) => context.chunkShape.reduce((a, b) => a * b, bytesPerElement(context.dataType));

const asBytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Another registered codec built with `configuration` (dosna's own gzip, zstd and blosc). */
function delegate(name: string, configuration: Record<string, unknown>, context: CodecContext): BytesToBytesCodec {
  const definition = codecDefinition(name);
  if (definition === undefined) throw new Error(`codec "${name}" is not registered`);
  return definition.create(configuration, context) as BytesToBytesCodec;
}

function createZlib(configuration: Configuration, context: CodecContext): BytesToBytesCodec {
  checkKeys(configuration, ["level"]);
  const level = integerField(configuration, "level", -1, 9, NUMCODECS_LEVEL);
  const chunkSize = Math.max(64 * 1024, decodedSizeOf(context));
  return {
    kind: "bytes_to_bytes",
    encode: async (bytes) => asBytes(await deflateAsync(bytes, { level })),
    decode: async (bytes) => asBytes(await inflateAsync(bytes, { chunkSize })),
  };
}

function createGzip(configuration: Configuration, context: CodecContext): BytesToBytesCodec {
  checkKeys(configuration, ["level"]);
  const level = integerField(configuration, "level", 0, 9, NUMCODECS_LEVEL);
  return delegate("gzip", { level }, context);
}

function createZstd(configuration: Configuration, context: CodecContext): BytesToBytesCodec {
  checkKeys(configuration, ["level", "checksum"]);
  return delegate("zstd", { level: configuration?.level ?? NUMCODECS_LEVEL, checksum: configuration?.checksum ?? false }, context);
}

const LZ4_HEADER_BYTES = 4;

function createLz4(configuration: Configuration, context: CodecContext): BytesToBytesCodec {
  checkKeys(configuration, ["acceleration"]);
  integerField(configuration, "acceleration", -(2 ** 31), 2 ** 31 - 1, 1);
  // room for a bytes→bytes codec before this one that adds a little (a checksum, say)
  const maxBytes = decodedSizeOf(context) + 1024;
  return {
    kind: "bytes_to_bytes",
    async encode(bytes: Uint8Array): Promise<Uint8Array> {
      const block = encodeLz4Block(bytes);
      const out = new Uint8Array(LZ4_HEADER_BYTES + block.length);
      new DataView(out.buffer).setUint32(0, bytes.length, true);
      out.set(block, LZ4_HEADER_BYTES);
      return out;
    },
    async decode(bytes: Uint8Array): Promise<Uint8Array> {
      if (bytes.length < LZ4_HEADER_BYTES) throw new Error(`${bytes.length} bytes is too short for numcodecs' lz4 header (4 bytes)`);
      const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
      if (size > maxBytes) throw new Error(`lz4 header declares ${size} decoded bytes, more than the ${maxBytes} this chunk can hold`);
      const out = new Uint8Array(size);
      decodeLz4Block(bytes.subarray(LZ4_HEADER_BYTES), out);
      return out;
    },
  };
}

/** numcodecs' Blosc shuffle numbers → the blosc codec's names; -1 (auto) depends on the element size. */
const BLOSC_SHUFFLE_NAMES: Record<number, string> = { 0: "noshuffle", 1: "shuffle", 2: "bitshuffle" };

function createBlosc(configuration: Configuration, context: CodecContext): BytesToBytesCodec {
  // numcodecs ≥ 0.16 may record the typesize; before, the element size of the data is used
  checkKeys(configuration, ["cname", "clevel", "shuffle", "blocksize", "typesize"]);
  const itemSize = configuration?.typesize == null ? bytesPerElement(context.dataType) : integerField(configuration, "typesize", 1, 255);
  const shuffle = configuration?.shuffle ?? 1;
  if (shuffle !== -1 && !(typeof shuffle === "number" && shuffle in BLOSC_SHUFFLE_NAMES)) {
    throw new CodecConfigurationError(`shuffle must be -1 (auto), 0 (none), 1 (byte shuffle) or 2 (bit shuffle), got ${JSON.stringify(shuffle)}`);
  }
  const shuffleName = shuffle === -1 ? (itemSize === 1 ? "bitshuffle" : "shuffle") : BLOSC_SHUFFLE_NAMES[shuffle];
  return delegate(
    "blosc",
    {
      cname: configuration?.cname ?? "lz4",
      clevel: configuration?.clevel ?? 5,
      shuffle: shuffleName,
      typesize: Math.min(itemSize, 255),
      blocksize: configuration?.blocksize ?? 0,
    },
    context,
  );
}

/** The reflected CRC-32 table (polynomial 0xEDB88320), as zlib's crc32. */
const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    table[b] = crc >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = (crc >>> 8) ^ CRC32_TABLE[(crc ^ bytes[i]) & 0xff];
  return (crc ^ 0xffffffff) >>> 0;
}

export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most that can be summed before b may exceed 2^53 (zlib's NMAX, with margin)
  for (let start = 0; start < bytes.length; start += 5552) {
    const end = Math.min(bytes.length, start + 5552);
    for (let i = start; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function checksumCodec(name: string, checksum: (bytes: Uint8Array) => number) {
  return (configuration: Configuration): BytesToBytesCodec => {
    checkKeys(configuration, ["location"]);
    const location = configuration?.location ?? "start";
    if (location !== "start" && location !== "end") throw new CodecConfigurationError(`location must be "start" or "end", got ${JSON.stringify(location)}`);
    const at = (length: number) => (location === "start" ? 0 : length);
    return {
      kind: "bytes_to_bytes",
      async encode(bytes: Uint8Array): Promise<Uint8Array> {
        const out = new Uint8Array(bytes.length + 4);
        out.set(bytes, location === "start" ? 4 : 0);
        new DataView(out.buffer).setUint32(at(bytes.length), checksum(bytes), true);
        return out;
      },
      async decode(bytes: Uint8Array): Promise<Uint8Array> {
        if (bytes.length < 4) throw new Error(`${bytes.length} bytes is too short to hold a 4-byte ${name} checksum`);
        const payload = location === "start" ? bytes.subarray(4) : bytes.subarray(0, bytes.length - 4);
        const stored = new DataView(bytes.buffer, bytes.byteOffset + at(payload.length), 4).getUint32(0, true);
        const actual = checksum(payload);
        if (stored !== actual) {
          throw new Error(`${name} checksum mismatch: stored 0x${stored.toString(16).padStart(8, "0")}, computed 0x${actual.toString(16).padStart(8, "0")} (the chunk was altered or truncated)`);
        }
        return payload;
      },
    };
  };
}

for (const [name, create] of [
  ["numcodecs.zlib", createZlib],
  ["numcodecs.gzip", createGzip],
  ["numcodecs.zstd", createZstd],
  ["numcodecs.lz4", createLz4],
  ["numcodecs.blosc", createBlosc],
  ["numcodecs.crc32", checksumCodec("crc32", crc32)],
  ["numcodecs.adler32", checksumCodec("adler32", adler32)],
] as const) {
  registerCodec({ name, kind: "bytes_to_bytes", create });
}
