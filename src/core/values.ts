/**
 * Turns what a user passes to `set` / `load` / `createDataset({data})` into a strided view in the
 * dataset's element type, broadcast (numpy rules) onto the selection's output shape.
 */
import ndarray, { type NdArray } from "ndarray";
import { ShapeError, ValidationError } from "../errors.js";
import {
  allocateTypedArray,
  coerceScalar,
  convertArray,
  dataTypeOfTypedArray,
  typedArrayConstructorFor,
  type DataType,
  type Scalar,
  type TypedArray,
  type TypedArrayLike,
} from "../format/index.js";
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
export type WritableValue = ArrayInput | NestedArray | Scalar;

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
export function flattenNested(value: NestedArray, what: string): { shape: number[]; flat: Scalar[] } {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const flat: Scalar[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
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

/** An array input as an ndarray in `dtype` (a view when the type already matches). */
export function toNdArray(value: ArrayInput | NestedArray, dtype: DataType, what: string, shape?: readonly number[]): NdArray<TypedArray> {
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
    const { shape: nestedShape, flat } = flattenNested(value, what);
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
  if (isScalar(value)) {
    const data = allocateTypedArray(dtype, 1);
    (data as unknown as { [i: number]: number | bigint })[0] = coerceScalar(dtype, value, what);
    return { data, offset: 0, strides: outputShape.map(() => 0) };
  }
  const array = isTypedArray(value)
    ? toNdArray(value, dtype, what, value.length === product(outputShape) ? outputShape : undefined)
    : toNdArray(value, dtype, what);
  const broadcast = broadcastStrides(array.shape, outputShape, what);
  const lead = outputShape.length - array.shape.length;
  const strides = broadcast.map((s, i) => (s === 0 ? 0 : array.stride[i - lead]));
  return { data: array.data, offset: array.offset, strides };
}
