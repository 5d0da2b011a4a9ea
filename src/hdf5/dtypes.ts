/**
 * HDF5 element types (as h5wasm describes them) ⇄ dosna data types, and in which form each moves:
 * h5py stores numpy's bool as an int8 enum {FALSE: 0, TRUE: 1} (dosna's bool; other enums are
 * not imported), numpy's complex as a compound {r, i} of two floats of one type (dosna's
 * complex64/complex128; other compounds are not imported), float16 as IEEE binary16, and strings
 * as variable- or fixed-length strings (dosna's string).
 */
import type { Metadata } from "h5wasm/node";
import { bytesPerElement, float16BitsToFloat32, type DataType, type FillValue } from "../format/index.js";
import { h5DtypeOf } from "../h5/dtypes.js";

/** h5wasm's H5T_class_t values. */
const CLASS = { integer: 0, float: 1, time: 2, string: 3, bitfield: 4, opaque: 5, compound: 6, reference: 7, enum: 8, vlen: 9, array: 10 } as const;

const CLASS_NAMES: Record<number, string> = {
  [CLASS.time]: "time",
  [CLASS.bitfield]: "bitfield",
  [CLASS.opaque]: "opaque",
  [CLASS.array]: "array",
};

/** Where the two parts of a complex element lie in its bytes. */
export interface ComplexLayout {
  partBytes: 4 | 8;
  realOffset: number;
  imagOffset: number;
  elementBytes: number;
}

/**
 * How an HDF5 dataset's elements are read into dosna's in-memory form: "typed" is the typed array
 * h5wasm's slice gives, "boolEnum" h5py's bool (int8 0/1), "float16" raw IEEE binary16 bytes,
 * "complex" raw compound bytes, "string" the strings h5wasm's slice gives.
 */
export type ElementForm =
  | { kind: "typed" }
  | { kind: "boolEnum" }
  | { kind: "float16" }
  | ({ kind: "complex" } & ComplexLayout)
  | { kind: "string" };

/** `unsupported` says why, in words that follow a dataset's path. */
export type TypeVerdict = { dtype: DataType; form: ElementForm } | { unsupported: string };

/** The dosna data type an HDF5 element type maps to, or why there is none. */
export function dosnaTypeOf(metadata: Metadata): TypeVerdict {
  if (metadata.type === CLASS.integer) {
    const dtype = integerType(metadata.size, metadata.signed);
    return dtype ? { dtype, form: { kind: "typed" } } : cannotStore(metadata);
  }
  if (metadata.type === CLASS.float) {
    if (metadata.size === 2) return { dtype: "float16", form: { kind: "float16" } };
    if (metadata.size === 4) return { dtype: "float32", form: { kind: "typed" } };
    if (metadata.size === 8) return { dtype: "float64", form: { kind: "typed" } };
    return cannotStore(metadata);
  }
  if (metadata.type === CLASS.string) return { dtype: "string", form: { kind: "string" } };
  if (isBoolEnum(metadata)) return { dtype: "bool", form: { kind: "boolEnum" } };
  const complex = complexLayoutOf(metadata);
  if (complex) return { dtype: complex.partBytes === 4 ? "complex64" : "complex128", form: { kind: "complex", ...complex } };
  return cannotStore(metadata);
}

/**
 * The layout of h5py's complex: a compound of exactly two members named r and i, floats of the
 * same size (4 or 8) and byte order; undefined for any other type.
 */
export function complexLayoutOf(metadata: Metadata): ComplexLayout | undefined {
  const members = metadata.compound_type?.members;
  if (metadata.type !== CLASS.compound || members?.length !== 2) return undefined;
  const real = members.find((m) => m.name === "r");
  const imag = members.find((m) => m.name === "i");
  if (!real || !imag || real.type !== CLASS.float || imag.type !== CLASS.float) return undefined;
  if (real.size !== imag.size || (real.size !== 4 && real.size !== 8) || real.littleEndian !== imag.littleEndian) return undefined;
  return { partBytes: real.size, realOffset: real.offset, imagOffset: imag.offset, elementBytes: metadata.size };
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

export function isFloat16Type(metadata: Metadata): boolean {
  return metadata.type === CLASS.float && metadata.size === 2;
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
 * How a dosna dataset is written: "typed" with h5wasm's dtype string (bool becomes uint8 0/1:
 * h5wasm cannot create the enum h5py uses for bool); "float16" through a 2-byte placeholder
 * compound retyped afterwards (float16-datatype.ts: h5wasm cannot create a float16 type);
 * "complex" as h5py's compound {r, i}; "string" as variable-length UTF-8 strings.
 */
export type ExportForm =
  | { kind: "typed"; h5dtype: string }
  | { kind: "float16" }
  | { kind: "complex"; h5dtype: Array<[string, string]>; partBytes: 4 | 8 }
  | { kind: "string" };

/** How a dosna dataset of `dtype` is written, or undefined when the export cannot write it. */
export function exportFormOf(dtype: DataType): ExportForm | undefined {
  switch (dtype) {
    case "float16":
      return { kind: "float16" };
    case "complex64":
      return { kind: "complex", h5dtype: [["r", "<f"], ["i", "<f"]], partBytes: 4 };
    case "complex128":
      return { kind: "complex", h5dtype: [["r", "<d"], ["i", "<d"]], partBytes: 8 };
    case "string":
      return { kind: "string" };
    default:
      return TYPED.has(dtype) ? { kind: "typed", h5dtype: h5DtypeOf(dtype) } : undefined;
  }
}

/** The dtypes h5wasm writes as they are (bool as uint8). */
const TYPED = new Set<DataType>(["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]);

/** A fill value's raw bytes (in the dataset's element type and byte order) as a dosna fill value. */
export function decodeFillValue(bytes: Uint8Array, metadata: Metadata, verdict: { dtype: DataType; form: ElementForm }): FillValue | undefined {
  const { dtype, form } = verdict;
  if (form.kind === "string") return metadata.vlen || bytes.length !== metadata.size ? undefined : decodeFixedString(bytes, metadata);
  if (bytes.length !== metadata.size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (form.kind === "complex") {
    const little = metadata.compound_type!.members[0].littleEndian;
    const part = (at: number) => (form.partBytes === 4 ? view.getFloat32(at, little) : view.getFloat64(at, little));
    return [part(form.realOffset), part(form.imagOffset)];
  }
  if (form.kind === "float16") return float16BitsToFloat32(Uint16Array.of(view.getUint16(0, metadata.littleEndian)))[0];
  if (bytes.length !== bytesPerElement(dtype)) return undefined;
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

/** A fixed-length string's bytes as h5wasm reads them: up to the first NUL, in the type's character set. */
function decodeFixedString(bytes: Uint8Array, metadata: Metadata): string {
  const end = bytes.indexOf(0);
  return new TextDecoder(metadata.cset === 1 ? "utf-8" : "ascii").decode(end < 0 ? bytes : bytes.subarray(0, end));
}
