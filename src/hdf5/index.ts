/**
 * hdf5/: HDF5 files in and out, through h5wasm (the HDF5 library as WebAssembly, reading and
 * writing the real file, so files larger than memory work). A thin adapter over the public API,
 * with h5wasm's module functions below its Dataset API where that API stops (raw-io.ts), and the
 * few pieces of the file format h5wasm has no call for (object-header.ts).
 *
 * - h5wasm-loader.ts     loads h5wasm's Node build on first use
 * - dtypes.ts            HDF5 element types ⇄ dosna data types (h5py's bool enum is bool, its
 *                        compound {r, i} complex), and in which form each moves
 * - raw-io.ts            element bytes of a hyperslab or attribute in and out of h5wasm's heap;
 *                        variable-length strings written by pointer
 * - elements.ts          a slab's HDF5 elements ⇄ dosna's in-memory values (float16, complex, strings)
 * - object-header.ts     the superblock, object header messages and their lookup3 checksums
 * - fill-value.ts        a dataset's fill value, read from its object header (h5wasm has no API for it)
 * - float16-datatype.ts  float16 datasets of an export: a placeholder type rewritten as IEEE binary16
 * - attributes.ts        HDF5 attributes ⇄ JSON attributes
 * - slabs.ts             the blocks of whole chunks a transfer moves at a time (pure)
 * - plan.ts              what an import creates (and what it skips, and why), from the file's metadata
 * - import.ts            importHdf5: a file (or a group or dataset of it) into a pool or group
 * - export.ts            exportHdf5: a dataset or group (recursively) into a new file
 */
export { importHdf5, type ImportHdf5Options, type Hdf5ImportSummary, type ImportedItem, type SkippedItem, type Hdf5Progress } from "./import.js";
export { exportHdf5, type ExportHdf5Options, type Hdf5ExportSummary } from "./export.js";
