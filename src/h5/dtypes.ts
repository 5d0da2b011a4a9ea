/** h5wasm spells dtypes as Python struct codes ("<f", "<d", "<i", "<B"); dosna uses Zarr names. */
import { parseDataType, type DataType } from "../format/index.js";

const H5_CODES: Record<DataType, string> = {
  bool: "<B",
  int8: "<b",
  int16: "<h",
  int32: "<i",
  int64: "<q",
  uint8: "<B",
  uint16: "<H",
  uint32: "<I",
  uint64: "<Q",
  float16: "<e",
  float32: "<f",
  float64: "<d",
  complex64: "<F",
  complex128: "<D",
  string: "O",
  bytes: "O",
};

const FROM_STRUCT: Record<string, DataType> = {
  b: "int8", h: "int16", i: "int32", q: "int64",
  B: "uint8", H: "uint16", I: "uint32", Q: "uint64",
  f: "float32", d: "float64",
};

export function h5DtypeOf(dtype: DataType): string {
  return H5_CODES[dtype];
}

/** Accepts h5wasm struct codes ("<f", ">i", "d") and everything parseDataType accepts. */
export function parseH5Dtype(spelling: string): DataType {
  const struct = /^[<>=|!]?([bhiqBHIQfd])$/.exec(spelling);
  return struct ? FROM_STRUCT[struct[1]] : parseDataType(spelling);
}
