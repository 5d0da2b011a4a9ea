/**
 * IEEE 754 binary16 ⇄ binary32, bit-exact, as numpy converts: float32 → float16 rounds to nearest
 * even, overflows to ±Infinity, keeps -0, subnormals and NaN payloads (the top 10 mantissa bits;
 * a NaN whose kept bits are all zero becomes 0x7c01 so it stays a NaN). Works on bit patterns
 * through integer views, because a NaN passed through a JS number may lose its payload.
 *
 * Also the one answer to which typed array holds float16 in memory: Float16Array where the runtime
 * has one (Node 24), Float32Array otherwise (Node 20).
 */

/**
 * The runtime's Float16Array, or undefined. Typed as Float32ArrayConstructor: the ES2022 library
 * has no Float16Array type, and its instances have the same shape (numbers, the same methods).
 */
const nativeFloat16Array = (globalThis as { Float16Array?: unknown }).Float16Array as Float32ArrayConstructor | undefined;

/** The constructor of float16's in-memory typed array: Float16Array where the runtime has one, else Float32Array. */
export function float16ArrayConstructor(): Float32ArrayConstructor {
  return nativeFloat16Array ?? Float32Array;
}

/** True when float16 is held as a Float16Array (2 bytes per element, the stored bits as they are). */
export function hasNativeFloat16(): boolean {
  return nativeFloat16Array !== undefined;
}

/** True when `a` is a Float16Array (never on a runtime without one). */
export function isFloat16Array(a: unknown): boolean {
  return nativeFloat16Array !== undefined && a instanceof nativeFloat16Array;
}

/** float16 bits → float32 bits, one entry per half pattern (256 KiB, built on first use). */
let halfToFloatBits: Uint32Array | undefined;

function buildHalfToFloatTable(): Uint32Array {
  const table = new Uint32Array(65536);
  const asFloat = new Float32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    else if (exponent !== 0) table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    else asFloat[h] = (sign ? -1 : 1) * mantissa * 2 ** -24; // zero or subnormal: exact in float32
  }
  return table;
}

/** The float16 bit pattern nearest to a float32 bit pattern (ties to even). */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    if (mantissa === 0) return sign | 0x7c00;
    return sign | 0x7c00 | (mantissa >>> 13 || 1);
  }
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // below half the smallest subnormal: ±0
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShifted(full, shift);
  }
  // A carry out of the mantissa moves into the exponent, up to Infinity, as it should.
  return sign | (((halfExponent << 10) | (mantissa >>> 13)) + roundingCarry(mantissa, 13, mantissa >>> 13));
}

function roundShifted(value: number, shift: number): number {
  const kept = value >>> shift;
  return kept + roundingCarry(value, shift, kept);
}

/** 1 when dropping the low `shift` bits of `value` must round `kept` up (nearest, ties to even). */
function roundingCarry(value: number, shift: number, kept: number): number {
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0;
}

/** Float32 values (as the in-memory form of a float16 array holds them) → float16 bit patterns. */
export function float32ToFloat16Bits(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToFloat16Bits(bits[i]);
  return out;
}

/** float16 bit patterns → their exact float32 values. */
export function float16BitsToFloat32(halves: Uint16Array, out: Float32Array<ArrayBuffer> = new Float32Array(halves.length)): Float32Array<ArrayBuffer> {
  const table = (halfToFloatBits ??= buildHalfToFloatTable());
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < halves.length; i++) bits[i] = table[halves[i]];
  return out;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

const nativeScratch = nativeFloat16Array === undefined ? undefined : new nativeFloat16Array(1);

/**
 * `v` rounded to the nearest float16 value, as storing it in the in-memory array does: directly
 * (ties to even) into a Float16Array, or through float32 where float16 is held as float32.
 */
export function roundToFloat16(v: number): number {
  if (nativeScratch !== undefined) {
    nativeScratch[0] = v;
    return nativeScratch[0];
  }
  scratch[0] = v;
  const table = (halfToFloatBits ??= buildHalfToFloatTable());
  scratchBits[0] = table[float32BitsToFloat16Bits(scratchBits[0])];
  return scratch[0];
}

/** The float16 value of a bit pattern. */
export function float16FromBits(bits: number): number {
  const table = (halfToFloatBits ??= buildHalfToFloatTable());
  scratchBits[0] = table[bits & 0xffff];
  return scratch[0];
}
