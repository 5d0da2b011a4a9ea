/**
 * The LZ4 block format (no frame), as Blosc stores its `lz4` and `lz4hc` streams: a decoder that
 * checks every length and offset against both buffers, and a simple greedy compressor (one hash
 * probe per position) whose output any LZ4 decoder reads.
 */

/** Decodes `src` into exactly `dst.length` bytes; throws on anything malformed or a size mismatch. */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array): void {
  const srcEnd = src.length;
  const dstEnd = dst.length;
  let ip = 0;
  let op = 0;
  for (;;) {
    if (ip >= srcEnd) throw new Error("lz4 stream ends before its last literals");
    const token = src[ip++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw new Error("lz4 stream ends inside a literal length");
        b = src[ip++];
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > srcEnd) throw new Error(`lz4 literal run of ${literals} bytes runs past the end of the stream`);
    if (op + literals > dstEnd) throw new Error(`lz4 stream decodes to more than the expected ${dstEnd} bytes`);
    for (let i = 0; i < literals; i++) dst[op++] = src[ip++];
    if (ip === srcEnd) break; // the last sequence holds literals only
    if (ip + 2 > srcEnd) throw new Error("lz4 stream ends inside a match offset");
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Error(`lz4 match offset ${offset} points before the start of the output (at ${op})`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw new Error("lz4 stream ends inside a match length");
        b = src[ip++];
        length += b;
      } while (b === 255);
    }
    length += 4;
    if (op + length > dstEnd) throw new Error(`lz4 stream decodes to more than the expected ${dstEnd} bytes`);
    if (offset >= length && length > 32) {
      dst.copyWithin(op, op - offset, op - offset + length);
      op += length;
    } else {
      for (let from = op - offset, end = op + length; op < end; ) dst[op++] = dst[from++];
    }
  }
  if (op !== dstEnd) throw new Error(`lz4 stream decodes to ${op} bytes, expected ${dstEnd}`);
}

const MIN_MATCH = 4;
const HASH_BITS = 14;
/** The LZ4 format requires the last 5 bytes to be literals and no match to start in the last 12. */
const LAST_LITERALS = 5;
const MATCH_FIND_LIMIT = 12;

/** One LZ4 block holding `src` (at worst slightly larger than `src`). */
export function encodeLz4Block(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(n + Math.ceil(n / 255) + 16);
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const read32 = (i: number) => src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24);
  const hash = (v: number) => Math.imul(v, 2654435761) >>> (32 - HASH_BITS);
  let op = 0;
  let anchor = 0;
  let ip = 0;
  const matchLimit = n - MATCH_FIND_LIMIT;
  while (ip < matchLimit) {
    const sequence = read32(ip);
    const h = hash(sequence);
    const candidate = table[h];
    table[h] = ip;
    if (candidate < 0 || ip - candidate > 65535 || read32(candidate) !== sequence) {
      ip++;
      continue;
    }
    let length = MIN_MATCH;
    const maxLength = n - LAST_LITERALS - ip;
    while (length < maxLength && src[candidate + length] === src[ip + length]) length++;
    op = writeSequence(out, op, src, anchor, ip - anchor, ip - candidate, length - MIN_MATCH);
    ip += length;
    anchor = ip;
  }
  return out.slice(0, writeLastLiterals(out, op, src, anchor));
}

function writeLength(out: Uint8Array, op: number, extra: number): number {
  for (; extra >= 255; extra -= 255) out[op++] = 255;
  out[op++] = extra;
  return op;
}

function writeSequence(out: Uint8Array, op: number, src: Uint8Array, from: number, literals: number, offset: number, matchExtra: number): number {
  const tokenAt = op++;
  out[tokenAt] = (Math.min(literals, 15) << 4) | Math.min(matchExtra, 15);
  if (literals >= 15) op = writeLength(out, op, literals - 15);
  out.set(src.subarray(from, from + literals), op);
  op += literals;
  out[op++] = offset & 0xff;
  out[op++] = offset >>> 8;
  if (matchExtra >= 15) op = writeLength(out, op, matchExtra - 15);
  return op;
}

function writeLastLiterals(out: Uint8Array, op: number, src: Uint8Array, from: number): number {
  const literals = src.length - from;
  out[op++] = Math.min(literals, 15) << 4;
  if (literals >= 15) op = writeLength(out, op, literals - 15);
  out.set(src.subarray(from), op);
  return op + literals;
}
