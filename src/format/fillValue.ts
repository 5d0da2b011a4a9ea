import { CorruptMetadataError, DtypeError } from "../errors.js";
import { type DataType, describe, integerRange, isBigIntType, isFloatType, type Scalar } from "./dataType.js";
import { canonicalScalar, defaultFillValue } from "./scalar.js";

/**
 * The Zarr v3 JSON form of a fill value. Floats: a number, or "NaN", "Infinity", "-Infinity".
 * -0 is written as 0 (JSON numbers from JSON.stringify carry no sign of zero). 64-bit integers
 * are JSON numbers: a bigint is returned only when the value is beyond 2^53, and
 * `encodeMetadata` writes it as an exact integer literal.
 */
export function fillValueToJson(dt: DataType, v: Scalar): boolean | number | bigint | string {
  const value = canonicalScalar(dt, v, "fill value");
  if (typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value === 0 ? 0 : value;
}

/**
 * The fill value stored in zarr.json at `key`, in canonical form (boolean / bigint / number).
 * Accepts hex strings ("0x7fc00000") for floats, as the spec allows. `null` (written by some
 * tools, zarrita among them, when no fill value was given) reads as the default fill value.
 */
export function fillValueFromJson(dt: DataType, json: unknown, key: string): Scalar {
  const bad = (expected: string) =>
    new CorruptMetadataError(
      `invalid metadata at "${key}": fill_value ${describe(json)} is not valid for data type ${dt}; expected ${expected}`,
    );
  if (json === null) return defaultFillValue(dt);
  if (dt === "bool") {
    if (typeof json !== "boolean") throw bad("true or false");
    return json;
  }
  if (isFloatType(dt)) {
    if (typeof json === "number") return json;
    if (typeof json === "bigint") return Number(json);
    if (json === "NaN") return NaN;
    if (json === "Infinity") return Infinity;
    if (json === "-Infinity") return -Infinity;
    if (typeof json === "string" && /^0x[0-9a-f]+$/i.test(json)) {
      const value = floatFromHex(json.slice(2), dt);
      if (value !== undefined) return value;
    }
    throw bad(`a number, "NaN", "Infinity", "-Infinity" or a ${dt === "float32" ? 8 : 16}-digit hex string`);
  }
  const { min, max } = integerRange(dt);
  if ((typeof json === "number" && Number.isInteger(json)) || typeof json === "bigint") {
    const value = BigInt(json);
    if (value >= min && value <= max) return isBigIntType(dt) ? value : Number(value);
  }
  throw bad(`an integer from ${min} to ${max}`);
}

/** The float whose big-endian IEEE 754 bytes are the hex digits, or undefined for a wrong length. */
function floatFromHex(hex: string, dt: "float32" | "float64"): number | undefined {
  const size = dt === "float32" ? 4 : 8;
  if (hex.length !== size * 2) return undefined;
  const view = new DataView(new ArrayBuffer(size));
  for (let i = 0; i < size; i++) view.setUint8(i, parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  return size === 4 ? view.getFloat32(0, false) : view.getFloat64(0, false);
}

/** Validates a fill value given by a caller (not read from storage) and returns its canonical form. */
export function normaliseFillValue(dt: DataType, v: unknown, what = "fill value"): Scalar {
  if (v === undefined || v === null) return defaultFillValue(dt);
  if (typeof v !== "number" && typeof v !== "bigint" && typeof v !== "boolean") {
    throw new DtypeError(`${what} ${describe(v)} is not a number, bigint or boolean for data type ${dt}`);
  }
  return canonicalScalar(dt, v, what);
}
