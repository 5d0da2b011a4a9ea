/** The `bytes` array→bytes codec: elements in C order, little or big endian. */
import { allocateTypedArray, bytesPerElement, type TypedArray, typedArrayConstructorFor } from "../dataType.js";
import {
  type ArrayToBytesCodec,
  type CodecContext,
  CodecConfigurationError,
  HOST_IS_BIG_ENDIAN,
  registerCodec,
} from "./registry.js";

function createBytesCodec(configuration: Record<string, unknown> | undefined, context: CodecContext): ArrayToBytesCodec {
  const endian = configuration?.endian ?? "little";
  if (endian !== "little" && endian !== "big") {
    throw new CodecConfigurationError(`endian must be "little" or "big", got ${JSON.stringify(endian)}`);
  }
  const itemSize = bytesPerElement(context.dataType);
  const length = context.chunkShape.reduce((a, b) => a * b, 1);
  const byteLength = length * itemSize;
  const swap = itemSize > 1 && (endian === "big") !== HOST_IS_BIG_ENDIAN;
  const Ctor = typedArrayConstructorFor(context.dataType);
  return {
    kind: "array_to_bytes",
    encode(chunk: TypedArray): Uint8Array {
      const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (!swap) return view;
      const copy = view.slice();
      swapBytes(copy, itemSize);
      return copy;
    },
    decode(bytes: Uint8Array, owned: boolean): TypedArray {
      if (bytes.byteLength !== byteLength) {
        throw new Error(
          `decoded to ${bytes.byteLength} bytes, expected ${byteLength} ` +
            `(chunk shape [${context.chunkShape.join(", ")}] of ${context.dataType})`,
        );
      }
      const exclusive = owned && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      if (exclusive && !swap) return new Ctor(bytes.buffer as ArrayBuffer, 0, length);
      const out = allocateTypedArray(context.dataType, length);
      const outBytes = new Uint8Array(out.buffer);
      outBytes.set(bytes);
      if (swap) swapBytes(outBytes, itemSize);
      return out;
    },
  };
}

function swapBytes(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let lo = i, hi = i + itemSize - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo];
      bytes[lo] = bytes[hi];
      bytes[hi] = t;
    }
  }
}

registerCodec({ name: "bytes", kind: "array_to_bytes", create: createBytesCodec });
