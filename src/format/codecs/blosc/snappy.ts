/** The raw Snappy format (no framing), as Blosc stores its `snappy` streams: a checked decoder. */

/** Decodes `src` into exactly `dst.length` bytes; throws on anything malformed or a size mismatch. */
export function decodeSnappy(src: Uint8Array, dst: Uint8Array): void {
  let ip = 0;
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (ip >= src.length || shift > 28) throw new Error("snappy stream has a malformed length preamble");
    const b = src[ip++];
    declared += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (declared !== dst.length) throw new Error(`snappy stream declares ${declared} bytes, expected ${dst.length}`);
  let op = 0;
  while (ip < src.length) {
    const tag = src[ip++];
    const kind = tag & 3;
    if (kind === 0) {
      let length = tag >>> 2;
      if (length >= 60) {
        const bytes = length - 59;
        if (ip + bytes > src.length) throw new Error("snappy stream ends inside a literal length");
        length = 0;
        for (let k = 0; k < bytes; k++) length += src[ip + k] * 2 ** (8 * k);
        ip += bytes;
      }
      length += 1;
      if (ip + length > src.length) throw new Error(`snappy literal of ${length} bytes runs past the end of the stream`);
      if (op + length > dst.length) throw new Error(`snappy stream decodes to more than the expected ${dst.length} bytes`);
      dst.set(src.subarray(ip, ip + length), op);
      ip += length;
      op += length;
      continue;
    }
    let length: number;
    let offset: number;
    if (kind === 1) {
      if (ip + 1 > src.length) throw new Error("snappy stream ends inside a copy");
      length = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[ip++];
    } else if (kind === 2) {
      if (ip + 2 > src.length) throw new Error("snappy stream ends inside a copy");
      length = 1 + (tag >>> 2);
      offset = src[ip] | (src[ip + 1] << 8);
      ip += 2;
    } else {
      if (ip + 4 > src.length) throw new Error("snappy stream ends inside a copy");
      length = 1 + (tag >>> 2);
      offset = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op) throw new Error(`snappy copy offset ${offset} points before the start of the output (at ${op})`);
    if (op + length > dst.length) throw new Error(`snappy stream decodes to more than the expected ${dst.length} bytes`);
    for (let from = op - offset, end = op + length; op < end; ) dst[op++] = dst[from++];
  }
  if (op !== dst.length) throw new Error(`snappy stream decodes to ${op} bytes, expected ${dst.length}`);
}
