/**
 * h5wasm's hyperslab ranges ([] | [start] | [start, stop] | [start, stop, step], null for a default)
 * as dosna selections. h5wasm clamps bounds to [0, size] and has no negative indices; this keeps
 * exactly that behaviour so scripts print the same with either library.
 */
import { ValidationError } from "../errors.js";
import { slice, type SelectionItem } from "../selection/index.js";

export type H5Slice = [] | [number | null] | [number | null, number | null] | [number | null, number | null, number | null];

export function toSelection(ranges: readonly H5Slice[], shape: readonly number[]): SelectionItem[] {
  if (ranges.length > shape.length) {
    throw new ValidationError(`got ${ranges.length} ranges for a dataset with ${shape.length} dimensions`);
  }
  return shape.map((size, axis) => {
    const [start, stop, step] = ranges[axis] ?? [];
    const s = step ?? 1;
    if (!Number.isInteger(s) || s < 1) throw new ValidationError(`step ${s} of range for axis ${axis} must be a positive integer`);
    const lo = Math.min(size, Math.max(0, start ?? 0));
    const hi = Math.max(lo, Math.min(size, stop ?? size));
    return slice(lo, hi, s);
  });
}
