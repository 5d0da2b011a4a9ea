import { SelectionError } from "../errors.js";
import type { Slice } from "./types.js";

type Bound = number | bigint | null | undefined;

/**
 * Build a slice like Python's `slice()`: one argument is the stop (`slice(5)` is `:5`), two are
 * start and stop, three add the step. `null`/`undefined` mean omitted.
 */
export function slice(stop?: Bound): Slice;
export function slice(start: Bound, stop: Bound, step?: Bound): Slice;
export function slice(...args: Bound[]): Slice {
  if (args.length > 3) throw new SelectionError(`slice() takes at most 3 arguments, got ${args.length}`);
  const [start, stop, step] = args.length <= 1 ? [null, args[0], null] : args;
  return {
    kind: "slice",
    start: sliceBound(start, "start"),
    stop: sliceBound(stop, "stop"),
    step: sliceBound(step, "step"),
  };
}

/** Check one slice field: an integer (number or safe bigint) or null. */
export function sliceBound(value: unknown, field: "start" | "stop" | "step"): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new SelectionError(`slice ${field} ${value} is too large; expected a safe integer`);
    return n;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new SelectionError(`slice ${field} must be an integer or null, got ${describeValue(value)}`);
  }
  return value;
}

/** The range a slice selects on an axis of `length`: Python's `slice.indices()` plus the element count. */
export function sliceIndices(
  s: Slice,
  length: number,
): { start: number; stop: number; step: number; count: number } {
  const step = sliceBound(s.step, "step") ?? 1;
  if (step === 0) throw new SelectionError("slice step cannot be zero");
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? length - 1 : length;
  const clip = (bound: number | null, ifOmitted: number): number => {
    if (bound === null) return ifOmitted;
    const b = bound < 0 ? bound + length : bound;
    return b < lower ? lower : b > upper ? upper : b;
  };
  const start = clip(sliceBound(s.start, "start"), step < 0 ? upper : lower);
  const stop = clip(sliceBound(s.stop, "stop"), step < 0 ? lower : upper);
  const count =
    step > 0
      ? stop > start ? Math.floor((stop - start - 1) / step) + 1 : 0
      : start > stop ? Math.floor((start - stop - 1) / -step) + 1 : 0;
  return { start, stop, step, count };
}

export function isSlice(value: unknown): value is Slice {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "slice";
}

export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return `an array`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "object" && value !== null) return `an object`;
  return String(value);
}
