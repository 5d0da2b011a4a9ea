/**
 * Pointwise selection (selection/points.ts, behind ds.vindex): normalising coordinate arrays and
 * masks, grouping the points by chunk, and the two copy kernels, over chunked storage simulated in
 * memory, against a brute force that indexes the flat array point by point, and (mixed with
 * slices) against numpy run through /usr/bin/python3.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SelectionError } from "../../src/errors.js";
import {
  copyChunkToPoints,
  copyPointsToChunk,
  normalisePoints,
  planPointChunks,
  slice,
  type PointSelection,
} from "../../src/selection/index.js";
import { hasNumpy } from "../npy/numpy-oracle.js";
import { numpyPointReads, randomMixedSelections, toDosnaItem } from "../helpers/point-selections.js";
import { fromChunks, toChunks } from "./chunked-memory.js";
import { flatIndex, product } from "./reference.js";

const RUNS = 400;

/** Coordinate items as numpy takes them: integers, equal-length arrays and length-1 arrays (both broadcast). */
type Item = number | number[];

/** The brute-force meaning of 1-d coordinate items: point i takes item[i] (an integer or a length-1 array repeats). */
function referencePoints(items: Item[], shape: number[]): number[][] {
  const lengths = items.filter((x): x is number[] => Array.isArray(x)).map((x) => x.length);
  const n = lengths.find((l) => l !== 1) ?? 1;
  const points: number[][] = [];
  for (let i = 0; i < n; i++) {
    points.push(
      items.map((item, axis) => {
        const v = typeof item === "number" ? item : item.length === 1 ? item[0] : item[i];
        return v < 0 ? v + shape[axis] : v;
      }),
    );
  }
  return points;
}

function gather(flat: number[], shape: number[], chunkShape: number[], sel: PointSelection): number[] {
  const points = normalisePoints(sel, shape);
  const chunks = toChunks(flat, shape, chunkShape, Float64Array, -1);
  const out = new Float64Array(points.count);
  const plans = planPointChunks(points, shape, chunkShape);
  const seen = new Set<string>();
  for (const plan of plans) {
    const key = plan.gridIndex.join(",");
    expect(seen.has(key), `chunk [${key}] planned twice`).toBe(false);
    seen.add(key);
    copyChunkToPoints(chunks.get(key)!, product(chunkShape), out, plan);
  }
  return Array.from(out);
}

function scatter(flat: number[], shape: number[], chunkShape: number[], sel: PointSelection, values: number[]): number[] {
  const points = normalisePoints(sel, shape);
  const chunks = toChunks(flat, shape, chunkShape, Float64Array, -1);
  for (const plan of planPointChunks(points, shape, chunkShape)) {
    copyPointsToChunk(Float64Array.from(values), chunks.get(plan.gridIndex.join(","))!, product(chunkShape), plan);
  }
  return fromChunks(chunks, shape, chunkShape) as number[];
}

const caseArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 4 })
  .chain((axes) => {
    const shape = axes.map(([n]) => n);
    const chunkShape = axes.map(([, c]) => c);
    return fc.integer({ min: 0, max: 12 }).chain((n) => {
      const itemArb = (size: number): fc.Arbitrary<Item> => {
        const index = fc.integer({ min: -size, max: size - 1 });
        return fc.oneof({ weight: 6, arbitrary: fc.array(index, { minLength: n, maxLength: n }) }, { weight: 1, arbitrary: index }, { weight: 1, arbitrary: index.map((i) => [i]) });
      };
      return fc.record({
        shape: fc.constant(shape),
        chunkShape: fc.constant(chunkShape),
        items: fc.tuple(...shape.map((size) => itemArb(size))),
        seed: fc.integer(),
      });
    });
  });

describe("pointwise selection against a brute force", () => {
  it("reads every point from the chunk holding it, each touched chunk planned once", () => {
    fc.assert(
      fc.property(caseArb, ({ shape, chunkShape, items }) => {
        const flat = Array.from({ length: product(shape) }, (_, i) => i * 10 + 1);
        const expected = referencePoints(items, shape).map((p) => flat[flatIndex(p, shape)]);
        const got = gather(flat, shape, chunkShape, items);
        expect(got).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("writes every point, the last of repeated points winning", () => {
    fc.assert(
      fc.property(caseArb, ({ shape, chunkShape, items, seed }) => {
        const flat = Array.from({ length: product(shape) }, (_, i) => i);
        const points = referencePoints(items, shape);
        const values = points.map((_, i) => 1000 + ((seed + i * 7919) % 997));
        const expected = [...flat];
        for (let i = 0; i < points.length; i++) expected[flatIndex(points[i], shape)] = values[i];
        expect(scatter(flat, shape, chunkShape, items, values)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("plans the chunks of the points in C order, and only those", () => {
    fc.assert(
      fc.property(caseArb, ({ shape, chunkShape, items }) => {
        const plans = planPointChunks(normalisePoints(items, shape), shape, chunkShape);
        const keys = plans.map((p) => p.gridIndex);
        const expected = [...new Set(referencePoints(items, shape).map((p) => p.map((c, a) => Math.floor(c / chunkShape[a])).join(",")))]
          .map((k) => k.split(",").map(Number))
          .sort((x, y) => {
            for (let a = 0; a < x.length; a++) if (x[a] !== y[a]) return x[a] - y[a];
            return 0;
          });
        expect(keys).toEqual(expected);
        for (const plan of plans) for (let k = 1; k < plan.positions.length; k++) expect(plan.positions[k]).toBeGreaterThan(plan.positions[k - 1]);
      }),
      { numRuns: RUNS },
    );
  });

  it("a mask selects its true positions in C order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
          fc.record({ shape: fc.constant(shape), chunk: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: shape.length, maxLength: shape.length }), bits: fc.array(fc.boolean(), { minLength: product(shape), maxLength: product(shape) }) }),
        ),
        ({ shape, chunk, bits }) => {
          const flat = Array.from({ length: product(shape) }, (_, i) => i * 3);
          const expected = flat.filter((_, i) => bits[i]);
          const strided = { data: Uint8Array.from(bits, Number), shape };
          expect(gather(flat, shape, chunk, strided)).toEqual(expected);
          expect(normalisePoints(nest(bits, shape), shape).outputShape).toEqual([expected.length]);
          expect(gather(flat, shape, chunk, nest(bits, shape))).toEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** A flat C-order list as nested arrays of `shape`. */
function nest<T>(flat: T[], shape: number[]): PointSelection & unknown[] {
  if (shape.length === 1) return flat.slice(0, shape[0]) as PointSelection & unknown[];
  const inner = product(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1))) as PointSelection & unknown[];
}

describe("normalisePoints", () => {
  it("broadcasts coordinate arrays like numpy: integers and length-1 arrays repeat, N-d arrays shape the result", () => {
    const shape = [5, 6];
    expect(normalisePoints([[1, 2, 3], 4], shape).outputShape).toEqual([3]);
    expect(normalisePoints([[1], [0, 1, 2, 3]], shape).outputShape).toEqual([4]);
    const grid = normalisePoints([[[0], [1], [2]], [[3, 4]]], shape);
    expect(grid.outputShape).toEqual([3, 2]);
    expect(Array.from(grid.coordinates[0])).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(grid.coordinates[1])).toEqual([3, 4, 3, 4, 3, 4]);
    expect(normalisePoints([2, -1], shape)).toMatchObject({ outputShape: [], count: 1 });
    expect(Array.from(normalisePoints([2, -1], shape).coordinates[1])).toEqual([5]);
  });

  it("takes typed arrays, bigints, strided arrays and numpy text", () => {
    const shape = [10, 10];
    const a = normalisePoints([Int32Array.of(1, -2), BigInt64Array.of(3n, 4n)], shape);
    expect(a.coordinates.map((c) => Array.from(c))).toEqual([[1, 8], [3, 4]]);
    const b = normalisePoints([{ data: Float64Array.of(9, 8, 7, 6), shape: [2], stride: [-2], offset: 3 }, 0], shape);
    expect(Array.from(b.coordinates[0])).toEqual([6, 8]);
    const c = normalisePoints("[1, 2, 3], [4, 5, -6]", shape);
    expect(c.coordinates.map((x) => Array.from(x))).toEqual([[1, 2, 3], [4, 5, 4]]);
    expect(normalisePoints("[true, false, true]", [3]).coordinates.map((x) => Array.from(x))).toEqual([[0, 2]]);
    const d = normalisePoints("[0, 2], :, -1", [3, 2, 4]);
    expect({ shape: d.outputShape, coordinates: d.coordinates.map((x) => Array.from(x)) }).toEqual({ shape: [2, 2], coordinates: [[0, 0, 2, 2], [0, 1, 0, 1], [3, 3, 3, 3]] });
    expect(normalisePoints([true, false, true], [3]).count).toBe(2);
  });

  it("slices keep their axis where numpy puts it: in place of adjacent arrays, else after them", () => {
    const coords = (sel: PointSelection, shape: number[]) => {
      const p = normalisePoints(sel, shape);
      return { shape: p.outputShape, coordinates: p.coordinates.map((c) => Array.from(c)) };
    };
    expect(coords([null, [0, 2], [1, 3]], [2, 3, 4])).toEqual({ shape: [2, 2], coordinates: [[0, 0, 1, 1], [0, 2, 0, 2], [1, 3, 1, 3]] });
    expect(coords([[0, 1], slice(null, null, -1), 2], [2, 2, 3])).toEqual({ shape: [2, 2], coordinates: [[0, 0, 1, 1], [1, 0, 1, 0], [2, 2, 2, 2]] });
    expect(coords(["...", [0, 2]], [2, 3])).toEqual({ shape: [2, 2], coordinates: [[0, 0, 1, 1], [0, 2, 0, 2]] });
    expect(coords([1, null], [2, 3])).toEqual({ shape: [3], coordinates: [[1, 1, 1], [0, 1, 2]] });
    expect(coords([slice(5, 9), [0]], [3, 3])).toEqual({ shape: [0, 1], coordinates: [[], []] });
  });

  it("a 0-d array has one point, selected by an empty list", () => {
    const points = normalisePoints([], []);
    expect(points).toMatchObject({ outputShape: [], count: 1 });
    expect(planPointChunks(points, [], [])).toEqual([expect.objectContaining({ gridIndex: [] })]);
  });

  it("empty coordinate arrays select nothing and plan no chunk", () => {
    const points = normalisePoints([[], []], [4, 4]);
    expect(points).toMatchObject({ outputShape: [0], count: 0 });
    expect(planPointChunks(points, [4, 4], [2, 2])).toEqual([]);
  });

  const errors: [string, PointSelection, number[], RegExp][] = [
    ["arrays of different lengths", [[1, 2, 3], [1, 2]], [5, 5], /coordinate arrays of different lengths \(axis 0: length 3, axis 1: length 2\).*shapes \(3,\) \(2,\)/],
    ["an index past the end", [[0, 1], [2, 12]], [5, 10], /^index 12 is out of bounds for axis 1 with size 10$/],
    ["a negative index before the start", [[-6], [0]], [5, 10], /^index -6 is out of bounds for axis 0 with size 5$/],
    ["too few arrays", [[1, 2]], [5, 5], /one item \(coordinate array, integer or slice\) per axis: the array is 2-dimensional \(shape \[5, 5\]\) but 1 was given; use null/],
    ["too many arrays", [[1], [1], [1]], [5, 5], /2-dimensional .* but 3 were given/],
    ["too many arrays beside an ellipsis", [[1], "...", [1], [1]] as never, [5, 5], /too many indices for array: array is 2-dimensional, but 3 were indexed/],
    ["two ellipses", ["...", "..."] as never, [5, 5], /single ellipsis/],
    ["one array for a 1-d array, unwrapped", [1, 2, 3] as never, [5], /1-dimensional .* 3 were given; for a 1-d array put the coordinate array in a list: \[\[0, 4, 2\]\]/],
    ["a zero slice step", [slice(0, 2, 0), [1, 2]] as never, [5, 5], /slice step cannot be zero \(axis 0\)/],
    ["a fraction", [[1.5], [0]], [5, 5], /axis 0 holds 1.5 at position 0; coordinates must be integers/],
    ["a mask of the wrong shape", [[true, false], [false, true]], [2, 3], /boolean index did not match indexed array along axis 1; size of axis is 3 but size of corresponding boolean axis is 2/],
    ["a mask of the wrong rank", [true, false], [2, 3], /mask of shape \[2\] does not fit the array.*\[2, 3\]/],
    ["a mask with a number in it", [[true, 1], [false, true]] as never, [2, 2], /boolean mask holds 1 at flat position 1/],
    ["a ragged array", [[[1, 2], [3]], 0] as never, [5, 5], /not rectangular/],
    ["bad text", "[1, 2", [5], /./],
  ];
  for (const [name, sel, shape, pattern] of errors) {
    it(`refuses ${name} with a SelectionError naming it`, () => {
      let error: unknown;
      try {
        normalisePoints(sel, shape);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SelectionError);
      expect((error as Error).message).toMatch(pattern);
    });
  }

  it("prefixes errors with what is indexed", () => {
    expect(() => normalisePoints([[7]], [3], 'dataset "/d"')).toThrow(/^dataset "\/d": index 7 is out of bounds for axis 0 with size 3$/);
  });
});

describe("copy kernels", () => {
  it("copy every entry of a multi-entry element (interleaved complex pairs)", () => {
    const shape = [4];
    const chunkShape = [2];
    const plans = planPointChunks(normalisePoints([[3, 0]], shape), shape, chunkShape);
    // Two entries per element: chunk 1 holds elements 2 and 3 as [re, im] pairs.
    const chunks = [Float32Array.of(0, 0.5, 1, 1.5), Float32Array.of(2, 2.5, 3, 3.5)];
    const out = new Float32Array(4);
    for (const plan of plans) copyChunkToPoints(chunks[plan.gridIndex[0]], 2, out, plan);
    expect(Array.from(out)).toEqual([3, 3.5, 0, 0.5]);
    for (const plan of plans) copyPointsToChunk(Float32Array.of(9, 9.5, 8, 8.5), chunks[plan.gridIndex[0]], 2, plan);
    expect(Array.from(chunks[0])).toEqual([8, 8.5, 1, 1.5]);
    expect(Array.from(chunks[1])).toEqual([2, 2.5, 9, 9.5]);
  });

  it("refuse buffers of different element types", () => {
    const [plan] = planPointChunks(normalisePoints([[0]], [2]), [2], [2]);
    expect(() => copyChunkToPoints(new Float32Array(2), 2, new Float64Array(1), plan)).toThrow(/Float32Array chunk and a Float64Array buffer/);
  });
});

describe("mixed selections (arrays, integers, slices, null, ...) against numpy", () => {
  const cases: { shape: number[]; chunkShapes: number[][]; count: number }[] = [
    { shape: [7, 6, 5], chunkShapes: [[2, 3, 2], [7, 6, 5], [1, 4, 3]], count: 300 },
    // Four axes: a slice can stand before arrays that a slice separates (numpy then puts the points first).
    { shape: [4, 3, 5, 2], chunkShapes: [[3, 2, 2, 1], [4, 3, 5, 2]], count: 200 },
  ];
  for (const { shape, chunkShapes, count } of cases) {
    it.skipIf(!hasNumpy)(`${count} random selections on [${shape}] give numpy's shape and values, through chunks of several shapes`, async () => {
      const values = Array.from({ length: product(shape) }, (_, i) => i);
      const selections = randomMixedSelections(shape, count, 42);
      const expected = await numpyPointReads(values, shape, selections);
      for (const [k, sel] of selections.entries()) {
        const items = sel.map(toDosnaItem) as PointSelection;
        const chunkShape = chunkShapes[k % chunkShapes.length];
        const got = { shape: normalisePoints(items, shape).outputShape, values: gather(values, shape, chunkShape, items) };
        expect(got, JSON.stringify(sel)).toEqual(expected[k]);
      }
    });
  }
});
