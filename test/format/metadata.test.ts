import { describe, expect, it } from "vitest";
import { CorruptMetadataError, DtypeError } from "../../src/errors.js";
import {
  type ArrayInfo,
  arrayMetadataJson,
  codecsFor,
  type DataType,
  DEFAULT_CHUNK_KEY_ENCODING,
  encodeMetadata,
  fillValueFromJson,
  fillValueToJson,
  groupMetadataJson,
  parseNodeMetadata,
  type Scalar,
} from "../../src/format/index.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const KEY = "pool/data/zarr.json";

function info(overrides: Partial<ArrayInfo> = {}): ArrayInfo {
  return {
    shape: [10, 7],
    dataType: "float32",
    chunkShape: [4, 4],
    fillValue: 0,
    codecs: codecsFor({ compression: "gzip" }),
    attributes: {},
    chunkKeyEncoding: DEFAULT_CHUNK_KEY_ENCODING,
    ...overrides,
  };
}

function roundTrip(a: ArrayInfo): ArrayInfo {
  const parsed = parseNodeMetadata(encodeMetadata(arrayMetadataJson(a)), KEY);
  if (parsed.kind !== "array") throw new Error("expected an array");
  return parsed.info;
}

const bytesOf = (json: unknown) => new TextEncoder().encode(typeof json === "string" ? json : JSON.stringify(json));

describe("fill values round-trip through zarr.json", () => {
  const cases: [DataType, Scalar][] = [
    ["bool", true], ["bool", false],
    ["int8", -128], ["int8", 127], ["uint8", 255], ["int16", -32768], ["uint16", 65535],
    ["int32", -(2 ** 31)], ["uint32", 2 ** 32 - 1],
    ["int64", -(2n ** 63n)], ["int64", 2n ** 63n - 1n], ["int64", -1n], ["int64", 12345n],
    ["uint64", 2n ** 64n - 1n], ["uint64", 2n ** 53n + 1n], ["uint64", 0n],
    ["float32", 1.5], ["float32", NaN], ["float32", Infinity], ["float32", -Infinity], ["float32", -3.25e38],
    ["float64", NaN], ["float64", Infinity], ["float64", -Infinity], ["float64", 0.1], ["float64", Number.MIN_VALUE], ["float64", -Number.MAX_VALUE],
  ];
  it.each(cases)("%s %s", (dt, fill) => {
    const back = roundTrip(info({ dataType: dt, fillValue: fill }));
    expect(back.dataType).toBe(dt);
    expect(Object.is(back.fillValue, fill)).toBe(true);
  });

  it("writes special floats as the spec's strings", () => {
    expect(fillValueToJson("float32", NaN)).toBe("NaN");
    expect(fillValueToJson("float64", Infinity)).toBe("Infinity");
    expect(fillValueToJson("float64", -Infinity)).toBe("-Infinity");
    const text = new TextDecoder().decode(encodeMetadata(arrayMetadataJson(info({ fillValue: NaN }))));
    expect(text).toContain('"fill_value": "NaN"');
  });

  it("writes -0 as 0 (documented: the sign of a zero fill value is not kept)", () => {
    expect(Object.is(fillValueToJson("float64", -0), 0)).toBe(true);
    expect(Object.is(roundTrip(info({ fillValue: -0 })).fillValue, 0)).toBe(true);
  });

  it("writes 64-bit integers beyond 2^53 as exact JSON integers", () => {
    const text = new TextDecoder().decode(encodeMetadata(arrayMetadataJson(info({ dataType: "int64", fillValue: -(2n ** 63n) }))));
    expect(text).toContain('"fill_value": -9223372036854775808');
    expect(() => JSON.parse(text)).not.toThrow();
    expect(fillValueToJson("int64", 5n)).toBe(5);
  });

  it("reads hex float fill values and null", () => {
    expect(fillValueFromJson("float32", "0x7fc00000", KEY)).toBeNaN();
    expect(fillValueFromJson("float32", "0x3fc00000", KEY)).toBe(1.5);
    expect(fillValueFromJson("float64", "0x3ff8000000000000", KEY)).toBe(1.5);
    expect(Object.is(fillValueFromJson("float64", "0x8000000000000000", KEY), -0)).toBe(true);
    expect(fillValueFromJson("float64", null, KEY)).toBe(0);
    expect(fillValueFromJson("bool", null, KEY)).toBe(false);
    expect(fillValueFromJson("uint64", null, KEY)).toBe(0n);
  });

  it.each<[DataType, unknown]>([
    ["bool", 1], ["bool", "true"], ["uint8", 256], ["uint8", -1], ["int16", 1.5], ["int32", "7"],
    ["float32", "nan"], ["float32", "0x7fc0"], ["float64", "0x7fc00000"], ["float64", [1]], ["int64", true],
  ])("rejects %s fill value %j naming the key", (dt, json) => {
    expect(() => fillValueFromJson(dt, json, KEY)).toThrow(CorruptMetadataError);
    expect(() => fillValueFromJson(dt, json, KEY)).toThrow(`"${KEY}"`);
  });

  it("refuses to write fill values the data type cannot hold", () => {
    expect(() => arrayMetadataJson(info({ dataType: "uint8", fillValue: 300 }))).toThrow(DtypeError);
    expect(() => arrayMetadataJson(info({ dataType: "int32", fillValue: 0.5 }))).toThrow(/fill value 0.5 is not an integer/);
  });
});

describe("array and group metadata", () => {
  it("writes the Zarr v3 array document", () => {
    const json = arrayMetadataJson(info({ attributes: { dosna: { v: 1 } }, dimensionNames: ["y", null] }));
    expect(json).toEqual({
      zarr_format: 3,
      node_type: "array",
      shape: [10, 7],
      data_type: "float32",
      chunk_grid: { name: "regular", configuration: { chunk_shape: [4, 4] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: 0,
      codecs: [
        { name: "bytes", configuration: { endian: "little" } },
        { name: "gzip", configuration: { level: 5 } },
      ],
      attributes: { dosna: { v: 1 } },
      dimension_names: ["y", null],
    });
  });

  it("round-trips every field", () => {
    for (const dt of PLAIN_DATA_TYPES) {
      const a = info({
        dataType: dt,
        shape: [0, 3, 1000],
        chunkShape: [1, 5, 64],
        fillValue: dt === "bool" ? true : dt.endsWith("64") && dt.includes("int") ? 3n : 3,
        codecs: codecsFor({ compression: "none" }),
        attributes: { name: "x", list: [1, 2, { deep: null }], nested: { a: "ü" } },
        chunkKeyEncoding: { name: "v2", separator: "." },
        dimensionNames: ["a", null, "c"],
      });
      expect(roundTrip(a)).toEqual(a);
    }
    const zeroD = info({ shape: [], chunkShape: [], dimensionNames: undefined });
    delete zeroD.dimensionNames;
    expect(roundTrip(zeroD)).toEqual(zeroD);
  });

  it("round-trips groups", () => {
    expect(parseNodeMetadata(encodeMetadata(groupMetadataJson({ title: "t", n: [1, 2] })), "zarr.json")).toEqual({
      kind: "group",
      attributes: { title: "t", n: [1, 2] },
    });
    expect(parseNodeMetadata(bytesOf({ zarr_format: 3, node_type: "group" }), "zarr.json")).toEqual({ kind: "group", attributes: {} });
  });

  it("accepts what other writers produce", () => {
    const base = arrayMetadataJson(info({ codecs: [{ name: "bytes", configuration: { endian: "little" } }] }));
    // zarr-python's group extras and optional extensions
    const group = parseNodeMetadata(bytesOf({ zarr_format: 3, node_type: "group", consolidated_metadata: null, attributes: {} }), "zarr.json");
    expect(group.kind).toBe("group");
    const withExtension = parseNodeMetadata(bytesOf({ ...base, storage_transformers: [], ext: { must_understand: false } }), KEY);
    expect(withExtension.kind).toBe("array");
    // zarrita without codecs or fill value; codec given as a bare name
    const zarrita = parseNodeMetadata(bytesOf({ ...base, codecs: [], fill_value: null }), KEY);
    expect(zarrita.kind === "array" && zarrita.info.codecs).toEqual([{ name: "bytes", configuration: { endian: "little" } }]);
    expect(zarrita.kind === "array" && zarrita.info.fillValue).toBe(0);
    const bare = parseNodeMetadata(bytesOf({ ...base, codecs: ["bytes", "gzip"] }), KEY);
    expect(bare.kind === "array" && bare.info.codecs).toEqual([{ name: "bytes" }, { name: "gzip" }]);
    const onlyGzip = parseNodeMetadata(bytesOf({ ...base, codecs: [{ name: "gzip", configuration: { level: 1 } }] }), KEY);
    expect(onlyGzip.kind === "array" && onlyGzip.info.codecs.map((c) => c.name)).toEqual(["bytes", "gzip"]);
    const noAttributes: Record<string, unknown> = { ...base };
    delete noAttributes.attributes;
    const parsed = parseNodeMetadata(bytesOf(noAttributes), KEY);
    expect(parsed.kind === "array" && parsed.info.attributes).toEqual({});
  });
});

describe("corrupt metadata gives CorruptMetadataError naming the key and the problem", () => {
  const base = arrayMetadataJson(info()) as Record<string, unknown>;
  const cases: [string, string | object, RegExp][] = [
    ["not JSON", "{ zarr_format: 3", /not valid JSON/],
    ["a JSON array", [1, 2], /expected a JSON object, got an array/],
    ["JSON null", "null", /expected a JSON object, got null/],
    ["zarr v2", { ...base, zarr_format: 2 }, /zarr_format is 2, expected 3/],
    ["no zarr_format", { node_type: "group" }, /no zarr_format member/],
    ["unknown node_type", { ...base, node_type: "dataset" }, /node_type is "dataset", expected "array" or "group"/],
    ["unsupported data_type", { ...base, data_type: "float128" }, /data_type "float128" is not supported; supported: bool, int8/],
    ["numpy data_type", { ...base, data_type: "<f4" }, /data_type "<f4" is not supported/],
    ["negative shape", { ...base, shape: [10, -1] }, /shape\[1\]: .*\(got -1\)/],
    ["fractional shape", { ...base, shape: [1.5, 7] }, /shape\[0\]: .*\(got 1.5\)/],
    ["shape not a list", { ...base, shape: "10,7" }, /shape: .*\(got "10,7"\)/],
    ["zero chunk", { ...base, chunk_grid: { name: "regular", configuration: { chunk_shape: [0, 4] } } }, /chunk_grid.configuration.chunk_shape\[0\]/],
    ["chunk rank", { ...base, chunk_grid: { name: "regular", configuration: { chunk_shape: [4] } } }, /chunk_shape \[4\] has 1 dimensions but shape \[10, 7\] has 2/],
    ["irregular grid", { ...base, chunk_grid: { name: "rectilinear", configuration: { chunk_shape: [4, 4] } } }, /chunk_grid "rectilinear" is not supported/],
    ["missing chunk grid", { ...base, chunk_grid: undefined }, /chunk_grid is missing/],
    ["bad key encoding", { ...base, chunk_key_encoding: { name: "fancy" } }, /chunk_key_encoding "fancy" is not supported/],
    ["bad separator", { ...base, chunk_key_encoding: { name: "default", configuration: { separator: "-" } } }, /separator "-" is not supported/],
    ["unknown codec", { ...base, codecs: [{ name: "bytes" }, { name: "lzma" }] }, /codec "lzma" is not supported; supported codecs: blosc, bytes, crc32c, gzip, numcodecs.adler32, .*numcodecs.shuffle, numcodecs.zlib, numcodecs.zstd, transpose, vlen-bytes, vlen-utf8, zstd$/],
    ["two array→bytes codecs", { ...base, codecs: [{ name: "bytes" }, { name: "bytes" }] }, /exactly one is allowed/],
    ["compressor first", { ...base, codecs: [{ name: "gzip" }, { name: "bytes" }] }, /"gzip" must come after an array→bytes codec/],
    ["bad gzip level", { ...base, codecs: [{ name: "bytes" }, { name: "gzip", configuration: { level: 12 } }] }, /codec "gzip": level must be an integer from 0 to 9/],
    ["bad endian", { ...base, codecs: [{ name: "bytes", configuration: { endian: "middle" } }] }, /codec "bytes": endian must be "little" or "big"/],
    ["codecs not a list", { ...base, codecs: { name: "bytes" } }, /codecs: /],
    ["bad fill value", { ...base, fill_value: "zero" }, /fill_value "zero" is not valid for data type float32/],
    ["dimension_names length", { ...base, dimension_names: ["x"] }, /dimension_names has 1 entries but the array has 2 dimensions/],
    ["storage transformers", { ...base, storage_transformers: [{ name: "sharding" }] }, /storage_transformers are not supported/],
    ["unknown member", { ...base, surprise: 1 }, /unknown member "surprise"/],
    ["required extension", { ...base, ext: { must_understand: true } }, /unknown member "ext"/],
    ["attributes not an object", { ...base, attributes: [1] }, /attributes: /],
    ["group attributes not an object", { zarr_format: 3, node_type: "group", attributes: "x" }, /attributes: /],
  ];
  it.each(cases)("%s", (_name, doc, problem) => {
    const bytes = bytesOf(doc);
    let error: unknown;
    try {
      parseNodeMetadata(bytes, KEY);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorruptMetadataError);
    expect((error as Error).message).toContain(`"${KEY}"`);
    expect((error as Error).message).toMatch(problem);
  });

  it("invalid UTF-8", () => {
    expect(() => parseNodeMetadata(new Uint8Array([0x7b, 0xff, 0x7d]), KEY)).toThrow(/"pool\/data\/zarr.json": not valid UTF-8/);
  });
});

describe("encodeMetadata", () => {
  it("is pretty, valid JSON, drops undefined like JSON.stringify and keeps bigints exact", () => {
    const text = new TextDecoder().decode(encodeMetadata({ a: [1, 2], b: { c: undefined, d: 2n ** 70n }, e: [], f: {}, g: [{ h: 1 }] }));
    expect(text).toBe(
      '{\n  "a": [1, 2],\n  "b": {\n    "d": 1180591620717411303424\n  },\n  "e": [],\n  "f": {},\n  "g": [\n    {\n      "h": 1\n    }\n  ]\n}',
    );
    const plain = { s: "x\"\n", n: null, t: true, list: [null, "a"], date: new Date(0) };
    expect(JSON.parse(new TextDecoder().decode(encodeMetadata(plain)))).toEqual(JSON.parse(JSON.stringify(plain)));
  });

  it("reads exact int64 fill values even when attributes have a member of the same name", () => {
    const text =
      '{"zarr_format":3,"node_type":"array","attributes":{"fill_value":1,"s":"\\",\\"fill_value\\": 3"},"shape":[2],"data_type":"uint64",' +
      '"chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},' +
      '"chunk_key_encoding":{"name":"default"},"fill_value" : 18446744073709551614,"codecs":[{"name":"bytes"}]}';
    const parsed = parseNodeMetadata(bytesOf(text), KEY);
    expect(parsed.kind === "array" && parsed.info.fillValue).toBe(2n ** 64n - 2n);
  });
});
