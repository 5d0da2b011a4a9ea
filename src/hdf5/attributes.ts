/**
 * HDF5 attributes ⇄ dosna's JSON attributes.
 *
 * In: numbers (float16 too) and strings, scalars or arrays (nested lists by shape, as numpy's
 * tolist()); bool enums as true/false; h5py's complex (compound {r, i}) as [re, im], the
 * spelling of a complex fill value in zarr.json; 64-bit integers as numbers when exact, else as
 * decimal strings; NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity" (Zarr's JSON
 * spelling of them); an empty (null dataspace) attribute as null. Other types (other compounds,
 * reference, enum, vlen, ...) are not imported: the caller reports them.
 *
 * Out: a finite number is int64 when it is an integer, else float64; a string is a UTF-8 string;
 * a boolean is uint8 0/1 (h5wasm cannot write h5py's bool enum); a rectangular nested list of
 * numbers, booleans or strings is an array attribute of that shape; anything else (objects,
 * null, mixed or ragged lists, empty lists) is stored as its JSON text.
 */
import type { Attribute, GuessableDataTypes } from "h5wasm/node";
import { complexLayoutOf, describeHdf5Type, isBoolEnum, isFloat16Type, isNumericType, isStringType } from "./dtypes.js";
import { complexFromBytes, float16FromBytes } from "./elements.js";
import type { H5Module } from "./h5wasm-loader.js";
import { readRawAttribute } from "./raw-io.js";

export type AttributeVerdict = { value: unknown } | { unsupported: string };

export function attributeToJson(h5: H5Module, attribute: Attribute): AttributeVerdict {
  const metadata = attribute.metadata;
  const shape = attribute.shape;
  if (shape === null) return { value: null };
  const bool = isBoolEnum(metadata);
  const complex = complexLayoutOf(metadata);
  let elements: unknown[];
  if (complex) {
    const parts = complexFromBytes(readRawAttribute(h5, attribute), complex, metadata.total_size);
    elements = Array.from({ length: metadata.total_size }, (_, k) => [jsonElement(parts[2 * k]), jsonElement(parts[2 * k + 1])]);
  } else if (isFloat16Type(metadata)) {
    // h5wasm 0.10 has no JS form for float16: the raw bytes are converted here
    elements = Array.from(float16FromBytes(readRawAttribute(h5, attribute)), jsonElement);
  } else if (bool || isNumericType(metadata) || isStringType(metadata)) {
    const raw = attribute.value;
    const flat: unknown[] = shape.length === 0 ? [raw] : Array.isArray(raw) ? raw : ArrayBuffer.isView(raw) ? Array.from(raw as unknown as ArrayLike<unknown>) : [raw];
    elements = flat.map((v) => (bool ? Number(v) !== 0 : jsonElement(v)));
  } else {
    return { unsupported: `type ${describeHdf5Type(metadata)}, which a JSON attribute cannot hold` };
  }
  return { value: shape.length === 0 ? elements[0] : nest(elements, shape) };
}

function jsonElement(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return value;
}

function nest(flat: unknown[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return flat;
  const step = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)));
}

/** What h5wasm's create_attribute gets for a JSON value. */
export interface HdfAttribute {
  data: GuessableDataTypes;
  shape: number[];
  dtype: string;
}

export function jsonToAttribute(value: unknown): HdfAttribute {
  const shape = shapeOf(value);
  const flat: unknown[] = [];
  if (!flattenInto(value, shape, 0, flat) || flat.length === 0) return asJsonText(value);
  if (flat.every((v) => typeof v === "string")) return { data: flat as string[], shape, dtype: "S" };
  if (flat.every((v) => typeof v === "boolean")) return { data: Uint8Array.from(flat as boolean[], (b) => (b ? 1 : 0)), shape, dtype: "<B" };
  if (flat.every((v) => typeof v === "number" && Number.isFinite(v))) {
    const numbers = flat as number[];
    if (numbers.every((n) => Number.isSafeInteger(n))) return { data: BigInt64Array.from(numbers, (n) => BigInt(n)), shape, dtype: "<q" };
    return { data: Float64Array.from(numbers), shape, dtype: "<d" };
  }
  return asJsonText(value);
}

function asJsonText(value: unknown): HdfAttribute {
  return { data: JSON.stringify(value), shape: [], dtype: "S" };
}

/** The shape a nested list would have, read along its first elements. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  return shape;
}

/** Push the elements of `value` in C order; false when it is not a rectangular list of `shape` of scalars. */
function flattenInto(value: unknown, shape: readonly number[], depth: number, out: unknown[]): boolean {
  if (depth === shape.length) {
    if (value !== null && typeof value === "object") return false;
    out.push(value);
    return true;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) return false;
  return value.every((item) => flattenInto(item, shape, depth + 1, out));
}
