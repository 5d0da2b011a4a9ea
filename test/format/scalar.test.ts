import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DtypeError } from "../../src/errors.js";
import {
  coerceScalar,
  convertArray,
  type DataType,
  defaultFillValue,
  type Scalar,
  typedArrayConstructorFor,
} from "../../src/format/index.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const elements = (a: ArrayLike<number | bigint>): (number | bigint)[] => Array.from(a);

const INTEGER_TYPES = PLAIN_DATA_TYPES.filter((dt) => dt.includes("int"));
const BIG_TYPES: DataType[] = ["int64", "uint64"];

/** Independent reference: an integer fits when storing it in the real typed array gives it back. */
function fitsByRoundTrip(dt: DataType, v: bigint): boolean {
  if (BIG_TYPES.includes(dt)) {
    const a = new (typedArrayConstructorFor(dt) as BigInt64ArrayConstructor)(1);
    a[0] = v;
    return a[0] === v;
  }
  if (v > 2n ** 40n || v < -(2n ** 40n)) return false;
  const a = new (typedArrayConstructorFor(dt) as Int32ArrayConstructor)(1);
  a[0] = Number(v);
  return a[0] === Number(v);
}

describe("coerceScalar", () => {
  it.each([...INTEGER_TYPES])("%s: accepts exactly the integers the type holds", (dt) => {
    const bits = BigInt(typedArrayConstructorFor(dt).BYTES_PER_ELEMENT * 8);
    const signed = !dt.startsWith("u");
    const min = signed ? -(1n << (bits - 1n)) : 0n;
    const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    for (const v of [min - 1n, min, min + 1n, 0n, max - 1n, max, max + 1n]) {
      const fits = fitsByRoundTrip(dt, v);
      if (fits) {
        expect(coerceScalar(dt, v)).toBe(BIG_TYPES.includes(dt) ? v : Number(v));
      } else {
        expect(() => coerceScalar(dt, v, "value")).toThrow(DtypeError);
        expect(() => coerceScalar(dt, v, "value")).toThrow(new RegExp(`value ${v}n is out of range for data type ${dt} \\(${min} to ${max}\\)`));
      }
    }
  });

  it("agrees with the typed-array round trip on random integers (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...INTEGER_TYPES), fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }), (dt, v) => {
        const fits = fitsByRoundTrip(dt, v);
        let accepted = true;
        try {
          coerceScalar(dt, v);
        } catch (e) {
          expect(e).toBeInstanceOf(DtypeError);
          accepted = false;
        }
        expect(accepted).toBe(fits);
      }),
      { numRuns: 2000 },
    );
  });

  it("converts numbers to bigints for 64-bit types and rejects non-integers", () => {
    expect(coerceScalar("int64", 5)).toBe(5n);
    expect(coerceScalar("uint64", 2 ** 53)).toBe(2n ** 53n);
    expect(coerceScalar("int32", 7n)).toBe(7);
    expect(() => coerceScalar("int64", 1.5, "fillValue")).toThrow(/fillValue 1.5 is not an integer, as data type int64 requires/);
    expect(() => coerceScalar("int16", NaN)).toThrow(DtypeError);
    expect(() => coerceScalar("uint8", Infinity)).toThrow(DtypeError);
    expect(() => coerceScalar("uint8", -1)).toThrow(/-1 is out of range for data type uint8 \(0 to 255\)/);
  });

  it("handles booleans and bool", () => {
    expect(coerceScalar("bool", true)).toBe(1);
    expect(coerceScalar("bool", false)).toBe(0);
    expect(coerceScalar("bool", 1)).toBe(1);
    expect(coerceScalar("bool", 0n)).toBe(0);
    expect(() => coerceScalar("bool", 2)).toThrow(/2 is not a bool/);
    expect(coerceScalar("int8", true)).toBe(1);
    expect(coerceScalar("uint64", true)).toBe(1n);
    expect(coerceScalar("float32", false)).toBe(0);
  });

  it("passes floats through", () => {
    expect(coerceScalar("float32", 1.5)).toBe(1.5);
    expect(coerceScalar("float64", NaN)).toBeNaN();
    expect(coerceScalar("float64", -Infinity)).toBe(-Infinity);
    expect(coerceScalar("float64", 3n)).toBe(3);
  });

  it("rejects values of the wrong kind", () => {
    expect(() => coerceScalar("float64", "1" as unknown as number)).toThrow(DtypeError);
    expect(() => coerceScalar("int32", null as unknown as number)).toThrow(DtypeError);
  });
});

describe("defaultFillValue", () => {
  it.each([...PLAIN_DATA_TYPES])("%s", (dt) => {
    const expected: Scalar = dt === "bool" ? false : BIG_TYPES.includes(dt) ? 0n : 0;
    expect(defaultFillValue(dt)).toBe(expected);
  });
});

describe("convertArray", () => {
  it("matches element-wise coerceScalar on random input (property)", () => {
    const element = fc.oneof(
      fc.integer({ min: -70000, max: 70000 }),
      fc.double(),
      fc.boolean(),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...PLAIN_DATA_TYPES), fc.array(element, { maxLength: 12 }), (dt, values) => {
        let expected: (number | bigint)[] | "error";
        try {
          expected = values.map((v) => coerceScalar(dt, v));
        } catch {
          expected = "error";
        }
        if (expected === "error") {
          expect(() => convertArray(values, dt)).toThrow(DtypeError);
        } else {
          const out = convertArray(values, dt);
          expect(out).toBeInstanceOf(typedArrayConstructorFor(dt));
          const reference = new (typedArrayConstructorFor(dt) as Float64ArrayConstructor)(expected as number[]);
          expect(Array.from(out as Float64Array)).toEqual(Array.from(reference));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("copies typed arrays, range-checking where the target is narrower", () => {
    const source = new Int16Array([-3, 0, 300]);
    const widened = convertArray(source, "int32");
    expect(elements(widened)).toEqual([-3, 0, 300]);
    source[0] = 9;
    expect(widened[0]).toBe(-3);
    expect(elements(convertArray(new Float64Array([1.25, -2]), "float32"))).toEqual([1.25, -2]);
    expect(elements(convertArray(new Int32Array([1, 2]), "int64"))).toEqual([1n, 2n]);
    expect(() => convertArray(source, "uint8")).toThrow(/value\[2\] 300 is out of range for data type uint8/);
    expect(() => convertArray(new Float64Array([1, 2.5]), "int32", "data")).toThrow(/data\[1\] 2.5 is not an integer/);
    expect(elements(convertArray(new Uint8Array([0, 1, 1]), "bool"))).toEqual([0, 1, 1]);
    expect(() => convertArray(new Uint8Array([0, 2]), "bool")).toThrow(/\[1\] 2 is not a bool/);
    expect(elements(convertArray(new BigInt64Array([5n, -1n]), "int8"))).toEqual([5, -1]);
  });
});
