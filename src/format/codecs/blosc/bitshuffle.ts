/**
 * Blosc's bit shuffle (from the bitshuffle library): for n elements of s bytes (n a multiple of
 * 8), bit k of byte j of element i is stored in bit-plane j·8 + k, which holds n/8 bytes; element
 * i sits in byte ⌊i/8⌋ of its plane, at bit i mod 8.
 */

/** Bit-shuffles `src` (n·elementSize bytes, n a multiple of 8) into `dst`. */
export function bitShuffle(src: Uint8Array, dst: Uint8Array, elementSize: number): void {
  const n = src.length / elementSize;
  const planeBytes = n / 8;
  for (let j = 0; j < elementSize; j++) {
    for (let k = 0; k < 8; k++) {
      const plane = (j * 8 + k) * planeBytes;
      for (let q = 0; q < planeBytes; q++) {
        let v = 0;
        for (let m = 0, at = q * 8 * elementSize + j; m < 8; m++, at += elementSize) v |= ((src[at] >> k) & 1) << m;
        dst[plane + q] = v;
      }
    }
  }
}

/** The inverse of bitShuffle; `dst` must be zero-filled. */
export function bitUnshuffle(src: Uint8Array, dst: Uint8Array, elementSize: number): void {
  const n = src.length / elementSize;
  const planeBytes = n / 8;
  for (let j = 0; j < elementSize; j++) {
    for (let k = 0; k < 8; k++) {
      const plane = (j * 8 + k) * planeBytes;
      for (let q = 0; q < planeBytes; q++) {
        const v = src[plane + q];
        if (v === 0) continue;
        for (let m = 0, at = q * 8 * elementSize + j; m < 8; m++, at += elementSize) dst[at] |= ((v >> m) & 1) << k;
      }
    }
  }
}
