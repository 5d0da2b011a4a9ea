import { DtypeError, ShapeError } from "../errors.js";
import type { ChunkProjection } from "./plan.js";
import { cOrderStrides, type StridedView } from "./strides.js";
import type { TypedArray } from "./types.js";

/**
 * Copy the selected part of one decoded chunk (C order, full chunk shape) into a selection-shaped view.
 *
 * An element may span several entries of the typed array ("lanes": complex [re, im] pairs), told by
 * the chunk holding that many entries per chunk-shape element. Chunk offsets then count elements,
 * while the view's offset and strides count entries, and each element's lanes are contiguous in both.
 */
export function copyChunkToSelection(
  chunk: TypedArray,
  chunkShape: readonly number[],
  dest: StridedView<TypedArray>,
  proj: ChunkProjection,
): void {
  const lanes = checkOperands(chunk, chunkShape, dest, proj);
  const plan = buildLoops(chunkShape, dest, proj, "chunkToView", lanes);
  runLoops(plan, chunk as unknown as ElementArray, dest.data as unknown as ElementArray);
}

/**
 * Copy values from a selection-shaped view (strides may be 0 to broadcast) into the selected part
 * of one chunk. Repeated indices are written in selection order, so the last one wins as in numpy.
 */
export function copySelectionToChunk(
  src: StridedView<TypedArray>,
  chunk: TypedArray,
  chunkShape: readonly number[],
  proj: ChunkProjection,
): void {
  const lanes = checkOperands(chunk, chunkShape, src, proj);
  const plan = buildLoops(chunkShape, src, proj, "viewToChunk", lanes);
  runLoops(plan, src.data as unknown as ElementArray, chunk as unknown as ElementArray);
}

/**
 * Set the selected part of one chunk's region of a selection-shaped view to `element` (a typed
 * array of one entry, the view's type): what a chunk that is not stored reads as, without copying
 * a chunk of fill values.
 */
export function fillSelectionFromElement(
  element: TypedArray,
  chunkShape: readonly number[],
  dest: StridedView<TypedArray>,
  proj: ChunkProjection,
): void {
  if (element.constructor !== dest.data.constructor || element.length !== 1) {
    throw new DtypeError(`a fill needs one ${dest.data.constructor.name} entry, got ${element.length} of ${element.constructor.name}`);
  }
  if (proj.axes.length !== chunkShape.length || dest.strides.length !== chunkShape.length) {
    throw new ShapeError(`chunk shape [${chunkShape.join(", ")}], chunk projection (${proj.axes.length} axes) and view strides (${dest.strides.length}) must have the same number of axes`);
  }
  const plan = buildLoops(chunkShape, dest, proj, "chunkToView", 1);
  // Every element comes from entry 0: no step and no offsets on the source side.
  plan.srcBase = 0;
  for (const loop of plan.loops) {
    loop.srcStep = 0;
    if (loop.srcOffsets !== null) loop.srcOffsets = new Float64Array(loop.count);
  }
  runLoops(plan, element as unknown as ElementArray, dest.data as unknown as ElementArray);
}

/** The element access every typed array shares; lets one kernel serve number and bigint arrays alike. */
interface ElementArray {
  [index: number]: unknown;
  readonly length: number;
  set(array: ArrayLike<unknown>, offset?: number): void;
  subarray(begin?: number, end?: number): ElementArray;
  fill(value: unknown, start?: number, end?: number): unknown;
}

/** One nested loop of the copy: a strided run, or an explicit list of offsets (index arrays). */
interface Loop {
  count: number;
  srcStep: number;
  dstStep: number;
  /** Present for index-array axes: per-iteration element offsets instead of steps. */
  srcOffsets: Float64Array | null;
  dstOffsets: Float64Array | null;
}

interface LoopPlan {
  srcBase: number;
  dstBase: number;
  loops: Loop[];
}

function buildLoops(
  chunkShape: readonly number[],
  view: StridedView<TypedArray>,
  proj: ChunkProjection,
  direction: "chunkToView" | "viewToChunk",
  lanes: number,
): LoopPlan {
  const chunkStrides = cOrderStrides(chunkShape).map((s) => s * lanes);
  let chunkBase = 0;
  let viewBase = view.offset;
  const loops: Loop[] = [];
  for (let axis = 0; axis < chunkShape.length; axis++) {
    const a = proj.axes[axis];
    const cs = chunkStrides[axis];
    const vs = view.strides[axis];
    let chunkOffsets: Float64Array | null = null;
    let viewOffsets: Float64Array | null = null;
    let chunkStep = 0;
    if (a.kind === "run") {
      chunkBase += a.chunkStart * cs;
      viewBase += a.outStart * vs;
      chunkStep = a.chunkStep * cs;
    } else if (a.count === 1) {
      chunkBase += a.chunkIndices[0] * cs;
      viewBase += a.outIndices[0] * vs;
    } else {
      chunkOffsets = new Float64Array(a.count);
      viewOffsets = new Float64Array(a.count);
      for (let i = 0; i < a.count; i++) {
        chunkOffsets[i] = a.chunkIndices[i] * cs;
        viewOffsets[i] = a.outIndices[i] * vs;
      }
    }
    if (a.count === 1) continue; // folded into the bases
    loops.push(
      direction === "chunkToView"
        ? { count: a.count, srcStep: chunkStep, dstStep: vs, srcOffsets: chunkOffsets, dstOffsets: viewOffsets }
        : { count: a.count, srcStep: vs, dstStep: chunkStep, srcOffsets: viewOffsets, dstOffsets: chunkOffsets },
    );
  }
  if (lanes > 1) loops.push({ count: lanes, srcStep: 1, dstStep: 1, srcOffsets: null, dstOffsets: null });
  const [srcBase, dstBase] = direction === "chunkToView" ? [chunkBase, viewBase] : [viewBase, chunkBase];
  return { srcBase, dstBase, loops: mergeContiguousLoops(loops) };
}

/**
 * Fuse an outer run with the run inside it when stepping the outer once is the same as stepping
 * the inner `count` times on both sides, so e.g. whole-chunk copies become a single run.
 */
function mergeContiguousLoops(loops: Loop[]): Loop[] {
  const merged: Loop[] = [];
  for (let k = loops.length - 1; k >= 0; k--) {
    const outer = loops[k];
    const inner = merged[0];
    if (
      inner !== undefined &&
      outer.srcOffsets === null &&
      inner.srcOffsets === null &&
      outer.srcStep === inner.srcStep * inner.count &&
      outer.dstStep === inner.dstStep * inner.count
    ) {
      merged[0] = { ...inner, count: inner.count * outer.count };
    } else {
      merged.unshift(outer);
    }
  }
  return merged;
}

/** Below this many elements a plain loop beats creating a subarray for TypedArray.set. */
const MIN_BULK_COPY = 32;

/**
 * Contiguous runs up to this many bytes are copied as 32-bit words through Int32Array views of both
 * buffers: one monomorphic loop for every data type, and no subarray object per run (which is what
 * costs most in a row-by-row copy). Longer runs go to TypedArray.set (memcpy).
 */
const MAX_WORD_COPY_BYTES = 4096;

/** Both operands as 32-bit words, and how many words one entry is (0.25 to 2), when their bytes allow it. */
interface WordViews {
  src: Int32Array;
  dst: Int32Array;
  wordsPerEntry: number;
}

function wordViewsOf(src: ElementArray, dst: ElementArray): WordViews | undefined {
  if (!ArrayBuffer.isView(src) || !ArrayBuffer.isView(dst)) return undefined; // string chunks
  const bytes = (src as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (src.byteOffset % 4 !== 0 || dst.byteOffset % 4 !== 0) return undefined;
  return {
    src: new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2),
    dst: new Int32Array(dst.buffer, dst.byteOffset, dst.byteLength >> 2),
    wordsPerEntry: bytes / 4,
  };
}

function runLoops(plan: LoopPlan, src: ElementArray, dst: ElementArray): void {
  const { loops } = plan;
  if (loops.length === 0) {
    dst[plan.dstBase] = src[plan.srcBase];
    return;
  }
  const innermost = loops[loops.length - 1];
  const words = innermost.srcOffsets === null && innermost.srcStep === 1 && innermost.dstStep === 1 && innermost.count >= MIN_BULK_COPY ? wordViewsOf(src, dst) : undefined;
  const outerCount = loops.length - 1;
  const inner = loops[outerCount];
  const counters = new Array<number>(outerCount).fill(0);
  for (;;) {
    let s = plan.srcBase;
    let d = plan.dstBase;
    for (let k = 0; k < outerCount; k++) {
      const loop = loops[k];
      const i = counters[k];
      if (loop.srcOffsets === null) {
        s += i * loop.srcStep;
        d += i * loop.dstStep;
      } else {
        s += loop.srcOffsets[i];
        d += loop.dstOffsets![i];
      }
    }
    if (words === undefined || !copyWords(words, s, d, inner.count)) copyInnermost(inner, src, s, dst, d);
    let k = outerCount - 1;
    for (; k >= 0; k--) {
      if (++counters[k] < loops[k].count) break;
      counters[k] = 0;
    }
    if (k < 0) return;
  }
}

/** Copy `count` contiguous entries as words; false when the run is not whole aligned words or is long enough for memcpy. */
function copyWords(words: WordViews, s: number, d: number, count: number): boolean {
  const n = count * words.wordsPerEntry;
  const from = s * words.wordsPerEntry;
  const to = d * words.wordsPerEntry;
  if (n > MAX_WORD_COPY_BYTES / 4 || n % 1 !== 0 || from % 1 !== 0 || to % 1 !== 0) return false;
  const source = words.src;
  const target = words.dst;
  for (let i = 0; i < n; i++) target[to + i] = source[from + i];
  return true;
}

function copyInnermost(loop: Loop, src: ElementArray, s: number, dst: ElementArray, d: number): void {
  const n = loop.count;
  if (loop.srcOffsets !== null) {
    const so = loop.srcOffsets;
    const dO = loop.dstOffsets!;
    for (let i = 0; i < n; i++) dst[d + dO[i]] = src[s + so[i]];
    return;
  }
  const ss = loop.srcStep;
  const ds = loop.dstStep;
  if (ds === 1 && n >= MIN_BULK_COPY) {
    if (ss === 1) {
      dst.set(src.subarray(s, s + n), d);
      return;
    }
    if (ss === 0) {
      dst.fill(src[s], d, d + n);
      return;
    }
  }
  for (let i = 0; i < n; i++, s += ss, d += ds) dst[d] = src[s];
}

/** Checks the operands agree and returns the number of typed-array entries per element. */
function checkOperands(
  chunk: TypedArray,
  chunkShape: readonly number[],
  view: StridedView<TypedArray>,
  proj: ChunkProjection,
): number {
  if (chunk.constructor !== view.data.constructor) {
    throw new DtypeError(`cannot copy between a ${chunk.constructor.name} chunk and a ${view.data.constructor.name} buffer; element types must match`);
  }
  let size = 1;
  for (const n of chunkShape) size *= n;
  const lanes = size === 0 ? 1 : chunk.length / size;
  if (lanes !== 1 && lanes !== 2) {
    throw new ShapeError(`chunk holds ${chunk.length} elements but chunk shape [${chunkShape.join(", ")}] needs ${size}`);
  }
  if (proj.axes.length !== chunkShape.length || view.strides.length !== chunkShape.length) {
    throw new ShapeError(
      `chunk shape [${chunkShape.join(", ")}], chunk projection (${proj.axes.length} axes) and view strides (${view.strides.length}) must have the same number of axes`,
    );
  }
  return lanes;
}
