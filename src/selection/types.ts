/** The value types of the selection layer: what users pass in and what normalisation produces. */

/** A python-style slice; null fields mean "omitted" exactly as in Python. */
export interface Slice {
  kind: "slice";
  start: number | null;
  stop: number | null;
  step: number | null;
}

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** An integer index array for one axis. Float arrays are accepted when every value is an integer. */
export type IndexArray = number[] | TypedArray;

/**
 * One entry of a selection:
 * - number / bigint: a single index (negative counts from the end); the axis is dropped from the result
 * - Slice: `start:stop:step`
 * - null: the full slice `:` (NOT numpy's `None` = newaxis, which dosna does not support)
 * - "...": as many full slices as needed
 * - number[] / typed array: orthogonal integer index array (Uint8Array counts as integers)
 * - boolean[]: boolean mask, same length as the axis
 */
export type SelectionItem = number | bigint | Slice | null | "..." | IndexArray | boolean[];

/**
 * A whole selection: a numpy-syntax string, a list of items (one per axis, trailing axes may be
 * omitted), a single item (applies to axis 0), or undefined for everything.
 *
 * A top-level JS array is always the per-axis list, so an index array for axis 0 is written
 * `[[0, 4, 2]]`; the one exception is an all-boolean array, which can only be a mask for axis 0.
 */
export type Selection = string | SelectionItem[] | SelectionItem | undefined;

/** The selection on one axis after normalisation against its length. */
export type AxisSelection =
  /** A single index, normalised to be non-negative; the axis is dropped from the output. */
  | { kind: "int"; index: number }
  /** Indices `start + i*step` for `0 <= i < count`, as Python's `slice.indices()` yields them. */
  | { kind: "slice"; start: number; step: number; count: number }
  /** Orthogonal index list (non-negative, may be unsorted and repeat); masks become their true positions. */
  | { kind: "points"; indices: Int32Array | Float64Array };

export interface NormalisedSelection {
  /** One per array axis: ellipsis expanded, omitted trailing axes filled with full slices. */
  axes: AxisSelection[];
  /** Per array axis: 1 for int axes, the number of selected indices otherwise. */
  selectionShape: number[];
  /** selectionShape without the int axes: the numpy result shape ([] for a 0-d result). */
  outputShape: number[];
}
