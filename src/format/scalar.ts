import { DtypeError } from "../errors.js";
import {
  allocateTypedArray,
  complexPartType,
  type ComplexScalar,
  type DataType,
  describe,
  type FillValue,
  integerRange,
  isBigIntType,
  isComplexType,
  isFloatType,
  isVariableLengthType,
  type Scalar,
  type TypedArray,
  dataTypeOfTypedArray,
} from "./dataType.js";
import { roundToFloat16 } from "./float16.js";

/** The default fill value of a data type, in its canonical in-memory form. */
export function defaultFillValue(dt: DataType): FillValue {
  if (dt === "bool") return false;
  if (isBigIntType(dt)) return 0n;
  if (isComplexType(dt)) return [0, 0];
  if (dt === "string") return "";
  if (dt === "bytes") return new Uint8Array(0);
  return 0;
}

/**
 * `v` as the element stored in a `dt` typed array: 0/1 for bool, bigint for 64-bit integers,
 * a number otherwise. Integers must be whole and in range (numpy would wrap or truncate; dosna
 * refuses instead). bool accepts only true/false/0/1. For complex types this is one part (re or im).
 */
export function coerceScalar(dt: DataType, v: Scalar, what = "value"): number | bigint {
  return elementCoercer(dt, what)(v, -1);
}

/** The canonical Scalar form of a value for `dt`: boolean for bool, bigint for 64-bit, number otherwise (float16: rounded to it). */
export function canonicalScalar(dt: DataType, v: Scalar, what = "value"): Scalar {
  const element = coerceScalar(dt, v, what);
  if (dt === "float16") return roundToFloat16(element as number);
  return dt === "bool" ? element === 1 : element;
}

/**
 * The canonical form of one element or fill value of any type: for complex `[re, im]` (each part
 * rounded to the part type; a real number has imaginary part 0), otherwise as `canonicalScalar`.
 */
export function canonicalFillValue(dt: DataType, v: FillValue, what = "value"): FillValue {
  if (dt === "string") {
    if (typeof v !== "string") throw new DtypeError(`${what} ${describe(v)} is not a string, as data type string requires`);
    return v;
  }
  if (dt === "bytes") {
    if (!(v instanceof Uint8Array)) throw new DtypeError(`${what} ${describe(v)} is not a Uint8Array (or Buffer), as data type bytes requires`);
    return copyBytes(v);
  }
  if (typeof v === "string") throw new DtypeError(`${what} ${describe(v)} is a string, but data type ${dt} is not string`);
  if (v instanceof Uint8Array) throw new DtypeError(`${what} ${describe(v)} is bytes, but data type ${dt} is not bytes`);
  if (!isComplexType(dt)) {
    if (Array.isArray(v)) throw new DtypeError(`${what} ${describe(v)} is a complex [re, im] pair, but data type ${dt} is not complex`);
    return canonicalScalar(dt, v as Scalar, what);
  }
  const part = complexPartType(dt);
  const round = (x: unknown, which: string): number => {
    if (typeof x !== "number") throw new DtypeError(`${what} ${describe(v)} has a ${which} part that is not a number, for data type ${dt}; expected a number or [re, im]`);
    return part === "float32" ? Math.fround(x) : x;
  };
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new DtypeError(`${what} ${describe(v)} is not a complex number for data type ${dt}; expected [re, im]`);
    return [round(v[0], "real"), round(v[1], "imaginary")];
  }
  if (typeof v === "boolean" || typeof v === "bigint") return [Number(v), 0];
  return [round(v, "real"), 0];
}

/** A plain Uint8Array copy of `bytes` (a Node Buffer or a view into a larger buffer becomes its own small array). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Fill `target` (a `dt` typed array, complex interleaved) with a canonical fill value. */
export function fillElements(target: TypedArray, dt: DataType, value: FillValue): void {
  if (isVariableLengthType(dt)) {
    (target as unknown as Array<string | Uint8Array>).fill(value as string | Uint8Array);
    return;
  }
  if (isComplexType(dt)) {
    const [re, im] = value as ComplexScalar;
    const parts = target as Float32Array | Float64Array;
    if (re === im) {
      parts.fill(re);
      return;
    }
    for (let i = 0; i < parts.length; i += 2) {
      parts[i] = re;
      parts[i + 1] = im;
    }
    return;
  }
  (target as { fill(v: number | bigint): unknown }).fill(coerceScalar(dt, value as Scalar));
}

/** True when a fill value is all zero bits' worth of value (a fresh typed array already holds it). */
export function isZeroFillValue(value: FillValue): boolean {
  if (typeof value === "string") return value === "";
  if (value instanceof Uint8Array) return value.byteLength === 0;
  if (Array.isArray(value)) return value[0] === 0 && value[1] === 0 && !Object.is(value[0], -0) && !Object.is(value[1], -0);
  return value === 0 || value === 0n || value === false;
}

/** The element at `index` of a typed array, in canonical Scalar form (bool → boolean). */
export function scalarFromElement(dt: DataType, element: number | bigint): Scalar {
  return dt === "bool" ? element !== 0 : element;
}

type Coercer = (v: unknown, index: number) => number | bigint;

function where(what: string, index: number): string {
  return index < 0 ? what : `${what}[${index}]`;
}

function elementCoercer(dt: DataType, what: string): Coercer {
  if (isVariableLengthType(dt)) {
    return (v, index) => {
      throw new DtypeError(`${where(what, index)} ${describe(v)} is not ${dt === "string" ? "a string" : "a Uint8Array"}, as data type ${dt} requires`);
    };
  }
  if (dt === "bool") {
    return (v, index) => {
      if (v === true || v === 1 || v === 1n) return 1;
      if (v === false || v === 0 || v === 0n) return 0;
      throw new DtypeError(`${where(what, index)} ${describe(v)} is not a bool; expected true, false, 0 or 1`);
    };
  }
  if (isFloatType(dt) || isComplexType(dt)) {
    return (v, index) => {
      if (typeof v === "number") return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "bigint") return Number(v);
      throw new DtypeError(`${where(what, index)} ${describe(v)} is not a number for data type ${dt}`);
    };
  }
  const { min, max } = integerRange(dt);
  const big = isBigIntType(dt);
  const minN = Number(min);
  const maxN = Number(max);
  const outOfRange = (v: unknown, index: number) =>
    new DtypeError(`${where(what, index)} ${describe(v)} is out of range for data type ${dt} (${min} to ${max})`);
  return (v, index) => {
    if (typeof v === "number") {
      if (!Number.isInteger(v)) {
        throw new DtypeError(`${where(what, index)} ${describe(v)} is not an integer, as data type ${dt} requires`);
      }
      if (big) {
        const b = BigInt(v);
        if (b < min || b > max) throw outOfRange(v, index);
        return b;
      }
      if (v < minN || v > maxN) throw outOfRange(v, index);
      return v === 0 ? 0 : v; // turns -0 into 0
    }
    if (typeof v === "bigint") {
      if (v < min || v > max) throw outOfRange(v, index);
      return big ? v : Number(v);
    }
    if (typeof v === "boolean") return big ? BigInt(v ? 1 : 0) : v ? 1 : 0;
    throw new DtypeError(`${where(what, index)} ${describe(v)} is not an integer for data type ${dt}`);
  };
}

/**
 * A fresh `dt` typed array holding `values` (a flat JS array or any typed array), with the same
 * checks as `coerceScalar` applied to every element.
 */
export function convertArray(values: ArrayLike<number | bigint | boolean>, dt: DataType, what = "value"): TypedArray {
  const out = allocateTypedArray(dt, values.length);
  if (ArrayBuffer.isView(values) && canCopyWithSet(dataTypeOfTypedArray(values as TypedArray), dt)) {
    (out as Float64Array).set(values as Float64Array);
    return out;
  }
  const coerce = elementCoercer(dt, what);
  const target = out as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < values.length; i++) target[i] = coerce(values[i], i);
  return out;
}

/** Whether TypedArray.prototype.set gives the same result as the checked element loop. */
function canCopyWithSet(from: DataType, to: DataType): boolean {
  if (from === to) return true;
  if (isBigIntType(from) || isBigIntType(to) || to === "bool") return false;
  if (isFloatType(to)) return true; // rounding to float32 (float16: on encode) is what storing a number does anyway
  if (isFloatType(from)) return false;
  const a = integerRange(from);
  const b = integerRange(to);
  return a.min >= b.min && a.max <= b.max;
}
