/**
 * Arrays printed as numpy's `print(a)` does (numpy ≥ 1.14 defaults: precision 8, floatmode
 * "maxprec", line width 75, arrays of more than 1000 elements summarised with 3 edge items), so
 * `dosna get` output can be compared with numpy's by eye or by diff. 0-d results print as numpy
 * scalars do (`str(a[()])`).
 */
import type { DataType } from "../index.js";

type Element = number | bigint;

export interface PrintableArray {
  dtype: DataType;
  /** The full shape of the array being printed. */
  shape: readonly number[];
  /**
   * The element at a full index. When the array is summarised (more than SUMMARY_THRESHOLD elements)
   * only indices within EDGE_ITEMS of either end of each long axis are asked for.
   */
  get(index: readonly number[]): Element;
}

export const SUMMARY_THRESHOLD = 1000;
export const EDGE_ITEMS = 3;
const LINE_WIDTH = 75;
const PRECISION = 8;

export function needsSummary(shape: readonly number[]): boolean {
  return shape.reduce((a, b) => a * b, 1) > SUMMARY_THRESHOLD;
}

/** Per axis, the indices printing will touch (all of them, or the edges of long axes when summarised). */
export function shownIndices(shape: readonly number[]): number[][] {
  const summarise = needsSummary(shape);
  return shape.map((n) => {
    if (!summarise || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
    return [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)];
  });
}

export function formatNumpy(array: PrintableArray): string {
  const { shape, dtype } = array;
  if (shape.length === 0) return formatScalar(array.get([]), dtype);
  if (shape.some((n) => n === 0)) return "[]";
  const shown = shownIndices(shape);
  const values: Element[] = [];
  forEachIndex(shown, (index) => values.push(array.get(index)));
  const format = elementFormatter(dtype, values);
  return formatNested(shape, needsSummary(shape), (index) => format(array.get(index)));
}

/** numpy scalar str(): Python's float repr rules, True/False, plain integers. */
export function formatScalar(value: Element, dtype: DataType): string {
  if (dtype === "bool") return value ? "True" : "False";
  if (typeof value === "bigint" || dtype !== "float32" && dtype !== "float64") return String(value);
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const { digits, exponent, negative } = shortestDigits(value, dtype);
  if (value === 0 || (exponent >= -4 && exponent < 16)) {
    const { int, frac } = positionalParts(digits, exponent);
    return `${negative ? "-" : ""}${int}.${frac === "" ? "0" : frac}`;
  }
  const mantissa = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  return `${negative ? "-" : ""}${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

function forEachIndex(shown: number[][], visit: (index: number[]) => void): void {
  const index = new Array<number>(shown.length).fill(0);
  const recurse = (axis: number) => {
    if (axis === shown.length) return visit(index);
    for (const i of shown[axis]) {
      index[axis] = i;
      recurse(axis + 1);
    }
  };
  recurse(0);
}

function elementFormatter(dtype: DataType, values: Element[]): (v: Element) => string {
  if (dtype === "bool") return (v) => (v ? " True" : "False");
  if (dtype === "float32" || dtype === "float64") return floatFormatter(dtype, values as number[]) as (v: Element) => string;
  let width = 0;
  for (const v of values) width = Math.max(width, String(v).length);
  return (v) => String(v).padStart(width);
}

/** numpy's FloatingFormat in "maxprec" mode with trim ".", sign "-". */
function floatFormatter(dtype: "float32" | "float64", values: number[]): (v: number) => string {
  const finite = values.filter(Number.isFinite);
  const magnitudes = finite.filter((v) => v !== 0).map(Math.abs);
  let exponential = false;
  if (magnitudes.length) {
    const max = Math.max(...magnitudes);
    const min = Math.min(...magnitudes);
    exponential = max >= 1e8 || min < 1e-4 || max / min > 1e3;
  }
  let padLeft = 0;
  let padRight = 0;
  let format: (v: number) => string;
  if (finite.length === 0) {
    format = () => "";
  } else if (exponential) {
    const parts = finite.map((v) => scientificParts(v, dtype));
    const precision = Math.max(...parts.map((p) => p.frac.length));
    const expDigits = Math.max(...parts.map((p) => p.exp.length));
    padLeft = Math.max(...parts.map((p) => p.int.length));
    padRight = expDigits + 2 + precision;
    format = (v) => {
      const p = scientificParts(v, dtype);
      return `${p.int.padStart(padLeft)}.${p.frac.padEnd(precision, "0")}e${p.sign}${p.exp.padStart(expDigits, "0")}`;
    };
  } else {
    const parts = finite.map((v) => positionalString(v, dtype));
    padLeft = Math.max(...parts.map((p) => p.int.length));
    padRight = Math.max(...parts.map((p) => p.frac.length));
    format = (v) => {
      const p = positionalString(v, dtype);
      return `${p.int.padStart(padLeft)}.${p.frac.padEnd(padRight)}`;
    };
  }
  if (finite.length !== values.length) {
    const negativeInfinity = values.some((v) => v === -Infinity);
    const offset = padRight + 1;
    padLeft = Math.max(padLeft, 3 - offset, 3 + (negativeInfinity ? 1 : 0) - offset);
  }
  const width = padLeft + padRight + 1;
  return (v) => {
    if (Number.isNaN(v)) return "nan".padStart(width);
    if (!Number.isFinite(v)) return (v > 0 ? "inf" : "-inf").padStart(width);
    return format(v);
  };
}

/** Shortest digits that read back as the same float32/float64, as d.ddd × 10^exponent. */
function shortestDigits(value: number, dtype: "float32" | "float64"): { digits: string; exponent: number; negative: boolean } {
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  if (magnitude === 0) return { digits: "0", exponent: 0, negative };
  let text = magnitude.toExponential();
  if (dtype === "float32") {
    for (let p = 0; p <= 8; p++) {
      const candidate = magnitude.toExponential(p);
      if (Math.fround(Number(candidate)) === magnitude) {
        text = candidate;
        break;
      }
    }
  }
  return splitExponential(text, negative);
}

function splitExponential(text: string, negative: boolean): { digits: string; exponent: number; negative: boolean } {
  const [mantissa, exp] = text.split("e");
  const digits = mantissa.replace(".", "").replace(/0+$/, "") || "0";
  return { digits, exponent: Number(exp), negative };
}

function positionalParts(digits: string, exponent: number): { int: string; frac: string } {
  if (exponent >= digits.length - 1) return { int: digits + "0".repeat(exponent - digits.length + 1), frac: "" };
  if (exponent >= 0) return { int: digits.slice(0, exponent + 1), frac: digits.slice(exponent + 1) };
  return { int: "0", frac: "0".repeat(-exponent - 1) + digits };
}

/** dragon4_positional(unique, precision 8, trim "."): shortest digits, cut (rounding) at 8 decimals. */
function positionalString(value: number, dtype: "float32" | "float64"): { int: string; frac: string } {
  const { digits, exponent, negative } = shortestDigits(value, dtype);
  const sign = negative ? "-" : "";
  let { int, frac } = positionalParts(digits, exponent);
  if (frac.length > PRECISION) {
    const [i, f = ""] = Math.abs(value).toFixed(PRECISION).split(".");
    int = i;
    frac = f.replace(/0+$/, "");
  }
  return { int: sign + int, frac };
}

/** dragon4_scientific(unique, precision 8, trim "."): mantissa parts and exponent digits. */
function scientificParts(value: number, dtype: "float32" | "float64"): { int: string; frac: string; sign: string; exp: string } {
  let { digits, exponent, negative } = shortestDigits(value, dtype);
  if (digits.length > PRECISION + 1) ({ digits, exponent } = splitExponential(Math.abs(value).toExponential(PRECISION), negative));
  return {
    int: (negative ? "-" : "") + digits[0],
    frac: digits.slice(1),
    sign: exponent < 0 ? "-" : "+",
    exp: String(Math.abs(exponent)).padStart(2, "0"),
  };
}

/** numpy's _formatArray for str(): separator " ", hanging indents, wrapping at 75 columns, "..." summaries. */
function formatNested(shape: readonly number[], summarise: boolean, element: (index: number[]) => string): string {
  const recurse = (index: number[], hangingIndent: string, width: number): string => {
    const axis = index.length;
    const axesLeft = shape.length - axis;
    if (axesLeft === 0) return element(index);
    const nextIndent = hangingIndent + " ";
    const nextWidth = width - 1;
    const length = shape[axis];
    const showSummary = summarise && 2 * EDGE_ITEMS < length;
    const leading = showSummary ? EDGE_ITEMS : 0;
    const trailing = showSummary ? EDGE_ITEMS : length;
    let s = "";
    if (axesLeft === 1) {
      const elementWidth = width - 1;
      let line = hangingIndent;
      const extend = (word: string) => {
        if (line.length + word.length > elementWidth && line.length > hangingIndent.length) {
          s += line.trimEnd() + "\n";
          line = hangingIndent;
        }
        line += word;
      };
      for (let i = 0; i < leading; i++) {
        extend(recurse([...index, i], nextIndent, nextWidth));
        line += " ";
      }
      if (showSummary) {
        extend("...");
        line += " ";
      }
      for (let i = trailing; i > 1; i--) {
        extend(recurse([...index, length - i], nextIndent, nextWidth));
        line += " ";
      }
      extend(recurse([...index, length - 1], nextIndent, nextWidth));
      s += line;
    } else {
      const lineSeparator = "\n".repeat(axesLeft - 1);
      for (let i = 0; i < leading; i++) s += hangingIndent + recurse([...index, i], nextIndent, nextWidth) + lineSeparator;
      if (showSummary) s += hangingIndent + "..." + lineSeparator;
      for (let i = trailing; i > 1; i--) s += hangingIndent + recurse([...index, length - i], nextIndent, nextWidth) + lineSeparator;
      s += hangingIndent + recurse([...index, length - 1], nextIndent, nextWidth);
    }
    return "[" + s.slice(hangingIndent.length) + "]";
  };
  return recurse([], " ", LINE_WIDTH);
}
