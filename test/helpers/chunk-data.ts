/** Chunk contents for codec tests, and their bytes. */
import { randomBytes } from "node:crypto";
import { bytesPerElement, type DataType, type TypedArray, typedArrayConstructorFor } from "../../src/format/index.js";

/** A chunk of random content; bool gets 0/1, floats any bit pattern (NaN payloads included). */
export function randomChunk(dt: DataType, length: number): TypedArray {
  const bytes = randomBytes(length * bytesPerElement(dt));
  if (dt === "bool") for (let i = 0; i < bytes.length; i++) bytes[i] &= 1;
  const Ctor = typedArrayConstructorFor(dt) as Float64ArrayConstructor;
  return new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as TypedArray;
}

/** The memory of a typed array, as bytes (a view, not a copy). */
export function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
