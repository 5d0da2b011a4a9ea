/**
 * Element bytes ⇄ dosna's in-memory typed arrays, in either byte order. The bytes of one .npy
 * element are what dosna holds for it, except float16 held as float32 (runtimes without
 * Float16Array), which is converted here. Complex elements are two parts, each byte-swapped alone.
 */
import {
  bytesPerElement,
  elementLanes,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  hasNativeFloat16,
  typedArrayConstructorFor,
  type DataType,
  type TypedArray,
} from "../format/index.js";
import { cOrderStrides } from "../selection/index.js";
import { HOST_IS_LITTLE_ENDIAN } from "./header.js";

/** Reverse the bytes of every `size`-byte element, in place. */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** The unit whose bytes a byte-order change reverses: one number (a complex element is two). */
function wordSize(dtype: DataType): number {
  return bytesPerElement(dtype) / elementLanes(dtype);
}

/** True when `dtype`'s elements are held as float32 values of their float16 bits (no Float16Array). */
function convertsFloat16(dtype: DataType): boolean {
  return dtype === "float16" && !hasNativeFloat16();
}

/**
 * The elements stored in `bytes` as dosna's in-memory typed array of `dtype` (complex: interleaved
 * [re, im] parts; float16: a Float16Array, or exact float32 values). With `owned`, `bytes` may be
 * reused and modified (and viewed where its offset is aligned); otherwise it is copied.
 */
export function elementsFromBytes(bytes: Uint8Array, dtype: DataType, littleEndian: boolean, owned = false): TypedArray {
  const word = wordSize(dtype);
  const buffer = owned && bytes.byteOffset % word === 0 ? bytes : bytes.slice();
  if (littleEndian !== HOST_IS_LITTLE_ENDIAN) swapBytes(buffer, word);
  if (convertsFloat16(dtype)) return float16BitsToFloat32(new Uint16Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength / 2));
  const Ctor = typedArrayConstructorFor(dtype);
  return new Ctor(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength / word) as TypedArray;
}

/**
 * The elements of `data` (dosna's in-memory typed array of `dtype`) as little-endian .npy bytes:
 * a view of `data` on little-endian hosts, new memory where float16 is converted or bytes swapped.
 */
export function littleEndianBytes(data: TypedArray, dtype: DataType): Uint8Array {
  if (convertsFloat16(dtype)) {
    const bits = float32ToFloat16Bits(data as Float32Array);
    const bytes = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes(bytes, 2);
    return bytes;
  }
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytes(copy, wordSize(dtype));
  return copy;
}

/** Strides, in elements, of a Fortran-order (column-major) array of `shape`. */
export function fortranStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let step = 1;
  for (const size of shape) {
    strides.push(step);
    step *= size;
  }
  return strides;
}

/**
 * Shape and strides (in typed-array entries) of elements of `shape` laid out in C or Fortran order,
 * as dosna's values have them: a complex element (`lanes` 2) adds a last axis of 2 over its
 * adjacent [re, im] parts.
 */
export function elementLayout(shape: readonly number[], fortranOrder: boolean, lanes: 1 | 2): { shape: number[]; stride: number[] } {
  const stride = fortranOrder ? fortranStrides(shape) : cOrderStrides(shape);
  if (lanes === 1) return { shape: [...shape], stride };
  return { shape: [...shape, 2], stride: [...stride.map((s) => 2 * s), 1] };
}
