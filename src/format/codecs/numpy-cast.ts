/**
 * numpy's arithmetic as the numcodecs filters use it: `astype` casts (casting="unsafe") and
 * `np.around` (round half to even), element by element on typed arrays.
 *
 * Casts give numpy's result for every value the target type can hold: floats to integers truncate
 * toward zero, integers to integers wrap modulo 2^bits, floats and 64-bit integers round to
 * nearest-even. numpy leaves a float that no integer of the target type can hold (NaN, ±inf, out
 * of range) to the C compiler, so its result differs between machines; here such values wrap
 * like the integers do, and NaN and ±inf become 0.
 */
import { allocateTypedArray, type DataType, isBigIntType, isFloatType, type TypedArray } from "../dataType.js";

type Elements = { [i: number]: number | bigint; length: number };

/** `src` (holding `from` elements) as a new `to` array, as numpy's `src.astype(to)`. */
export function castElements(src: TypedArray, from: DataType, to: DataType): TypedArray {
  const n = src.length;
  const out = allocateTypedArray(to, n);
  const input = src as unknown as Elements;
  const target = out as unknown as Elements;
  if (!isBigIntType(from) && !isBigIntType(to) && to !== "bool") {
    // Storing a Number is numpy's cast: rounding to nearest-even into float32, truncation
    // toward zero and wrapping modulo 2^bits (exact at any magnitude) into integers.
    (out as Float64Array).set(src as Float64Array);
    return out;
  }
  if (to === "bool") {
    for (let i = 0; i < n; i++) target[i] = input[i] === 0 || input[i] === 0n ? 0 : 1;
  } else if (isBigIntType(to)) {
    if (isBigIntType(from)) for (let i = 0; i < n; i++) target[i] = input[i] as bigint;
    else if (isFloatType(from)) for (let i = 0; i < n; i++) target[i] = floatToBigInt(input[i] as number);
    else for (let i = 0; i < n; i++) target[i] = BigInt(input[i] as number);
  } else if (to === "float64") {
    for (let i = 0; i < n; i++) target[i] = Number(input[i] as bigint);
  } else if (to === "float32") {
    for (let i = 0; i < n; i++) target[i] = bigIntToFloat32(input[i] as bigint);
  } else {
    for (let i = 0; i < n; i++) target[i] = Number(BigInt.asIntN(32, input[i] as bigint));
  }
  return out;
}

/** A float truncated toward zero as a bigint (to be wrapped by the 64-bit array it is stored in). */
function floatToBigInt(x: number): bigint {
  return Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
}

/** The float32 nearest `v` (ties to even), without the double rounding of Math.fround(Number(v)). */
export function bigIntToFloat32(v: bigint): number {
  const magnitude = v < 0n ? -v : v;
  if (magnitude <= 2n ** 53n) return Math.fround(Number(v));
  const shift = magnitude.toString(2).length - 24;
  let kept = magnitude >> BigInt(shift);
  const rest = magnitude - (kept << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
  const rounded = Math.fround(Number(kept) * 2 ** shift);
  return v < 0n ? -rounded : rounded;
}

/** numpy's `np.around(x)`: the nearest integer, halves to even (-0.5 → -0). */
export function roundHalfEven(x: number): number {
  return x - Math.floor(x) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}
