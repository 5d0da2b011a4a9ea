/**
 * The element conversions of HDF5 transfers (pure): float16 bytes ⇄ the values dosna holds, from
 * whatever typed array `ds.get` returns for float16 (float32 values, or 2-byte elements as a
 * Float16Array has); h5py's complex compound bytes ⇄ dosna's interleaved [re, im], in numpy's
 * layout and in any other member order or padding. Whole files are covered by import.test.ts and
 * export.test.ts.
 */
import { describe, expect, it } from "vitest";
import { float16BitsToFloat32 } from "../../src/format/index.js";
import { complexBytes, complexFromBytes, float16Bytes, float16FromBytes } from "../../src/hdf5/elements.js";

const ALL_HALVES = Uint16Array.from({ length: 65536 }, (_, i) => i);

describe("float16Bytes and float16FromBytes", () => {
  it("give back every binary16 bit pattern through float32 values, NaN payloads included", () => {
    const values = float16FromBytes(new Uint8Array(ALL_HALVES.slice().buffer));
    expect(Array.from(values.slice(0x3c00, 0x3c02))).toEqual([1, 1 + 2 ** -10]);
    expect(Object.is(values[0x8000], -0)).toBe(true);
    expect(new Uint16Array(float16Bytes(values).slice().buffer)).toEqual(ALL_HALVES);
  });

  it("take a 2-byte typed array (what a Float16Array is) as the bits themselves", () => {
    const halves = (globalThis as { Float16Array?: new (values: number[]) => ArrayLike<number> }).Float16Array;
    // where the platform has no Float16Array, a Uint16Array of the same bytes stands in for one
    const input = halves ? new halves([1, -2.5, Number.NaN]) : Uint16Array.from([0x3c00, 0xc100, 0x7e00]);
    expect(Array.from(new Uint16Array(float16Bytes(input).slice().buffer))).toEqual([0x3c00, 0xc100, 0x7e00]);
  });

  it("round plain numbers to the nearest float16", () => {
    expect(Array.from(new Uint16Array(float16Bytes([0.1, 65520, 1e-8]).slice().buffer))).toEqual([0x2e66, 0x7c00, 0x0000]);
  });

  it("read bytes at an odd offset", () => {
    const bytes = new Uint8Array(5);
    bytes.set([0x00, 0x3c, 0x00, 0xc1], 1);
    expect(Array.from(float16FromBytes(bytes.subarray(1)))).toEqual([1, -2.5]);
    expect(Array.from(float16BitsToFloat32(Uint16Array.of(0x7bff)))).toEqual([65504]);
  });
});

describe("complexFromBytes and complexBytes", () => {
  const parts = Float64Array.from([1.5, -2, Number.NaN, Infinity, -0, 1e-300]);

  it("view numpy's layout ({r, i}, no padding) as the interleaved parts, and write it back byte for byte", () => {
    const bytes = new Uint8Array(parts.slice().buffer);
    const read = complexFromBytes(bytes, { partBytes: 8, realOffset: 0, imagOffset: 8, elementBytes: 16 }, 3);
    expect(Array.from(read)).toEqual(Array.from(parts));
    expect(complexBytes(read)).toEqual(bytes);
    const single = Float32Array.from([0.5, -0.25]);
    expect(Array.from(complexFromBytes(new Uint8Array(single.buffer), { partBytes: 4, realOffset: 0, imagOffset: 4, elementBytes: 8 }, 1))).toEqual([0.5, -0.25]);
  });

  it("read any other member order and padding", () => {
    // {i: float32 at 0, 4 bytes of padding, r: float32 at 8}: 12 bytes an element
    const bytes = new Uint8Array(24);
    const view = new DataView(bytes.buffer);
    [[1, 2], [-3, 4.5]].forEach(([re, im], k) => {
      view.setFloat32(12 * k, im, true);
      view.setFloat32(12 * k + 8, re, true);
    });
    expect(Array.from(complexFromBytes(bytes, { partBytes: 4, realOffset: 8, imagOffset: 0, elementBytes: 12 }, 2))).toEqual([1, 2, -3, 4.5]);
  });
});
