/**
 * hdf5/: HDF5 files in and out, through h5wasm (the HDF5 library as WebAssembly, reading and
 * writing the real file, so files larger than memory work). A thin adapter over the public API.
 *
 * - h5wasm-loader.ts  loads h5wasm's Node build on first use
 * - dtypes.ts         HDF5 element types ⇄ dosna data types (h5py's bool enum is bool)
 * - fill-value.ts     a dataset's fill value, read from its object header (h5wasm has no API for it)
 * - attributes.ts     HDF5 attributes ⇄ JSON attributes
 * - slabs.ts          the blocks of whole chunks a transfer moves at a time (pure)
 * - plan.ts           what an import creates (and what it skips, and why), from the file's metadata
 * - import.ts         importHdf5: a file (or a group or dataset of it) into a pool or group
 * - export.ts         exportHdf5: a dataset or group (recursively) into a new file
 */
export { importHdf5, type ImportHdf5Options, type Hdf5ImportSummary, type ImportedItem, type SkippedItem, type Hdf5Progress } from "./import.js";
export { exportHdf5, type ExportHdf5Options, type Hdf5ExportSummary } from "./export.js";
