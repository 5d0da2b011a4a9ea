/**
 * The `transpose` array→array codec: stores a chunk with its axes permuted, as numpy's
 * `chunk.transpose(order)` (encoded axis k is decoded axis order[k]). `"C"` and `"F"` orders,
 * from an early draft of the spec that zarrita still reads, are accepted too.
 */
import { allocateTypedArray, elementLanes, type TypedArray } from "../dataType.js";
import { type ArrayToArrayCodec, type CodecContext, CodecConfigurationError, registerCodec } from "./registry.js";

function createTransposeCodec(configuration: Record<string, unknown> | undefined, context: CodecContext): ArrayToArrayCodec {
  const order = parseOrder(configuration?.order, context.chunkShape.length);
  const shape = context.chunkShape;
  const cStrides = stridesOf(shape);
  const encodedShape = order.map((axis) => shape[axis]);
  // Walking the encoded array in C order, the decoded offset moves by these strides.
  const decodedStrides = order.map((axis) => cStrides[axis]);
  const length = shape.reduce((a, b) => a * b, 1);
  const identity = order.every((axis, k) => axis === k);
  const lanes = elementLanes(context.dataType);
  return {
    kind: "array_to_array",
    encode(chunk: TypedArray): TypedArray {
      if (identity) return chunk;
      const out = allocateTypedArray(context.dataType, length);
      permute(chunk, out, encodedShape, decodedStrides, "gather", lanes);
      return out;
    },
    decode(chunk: TypedArray): TypedArray {
      if (identity) return chunk;
      const out = allocateTypedArray(context.dataType, length);
      permute(chunk, out, encodedShape, decodedStrides, "scatter", lanes);
      return out;
    },
    encodedContext(current: CodecContext): CodecContext {
      return { ...current, chunkShape: encodedShape };
    },
  };
}

function parseOrder(value: unknown, ndim: number): number[] {
  const range = [...Array(ndim).keys()];
  if (value === "C") return range;
  if (value === "F") return range.reverse();
  const valid =
    Array.isArray(value) &&
    value.length === ndim &&
    value.every((axis) => Number.isInteger(axis) && axis >= 0 && axis < ndim) &&
    new Set(value).size === ndim;
  if (!valid) {
    throw new CodecConfigurationError(
      `order must be a permutation of [${range.join(", ")}] (one entry per axis of the ${ndim}-d chunk), got ${JSON.stringify(value)}`,
    );
  }
  return value as number[];
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

/**
 * An unsigned integer view of a chunk's memory and the number of its words per element. Copying
 * words, not values, keeps every bit (a float NaN read into a JS number may lose its payload).
 */
function wordsOf(chunk: TypedArray, lanes: number): [Uint8Array | Uint16Array | Uint32Array, number] {
  const itemSize = chunk.BYTES_PER_ELEMENT * lanes;
  const { buffer, byteOffset, byteLength } = chunk;
  if (itemSize === 1) return [new Uint8Array(buffer, byteOffset, byteLength), 1];
  if (itemSize === 2) return [new Uint16Array(buffer, byteOffset, byteLength / 2), 1];
  return [new Uint32Array(buffer, byteOffset, byteLength / 4), itemSize / 4];
}

/**
 * Walks the encoded array (`shape`) in C order while the decoded offset moves by `strides`:
 * "gather" reads the decoded `src` into the encoded `dst`, "scatter" writes the encoded `src`
 * into the decoded `dst`.
 */
function permute(src: TypedArray, dst: TypedArray, shape: readonly number[], strides: readonly number[], mode: "gather" | "scatter", lanes: number): void {
  if (shape.some((n) => n === 0)) return;
  const [from, words] = wordsOf(src, lanes);
  const [to] = wordsOf(dst, lanes);
  const last = shape.length - 1;
  const inner = shape[last];
  const innerStride = strides[last];
  const index = new Array<number>(shape.length).fill(0);
  let e = 0;
  let base = 0;
  for (;;) {
    // element e of the encoded array is element d of the decoded one
    if (words === 1 && mode === "gather") {
      for (let i = 0, d = base; i < inner; i++, d += innerStride) to[e++] = from[d];
    } else if (words === 1) {
      for (let i = 0, d = base; i < inner; i++, d += innerStride) to[d] = from[e++];
    } else {
      for (let i = 0, d = base; i < inner; i++, d += innerStride, e++) {
        const [target, source] = mode === "gather" ? [e * words, d * words] : [d * words, e * words];
        for (let w = 0; w < words; w++) to[target + w] = from[source + w];
      }
    }
    let axis = last - 1;
    for (; axis >= 0; axis--) {
      index[axis]++;
      base += strides[axis];
      if (index[axis] < shape[axis]) break;
      base -= strides[axis] * shape[axis];
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

registerCodec({ name: "transpose", kind: "array_to_array", create: createTransposeCodec });
