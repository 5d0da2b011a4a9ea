/**
 * The `bytes` array→bytes codec: elements in C order, little or big endian. float16 held as a
 * Float16Array is viewed or copied like any typed array; held as float32 (runtimes without
 * Float16Array) it is converted from/to that form here. Complex parts are byte-swapped one part at
 * a time.
 */
import { allocateTypedArray, elementLanes, isVariableLengthType, type TypedArray, typedArrayConstructorFor } from "../dataType.js";
import { float16BitsToFloat32, float32ToFloat16Bits, hasNativeFloat16 } from "../float16.js";
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
  if (isVariableLengthType(context.dataType)) {
    throw new CodecConfigurationError(`data type ${context.dataType} is stored with ${context.dataType === "string" ? "vlen-utf8" : "vlen-bytes"}, not bytes`);
  }
  // float16 in a Float32Array: converted element by element; in a Float16Array: bytes as they are
  const half = context.dataType === "float16" && !hasNativeFloat16();
  const Ctor = typedArrayConstructorFor(context.dataType);
  // The unit whose bytes are swapped: one number (a complex element is two).
  const wordSize = context.dataType === "float16" ? 2 : Ctor.BYTES_PER_ELEMENT;
  const length = context.chunkShape.reduce((a, b) => a * b, 1);
  const entries = length * elementLanes(context.dataType);
  const byteLength = entries * wordSize;
  const swap = wordSize > 1 && (endian === "big") !== HOST_IS_BIG_ENDIAN;
  return {
    kind: "array_to_bytes",
    encode(chunk: TypedArray): Uint8Array {
      if (half) {
        const halves = float32ToFloat16Bits(chunk as Float32Array);
        const bytes = new Uint8Array(halves.buffer);
        if (swap) swapBytes(bytes, wordSize);
        return bytes;
      }
      const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (!swap) return view;
      const copy = view.slice();
      swapBytes(copy, wordSize);
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
      if (half) {
        const own = exclusive ? bytes : bytes.slice(); // a copy is aligned for the Uint16Array view
        if (swap) swapBytes(own, wordSize);
        return float16BitsToFloat32(new Uint16Array(own.buffer, own.byteOffset, entries));
      }
      // Owned bytes are viewed where the alignment allows (a shard's inner chunk is a slice of one read); a
      // slice of 4 KiB or more is never of Node's shared Buffer pool, which only serves smaller allocations.
      if (owned && !swap && bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 && (exclusive || bytes.byteLength >= 4096)) return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, entries);
      const out = allocateTypedArray(context.dataType, length);
      const outBytes = new Uint8Array(out.buffer);
      outBytes.set(bytes);
      if (swap) swapBytes(outBytes, wordSize);
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
