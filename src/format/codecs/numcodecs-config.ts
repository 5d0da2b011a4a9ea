/**
 * Reading the configuration of a `numcodecs.*` codec: zarr-python 3 writes numcodecs' own
 * `get_config()` without its "id", so data types are numpy typestrs ("<i4", "|u1") or numpy
 * names ("int32"), and the numbers are whatever Python held.
 */
import { DtypeError } from "../../errors.js";
import { bytesPerElement, type DataType, numpyTypestrOf, parseDataType } from "../dataType.js";
import { CodecConfigurationError } from "./registry.js";

/** The data types numpy arithmetic is implemented for here (not float16, complex). */
const SUPPORTED = /^(bool|u?int(8|16|32|64)|float(32|64))$/;

export type Configuration = Record<string, unknown> | undefined;

/** Throws unless every key of `configuration` is one of `allowed` (numcodecs rejects others too). */
export function checkKeys(configuration: Configuration, allowed: readonly string[]): void {
  for (const key of Object.keys(configuration ?? {})) {
    if (!allowed.includes(key)) {
      throw new CodecConfigurationError(`unknown configuration key ${JSON.stringify(key)}; expected ${allowed.map((k) => `"${k}"`).join(", ")}`);
    }
  }
}

/** numpy's spelling of a data type as numcodecs writes it: "<f8", "|u1". */
export function numpyTypestr(dt: DataType): string {
  return `${bytesPerElement(dt) === 1 ? "|" : "<"}${numpyTypestrOf(dt)}`;
}

/** The data type named by `configuration[field]` (byte order ignored), or `fallback` when it is absent. */
export function dtypeField(configuration: Configuration, field: string, fallback?: DataType): DataType {
  const value = configuration?.[field];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new CodecConfigurationError(`${field} is required (a numpy data type such as "<f8" or "|u1")`);
  }
  let dt: DataType;
  try {
    dt = parseDataType(value as string, field);
  } catch (error) {
    if (error instanceof DtypeError) throw new CodecConfigurationError(error.message);
    throw error;
  }
  if (!SUPPORTED.test(dt)) {
    throw new CodecConfigurationError(`${field} ${JSON.stringify(value)} is not a data type these codecs support (bool, integers, float32, float64)`);
  }
  // A byte order (">i4" in a v2 array of big-endian data) is ignored: these codecs work on values,
  // and the bytes codec after them decides how elements are laid out.
  return dt;
}

/**
 * The data type of `field`, which names what the codec receives: absent means the array's (as
 * zarr-python 3 fills it in), and any other type is a mismatch.
 */
export function inputDtypeField(configuration: Configuration, field: string, actual: DataType): DataType {
  if (!SUPPORTED.test(actual)) throw new CodecConfigurationError(`arrays of ${actual} are not supported by this codec (bool, integers, float32, float64 are)`);
  const declared = dtypeField(configuration, field, actual);
  if (declared !== actual) {
    throw new CodecConfigurationError(
      `${field} must be the data type of the array at this point of the codec chain, ${JSON.stringify(numpyTypestr(actual))} (${actual}), got ${JSON.stringify(configuration?.[field])} (${declared})`,
    );
  }
  return declared;
}

export function numberField(configuration: Configuration, field: string, fallback?: number): number {
  const value = configuration?.[field] ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new CodecConfigurationError(`${field} must be a finite number, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function integerField(configuration: Configuration, field: string, min: number, max: number, fallback?: number): number {
  const value = configuration?.[field] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new CodecConfigurationError(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}
