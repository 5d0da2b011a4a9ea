/**
 * Raw element bytes in and out of h5wasm, below its high-level Dataset API: h5wasm 0.10 turns
 * what it reads into JS values itself, and has no JS form for float16 ("Float16 not supported"),
 * reads a compound element by element into nested arrays, and cannot write a slice of
 * variable-length strings. Its module functions get_dataset_data / set_dataset_data /
 * get_attribute_data move the bytes of a hyperslab through a buffer in the WebAssembly heap, in
 * the dataset's own type with the byte order made little endian; these helpers allocate that
 * buffer, copy in or out, and free it.
 */
import type { Attribute, Dataset as H5Dataset } from "h5wasm/node";
import { ValidationError } from "../errors.js";
import type { H5Module } from "./h5wasm-loader.js";
import type { Region } from "./slabs.js";

type Heap = H5Module["Module"];

/** The hyperslab of `region`, as the module functions take it; none for a 0-d dataset (its whole scalar space). */
function hyperslab(region: Region): { count: bigint[] | null; offset: bigint[] | null; strides: bigint[] | null } {
  if (region.length === 0) return { count: null, offset: null, strides: null };
  return {
    count: region.map(([start, stop]) => BigInt(stop - start)),
    offset: region.map(([start]) => BigInt(start)),
    strides: region.map(() => 1n),
  };
}

function allocate(heap: Heap, bytes: number): number {
  const pointer = heap._malloc(Math.max(1, bytes));
  if (pointer === 0) throw new RangeError(`cannot allocate ${bytes} bytes in h5wasm's WebAssembly memory`);
  return pointer;
}

/** The bytes of `region` of a dataset of fixed-size elements, `elementBytes` each, little endian. */
export function readRawSlab(h5: H5Module, node: H5Dataset, region: Region, elementBytes: number): Uint8Array<ArrayBuffer> {
  const heap = h5.Module;
  const bytes = region.reduce((n, [start, stop]) => n * (stop - start), 1) * elementBytes;
  const pointer = allocate(heap, bytes);
  try {
    const { count, offset, strides } = hyperslab(region);
    heap.get_dataset_data(node.file_id, node.path, count, offset, strides, BigInt(pointer));
    return heap.HEAPU8.slice(pointer, pointer + bytes);
  } finally {
    heap._free(pointer);
  }
}

/** Write `bytes` (elements of the dataset's type, little endian, C order) to `region`. */
export function writeRawSlab(h5: H5Module, node: H5Dataset, region: Region, bytes: Uint8Array): void {
  const heap = h5.Module;
  const pointer = allocate(heap, bytes.byteLength);
  try {
    heap.HEAPU8.set(bytes, pointer);
    const { count, offset, strides } = hyperslab(region);
    heap.set_dataset_data(node.file_id, node.path, count, offset, strides, BigInt(pointer));
  } finally {
    heap._free(pointer);
  }
}

/**
 * Write strings to `region` of a variable-length string dataset: each as NUL-terminated UTF-8
 * in the heap, and an array of pointers to them (what HDF5 reads for a `char *` element). HDF5
 * ends such a string at its first NUL, so a string holding U+0000 is refused.
 */
export function writeStringSlab(h5: H5Module, node: H5Dataset, region: Region, strings: ArrayLike<string>, describe: string): void {
  const heap = h5.Module;
  checkNoNul(strings, region, describe);
  const encoder = new TextEncoder();
  const encoded = Array.from(strings, (text) => encoder.encode(text));
  const total = encoded.reduce((n, e) => n + e.length + 1, 0);
  const text = allocate(heap, total);
  const table = allocate(heap, 4 * encoded.length);
  try {
    const pointers = new Uint32Array(encoded.length);
    let at = text;
    for (const [i, bytes] of encoded.entries()) {
      heap.HEAPU8.set(bytes, at);
      heap.HEAPU8[at + bytes.length] = 0;
      pointers[i] = at;
      at += bytes.length + 1;
    }
    heap.HEAPU8.set(new Uint8Array(pointers.buffer), table);
    const { count, offset, strides } = hyperslab(region);
    heap.set_dataset_data(node.file_id, node.path, count, offset, strides, BigInt(table));
  } finally {
    heap._free(table);
    heap._free(text);
  }
}

/** HDF5 ends a variable-length string at its first NUL: a string holding one is refused, naming its index. */
export function checkNoNul(strings: ArrayLike<string>, region: Region, describe: string): void {
  for (let i = 0; i < strings.length; i++) {
    if (strings[i].includes("\0")) {
      throw new ValidationError(`${describe}: the string at index [${indexIn(region, i).join(", ")}] holds a NUL character, which an HDF5 variable-length string cannot hold`);
    }
  }
}

/** The dataset index of the `i`-th element (C order) of `region`. */
function indexIn(region: Region, i: number): number[] {
  const index = region.map(() => 0);
  for (let axis = region.length - 1, rest = i; axis >= 0; axis--) {
    const [start, stop] = region[axis];
    index[axis] = start + (rest % (stop - start));
    rest = Math.floor(rest / (stop - start));
  }
  return index;
}

/** The bytes of a whole attribute of fixed-size elements, little endian. */
export function readRawAttribute(h5: H5Module, attribute: Attribute): Uint8Array<ArrayBuffer> {
  const heap = h5.Module;
  const bytes = attribute.metadata.size * attribute.metadata.total_size;
  const pointer = allocate(heap, bytes);
  try {
    heap.get_attribute_data(attribute.file_id, attribute.path, attribute.name, BigInt(pointer));
    return heap.HEAPU8.slice(pointer, pointer + bytes);
  } finally {
    heap._free(pointer);
  }
}
