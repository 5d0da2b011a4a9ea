/**
 * npy/: numpy's .npy format (versions 1.0, 2.0, 3.0; C and Fortran order; either byte order; the
 * dtypes dosna stores), and streaming between .npy files and datasets.
 *
 * - python-literal.ts  the Python literal subset of the header dict
 * - header.ts          preamble and header, descr ⇄ dtype (pure)
 * - elements.ts        element bytes ⇄ typed arrays, byte swapping
 * - file-io.ts         NpyReader (ranges of elements of a file) and NpyWriter (appends, atomic rename)
 * - whole.ts           readNpy / writeNpy / decodeNpy / encodeNpy: whole arrays in memory
 * - transfer.ts        importNpy / exportNpy: file ⇄ dataset, slab by slab
 */
export { decodeNpy, encodeNpy, readNpy, writeNpy, type EncodeNpyOptions, type NpyArray, type NpyInput } from "./whole.js";
export { NpyReader, NpyWriter } from "./file-io.js";
export { descrOf, encodeNpyHeader, parseNpyHeader, type NpyHeader } from "./header.js";
export { exportNpy, importNpy, type ExportNpyOptions, type ImportNpyOptions, type TransferProgress } from "./transfer.js";
