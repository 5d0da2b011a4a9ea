/**
 * HDF5 element types (as h5wasm describes them) ⇄ dosna data types. h5py stores numpy's bool as
 * an int8 enum {FALSE: 0, TRUE: 1}; that one enum is dosna's bool, other enums are not imported.
 */
import type { Metadata } from "h5wasm/node";
import { bytesPerElement, type DataType, type Scalar } from "../format/index.js";
import { h5DtypeOf } from "../h5/dtypes.js";

/** h5wasm's H5T_class_t values. */
const CLASS = { integer: 0, float: 1, time: 2, string: 3, bitfield: 4, opaque: 5, compound: 6, reference: 7, enum: 8, vlen: 9, array: 10 } as const;

const CLASS_NAMES: Record<number, string> = {
  [CLASS.time]: "time",
  [CLASS.bitfield]: "bitfield",
  [CLASS.opaque]: "opaque",
  [CLASS.array]: "array",
};

/** `unsupported` says why, in words that follow a dataset's path. */
export type TypeVerdict = { dtype: DataType; isBoolEnum: boolean } | { unsupported: string };

/** The dosna data type an HDF5 element type maps to, or why there is none. */
export function dosnaTypeOf(metadata: Metadata): TypeVerdict {
  if (metadata.type === CLASS.integer) {
    const dtype = integerType(metadata.size, metadata.signed);
    return dtype ? { dtype, isBoolEnum: false } : cannotStore(metadata);
  }
  if (metadata.type === CLASS.float) {
    if (metadata.size === 4) return { dtype: "float32", isBoolEnum: false };
    if (metadata.size === 8) return { dtype: "float64", isBoolEnum: false };
    return metadata.size === 2 ? { unsupported: "type float16, which h5wasm 0.10 cannot read" } : cannotStore(metadata);
  }
  if (isBoolEnum(metadata)) return { dtype: "bool", isBoolEnum: true };
  return cannotStore(metadata);
}

function cannotStore(metadata: Metadata): { unsupported: string } {
  return { unsupported: `type ${describeHdf5Type(metadata)}, which dosna cannot store` };
}

export function isBoolEnum(metadata: Metadata): boolean {
  const members = metadata.enum_type?.members;
  if (metadata.type !== CLASS.enum || metadata.size !== 1 || members === undefined) return false;
  const names = Object.keys(members).sort();
  return names.length === 2 && names[0] === "FALSE" && names[1] === "TRUE" && members.FALSE === 0 && members.TRUE === 1;
}

export function isStringType(metadata: Metadata): boolean {
  return metadata.type === CLASS.string;
}

export function isNumericType(metadata: Metadata): boolean {
  return metadata.type === CLASS.integer || metadata.type === CLASS.float;
}

function integerType(size: number, signed: boolean): DataType | undefined {
  const bits = size * 8;
  if (![8, 16, 32, 64].includes(bits)) return undefined;
  return `${signed ? "int" : "uint"}${bits}` as DataType;
}

/** An HDF5 element type in words, for messages: "compound {a: int32, b: float64}", "object reference", ... */
export function describeHdf5Type(metadata: Metadata): string {
  switch (metadata.type) {
    case CLASS.integer:
      return `${metadata.signed ? "int" : "uint"}${metadata.size * 8}`;
    case CLASS.float:
      return `float${metadata.size * 8}`;
    case CLASS.string:
      return `${metadata.vlen ? "variable-length" : `fixed-length (${metadata.size} bytes)`} ${metadata.cset === 1 ? "UTF-8" : "ASCII"} string`;
    case CLASS.compound: {
      const members = metadata.compound_type?.members ?? [];
      return `compound {${members.map((m) => `${m.name}: ${describeHdf5Type(m)}`).join(", ")}}`;
    }
    case CLASS.reference:
      return metadata.ref_type === "region" ? "region reference" : "object reference";
    case CLASS.enum: {
      const base = metadata.enum_type ? describeHdf5Type({ ...metadata, type: metadata.enum_type.type }) : "integer";
      return `enum ${base} {${Object.keys(metadata.enum_type?.members ?? {}).join(", ")}}`;
    }
    case CLASS.vlen:
      return `variable-length sequence of ${metadata.vlen_type ? describeHdf5Type(metadata.vlen_type) : "elements"}`;
    case CLASS.array:
      return `array [${metadata.array_type?.shape?.join(", ") ?? ""}] of ${metadata.array_type ? describeHdf5Type(metadata.array_type) : "elements"}`;
    default:
      return CLASS_NAMES[metadata.type] ?? `HDF5 type class ${metadata.type}`;
  }
}

/**
 * The h5wasm dtype string a dosna dataset is written with. bool becomes uint8 (0/1): h5wasm
 * cannot create the enum h5py uses for bool.
 */
export function h5wasmDtypeOf(dtype: DataType): string | undefined {
  return H5WASM_WRITABLE.has(dtype) ? h5DtypeOf(dtype) : undefined;
}

/** The dtypes h5wasm can create (no float16, complex or strings). */
const H5WASM_WRITABLE = new Set<DataType>(["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]);

/** A fill value's raw bytes (in the dataset's element type and byte order) as a dosna scalar. */
export function decodeScalar(bytes: Uint8Array, metadata: Metadata, dtype: DataType): Scalar | undefined {
  if (bytes.length !== bytesPerElement(dtype) || bytes.length !== metadata.size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = metadata.littleEndian;
  switch (dtype) {
    case "bool":
      return view.getInt8(0) !== 0;
    case "int8":
      return view.getInt8(0);
    case "uint8":
      return view.getUint8(0);
    case "int16":
      return view.getInt16(0, little);
    case "uint16":
      return view.getUint16(0, little);
    case "int32":
      return view.getInt32(0, little);
    case "uint32":
      return view.getUint32(0, little);
    case "int64":
      return view.getBigInt64(0, little);
    case "uint64":
      return view.getBigUint64(0, little);
    case "float32":
      return view.getFloat32(0, little);
    case "float64":
      return view.getFloat64(0, little);
    default:
      return undefined;
  }
}
