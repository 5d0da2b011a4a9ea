/**
 * Brute-force reference for selections, written independently of src/selection: per-axis index
 * lists built by literal enumeration, then nested gather / scatter over flat C-order arrays.
 */
import type { SelectionItem, Slice } from "../../src/selection/index.js";

/** The indices `list(range(n))[start:stop:step]` yields in Python, by walking the resolved bounds. */
export function pythonSliceList(n: number, start: number | null, stop: number | null, step: number | null): number[] {
  const k = step ?? 1;
  const out: number[] = [];
  if (k > 0) {
    let from = start === null ? 0 : start < 0 ? start + n : start;
    let to = stop === null ? n : stop < 0 ? stop + n : stop;
    if (from < 0) from = 0;
    if (to > n) to = n;
    for (let x = from; x < to; x += k) out.push(x);
  } else {
    // Going down: "before the first element" is -1, and bounds past the end start at n - 1.
    let from = start === null ? n - 1 : start < 0 ? start + n : start;
    let to = stop === null ? -1 : stop < 0 ? stop + n : stop;
    if (from > n - 1) from = n - 1;
    if (to < -1) to = -1;
    for (let x = from; x > to; x += k) out.push(x);
  }
  return out;
}

export interface ReferenceSelection {
  /** Selected indices per array axis, in selection order. */
  lists: number[][];
  /** Axes selected by a single integer (dropped from the output). */
  dropped: boolean[];
}

/** Per-axis index lists for a list of selection items that is known to be valid for `shape`. */
export function referenceSelection(items: SelectionItem[], shape: number[]): ReferenceSelection {
  const ellipsisAt = items.indexOf("...");
  let expanded: SelectionItem[];
  if (ellipsisAt >= 0) {
    const before = items.slice(0, ellipsisAt);
    const after = items.slice(ellipsisAt + 1);
    const fill = shape.length - before.length - after.length;
    expanded = [...before, ...Array.from({ length: fill }, () => null), ...after];
  } else {
    expanded = [...items];
  }
  while (expanded.length < shape.length) expanded.push(null);

  const lists: number[][] = [];
  const dropped: boolean[] = [];
  expanded.forEach((item, axis) => {
    const n = shape[axis];
    const wrap = (i: number) => (i < 0 ? i + n : i);
    if (item === null) {
      lists.push(pythonSliceList(n, null, null, null));
      dropped.push(false);
    } else if (typeof item === "number" || typeof item === "bigint") {
      lists.push([wrap(Number(item))]);
      dropped.push(true);
    } else if (typeof item === "object" && "kind" in item) {
      const s = item as Slice;
      lists.push(pythonSliceList(n, s.start, s.stop, s.step));
      dropped.push(false);
    } else {
      const values = Array.from(item as ArrayLike<number | bigint | boolean>);
      if (values.length > 0 && typeof values[0] === "boolean") {
        lists.push(values.flatMap((b, i) => (b ? [i] : [])));
      } else {
        lists.push(values.map((v) => wrap(Number(v))));
      }
      dropped.push(false);
    }
  });
  return { lists, dropped };
}

export function outputShapeOf(ref: ReferenceSelection): number[] {
  return ref.lists.filter((_, axis) => !ref.dropped[axis]).map((l) => l.length);
}

export function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Flat C-order position of `index` in `shape`. */
export function flatIndex(index: number[], shape: number[]): number {
  let flat = 0;
  for (let axis = 0; axis < shape.length; axis++) flat = flat * shape[axis] + index[axis];
  return flat;
}

/** Call `visit` for every multi-index of `shape` in C order. */
export function forEachIndex(shape: number[], visit: (index: number[]) => void): void {
  if (shape.some((n) => n === 0)) return;
  const index = new Array<number>(shape.length).fill(0);
  for (;;) {
    visit(index);
    let axis = shape.length - 1;
    while (axis >= 0 && ++index[axis] === shape[axis]) index[axis--] = 0;
    if (axis < 0) return;
  }
}

/** numpy-style orthogonal read: output in C order of the output shape. */
export function referenceGather<T>(source: ArrayLike<T>, shape: number[], ref: ReferenceSelection): T[] {
  const out: T[] = [];
  forEachIndex(ref.lists.map((l) => l.length), (sel) => {
    out.push(source[flatIndex(sel.map((i, axis) => ref.lists[axis][i]), shape)]);
  });
  return out;
}

/**
 * numpy-style orthogonal write of a C-order value of `valueShape` (broadcast onto the output
 * shape), last write wins for repeated indices.
 */
export function referenceScatter<T>(
  target: T[],
  shape: number[],
  ref: ReferenceSelection,
  value: ArrayLike<T>,
  valueShape: number[],
): void {
  const outShape = outputShapeOf(ref);
  forEachIndex(ref.lists.map((l) => l.length), (sel) => {
    const outIndex = sel.filter((_, axis) => !ref.dropped[axis]);
    const offset = outShape.length - valueShape.length;
    const valueIndex = valueShape.map((n, vAxis) => {
      const oAxis = vAxis + offset;
      return oAxis < 0 || n === 1 ? 0 : outIndex[oAxis];
    });
    target[flatIndex(sel.map((i, axis) => ref.lists[axis][i]), shape)] = value[flatIndex(valueIndex, valueShape)];
  });
}
