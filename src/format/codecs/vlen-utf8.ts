/**
 * The `vlen-utf8` array→bytes codec of variable-length `string` arrays, framed as numcodecs'
 * VLenUTF8 (what zarr-python 3 writes): a u32 little-endian item count, then per item (C order)
 * a u32 little-endian byte length and that many bytes of UTF-8.
 */
import { StringArray, type TypedArray } from "../dataType.js";
import { type ArrayToBytesCodec, type CodecContext, CodecConfigurationError, registerCodec } from "./registry.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function createVlenUtf8Codec(_configuration: Record<string, unknown> | undefined, context: CodecContext): ArrayToBytesCodec {
  if (context.dataType !== "string") {
    throw new CodecConfigurationError(`vlen-utf8 encodes data type string, not ${context.dataType}`);
  }
  const length = context.chunkShape.reduce((a, b) => a * b, 1);
  return {
    kind: "array_to_bytes",
    encode(chunk: TypedArray): Uint8Array {
      const items = (chunk as unknown as string[]).map((s) => encoder.encode(s));
      const out = new Uint8Array(4 + items.reduce((n, b) => n + 4 + b.length, 0));
      const view = new DataView(out.buffer);
      view.setUint32(0, items.length, true);
      let at = 4;
      for (const bytes of items) {
        view.setUint32(at, bytes.length, true);
        out.set(bytes, at + 4);
        at += 4 + bytes.length;
      }
      return out;
    },
    decode(bytes: Uint8Array): TypedArray {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const fail = (why: string) => new Error(`vlen-utf8: ${why}`);
      if (bytes.length < 4) throw fail(`${bytes.length} bytes is too short for the item count`);
      const count = view.getUint32(0, true);
      if (count !== length) throw fail(`holds ${count} items, expected ${length} (chunk shape [${context.chunkShape.join(", ")}])`);
      const out = new StringArray();
      let at = 4;
      for (let i = 0; i < count; i++) {
        if (at + 4 > bytes.length) throw fail(`item ${i} starts past the end (${bytes.length} bytes)`);
        const n = view.getUint32(at, true);
        if (at + 4 + n > bytes.length) throw fail(`item ${i} of ${n} bytes runs past the end (${bytes.length} bytes)`);
        try {
          out.push(decoder.decode(bytes.subarray(at + 4, at + 4 + n)));
        } catch {
          throw fail(`item ${i} is not valid UTF-8`);
        }
        at += 4 + n;
      }
      if (at !== bytes.length) throw fail(`${bytes.length - at} bytes left over after ${count} items`);
      return out as unknown as TypedArray;
    },
  };
}

registerCodec({ name: "vlen-utf8", kind: "array_to_bytes", create: createVlenUtf8Codec });
