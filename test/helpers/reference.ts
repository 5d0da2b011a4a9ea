/**
 * A brute-force numpy reference for basic indexing, written independently of src/selection:
 * per-axis index lists from Python's slice.indices, then a nested gather.
 */
export type RefItem = number | { slice: [number | null, number | null, number | null] } | { points: number[] };

/** Python's slice.indices(n) followed by range(). */
export function pySliceIndices(n: number, start: number | null, stop: number | null, step: number | null): number[] {
  const s = step ?? 1;
  if (s === 0) throw new Error("zero step");
  let lo: number;
  let hi: number;
  if (s > 0) {
    lo = start === null ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
    hi = stop === null ? n : stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
  } else {
    lo = start === null ? n - 1 : start < 0 ? Math.max(-1, start + n) : Math.min(start, n - 1);
    hi = stop === null ? -1 : stop < 0 ? Math.max(-1, stop + n) : Math.min(stop, n - 1);
  }
  const out: number[] = [];
  if (s > 0) for (let i = lo; i < hi; i += s) out.push(i);
  else for (let i = lo; i > hi; i += s) out.push(i);
  return out;
}

export function referenceIndices(items: RefItem[], shape: number[]): { lists: number[][]; keep: boolean[] } {
  const lists: number[][] = [];
  const keep: boolean[] = [];
  shape.forEach((n, axis) => {
    const item = items[axis];
    if (item === undefined) {
      lists.push(pySliceIndices(n, null, null, null));
      keep.push(true);
    } else if (typeof item === "number") {
      lists.push([item < 0 ? item + n : item]);
      keep.push(false);
    } else if ("slice" in item) {
      lists.push(pySliceIndices(n, ...item.slice));
      keep.push(true);
    } else {
      lists.push(item.points.map((i) => (i < 0 ? i + n : i)));
      keep.push(true);
    }
  });
  return { lists, keep };
}

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Gather `items` from a flat C-order array of `shape`; returns values and numpy's result shape. */
export function referenceGet<T extends ArrayLike<number | bigint>>(data: T, shape: number[], items: RefItem[]): { values: (number | bigint)[]; shape: number[] } {
  const { lists, keep } = referenceIndices(items, shape);
  const st = strides(shape);
  const values: (number | bigint)[] = [];
  const walk = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      values.push(data[offset]);
      return;
    }
    for (const i of lists[axis]) walk(axis + 1, offset + i * st[axis]);
  };
  walk(0, 0);
  return { values, shape: lists.filter((_, a) => keep[a]).map((l) => l.length) };
}

/** Scatter a flat C-order `values` (of the selection's shape) into `data`, last write wins. */
export function referenceSet(data: { [i: number]: number | bigint; length: number }, shape: number[], items: RefItem[], values: ArrayLike<number | bigint> | number): void {
  const { lists } = referenceIndices(items, shape);
  const st = strides(shape);
  let k = 0;
  const walk = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      data[offset] = typeof values === "number" ? values : values[k++];
      return;
    }
    for (const i of lists[axis]) walk(axis + 1, offset + i * st[axis]);
  };
  walk(0, 0);
}

/** Plain array of any typed array's elements (works across number and bigint element types). */
export function valuesOf(data: ArrayLike<number | bigint> | { length: number; [i: number]: unknown }): (number | bigint)[] {
  return Array.from(data as ArrayLike<number | bigint>);
}

/**
 * Elements as comparable plain values: booleans as 0/1, NaN as a string (so toEqual sees it).
 * Takes typed arrays, plain arrays and anything with `length` and `get(i)` (zarrita's bool arrays).
 */
export function comparable(data: unknown): unknown[] {
  const source = data as { length: number; get?: (i: number) => unknown; [i: number]: unknown };
  const at = typeof source.get === "function" ? (i: number) => source.get!(i) : (i: number) => source[i];
  return Array.from({ length: source.length }, (_, i) => {
    const v = at(i);
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number" && Number.isNaN(v)) return "NaN";
    return v;
  });
}
