/**
 * Random numpy-style selections for property tests, each in three forms: the brute-force
 * reference's per-axis items, a numpy-syntax string and a dosna item array. fast-check draws
 * shape-independent "genes"; `selectionFor` fits them to an array shape.
 */
import fc from "fast-check";
import * as dn from "../../src/index.js";
import type { RefItem } from "./reference.js";

export interface AxisGene {
  kind: "int" | "slice" | "points" | "mask";
  a: number;
  start: number | null;
  stop: number | null;
  step: number | null;
  list: number[];
  /** Bits of a boolean mask (bit i selects index i). */
  maskBits: number;
  /** Presentation variant: bigint vs number, typed vs plain index array, null vs slice(). */
  variant: number;
}

export interface SelectionGene {
  axes: AxisGene[];
  /** Replace a run of axes by "...": [position, count] before fitting to the rank. */
  ellipsis: [number, number] | null;
  /** Number of trailing axes to leave out (when there is no ellipsis). */
  omitTrailing: number;
  asString: boolean;
}

const bound = fc.option(fc.integer({ min: -16, max: 16 }), { nil: null, freq: 2 });
const step = fc.option(fc.integer({ min: -4, max: 4 }).filter((k) => k !== 0), { nil: null, freq: 2 });

export const axisGeneArb: fc.Arbitrary<AxisGene> = fc.record({
  kind: fc.constantFrom<AxisGene["kind"]>("int", "slice", "slice", "slice", "points", "mask"),
  a: fc.integer({ min: -1000, max: 1000 }),
  start: bound,
  stop: bound,
  step,
  list: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 5 }),
  maskBits: fc.integer({ min: 0, max: 0xffff }),
  variant: fc.integer({ min: 0, max: 3 }),
});

export const selectionGeneArb: fc.Arbitrary<SelectionGene> = fc.record({
  axes: fc.array(axisGeneArb, { minLength: 4, maxLength: 4 }),
  ellipsis: fc.option(fc.tuple(fc.nat(8), fc.nat(8)), { nil: null, freq: 3 }),
  omitTrailing: fc.nat(4),
  asString: fc.boolean(),
});

export interface FittedSelection {
  /** Per-axis reference items (full slices where "..." or omission stands). */
  reference: RefItem[];
  /** What is passed to dosna: a string or an item array. */
  selection: dn.Selection;
  text: string;
}

const mod = (x: number, n: number) => ((x % n) + n) % n;
/** An index in [-n, n). */
const indexIn = (x: number, n: number) => mod(x, 2 * n) - n;

interface Presented {
  ref: RefItem;
  item: dn.SelectionItem;
  text: string;
}

function presentAxis(g: AxisGene, n: number): Presented {
  switch (g.kind) {
    case "int": {
      const i = indexIn(g.a, n);
      return { ref: i, item: g.variant === 0 ? BigInt(i) : i, text: String(i) };
    }
    case "slice": {
      const { start, stop, step: st } = g;
      const text = `${start ?? ""}:${stop ?? ""}${st === null ? (g.variant === 1 ? ":" : "") : `:${st}`}`;
      const full = start === null && stop === null && st === null;
      return { ref: { slice: [start, stop, st] }, item: full && g.variant === 2 ? null : dn.slice(start, stop, st), text };
    }
    case "points": {
      const list = g.list.map((x) => indexIn(x, n));
      return { ref: { points: list }, item: g.variant === 0 ? Int32Array.from(list) : list, text: `[${list.join(", ")}]` };
    }
    case "mask": {
      const mask = Array.from({ length: n }, (_, i) => ((g.maskBits >> i) & 1) === 1);
      const points = mask.flatMap((m, i) => (m ? [i] : []));
      return { ref: { points }, item: mask, text: `[${mask.join(", ")}]` };
    }
  }
}

const FULL: RefItem = { slice: [null, null, null] };

/** Fit a gene to `shape`: one of numpy's ways to write the same per-axis selection. */
export function selectionFor(gene: SelectionGene, shape: readonly number[]): FittedSelection {
  const ndim = shape.length;
  const presented = shape.map((n, axis) => presentAxis(gene.axes[axis], n));
  const reference = presented.map((p) => p.ref);
  const items: dn.SelectionItem[] = [];
  const texts: string[] = [];
  if (gene.ellipsis) {
    const position = gene.ellipsis[0] % (ndim + 1);
    const count = gene.ellipsis[1] % (ndim - position + 1);
    for (let axis = 0; axis < ndim; axis++) {
      if (axis === position) {
        items.push("...");
        texts.push("...");
      }
      if (axis >= position && axis < position + count) {
        reference[axis] = FULL;
        continue;
      }
      items.push(presented[axis].item);
      texts.push(presented[axis].text);
    }
    if (position === ndim) {
      items.push("...");
      texts.push("...");
    }
  } else {
    const keep = ndim - (gene.omitTrailing % (ndim + 1));
    for (let axis = 0; axis < ndim; axis++) {
      if (axis < keep) {
        items.push(presented[axis].item);
        texts.push(presented[axis].text);
      } else {
        reference[axis] = FULL;
      }
    }
  }
  const text = texts.join(", ");
  return { reference, selection: gene.asString ? text : items, text };
}
