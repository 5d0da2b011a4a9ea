/** Element bytes ⇄ typed arrays, in either byte order. */
import { bytesPerElement, typedArrayConstructorFor, type DataType, type TypedArray } from "../format/index.js";
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

/**
 * The elements stored in `bytes` as a typed array in host byte order. With `owned`, `bytes` (which
 * must then start at an offset aligned for the type) may be reused and modified; otherwise it is copied.
 */
export function elementsFromBytes(bytes: Uint8Array, dtype: DataType, littleEndian: boolean, owned = false): TypedArray {
  const size = bytesPerElement(dtype);
  const buffer = owned && bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  if (littleEndian !== HOST_IS_LITTLE_ENDIAN) swapBytes(buffer, size);
  const Ctor = typedArrayConstructorFor(dtype);
  return new Ctor(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength / size) as TypedArray;
}

/** The elements as little-endian bytes: a view of `data` on little-endian hosts, a swapped copy otherwise. */
export function littleEndianBytes(data: TypedArray): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}
