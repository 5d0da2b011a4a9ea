/** Random elements of every data type, drawn from a seeded generator, for property tests. */
import type * as dn from "../../src/index.js";
import { integerRange, isBigIntType, type TypedArrayConstructor, typedArrayConstructorFor } from "../../src/format/index.js";
import { PLAIN_DATA_TYPES } from "./data-types.js";

export type Element = number | bigint;
export type ElementArray = ArrayLike<Element> & { [i: number]: Element; length: number };
export type ElementArrayCtor = new (length: number) => ElementArray;

export const ELEMENT_CTORS: Record<dn.DataType, ElementArrayCtor> = Object.fromEntries(
  PLAIN_DATA_TYPES.map((dt) => [dt, typedArrayConstructorFor(dt)]),
) as Record<dn.DataType, TypedArrayConstructor>;

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
  const { min, max } = integerRange(dtype);
  const r = next();
  let value: bigint;
  if (r < 0.08) value = min;
  else if (r < 0.16) value = max;
  else {
    const span = max - min + 1n;
    const raw = (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32));
    value = min + (raw % span);
  }
  return isBigIntType(dtype) ? value : Number(value);
}

/** An element as a caller would pass it as a scalar: boolean for bool. */
export function asScalar(dtype: dn.DataType, element: Element): dn.Scalar {
  return dtype === "bool" ? element === 1 : element;
}

/** How a property test picks a dataset's fill value. */
export type FillKind = "default" | "random" | "special";

/**
 * A fill value of `kind`: none ("default", so the type's own), a random element, or an awkward
 * one ("special": NaN for floats, true for bool, a random element otherwise).
 */
export function fillValueOfKind(dtype: dn.DataType, kind: FillKind, next: () => number): dn.Scalar | undefined {
  if (kind === "default") return undefined;
  if (kind === "special") {
    if (dtype === "float32" || dtype === "float64") return NaN;
    if (dtype === "bool") return true;
  }
  return asScalar(dtype, randomElement(dtype, next));
}

/**
 * `length` elements of `dtype`, each the fill value as a typed array stores it (the type's zero
 * when `fillValue` is undefined), with that stored element.
 */
export function filledElements(dtype: dn.DataType, length: number, fillValue: dn.Scalar | undefined): { elements: ElementArray; fill: Element } {
  const ctor = ELEMENT_CTORS[dtype];
  const elements = new ctor(length);
  const fill = fillValue === undefined ? elements[0] : (() => {
    const one = new ctor(1);
    one[0] = typeof fillValue === "boolean" ? Number(fillValue) : fillValue;
    return one[0];
  })();
  for (let i = 0; i < elements.length; i++) elements[i] = fill;
  return { elements, fill };
}
