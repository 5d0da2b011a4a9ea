/**
 * Calling a registered function on one chunk, with its result checked: a worker that returns the
 * wrong shape or data type fails naming the function, the chunk, what was expected and what it got.
 */
import type { NdArray } from "ndarray";
import { ComputeError } from "../errors.js";
import { dataTypeOfTypedArray, type DataType, type TypedArray, typedArrayConstructorFor } from "../format/index.js";
import type { ChunkTransform } from "../core/dataset.js";
import type { WritableValue } from "../core/values.js";
import type { ChunkContext, RegisteredFunction } from "./registry.js";

export interface ArrayFacts {
  /** The dataset, for messages ('array "/a" in pool "p"'). */
  describe: string;
  shape: readonly number[];
  dtype: DataType;
  /** Inner chunk shape (the grain functions see). */
  chunks: readonly number[];
}

/** A function returned something that is not a chunk of the right shape and type: final, retrying cannot help. */
export class ChunkResultError extends ComputeError {}

/** A ChunkTransform running `fn` with `params`, its results checked. `where` names the worker for messages. */
export function checkedTransform(name: string, fn: RegisteredFunction, params: unknown, array: ArrayFacts, where: string): ChunkTransform {
  return async (chunk, gridIndex) => {
    const context = chunkContext(array, gridIndex);
    let result: WritableValue;
    try {
      result = await fn(chunk, params, context);
    } catch (error) {
      throw new ComputeError(`function "${name}" threw on chunk [${gridIndex}] of ${array.describe} (${where}): ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    checkChunkResult(result, chunk.shape, array.dtype, () => `function "${name}" on chunk [${gridIndex}] of ${array.describe} (${where})`);
    return result;
  };
}

export function chunkContext(array: ArrayFacts, gridIndex: readonly number[]): ChunkContext {
  return { gridIndex, origin: gridIndex.map((g, a) => g * array.chunks[a]), shape: array.shape, dtype: array.dtype };
}

/** A result must be a scalar, or an ndarray / typed array of exactly the chunk's shape and data type. */
export function checkChunkResult(result: unknown, shape: readonly number[], dtype: DataType, what: () => string): void {
  if (typeof result === "number" || typeof result === "bigint" || typeof result === "boolean") return;
  const expected = `${dtype} of shape [${shape}]`;
  const Expected = typedArrayConstructorFor(dtype);
  // float16 values also come as float32 (what runtimes without Float16Array hold them in)
  const isExpected = (data: unknown) => data instanceof Expected || (dtype === "float16" && data instanceof Float32Array);
  if (ArrayBuffer.isView(result) && !(result instanceof DataView)) {
    const length = shape.reduce((a, b) => a * b, 1);
    if (!isExpected(result)) throw new ChunkResultError(`${what()} returned a ${describeTyped(result as TypedArray)}: expected ${expected}`);
    if ((result as TypedArray).length !== length) throw new ChunkResultError(`${what()} returned ${(result as TypedArray).length} elements: expected ${expected} (${length} elements)`);
    return;
  }
  if (isNdArray(result)) {
    const got = `${ArrayBuffer.isView(result.data) ? describeTyped(result.data as TypedArray) : "array"} of shape [${result.shape}]`;
    if (!isExpected(result.data) || result.shape.length !== shape.length || result.shape.some((n, a) => n !== shape[a])) {
      throw new ChunkResultError(`${what()} returned ${got}: expected ${expected}`);
    }
    return;
  }
  throw new ChunkResultError(`${what()} returned ${result === null ? "null" : Array.isArray(result) ? "a plain array" : typeof result}: expected ${expected} (an ndarray or typed array) or a scalar`);
}

function describeTyped(array: TypedArray): string {
  try {
    return dataTypeOfTypedArray(array);
  } catch {
    return array.constructor.name;
  }
}

function isNdArray(value: unknown): value is NdArray<TypedArray> {
  return typeof value === "object" && value !== null && Array.isArray((value as NdArray).shape) && "data" in value && "stride" in value;
}
