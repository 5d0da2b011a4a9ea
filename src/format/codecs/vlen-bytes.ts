/**
 * The `vlen-bytes` array→bytes codec of variable-length `bytes` arrays, framed as numcodecs'
 * VLenBytes (what zarr-python writes, v2 and v3): a u32 little-endian item count, then per item
 * (C order) a u32 little-endian byte length and that many bytes. Decoded elements are copies, each
 * its own Uint8Array (the stored bytes may sit in a reused read buffer).
 */
import { BytesArray, type TypedArray } from "../dataType.js";
import { type ArrayToBytesCodec, type CodecContext, CodecConfigurationError, registerCodec } from "./registry.js";
import { decodeVlenFrame, encodeVlenFrame } from "./vlen-frame.js";

function createVlenBytesCodec(_configuration: Record<string, unknown> | undefined, context: CodecContext): ArrayToBytesCodec {
  if (context.dataType !== "bytes") {
    throw new CodecConfigurationError(`vlen-bytes encodes data type bytes, not ${context.dataType}`);
  }
  const length = context.chunkShape.reduce((a, b) => a * b, 1);
  return {
    kind: "array_to_bytes",
    encode(chunk: TypedArray): Uint8Array {
      return encodeVlenFrame(chunk as unknown as Uint8Array[]);
    },
    decode(bytes: Uint8Array): TypedArray {
      const out = new BytesArray();
      for (const item of decodeVlenFrame(bytes, length, "vlen-bytes", context.chunkShape)) out.push(item.slice());
      return out as unknown as TypedArray;
    },
  };
}

registerCodec({ name: "vlen-bytes", kind: "array_to_bytes", create: createVlenBytesCodec });
