import { DtypeError } from "../errors.js";
import { float16ArrayConstructor, isFloat16Array } from "./float16.js";

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
  | "float16"
  | "float32"
  | "float64"
  | "complex64"
  | "complex128"
  | "string"
  | "bytes";

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

/** A complex number as `[re, im]`: how complex64/complex128 fill values and elements are given. */
export type ComplexScalar = readonly [re: number, im: number];

/** One element as callers pass it: booleans for bool, bigint (or safe integers) for 64-bit types. */
export type Scalar = number | bigint | boolean;

/** A fill value (or one element) of any data type: a Scalar, `[re, im]` for complex, a string for string, a Uint8Array for bytes. */
export type FillValue = Scalar | ComplexScalar | string | Uint8Array;

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

/**
 * The chunk of a variable-length `string` array: a plain JS array of strings with the few
 * typed-array methods the copy kernels and chunk I/O use. It is passed around as a TypedArray
 * (it is not one: no buffer) so that only the string paths need to know.
 */
export class StringArray extends Array<string> {
  static fromStrings(items: ArrayLike<string>): StringArray {
    const out = new StringArray();
    for (let i = 0; i < items.length; i++) out.push(items[i]);
    return out;
  }
  /** `length` empty strings, as a fresh typed array holds zeros. */
  static filled(length: number, value = ""): StringArray {
    const out = new StringArray();
    for (let i = 0; i < length; i++) out.push(value);
    return out;
  }
  set(items: ArrayLike<string>, offset = 0): void {
    for (let i = 0; i < items.length; i++) this[offset + i] = items[i];
  }
  /** Roughly the memory the strings take (what the chunk cache counts). */
  get byteLength(): number {
    let n = 0;
    for (const s of this) n += 8 + 2 * s.length;
    return n;
  }
  /** Stands in for a typed array's buffer where only its size is asked for (the chunk cache). */
  get buffer(): { byteLength: number } {
    return { byteLength: this.byteLength };
  }
  /** A copy (typed arrays give a view; the copy kernels only read it). */
  subarray(begin = 0, end = this.length): StringArray {
    return StringArray.fromStrings(Array.prototype.slice.call(this, begin, end) as string[]);
  }
}

/**
 * The chunk of a variable-length `bytes` array: a plain JS array of Uint8Array, one per element,
 * with the same few typed-array methods as StringArray (and passed around as a TypedArray too).
 * Elements may be shared between chunks, the chunk cache and what `get` returns: never change one
 * in place (every path that takes bytes in copies them first).
 */
export class BytesArray extends Array<Uint8Array> {
  static fromItems(items: ArrayLike<Uint8Array>): BytesArray {
    const out = new BytesArray();
    for (let i = 0; i < items.length; i++) out.push(items[i]);
    return out;
  }
  /** `length` elements of `value` (empty by default, as a fresh typed array holds zeros). */
  static filled(length: number, value: Uint8Array = EMPTY_BYTES): BytesArray {
    const out = new BytesArray();
    for (let i = 0; i < length; i++) out.push(value);
    return out;
  }
  set(items: ArrayLike<Uint8Array>, offset = 0): void {
    for (let i = 0; i < items.length; i++) this[offset + i] = items[i];
  }
  /** Roughly the memory the elements take (what the chunk cache counts): 8 per reference plus the bytes. */
  get byteLength(): number {
    let n = 0;
    for (const b of this) n += 8 + b.byteLength;
    return n;
  }
  /** Stands in for a typed array's buffer where only its size is asked for (the chunk cache). */
  get buffer(): { byteLength: number } {
    return { byteLength: this.byteLength };
  }
  /** A copy of the element list (the elements themselves are shared; the copy kernels only read it). */
  subarray(begin = 0, end = this.length): BytesArray {
    return BytesArray.fromItems(Array.prototype.slice.call(this, begin, end) as Uint8Array[]);
  }
}

const EMPTY_BYTES = new Uint8Array(0);

/** True for the data types whose elements have no fixed size (string, bytes): chunks are StringArray / BytesArray. */
export function isVariableLengthType(dt: DataType): dt is "string" | "bytes" {
  return dt === "string" || dt === "bytes";
}

/** True when two byte strings hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether every element of a variable-length chunk (StringArray or BytesArray) equals `value`
 * (strings by value, bytes byte for byte).
 */
export function allElementsEqual(chunk: TypedArray, value: string | Uint8Array): boolean {
  const items = chunk as unknown as ArrayLike<string | Uint8Array>;
  if (typeof value === "string") {
    for (let i = 0; i < items.length; i++) if (items[i] !== value) return false;
    return true;
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item !== value && (typeof item === "string" || !sameBytes(item, value))) return false;
  }
  return true;
}

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
  "float16",
  "float32",
  "float64",
  "complex64",
  "complex128",
  "string",
  "bytes",
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
  // float16 is a Float16Array where the runtime has one, else float32 (Node 20); the bytes codec converts then.
  float16: float16ArrayConstructor(),
  float32: Float32Array,
  float64: Float64Array,
  // complex: interleaved [re, im] pairs, two array entries per element.
  complex64: Float32Array,
  complex128: Float64Array,
  string: StringArray as unknown as TypedArrayConstructor,
  bytes: BytesArray as unknown as TypedArrayConstructor,
};

/** Bytes one stored element takes (`bytes` codec, little endian), where it differs from the in-memory array. */
// string and bytes have no fixed size: 8 (numpy's object itemsize) serves chunk-size defaults and buffer hints.
const STORED_SIZES: Partial<Record<DataType, number>> = { float16: 2, complex64: 8, complex128: 16, string: 8, bytes: 8 };

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
  f2: "float16",
  f4: "float32",
  f8: "float64",
  c8: "complex64",
  c16: "complex128",
  T: "string",
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
  e: "float16",
  f: "float32",
  d: "float64",
  F: "complex64",
  D: "complex128",
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
  float16: "float16",
  half: "float16",
  float32: "float32",
  single: "float32",
  float64: "float64",
  float: "float64",
  float_: "float64",
  double: "float64",
  complex64: "complex64",
  csingle: "complex64",
  complex128: "complex128",
  complex: "complex128",
  cdouble: "complex128",
  string: "string",
  str: "string",
  bytes: "bytes",
  // zarr-python 3.1's name of the same data type
  variable_length_bytes: "bytes",
};

const ALLOWED_SPELLINGS =
  `${DATA_TYPES.join(", ")} (or numpy spellings such as "<f4", "f8", "|b1", "?", "i2", ">u8", "double", "e", "c8")`;

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

/**
 * The data type a zarr.json `data_type` member names, or undefined: dosna's names, plus
 * `"variable_length_bytes"` (zarr-python 3.1's name for bytes) and the object form
 * `{"name": "bytes"}` (with an empty or no configuration) the bytes extension allows.
 */
export function dataTypeOfZarrName(json: unknown): DataType | undefined {
  if (isDataType(json)) return json;
  if (json === "variable_length_bytes") return "bytes";
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    const { name, configuration, ...rest } = json as { name?: unknown; configuration?: unknown };
    const emptyConfiguration = configuration === undefined || (configuration !== null && typeof configuration === "object" && Object.keys(configuration).length === 0);
    if (Object.keys(rest).length === 0 && emptyConfiguration && (name === "bytes" || name === "variable_length_bytes")) return "bytes";
  }
  return undefined;
}

/**
 * The fixed-size data type of a numpy kind-and-size code without byte order ("f4", "i8", "b1",
 * "f2", "c8"), or undefined. numpy's "T" (variable-width strings) is left out: it has no fixed
 * element bytes (.npy and Zarr v2 store fixed-size elements).
 */
export function dataTypeOfNumpyTypestr(kindSize: string): DataType | undefined {
  const dt = Object.hasOwn(NUMPY_TYPESTRS, kindSize) ? NUMPY_TYPESTRS[kindSize] : undefined;
  return dt === undefined || isVariableLengthType(dt) ? undefined : dt;
}

/** numpy's kind-and-size code of a data type, without byte order ("float32" → "f4", "bool" → "b1"). */
export function numpyTypestrOf(dt: DataType): string {
  const entry = Object.entries(NUMPY_TYPESTRS).find(([, d]) => d === dt);
  if (entry === undefined) throw new DtypeError(`data type ${dt} has no numpy kind-and-size code (numpy holds it in an object array, "|O")`);
  return entry[0];
}

/** Bytes one element takes when stored (float16: 2, complex64: 8), which is also numpy's itemsize. */
export function bytesPerElement(dt: DataType): number {
  return STORED_SIZES[dt] ?? CONSTRUCTORS[dt].BYTES_PER_ELEMENT;
}

/**
 * Bytes one element takes in memory once decoded: float16 2 where it is held as a Float16Array,
 * else 4; complex two parts; string and bytes 8 (a reference; their contents are not counted).
 */
export function decodedBytesPerElement(dt: DataType): number {
  if (isVariableLengthType(dt)) return 8;
  return CONSTRUCTORS[dt].BYTES_PER_ELEMENT * elementLanes(dt);
}

/** Typed-array entries per element: 2 for complex ([re, im] interleaved), 1 otherwise. */
export function elementLanes(dt: DataType): 1 | 2 {
  return isComplexType(dt) ? 2 : 1;
}

export function typedArrayConstructorFor(dt: DataType): TypedArrayConstructor {
  return CONSTRUCTORS[dt];
}

/** A zero-filled typed array for `length` elements (bool is one byte per element, complex two entries). */
export function allocateTypedArray(dt: DataType, length: number): TypedArray {
  if (dt === "string") return StringArray.filled(length) as unknown as TypedArray;
  if (dt === "bytes") return BytesArray.filled(length) as unknown as TypedArray;
  return new CONSTRUCTORS[dt](length * elementLanes(dt));
}

/**
 * The data type a typed array holds; a Uint8Array reads as uint8 (bool is not distinguishable), a
 * Float16Array as float16 (float16 held as float32, on runtimes without Float16Array, reads as float32).
 */
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
  if (isFloat16Array(a)) return "float16";
  if (a instanceof Float64Array) return "float64";
  throw new DtypeError(`unsupported typed array ${describe(a)}; expected one of ${DATA_TYPES.join(", ")}`);
}

/** True when `a` can serve as the in-memory buffer of a `dt` array. */
export function typedArrayMatches(a: TypedArray, dt: DataType): boolean {
  return a instanceof CONSTRUCTORS[dt];
}

export function isIntegerType(dt: DataType): boolean {
  return dt.startsWith("int") || dt.startsWith("uint");
}

export function isBigIntType(dt: DataType): dt is "int64" | "uint64" {
  return dt === "int64" || dt === "uint64";
}

export function isFloatType(dt: DataType): dt is "float16" | "float32" | "float64" {
  return dt === "float16" || dt === "float32" || dt === "float64";
}

export function isComplexType(dt: DataType): dt is "complex64" | "complex128" {
  return dt === "complex64" || dt === "complex128";
}

/** The float type of each part of a complex number (complex64 → float32). */
export function complexPartType(dt: "complex64" | "complex128"): "float32" | "float64" {
  return dt === "complex64" ? "float32" : "float64";
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
