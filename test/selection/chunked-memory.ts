/** Chunked storage simulated in memory for the selection tests: full-size chunks, edge chunks padded. */
import type { TypedArray } from "../../src/selection/index.js";
import { flatIndex, forEachIndex, product } from "./reference.js";

export type ArrayCtor = { new (n: number): TypedArray };

export function gridShapeOf(shape: number[], chunkShape: number[]): number[] {
  return shape.map((n, axis) => Math.ceil(n / chunkShape[axis]));
}

/** Split a flat C-order array into chunks keyed by grid index ("1,0,2"), padding edge chunks with `pad`. */
export function toChunks(
  flat: ArrayLike<unknown>,
  shape: number[],
  chunkShape: number[],
  ctor: ArrayCtor,
  pad: unknown,
): Map<string, TypedArray> {
  const chunks = new Map<string, TypedArray>();
  forEachIndex(gridShapeOf(shape, chunkShape), (grid) => {
    const chunk = new ctor(product(chunkShape));
    (chunk as unknown as { fill(v: unknown): void }).fill(pad);
    forEachIndex(chunkShape, (local) => {
      const global = local.map((i, axis) => grid[axis] * chunkShape[axis] + i);
      if (global.every((g, axis) => g < shape[axis])) {
        (chunk as unknown as unknown[])[flatIndex(local, chunkShape)] = flat[flatIndex(global, shape)];
      }
    });
    chunks.set(grid.join(","), chunk);
  });
  return chunks;
}

/** Reassemble chunks into a flat C-order array (padding dropped). */
export function fromChunks(chunks: Map<string, TypedArray>, shape: number[], chunkShape: number[]): unknown[] {
  const flat = new Array<unknown>(product(shape));
  forEachIndex(shape, (global) => {
    const grid = global.map((g, axis) => Math.floor(g / chunkShape[axis]));
    const local = global.map((g, axis) => g % chunkShape[axis]);
    flat[flatIndex(global, shape)] = (chunks.get(grid.join(","))! as unknown as unknown[])[flatIndex(local, chunkShape)];
  });
  return flat;
}

/** Whether the in-bounds part of a chunk still contains `sentinel` anywhere. */
export function inBoundsContains(
  chunk: TypedArray,
  grid: number[],
  shape: number[],
  chunkShape: number[],
  sentinel: unknown,
): boolean {
  let found = false;
  forEachIndex(chunkShape, (local) => {
    const inBounds = local.every((i, axis) => grid[axis] * chunkShape[axis] + i < shape[axis]);
    if (inBounds && (chunk as unknown as unknown[])[flatIndex(local, chunkShape)] === sentinel) found = true;
  });
  return found;
}
