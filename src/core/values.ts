/**
 * Turns what a user passes to `set` / `load` / `createDataset({data})` into a strided view in the
 * dataset's element type, broadcast (numpy rules) onto the selection's output shape.
 */
import ndarray, { type NdArray } from "ndarray";
import { DtypeError, ShapeError, ValidationError } from "../errors.js";
import {
  allocateTypedArray,
  coerceScalar,
  StringArray,
  BytesArray,
  copyBytes,
  complexPartType,
  isComplexType,
  convertArray,
  dataTypeOfTypedArray,
  typedArrayConstructorFor,
  type DataType,
  type Scalar,
  type TypedArray,
  type TypedArrayLike,
} from "../format/index.js";
import { describe } from "../format/dataType.js";
import { broadcastStrides } from "../selection/index.js";

export type NestedArray = ReadonlyArray<Scalar | NestedArray>;
/** Any strided array over a typed array (a scijs ndarray, or anything shaped like one). */
export interface NdArrayLike {
  data: TypedArrayLike;
  shape: number[];
  stride: number[];
  offset: number;
}
export type ArrayInput = NdArrayLike | TypedArrayLike;
/** Strings for a `string` dataset: nested JS arrays of strings (an ndarray over a string array is an ArrayInput). */
export type NestedStrings = ReadonlyArray<string | NestedStrings>;
/** An ndarray over strings (a JS array or what a string dataset's `get` returns). */
export interface StringNdArrayLike {
  data: ArrayLike<string>;
  shape: number[];
  stride: number[];
  offset: number;
}
/** Elements for a `bytes` dataset: nested JS arrays of Uint8Array (Node Buffers too). */
export type NestedBytes = ReadonlyArray<Uint8Array | NestedBytes>;
/** An ndarray over byte strings (a JS array of Uint8Array, or what a bytes dataset's `get` returns). */
export interface BytesNdArrayLike {
  data: ArrayLike<Uint8Array>;
  shape: number[];
  stride: number[];
  offset: number;
}
export type WritableValue = ArrayInput | NestedArray | Scalar | string | NestedStrings | StringNdArrayLike | NestedBytes | BytesNdArrayLike;

export interface StridedSource {
  data: TypedArray;
  offset: number;
  /** One stride (in elements) per axis of the target output shape; 0 where broadcast. */
  strides: number[];
}

export function isTypedArray(value: unknown): value is TypedArrayLike {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

export function isNdArray(value: unknown): value is NdArrayLike {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as NdArray).shape) &&
    Array.isArray((value as NdArray).stride) &&
    typeof (value as NdArray).offset === "number" &&
    "data" in value
  );
}

export function isScalar(value: unknown): value is Scalar {
  return typeof value === "number" || typeof value === "bigint" || typeof value === "boolean";
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Shape and C-order flat values of a rectangular nested JS array. */
export function flattenNested(value: NestedArray, what: string, dtype?: DataType): { shape: number[]; flat: Scalar[] } {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const flat: Scalar[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node === "string") throw new DtypeError(`${what}: cannot store a string (${JSON.stringify(node)}) in data type ${dtype ?? "that holds numbers"}`);
      if (node instanceof Uint8Array) throw new DtypeError(`${what}: cannot store bytes (a ${node.constructor.name} element) in data type ${dtype ?? "that holds numbers"}`);
      if (!isScalar(node)) throw new ShapeError(`${what}: nested array is not rectangular (expected shape [${shape}])`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ShapeError(`${what}: nested array is not rectangular (expected shape [${shape}])`);
    }
    for (const child of node) walk(child, depth + 1);
  };
  walk(value, 0);
  return { shape, flat };
}

/** `data` in `dtype`: a view of the same memory when the type already matches, a converted copy otherwise. */
function convertTypedArray(data: TypedArrayLike, dtype: DataType, what: string): TypedArray {
  return dataTypeOfTypedArray(data) === dtype ? plainView(data as TypedArray, dtype) : convertArray(data as ArrayLike<number | bigint>, dtype, what);
}

/** A subclass of a typed array (Node's Buffer is a Uint8Array) as the plain typed array over the same memory: the copy kernels match exact types. */
function plainView(data: TypedArray, dtype: DataType): TypedArray {
  const Plain = typedArrayConstructorFor(dtype);
  if (data.constructor === Plain) return data;
  return new Plain(data.buffer as ArrayBuffer, data.byteOffset, data.length) as TypedArray;
}

/** A C-order copy of any ndarray view, converted to `dtype`. */
function materialise(array: NdArrayLike, dtype: DataType, what: string): TypedArray {
  const size = product(array.shape);
  const out = allocateTypedArray(dtype, size);
  const sameType = dataTypeOfTypedArray(array.data) === dtype;
  const scratch = sameType ? out : allocateTypedArray(dataTypeOfTypedArray(array.data), size);
  copyNd(array, { data: scratch, shape: array.shape, stride: cOrder(array.shape), offset: 0 });
  return sameType ? out : convertTypedArray(scratch, dtype, what);
}

function cOrder(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

function copyNd(source: NdArrayLike, target: NdArrayLike): void {
  const shape = source.shape;
  const n = product(shape);
  if (n === 0) return;
  const index = new Array<number>(shape.length).fill(0);
  const src = source.data as unknown as { [i: number]: unknown };
  const dst = target.data as unknown as { [i: number]: unknown };
  for (let k = 0; k < n; k++) {
    let s = source.offset;
    let d = target.offset;
    for (let a = 0; a < shape.length; a++) {
      s += index[a] * source.stride[a];
      d += index[a] * target.stride[a];
    }
    dst[d] = src[s];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
}

/**
 * The shape of the values for `shape` elements of `dtype`: complex values carry a last axis of
 * length 2 ([re, im]), the form `get` returns and `set` takes.
 */
export function valueShapeOf(dtype: DataType, shape: readonly number[]): number[] {
  return isComplexType(dtype) ? [...shape, 2] : [...shape];
}

/** The element shape of values of `valueShape` (drops a complex array's [re, im] axis). */
export function elementShapeOf(dtype: DataType, valueShape: readonly number[], what: string): number[] {
  if (!isComplexType(dtype)) return [...valueShape];
  if (valueShape.length === 0 || valueShape[valueShape.length - 1] !== 2) {
    throw new ShapeError(`${what}: values of data type ${dtype} need a last axis of length 2 ([re, im]), got shape [${valueShape}]`);
  }
  return valueShape.slice(0, -1);
}

/**
 * An array input as an ndarray in `dtype` (a view when the type already matches). For complex
 * types the result has a last axis of length 2 over the interleaved [re, im] parts; a typed array
 * input is taken as interleaved parts, and `shape` (if given) counts elements.
 */
export function toNdArray(value: ArrayInput | NestedArray | NestedStrings | NestedBytes, dtype: DataType, what: string, shape?: readonly number[]): NdArray<TypedArray> {
  if (dtype === "string") return toStringNdArray(value, what, shape);
  if (dtype === "bytes") return toBytesNdArray(value, what, shape);
  if (isStringInput(value)) throw new DtypeError(`${what}: cannot store strings in data type ${dtype}`);
  if (isBytesInput(value)) throw new DtypeError(`${what}: cannot store bytes in data type ${dtype}`);
  if (isComplexType(dtype)) {
    const parts = isTypedArray(value) && !shape ? [Math.floor(value.length / 2), 2] : shape && valueShapeOf(dtype, shape);
    const array = toRealNdArray(value, complexPartType(dtype), what, parts);
    elementShapeOf(dtype, array.shape, what);
    return array;
  }
  return toRealNdArray(value, dtype, what, shape);
}

function toRealNdArray(value: ArrayInput | NestedArray | NestedStrings | NestedBytes, dtype: DataType, what: string, shape?: readonly number[]): NdArray<TypedArray> {
  if (isNdArray(value)) {
    if (dataTypeOfTypedArray(value.data) === dtype) return ndarray(plainView(value.data as TypedArray, dtype) as never, value.shape.slice(), value.stride.slice(), value.offset) as NdArray<TypedArray>;
    return ndarray(materialise(value, dtype, what) as never, value.shape.slice()) as NdArray<TypedArray>;
  }
  if (isTypedArray(value)) {
    const s = shape ? [...shape] : [value.length];
    if (product(s) !== value.length) {
      throw new ShapeError(`${what}: a typed array of length ${value.length} cannot have shape [${s}]`);
    }
    return ndarray(convertTypedArray(value, dtype, what) as never, s) as NdArray<TypedArray>;
  }
  if (Array.isArray(value)) {
    const { shape: nestedShape, flat } = flattenNested(value as NestedArray, what, dtype);
    return ndarray(convertArray(flat, dtype, what) as never, nestedShape) as NdArray<TypedArray>;
  }
  throw new ValidationError(`${what}: expected an ndarray, a typed array or a nested array, got ${typeof value}`);
}

/**
 * View `value` as a source for a write of `outputShape`: scalars broadcast everywhere, a typed
 * array whose length equals the selection size takes the selection's shape, everything else
 * broadcasts like numpy.
 */
export function toStridedSource(value: WritableValue, dtype: DataType, outputShape: readonly number[], what: string): StridedSource {
  if (dtype === "string") return toStringSource(value, outputShape, what);
  if (dtype === "bytes") return toBytesSource(value, outputShape, what);
  if (typeof value === "string") throw new DtypeError(`${what}: cannot store a string (${JSON.stringify(value)}) in data type ${dtype}`);
  if (isComplexType(dtype)) return toComplexSource(value, dtype, outputShape, what);
  if (isScalar(value)) {
    const data = allocateTypedArray(dtype, 1);
    (data as unknown as { [i: number]: number | bigint })[0] = coerceScalar(dtype, value, what);
    return { data, offset: 0, strides: outputShape.map(() => 0) };
  }
  const array = isTypedArray(value)
    ? toNdArray(value, dtype, what, value.length === product(outputShape) ? outputShape : undefined)
    : toNdArray(value as ArrayInput | NestedArray, dtype, what);
  const broadcast = broadcastStrides(array.shape, outputShape, what);
  const lead = outputShape.length - array.shape.length;
  const strides = broadcast.map((s, i) => (s === 0 ? 0 : array.stride[i - lead]));
  return { data: array.data, offset: array.offset, strides };
}

/**
 * The complex form of `toStridedSource`: strides count typed-array entries, and each element's
 * [re, im] parts are adjacent (the copy kernels rely on it). A real scalar has imaginary part 0;
 * `[re, im]` broadcasts as one complex value.
 */
function toComplexSource(value: WritableValue, dtype: "complex64" | "complex128", outputShape: readonly number[], what: string): StridedSource {
  if (isScalar(value)) {
    const data = allocateTypedArray(dtype, 1);
    data[0] = coerceScalar(dtype, value, what) as number;
    return { data, offset: 0, strides: outputShape.map(() => 0) };
  }
  const target = valueShapeOf(dtype, outputShape);
  const matchesSelection = isTypedArray(value) && value.length === product(target);
  let array = toNdArray(value as ArrayInput | NestedArray, dtype, what, matchesSelection ? outputShape : undefined);
  if (array.stride[array.stride.length - 1] !== 1) {
    array = ndarray(materialise(array, complexPartType(dtype), what) as never, array.shape) as NdArray<TypedArray>;
  }
  const broadcast = broadcastStrides(array.shape, target, what);
  const lead = target.length - array.shape.length;
  const strides = broadcast.map((s, i) => (s === 0 ? 0 : array.stride[i - lead]));
  return { data: array.data, offset: array.offset, strides: strides.slice(0, -1) };
}

/** An ndarray over strings (a plain array or StringArray as data), as a string dataset's values come. */
function isStringInput(value: unknown): boolean {
  if (!isNdArray(value) || isTypedArray(value.data)) return false;
  const data = value.data as ArrayLike<unknown>;
  return data.length > 0 && typeof data[0] === "string";
}

/** Strings as an ndarray over a C-order StringArray; anything else is a DtypeError. */
function toStringNdArray(value: unknown, what: string, shape?: readonly number[]): NdArray<TypedArray> {
  const notStrings = (v: unknown) =>
    new DtypeError(`${what}: cannot store ${isTypedArray(v) ? `${v.constructor.name} values` : `${typeof v} ${describe(v)}`} in data type string; expected strings`);
  if (isNdArray(value)) {
    if (isTypedArray(value.data)) throw notStrings(value.data);
    const source = { ...value, data: value.data as unknown as ArrayLike<unknown> };
    const size = product(value.shape);
    const out = StringArray.filled(size);
    const target = { data: out, shape: value.shape, stride: cOrder(value.shape), offset: 0 };
    copyNd(source as unknown as NdArrayLike, target as unknown as NdArrayLike);
    for (const s of out) if (typeof s !== "string") throw notStrings(s);
    return ndarray(out as never, value.shape.slice()) as NdArray<TypedArray>;
  }
  if (Array.isArray(value)) {
    const dims: number[] = [];
    for (let level: unknown = value; Array.isArray(level); level = level[0]) dims.push(level.length);
    const out = new StringArray();
    const walk = (node: unknown, depth: number): void => {
      if (depth === dims.length) {
        if (typeof node !== "string") throw notStrings(node);
        out.push(node);
        return;
      }
      if (!Array.isArray(node) || node.length !== dims[depth]) throw new ShapeError(`${what}: nested array is not rectangular (expected shape [${dims}])`);
      for (const child of node) walk(child, depth + 1);
    };
    walk(value, 0);
    const s = shape ? [...shape] : dims;
    if (product(s) !== out.length) throw new ShapeError(`${what}: ${out.length} strings cannot have shape [${s}]`);
    return ndarray(out as never, shape ? s : dims) as NdArray<TypedArray>;
  }
  throw notStrings(value);
}

/** The string form of `toStridedSource`. */
function toStringSource(value: WritableValue, outputShape: readonly number[], what: string): StridedSource {
  if (typeof value === "string") {
    return { data: StringArray.fromStrings([value]) as unknown as TypedArray, offset: 0, strides: outputShape.map(() => 0) };
  }
  const array = toStringNdArray(value, what);
  const broadcast = broadcastStrides(array.shape, outputShape, what);
  const lead = outputShape.length - array.shape.length;
  const strides = broadcast.map((s, i) => (s === 0 ? 0 : array.stride[i - lead]));
  return { data: array.data, offset: array.offset, strides };
}

/** An ndarray over Uint8Array elements (a plain array or BytesArray as data), as a bytes dataset's values come. */
function isBytesInput(value: unknown): boolean {
  if (!isNdArray(value) || isTypedArray(value.data)) return false;
  const data = value.data as ArrayLike<unknown>;
  return data.length > 0 && data[0] instanceof Uint8Array;
}

/** What a bytes dataset cannot hold, named for a DtypeError. */
function notBytes(what: string, v: unknown): DtypeError {
  const shown = isTypedArray(v) ? `${v.constructor.name} values` : typeof v === "string" ? `string ${JSON.stringify(v)}` : `${typeof v} ${describe(v)}`;
  return new DtypeError(`${what}: cannot store ${shown} in data type bytes; expected Uint8Array (or Buffer) elements`);
}

/**
 * Byte strings as an ndarray over a C-order BytesArray of copies (a later change to the caller's
 * arrays does not reach the dataset); anything else is a DtypeError. A single Uint8Array is one
 * element (0-d).
 */
function toBytesNdArray(value: unknown, what: string, shape?: readonly number[]): NdArray<TypedArray> {
  const element = (v: unknown): Uint8Array => {
    if (!(v instanceof Uint8Array)) throw notBytes(what, v);
    return copyBytes(v);
  };
  let out: BytesArray;
  let dims: number[];
  if (value instanceof Uint8Array) {
    out = BytesArray.fromItems([copyBytes(value)]);
    dims = [];
  } else if (isNdArray(value)) {
    if (isTypedArray(value.data)) throw notBytes(what, value.data);
    const size = product(value.shape);
    const gathered = new Array<unknown>(size);
    copyNd(value, { data: gathered as unknown as TypedArrayLike, shape: value.shape, stride: cOrder(value.shape), offset: 0 });
    out = BytesArray.fromItems(gathered.map(element));
    dims = value.shape.slice();
  } else if (Array.isArray(value)) {
    dims = [];
    for (let level: unknown = value; Array.isArray(level); level = level[0]) dims.push(level.length);
    out = new BytesArray();
    const walk = (node: unknown, depth: number): void => {
      if (depth === dims.length) {
        out.push(element(node));
        return;
      }
      if (!Array.isArray(node) || node.length !== dims[depth]) throw new ShapeError(`${what}: nested array is not rectangular (expected shape [${dims}])`);
      for (const child of node) walk(child, depth + 1);
    };
    walk(value, 0);
  } else {
    throw notBytes(what, value);
  }
  if (shape && !sameShape(shape, dims)) {
    if (product(shape) !== out.length) throw new ShapeError(`${what}: ${out.length} byte strings cannot have shape [${shape}]`);
    dims = [...shape];
  }
  return ndarray(out as never, dims) as NdArray<TypedArray>;
}

/** The bytes form of `toStridedSource`: one Uint8Array broadcasts everywhere. */
function toBytesSource(value: WritableValue, outputShape: readonly number[], what: string): StridedSource {
  const array = toBytesNdArray(value, what);
  const broadcast = broadcastStrides(array.shape, outputShape, what);
  const lead = outputShape.length - array.shape.length;
  const strides = broadcast.map((s, i) => (s === 0 ? 0 : array.stride[i - lead]));
  return { data: array.data, offset: array.offset, strides };
}
