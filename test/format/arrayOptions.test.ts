import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { bytesPerElement, codecsFor, DATA_TYPES, DEFAULT_CHUNK_BYTES, resolveChunkShape, validateShape } from "../../src/format/index.js";

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
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }), fc.constantFrom(...DATA_TYPES), (shape, dt) => {
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
  it("bytes, then gzip at the requested level (5 by default)", () => {
    const bytes = { name: "bytes", configuration: { endian: "little" } };
    expect(codecsFor({})).toEqual([bytes]);
    expect(codecsFor({ compression: null })).toEqual([bytes]);
    expect(codecsFor({ compression: "none" })).toEqual([bytes]);
    expect(codecsFor({ compression: "gzip" })).toEqual([bytes, { name: "gzip", configuration: { level: 5 } }]);
    expect(codecsFor({ compression: "gzip", compressionLevel: 9 })).toEqual([bytes, { name: "gzip", configuration: { level: 9 } }]);
  });
  it("rejects unknown compressions and bad levels", () => {
    expect(() => codecsFor({ compression: "zstd" as "gzip" })).toThrow(/compression "zstd" is not supported; expected one of "gzip", "none"/);
    expect(() => codecsFor({ compression: "gzip", compressionLevel: 10 })).toThrow(ValidationError);
    expect(() => codecsFor({ compressionLevel: 3 })).toThrow(/without a compression/);
  });
});
