/**
 * The slabs a transfer moves between an HDF5 dataset and a dosna dataset: blocks of whole dosna
 * chunks (so every chunk is written once, fully covered) of about `slabBytes`, in C order. Only
 * one or two slabs are in memory at a time, so datasets larger than memory move through.
 */
import { product } from "../core/values.js";

export const DEFAULT_SLAB_BYTES = 64 * 1024 * 1024;

/** Strings are planned at this many bytes each (their size is known only once read): a default slab holds about a million. */
export const STRING_ELEMENT_BYTES = 64;

/** [start, stop) per axis. */
export type Region = Array<[number, number]>;

/**
 * The slab shape: the chunk shape, grown along the last axes first (what is contiguous in C
 * order) by whole chunks while the slab stays within `slabBytes`; never smaller than one chunk.
 */
export function slabShapeOf(shape: readonly number[], chunks: readonly number[], elementBytes: number, slabBytes = DEFAULT_SLAB_BYTES): number[] {
  const slab = shape.map((n, a) => Math.max(1, Math.min(n, chunks[a])));
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const bytes = product(slab) * elementBytes;
    const fits = Math.floor(slabBytes / bytes);
    if (fits < 2) break;
    const chunksAlong = Math.ceil(shape[axis] / slab[axis]);
    const factor = Math.min(fits, chunksAlong);
    slab[axis] = Math.min(shape[axis], slab[axis] * factor);
    if (factor < chunksAlong) break;
  }
  return slab;
}

/** The slabs covering `shape`, in C order (none when any axis is empty). */
export function* slabRegions(shape: readonly number[], slab: readonly number[]): Generator<Region> {
  if (shape.some((n) => n === 0)) return;
  const counts = shape.map((n, a) => Math.ceil(n / slab[a]));
  const index = shape.map(() => 0);
  for (;;) {
    yield index.map((i, a) => [i * slab[a], Math.min(shape[a], (i + 1) * slab[a])] as [number, number]);
    let axis = shape.length - 1;
    while (axis >= 0 && ++index[axis] === counts[axis]) index[axis--] = 0;
    if (axis < 0) return;
  }
}

export function regionSize(region: Region): number {
  return region.reduce((n, [start, stop]) => n * (stop - start), 1);
}
