import { describe, expect, it } from "vitest";
import { DtypeError } from "../../src/errors.js";
import {
  allocateTypedArray,
  bytesPerElement,
  type DataType,
  dataTypeOfTypedArray,
  parseDataType,
  typedArrayConstructorFor,
} from "../../src/format/index.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

describe("parseDataType", () => {
  const cases: [string, DataType][] = [
    ["bool", "bool"], ["?", "bool"], ["|b1", "bool"], ["b1", "bool"], ["bool_", "bool"],
    ["int8", "int8"], ["i1", "int8"], ["|i1", "int8"], ["b", "int8"], ["byte", "int8"],
    ["int16", "int16"], ["i2", "int16"], ["<i2", "int16"], [">i2", "int16"], ["h", "int16"],
    ["int32", "int32"], ["<i4", "int32"], ["i", "int32"], ["intc", "int32"],
    ["int64", "int64"], ["<i8", "int64"], ["int", "int64"], ["q", "int64"], ["l", "int64"],
    ["uint8", "uint8"], ["u1", "uint8"], ["|u1", "uint8"], ["B", "uint8"], ["ubyte", "uint8"],
    ["uint16", "uint16"], ["<u2", "uint16"], ["H", "uint16"],
    ["uint32", "uint32"], ["u4", "uint32"], ["I", "uint32"],
    ["uint64", "uint64"], ["u8", "uint64"], [">u8", "uint64"], ["Q", "uint64"], ["uint", "uint64"],
    ["float32", "float32"], ["<f4", "float32"], ["f4", "float32"], ["=f4", "float32"], [">f4", "float32"], ["f", "float32"], ["single", "float32"],
    ["float64", "float64"], ["<f8", "float64"], [">f8", "float64"], ["f8", "float64"], ["d", "float64"], ["float", "float64"], ["double", "float64"],
    ["Float32", "float32"], ["UINT16", "uint16"], [" int32 ", "int32"],
  ];
  it.each(cases)("%j → %s", (spelling, expected) => {
    expect(parseDataType(spelling)).toBe(expected);
  });

  it.each(["float128", "f16", "<c32", "g", "G", "S10", "<U4", "object", "", "<int16", "F4", "i3", "E"])(
    "rejects %j with a DtypeError listing the allowed names",
    (spelling) => {
      expect(() => parseDataType(spelling)).toThrow(DtypeError);
      expect(() => parseDataType(spelling)).toThrow(/allowed: bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32, float64, complex64, complex128, string/);
      expect(() => parseDataType(spelling)).toThrow(JSON.stringify(spelling));
    },
  );

  it("names the argument and rejects non-strings", () => {
    expect(() => parseDataType(4 as unknown as string, "dtype of dataset \"a\"")).toThrow(/dtype of dataset "a" must be a string/);
  });
});

describe("typed arrays", () => {
  const expectedSizes: Record<DataType, number> = {
    bool: 1, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, float32: 4, float64: 8,
    float16: 2, complex64: 8, complex128: 16, string: 8, bytes: 8, // not iterated here: see dtypes-extended.test.ts
  };
  it.each([...PLAIN_DATA_TYPES])("%s: size, allocation and round trip of the data type", (dt) => {
    expect(bytesPerElement(dt)).toBe(expectedSizes[dt]);
    const a = allocateTypedArray(dt, 7);
    expect(a.length).toBe(7);
    expect(a.byteLength).toBe(7 * expectedSizes[dt]);
    expect(a).toBeInstanceOf(typedArrayConstructorFor(dt));
    expect(Array.from(a as ArrayLike<number | bigint>).every((x) => x === 0 || x === 0n)).toBe(true);
    expect(dataTypeOfTypedArray(a)).toBe(dt === "bool" ? "uint8" : dt);
  });

  it("bool is stored in a Uint8Array", () => {
    expect(allocateTypedArray("bool", 2)).toBeInstanceOf(Uint8Array);
  });

  it("rejects typed arrays dosna does not store", () => {
    expect(() => dataTypeOfTypedArray(new Uint8ClampedArray(2) as unknown as Uint8Array)).toThrow(DtypeError);
  });
});

describe("parseDataType and inherited object members", () => {
  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])("rejects %s as a data type", (name) => {
    expect(() => parseDataType(name)).toThrow(DtypeError);
  });
});
