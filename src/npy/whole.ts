/**
 * Whole .npy files in memory: decodeNpy / encodeNpy on bytes, readNpy / writeNpy on paths.
 * For arrays larger than memory use NpyReader / NpyWriter or importNpy / exportNpy.
 */
import ndarray, { type NdArray } from "ndarray";
import { DtypeError, ShapeError } from "../errors.js";
import { allocateTypedArray, dataTypeOfTypedArray, type DataType, type TypedArray, type TypedArrayLike } from "../format/index.js";
import { elementsFromBytes, littleEndianBytes } from "./elements.js";
import { NpyReader, NpyWriter } from "./file-io.js";
import { encodeNpyHeader, parseNpyHeader } from "./header.js";

export interface NpyArray {
  dtype: DataType;
  shape: number[];
  /** Whether the file stored the elements in Fortran (column-major) order. */
  fortranOrder: boolean;
  /** The elements as an ndarray; a Fortran-order file gives a column-major view (no copy). */
  array: NdArray<TypedArray>;
}

/** An ndarray (anything with data/shape/stride/offset), a typed array (1-d, or with `shape`), or an NpyArray. */
export type NpyInput = NpyArray | { data: TypedArrayLike; shape: number[]; stride: number[]; offset: number } | TypedArrayLike;

export interface EncodeNpyOptions {
  /** The dtype to store; needed to store a Uint8Array as bool. Defaults to the typed array's type. */
  dtype?: DataType;
  /** Shape of a plain typed array (default: 1-d). */
  shape?: readonly number[];
}

/** Parse a whole .npy file held in memory. */
export function decodeNpy(bytes: Uint8Array, what = "npy data"): NpyArray {
  const header = parseNpyHeader(bytes, what, bytes.length);
  const data = elementsFromBytes(bytes.subarray(header.dataOffset, header.dataOffset + header.dataBytes), header.dtype, header.littleEndian);
  return { dtype: header.dtype, shape: [...header.shape], fortranOrder: header.fortranOrder, array: viewOf(data, header.shape, header.fortranOrder) };
}

/** A whole .npy file (version 1.0 unless the header needs 2.0, C order, little endian) as bytes. */
export function encodeNpy(value: NpyInput, options: EncodeNpyOptions = {}): Uint8Array {
  const { dtype, shape, data } = cOrderElements(value, options);
  const header = encodeNpyHeader({ dtype, shape });
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(littleEndianBytes(data), header.length);
  return out;
}

/** Read a whole .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  const reader = await NpyReader.open(path);
  try {
    const data = await reader.readElements(0, reader.size);
    return { dtype: reader.dtype, shape: reader.shape, fortranOrder: reader.fortranOrder, array: viewOf(data, reader.shape, reader.fortranOrder) };
  } finally {
    await reader.close();
  }
}

/** Write a whole array as a .npy file (replacing `path` unless `overwrite: false`, as np.save does). */
export async function writeNpy(path: string, value: NpyInput, options: EncodeNpyOptions & { overwrite?: boolean } = {}): Promise<void> {
  const { dtype, shape, data } = cOrderElements(value, options);
  const writer = await NpyWriter.create(path, { dtype, shape, overwrite: options.overwrite ?? true });
  try {
    await writer.append(data);
    await writer.close();
  } finally {
    await writer.abort();
  }
}

function viewOf(data: TypedArray, shape: readonly number[], fortranOrder: boolean): NdArray<TypedArray> {
  if (!fortranOrder || shape.length < 2) return ndarray(data as never, [...shape]) as NdArray<TypedArray>;
  const stride: number[] = [];
  let step = 1;
  for (const size of shape) {
    stride.push(step);
    step *= size;
  }
  return ndarray(data as never, [...shape], stride, 0) as NdArray<TypedArray>;
}

function isNpyArray(value: NpyInput): value is NpyArray {
  return typeof value === "object" && "array" in value && "dtype" in value;
}

/** The elements of `value` in C order, with the dtype and shape to record. */
function cOrderElements(value: NpyInput, options: EncodeNpyOptions): { dtype: DataType; shape: number[]; data: TypedArray } {
  let source: { data: TypedArrayLike; shape: number[]; stride: number[]; offset: number };
  let dtype = options.dtype;
  if (isNpyArray(value)) {
    source = value.array;
    dtype ??= value.dtype;
  } else if (ArrayBuffer.isView(value)) {
    const shape = options.shape ? [...options.shape] : [value.length];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== value.length) throw new ShapeError(`a typed array of length ${value.length} cannot have shape [${shape.join(", ")}]`);
    source = ndarray(value as never, shape) as never;
  } else {
    source = value;
  }
  const own = dataTypeOfTypedArray(source.data);
  dtype ??= own;
  if (dtype !== own && !(dtype === "bool" && own === "uint8")) {
    throw new DtypeError(`cannot write ${own} data (${source.data.constructor.name}) as dtype ${dtype}; convert it first`);
  }
  const shape = [...source.shape];
  const out = allocateTypedArray(dtype, shape.reduce((a, b) => a * b, 1));
  copyToCOrder(source, out);
  if (dtype === "bool") for (let i = 0; i < out.length; i++) out[i] = out[i] ? 1 : 0;
  return { dtype, shape, data: out };
}

/** Copy a strided view into `out` in C order (one pass, an index counter; no code generation). */
function copyToCOrder(source: { data: TypedArrayLike; shape: number[]; stride: number[]; offset: number }, out: TypedArray): void {
  const { shape, stride } = source;
  const src = source.data as unknown as ArrayLike<number | bigint>;
  const dst = out as unknown as { [i: number]: number | bigint };
  const ndim = shape.length;
  const index = new Array<number>(ndim).fill(0);
  let position = source.offset;
  for (let k = 0; k < out.length; k++) {
    dst[k] = src[position];
    for (let a = ndim - 1; a >= 0; a--) {
      position += stride[a];
      if (++index[a] < shape[a]) break;
      position -= stride[a] * shape[a];
      index[a] = 0;
    }
  }
}
