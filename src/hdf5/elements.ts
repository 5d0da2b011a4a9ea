/**
 * A slab of HDF5 elements ⇄ dosna's in-memory values, per element form (dtypes.ts):
 *
 * - typed: h5wasm's slice gives the typed array dosna stores; boolEnum is its int8 0/1 viewed as
 *   dosna's bool bytes.
 * - float16: raw IEEE binary16 bytes (h5wasm 0.10 has no JS form for them) → float32 values,
 *   which every dosna float16 dataset takes in `set`; out of dosna, whatever typed array `get`
 *   returns (float32 values, or a Float16Array where the platform has one) → binary16 bits.
 * - complex: raw compound bytes → interleaved [re, im] parts (dosna's in-memory layout), and
 *   back: dosna's interleaved parts are already h5py's {r, i} compound bytes.
 * - string: h5wasm's slice gives the strings; out, raw-io.ts writes them by pointer.
 */
import type { Dataset as H5Dataset } from "h5wasm/node";
import { float16BitsToFloat32, float32ToFloat16Bits, StringArray, type FillValue, type TypedArray } from "../format/index.js";
import type { ComplexLayout, ElementForm } from "./dtypes.js";
import type { H5Module } from "./h5wasm-loader.js";
import { readRawSlab } from "./raw-io.js";
import { regionSize, type Region } from "./slabs.js";

/** What `dataset.set` gets for a slab: its values and the shape they have (complex adds a last axis of 2). */
export interface SlabValues {
  data: TypedArray;
  shape: number[];
}

/** The elements of `region` (of a dataset with at least one axis) in the form dosna's `set` takes. */
export function readSlabValues(h5: H5Module, node: H5Dataset, form: ElementForm, region: Region): SlabValues {
  const shape = region.map(([start, stop]) => stop - start);
  switch (form.kind) {
    case "float16":
      return { data: float16FromBytes(readRawSlab(h5, node, region, 2)), shape };
    case "complex":
      return { data: complexFromBytes(readRawSlab(h5, node, region, form.elementBytes), form, regionSize(region)), shape: [...shape, 2] };
    case "string":
      return { data: StringArray.fromStrings(node.slice(region) as string[]) as unknown as TypedArray, shape };
    case "boolEnum": {
      // h5py's bool enum reads as int8 0/1: the same bytes as dosna's bool
      const data = node.slice(region) as TypedArray;
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), shape };
    }
    default:
      return { data: node.slice(region) as TypedArray, shape };
  }
}

/** The value of a 0-d dataset, as `dataset.set([], value)` takes it. */
export function readScalarValue(h5: H5Module, node: H5Dataset, form: ElementForm): FillValue {
  switch (form.kind) {
    case "float16":
      return float16FromBytes(readRawSlab(h5, node, [], 2))[0];
    case "complex": {
      const parts = complexFromBytes(readRawSlab(h5, node, [], form.elementBytes), form, 1);
      return [parts[0], parts[1]];
    }
    case "boolEnum":
      return Number(node.value) !== 0;
    default:
      // a number or bigint, or a string
      return node.value as FillValue;
  }
}

/** Little-endian binary16 bytes → their exact float32 values. */
export function float16FromBytes(bytes: Uint8Array<ArrayBuffer>): Float32Array<ArrayBuffer> {
  const halves = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Uint16Array(bytes.slice().buffer);
  return float16BitsToFloat32(halves);
}

/**
 * The little-endian binary16 bytes of float16 values as dosna's `get` returns them: a 2-byte
 * array (Float16Array) holds them already; a Float32Array holds exact float16 values; anything
 * else is taken as numbers.
 */
export function float16Bytes(values: ArrayLike<number>): Uint8Array {
  if (ArrayBuffer.isView(values) && (values as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT === 2) {
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  }
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  const bits = float32ToFloat16Bits(floats);
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
}

/** `count` complex elements of raw compound bytes (little endian) → interleaved [re, im] parts. */
export function complexFromBytes(bytes: Uint8Array<ArrayBuffer>, layout: ComplexLayout, count: number): Float32Array<ArrayBuffer> | Float64Array<ArrayBuffer> {
  const { partBytes, realOffset, imagOffset, elementBytes } = layout;
  if (elementBytes === 2 * partBytes && realOffset === 0 && imagOffset === partBytes && bytes.byteOffset % partBytes === 0) {
    // h5py's layout is numpy's: the bytes are the interleaved parts already
    return partBytes === 4 ? new Float32Array(bytes.buffer, bytes.byteOffset, 2 * count) : new Float64Array(bytes.buffer, bytes.byteOffset, 2 * count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = partBytes === 4 ? new Float32Array(2 * count) : new Float64Array(2 * count);
  for (let k = 0; k < count; k++) {
    const at = k * elementBytes;
    out[2 * k] = partBytes === 4 ? view.getFloat32(at + realOffset, true) : view.getFloat64(at + realOffset, true);
    out[2 * k + 1] = partBytes === 4 ? view.getFloat32(at + imagOffset, true) : view.getFloat64(at + imagOffset, true);
  }
  return out;
}

/** Interleaved [re, im] parts → the bytes of h5py's compound {r, i} (r at 0, i after it). */
export function complexBytes(parts: Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(parts.buffer, parts.byteOffset, parts.byteLength);
}
