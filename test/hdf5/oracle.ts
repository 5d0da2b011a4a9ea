/**
 * The h5py oracle of the HDF5 tests (h5py_oracle.py under Debian's /usr/bin/python3): it writes
 * the test files and describes any HDF5 file as JSON plus one .npy per numeric dataset (float16
 * as float32, complex as [..., 2] float parts) and the strings of each string dataset.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import * as dn from "../../src/index.js";

const run = promisify(execFile);
export const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dirname, "h5py_oracle.py");

export interface DumpedDataset {
  dtype: string;
  kind: string;
  shape: number[] | null;
  chunks: number[] | null;
  fillvalue: unknown;
  attrs: Record<string, unknown>;
  dims: (string | null)[];
  compression: string | null;
  compression_opts: number | null;
  shuffle: boolean;
  npy?: string;
  /** h5py's string_info of a string dataset, and its values (flat, C order, decoded). */
  string?: { encoding: "utf-8" | "ascii"; length: number | null };
  strings?: string[];
}

export interface Dump {
  dir: string;
  groups: Record<string, { attrs: Record<string, unknown> }>;
  datasets: Record<string, DumpedDataset>;
}

export async function writeTestFiles(dir: string): Promise<void> {
  await run(PYTHON, [SCRIPT, "write", dir]);
}

export async function dumpHdf5(file: string, dir: string): Promise<Dump> {
  await run(PYTHON, [SCRIPT, "dump", file, dir]);
  return { dir, ...(JSON.parse(await readFile(join(dir, "dump.json"), "utf8")) as Omit<Dump, "dir">) };
}

/** Whether the oracle gave the dataset's values (numbers or strings): it holds a type dosna stores. */
export function hasValues(dataset: DumpedDataset): boolean {
  return dataset.npy !== undefined || dataset.strings !== undefined;
}

/** The values h5py read, in C order, as plain numbers, bigints, booleans or strings (complex: re, im, re, im, ...). */
export async function dumpedValues(dump: Dump, dataset: DumpedDataset): Promise<unknown[]> {
  if (dataset.strings !== undefined) return dataset.strings;
  const npy = await dn.readNpy(join(dump.dir, dataset.npy!));
  const values = Array.from(npy.array.data as ArrayLike<number | bigint>);
  return npy.dtype === "bool" ? values.map((v) => v !== 0) : values;
}

/** numpy's dtype.str as a dosna dtype (h5py's bool enum reads as numpy bool; strings, of any length, as object or S). */
export function dosnaDtypeOf(numpyStr: string): dn.DataType {
  const code = numpyStr.slice(1);
  if (code === "O" || /^S\d+$/.test(code)) return "string";
  const map: Record<string, dn.DataType> = {
    b1: "bool", i1: "int8", i2: "int16", i4: "int32", i8: "int64",
    u1: "uint8", u2: "uint16", u4: "uint32", u8: "uint64", f2: "float16", f4: "float32", f8: "float64",
    c8: "complex64", c16: "complex128",
  };
  if (!(code in map)) throw new Error(`no dosna dtype for numpy ${numpyStr}`);
  return map[code];
}

/** JSON attributes as dosna keeps them: without those the oracle marked as types JSON cannot hold. */
export function storableAttrs(attrs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => !(v !== null && typeof v === "object" && "unsupported" in v)));
}

export function unsupportedAttrs(attrs: Record<string, unknown>): string[] {
  return Object.keys(attrs).filter((k) => !(k in storableAttrs(attrs)));
}

/** A dataset's values read back from dosna, in C order, as the oracle gives them (complex: interleaved parts). */
export async function dosnaValues(ds: dn.Dataset): Promise<unknown[]> {
  const values = Array.from((await ds.read()).data as ArrayLike<number | bigint | string>);
  return ds.dtype === "bool" ? values.map((v) => v !== 0) : values;
}
