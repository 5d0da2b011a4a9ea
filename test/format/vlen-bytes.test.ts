/**
 * The `bytes` data type (variable-length byte strings) in format/: the vlen-bytes codec's frames
 * against numcodecs.VLenBytes (Debian's numcodecs 0.11) both ways, corrupt frames, the zarr.json
 * names and fill value forms (base64 as zarr-python 3.1 writes it, checked against Python's
 * base64), the codecs a new array gets, and the Zarr v2 "|O" + vlen-bytes translation both ways.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CorruptChunkError, CorruptMetadataError, DtypeError, ValidationError } from "../../src/errors.js";
import { createChunkCodec } from "../../src/format/codecs/pipeline.js";
import {
  allElementsEqual,
  allocateTypedArray,
  BytesArray,
  bytesPerElement,
  codecsFor,
  dataTypeOfZarrName,
  defaultFillValue,
  fillValueFromJson,
  fillValueToJson,
  isDataType,
  isZeroFillValue,
  normaliseFillValue,
  parseDataType,
  parseNodeMetadata,
  type TypedArray,
} from "../../src/format/index.js";
import { v2DocumentsFromV3, v3ArrayFromV2 } from "../../src/format/zarr-v2.js";

const PYTHON = "/usr/bin/python3";

/** Runs Python with `input` on stdin; returns stdout (fails the test on a non-zero exit). */
function py(script: string, input = ""): string {
  const result = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", input, maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return result.stdout;
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const items = (a: unknown) => Array.from(a as ArrayLike<Uint8Array>, hexOf);

/** Elements with the edge cases: empty, NUL, 0xff, every byte value, long, UTF-8 that is not text. */
const ELEMENTS: Uint8Array[] = [
  new Uint8Array(0),
  Uint8Array.of(0),
  Uint8Array.of(0xff, 0xfe, 0),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  new Uint8Array(70000).map((_, i) => (i * 31 + 7) & 255),
  new TextEncoder().encode("plain text é"),
  Uint8Array.of(0xc3), // a lone UTF-8 lead byte: not text, fine as bytes
  Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
];

describe("vlen-bytes frames as numcodecs.VLenBytes", () => {
  it("encodes the bytes numcodecs encodes, decodes numcodecs' bytes, and numcodecs decodes dosna's", async () => {
    const codec = createChunkCodec({ dataType: "bytes", chunkShape: [2, 4], codecs: [{ name: "vlen-bytes" }] });
    const fromNumcodecs = py(
      "import json, sys, numcodecs, numpy as np\n" +
        "v = np.array([bytes.fromhex(h) for h in json.loads(sys.stdin.read())], dtype=object)\n" +
        "sys.stdout.write(bytes(numcodecs.VLenBytes().encode(v)).hex())",
      JSON.stringify(ELEMENTS.map(hexOf)),
    );
    const encoded = await codec.encode(BytesArray.fromItems(ELEMENTS) as unknown as TypedArray);
    expect(hexOf(encoded)).toBe(fromNumcodecs);
    const decoded = await codec.decode(new Uint8Array(Buffer.from(fromNumcodecs, "hex")), "c/0/0");
    expect(decoded).toBeInstanceOf(BytesArray);
    expect(items(decoded)).toEqual(ELEMENTS.map(hexOf));
    const back = py(
      "import json, sys, numcodecs\n" +
        "print(json.dumps([bytes(b).hex() for b in numcodecs.VLenBytes().decode(bytes.fromhex(sys.stdin.read()))]))",
      hexOf(encoded),
    );
    expect(JSON.parse(back)).toEqual(ELEMENTS.map(hexOf));
  });

  it("decoded elements are copies, each its own Uint8Array, not views of the stored bytes", async () => {
    const codec = createChunkCodec({ dataType: "bytes", chunkShape: [2], codecs: [{ name: "vlen-bytes" }] });
    const stored = await codec.encode(BytesArray.fromItems([Uint8Array.of(1, 2), Uint8Array.of(3)]) as unknown as TypedArray);
    const decoded = (await codec.decode(stored, "c/0", { owned: true })) as unknown as BytesArray;
    stored.fill(0);
    expect(items(decoded)).toEqual(["0102", "03"]);
    expect(decoded[0].buffer).not.toBe(decoded[1].buffer);
    expect(decoded[0].byteLength).toBe(decoded[0].buffer.byteLength);
  });

  it.each([
    [[{ name: "vlen-bytes" }, { name: "zstd", configuration: { level: 3 } }]],
    [[{ name: "vlen-bytes" }, { name: "gzip", configuration: { level: 5 } }, { name: "crc32c" }]],
  ])("with compressors after it, round trips (%j)", async (codecs) => {
    const codec = createChunkCodec({ dataType: "bytes", chunkShape: [8], codecs });
    const decoded = await codec.decode(await codec.encode(BytesArray.fromItems(ELEMENTS) as unknown as TypedArray), "c/0");
    expect(items(decoded)).toEqual(ELEMENTS.map(hexOf));
  });

  it("corrupt frames fail as CorruptChunkError naming the key and the problem", async () => {
    const codec = createChunkCodec({ dataType: "bytes", chunkShape: [2], codecs: [{ name: "vlen-bytes" }] });
    const frame = (...parts: number[][]) => new Uint8Array(parts.flat());
    const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
    for (const [bytes, problem] of [
      [frame([1, 0]), /vlen-bytes: 2 bytes is too short/],
      [frame(u32(3), u32(0), u32(0), u32(0)), /holds 3 items, expected 2 \(chunk shape \[2\]\)/],
      [frame(u32(2), u32(1), [97]), /item 1 starts past the end/],
      [frame(u32(2), u32(1), [97], u32(5), [98]), /item 1 of 5 bytes runs past the end/],
      [frame(u32(2), u32(0), u32(0), [1]), /1 bytes left over after 2 items/],
    ] as const) {
      await expect(codec.decode(bytes, "arr/c/7")).rejects.toThrow(CorruptChunkError);
      await expect(codec.decode(bytes, "arr/c/7")).rejects.toThrow(/chunk "arr\/c\/7".*codec "vlen-bytes"/);
      await expect(codec.decode(bytes, "arr/c/7")).rejects.toThrow(problem);
    }
    // invalid UTF-8 is fine for bytes
    expect(items(await codec.decode(frame(u32(2), u32(1), [0xff], u32(0)), "k"))).toEqual(["ff", ""]);
  });

  it("each data type needs its own array→bytes codec", () => {
    expect(() => createChunkCodec({ dataType: "bytes", chunkShape: [2], codecs: [{ name: "bytes" }] })).toThrow(/data type bytes is stored with vlen-bytes, not bytes/);
    expect(() => createChunkCodec({ dataType: "bytes", chunkShape: [2], codecs: [{ name: "vlen-utf8" }] })).toThrow(/vlen-utf8 encodes data type string, not bytes/);
    expect(() => createChunkCodec({ dataType: "string", chunkShape: [2], codecs: [{ name: "vlen-bytes" }] })).toThrow(/vlen-bytes encodes data type bytes, not string/);
    expect(() => createChunkCodec({ dataType: "uint8", chunkShape: [2], codecs: [{ name: "vlen-bytes" }] })).toThrow(ValidationError);
  });
});

describe("the bytes data type", () => {
  it("names: bytes, and zarr-python 3.1's variable_length_bytes on read", () => {
    expect(parseDataType("bytes")).toBe("bytes");
    expect(parseDataType("variable_length_bytes")).toBe("bytes");
    expect(isDataType("bytes")).toBe(true);
    expect(bytesPerElement("bytes")).toBe(8);
    expect(dataTypeOfZarrName("bytes")).toBe("bytes");
    expect(dataTypeOfZarrName("variable_length_bytes")).toBe("bytes");
    expect(dataTypeOfZarrName({ name: "bytes" })).toBe("bytes");
    expect(dataTypeOfZarrName({ name: "bytes", configuration: {} })).toBe("bytes");
    expect(dataTypeOfZarrName({ name: "bytes", configuration: { x: 1 } })).toBeUndefined();
    expect(dataTypeOfZarrName("binary")).toBeUndefined();
    // numpy's S/V dtypes are fixed-size: not this type
    expect(() => parseDataType("|S10")).toThrow(DtypeError);
    const chunk = allocateTypedArray("bytes", 3);
    expect(chunk).toBeInstanceOf(BytesArray);
    expect(items(chunk)).toEqual(["", "", ""]);
  });

  it.each([
    ["bytes", "AAH/"],
    ["variable_length_bytes", "AAH/"],
    [{ name: "bytes" }, [0, 1, 255]],
  ])("zarr.json with data_type %j and fill_value %j parses (as zarr-python and the bytes extension write it)", (dataType, fill) => {
    const json = {
      zarr_format: 3, node_type: "array", shape: [4], data_type: dataType, fill_value: fill,
      chunk_grid: { name: "regular", configuration: { chunk_shape: [2] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      codecs: [{ name: "vlen-bytes", configuration: {} }, { name: "zstd", configuration: { level: 0, checksum: false } }],
      attributes: {}, storage_transformers: [],
    };
    const node = parseNodeMetadata(new TextEncoder().encode(JSON.stringify(json)), "a/zarr.json");
    expect(node.kind).toBe("array");
    if (node.kind !== "array") return;
    expect(node.info.dataType).toBe("bytes");
    expect(hexOf(node.info.fillValue as Uint8Array)).toBe("0001ff");
  });

  it("zarr.json of bytes without vlen-bytes is refused naming the key", () => {
    const json = {
      zarr_format: 3, node_type: "array", shape: [4], data_type: "bytes", fill_value: "",
      chunk_grid: { name: "regular", configuration: { chunk_shape: [2] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      codecs: [{ name: "bytes", configuration: { endian: "little" } }],
    };
    expect(() => parseNodeMetadata(new TextEncoder().encode(JSON.stringify(json)), "b/zarr.json")).toThrow(/"b\/zarr\.json".*stored with vlen-bytes/);
  });

  it("fill values: base64 in zarr.json exactly as Python's base64.standard_b64encode, both ways", () => {
    const values = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0xfb, 0xff), Uint8Array.of(1, 2, 3), Uint8Array.from({ length: 256 }, (_, i) => 255 - i)];
    const fromPython = JSON.parse(py(
      "import base64, json, sys\nprint(json.dumps([base64.standard_b64encode(bytes.fromhex(h)).decode('ascii') for h in json.loads(sys.stdin.read())]))",
      JSON.stringify(values.map(hexOf)),
    )) as string[];
    values.forEach((v, i) => {
      expect(fillValueToJson("bytes", v)).toBe(fromPython[i]);
      expect(hexOf(fillValueFromJson("bytes", fromPython[i], "k") as Uint8Array)).toBe(hexOf(v));
    });
    expect(hexOf(fillValueFromJson("bytes", [104, 105], "k") as Uint8Array)).toBe("6869");
    expect((fillValueFromJson("bytes", null, "k") as Uint8Array).byteLength).toBe(0);
    for (const bad of ["not base64!", "QQ", "QQ=", 0, [256], [1.5], { a: 1 }, true]) {
      expect(() => fillValueFromJson("bytes", bad, "a/zarr.json")).toThrow(CorruptMetadataError);
      expect(() => fillValueFromJson("bytes", bad, "a/zarr.json")).toThrow(/"a\/zarr\.json".*data type bytes; expected a base64 string/);
    }
  });

  it("fill values given by a caller: a Uint8Array or Buffer (copied); numbers and strings are DtypeErrors", () => {
    const given = Buffer.from([7, 8, 9]);
    const fill = normaliseFillValue("bytes", given) as Uint8Array;
    expect(fill.constructor).toBe(Uint8Array);
    given[0] = 0;
    expect(hexOf(fill)).toBe("070809");
    expect(hexOf(normaliseFillValue("bytes", undefined) as Uint8Array)).toBe("");
    expect(hexOf(defaultFillValue("bytes") as Uint8Array)).toBe("");
    expect(isZeroFillValue(new Uint8Array(0))).toBe(true);
    expect(isZeroFillValue(Uint8Array.of(0))).toBe(false);
    expect(() => normaliseFillValue("bytes", 0)).toThrow(DtypeError);
    expect(() => normaliseFillValue("bytes", 0)).toThrow(/fill value 0 is not a Uint8Array \(or Buffer\), as data type bytes requires/);
    expect(() => normaliseFillValue("bytes", "abc")).toThrow(/"abc" is not a Uint8Array/);
    expect(() => normaliseFillValue("float32", Uint8Array.of(1))).toThrow(/is bytes, but data type float32 is not bytes/);
    expect(() => normaliseFillValue("string", Uint8Array.of(1))).toThrow(/is not a string, as data type string requires/);
  });

  it("all-fill test compares bytes, not references", () => {
    const chunk = BytesArray.fromItems([Uint8Array.of(1, 2), Uint8Array.of(1, 2)]) as unknown as TypedArray;
    expect(allElementsEqual(chunk, Uint8Array.of(1, 2))).toBe(true);
    expect(allElementsEqual(chunk, Uint8Array.of(1))).toBe(false);
    expect(allElementsEqual(BytesArray.fromItems([Uint8Array.of(1, 2), Uint8Array.of(1, 3)]) as unknown as TypedArray, Uint8Array.of(1, 2))).toBe(false);
  });

  it("a new array gets vlen-bytes (and the compression asked for); shuffle and blosc are refused", () => {
    expect(codecsFor({ dataType: "bytes" })).toEqual([{ name: "vlen-bytes" }]);
    expect(codecsFor({ dataType: "bytes", compression: "zstd", compressionLevel: 3 })).toEqual([{ name: "vlen-bytes" }, { name: "zstd", configuration: { level: 3, checksum: false } }]);
    expect(() => codecsFor({ dataType: "bytes", compression: "blosc" }, 'dataset "b"')).toThrow(/blosc of dataset "b" needs fixed-size elements; data type bytes has none/);
    expect(() => codecsFor({ dataType: "bytes", shuffle: true })).toThrow(/shuffle needs fixed-size elements; data type bytes has none/);
  });
});

describe("Zarr v2: object dtype with the vlen-bytes object codec", () => {
  const zarray = { zarr_format: 2, shape: [5], chunks: [2], dtype: "|O", compressor: { id: "zlib", level: 1 }, fill_value: 0, order: "C", filters: [{ id: "vlen-bytes" }] };

  it("reads as bytes with vlen-bytes then the compressor; zarr-python 2's 0 or null fill is empty bytes", () => {
    for (const fill of [0, null, ""]) {
      const doc = v3ArrayFromV2({ ...zarray, fill_value: fill }, {}, "a/.zarray");
      expect(doc.data_type).toBe("bytes");
      expect(doc.fill_value).toBe("");
      expect(doc.codecs).toEqual([{ name: "vlen-bytes" }, { name: "numcodecs.zlib", configuration: { level: 1 } }]);
    }
    expect(v3ArrayFromV2({ ...zarray, fill_value: "AAE=" }, {}, "a/.zarray").fill_value).toBe("AAE=");
    expect(() => v3ArrayFromV2({ ...zarray, filters: [{ id: "pickle" }] }, {}, "a/.zarray")).toThrow(/a\/\.zarray.*"vlen-utf8" or "vlen-bytes" object codec/);
  });

  it("writes as |O with vlen-bytes as the first filter and a base64 fill value", () => {
    const v3 = {
      zarr_format: 3, node_type: "array", shape: [5], data_type: "bytes", fill_value: [0, 1],
      chunk_grid: { name: "regular", configuration: { chunk_shape: [2] } },
      chunk_key_encoding: { name: "v2", configuration: { separator: "." } },
      codecs: [{ name: "vlen-bytes" }, { name: "gzip", configuration: { level: 5 } }],
      attributes: {},
    };
    const { metadata } = v2DocumentsFromV3(v3, 'dataset "b"');
    expect(metadata).toMatchObject({ dtype: "|O", filters: [{ id: "vlen-bytes" }], compressor: { id: "gzip", level: 5 }, fill_value: "AAE=" });
    expect(v2DocumentsFromV3({ ...v3, data_type: "variable_length_bytes", fill_value: "" }, 'dataset "b"').metadata).toMatchObject({ dtype: "|O", fill_value: "" });
  });
});
