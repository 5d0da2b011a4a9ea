/**
 * float16, complex64 and complex128 in format/: names and numpy spellings, the float16 converters
 * bit for bit against numpy (every half pattern, and float32 patterns around every rounding
 * boundary), the bytes and transpose codecs' stored bytes against numpy's `tobytes()`, and fill
 * values in their zarr.json forms; variable-length strings' vlen-utf8 frames against numcodecs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CorruptChunkError, CorruptMetadataError, DtypeError } from "../../src/errors.js";
import { createChunkCodec } from "../../src/format/codecs/pipeline.js";
import {
  allocateTypedArray,
  bytesPerElement,
  dataTypeOfTypedArray,
  decodedBytesPerElement,
  float16ArrayConstructor,
  hasNativeFloat16,
  typedArrayConstructorFor,
  fillValueFromJson,
  fillValueToJson,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  isDataType,
  normaliseFillValue,
  parseDataType,
  parseNodeMetadata,
  roundToFloat16,
  StringArray,
  type TypedArray,
} from "../../src/format/index.js";

/** The entries of any array-like (typed array, StringArray), for comparisons. */
const list = (a: unknown): unknown[] => Array.from(a as ArrayLike<unknown>);

const PYTHON = "/usr/bin/python3";
const dir = mkdtempSync(join(tmpdir(), "dosna-dtypes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a numpy script with input files written from `inputs`; returns the named output files' bytes. */
function numpy(script: string, inputs: Record<string, Uint8Array>, outputs: string[]): Record<string, Uint8Array> {
  for (const [name, bytes] of Object.entries(inputs)) writeFileSync(join(dir, name), bytes);
  const result = spawnSync(PYTHON, ["-c", `import numpy as np, os\nos.chdir(${JSON.stringify(dir)})\n${script}`], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`numpy failed: ${result.stderr}`);
  return Object.fromEntries(outputs.map((name) => [name, new Uint8Array(readFileSync(join(dir, name)))]));
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe("names", () => {
  it.each([
    ["float16", "float16"], ["<f2", "float16"], ["f2", "float16"], ["e", "float16"], ["half", "float16"], [">f2", "float16"],
    ["complex64", "complex64"], ["<c8", "complex64"], ["c8", "complex64"], ["F", "complex64"], ["csingle", "complex64"],
    ["complex128", "complex128"], ["c16", "complex128"], ["<c16", "complex128"], ["D", "complex128"], ["complex", "complex128"],
  ])("%s is %s", (spelling, dt) => {
    expect(parseDataType(spelling)).toBe(dt);
  });

  it("are Zarr v3 data_type names with numpy's item sizes", () => {
    for (const dt of ["float16", "complex64", "complex128"]) expect(isDataType(dt)).toBe(true);
    expect(bytesPerElement("float16")).toBe(2);
    expect(bytesPerElement("complex64")).toBe(8);
    expect(bytesPerElement("complex128")).toBe(16);
    expect(allocateTypedArray("float16", 3)).toEqual(new (float16ArrayConstructor())(3));
    expect(typedArrayConstructorFor("float16")).toBe(float16ArrayConstructor());
    // the runtime decides: Float16Array where it exists (Node 24), Float32Array otherwise (Node 20)
    const native = (globalThis as { Float16Array?: unknown }).Float16Array;
    expect(float16ArrayConstructor()).toBe(native ?? Float32Array);
    expect(hasNativeFloat16()).toBe(native !== undefined);
    expect(decodedBytesPerElement("float16")).toBe(native === undefined ? 4 : 2);
    if (native !== undefined) expect(dataTypeOfTypedArray(new (native as Float32ArrayConstructor)(1))).toBe("float16");
    expect(allocateTypedArray("complex64", 3)).toEqual(new Float32Array(6));
    expect(allocateTypedArray("complex128", 3)).toEqual(new Float64Array(6));
  });

  it("zarr.json with the new data types parses", () => {
    for (const [dt, fill] of [["float16", "NaN"], ["complex64", [1, "-Infinity"]], ["complex128", ["0x7ff8000000000000", 0]]] as const) {
      const json = {
        zarr_format: 3, node_type: "array", shape: [4], data_type: dt, fill_value: fill,
        chunk_grid: { name: "regular", configuration: { chunk_shape: [2] } },
        chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
        codecs: [{ name: "bytes", configuration: { endian: "little" } }],
      };
      const node = parseNodeMetadata(new TextEncoder().encode(JSON.stringify(json)), "a/zarr.json");
      expect(node.kind).toBe("array");
      if (node.kind === "array") expect(node.info.dataType).toBe(dt);
    }
  });
});

describe("float16 conversion, bit for bit against numpy", () => {
  it("every float16 bit pattern → float32 as numpy's astype(np.float32)", () => {
    const halves = new Uint16Array(65536).map((_, i) => i);
    const { "f32.bin": expected } = numpy(
      "np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32).tofile('f32.bin')", {}, ["f32.bin"],
    );
    const got = float16BitsToFloat32(halves);
    expect(Buffer.from(bytesOf(got)).equals(Buffer.from(expected))).toBe(true);
    // and back: every pattern survives float16 → float32 → float16, NaN payloads included
    expect(Buffer.from(bytesOf(float32ToFloat16Bits(got))).equals(Buffer.from(bytesOf(halves)))).toBe(true);
  });

  it("float32 → float16 rounds as numpy's astype(np.float16): boundaries, ties, subnormals, overflow, NaN, random", () => {
    const patterns: number[] = [];
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    const halfValues = float16BitsToFloat32(new Uint16Array(65536).map((_, i) => i));
    for (let h = 0; h < 0x7c00; h++) {
      // the float32 midpoint between h and h+1 (a tie) and its neighbours, for both signs
      const lo = halfValues[h];
      const hi = h === 0x7bff ? 65536 : halfValues[h + 1];
      f32[0] = (lo + hi) / 2;
      for (const delta of [-1, 0, 1]) for (const sign of [0, 0x80000000]) patterns.push(((bits[0] + delta) | sign) >>> 0);
    }
    let seed = 12345;
    for (let i = 0; i < 100000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      patterns.push((seed ^ (seed << 13)) >>> 0);
    }
    // NaNs with payloads only in the dropped bits, ±0, ±Infinity, the smallest and largest floats
    patterns.push(0x7f800001, 0xff800fff, 0x7fc00000, 0x7fa00000, 0, 0x80000000, 0x7f800000, 0xff800000, 1, 0x7f7fffff, 0x33000000, 0x33000001, 0x477ff000, 0x477fefff);
    const input = new Uint32Array(patterns);
    const { "f16.bin": expected } = numpy(
      "np.fromfile('f32in.bin', dtype=np.uint32).view(np.float32).astype(np.float16).tofile('f16.bin')",
      { "f32in.bin": bytesOf(input) },
      ["f16.bin"],
    );
    const got = float32ToFloat16Bits(new Float32Array(input.buffer));
    const want = new Uint16Array(expected.buffer, expected.byteOffset, got.length);
    const mismatches = [];
    for (let i = 0; i < got.length && mismatches.length < 5; i++) {
      if (got[i] !== want[i]) mismatches.push(`0x${input[i].toString(16)}: got 0x${got[i].toString(16)}, numpy 0x${want[i].toString(16)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it("roundToFloat16 keeps -0, NaN and ±Infinity and rounds ties to even", () => {
    expect(Object.is(roundToFloat16(-0), -0)).toBe(true);
    expect(roundToFloat16(NaN)).toBeNaN();
    expect(roundToFloat16(65520)).toBe(Infinity); // the first value past the largest half
    expect(roundToFloat16(65519)).toBe(65504);
    expect(roundToFloat16(-1e9)).toBe(-Infinity);
    expect(roundToFloat16(1 + 2 ** -11)).toBe(1); // tie between 1 and 1+2^-10: to even
    expect(roundToFloat16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundToFloat16(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(roundToFloat16(2 ** -24)).toBe(2 ** -24);
  });
});

describe("bytes codec: stored bytes as numpy's tobytes()", () => {
  const values = [0, -0, 1, -2.5, 0.1, 65504, 7e4, 1e-6, 6e-8, NaN, Infinity, -Infinity];

  it.each(["little", "big"] as const)("float16, %s endian, in the runtime's in-memory form", async (endian) => {
    const codec = createChunkCodec({ dataType: "float16", chunkShape: [3, 4], codecs: [{ name: "bytes", configuration: { endian } }] });
    const Half = float16ArrayConstructor();
    const chunk = new Half(values) as TypedArray;
    // the chunk's values are float16 values already: numpy's cast of them to f2 is exact
    const exact = new Float64Array(chunk as Float32Array);
    const stored = await codec.encode(chunk);
    const { "h.bin": expected } = numpy(
      `np.fromfile('v.bin', dtype='<f8').astype('${endian === "little" ? "<" : ">"}f2').tofile('h.bin')`,
      { "v.bin": bytesOf(exact) },
      ["h.bin"],
    );
    expect(Buffer.from(stored).equals(Buffer.from(expected))).toBe(true);
    const decoded = await codec.decode(expected.slice(), "c/0/0");
    expect(decoded).toBeInstanceOf(Half);
    expect(list(decoded)).toEqual(values.map(roundToFloat16));
    // every half pattern (NaN payloads too) survives decode → encode bit for bit
    const every = new Uint16Array(65536).map((_, i) => i);
    const all = createChunkCodec({ dataType: "float16", chunkShape: [65536], codecs: [{ name: "bytes", configuration: { endian: "little" } }] });
    const again = await all.encode(await all.decode(bytesOf(every).slice(), "c/0"));
    expect(Buffer.from(again).equals(Buffer.from(bytesOf(every)))).toBe(true);
  });

  it(`float16 values round as numpy's ${hasNativeFloat16() ? "astype(np.float16) (Float16Array: directly)" : "astype(np.float32).astype(np.float16) (held as float32)"}`, async () => {
    // float64 values at and next to float16 rounding ties, where the direct and the two-step casts can differ
    const values: number[] = [];
    const halfValues = float16BitsToFloat32(new Uint16Array(65536).map((_, i) => i));
    for (let h = 0; h < 0x7bff; h += 7) {
      const tie = (halfValues[h] + halfValues[h + 1]) / 2;
      const ulp = Math.abs(tie) * 2 ** -40 || 2 ** -80;
      values.push(tie, tie + ulp, tie - ulp, -tie - ulp);
    }
    values.push(0.1, 1 / 3, 65519.99, 65520, 2 ** -25 + 2 ** -60, 1e-300, -1e300, NaN, -0);
    const input = new Float64Array(values);
    const cast = hasNativeFloat16() ? "astype(np.float16)" : "astype(np.float32).astype(np.float16)";
    const { "r.bin": expected } = numpy(`np.fromfile('d.bin', dtype='<f8').${cast}.astype('<f8').tofile('r.bin')`, { "d.bin": bytesOf(input) }, ["r.bin"]);
    const want = new Float64Array(expected.buffer, expected.byteOffset, input.length);
    // what a dataset reads back: the values in the in-memory array, through the bytes codec
    const codec = createChunkCodec({ dataType: "float16", chunkShape: [input.length], codecs: [{ name: "bytes" }] });
    const memory = new (float16ArrayConstructor())(input);
    const stored = (await codec.decode(await codec.encode(memory as TypedArray), "c/0")) as unknown as Float32Array;
    const mismatches: string[] = [];
    for (let i = 0; i < input.length && mismatches.length < 5; i++) {
      const ok = (x: number) => Object.is(x, want[i]) || (Number.isNaN(x) && Number.isNaN(want[i]));
      if (!ok(roundToFloat16(input[i])) || !ok(stored[i])) mismatches.push(`${input[i]}: roundToFloat16 ${roundToFloat16(input[i])}, stored ${stored[i]}, numpy ${want[i]}`);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ["complex64", "<c8", "little"], ["complex64", ">c8", "big"], ["complex128", "<c16", "little"], ["complex128", ">c16", "big"],
  ] as const)("%s as numpy %s", async (dt, descr, endian) => {
    const codec = createChunkCodec({ dataType: dt, chunkShape: [2, 3], codecs: [{ name: "bytes", configuration: { endian } }] });
    const chunk = allocateTypedArray(dt, 6) as Float32Array | Float64Array;
    chunk.set([1, 2, -0.5, 0.25, NaN, Infinity, 3e30, -3e-30, 0, -0, 7, -7]);
    const stored = await codec.encode(chunk as TypedArray);
    const parts = dt === "complex64" ? "<f4" : "<f8";
    const { "c.bin": expected } = numpy(
      `p = np.fromfile('p.bin', dtype='${parts}')\n(p[0::2] + 1j * p[1::2]).astype('${descr}').tofile('c.bin')\n` +
        // 1j * inf is nan+infj in numpy: set the parts exactly instead
        `c = np.zeros(6, dtype='${descr}'); c.real = p[0::2]; c.imag = p[1::2]; c.tofile('c.bin')`,
      { "p.bin": bytesOf(chunk) },
      ["c.bin"],
    );
    expect(Buffer.from(stored).equals(Buffer.from(expected))).toBe(true);
    const decoded = await codec.decode(expected.slice(), "c/0/0");
    expect(decoded).toBeInstanceOf(dt === "complex64" ? Float32Array : Float64Array);
    expect(Buffer.from(bytesOf(decoded)).equals(Buffer.from(bytesOf(chunk)))).toBe(true);
  });

  it("transpose keeps each complex element's [re, im] together (as numpy's transpose)", async () => {
    const codec = createChunkCodec({
      dataType: "complex128", chunkShape: [2, 3],
      codecs: [{ name: "transpose", configuration: { order: [1, 0] } }, { name: "bytes", configuration: { endian: "little" } }],
    });
    const chunk = new Float64Array([0, 0.5, 1, 1.5, 2, 2.5, 10, 10.5, 11, 11.5, 12, 12.5]);
    const stored = await codec.encode(chunk);
    const { "t.bin": expected } = numpy(
      "p = np.fromfile('p.bin', dtype='<f8'); c = np.zeros(6, dtype='<c16'); c.real = p[0::2]; c.imag = p[1::2]\n" +
        "np.ascontiguousarray(c.reshape(2, 3).T).tofile('t.bin')",
      { "p.bin": bytesOf(chunk) },
      ["t.bin"],
    );
    expect(Buffer.from(stored).equals(Buffer.from(expected))).toBe(true);
    expect(list(await codec.decode(expected.slice(), "c/0/0"))).toEqual(list(chunk));
  });

  it("a chunk of the wrong size is refused", async () => {
    const codec = createChunkCodec({ dataType: "complex64", chunkShape: [4], codecs: [{ name: "bytes" }] });
    await expect(codec.encode(new Float32Array(4))).rejects.toThrow(/holds 8/);
  });
});

describe("fill values", () => {
  it("float16: numbers, NaN, ±Infinity and 4-digit hex, rounded to float16", () => {
    expect(fillValueFromJson("float16", "NaN", "k")).toBeNaN();
    expect(fillValueFromJson("float16", "0x7e00", "k")).toBeNaN();
    expect(fillValueFromJson("float16", "0x3c00", "k")).toBe(1);
    expect(fillValueFromJson("float16", "0xfc00", "k")).toBe(-Infinity);
    expect(fillValueFromJson("float16", "0x0001", "k")).toBe(2 ** -24);
    expect(fillValueFromJson("float16", "Infinity", "k")).toBe(Infinity);
    expect(fillValueFromJson("float16", 0.1, "k")).toBe(roundToFloat16(0.1));
    expect(() => fillValueFromJson("float16", "0x7fc00000", "a/zarr.json")).toThrow(CorruptMetadataError);
    expect(() => fillValueFromJson("float16", "0x7fc00000", "a/zarr.json")).toThrow(/4-digit hex/);
    expect(fillValueToJson("float16", NaN)).toBe("NaN");
    expect(fillValueToJson("float16", 1e6)).toBe("Infinity");
    expect(normaliseFillValue("float16", 0.1)).toBe(roundToFloat16(0.1));
  });

  it("complex: [re, im] with each part a float form; a real number has imaginary part 0", () => {
    expect(fillValueFromJson("complex64", [1, -2], "k")).toEqual([1, -2]);
    expect(fillValueFromJson("complex64", ["NaN", "-Infinity"], "k")).toEqual([NaN, -Infinity]);
    expect(fillValueFromJson("complex64", ["0x3f800000", 0.1], "k")).toEqual([1, Math.fround(0.1)]);
    expect(fillValueFromJson("complex128", ["0x3ff0000000000000", "Infinity"], "k")).toEqual([1, Infinity]);
    expect(fillValueFromJson("complex128", null, "k")).toEqual([0, 0]);
    for (const bad of [1, [1], [1, 2, 3], ["x", 0], { re: 1, im: 0 }, ["0x3f800000", 0]]) {
      const dt = Array.isArray(bad) && bad[0] === "0x3f800000" ? "complex128" : "complex64";
      expect(() => fillValueFromJson(dt, bad, "a/zarr.json")).toThrow(CorruptMetadataError);
    }
    expect(fillValueToJson("complex64", [NaN, Infinity])).toEqual(["NaN", "Infinity"]);
    expect(fillValueToJson("complex128", [0.1, -0])).toEqual([0.1, 0]);
    expect(normaliseFillValue("complex64", 2)).toEqual([2, 0]);
    expect(normaliseFillValue("complex64", [0.1, 2])).toEqual([Math.fround(0.1), 2]);
    expect(() => normaliseFillValue("complex64", "1+2j")).toThrow(DtypeError);
    expect(() => normaliseFillValue("float32", [1, 2])).toThrow(DtypeError);
  });
});

describe("string: vlen-utf8 as numcodecs.VLenUTF8 frames it", () => {
  const items = ["", "a", "bé", "日本語", "emoji 🧪", "x".repeat(300), "tab\tnew\nline", "\u0000nul"];

  it("decodes what numcodecs.VLenUTF8 encodes, and encodes the same bytes", async () => {
    const codec = createChunkCodec({ dataType: "string", chunkShape: [2, 4], codecs: [{ name: "vlen-utf8" }] });
    const result = spawnSync(PYTHON, ["-c", "import json, sys, numcodecs, numpy as np\n" +
      "v = np.array(json.loads(sys.stdin.read()), dtype=object)\nsys.stdout.write(bytes(numcodecs.VLenUTF8().encode(v)).hex())"], { encoding: "utf8", input: JSON.stringify(items) });
    expect(result.status).toBe(0);
    const fromNumcodecs = Buffer.from(result.stdout, "hex");
    const decoded = await codec.decode(new Uint8Array(fromNumcodecs), "c/0/0");
    expect(list(decoded as unknown as string[])).toEqual(items);
    const encoded = await codec.encode(StringArray.fromStrings(items) as unknown as TypedArray);
    expect(Buffer.from(encoded).equals(fromNumcodecs)).toBe(true);
    // and numcodecs decodes dosna's bytes back to the same strings
    const back = spawnSync(PYTHON, ["-c", "import json, sys, numcodecs\n" +
      "print(json.dumps(list(numcodecs.VLenUTF8().decode(bytes.fromhex(sys.stdin.read())))))"], { encoding: "utf8", input: Buffer.from(encoded).toString("hex") });
    expect(JSON.parse(back.stdout)).toEqual(items);
  });

  it("with zstd after it, round trips", async () => {
    const codec = createChunkCodec({ dataType: "string", chunkShape: [8], codecs: [{ name: "vlen-utf8" }, { name: "zstd", configuration: { level: 3 } }] });
    const decoded = await codec.decode(await codec.encode(StringArray.fromStrings(items) as unknown as TypedArray), "c/0");
    expect(list(decoded as unknown as string[])).toEqual(items);
  });

  it("corrupt frames fail as CorruptChunkError naming the key and the problem", async () => {
    const codec = createChunkCodec({ dataType: "string", chunkShape: [2], codecs: [{ name: "vlen-utf8" }] });
    const frame = (...parts: number[][]) => new Uint8Array(parts.flat());
    const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
    for (const [bytes, problem] of [
      [frame([1, 0]), /too short/],
      [frame(u32(3), u32(0), u32(0), u32(0)), /holds 3 items, expected 2/],
      [frame(u32(2), u32(1), [97], u32(5), [98]), /runs past the end/],
      [frame(u32(2), u32(1), [97], u32(1), [0xff]), /not valid UTF-8/],
      [frame(u32(2), u32(0), u32(0), [1]), /left over/],
    ] as const) {
      await expect(codec.decode(bytes, "arr/c/7")).rejects.toThrow(CorruptChunkError);
      await expect(codec.decode(bytes, "arr/c/7")).rejects.toThrow(/arr\/c\/7/);
      await expect(codec.decode(bytes, "arr/c/7")).rejects.toThrow(problem);
    }
  });

  it("string needs vlen-utf8 and a string fill value", () => {
    expect(parseDataType("string")).toBe("string");
    expect(parseDataType("str")).toBe("string");
    expect(() => createChunkCodec({ dataType: "string", chunkShape: [2], codecs: [{ name: "bytes" }] })).toThrow(/vlen-utf8/);
    expect(() => createChunkCodec({ dataType: "float32", chunkShape: [2], codecs: [{ name: "vlen-utf8" }] })).toThrow(/vlen-utf8 encodes data type string/);
    expect(fillValueFromJson("string", "", "k")).toBe("");
    expect(fillValueFromJson("string", "n/a", "k")).toBe("n/a");
    expect(fillValueFromJson("string", null, "k")).toBe("");
    expect(() => fillValueFromJson("string", 0, "a/zarr.json")).toThrow(CorruptMetadataError);
    expect(fillValueToJson("string", "x")).toBe("x");
    expect(() => normaliseFillValue("string", 0)).toThrow(DtypeError);
    expect(() => normaliseFillValue("float64", "0")).toThrow(DtypeError);
  });
});
