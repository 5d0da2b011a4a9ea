/**
 * Property tests: random shapes, chunk shapes and selections, read and written through planChunks
 * and the copy kernels over chunked storage simulated in memory, compared with the brute-force
 * reference in reference.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  broadcastStrides,
  copyChunkToSelection,
  copySelectionToChunk,
  formatSelection,
  normaliseSelection,
  parseSelection,
  planChunks,
  selectionStridesFromOutput,
  slice,
  type SelectionItem,
  type StridedView,
  type TypedArray,
} from "../../src/selection/index.js";
import { fromChunks, inBoundsContains, toChunks, type ArrayCtor } from "./chunked-memory.js";
import {
  flatIndex,
  forEachIndex,
  outputShapeOf,
  product,
  referenceGather,
  referenceScatter,
  referenceSelection,
  type ReferenceSelection,
} from "./reference.js";

const RUNS = 1500;

// ---------------------------------------------------------------------------------------------
// Generators

const boundArb = fc.option(fc.integer({ min: -12, max: 12 }), { nil: null });
const stepArb = fc.option(
  fc.integer({ min: -4, max: 4 }).filter((k) => k !== 0),
  { nil: null },
);
const sliceArb: fc.Arbitrary<SelectionItem> = fc
  .tuple(boundArb, boundArb, stepArb)
  .map(([start, stop, step]) => slice(start, stop, step));

/** Step-1 slices (and full axes) make long contiguous runs, which take the bulk copy paths. */
const contiguousSliceArb: fc.Arbitrary<SelectionItem> = fc
  .tuple(boundArb, boundArb)
  .map(([start, stop]) => slice(start, stop));

function indexArrayArb(n: number): fc.Arbitrary<SelectionItem> {
  const values = n === 0 ? fc.constant<number[]>([]) : fc.array(fc.integer({ min: -n, max: n - 1 }), { maxLength: 6 });
  return fc.tuple(values, fc.integer({ min: 0, max: 4 })).map(([v, kind]): SelectionItem => {
    switch (kind) {
      case 0:
        return v;
      case 1:
        return Int32Array.from(v);
      case 2:
        return BigInt64Array.from(v, BigInt);
      case 3:
        return Float64Array.from(v);
      default:
        return Uint8Array.from(v, (i) => (i < 0 ? i + n : i)); // unsigned: only non-negative
    }
  });
}

function itemArb(n: number): fc.Arbitrary<SelectionItem> {
  const options: fc.Arbitrary<SelectionItem>[] = [sliceArb, sliceArb, contiguousSliceArb, fc.constant(null), indexArrayArb(n)];
  options.push(fc.array(fc.boolean(), { minLength: n, maxLength: n }));
  if (n > 0) {
    options.push(fc.integer({ min: -n, max: n - 1 }));
    options.push(fc.integer({ min: -n, max: n - 1 }).map(BigInt));
  }
  return fc.oneof(...options);
}

interface Case {
  shape: number[];
  chunkShape: number[];
  items: SelectionItem[];
}

/** Random cases: up to `maxDims` axes of 0..maxSize elements each, chunk shapes and selections. */
function caseArbOf(maxDims: number, maxSize: number): fc.Arbitrary<Case> {
  return fc
    .array(fc.integer({ min: 0, max: maxSize }), { maxLength: maxDims })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        // Mostly several chunks per axis, sometimes one chunk larger than the axis.
        chunkShape: fc.tuple(
          ...shape.map((n) =>
            fc.oneof(
              { arbitrary: fc.integer({ min: 1, max: Math.max(1, Math.ceil(n / 2)) }), weight: 3 },
              { arbitrary: fc.integer({ min: 1, max: maxSize + 1 }), weight: 1 },
            ),
          ),
        ),
        items: fc.tuple(...shape.map(itemArb)),
        keep: fc.integer({ min: 0, max: shape.length }),
        ellipsis: fc.option(fc.tuple(fc.nat(), fc.nat())),
      }),
    )
    .map(({ shape, chunkShape, items, keep, ellipsis }) => {
      let kept: SelectionItem[] = items.slice(0, keep); // omitted trailing axes
      if (ellipsis !== null) {
        // "..." may stand for any run of axes when nothing is omitted, else only for a tail of the kept
        // items (anything after it binds to the last axes, which would change what the items mean).
        const b = keep === shape.length ? ellipsis[1] % (keep + 1) : keep;
        const a = ellipsis[0] % (b + 1);
        kept = [...kept.slice(0, a), "...", ...kept.slice(b)];
      }
      return { shape, chunkShape, items: kept };
    });
}

const caseArb = caseArbOf(4, 9);
/** Fewer, larger arrays: long contiguous runs reach the bulk set/fill paths of the copy kernels. */
const largeCaseArb = caseArbOf(2, 64);
const LARGE_RUNS = 300;

const dtypes: Array<{ ctor: ArrayCtor; value: (i: number) => number | bigint; pad: number | bigint; sentinel: number | bigint }> = [
  { ctor: Float64Array, value: (i) => i + 1, pad: -7, sentinel: -99 },
  { ctor: Int32Array, value: (i) => i + 1, pad: -7, sentinel: -99 },
  { ctor: BigInt64Array, value: (i) => BigInt(i + 1), pad: -7n, sentinel: -99n },
  { ctor: Uint16Array, value: (i) => i + 1, pad: 65000, sentinel: 65001 },
];

/** A destination layout: axis order (by key), flipped axes, a gap between elements, and the element type. */
interface Layout {
  keys: number[];
  flips: boolean[];
  gap: number;
  dtype: number;
}
const layoutArb: fc.Arbitrary<Layout> = fc.record({
  keys: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  flips: fc.array(fc.integer({ min: 0, max: 3 }).map((x) => x === 0), { minLength: 4, maxLength: 4 }),
  gap: fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.constant(2), weight: 1 }),
  dtype: fc.integer({ min: 0, max: dtypes.length - 1 }),
});

/** Strides and offset for a buffer holding `shape` with the given layout (not necessarily C order). */
function layoutView(shape: number[], layout: { keys: number[]; flips: boolean[]; gap: number }) {
  const order = shape.map((_, axis) => axis).sort((x, y) => layout.keys[x] - layout.keys[y] || x - y);
  const strides = new Array<number>(shape.length);
  let stride = layout.gap;
  for (let k = order.length - 1; k >= 0; k--) {
    strides[order[k]] = stride;
    stride *= shape[order[k]];
  }
  let offset = 0;
  shape.forEach((n, axis) => {
    if (layout.flips[axis] && n > 0) {
      offset += (n - 1) * strides[axis];
      strides[axis] = -strides[axis];
    }
  });
  return { strides, offset, size: Math.max(1, product(shape) * layout.gap) };
}

// ---------------------------------------------------------------------------------------------
// Brute-force checks of the plan

function checkPlan(c: Case, ref: ReferenceSelection): void {
  const sel = normaliseSelection(c.items, c.shape);
  const plan = planChunks(sel, c.shape, c.chunkShape);

  // Exactly the chunks holding selected elements, once each, in C order of grid index, with their counts.
  const perAxisCounts = ref.lists.map((list, axis) => {
    const counts = new Map<number, number>();
    for (const i of list) {
      const g = Math.floor(i / c.chunkShape[axis]);
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    return counts;
  });
  const expected: Array<{ grid: number[]; count: number }> = [];
  const gridShape = c.shape.map((n, axis) => Math.ceil(n / c.chunkShape[axis]));
  forEachIndex(gridShape, (grid) => {
    const count = grid.reduce((acc, g, axis) => acc * (perAxisCounts[axis].get(g) ?? 0), 1);
    if (count > 0) expected.push({ grid: [...grid], count });
  });
  expect(plan.map((p) => ({ grid: p.gridIndex, count: p.count }))).toEqual(expected);

  // coversChunk: every element of the chunk's whole extent is selected (so a ragged edge chunk never is:
  // its part past the shape cannot be selected).
  const selectedSets = ref.lists.map((list) => new Set(list));
  for (const p of plan) {
    let all = true;
    forEachIndex(c.chunkShape, (local) => {
      const global = local.map((i, axis) => p.gridIndex[axis] * c.chunkShape[axis] + i);
      if (!global.every((g, axis) => selectedSets[axis].has(g))) all = false;
    });
    expect(p.coversChunk).toBe(all);
  }
}

// ---------------------------------------------------------------------------------------------

describe("selection against a brute-force reference", () => {
  it("normalises to the reference shapes and plans exactly the touched chunks", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const ref = referenceSelection(c.items, c.shape);
        const sel = normaliseSelection(c.items, c.shape);
        expect(sel.selectionShape).toEqual(ref.lists.map((l) => l.length));
        expect(sel.outputShape).toEqual(outputShapeOf(ref));
        checkPlan(c, ref);
      }),
      { numRuns: RUNS },
    );
  });

  it("reads through planChunks + copyChunkToSelection like a nested gather", () => {
    fc.assert(fc.property(caseArb, layoutArb, checkRead), { numRuns: RUNS });
  });

  it("reads larger arrays (bulk copy paths) like a nested gather", () => {
    fc.assert(fc.property(largeCaseArb, layoutArb, checkRead), { numRuns: LARGE_RUNS });
  });

  it("writes through planChunks + copySelectionToChunk like a scatter (broadcast, last write wins)", () => {
    fc.assert(fc.property(caseArb, valueShapeArb, checkWrite), { numRuns: RUNS });
  });

  it("writes larger arrays (bulk copy and fill paths) like a scatter", () => {
    fc.assert(fc.property(largeCaseArb, valueShapeArb, checkWrite), { numRuns: LARGE_RUNS });
  });
});

function checkRead(c: Case, layout: Layout): void {
  const dtype = dtypes[layout.dtype];
  const source = Array.from({ length: product(c.shape) }, (_, i) => dtype.value(i));
  const chunks = toChunks(source, c.shape, c.chunkShape, dtype.ctor, dtype.pad);
  const ref = referenceSelection(c.items, c.shape);

  const sel = normaliseSelection(c.items, c.shape);
  const out = layoutView(sel.outputShape, layout);
  const buffer = new dtype.ctor(out.size);
  const view: StridedView<TypedArray> = {
    data: buffer,
    offset: out.offset,
    strides: selectionStridesFromOutput(sel, out.strides),
  };
  for (const p of planChunks(sel, c.shape, c.chunkShape)) {
    copyChunkToSelection(chunks.get(p.gridIndex.join(","))!, c.chunkShape, view, p);
  }

  const got: unknown[] = [];
  forEachIndex(sel.outputShape, (o) => {
    got.push(buffer[out.offset + o.reduce((acc, i, axis) => acc + i * out.strides[axis], 0)]);
  });
  expect(got).toEqual(referenceGather(source, c.shape, ref));
}

const valueShapeArb = fc.record({
  dropLeading: fc.integer({ min: 0, max: 4 }),
  ones: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  extraLeadingOne: fc.boolean(),
  dtype: fc.integer({ min: 0, max: dtypes.length - 1 }),
});

function checkWrite(c: Case, v: { dropLeading: number; ones: boolean[]; extraLeadingOne: boolean; dtype: number }): void {
  const dtype = dtypes[v.dtype];
  const original = Array.from({ length: product(c.shape) }, (_, i) => dtype.value(i));
  const chunks = toChunks(original, c.shape, c.chunkShape, dtype.ctor, dtype.pad);
  const ref = referenceSelection(c.items, c.shape);
  const sel = normaliseSelection(c.items, c.shape);

  // A value that broadcasts onto the output shape: some axes 1, leading axes dropped or an extra 1.
  let valueShape = sel.outputShape.map((n, axis) => (v.ones[axis] ? 1 : n)).slice(v.dropLeading);
  if (v.extraLeadingOne) valueShape = [1, ...valueShape];
  const value = new dtype.ctor(product(valueShape));
  for (let i = 0; i < value.length; i++) (value as unknown as unknown[])[i] = dtype.value(1000 + i);
  const src: StridedView<TypedArray> = {
    data: value,
    offset: 0,
    strides: selectionStridesFromOutput(sel, broadcastStrides(valueShape, sel.outputShape)),
  };

  for (const p of planChunks(sel, c.shape, c.chunkShape)) {
    const key = p.gridIndex.join(",");
    let chunk: TypedArray;
    if (p.coversChunk) {
      // No read-modify-write: start from garbage; the copy must overwrite every in-bounds element.
      chunk = new dtype.ctor(product(c.chunkShape));
      (chunk as unknown as { fill(x: unknown): void }).fill(dtype.sentinel);
      copySelectionToChunk(src, chunk, c.chunkShape, p);
      expect(inBoundsContains(chunk, p.gridIndex, c.shape, c.chunkShape, dtype.sentinel)).toBe(false);
    } else {
      chunk = chunks.get(key)!.slice();
      copySelectionToChunk(src, chunk, c.chunkShape, p);
    }
    chunks.set(key, chunk);
  }

  const expected = [...original];
  referenceScatter(expected, c.shape, ref, Array.from(value as ArrayLike<unknown>), valueShape);
  expect(fromChunks(chunks, c.shape, c.chunkShape)).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------

/** Spell items as numpy text, independently of formatSelection, with random spacing and spellings. */
function spell(items: SelectionItem[], style: { spaces: boolean[]; none: boolean; pythonBools: boolean }): string {
  let k = 0;
  const sp = () => (style.spaces[k++ % style.spaces.length] ? " " : "");
  const bound = (b: number | null) => (b === null ? (style.none ? "None" : "") : String(b));
  return items
    .map((item) => {
      if (item === null) return `${sp()}:${sp()}`;
      if (item === "...") return `${sp()}...${sp()}`;
      if (typeof item === "number" || typeof item === "bigint") return `${sp()}${item}${sp()}`;
      if (typeof item === "object" && "kind" in item) {
        const step = item.step === null && !style.none ? "" : `${sp()}:${sp()}${bound(item.step)}`;
        return `${sp()}${bound(item.start)}${sp()}:${sp()}${bound(item.stop)}${step}${sp()}`;
      }
      const values = Array.from(item as ArrayLike<unknown>, (x) =>
        typeof x === "boolean" ? (style.pythonBools ? (x ? "True" : "False") : String(x)) : String(x),
      );
      return `${sp()}[${sp()}${values.join(`,${sp()}`)}${sp()}]${sp()}`;
    })
    .join(",");
}

describe("parseSelection round trip", () => {
  it("a random selection spelled as text normalises like the selection itself", () => {
    const styleArb = fc.record({
      spaces: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      none: fc.boolean(),
      pythonBools: fc.boolean(),
    });
    fc.assert(
      fc.property(caseArb, styleArb, (c, style) => {
        const direct = normaliseSelection(c.items, c.shape);
        expect(normaliseSelection(spell(c.items, style), c.shape)).toEqual(direct);
        expect(normaliseSelection(parseSelection(formatSelection(c.items)), c.shape)).toEqual(direct);
      }),
      { numRuns: RUNS },
    );
  });
});
