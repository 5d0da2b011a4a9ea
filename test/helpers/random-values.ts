/** Random elements of every data type, drawn from a seeded generator, for property tests. */
import type * as dn from "../../src/index.js";

export type Element = number | bigint;
export type ElementArray = ArrayLike<Element> & { [i: number]: Element; length: number };
export type ElementArrayCtor = new (length: number) => ElementArray;

export const ELEMENT_CTORS: Record<dn.DataType, ElementArrayCtor> = {
  bool: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

const INT_BITS: Partial<Record<dn.DataType, [bits: number, signed: boolean]>> = {
  int8: [8, true],
  int16: [16, true],
  int32: [32, true],
  int64: [64, true],
  uint8: [8, false],
  uint16: [16, false],
  uint32: [32, false],
  uint64: [64, false],
};

/**
 * A random element as stored in `dtype`'s typed array: 0/1 for bool, bigint for 64-bit types.
 * Integers favour the extremes now and then; floats include NaN and ±Infinity but never -0 (a
 * chunk of -0 and a fill value of 0 compare equal, so it may be dropped as "all fill").
 */
export function randomElement(dtype: dn.DataType, next: () => number): Element {
  if (dtype === "bool") return next() < 0.5 ? 0 : 1;
  if (dtype === "float32" || dtype === "float64") {
    const r = next();
    if (r < 0.04) return NaN;
    if (r < 0.07) return Infinity;
    if (r < 0.1) return -Infinity;
    const value = (next() - 0.5) * 2000;
    const rounded = dtype === "float32" ? Math.fround(value) : value;
    return rounded === 0 ? 0 : rounded;
  }
  const [bits, signed] = INT_BITS[dtype]!;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const r = next();
  let value: bigint;
  if (r < 0.08) value = min;
  else if (r < 0.16) value = max;
  else {
    const span = max - min + 1n;
    const raw = (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32));
    value = min + (raw % span);
  }
  return bits === 64 ? value : Number(value);
}

/** An element as a caller would pass it as a scalar: boolean for bool. */
export function asScalar(dtype: dn.DataType, element: Element): dn.Scalar {
  return dtype === "bool" ? element === 1 : element;
}
