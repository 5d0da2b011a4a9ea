/**
 * Whole .npy files in memory: decodeNpy / encodeNpy on bytes, readNpy / writeNpy on paths.
 * For arrays larger than memory use NpyReader / NpyWriter or importNpy / exportNpy.
 */
import ndarray, { type NdArray } from "ndarray";
import { DtypeError, ShapeError } from "../errors.js";
import {
  allocateTypedArray,
  complexPartType,
  dataTypeOfTypedArray,
  type DataType,
  elementLanes,
  isComplexType,
  type TypedArray,
  type TypedArrayLike,
} from "../format/index.js";
import { elementLayout, elementsFromBytes, littleEndianBytes } from "./elements.js";
import { NpyReader, NpyWriter } from "./file-io.js";
import { encodeNpyHeader, parseNpyHeader } from "./header.js";

export interface NpyArray {
  dtype: DataType;
  /** The shape of the elements (a complex array's `array` has one more axis, [re, im]). */
  shape: number[];
  /** Whether the file stored the elements in Fortran (column-major) order. */
  fortranOrder: boolean;
  /**
   * The elements as an ndarray in dosna's in-memory form, as a dataset's `get` returns them
   * (complex: a last axis of 2 over interleaved [re, im] parts; float16: a Float16Array, or exact
   * float32 values where the runtime has none); a Fortran-order file gives a column-major view (no copy).
   */
  array: NdArray<TypedArray>;
}

/** An ndarray (anything with data/shape/stride/offset), a typed array (1-d, or with `shape`), or an NpyArray. */
export type NpyInput = NpyArray | { data: TypedArrayLike; shape: number[]; stride: number[]; offset: number } | TypedArrayLike;

export interface EncodeNpyOptions {
  /**
   * The dtype to store. Defaults to the typed array's type; needed to store a Uint8Array as bool,
   * float32 values as float16 (rounded as numpy's astype), or [re, im] parts as complex64/complex128
   * (the data's last axis is then the parts, of length 2).
   */
  dtype?: DataType;
  /** Shape of a plain typed array (default: 1-d); for complex it counts elements, not parts. */
  shape?: readonly number[];
}

/** Parse a whole .npy file held in memory. */
export function decodeNpy(bytes: Uint8Array, what = "npy data"): NpyArray {
  const header = parseNpyHeader(bytes, what, bytes.length);
  const data = elementsFromBytes(bytes.subarray(header.dataOffset, header.dataOffset + header.dataBytes), header.dtype, header.littleEndian);
  return { dtype: header.dtype, shape: [...header.shape], fortranOrder: header.fortranOrder, array: viewOf(data, header.dtype, header.shape, header.fortranOrder) };
}

/** A whole .npy file (version 1.0 unless the header needs 2.0, C order, little endian) as bytes. */
export function encodeNpy(value: NpyInput, options: EncodeNpyOptions = {}): Uint8Array {
  const { dtype, shape, data } = cOrderElements(value, options);
  const header = encodeNpyHeader({ dtype, shape });
  const elements = littleEndianBytes(data, dtype);
  const out = new Uint8Array(header.length + elements.byteLength);
  out.set(header, 0);
  out.set(elements, header.length);
  return out;
}

/** Read a whole .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  const reader = await NpyReader.open(path);
  try {
    const data = await reader.readElements(0, reader.size);
    return { dtype: reader.dtype, shape: reader.shape, fortranOrder: reader.fortranOrder, array: viewOf(data, reader.dtype, reader.shape, reader.fortranOrder) };
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

/** The elements (file order) as an ndarray of `shape`; complex adds a last axis of 2 over each element's adjacent parts. */
function viewOf(data: TypedArray, dtype: DataType, shape: readonly number[], fortranOrder: boolean): NdArray<TypedArray> {
  const layout = elementLayout(shape, fortranOrder, elementLanes(dtype));
  return ndarray(data as never, layout.shape, layout.stride, 0) as NdArray<TypedArray>;
}

function isNpyArray(value: NpyInput): value is NpyArray {
  return typeof value === "object" && "array" in value && "dtype" in value;
}

/** The elements of `value` in C order, with the dtype and (element) shape to record. */
function cOrderElements(value: NpyInput, options: EncodeNpyOptions): { dtype: DataType; shape: number[]; data: TypedArray } {
  let source: { data: TypedArrayLike; shape: number[]; stride: number[]; offset: number };
  let dtype = options.dtype;
  if (isNpyArray(value)) {
    source = value.array;
    dtype ??= value.dtype;
  } else if (ArrayBuffer.isView(value)) {
    const lanes = dtype === undefined ? 1 : elementLanes(dtype);
    const shape = options.shape ? [...options.shape] : [Math.floor(value.length / lanes)];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count * lanes !== value.length) {
      throw new ShapeError(`a typed array of length ${value.length} cannot have shape [${shape.join(", ")}]${lanes === 2 ? ` of ${dtype} elements (2 entries each, [re, im])` : ""}`);
    }
    source = ndarray(value as never, lanes === 2 ? [...shape, 2] : shape) as never;
  } else {
    source = value;
  }
  const own = dataTypeOfTypedArray(source.data);
  dtype ??= own;
  // what dosna holds for each dtype: complex as float parts, float16 as Float16Array or float32 values
  const holds = isComplexType(dtype) ? complexPartType(dtype) : dtype;
  const accepted = own === holds || (dtype === "bool" && own === "uint8") || (dtype === "float16" && own === "float32");
  if (!accepted) {
    throw new DtypeError(`cannot write ${own} data (${source.data.constructor.name}) as dtype ${dtype}; convert it first`);
  }
  const lanes = elementLanes(dtype);
  if (lanes === 2 && source.shape[source.shape.length - 1] !== 2) {
    throw new ShapeError(`${dtype} data needs a last axis of length 2 ([re, im]), got shape [${source.shape.join(", ")}]`);
  }
  const shape = lanes === 2 ? source.shape.slice(0, -1) : [...source.shape];
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
