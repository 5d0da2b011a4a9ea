/**
 * numcodecs' VLenUTF8 / VLenBytes framing, shared by the `vlen-utf8` and `vlen-bytes` codecs: a
 * u32 little-endian item count, then per item (C order) a u32 little-endian byte length and that
 * many bytes.
 */

/** The frame holding `items` in order. */
export function encodeVlenFrame(items: readonly Uint8Array[]): Uint8Array {
  let size = 4;
  for (const bytes of items) size += 4 + bytes.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, items.length, true);
  let at = 4;
  for (const bytes of items) {
    view.setUint32(at, bytes.byteLength, true);
    out.set(bytes, at + 4);
    at += 4 + bytes.byteLength;
  }
  return out;
}

/**
 * The items of a frame as views into `bytes` (copy them to keep them), checked to be exactly
 * `expected` items filling the frame; errors start with `codec` and name the chunk shape.
 */
export function decodeVlenFrame(bytes: Uint8Array, expected: number, codec: string, chunkShape: readonly number[]): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string) => new Error(`${codec}: ${why}`);
  if (bytes.length < 4) throw fail(`${bytes.length} bytes is too short for the item count`);
  const count = view.getUint32(0, true);
  if (count !== expected) throw fail(`holds ${count} items, expected ${expected} (chunk shape [${chunkShape.join(", ")}])`);
  const items: Uint8Array[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) throw fail(`item ${i} starts past the end (${bytes.length} bytes)`);
    const n = view.getUint32(at, true);
    if (at + 4 + n > bytes.length) throw fail(`item ${i} of ${n} bytes runs past the end (${bytes.length} bytes)`);
    items.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (at !== bytes.length) throw fail(`${bytes.length - at} bytes left over after ${count} items`);
  return items;
}
