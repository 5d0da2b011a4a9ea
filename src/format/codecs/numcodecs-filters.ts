/**
 * numcodecs' filters as Zarr v3 array→array codecs, as zarr-python 3 names them:
 * `numcodecs.delta`, `numcodecs.fixedscaleoffset`, `numcodecs.quantize`, `numcodecs.bitround`
 * and `numcodecs.astype`. Each computes what numcodecs 0.11 computes, in numpy's arithmetic
 * (the element type, numpy 1.x's scalar promotion, round half to even), so chunks match bit for
 * bit in both directions. A filter with an `astype` hands the next codec that data type.
 */
import { allocateTypedArray, type DataType, isBigIntType, isFloatType, type TypedArray } from "../dataType.js";
import { castElements, roundHalfEven } from "./numpy-cast.js";
import { checkKeys, type Configuration, dtypeField, inputDtypeField, integerField, numberField } from "./numcodecs-config.js";
import { type ArrayToArrayCodec, type CodecContext, CodecConfigurationError, HOST_IS_BIG_ENDIAN, registerCodec } from "./registry.js";

type Elements = { [i: number]: number | bigint; length: number };
const elements = (a: TypedArray) => a as unknown as Elements;

/** A codec that turns `from` arrays into `to` arrays, telling the next codec about `to`. */
function retyping(from: DataType, to: DataType, encode: (chunk: TypedArray) => TypedArray, decode: (chunk: TypedArray) => TypedArray): ArrayToArrayCodec {
  return {
    kind: "array_to_array",
    encode,
    decode,
    encodedContext: (context: CodecContext) => (from === to ? context : { ...context, dataType: to }),
  };
}

function rejectBool(field: string, dt: DataType): void {
  if (dt === "bool") throw new CodecConfigurationError(`${field} bool is not supported (numpy has no arithmetic on booleans)`);
}

/** `numcodecs.delta`: the first element, then the differences of neighbours, in `dtype`. */
function createDelta(configuration: Configuration, context: CodecContext): ArrayToArrayCodec {
  checkKeys(configuration, ["dtype", "astype"]);
  const dtype = inputDtypeField(configuration, "dtype", context.dataType);
  const astype = dtypeField(configuration, "astype", dtype);
  rejectBool("dtype", dtype);
  rejectBool("astype", astype);
  return retyping(
    dtype,
    astype,
    (chunk) => {
      const x = elements(chunk);
      const diffs = allocateTypedArray(dtype, chunk.length);
      const d = elements(diffs);
      if (chunk.length > 0) d[0] = x[0];
      // storing into the dtype's array wraps integers and rounds float32, as np.diff does
      for (let i = 1; i < chunk.length; i++) d[i] = (x[i] as number) - (x[i - 1] as number);
      return castElements(diffs, dtype, astype);
    },
    (chunk) => {
      // np.cumsum(enc, out=dec) sums in np.result_type(astype, dtype), then casts to dtype;
      // integers summed in any integer type agree modulo 2^bits: sum those in dtype, without bigints
      const sumType = promotedFloatType(astype, dtype) ?? dtype;
      const inDtype = sumType === dtype;
      const sums = castElements(chunk, astype, inDtype ? dtype : sumType);
      const y = elements(sums);
      for (let i = 1; i < sums.length; i++) y[i] = (y[i - 1] as number) + (y[i] as number);
      return inDtype ? sums : castElements(sums, sumType, dtype);
    },
  );
}

/** np.result_type(a, b) when it is a float type (undefined when it is an integer type). */
function promotedFloatType(a: DataType, b: DataType): DataType | undefined {
  // numpy has no integer type holding both: uint64 meeting a signed integer promotes to float64
  const signed = (t: DataType) => /^int/.test(t);
  if ((a === "uint64" && signed(b)) || (b === "uint64" && signed(a))) return "float64";
  if (!isFloatType(a) && !isFloatType(b)) return undefined;
  if (a === "float64" || b === "float64") return "float64";
  const other = a === "float32" ? b : a;
  // float32 holds every bool, int8–int16 and uint8–uint16 exactly; wider integers promote to float64
  return /^(float32|bool|u?int(8|16))$/.test(other) ? "float32" : "float64";
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * numpy 1.x (value-based promotion): a Python number meeting a float32 array is taken as float32
 * unless it is out of float32's range; with float64 or integer arrays (for non-integral numbers)
 * the arithmetic is float64.
 */
const inFloat32Range = (v: number) => Math.abs(v) <= FLOAT32_MAX;

/** `numcodecs.fixedscaleoffset`: round((x - offset) · scale) as `astype`; decoded x = y / scale + offset. */
function createFixedScaleOffset(configuration: Configuration, context: CodecContext): ArrayToArrayCodec {
  checkKeys(configuration, ["offset", "scale", "dtype", "astype"]);
  const dtype = inputDtypeField(configuration, "dtype", context.dataType);
  const astype = dtypeField(configuration, "astype", dtype);
  rejectBool("dtype", dtype);
  rejectBool("astype", astype);
  const offset = numberField(configuration, "offset");
  const scale = numberField(configuration, "scale");
  if (scale === 0) throw new CodecConfigurationError("scale must not be 0 (decoding divides by it)");
  return retyping(dtype, astype, (chunk) => castElements(...scaleOffset(chunk, dtype, offset, scale), astype), (chunk) => {
    const [decoded, type] = unscaleOffset(chunk, astype, offset, scale);
    return castElements(decoded, type, dtype);
  });
}

/** (x - offset) · scale, rounded, in the data type numpy computes it in (returned alongside). */
function scaleOffset(chunk: TypedArray, dtype: DataType, offset: number, scale: number): [TypedArray, DataType] {
  const x = elements(chunk);
  const n = chunk.length;
  if (!isFloatType(dtype) && Number.isInteger(offset) && Number.isInteger(scale) && fitsInteger(offset, dtype) && fitsInteger(scale, dtype)) {
    // integers with Python ints: integer arithmetic in the array's type, wrapping on overflow
    const out = allocateTypedArray(dtype, n);
    const y = elements(out);
    if (isBigIntType(dtype)) {
      const [o, s] = [BigInt(offset), BigInt(scale)];
      for (let i = 0; i < n; i++) y[i] = ((x[i] as bigint) - o) * s;
    } else {
      for (let i = 0; i < n; i++) y[i] = Math.imul((x[i] as number) - offset, scale);
    }
    return [out, dtype];
  }
  const single = dtype === "float32" && inFloat32Range(offset);
  const singleProduct = single && inFloat32Range(scale);
  const type: DataType = singleProduct ? "float32" : "float64";
  const out = allocateTypedArray(type, n);
  const y = elements(out);
  if (singleProduct) {
    const [o, s] = [Math.fround(offset), Math.fround(scale)];
    for (let i = 0; i < n; i++) y[i] = roundHalfEven(Math.fround(Math.fround((x[i] as number) - o) * s));
  } else if (single) {
    const o = Math.fround(offset);
    for (let i = 0; i < n; i++) y[i] = roundHalfEven(Math.fround((x[i] as number) - o) * scale);
  } else {
    for (let i = 0; i < n; i++) y[i] = roundHalfEven((Number(x[i]) - offset) * scale);
  }
  return [out, type];
}

/** y / scale + offset in the data type numpy computes it in: float32 for float32 input, else float64. */
function unscaleOffset(chunk: TypedArray, astype: DataType, offset: number, scale: number): [TypedArray, DataType] {
  const y = elements(chunk);
  const n = chunk.length;
  const single = astype === "float32" && inFloat32Range(scale);
  const singleSum = single && inFloat32Range(offset);
  const type: DataType = singleSum ? "float32" : "float64";
  const out = allocateTypedArray(type, n);
  const x = elements(out);
  if (singleSum) {
    const [o, s] = [Math.fround(offset), Math.fround(scale)];
    for (let i = 0; i < n; i++) x[i] = Math.fround((y[i] as number) / s) + o;
  } else if (single) {
    const s = Math.fround(scale);
    for (let i = 0; i < n; i++) x[i] = Math.fround((y[i] as number) / s) + offset;
  } else {
    for (let i = 0; i < n; i++) x[i] = Number(y[i]) / scale + offset;
  }
  return [out, type];
}

function fitsInteger(v: number, dt: DataType): boolean {
  if (isBigIntType(dt)) return dt === "uint64" ? v >= 0 : true;
  const bits = dt.replace(/\D/g, "");
  const size = 2 ** Number(bits);
  return dt.startsWith("u") ? v >= 0 && v < size : v >= -size / 2 && v < size / 2;
}

/**
 * numcodecs' scale for `digits` decimal digits: 2^bits with bits = ⌈log2(10^-e)⌉, e = log10 of
 * the precision rounded away from zero. Computed as Python does (log(x) / log(10) included): the
 * rounding of a nearly integral logarithm decides the scale.
 */
export function quantizeScale(digits: number): number {
  const precision = 10 ** -digits;
  const exact = Math.log(precision) / Math.log(10);
  const exponent = exact < 0 ? Math.floor(exact) : Math.ceil(exact);
  return 2 ** Math.ceil(Math.log(10 ** -exponent) / Math.log(2));
}

/** `numcodecs.quantize`: round(x · 2^bits) / 2^bits, keeping `digits` decimal digits. */
function createQuantize(configuration: Configuration, context: CodecContext): ArrayToArrayCodec {
  checkKeys(configuration, ["digits", "dtype", "astype"]);
  const dtype = inputDtypeField(configuration, "dtype", context.dataType);
  const astype = dtypeField(configuration, "astype", dtype);
  for (const [field, dt] of [["dtype", dtype], ["astype", astype]] as const) {
    if (!isFloatType(dt)) throw new CodecConfigurationError(`${field} must be a float type ("<f4" or "<f8"), as numcodecs requires; got ${dt}`);
  }
  const digits = integerField(configuration, "digits", -300, 300);
  const scale = quantizeScale(digits);
  if (!(scale > 0 && Number.isFinite(scale))) throw new CodecConfigurationError(`digits ${digits} gives no usable scale (2^bits overflows)`);
  const single = dtype === "float32" && inFloat32Range(scale);
  return retyping(
    dtype,
    astype,
    (chunk) => {
      const x = elements(chunk);
      const out = allocateTypedArray(single ? "float32" : "float64", chunk.length);
      const y = elements(out);
      for (let i = 0; i < chunk.length; i++) y[i] = roundHalfEven((single ? Math.fround(scale * (x[i] as number)) : scale * (x[i] as number))) / scale;
      return castElements(out, single ? "float32" : "float64", astype);
    },
    (chunk) => castElements(chunk, astype, dtype),
  );
}

const MANTISSA_BITS: Partial<Record<DataType, number>> = { float32: 23, float64: 52 };

/** `numcodecs.bitround`: rounds the mantissa to `keepbits` bits (half to even), on the raw bits. */
function createBitRound(configuration: Configuration, context: CodecContext): ArrayToArrayCodec {
  checkKeys(configuration, ["keepbits"]);
  const bits = MANTISSA_BITS[context.dataType];
  if (bits === undefined) throw new CodecConfigurationError(`only float32 and float64 arrays can be bit-rounded, this one holds ${context.dataType}`);
  const keepbits = integerField(configuration, "keepbits", 0, bits);
  const maskbits = bits - keepbits;
  return {
    kind: "array_to_array",
    encode(chunk: TypedArray): TypedArray {
      const out = chunk.slice();
      if (maskbits === 0) return out;
      const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength / 4);
      if (bits === 23) roundWords32(words, maskbits);
      else roundWords64(words, maskbits);
      return out;
    },
    decode: (chunk) => chunk,
  };
}

function roundWords32(words: Uint32Array, maskbits: number): void {
  const mask = -1 << maskbits;
  const half = (1 << (maskbits - 1)) - 1;
  for (let i = 0; i < words.length; i++) {
    const b = words[i];
    words[i] = (b + ((b >>> maskbits) & 1) + half) & mask;
  }
}

/** The same on 64-bit words as (low, high) 32-bit halves, carrying between them. */
function roundWords64(words: Uint32Array, maskbits: number): void {
  const [lo, hi] = HOST_IS_BIG_ENDIAN ? [1, 0] : [0, 1];
  const half = 2 ** (maskbits - 1) - 1;
  const loMask = maskbits >= 32 ? 0 : -1 << maskbits;
  const hiMask = maskbits >= 32 ? -1 << (maskbits - 32) : -1;
  for (let i = 0; i < words.length; i += 2) {
    const low = words[i + lo];
    const high = words[i + hi];
    const add = (maskbits < 32 ? (low >>> maskbits) & 1 : (high >>> (maskbits - 32)) & 1) + half;
    const sum = low + (add % 2 ** 32);
    words[i + lo] = sum & loMask;
    words[i + hi] = (high + Math.floor(add / 2 ** 32) + (sum >= 2 ** 32 ? 1 : 0)) & hiMask;
  }
}

/** `numcodecs.astype`: stores the array as `encode_dtype` (numpy's unsafe cast both ways). */
function createAsType(configuration: Configuration, context: CodecContext): ArrayToArrayCodec {
  checkKeys(configuration, ["encode_dtype", "decode_dtype"]);
  const decodeDtype = inputDtypeField(configuration, "decode_dtype", context.dataType);
  const encodeDtype = dtypeField(configuration, "encode_dtype");
  return retyping(
    decodeDtype,
    encodeDtype,
    (chunk) => castElements(chunk, decodeDtype, encodeDtype),
    (chunk) => castElements(chunk, encodeDtype, decodeDtype),
  );
}

for (const [name, create] of [
  ["numcodecs.delta", createDelta],
  ["numcodecs.fixedscaleoffset", createFixedScaleOffset],
  ["numcodecs.quantize", createQuantize],
  ["numcodecs.bitround", createBitRound],
  ["numcodecs.astype", createAsType],
] as const) {
  registerCodec({ name, kind: "array_to_array", create });
}
