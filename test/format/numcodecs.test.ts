/**
 * The numcodecs.* codecs (filters and compressors as zarr-python 3 names them), against Debian's
 * python3-numcodecs 0.11 as the oracle: numcodecs encodes every case and dosna must decode it to
 * exactly what numcodecs' own decode gives; dosna encodes every case and numcodecs must decode it
 * to the same values (and, for the filters, which are deterministic, dosna's bytes must be
 * numcodecs' bytes). Then a Zarr v3 array on the fs store whose chunks numcodecs wrote with
 * numcodecs.delta + numcodecs.zlib opens and reads back, and bad configurations are refused.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import * as dn from "../../src/index.js";
import { CorruptMetadataError, ValidationError } from "../../src/errors.js";
import { bigIntToFloat32, roundHalfEven } from "../../src/format/codecs/numpy-cast.js";
import { adler32, crc32 } from "../../src/format/codecs/numcodecs-compressors.js";
import { quantizeScale } from "../../src/format/codecs/numcodecs-filters.js";
import {
  allocateTypedArray,
  type CodecSpec,
  createChunkCodec,
  type DataType,
  numpyTypestrOf,
  type TypedArray,
} from "../../src/format/index.js";

const PYTHON = "/usr/bin/python3";
const hasNumcodecs = spawnSync(PYTHON, ["-c", "import numcodecs"], { stdio: "ignore", cwd: tmpdir() }).status === 0;
const BYTES: CodecSpec = { name: "bytes", configuration: { endian: "little" } };

interface Case {
  label: string;
  /** numcodecs' config, id included (zarr.json holds it as numcodecs.<id> without the id). */
  config: Record<string, unknown> & { id: string };
  kind: "filter" | "compressor";
  dtype: DataType;
  values: TypedArray;
  /** the filter's output is deterministic: dosna's bytes must be numcodecs' bytes */
  identical: boolean;
}

/** Seeded generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Values of `dt`: random bits, a smooth run, and the type's edge values. */
function valuesOf(dt: DataType, n: number, seed: number, kind: "any" | "small" | "smooth" = "any"): TypedArray {
  const next = random(seed);
  const out = allocateTypedArray(dt, n) as unknown as { [i: number]: number | bigint };
  const raw = new Uint8Array((out as unknown as TypedArray).buffer);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(next() * 256);
  const isFloat = dt.startsWith("float");
  for (let i = 0; i < n; i++) {
    const smooth = Math.sin(i / 37) * 50 + i / 20;
    if (kind === "smooth" || (kind === "any" && i % 3 === 0)) {
      if (isFloat) out[i] = smooth;
      else if (dt === "int64" || dt === "uint64") out[i] = BigInt(Math.round(Math.abs(smooth) * 1000));
      else out[i] = Math.round(Math.abs(smooth)) % 100;
    } else if (kind === "small") {
      if (isFloat) out[i] = (next() - 0.5) * 2000;
      else if (dt === "int64" || dt === "uint64") out[i] = BigInt(Math.floor(next() * 100));
      else out[i] = Math.floor(next() * 100);
    } else if (isFloat && !Number.isFinite(out[i] as number)) {
      out[i] = i % 2 ? Infinity : -0; // keep random NaN payloads out of comparisons of values
    }
  }
  return out as unknown as TypedArray;
}

const bytesOf = (a: TypedArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function filterCases(): Case[] {
  const cases: Case[] = [];
  const add = (config: Case["config"], dtype: DataType, values: TypedArray, label = "") =>
    cases.push({ label: `${config.id} ${JSON.stringify(config)} ${dtype} ${label}`, config, kind: "filter", dtype, values, identical: true });
  const T = (dt: DataType) => (dt === "bool" || dt.endsWith("int8") ? "|" : "<") + numpyTypestrOf(dt);
  const all: DataType[] = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"];
  for (const dt of all) add({ id: "delta", dtype: T(dt) }, dt, valuesOf(dt, 1000, 1));
  add({ id: "delta", dtype: "<i2", astype: "|i1" }, "int16", valuesOf("int16", 1000, 2, "smooth"));
  add({ id: "delta", dtype: "|u1", astype: "<i2" }, "uint8", valuesOf("uint8", 1000, 3));
  add({ id: "delta", dtype: "<i4", astype: "<i8" }, "int32", valuesOf("int32", 1000, 4));
  add({ id: "delta", dtype: "<f8", astype: "<f4" }, "float64", valuesOf("float64", 1000, 5, "smooth"));
  add({ id: "delta", dtype: "<f4", astype: "<f8" }, "float32", valuesOf("float32", 1000, 6, "small"));
  add({ id: "delta", dtype: "<u4", astype: "<i8" }, "uint32", valuesOf("uint32", 1000, 7));
  add({ id: "delta", dtype: "<u8", astype: "<i8" }, "uint64", valuesOf("uint64", 1000, 7, "small"), "(summed in float64 by numpy)");
  const linspace = (dt: DataType, from: number, to: number, n: number) => {
    const a = allocateTypedArray(dt, n) as Float64Array;
    for (let i = 0; i < n; i++) a[i] = from + ((to - from) * i) / (n - 1);
    return a as unknown as TypedArray;
  };
  add({ id: "fixedscaleoffset", offset: 1000, scale: 10, dtype: "<f8", astype: "|u1" }, "float64", linspace("float64", 1000, 1001, 1001));
  add({ id: "fixedscaleoffset", offset: 1000, scale: 1000, dtype: "<f4", astype: "<u2" }, "float32", linspace("float32", 1000, 1001, 1001));
  add({ id: "fixedscaleoffset", offset: -3.25, scale: 1000, dtype: "<f8", astype: "<i4" }, "float64", valuesOf("float64", 1000, 8, "small"));
  add({ id: "fixedscaleoffset", offset: 0.5, scale: 7.3, dtype: "<f4", astype: "<i4" }, "float32", valuesOf("float32", 1000, 9, "small"));
  add({ id: "fixedscaleoffset", offset: 10.5, scale: 3.3, dtype: "<f8", astype: "<f4" }, "float64", valuesOf("float64", 1000, 10, "small"));
  add({ id: "fixedscaleoffset", offset: 0, scale: 4, dtype: "<f4", astype: "<f4" }, "float32", valuesOf("float32", 1000, 11, "small"));
  add({ id: "fixedscaleoffset", offset: 3, scale: 2, dtype: "<i2", astype: "|i1" }, "int16", valuesOf("int16", 1000, 12, "small"));
  add({ id: "fixedscaleoffset", offset: 100, scale: 3, dtype: "<i4", astype: "<i4" }, "int32", valuesOf("int32", 1000, 13));
  add({ id: "fixedscaleoffset", offset: 0.5, scale: 2, dtype: "<i8", astype: "<i4" }, "int64", valuesOf("int64", 1000, 14, "small"));
  add({ id: "fixedscaleoffset", offset: 5, scale: 10, dtype: "<u8", astype: "<u8" }, "uint64", valuesOf("uint64", 1000, 15, "small"));
  for (const digits of [-1, 0, 1, 2, 3, 6]) add({ id: "quantize", digits, dtype: "<f4", astype: "<f4" }, "float32", valuesOf("float32", 500, 20 + digits, "small"));
  for (const digits of [0, 3, 5, 10, 15]) add({ id: "quantize", digits, dtype: "<f8", astype: "<f8" }, "float64", valuesOf("float64", 500, 30 + digits, "small"));
  add({ id: "quantize", digits: 3, dtype: "<f8", astype: "<f4" }, "float64", valuesOf("float64", 500, 40, "small"));
  add({ id: "quantize", digits: 2, dtype: "<f4", astype: "<f8" }, "float32", valuesOf("float32", 500, 41, "small"));
  const specials32 = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-40, 3.4028234663852886e38, -3.4e38, 1, 1.5, 0.1, -123.456, 1.9999999]);
  const specials64 = new Float64Array([NaN, Infinity, -Infinity, 0, -0, 5e-324, -1e-310, 1.7976931348623157e308, -1.7e308, 1, 1.5, 0.1, -123.456, 1.9999999999999998]);
  const withSpecials = <T extends Float32Array | Float64Array>(specials: T, random: TypedArray): TypedArray => {
    const a = new (specials.constructor as Float64ArrayConstructor)(specials.length + random.length);
    a.set(specials);
    a.set(random as Float64Array, specials.length);
    return a as unknown as TypedArray;
  };
  for (const keepbits of [0, 1, 5, 10, 22, 23]) add({ id: "bitround", keepbits }, "float32", withSpecials(specials32, valuesOf("float32", 500, 50 + keepbits)));
  for (const keepbits of [0, 1, 7, 20, 31, 32, 33, 51, 52]) add({ id: "bitround", keepbits }, "float64", withSpecials(specials64, valuesOf("float64", 500, 60 + keepbits)));
  const astype = (encode: DataType, decode: DataType, values: TypedArray, label = "") => add({ id: "astype", encode_dtype: T(encode), decode_dtype: T(decode) }, decode, values, label);
  astype("float32", "float64", valuesOf("float64", 1000, 70));
  astype("int16", "int32", valuesOf("int32", 1000, 71));
  astype("int32", "float32", valuesOf("float32", 1000, 72, "small"), "(in range)");
  astype("float32", "int64", valuesOf("int64", 1000, 73), "(rounding 64-bit integers)");
  astype("float64", "int64", valuesOf("int64", 1000, 74));
  astype("float64", "uint64", valuesOf("uint64", 1000, 75));
  astype("int64", "uint64", valuesOf("uint64", 1000, 76));
  astype("float32", "uint8", valuesOf("uint8", 1000, 77));
  astype("uint8", "float64", valuesOf("float64", 1000, 78, "smooth"), "(in range)");
  astype("int8", "int64", valuesOf("int64", 1000, 79));
  astype("bool", "int16", valuesOf("int16", 1000, 80, "small"));
  astype("int16", "bool", (() => { const a = new Uint8Array(100); for (let i = 0; i < 100; i++) a[i] = i % 3 ? 1 : 0; return a as unknown as TypedArray; })());
  return cases;
}

function compressorCases(): Case[] {
  const cases: Case[] = [];
  const data: Array<[DataType, TypedArray]> = [
    ["float64", valuesOf("float64", 20_000, 90, "smooth")],
    ["int16", valuesOf("int16", 30_001, 91)],
    ["uint8", valuesOf("uint8", 5_000, 92, "smooth")],
  ];
  const configs: Case["config"][] = [
    ...[1, 5, 9, -1].map((level) => ({ id: "zlib", level })),
    ...[1, 6, 9].map((level) => ({ id: "gzip", level })),
    ...[1, 3, 19, -3].map((level) => ({ id: "zstd", level })),
    ...[1, 10].map((acceleration) => ({ id: "lz4", acceleration })),
    ...["lz4", "lz4hc", "blosclz", "zlib", "zstd", "snappy"].flatMap((cname) => [-1, 0, 1, 2].map((shuffle) => ({ id: "blosc", cname, clevel: 5, shuffle, blocksize: 0 }))),
    { id: "blosc", cname: "zstd", clevel: 9, shuffle: 1, blocksize: 4096 },
    { id: "blosc", cname: "lz4", clevel: 0, shuffle: 1, blocksize: 0 },
    { id: "blosc", cname: "zstd", clevel: 3, shuffle: -1, blocksize: 0, typesize: 1 },
    { id: "crc32" },
    { id: "adler32" },
  ];
  for (const config of configs) {
    for (const [dtype, values] of data) {
      cases.push({ label: `${JSON.stringify(config)} ${dtype}`, config, kind: "compressor", dtype, values, identical: config.id === "crc32" || config.id === "adler32" });
    }
  }
  return cases;
}

/** zarr.json's spelling of a numcodecs config. */
function specOf(config: Case["config"]): CodecSpec {
  const { id, ...configuration } = config;
  return { name: `numcodecs.${id}`, configuration };
}

function codecOf(c: Case) {
  const codecs = c.kind === "filter" ? [specOf(c.config), BYTES] : [BYTES, specOf(c.config)];
  return createChunkCodec({ dataType: c.dtype, chunkShape: [c.values.length], codecs });
}

/** numcodecs in one process: encode each input, decode its own output and dosna's. */
const ORACLE = `
import json, sys, os, numpy as np, numcodecs
d = sys.argv[1]
for case in json.load(open(os.path.join(d, "manifest.json"))):
    i, kind = case["index"], case["kind"]
    # numcodecs 0.11 has no Blosc typesize (0.16 does); decoding does not need it
    codec = numcodecs.get_codec({k: v for k, v in case["config"].items() if k != "typesize"})
    dtype = np.dtype(case["dtype"])
    raw = open(os.path.join(d, f"{i}.in"), "rb").read()
    enc_dtype = np.dtype(case["encoded_dtype"])
    def as_bytes(a):
        return np.ascontiguousarray(a).tobytes() if isinstance(a, np.ndarray) else bytes(a)
    def decode(b):
        if kind == "filter":
            return as_bytes(np.asarray(codec.decode(np.frombuffer(b, enc_dtype).copy())).astype(dtype, copy=False))
        return as_bytes(codec.decode(b))
    enc = as_bytes(codec.encode(np.frombuffer(raw, dtype).copy() if kind == "filter" else raw))
    open(os.path.join(d, f"{i}.py-enc"), "wb").write(enc)
    open(os.path.join(d, f"{i}.py-dec"), "wb").write(decode(enc))
    open(os.path.join(d, f"{i}.js-dec"), "wb").write(decode(open(os.path.join(d, f"{i}.js-enc"), "rb").read()))
`;

const numpyTypestr = (dt: DataType) => `<${numpyTypestrOf(dt)}`;

function encodedDtypeOf(c: Case): string {
  const config = c.config as Record<string, string>;
  if (c.kind !== "filter") return "|u1";
  if (c.config.id === "astype") return config.encode_dtype;
  return config.astype ?? numpyTypestr(c.dtype);
}

describe.skipIf(!hasNumcodecs)("numcodecs 0.11 as the oracle", () => {
  const cases = [...filterCases(), ...compressorCases()];
  const dir = mkdtempSync(join(tmpdir(), "dosna-numcodecs-"));
  const results: Array<{ pyEnc: Uint8Array; pyDec: Uint8Array; jsDec: Uint8Array; jsEnc: Uint8Array }> = [];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const manifest = [];
    for (const [index, c] of cases.entries()) {
      const before = bytesOf(c.values).slice();
      const jsEnc = await codecOf(c).encode(c.values);
      if (!Buffer.from(before).equals(Buffer.from(bytesOf(c.values)))) throw new Error(`encoding ${c.label} changed its input`);
      writeFileSync(join(dir, `${index}.in`), before);
      writeFileSync(join(dir, `${index}.js-enc`), jsEnc);
      manifest.push({ index, kind: c.kind, config: c.config, dtype: numpyTypestr(c.dtype), encoded_dtype: encodedDtypeOf(c) });
    }
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
    const run = spawnSync(PYTHON, ["-W", "ignore", "-c", ORACLE, dir], { encoding: "utf8", cwd: tmpdir() });
    if (run.status !== 0) throw new Error(`numcodecs failed: ${run.stderr}`);
    for (const index of cases.keys()) {
      const read = (suffix: string) => new Uint8Array(readFileSync(join(dir, `${index}.${suffix}`)));
      results.push({ pyEnc: read("py-enc"), pyDec: read("py-dec"), jsDec: read("js-dec"), jsEnc: read("js-enc") });
    }
  }, 120_000);

  for (const [kind, label] of [["filter", "filters"], ["compressor", "compressors and checksums"]] as const) {
    it(`${label}: dosna decodes numcodecs' chunks exactly, numcodecs decodes dosna's`, async () => {
      let checked = 0;
      for (const [index, c] of cases.entries()) {
        if (c.kind !== kind) continue;
        const { pyEnc, pyDec, jsDec, jsEnc } = results[index];
        const decoded = await codecOf(c).decode(pyEnc, `case ${index}`);
        expect(Buffer.from(bytesOf(decoded)).equals(Buffer.from(pyDec)), `dosna decode of numcodecs' ${c.label}`).toBe(true);
        expect(Buffer.from(jsDec).equals(Buffer.from(pyDec)), `numcodecs decode of dosna's ${c.label}`).toBe(true);
        if (c.identical) expect(Buffer.from(jsEnc).equals(Buffer.from(pyEnc)), `dosna encodes ${c.label} as numcodecs does`).toBe(true);
        const lossless = kind === "compressor" || (c.config.id === "delta" && c.config.astype === undefined && !c.dtype.startsWith("float"));
        if (lossless) expect(Buffer.from(pyDec).equals(Buffer.from(bytesOf(c.values))), `${c.label} is lossless`).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThan(kind === "filter" ? 60 : 100);
    });
  }
});

describe("numpy arithmetic helpers", () => {
  it("round half to even as np.around", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -3.5, 4.5000001].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, -4, 5]);
  });
  it("64-bit integers round once to float32", () => {
    // 2^60 + 2^36 + 1 is just above the halfway point between two float32s; going through a
    // float64 first lands on the halfway point and rounds to even, i.e. down
    const v = 2n ** 60n + 2n ** 36n + 1n;
    expect(bigIntToFloat32(v)).toBe(2 ** 60 + 2 ** 37);
    expect(Math.fround(Number(v))).toBe(2 ** 60);
    expect(bigIntToFloat32(-v)).toBe(-(2 ** 60 + 2 ** 37));
  });
  it("quantize's scale is numcodecs' for every digits value", () => {
    // from numcodecs 0.11: for digits in range(-5, 40)
    const bits = [-16, -13, -9, -6, -3, 0, 4, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40, 44, 47, 50, 54, 57, 60, 64, 67, 70, 74, 77, 80, 84, 87, 90, 94, 97, 100, 103, 107, 110, 113, 117, 120, 123, 127, 130];
    expect(bits.map((_, k) => quantizeScale(k - 5))).toEqual(bits.map((b) => 2 ** b));
  });
  it("crc32 and adler32 match zlib's", async () => {
    const { crc32: zlibCrc32 } = (await import("node:zlib")) as unknown as { crc32?: (b: Uint8Array) => number };
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7919) % 251);
    if (zlibCrc32) expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(adler32(new TextEncoder().encode("Wikipedia"))).toBe(0x11e60398);
    expect(adler32(new Uint8Array(20_000).fill(255))).toBe(adler32Reference(new Uint8Array(20_000).fill(255)));
  });
});

function adler32Reference(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

describe("configurations dosna refuses", () => {
  const refused: Array<[string, DataType, CodecSpec[], RegExp]> = [
    ["delta dtype not the array's", "int32", [{ name: "numcodecs.delta", configuration: { dtype: "<f8" } }, BYTES], /dtype must be the data type of the array.*"<i4" \(int32\), got "<f8"/],
    ["fixedscaleoffset dtype not the array's", "float32", [{ name: "numcodecs.fixedscaleoffset", configuration: { offset: 0, scale: 1, dtype: "<f8", astype: "<i4" } }, BYTES], /dtype must be .*"<f4" \(float32\)/],
    ["fixedscaleoffset without scale", "float64", [{ name: "numcodecs.fixedscaleoffset", configuration: { offset: 0, dtype: "<f8" } }, BYTES], /scale must be a finite number/],
    ["quantize to an integer type", "float64", [{ name: "numcodecs.quantize", configuration: { digits: 2, dtype: "<f8", astype: "<i4" } }, BYTES], /astype must be a float type/],
    ["quantize of an int array", "int32", [{ name: "numcodecs.quantize", configuration: { digits: 2 } }, BYTES], /dtype must be a float type/],
    ["bitround of an int array", "int32", [{ name: "numcodecs.bitround", configuration: { keepbits: 3 } }, BYTES], /only float32 and float64/],
    ["bitround keepbits too large", "float32", [{ name: "numcodecs.bitround", configuration: { keepbits: 24 } }, BYTES], /keepbits must be an integer from 0 to 23/],
    ["astype without encode_dtype", "float64", [{ name: "numcodecs.astype", configuration: { decode_dtype: "<f8" } }, BYTES], /encode_dtype is required/],
    ["astype decode_dtype not the array's", "float64", [{ name: "numcodecs.astype", configuration: { encode_dtype: "<f4", decode_dtype: "<i2" } }, BYTES], /decode_dtype must be .*"<f8"/],
    ["not a dtype", "int32", [{ name: "numcodecs.delta", configuration: { dtype: "<i4", astype: "<x9" } }, BYTES], /astype "<x9" is not a supported data type/],
    ["an unknown key", "int32", [{ name: "numcodecs.delta", configuration: { dtype: "<i4", typo: 1 } }, BYTES], /unknown configuration key "typo"/],
    ["blosc cname", "int32", [BYTES, { name: "numcodecs.blosc", configuration: { cname: "lzma", clevel: 5, shuffle: 1, blocksize: 0 } }], /cname must be one of "blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd", got "lzma"/],
    ["blosc shuffle", "int32", [BYTES, { name: "numcodecs.blosc", configuration: { cname: "lz4", clevel: 5, shuffle: "shuffle", blocksize: 0 } }], /shuffle must be -1 \(auto\), 0/],
    ["zlib level", "int32", [BYTES, { name: "numcodecs.zlib", configuration: { level: 10 } }], /level must be an integer from -1 to 9, got 10/],
    ["zstd level", "int32", [BYTES, { name: "numcodecs.zstd", configuration: { level: 99 } }], /level must be an integer from/],
    ["filter after bytes", "int32", [BYTES, { name: "numcodecs.delta", configuration: { dtype: "<i4" } }], /must come before the array→bytes codec/],
  ];
  for (const [label, dataType, codecs, message] of refused) {
    it(label, () => {
      let error: unknown;
      try {
        createChunkCodec({ dataType, chunkShape: [10], codecs });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(`codec "${codecs.find((c) => c.name.startsWith("numcodecs."))!.name}"`);
    });
  }

  it("a dtype's byte order is left to the bytes codec (a v2 array of \">i4\" names its filters so)", async () => {
    const codecs = [{ name: "numcodecs.delta", configuration: { dtype: ">i4", astype: ">i2" } }, { name: "bytes", configuration: { endian: "big" } }];
    const codec = createChunkCodec({ dataType: "int32", chunkShape: [3], codecs });
    const bytes = await codec.encode(new Int32Array([1000, 1258, 1000]));
    expect(Array.from(bytes)).toEqual([0x03, 0xe8, 0x01, 0x02, 0xfe, 0xfe]);
    expect(Array.from((await codec.decode(bytes, "k")) as Int32Array)).toEqual([1000, 1258, 1000]);
  });

  it("a filter's astype reaches the next codec: delta to int8 then bytes stores one byte per element", async () => {
    const codec = createChunkCodec({ dataType: "int32", chunkShape: [4], codecs: [{ name: "numcodecs.delta", configuration: { dtype: "<i4", astype: "|i1" } }, BYTES] });
    const bytes = await codec.encode(new Int32Array([100, 101, 99, 99]));
    expect(Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length))).toEqual([100, 1, -2, 0]);
    expect(Array.from(await codec.decode(bytes, "k") as Int32Array)).toEqual([100, 101, 99, 99]);
  });

  it("a corrupt numcodecs.lz4 or checksum chunk fails naming the key", async () => {
    const lz4 = createChunkCodec({ dataType: "uint8", chunkShape: [100], codecs: [BYTES, { name: "numcodecs.lz4" }] });
    const good = await lz4.encode(new Uint8Array(100).fill(3));
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(0, 1e9, true);
    await expect(lz4.decode(huge, "pool/a/c/0")).rejects.toThrow(/chunk "pool\/a\/c\/0" cannot be decoded \(codec "numcodecs.lz4"\): lz4 header declares 1000000000/);
    const crc = createChunkCodec({ dataType: "uint8", chunkShape: [100], codecs: [BYTES, { name: "numcodecs.crc32" }] });
    const sealed = await crc.encode(new Uint8Array(100).fill(3));
    sealed[50] ^= 1;
    await expect(crc.decode(sealed, "pool/a/c/1")).rejects.toThrow(/chunk "pool\/a\/c\/1".*crc32 checksum mismatch/);
  });
});

const [ROWS, COLS, CROWS, CCOLS] = [20, 30, 8, 16];
const expectedValue = (i: number, j: number) => 5000 + i * 3 - j * 7;
/** What zarr-python 3 writes for an int32 array with numcodecs.delta (to int16) + numcodecs.zlib. */
const ARRAY_CODECS = [
  { name: "numcodecs.delta", configuration: { dtype: "<i4", astype: "<i2" } },
  { name: "bytes", configuration: { endian: "little" } },
  { name: "numcodecs.zlib", configuration: { level: 1 } },
];
const zarrJson = (codecs: unknown[] = ARRAY_CODECS) =>
  JSON.stringify({
    zarr_format: 3,
    node_type: "array",
    shape: [ROWS, COLS],
    data_type: "int32",
    chunk_grid: { name: "regular", configuration: { chunk_shape: [CROWS, CCOLS] } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: 0,
    codecs,
    attributes: {},
  });

/** numcodecs writes `c/<i>/<j>` of that array under argv[1], each chunk full-size as Zarr stores edges. */
const WRITE_CHUNKS = `
import sys, os, numpy as np, numcodecs
root, rows, cols, crows, ccols = sys.argv[1], *map(int, sys.argv[2:6])
delta, zlib = numcodecs.Delta(dtype="<i4", astype="<i2"), numcodecs.Zlib(level=1)
full = np.zeros((-(-rows // crows) * crows, -(-cols // ccols) * ccols), "<i4")  # fill value 0
i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
full[:rows, :cols] = 5000 + i * 3 - j * 7
for a in range(full.shape[0] // crows):
    for b in range(full.shape[1] // ccols):
        chunk = full[a * crows:(a + 1) * crows, b * ccols:(b + 1) * ccols]
        os.makedirs(os.path.join(root, "c", str(a)), exist_ok=True)
        open(os.path.join(root, "c", str(a), str(b)), "wb").write(zlib.encode(delta.encode(chunk).tobytes()))
`;

/** numcodecs decodes every chunk file `c/<i>/<j>` under argv[1]; prints {"i/j": [values, C order]}. */
const READ_CHUNKS = `
import sys, os, json, numpy as np, numcodecs
root = sys.argv[1]
delta, zlib = numcodecs.Delta(dtype="<i4", astype="<i2"), numcodecs.Zlib(level=1)
out = {}
for a in sorted(os.listdir(os.path.join(root, "c"))):
    for b in sorted(os.listdir(os.path.join(root, "c", a))):
        raw = zlib.decode(open(os.path.join(root, "c", a, b), "rb").read())
        out[f"{a}/{b}"] = delta.decode(np.frombuffer(raw, "<i2")).tolist()
print(json.dumps(out))
`;

function python(script: string, ...args: string[]): string {
  const run = spawnSync(PYTHON, ["-c", script, ...args], { encoding: "utf8", cwd: tmpdir() });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return run.stdout;
}

const CHUNK_KEYS = ["0/0", "0/1", "1/0", "1/1", "2/0", "2/1"];

/** Reads the whole array, a strided slice, writes a block, and checks numcodecs decodes what is stored. */
async function checkArray(ds: dn.Dataset, storedChunk: (key: string) => Promise<Uint8Array>): Promise<void> {
  expect([ds.shape, ds.dtype]).toEqual([[ROWS, COLS], "int32"]);
  const all = Array.from((await ds.read()).data as Int32Array);
  expect(all).toEqual(Array.from({ length: ROWS * COLS }, (_, n) => expectedValue(Math.floor(n / COLS), n % COLS)));
  expect(Array.from((await ds.get("19, 17:30:4")).data as Int32Array)).toEqual([17, 21, 25, 29].map((j) => expectedValue(19, j)));

  // dosna writes through the same codecs; numcodecs decodes the stored chunks
  await ds.set("2:10, 14:18", -1234);
  const dir = await mkdtemp(join(tmpdir(), "dosna-numcodecs-chunks-"));
  try {
    for (const key of CHUNK_KEYS) {
      await mkdir(join(dir, "c", key.split("/")[0]), { recursive: true });
      await writeFile(join(dir, "c", key), await storedChunk(key));
    }
    const chunks = JSON.parse(python(READ_CHUNKS, dir)) as Record<string, number[]>;
    for (let i = 0; i < ROWS; i++) {
      for (let j = 0; j < COLS; j++) {
        const stored = chunks[`${Math.floor(i / CROWS)}/${Math.floor(j / CCOLS)}`][(i % CROWS) * CCOLS + (j % CCOLS)];
        expect(stored, `[${i}, ${j}]`).toBe(i >= 2 && i < 10 && j >= 14 && j < 18 ? -1234 : expectedValue(i, j));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasNumcodecs)("a Zarr v3 array with numcodecs.delta + numcodecs.zlib, chunks by numcodecs", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "dosna-numcodecs-ds-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("a hand-written zarr.json on disk opens with dn.Cluster({backend: \"fs\"}) and every value reads back", async () => {
    const arrayDir = join(root, "pool", "data");
    await mkdir(arrayDir, { recursive: true });
    await writeFile(join(root, "pool", "zarr.json"), JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} }));
    await writeFile(join(arrayDir, "zarr.json"), zarrJson());
    python(WRITE_CHUNKS, arrayDir, String(ROWS), String(COLS), String(CROWS), String(CCOLS));
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    try {
      const ds = await (await cluster.getPool("pool")).getDataset("data");
      await checkArray(ds, (key) => readFile(join(arrayDir, "c", key)).then((b) => new Uint8Array(b)));
    } finally {
      await cluster.disconnect();
    }
  });

  it("a bad numcodecs configuration in zarr.json fails to open as CorruptMetadataError naming the key", async () => {
    const arrayDir = join(root, "pool", "bad");
    await mkdir(arrayDir, { recursive: true });
    await writeFile(join(arrayDir, "zarr.json"), zarrJson([{ name: "numcodecs.delta", configuration: { dtype: "<f8" } }, ...ARRAY_CODECS.slice(1)]));
    const cluster = new dn.Cluster({ backend: "fs", root });
    await cluster.connect();
    try {
      const pool = await cluster.getPool("pool");
      const error = await pool.getDataset("bad").then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptMetadataError);
      expect((error as Error).message).toMatch(/bad\/zarr\.json/);
      expect((error as Error).message).toMatch(/codec "numcodecs.delta": dtype must be the data type of the array.*"<i4" \(int32\), got "<f8"/);
      expect(await readFile(join(arrayDir, "zarr.json"), "utf8")).toContain("<f8"); // nothing rewritten
    } finally {
      await cluster.disconnect();
    }
  });

  for (const kind of backendKinds) {
    describe(`on the ${kind.name} backend, put through its store`, () => {
      const suite = poolSuiteOn(kind, "numcodecs");
      it("opens, reads every value, and writes chunks numcodecs reads", async () => {
        const dir = await mkdtemp(join(tmpdir(), "dosna-numcodecs-src-"));
        try {
          python(WRITE_CHUNKS, dir, String(ROWS), String(COLS), String(CROWS), String(CCOLS));
          const store = suite.pool.store;
          await store.set("data/zarr.json", new TextEncoder().encode(zarrJson()));
          for (const key of CHUNK_KEYS) await store.set(`data/c/${key}`, new Uint8Array(await readFile(join(dir, "c", key))));
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        const ds = await suite.pool.getDataset("data");
        await checkArray(ds, async (key) => (await suite.pool.store.get(`data/c/${key}`))!);
      });
    });
  }
});
