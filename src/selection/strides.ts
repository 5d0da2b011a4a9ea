import { ShapeError } from "../errors.js";
import type { NormalisedSelection, TypedArray } from "./types.js";

/**
 * A view into a flat buffer: element (i0, i1, ...) lives at `offset + i0*strides[0] + ...`.
 * Strides are in elements, may be negative, or 0 to repeat (broadcast) a source along an axis.
 */
export interface StridedView<T> {
  data: T;
  offset: number;
  strides: readonly number[];
}

/** Strides, in elements, of a C-order (row-major) array of `shape`. */
export function cOrderStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

/**
 * Strides that read a C-order value of `valueShape` broadcast onto `targetShape`, with numpy's
 * rules: shapes align on the right, a size-1 value axis repeats (stride 0), missing leading axes
 * repeat, and extra leading value axes are allowed only if they have size 1.
 */
export function broadcastStrides(valueShape: readonly number[], targetShape: readonly number[], what?: string): number[] {
  const valueStrides = cOrderStrides(valueShape);
  const extra = valueShape.length - targetShape.length;
  const fail = (): never => {
    const message = `could not broadcast input array from shape ${pyShape(valueShape)} into shape ${pyShape(targetShape)}`;
    throw new ShapeError(what ? `${what}: ${message}` : message);
  };
  for (let axis = 0; axis < extra; axis++) if (valueShape[axis] !== 1) fail();
  return targetShape.map((size, axis) => {
    const valueAxis = axis + extra;
    if (valueAxis < 0) return 0;
    const valueSize = valueShape[valueAxis];
    if (valueSize === size) return size === 1 ? 0 : valueStrides[valueAxis];
    if (valueSize === 1) return 0;
    return fail();
  });
}

/**
 * Expand strides over the output shape (no int axes) to strides over the selection shape (int
 * axes present with size 1, so their stride is never used; 0 is given).
 */
export function selectionStridesFromOutput(sel: NormalisedSelection, outputStrides: readonly number[]): number[] {
  const strides: number[] = [];
  let outAxis = 0;
  for (const a of sel.axes) strides.push(a.kind === "int" ? 0 : outputStrides[outAxis++]);
  if (outAxis !== outputStrides.length) {
    throw new ShapeError(`expected ${outAxis} output strides for output shape ${pyShape(sel.outputShape)}, got ${outputStrides.length}`);
  }
  return strides;
}

/** A selection-shaped view over a C-order buffer of the output shape, as copyChunkToSelection wants. */
export function outputView<T extends TypedArray>(sel: NormalisedSelection, data: T, offset = 0): StridedView<T> {
  return { data, offset, strides: selectionStridesFromOutput(sel, cOrderStrides(sel.outputShape)) };
}

/** numpy's spelling of a shape in messages: (2,3), (3,), (). */
export function pyShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(",")})`;
}
