/**
 * The Fill Value message decoder (HDF5 File Format Specification IV.A.2.f/g), on messages built
 * byte by byte from the specification: versions 1 and 2 (a "defined" byte, then size and value),
 * version 3 (flag bit 5 says a value follows), and the old message 0x0004. Whole files (object
 * header versions 1 and 2, as h5py writes them) are covered by import.test.ts.
 */
import { describe, expect, it } from "vitest";
import { addressOfReference, decodeFillMessage } from "../../src/hdf5/fill-value.js";

const int16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];

describe("decodeFillMessage", () => {
  it("reads a defined value from versions 1 and 2", () => {
    for (const version of [1, 2]) {
      const body = Uint8Array.from([version, 2, 2, 1, ...u32(2), ...int16(-7)]);
      expect(Array.from(decodeFillMessage(5, body)!)).toEqual(int16(-7));
    }
  });

  it("reads nothing when versions 1 and 2 say undefined, or give a size of zero", () => {
    expect(decodeFillMessage(5, Uint8Array.from([2, 2, 2, 0]))).toBeUndefined();
    expect(decodeFillMessage(5, Uint8Array.from([2, 2, 2, 1, ...u32(0)]))).toBeUndefined();
  });

  it("reads version 3 by its flags", () => {
    const withValue = Uint8Array.from([3, 0x20 | (2 << 2) | 2, ...u32(4), 0, 0, 0xc0, 0x7f]);
    expect(Array.from(decodeFillMessage(5, withValue)!)).toEqual([0, 0, 0xc0, 0x7f]);
    expect(decodeFillMessage(5, Uint8Array.from([3, 0x10 | 2]))).toBeUndefined();
    expect(decodeFillMessage(5, Uint8Array.from([3, 2]))).toBeUndefined();
  });

  it("reads the old message, and ignores versions it does not know", () => {
    expect(Array.from(decodeFillMessage(4, Uint8Array.from([...u32(1), 0x2a]))!)).toEqual([0x2a]);
    expect(decodeFillMessage(4, Uint8Array.from(u32(0)))).toBeUndefined();
    expect(decodeFillMessage(5, Uint8Array.from([9, 0, 0, 1, ...u32(1), 1]))).toBeUndefined();
  });
});

describe("addressOfReference", () => {
  it("reads an H5R_OBJECT reference as a little-endian address", () => {
    expect(addressOfReference(Uint8Array.from([0x08, 0x33, 0, 0, 0, 0, 0, 0]))).toBe(0x3308n);
    expect(addressOfReference(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x80]))).toBe(2n ** 63n);
  });
});
