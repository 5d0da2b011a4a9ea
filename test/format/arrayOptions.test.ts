import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { bytesPerElement, codecsFor, DEFAULT_CHUNK_BYTES, resolveChunkShape, validateShape } from "../../src/format/index.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const WHAT = 'chunks of dataset "a/b"';

describe("validateShape", () => {
  it("accepts non-negative integers and lists of them", () => {
    expect(validateShape([3, 0, 5], "shape")).toEqual([3, 0, 5]);
    expect(validateShape([], "shape")).toEqual([]);
    expect(validateShape(7, "shape")).toEqual([7]);
  });
  it.each([[[-1]], [[1.5]], [["3"]], ["3"], [null], [[NaN]], [[2 ** 60]]])("rejects %j", (shape) => {
    expect(() => validateShape(shape, 'shape of dataset "a/b"')).toThrow(ValidationError);
    expect(() => validateShape(shape, 'shape of dataset "a/b"')).toThrow(/shape of dataset "a\/b" must be a non-negative integer or a list of them, got/);
  });
});

describe("resolveChunkShape", () => {
  it("clips a single number to each axis", () => {
    expect(resolveChunkShape(32, [100, 10, 0], WHAT)).toEqual([32, 10, 1]);
    expect(resolveChunkShape(5, [], WHAT)).toEqual([]);
  });
  it("takes a list as given", () => {
    expect(resolveChunkShape([64, 3], [10, 10], WHAT)).toEqual([64, 3]);
  });
  it.each([[0], [-2], [1.5], [[4]], [[4, 0]], [[4, 2.5]], ["4" as unknown as number]])("rejects %j", (chunks) => {
    expect(() => resolveChunkShape(chunks as number | number[], [10, 10], WHAT)).toThrow(ValidationError);
    expect(() => resolveChunkShape(chunks as number | number[], [10, 10], WHAT)).toThrow(WHAT);
  });
  it("names the dimension mismatch", () => {
    expect(() => resolveChunkShape([4], [10, 10], WHAT)).toThrow(/\[4\] has 1 dimensions but the shape \[10, 10\] has 2/);
  });
  it("defaults to chunks of at most ~1 MiB, each axis within 1..size (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }), fc.constantFrom(...PLAIN_DATA_TYPES), (shape, dt) => {
        const chunks = resolveChunkShape(undefined, shape, WHAT, dt);
        expect(chunks.length).toBe(shape.length);
        chunks.forEach((c, axis) => {
          expect(c).toBeGreaterThanOrEqual(1);
          expect(c).toBeLessThanOrEqual(Math.max(shape[axis], 1));
        });
        const bytes = chunks.reduce((a, b) => a * b, bytesPerElement(dt));
        expect(bytes).toBeLessThanOrEqual(DEFAULT_CHUNK_BYTES);
        // not needlessly small: the whole array fits or the chunk is at least a quarter of the target
        const total = shape.reduce((a, b) => a * Math.max(b, 1), bytesPerElement(dt));
        expect(bytes === total || bytes >= DEFAULT_CHUNK_BYTES / 4).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe("codecsFor", () => {
  const bytes = { name: "bytes", configuration: { endian: "little" } };
  it("bytes, then gzip at the requested level (5 by default)", () => {
    expect(codecsFor({})).toEqual([bytes]);
    expect(codecsFor({ compression: null })).toEqual([bytes]);
    expect(codecsFor({ compression: "none" })).toEqual([bytes]);
    expect(codecsFor({ compression: "gzip" })).toEqual([bytes, { name: "gzip", configuration: { level: 5 } }]);
    expect(codecsFor({ compression: "gzip", compressionLevel: 9 })).toEqual([bytes, { name: "gzip", configuration: { level: 9 } }]);
  });
  it("zstd at level 1 by default, any zstd level on request", () => {
    expect(codecsFor({ compression: "zstd" })).toEqual([bytes, { name: "zstd", configuration: { level: 1, checksum: false } }]);
    expect(codecsFor({ compression: "zstd", compressionLevel: -5 })).toEqual([bytes, { name: "zstd", configuration: { level: -5, checksum: false } }]);
    expect(codecsFor({ compression: "zstd", compressionLevel: 22 })[1]).toEqual({ name: "zstd", configuration: { level: 22, checksum: false } });
  });
  it("shuffle by the element size before the compressor, crc32c last", () => {
    expect(codecsFor({ compression: "zstd", shuffle: true, checksum: true, dataType: "int16" })).toEqual([
      bytes,
      { name: "numcodecs.shuffle", configuration: { elementsize: 2 } },
      { name: "zstd", configuration: { level: 1, checksum: false } },
      { name: "crc32c" },
    ]);
    expect(codecsFor({ compression: "gzip", shuffle: true, dataType: "float64" })[1]).toEqual({ name: "numcodecs.shuffle", configuration: { elementsize: 8 } });
    expect(codecsFor({ checksum: true })).toEqual([bytes, { name: "crc32c" }]);
  });
  it("blosc shuffles inside (bit shuffle for 1-byte types), with the element size as typesize", () => {
    const blosc = (shuffle: string, typesize: number, clevel = 5) => ({ name: "blosc", configuration: { cname: "zstd", clevel, shuffle, typesize, blocksize: 0 } });
    expect(codecsFor({ compression: "blosc", dataType: "float32" })).toEqual([bytes, blosc("noshuffle", 4)]);
    expect(codecsFor({ compression: "blosc", shuffle: true, dataType: "float64", compressionLevel: 9 })).toEqual([bytes, blosc("shuffle", 8, 9)]);
    expect(codecsFor({ compression: "blosc", shuffle: true, dataType: "uint8" })).toEqual([bytes, blosc("bitshuffle", 1)]);
  });
  it("rejects unknown compressions and bad levels, naming the allowed values", () => {
    expect(() => codecsFor({ compression: "lz4" as "gzip" })).toThrow(/compression "lz4" is not supported; expected one of "zstd", "gzip", "blosc", "none"/);
    expect(() => codecsFor({ compression: "gzip", compressionLevel: 10 }, 'dataset "a"')).toThrow(
      /compressionLevel of dataset "a" for gzip must be an integer from 0 to 9, got 10/,
    );
    expect(() => codecsFor({ compression: "zstd", compressionLevel: 23 })).toThrow(/for zstd must be an integer from -131072 to 22, got 23/);
    expect(() => codecsFor({ compression: "zstd", compressionLevel: 1.5 })).toThrow(ValidationError);
    expect(() => codecsFor({ compression: "blosc", compressionLevel: -1, dataType: "int8" })).toThrow(/for blosc must be an integer from 0 to 9/);
    expect(() => codecsFor({ compressionLevel: 3 })).toThrow(/without a compression/);
    expect(() => codecsFor({ compression: "zstd", shuffle: true })).toThrow(/data type is needed/);
  });
});
