/**
 * The Blosc 1 chunk format (what numcodecs' Blosc, and so zarr-python's `blosc` codec, writes):
 *
 *   header (16 bytes): version, compressor version, flags, typesize,
 *                      nbytes (u32 LE), blocksize (u32 LE), cbytes (u32 LE)
 *   then, unless the MEMCPYED flag says the data follows raw: one u32 start offset per block,
 *   and per block one stream — or, when split, one per byte of the type — each as
 *   [i32 compressed size][compressed bytes]; a size equal to the stream's decoded size means raw.
 *
 * flags: 0x01 byte shuffle, 0x02 memcpyed, 0x04 bit shuffle, 0x10 streams not split,
 * bits 5–7 the compressor format (0 blosclz, 1 lz4/lz4hc, 2 snappy, 3 zlib, 4 zstd).
 *
 * Everything read from the chunk is checked before use; a malformed chunk throws an Error
 * saying what is wrong, which the pipeline turns into a CorruptChunkError naming the key.
 */
import { shuffleBytes, unshuffleBytes } from "../shuffle.js";
import { bitShuffle, bitUnshuffle } from "./bitshuffle.js";

export const BLOSC_CNAMES = ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"] as const;
export type BloscCname = (typeof BLOSC_CNAMES)[number];
export const BLOSC_SHUFFLES = ["noshuffle", "shuffle", "bitshuffle"] as const;
export type BloscShuffle = (typeof BLOSC_SHUFFLES)[number];

/** Compressor format codes (flags bits 5–7) → the stream format's name. */
const FORMATS = ["blosclz", "lz4", "snappy", "zlib", "zstd"] as const;
export type BloscStreamFormat = (typeof FORMATS)[number];

const HEADER_BYTES = 16;
const VERSION = 2;
const DO_SHUFFLE = 0x01;
const MEMCPYED = 0x02;
const DO_BITSHUFFLE = 0x04;
const DONT_SPLIT = 0x10;
/** Blosc splits a block into per-byte streams only for types up to this size ... */
const MAX_SPLITS = 16;
/** ... and only when the block holds at least this many elements. */
const MIN_SPLIT_ELEMENTS = 128;

/** Decodes one stream of a block into exactly `dst.length` bytes, or throws. */
export type StreamDecoder = (src: Uint8Array, dst: Uint8Array) => void;

export interface BloscHeader {
  version: number;
  flags: number;
  typesize: number;
  nbytes: number;
  blocksize: number;
  cbytes: number;
  format: BloscStreamFormat;
}

export function readBloscHeader(frame: Uint8Array): BloscHeader {
  if (frame.length < HEADER_BYTES) throw new Error(`${frame.length} bytes is too short for a blosc chunk (the header alone is ${HEADER_BYTES})`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const version = frame[0];
  const flags = frame[2];
  const typesize = frame[3];
  const nbytes = view.getUint32(4, true);
  const blocksize = view.getUint32(8, true);
  const cbytes = view.getUint32(12, true);
  if (version === 0 || version > VERSION) {
    throw new Error(`blosc format version ${version} is not supported (dosna reads Blosc 1 chunks, versions 1–${VERSION}, as numcodecs and zarr-python write them)`);
  }
  const code = flags >> 5;
  const format = FORMATS[code];
  if (format === undefined) throw new Error(`unknown blosc compressor code ${code} in the header flags (0x${flags.toString(16)})`);
  if (typesize === 0) throw new Error("blosc header has a typesize of 0");
  if (cbytes !== frame.length) throw new Error(`blosc header says the chunk is ${cbytes} bytes, but ${frame.length} were stored (truncated or padded)`);
  return { version, flags, typesize, nbytes, blocksize, cbytes, format };
}

/**
 * The bytes held by the blosc chunk `frame`. `maxBytes` bounds the size the header may claim, so a
 * corrupt header cannot make us allocate gigabytes.
 */
export function decodeBloscFrame(frame: Uint8Array, decoderFor: (format: BloscStreamFormat) => StreamDecoder, maxBytes: number): Uint8Array {
  const header = readBloscHeader(frame);
  const { flags, typesize, nbytes, blocksize } = header;
  if (nbytes > maxBytes) throw new Error(`blosc header declares ${nbytes} decoded bytes, more than the ${maxBytes} this chunk can hold`);
  const out = new Uint8Array(nbytes);
  if (flags & MEMCPYED) {
    if (frame.length !== HEADER_BYTES + nbytes) {
      throw new Error(`blosc chunk stored raw should be ${HEADER_BYTES + nbytes} bytes, got ${frame.length}`);
    }
    out.set(frame.subarray(HEADER_BYTES));
    return out;
  }
  if (nbytes === 0) return out;
  if (blocksize === 0) throw new Error("blosc header has a blocksize of 0");
  const decode = decoderFor(header.format);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const blocks = Math.ceil(nbytes / blocksize);
  const dataStart = HEADER_BYTES + 4 * blocks;
  if (dataStart > frame.length) throw new Error(`blosc chunk of ${frame.length} bytes is too short for the offsets of its ${blocks} blocks`);
  const shuffled = (flags & DO_SHUFFLE) !== 0 && typesize > 1;
  const bitShuffled = (flags & DO_BITSHUFFLE) !== 0;
  const scratch = shuffled || bitShuffled ? new Uint8Array(Math.min(blocksize, nbytes)) : undefined;
  for (let block = 0; block < blocks; block++) {
    const blockStart = block * blocksize;
    const size = Math.min(blocksize, nbytes - blockStart);
    const leftover = size < blocksize;
    const target = out.subarray(blockStart, blockStart + size);
    const streamsOut = scratch ? scratch.subarray(0, size) : target;
    let at = view.getUint32(HEADER_BYTES + 4 * block, true);
    if (at < dataStart || at >= frame.length) throw new Error(`blosc block ${block} starts at byte ${at}, outside the chunk's data (${dataStart}–${frame.length})`);
    const split = (flags & DONT_SPLIT) === 0 && !leftover && typesize <= MAX_SPLITS && size / typesize >= MIN_SPLIT_ELEMENTS;
    const streams = split ? typesize : 1;
    if (size % streams !== 0) throw new Error(`blosc block ${block} of ${size} bytes does not split into ${streams} streams`);
    const streamSize = size / streams;
    for (let s = 0; s < streams; s++) {
      if (at + 4 > frame.length) throw new Error(`blosc block ${block} stream ${s} starts past the end of the chunk`);
      const compressed = view.getInt32(at, true);
      at += 4;
      if (compressed <= 0 || at + compressed > frame.length) {
        throw new Error(`blosc block ${block} stream ${s} claims ${compressed} compressed bytes, but ${frame.length - at} remain`);
      }
      const src = frame.subarray(at, at + compressed);
      const dst = streamsOut.subarray(s * streamSize, (s + 1) * streamSize);
      if (compressed === streamSize) {
        dst.set(src);
      } else {
        try {
          decode(src, dst);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new Error(`blosc block ${block} (compressor "${header.format}"): ${reason}`, { cause: error });
        }
      }
      at += compressed;
    }
    if (shuffled) unshuffleBytes(streamsOut, typesize, target);
    else if (bitShuffled) bitUnshuffleBlock(streamsOut, target, typesize);
  }
  return out;
}

/**
 * Blosc 1 bit-shuffles a block only when it holds a multiple of 8 elements; any other block is
 * stored as it is (checked against chunks written by c-blosc 1.21).
 */
function bitUnshuffleBlock(src: Uint8Array, dst: Uint8Array, typesize: number): void {
  if ((src.length / typesize) % 8 === 0) bitUnshuffle(src, dst, typesize);
  else dst.set(src);
}

function bitShuffleBlock(src: Uint8Array, dst: Uint8Array, typesize: number): void {
  if ((src.length / typesize) % 8 === 0) bitShuffle(src, dst, typesize);
  else dst.set(src);
}

export interface BloscEncodeOptions {
  cname: BloscCname;
  clevel: number;
  shuffle: BloscShuffle;
  typesize: number;
  /** 0 picks one as Blosc does. */
  blocksize: number;
}

/**
 * Compresses one stream; undefined (or a result no smaller) stores it raw. `src` may be reused
 * once the returned promise settles, so an asynchronous encoder must be done with it by then.
 */
export type StreamEncoder = (src: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

const FORMAT_CODE: Record<BloscCname, number> = { blosclz: 0, lz4: 1, lz4hc: 1, snappy: 2, zlib: 3, zstd: 4 };

/**
 * A blosc chunk of `bytes` that any Blosc 1 decoder reads. Streams are never split (flag 0x10),
 * which Blosc itself does for most compressors; a block that does not compress is stored raw, and
 * a chunk that does not compress at all (or clevel 0) is stored memcpyed, as Blosc does.
 */
export async function encodeBloscFrame(bytes: Uint8Array, options: BloscEncodeOptions, encodeStream: StreamEncoder): Promise<Uint8Array> {
  const nbytes = bytes.length;
  const typesize = options.typesize;
  const blocksize = chooseBlocksize(nbytes, options);
  const baseFlags = (FORMAT_CODE[options.cname] << 5) | DONT_SPLIT;
  const shuffleFlag = options.shuffle === "shuffle" ? DO_SHUFFLE : options.shuffle === "bitshuffle" ? DO_BITSHUFFLE : 0;
  if (options.clevel > 0 && nbytes > 0) {
    const blocks = Math.ceil(nbytes / blocksize);
    const parts: Uint8Array[] = [];
    const starts = new Uint32Array(blocks);
    let total = HEADER_BYTES + 4 * blocks;
    const scratch = new Uint8Array(Math.min(blocksize, nbytes));
    for (let block = 0; block < blocks && total < HEADER_BYTES + nbytes; block++) {
      const source = bytes.subarray(block * blocksize, Math.min(nbytes, (block + 1) * blocksize));
      let stream = source;
      if (shuffleFlag === DO_SHUFFLE && typesize > 1) stream = shuffleBytes(source, typesize, scratch.subarray(0, source.length));
      else if (shuffleFlag === DO_BITSHUFFLE) bitShuffleBlock(source, (stream = scratch.subarray(0, source.length)), typesize);
      const compressed = await encodeStream(stream);
      const body = compressed !== undefined && compressed.length < stream.length ? compressed : stream.slice();
      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, body.length, true);
      starts[block] = total;
      parts.push(size, body);
      total += 4 + body.length;
    }
    if (total < HEADER_BYTES + nbytes) {
      const out = new Uint8Array(total);
      writeHeader(out, baseFlags | shuffleFlag, typesize, nbytes, blocksize, total);
      const view = new DataView(out.buffer);
      for (let block = 0; block < blocks; block++) view.setUint32(HEADER_BYTES + 4 * block, starts[block], true);
      let at = HEADER_BYTES + 4 * blocks;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      return out;
    }
  }
  const out = new Uint8Array(HEADER_BYTES + nbytes);
  writeHeader(out, baseFlags | MEMCPYED, typesize, nbytes, blocksize, out.length);
  out.set(bytes, HEADER_BYTES);
  return out;
}

function writeHeader(out: Uint8Array, flags: number, typesize: number, nbytes: number, blocksize: number, cbytes: number): void {
  const view = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  out[0] = VERSION;
  out[1] = 1; // every compressor's stream format version is 1
  out[2] = flags;
  out[3] = typesize;
  view.setUint32(4, nbytes, true);
  view.setUint32(8, blocksize, true);
  view.setUint32(12, cbytes, true);
}

const L1 = 32 * 1024;

/** Blosc 1's block size rule: L1-sized blocks, doubled for the slower codecs, scaled by clevel. */
function chooseBlocksize(nbytes: number, { cname, clevel, typesize, blocksize }: BloscEncodeOptions): number {
  if (nbytes < typesize) return Math.max(nbytes, 1);
  let size: number;
  if (blocksize > 0) {
    size = Math.max(blocksize, 128);
  } else if (nbytes >= L1) {
    size = cname === "lz4hc" || cname === "zlib" || cname === "zstd" ? 2 * L1 : L1;
    if (clevel === 0) size /= 4;
    else if (clevel <= 3) size /= 2;
    else if (clevel === 6) size *= 2;
    else if (clevel >= 7 && clevel < 9) size *= 4;
    else if (clevel === 9) size *= 16;
  } else {
    size = nbytes;
  }
  size = Math.min(size, nbytes);
  return size > typesize ? Math.floor(size / typesize) * typesize : size;
}
