import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptChunkError, DtypeError, ShapeError, ValidationError } from "../../src/errors.js";
import {
  allocateTypedArray,
  bytesPerElement,
  type CodecSpec,
  codecsFor,
  createChunkCodec,
  type DataType,
  type TypedArray,
  typedArrayConstructorFor,
} from "../../src/format/index.js";
import { bytesOf, randomChunk } from "../helpers/chunk-data.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const elements = (a: ArrayLike<number | bigint>): (number | bigint)[] => Array.from(a);

const KEY = "pool/data/c/1/2";

/** Independent reference for the `bytes` codec: every element written through DataView. */
function referenceBytes(a: TypedArray, dt: DataType, littleEndian: boolean): Uint8Array {
  const size = bytesPerElement(dt);
  const view = new DataView(new ArrayBuffer(a.length * size));
  const src = new DataView(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < a.length; i++) {
    const o = i * size;
    switch (dt) {
      case "bool": case "uint8": view.setUint8(o, src.getUint8(o)); break;
      case "int8": view.setInt8(o, src.getInt8(o)); break;
      case "int16": view.setInt16(o, src.getInt16(o, true), littleEndian); break;
      case "uint16": view.setUint16(o, src.getUint16(o, true), littleEndian); break;
      case "int32": view.setInt32(o, src.getInt32(o, true), littleEndian); break;
      case "uint32": view.setUint32(o, src.getUint32(o, true), littleEndian); break;
      case "int64": view.setBigInt64(o, src.getBigInt64(o, true), littleEndian); break;
      case "uint64": view.setBigUint64(o, src.getBigUint64(o, true), littleEndian); break;
      // integer views keep NaN payloads exact
      case "float32": view.setUint32(o, src.getUint32(o, true), littleEndian); break;
      case "float64": view.setBigUint64(o, src.getBigUint64(o, true), littleEndian); break;
    }
  }
  return new Uint8Array(view.buffer);
}

const GZIP: CodecSpec[] = codecsFor({ compression: "gzip" });
const RAW: CodecSpec[] = codecsFor({ compression: "none" });

describe("codec round trips", () => {
  for (const dt of PLAIN_DATA_TYPES) {
    for (const [label, codecs] of [["raw", RAW], ["gzip", GZIP]] as const) {
      it(`${dt} ${label}`, async () => {
        const chunkShape = [3, 5, 2];
        const codec = createChunkCodec({ dataType: dt, chunkShape, codecs });
        const chunk = randomChunk(dt, 30);
        const encoded = await codec.encode(chunk);
        const stored = label === "gzip" ? new Uint8Array(gunzipSync(encoded)) : encoded;
        expect(stored).toEqual(referenceBytes(chunk, dt, true));
        const decoded = await codec.decode(encoded, KEY);
        expect(decoded).toBeInstanceOf(typedArrayConstructorFor(dt));
        expect(decoded.length).toBe(30);
        expect(bytesOf(decoded)).toEqual(bytesOf(chunk));
      });
    }
  }

  it("round-trips random chunks of any shape (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PLAIN_DATA_TYPES),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }),
        fc.constantFrom(RAW, GZIP, codecsFor({ compression: "gzip", compressionLevel: 0 })),
        async (dt, chunkShape, codecs) => {
          const length = chunkShape.reduce((a, b) => a * b, 1);
          const codec = createChunkCodec({ dataType: dt, chunkShape, codecs });
          const chunk = randomChunk(dt, length);
          expect(bytesOf(await codec.decode(await codec.encode(chunk), KEY))).toEqual(bytesOf(chunk));
        },
      ),
      { numRuns: 200 },
    );
  });

});

describe("big-endian bytes", () => {
  it.each([...PLAIN_DATA_TYPES])("%s: decodes and encodes big-endian chunks", async (dt) => {
    const chunk = randomChunk(dt, 12);
    const big = referenceBytes(chunk, dt, false);
    for (const codecs of [[{ name: "bytes", configuration: { endian: "big" } }], [{ name: "bytes", configuration: { endian: "big" } }, { name: "gzip", configuration: { level: 1 } }]]) {
      const codec = createChunkCodec({ dataType: dt, chunkShape: [4, 3], codecs });
      const stored = codecs.length === 2 ? new Uint8Array(gzipSync(big)) : big.slice();
      expect(bytesOf(await codec.decode(stored, KEY))).toEqual(bytesOf(chunk));
      if (codecs.length === 1) expect(stored).toEqual(big); // decoding did not swap the caller's bytes in place
      const encoded = await codec.encode(chunk);
      expect(codecs.length === 2 ? new Uint8Array(gunzipSync(encoded)) : encoded).toEqual(big);
    }
  });

  it("reads a bytes codec without configuration as little endian", async () => {
    const codec = createChunkCodec({ dataType: "int16", chunkShape: [2], codecs: [{ name: "bytes" }] });
    expect(elements(await codec.decode(new Uint8Array([1, 0, 0, 1]), KEY))).toEqual([1, 256]);
  });
});

describe("memory ownership", () => {
  it("decodes into a fresh, aligned array even from a misaligned view, without aliasing the input", async () => {
    const codec = createChunkCodec({ dataType: "float64", chunkShape: [4], codecs: RAW });
    const values = new Float64Array([1.5, -2, 3e300, NaN]);
    const backing = new Uint8Array(40);
    backing.set(bytesOf(values), 3);
    const misaligned = backing.subarray(3, 35);
    const decoded = await codec.decode(misaligned, KEY);
    expect(Array.from(decoded as Float64Array)).toEqual([1.5, -2, 3e300, NaN]);
    expect(decoded.byteOffset).toBe(0);
    expect(decoded.buffer.byteLength).toBe(32);
    backing.fill(0);
    expect((decoded as Float64Array)[0]).toBe(1.5);
  });

  it("decodes small gzip chunks into their own buffer (zlib may hand back pooled memory)", async () => {
    const codec = createChunkCodec({ dataType: "int32", chunkShape: [3], codecs: GZIP });
    const a = await codec.decode(await codec.encode(new Int32Array([1, 2, 3])), KEY);
    const b = await codec.decode(await codec.encode(new Int32Array([4, 5, 6])), KEY);
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.buffer.byteLength).toBe(12);
    expect(elements(a)).toEqual([1, 2, 3]);
  });

  it("encodes into new memory, never a view of the chunk", async () => {
    const codec = createChunkCodec({ dataType: "uint16", chunkShape: [3], codecs: RAW });
    const chunk = new Uint16Array([1, 2, 3]);
    const encoded = await codec.encode(chunk);
    chunk[0] = 99;
    expect(Array.from(encoded)).toEqual([1, 0, 2, 0, 3, 0]);
  });
});

describe("errors", () => {
  const cases: [string, CodecSpec[], () => Uint8Array, RegExp][] = [
    ["truncated raw chunk", RAW, () => new Uint8Array(7), /decoded to 7 bytes, expected 48 \(chunk shape \[2, 3\] of float64\)/],
    ["oversized raw chunk", RAW, () => new Uint8Array(49), /decoded to 49 bytes, expected 48/],
    ["empty chunk", RAW, () => new Uint8Array(0), /decoded to 0 bytes, expected 48/],
    ["garbage gzip", GZIP, () => new Uint8Array([1, 2, 3, 4, 5]), /codec "gzip"/],
    ["truncated gzip", GZIP, () => new Uint8Array(gzipSync(new Uint8Array(48))).subarray(0, 20), /codec "gzip"/],
    ["gzip of the wrong length", GZIP, () => new Uint8Array(gzipSync(new Uint8Array(40))), /codec "bytes".*decoded to 40 bytes, expected 48/],
  ];
  it.each(cases)("%s → CorruptChunkError naming the key", async (_name, codecs, bytes, problem) => {
    const codec = createChunkCodec({ dataType: "float64", chunkShape: [2, 3], codecs });
    const error = await codec.decode(bytes(), KEY).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptChunkError);
    expect((error as Error).message).toContain(`chunk "${KEY}" cannot be decoded`);
    expect((error as Error).message).toMatch(problem);
  });

  it("refuses to encode a chunk of the wrong size or type", async () => {
    const codec = createChunkCodec({ dataType: "int32", chunkShape: [2, 2], codecs: RAW });
    await expect(codec.encode(new Int32Array(3))).rejects.toThrow(ShapeError);
    await expect(codec.encode(new Int32Array(3))).rejects.toThrow(/chunk of 3 elements; chunk shape \[2, 2\] holds 4/);
    await expect(codec.encode(new Float32Array(4))).rejects.toThrow(DtypeError);
    const bool = createChunkCodec({ dataType: "bool", chunkShape: [2], codecs: RAW });
    expect(Array.from(await bool.encode(new Uint8Array([1, 0])))).toEqual([1, 0]);
  });

  it("rejects unusable codec lists with ValidationError", () => {
    const make = (codecs: CodecSpec[]) => () => createChunkCodec({ dataType: "int8", chunkShape: [2], codecs });
    expect(make([{ name: "zstd" }])).toThrow(ValidationError);
    expect(make([{ name: "lzma" }])).toThrow(/codec "lzma" is not supported; supported codecs: blosc, bytes, crc32c, gzip, numcodecs.adler32, .*numcodecs.shuffle, numcodecs.zlib, numcodecs.zstd, transpose, vlen-bytes, vlen-utf8, zstd$/);
    expect(make([])).toThrow(/no array→bytes codec/);
    expect(make([{ name: "bytes" }, { name: "gzip", configuration: { level: "high" } }])).toThrow(/level must be an integer from 0 to 9, got "high"/);
  });

  it("allocates chunks the codec accepts", async () => {
    for (const dt of PLAIN_DATA_TYPES) {
      const codec = createChunkCodec({ dataType: dt, chunkShape: [2], codecs: RAW });
      expect((await codec.encode(allocateTypedArray(dt, 2))).length).toBe(2 * bytesPerElement(dt));
    }
  });
});
