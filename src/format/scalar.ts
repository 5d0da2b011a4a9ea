import { DtypeError } from "../errors.js";
import {
  allocateTypedArray,
  type DataType,
  describe,
  integerRange,
  isBigIntType,
  isFloatType,
  type Scalar,
  type TypedArray,
  dataTypeOfTypedArray,
} from "./dataType.js";

/** The default fill value of a data type, in its canonical in-memory form. */
export function defaultFillValue(dt: DataType): Scalar {
  if (dt === "bool") return false;
  if (isBigIntType(dt)) return 0n;
  return 0;
}

/**
 * `v` as the element stored in a `dt` typed array: 0/1 for bool, bigint for 64-bit integers,
 * a number otherwise. Integers must be whole and in range (numpy would wrap or truncate; dosna
 * refuses instead). bool accepts only true/false/0/1.
 */
export function coerceScalar(dt: DataType, v: Scalar, what = "value"): number | bigint {
  return elementCoercer(dt, what)(v, -1);
}

/** The canonical Scalar form of a value for `dt`: boolean for bool, bigint for 64-bit, number otherwise. */
export function canonicalScalar(dt: DataType, v: Scalar, what = "value"): Scalar {
  const element = coerceScalar(dt, v, what);
  return dt === "bool" ? element === 1 : element;
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
  if (dt === "bool") {
    return (v, index) => {
      if (v === true || v === 1 || v === 1n) return 1;
      if (v === false || v === 0 || v === 0n) return 0;
      throw new DtypeError(`${where(what, index)} ${describe(v)} is not a bool; expected true, false, 0 or 1`);
    };
  }
  if (isFloatType(dt)) {
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
  if (isFloatType(to)) return true; // rounding to float32 is what storing a number does anyway
  if (isFloatType(from)) return false;
  const a = integerRange(from);
  const b = integerRange(to);
  return a.min >= b.min && a.max <= b.max;
}
