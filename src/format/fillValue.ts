import { CorruptMetadataError, DtypeError } from "../errors.js";
import {
  complexPartType,
  type ComplexScalar,
  type DataType,
  describe,
  type FillValue,
  integerRange,
  isBigIntType,
  isComplexType,
  isFloatType,
} from "./dataType.js";
import { float16FromBits } from "./float16.js";
import { canonicalFillValue, defaultFillValue } from "./scalar.js";

/**
 * The Zarr v3 JSON form of a fill value. Floats: a number, or "NaN", "Infinity", "-Infinity".
 * Complex: `[re, im]`, each part written as a float. -0 is written as 0 (JSON numbers from
 * JSON.stringify carry no sign of zero). 64-bit integers are JSON numbers: a bigint is returned
 * only when the value is beyond 2^53, and `encodeMetadata` writes it as an exact integer literal.
 * bytes: a base64 string (standard alphabet, padded), as zarr-python 3.1 writes it.
 */
export function fillValueToJson(dt: DataType, v: FillValue): boolean | number | bigint | string | [number | string, number | string] {
  const value = canonicalFillValue(dt, v, "fill value");
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (Array.isArray(value)) return [floatToJson(value[0]), floatToJson(value[1])];
  if (typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  return floatToJson(value as number);
}

function floatToJson(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value === 0 ? 0 : value;
}

/**
 * The fill value stored in zarr.json at `key`, in canonical form (boolean / bigint / number, or
 * `[re, im]` for complex). Accepts hex strings ("0x7fc00000", float16 "0x7e00") for floats, as
 * the spec allows. `null` (written by some tools, zarrita among them, when no fill value was
 * given) reads as the default fill value.
 */
export function fillValueFromJson(dt: DataType, json: unknown, key: string): FillValue {
  const bad = (expected: string) =>
    new CorruptMetadataError(
      `invalid metadata at "${key}": fill_value ${describe(json)} is not valid for data type ${dt}; expected ${expected}`,
    );
  if (json === null) return defaultFillValue(dt);
  if (dt === "string") {
    if (typeof json !== "string") throw bad("a string");
    return json;
  }
  if (dt === "bytes") {
    const bytes = bytesFromJson(json);
    if (bytes === undefined) throw bad("a base64 string (standard alphabet, padded) or an array of integers from 0 to 255");
    return bytes;
  }
  if (dt === "bool") {
    if (typeof json !== "boolean") throw bad("true or false");
    return json;
  }
  if (isComplexType(dt)) {
    const part = complexPartType(dt);
    const parts = Array.isArray(json) && json.length === 2 ? json.map((x: unknown) => floatFromJson(part, x)) : [];
    if (parts.length !== 2 || parts.some((x) => x === undefined)) {
      throw bad(`[re, im], each a number, "NaN", "Infinity", "-Infinity" or a ${hexDigits(part)}-digit hex string`);
    }
    return canonicalFillValue(dt, parts as unknown as ComplexScalar, "fill value");
  }
  if (isFloatType(dt)) {
    const value = floatFromJson(dt, json);
    if (value === undefined) throw bad(`a number, "NaN", "Infinity", "-Infinity" or a ${hexDigits(dt)}-digit hex string`);
    return dt === "float16" ? canonicalFillValue(dt, value, "fill value") : value;
  }
  const { min, max } = integerRange(dt);
  if ((typeof json === "number" && Number.isInteger(json)) || typeof json === "bigint") {
    const value = BigInt(json);
    if (value >= min && value <= max) return isBigIntType(dt) ? value : Number(value);
  }
  throw bad(`an integer from ${min} to ${max}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of a bytes fill value: a base64 string (zarr-python 3.1 and 2 write these), or the
 * array of byte values the bytes extension's first version specified (zarr-python 3.0 wrote `[]`).
 */
function bytesFromJson(json: unknown): Uint8Array | undefined {
  if (typeof json === "string") {
    if (!BASE64.test(json)) return undefined;
    const decoded = Buffer.from(json, "base64");
    return new Uint8Array(decoded.buffer.slice(decoded.byteOffset, decoded.byteOffset + decoded.byteLength));
  }
  if (Array.isArray(json) && json.every((b) => typeof b === "number" && Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(json as number[]);
  return undefined;
}

function floatFromJson(dt: "float16" | "float32" | "float64", json: unknown): number | undefined {
  if (typeof json === "number") return json;
  if (typeof json === "bigint") return Number(json);
  if (json === "NaN") return NaN;
  if (json === "Infinity") return Infinity;
  if (json === "-Infinity") return -Infinity;
  if (typeof json === "string" && /^0x[0-9a-f]+$/i.test(json)) return floatFromHex(json.slice(2), dt);
  return undefined;
}

function hexDigits(dt: "float16" | "float32" | "float64"): number {
  return dt === "float16" ? 4 : dt === "float32" ? 8 : 16;
}

/** The float whose big-endian IEEE 754 bytes are the hex digits, or undefined for a wrong length. */
function floatFromHex(hex: string, dt: "float16" | "float32" | "float64"): number | undefined {
  if (hex.length !== hexDigits(dt)) return undefined;
  if (dt === "float16") return float16FromBits(parseInt(hex, 16));
  const size = hex.length / 2;
  const view = new DataView(new ArrayBuffer(size));
  for (let i = 0; i < size; i++) view.setUint8(i, parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  return size === 4 ? view.getFloat32(0, false) : view.getFloat64(0, false);
}

/** Validates a fill value given by a caller (not read from storage) and returns its canonical form. */
export function normaliseFillValue(dt: DataType, v: unknown, what = "fill value"): FillValue {
  if (v === undefined || v === null) return defaultFillValue(dt);
  if (dt === "string" || dt === "bytes" || typeof v === "string" || v instanceof Uint8Array) return canonicalFillValue(dt, v as FillValue, what);
  const isPair = Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number");
  if (typeof v !== "number" && typeof v !== "bigint" && typeof v !== "boolean" && !(isPair && isComplexType(dt))) {
    const expected = isComplexType(dt) ? "a number or [re, im]" : "a number, bigint or boolean";
    throw new DtypeError(`${what} ${describe(v)} is not ${expected} for data type ${dt}`);
  }
  return canonicalFillValue(dt, v as FillValue, what);
}
