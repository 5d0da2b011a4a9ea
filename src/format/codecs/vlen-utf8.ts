/**
 * The `vlen-utf8` array→bytes codec of variable-length `string` arrays, framed as numcodecs'
 * VLenUTF8 (what zarr-python 3 writes): a u32 little-endian item count, then per item (C order)
 * a u32 little-endian byte length and that many bytes of UTF-8.
 */
import { StringArray, type TypedArray } from "../dataType.js";
import { type ArrayToBytesCodec, type CodecContext, CodecConfigurationError, registerCodec } from "./registry.js";
import { decodeVlenFrame, encodeVlenFrame } from "./vlen-frame.js";

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
      return encodeVlenFrame((chunk as unknown as string[]).map((s) => encoder.encode(s)));
    },
    decode(bytes: Uint8Array): TypedArray {
      const out = new StringArray();
      for (const [i, item] of decodeVlenFrame(bytes, length, "vlen-utf8", context.chunkShape).entries()) {
        try {
          out.push(decoder.decode(item));
        } catch {
          throw new Error(`vlen-utf8: item ${i} is not valid UTF-8`);
        }
      }
      return out as unknown as TypedArray;
    },
  };
}

registerCodec({ name: "vlen-utf8", kind: "array_to_bytes", create: createVlenUtf8Codec });
