import { SelectionError, ShapeError } from "../errors.js";
import { parseSelection } from "./parse.js";
import { describeValue, isSlice, sliceIndices } from "./slice.js";
import type { AxisSelection, NormalisedSelection, Selection, SelectionItem } from "./types.js";

/**
 * Normalise a selection against an array shape with numpy's rules for integers, slices and
 * ellipsis. Index arrays and masks are ORTHOGONAL (zarr `oindex` / h5py style): each one selects
 * along its own axis independently, so `[[0, 2], [1, 3]]` on a 2-d array gives a 2x2 result, not
 * numpy's broadcast pairing (0,1), (2,3). `what` (e.g. a dataset path) prefixes error messages.
 */
export function normaliseSelection(sel: Selection, shape: readonly number[], what?: string): NormalisedSelection {
  checkShape(shape, what);
  const fail = (message: string): never => {
    throw new SelectionError(what ? `${what}: ${message}` : message);
  };
  const items = selectionItems(sel, fail);

  let ellipses = 0;
  for (const item of items) if (item === "...") ellipses++;
  if (ellipses > 1) fail("an index can only have a single ellipsis ('...')");
  const consuming = items.length - ellipses;
  if (consuming > shape.length) {
    fail(`too many indices for array: array is ${shape.length}-dimensional, but ${consuming} were indexed`);
  }

  const axes: AxisSelection[] = [];
  for (const item of items) {
    if (item === "...") {
      const fill = shape.length - consuming;
      for (let k = 0; k < fill; k++) axes.push(fullSlice(shape[axes.length]));
    } else {
      axes.push(normaliseItem(item, axes.length, shape[axes.length], fail));
    }
  }
  while (axes.length < shape.length) axes.push(fullSlice(shape[axes.length]));

  const selectionShape = axes.map(axisCount);
  const outputShape = selectionShape.filter((_, axis) => axes[axis].kind !== "int");
  return { axes, selectionShape, outputShape };
}

/** Number of indices an axis selection yields (1 for an int axis). */
export function axisCount(a: AxisSelection): number {
  return a.kind === "int" ? 1 : a.kind === "slice" ? a.count : a.indices.length;
}

function selectionItems(sel: Selection, fail: (m: string) => never): SelectionItem[] {
  if (sel === undefined) return [];
  if (typeof sel === "string") {
    try {
      return parseSelection(sel);
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  if (Array.isArray(sel)) {
    // A top-level all-boolean array cannot be a per-axis list, so it is a mask for axis 0.
    if (sel.length > 0 && sel.every((x) => typeof x === "boolean")) return [sel as boolean[]];
    for (const item of sel) {
      if (typeof item === "boolean") fail("a boolean is not a valid index; boolean masks go in an array, e.g. [[true, false]]");
      if (item === undefined) fail("undefined is not a valid index; use null or slice() for a whole axis");
    }
    return sel as SelectionItem[];
  }
  return [sel];
}

function normaliseItem(item: SelectionItem, axis: number, length: number, fail: (m: string) => never): AxisSelection {
  if (item === null) return fullSlice(length);
  if (typeof item === "number" || typeof item === "bigint") {
    return { kind: "int", index: normaliseIndex(item, axis, length, fail) };
  }
  if (isSlice(item)) {
    let r;
    try {
      r = sliceIndices(item, length);
    } catch (e) {
      return fail(`${(e as Error).message} (axis ${axis})`);
    }
    return { kind: "slice", start: r.start, step: r.step, count: r.count };
  }
  if (Array.isArray(item)) {
    if (item.length > 0 && typeof item[0] === "boolean") return maskToPoints(item, axis, length, fail);
    return { kind: "points", indices: normaliseIndexArray(item, axis, length, fail) };
  }
  if (ArrayBuffer.isView(item) && !(item instanceof DataView)) {
    return { kind: "points", indices: normaliseIndexArray(item, axis, length, fail) };
  }
  return fail(
    `${describeValue(item)} is not a valid index for axis ${axis}; expected an integer, a slice, null, "...", an integer array or a boolean array`,
  );
}

function normaliseIndex(value: unknown, axis: number, length: number, fail: (m: string) => never): number {
  let n: number;
  if (typeof value === "bigint") {
    n = Number(value);
    if (!Number.isSafeInteger(n)) fail(`index ${value} is out of bounds for axis ${axis} with size ${length}`);
  } else if (typeof value === "number" && Number.isInteger(value)) {
    n = value;
  } else {
    return fail(`${describeValue(value)} is not a valid index for axis ${axis}; indices must be integers`);
  }
  if (n < -length || n >= length) fail(`index ${n} is out of bounds for axis ${axis} with size ${length}`);
  return n < 0 ? n + length : n;
}

function normaliseIndexArray(
  values: ArrayLike<unknown>,
  axis: number,
  length: number,
  fail: (m: string) => never,
): Int32Array | Float64Array {
  const out = length <= 0x7fffffff ? new Int32Array(values.length) : new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "boolean") fail(`index array for axis ${axis} mixes booleans and integers`);
    if (Array.isArray(v)) fail(`index array for axis ${axis} is nested; only one-dimensional index arrays are supported`);
    if (!(typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v)))) {
      fail(`index array for axis ${axis} holds ${describeValue(v)} at position ${i}; indices must be integers`);
    }
    out[i] = normaliseIndex(v, axis, length, fail);
  }
  return out;
}

function maskToPoints(mask: unknown[], axis: number, length: number, fail: (m: string) => never): AxisSelection {
  if (mask.length !== length) {
    fail(
      `boolean index did not match indexed array along axis ${axis}; size of axis is ${length} but size of corresponding boolean axis is ${mask.length}`,
    );
  }
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    if (typeof mask[i] !== "boolean") fail(`boolean mask for axis ${axis} holds ${describeValue(mask[i])} at position ${i}; expected only booleans`);
    if (mask[i]) count++;
  }
  const indices = length <= 0x7fffffff ? new Int32Array(count) : new Float64Array(count);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) indices[j++] = i;
  return { kind: "points", indices };
}

function fullSlice(length: number): AxisSelection {
  return { kind: "slice", start: 0, step: 1, count: length };
}

function checkShape(shape: readonly number[], what?: string): void {
  for (let axis = 0; axis < shape.length; axis++) {
    const n = shape[axis];
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ShapeError(`${what ? `${what}: ` : ""}array shape [${shape.join(", ")}] has ${describeValue(n)} on axis ${axis}; expected non-negative integers`);
    }
  }
}
