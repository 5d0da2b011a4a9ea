import { DtypeError } from "../errors.js";

/** The element types dosna stores (Zarr v3 core data type names). */
export type DataType =
  | "bool"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float32"
  | "float64";

export type TypedArray =
  | Uint8Array<ArrayBuffer>
  | Int8Array<ArrayBuffer>
  | Int16Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | BigInt64Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | BigUint64Array<ArrayBuffer>
  | Float32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>;

/** Any typed array dosna accepts as input, whatever buffer it views (subarrays, Node Buffers, shared memory). */
export type TypedArrayLike =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** One element as callers pass it: booleans for bool, bigint (or safe integers) for 64-bit types. */
export type Scalar = number | bigint | boolean;

export type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export const DATA_TYPES: readonly DataType[] = [
  "bool",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float32",
  "float64",
];

const CONSTRUCTORS: Record<DataType, TypedArrayConstructor> = {
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

/** numpy kind letter + item size ("f4", "i8", "b1") → data type. */
const NUMPY_TYPESTRS: Record<string, DataType> = {
  b1: "bool",
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  u1: "uint8",
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  f4: "float32",
  f8: "float64",
};

/** numpy one-character type codes (case-sensitive: "b" is int8, "B" is uint8). Linux C sizes. */
const NUMPY_CHAR_CODES: Record<string, DataType> = {
  "?": "bool",
  b: "int8",
  B: "uint8",
  h: "int16",
  H: "uint16",
  i: "int32",
  I: "uint32",
  l: "int64",
  L: "uint64",
  q: "int64",
  Q: "uint64",
  f: "float32",
  d: "float64",
};

/** Names, matched case-insensitively: Zarr names, numpy names and C-ish aliases. */
const NAMED_ALIASES: Record<string, DataType> = {
  bool: "bool",
  bool_: "bool",
  boolean: "bool",
  int8: "int8",
  byte: "int8",
  int16: "int16",
  short: "int16",
  int32: "int32",
  intc: "int32",
  int64: "int64",
  int: "int64",
  int_: "int64",
  long: "int64",
  longlong: "int64",
  intp: "int64",
  uint8: "uint8",
  ubyte: "uint8",
  uint16: "uint16",
  ushort: "uint16",
  uint32: "uint32",
  uintc: "uint32",
  uint64: "uint64",
  uint: "uint64",
  ulong: "uint64",
  ulonglong: "uint64",
  uintp: "uint64",
  float32: "float32",
  single: "float32",
  float64: "float64",
  float: "float64",
  float_: "float64",
  double: "float64",
};

const ALLOWED_SPELLINGS =
  `${DATA_TYPES.join(", ")} (or numpy spellings such as "<f4", "f8", "|b1", "?", "i2", ">u8", "double")`;

/**
 * The data type named by `name`: a Zarr v3 name or a numpy spelling. Byte-order prefixes
 * ("<", ">", "=", "|") are accepted and ignored: dosna always stores little endian.
 */
export function parseDataType(name: string, what = "dtype"): DataType {
  if (typeof name !== "string") {
    throw new DtypeError(`${what} must be a string naming a data type, got ${describe(name)}; allowed: ${ALLOWED_SPELLINGS}`);
  }
  const trimmed = name.trim();
  const own = <T>(table: Record<string, T>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);
  const charCode = own(NUMPY_CHAR_CODES, trimmed);
  if (charCode !== undefined) return charCode;
  const withoutOrder = /^[<>=|]/.test(trimmed) ? trimmed.slice(1) : trimmed;
  const typestr = own(NUMPY_TYPESTRS, withoutOrder);
  if (typestr !== undefined) return typestr;
  if (withoutOrder !== trimmed) {
    const prefixedCode = own(NUMPY_CHAR_CODES, withoutOrder);
    if (prefixedCode !== undefined) return prefixedCode;
  }
  const named = Object.hasOwn(NAMED_ALIASES, trimmed.toLowerCase()) ? NAMED_ALIASES[trimmed.toLowerCase()] : undefined;
  if (named !== undefined && withoutOrder === trimmed) return named;
  throw new DtypeError(`${what} ${JSON.stringify(name)} is not a supported data type; allowed: ${ALLOWED_SPELLINGS}`);
}

/** True for the exact Zarr v3 names dosna supports (what `data_type` in zarr.json may hold). */
export function isDataType(name: unknown): name is DataType {
  return typeof name === "string" && (DATA_TYPES as readonly string[]).includes(name);
}

/** The data type of a numpy kind-and-size code without byte order ("f4", "i8", "b1"), or undefined. */
export function dataTypeOfNumpyTypestr(kindSize: string): DataType | undefined {
  return Object.hasOwn(NUMPY_TYPESTRS, kindSize) ? NUMPY_TYPESTRS[kindSize] : undefined;
}

/** numpy's kind-and-size code of a data type, without byte order ("float32" → "f4", "bool" → "b1"). */
export function numpyTypestrOf(dt: DataType): string {
  return Object.entries(NUMPY_TYPESTRS).find(([, d]) => d === dt)![0];
}

export function bytesPerElement(dt: DataType): number {
  return CONSTRUCTORS[dt].BYTES_PER_ELEMENT;
}

export function typedArrayConstructorFor(dt: DataType): TypedArrayConstructor {
  return CONSTRUCTORS[dt];
}

/** A zero-filled typed array for `length` elements (bool is stored one byte per element). */
export function allocateTypedArray(dt: DataType, length: number): TypedArray {
  return new CONSTRUCTORS[dt](length);
}

/** The data type a typed array holds; a Uint8Array reads as uint8 (bool is not distinguishable). */
export function dataTypeOfTypedArray(a: TypedArrayLike): DataType {
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint16Array) return "uint16";
  if (a instanceof Uint32Array) return "uint32";
  if (a instanceof BigUint64Array) return "uint64";
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  throw new DtypeError(`unsupported typed array ${describe(a)}; expected one of ${DATA_TYPES.join(", ")}`);
}

/** True when `a` can serve as the in-memory buffer of a `dt` array. */
export function typedArrayMatches(a: TypedArray, dt: DataType): boolean {
  return a instanceof CONSTRUCTORS[dt];
}

export function isIntegerType(dt: DataType): boolean {
  return dt !== "bool" && dt !== "float32" && dt !== "float64";
}

export function isBigIntType(dt: DataType): dt is "int64" | "uint64" {
  return dt === "int64" || dt === "uint64";
}

export function isFloatType(dt: DataType): dt is "float32" | "float64" {
  return dt === "float32" || dt === "float64";
}

/** Inclusive bounds of an integer type, as bigints. */
export function integerRange(dt: DataType): { min: bigint; max: bigint } {
  const bits = BigInt(bytesPerElement(dt) * 8);
  if (dt.startsWith("uint")) return { min: 0n, max: (1n << bits) - 1n };
  return { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n };
}

export function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) {
    const shown = v.slice(0, 8).map(describe).join(", ");
    return `[${shown}${v.length > 8 ? ", ..." : ""}]`;
  }
  if (typeof v === "number" && Object.is(v, -0)) return "-0";
  if (v !== null && typeof v === "object") {
    const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }
  return String(v);
}
