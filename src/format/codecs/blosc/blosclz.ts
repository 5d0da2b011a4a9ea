/**
 * The BloscLZ stream format (a FastLZ variant), Blosc's own default compressor: a checked decoder.
 *
 * A stream is a sequence of instructions, each starting with a control byte c:
 * - c < 32: the next c + 1 bytes are literals;
 * - c ≥ 32: a back-reference of (c >> 5) + 2 bytes (length 7 + 2 continues in following bytes,
 *   each adding its value, until one is not 255), at distance ((c & 31) << 8) + next byte + 1;
 *   a distance byte of 255 with high bits 31 means a 16-bit far distance follows (+ 8191).
 * The first control byte carries a format marker in its top 3 bits and is always a literal run.
 */
const MAX_DISTANCE = 8191;

/** Decodes `src` into exactly `dst.length` bytes; throws on anything malformed or a size mismatch. */
export function decodeBloscLz(src: Uint8Array, dst: Uint8Array): void {
  const srcEnd = src.length;
  const dstEnd = dst.length;
  if (srcEnd === 0) throw new Error("empty blosclz stream");
  let ip = 0;
  let op = 0;
  let ctrl = src[ip++] & 31;
  for (;;) {
    if (ctrl >= 32) {
      let length = (ctrl >> 5) - 1;
      const high = (ctrl & 31) << 8;
      if (length === 6) {
        let b: number;
        do {
          if (ip >= srcEnd) throw new Error("blosclz stream ends inside a match length");
          b = src[ip++];
          length += b;
        } while (b === 255);
      }
      if (ip >= srcEnd) throw new Error("blosclz stream ends inside a match distance");
      const code = src[ip++];
      let distance = high + code;
      if (code === 255 && high === 31 << 8) {
        if (ip + 2 > srcEnd) throw new Error("blosclz stream ends inside a far match distance");
        distance = ((src[ip] << 8) | src[ip + 1]) + MAX_DISTANCE;
        ip += 2;
      }
      length += 3;
      const from = op - distance - 1;
      if (from < 0) throw new Error(`blosclz match distance ${distance + 1} points before the start of the output (at ${op})`);
      if (op + length > dstEnd) throw new Error(`blosclz stream decodes to more than the expected ${dstEnd} bytes`);
      for (let f = from, end = op + length; op < end; ) dst[op++] = dst[f++];
    } else {
      const length = ctrl + 1;
      if (ip + length > srcEnd) throw new Error(`blosclz literal run of ${length} bytes runs past the end of the stream`);
      if (op + length > dstEnd) throw new Error(`blosclz stream decodes to more than the expected ${dstEnd} bytes`);
      for (let i = 0; i < length; i++) dst[op++] = src[ip++];
    }
    if (ip >= srcEnd) break;
    ctrl = src[ip++];
  }
  if (op !== dstEnd) throw new Error(`blosclz stream decodes to ${op} bytes, expected ${dstEnd}`);
}
