/**
 * A 2-D selection as an 8-bit RGB PNG (zlib from node:zlib; the CRC table is the PNG spec's): values
 * mapped through a colormap between contrast limits, NaN in magenta.
 */
import { deflateSync } from "node:zlib";
import { ValidationError } from "../errors.js";
import { COLORMAPS, colourAt, NAN_COLOUR } from "./colormaps.js";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Contrast limits: the given min / max, else the 2nd / 98th percentiles of the finite values. */
export function pngLimits(values: ArrayLike<number | bigint | boolean>, min: string | null, max: string | null): [number, number] {
  const given = [min, max].map((v) => (v === null || v === "" ? undefined : Number(v)));
  if (given.some((v) => v !== undefined && !Number.isFinite(v))) throw new ValidationError(`min and max must be finite numbers, got min=${JSON.stringify(min)}, max=${JSON.stringify(max)}`);
  if (given[0] !== undefined && given[1] !== undefined) return [given[0], given[1]];
  const finite = Array.from(values, Number).filter(Number.isFinite).sort((a, b) => a - b);
  const at = (p: number) => (finite.length === 0 ? 0 : finite[Math.min(finite.length - 1, Math.round(p * (finite.length - 1)))]);
  return [given[0] ?? at(0.02), given[1] ?? at(0.98)];
}

export function encodePng(values: ArrayLike<number | bigint | boolean>, height: number, width: number, [lo, hi]: [number, number], colormap: string): Uint8Array {
  if (!(colormap in COLORMAPS)) throw new ValidationError(`colormap must be one of ${Object.keys(COLORMAPS).join(", ")}, got ${JSON.stringify(colormap)}`);
  const rows = new Uint8Array(height * (1 + width * 3));
  for (let i = 0; i < height; i++) {
    const row = i * (1 + width * 3);
    rows[row] = 0; // filter: none
    for (let j = 0; j < width; j++) {
      const v = Number(values[i * width + j]);
      const c = Number.isNaN(v) ? NAN_COLOUR : colourAt(colormap, hi > lo ? (v - lo) / (hi - lo) : 0.5);
      rows.set(c, row + 1 + j * 3);
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const signature = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);
  const parts = [signature, chunk("IHDR", header), chunk("IDAT", new Uint8Array(deflateSync(rows))), chunk("IEND", new Uint8Array())];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
