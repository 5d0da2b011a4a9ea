import { ShapeError } from "../errors.js";
import type { AxisSelection, NormalisedSelection } from "./types.js";

/**
 * What one chunk contributes along one axis. Positions on the selection side are along the
 * selection-shaped buffer (int axes have size 1 there, so their position is 0).
 *
 * - run: chunk positions `chunkStart + i*chunkStep` go to selection positions `outStart + i`,
 *   `0 <= i < count` (chunkStep may be negative, or 0 for a repeated index)
 * - points: chunk position `chunkIndices[i]` goes to selection position `outIndices[i]`, with
 *   outIndices increasing (so repeated indices are written last-wins, as numpy does)
 */
export type AxisProjection =
  | { kind: "run"; gridIndex: number; chunkStart: number; chunkStep: number; outStart: number; count: number }
  | { kind: "points"; gridIndex: number; chunkIndices: Int32Array; outIndices: Int32Array; count: number };

export interface ChunkProjection {
  /** Chunk coordinates in the chunk grid. */
  gridIndex: number[];
  /** One per array axis. */
  axes: AxisProjection[];
  /** Every element of the chunk that lies inside the array bounds is selected: a write needs no read first. */
  coversChunk: boolean;
  /** Number of selection elements taken from this chunk (a repeated index counts each time). */
  count: number;
}

/** Number of chunks along each axis (ceiling division). */
export function chunkGridShape(shape: readonly number[], chunkShape: readonly number[]): number[] {
  checkChunkShape(shape, chunkShape);
  return shape.map((n, axis) => Math.ceil(n / chunkShape[axis]));
}

/** The chunks a selection touches, each once, in C order of their grid index. */
export function planChunks(
  sel: NormalisedSelection,
  shape: readonly number[],
  chunkShape: readonly number[],
): ChunkProjection[] {
  checkChunkShape(shape, chunkShape);
  if (sel.axes.length !== shape.length) {
    throw new ShapeError(`selection has ${sel.axes.length} axes but the array shape [${shape.join(", ")}] has ${shape.length}`);
  }
  const perAxis: AxisPlan[][] = sel.axes.map((a, axis) => planAxis(a, chunkShape[axis]));
  if (perAxis.some((list) => list.length === 0)) return [];

  const result: ChunkProjection[] = [];
  const ndim = shape.length;
  const cursor = new Array<number>(ndim).fill(0);
  for (;;) {
    const axes: AxisProjection[] = new Array(ndim);
    let count = 1;
    let coversChunk = true;
    for (let axis = 0; axis < ndim; axis++) {
      const p = perAxis[axis][cursor[axis]];
      axes[axis] = p.projection;
      count *= p.projection.count;
      coversChunk &&= p.covers;
    }
    result.push({ gridIndex: axes.map((a) => a.gridIndex), axes, coversChunk, count });
    let axis = ndim - 1;
    for (; axis >= 0; axis--) {
      if (++cursor[axis] < perAxis[axis].length) break;
      cursor[axis] = 0;
    }
    if (axis < 0) return result;
  }
}

interface AxisPlan {
  projection: AxisProjection;
  /** Every position of this chunk along this axis is selected (its whole extent, past the array's edge too). */
  covers: boolean;
}

/** The chunks touched along one axis, in increasing grid index. */
function planAxis(a: AxisSelection, chunkSize: number): AxisPlan[] {
  // A write covers a chunk only when it selects the chunk's whole extent, also at the array's edge:
  // the part of an edge chunk past this handle's shape may hold rows another writer appended after
  // growing the array (so an edge chunk is read, patched and written conditionally, never replaced).
  const extentOf = (_c: number) => chunkSize;
  if (a.kind === "int") {
    const c = Math.floor(a.index / chunkSize);
    const projection: AxisProjection = {
      kind: "run", gridIndex: c, chunkStart: a.index - c * chunkSize, chunkStep: 1, outStart: 0, count: 1,
    };
    return [{ projection, covers: extentOf(c) === 1 }];
  }
  if (a.kind === "slice") return planSliceAxis(a.start, a.step, a.count, chunkSize, extentOf);
  return planPointsAxis(a.indices, chunkSize, extentOf);
}

function planSliceAxis(
  start: number,
  step: number,
  count: number,
  chunkSize: number,
  extentOf: (c: number) => number,
): AxisPlan[] {
  const plans: AxisPlan[] = [];
  // Walk the touched chunks only (a large step can skip many), one chunk per iteration.
  for (let i = 0; i < count; ) {
    const position = start + i * step;
    const c = Math.floor(position / chunkSize);
    const lastInChunk =
      step > 0 ? Math.floor(((c + 1) * chunkSize - 1 - start) / step) : Math.floor((start - c * chunkSize) / -step);
    const n = Math.min(count - 1, lastInChunk) - i + 1;
    const projection: AxisProjection = {
      kind: "run", gridIndex: c, chunkStart: position - c * chunkSize, chunkStep: step, outStart: i, count: n,
    };
    // Slices never repeat a position, so n distinct positions cover the chunk iff n equals its extent.
    plans.push({ projection, covers: n === extentOf(c) });
    i += n;
  }
  if (step < 0) plans.reverse();
  return plans;
}

function planPointsAxis(
  indices: Int32Array | Float64Array,
  chunkSize: number,
  extentOf: (c: number) => number,
): AxisPlan[] {
  // Group selection positions by chunk (a counting sort keyed by chunk, stable in i).
  const chunkOf = new Float64Array(indices.length);
  const sizes = new Map<number, number>();
  for (let i = 0; i < indices.length; i++) {
    const c = Math.floor(indices[i] / chunkSize);
    chunkOf[i] = c;
    sizes.set(c, (sizes.get(c) ?? 0) + 1);
  }
  const chunks = [...sizes.keys()].sort((x, y) => x - y);
  const groups = new Map<number, { chunkIndices: Int32Array; outIndices: Int32Array; filled: number }>();
  for (const c of chunks) {
    const n = sizes.get(c)!;
    groups.set(c, { chunkIndices: new Int32Array(n), outIndices: new Int32Array(n), filled: 0 });
  }
  for (let i = 0; i < indices.length; i++) {
    const c = chunkOf[i];
    const g = groups.get(c)!;
    g.chunkIndices[g.filled] = indices[i] - c * chunkSize;
    g.outIndices[g.filled] = i;
    g.filled++;
  }
  return chunks.map((c) => {
    const g = groups.get(c)!;
    const extent = extentOf(c);
    return { projection: asRunIfRegular(c, g.chunkIndices, g.outIndices), covers: coversExtent(g.chunkIndices, extent) };
  });
}

/** Points with consecutive selection positions and evenly spaced chunk positions become a run, for the fast copy paths. */
function asRunIfRegular(gridIndex: number, chunkIndices: Int32Array, outIndices: Int32Array): AxisProjection {
  const n = chunkIndices.length;
  const chunkStep = n > 1 ? chunkIndices[1] - chunkIndices[0] : 1;
  let regular = true;
  for (let i = 1; i < n && regular; i++) {
    regular = chunkIndices[i] - chunkIndices[i - 1] === chunkStep && outIndices[i] - outIndices[i - 1] === 1;
  }
  if (regular) {
    return { kind: "run", gridIndex, chunkStart: chunkIndices[0], chunkStep, outStart: outIndices[0], count: n };
  }
  return { kind: "points", gridIndex, chunkIndices, outIndices, count: n };
}

function coversExtent(chunkIndices: Int32Array, extent: number): boolean {
  if (chunkIndices.length < extent) return false;
  const seen = new Uint8Array(extent);
  let distinct = 0;
  for (let i = 0; i < chunkIndices.length; i++) {
    const p = chunkIndices[i];
    if (seen[p] === 0) {
      seen[p] = 1;
      distinct++;
    }
  }
  return distinct === extent;
}

function checkChunkShape(shape: readonly number[], chunkShape: readonly number[]): void {
  if (chunkShape.length !== shape.length) {
    throw new ShapeError(
      `chunk shape [${chunkShape.join(", ")}] has ${chunkShape.length} axes but the array shape [${shape.join(", ")}] has ${shape.length}`,
    );
  }
  for (let axis = 0; axis < chunkShape.length; axis++) {
    const n = chunkShape[axis];
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new ShapeError(`chunk shape [${chunkShape.join(", ")}] has ${n} on axis ${axis}; expected positive integers`);
    }
  }
}
