/** Hand-picked chunk plans, copies and broadcasts, worked out by hand. */
import { describe, expect, it } from "vitest";
import { DtypeError, ShapeError } from "../../src/errors.js";
import {
  broadcastStrides,
  chunkGridShape,
  copyChunkToSelection,
  copySelectionToChunk,
  cOrderStrides,
  normaliseSelection,
  outputView,
  planChunks,
  selectionStridesFromOutput,
  type Selection,
  type TypedArray,
} from "../../src/selection/index.js";
import { fromChunks, toChunks, type ArrayCtor } from "./chunked-memory.js";

/** Read a selection from a chunked in-memory copy of a C-order array. */
function readChunked<T extends TypedArray>(
  source: T,
  shape: number[],
  chunkShape: number[],
  sel: Selection,
): { data: T; shape: number[] } {
  const ctor = source.constructor as unknown as ArrayCtor;
  const chunks = toChunks(source, shape, chunkShape, ctor, typeof source[0] === "bigint" ? -1n : -1);
  const n = normaliseSelection(sel, shape);
  const data = new ctor(n.outputShape.reduce((a, b) => a * b, 1)) as T;
  const view = outputView(n, data);
  for (const p of planChunks(n, shape, chunkShape)) copyChunkToSelection(chunks.get(p.gridIndex.join(","))!, chunkShape, view, p);
  return { data, shape: n.outputShape };
}

describe("chunkGridShape", () => {
  it("divides with ceiling", () => {
    expect(chunkGridShape([10, 0, 7, 1], [3, 4, 7, 5])).toEqual([4, 0, 1, 1]);
    expect(chunkGridShape([], [])).toEqual([]);
  });

  it("rejects chunk shapes that do not fit the array", () => {
    expect(() => chunkGridShape([10], [0])).toThrow(new ShapeError("chunk shape [0] has 0 on axis 0; expected positive integers"));
    expect(() => chunkGridShape([10, 2], [5])).toThrow("chunk shape [5] has 1 axes but the array shape [10, 2] has 2");
  });
});

describe("planChunks", () => {
  it("plans a negative step over ragged chunks in grid order", () => {
    // indices 4, 2, 0 of a length-5 axis in chunks of 2: one element from each chunk.
    const plan = planChunks(normaliseSelection("::-2", [5]), [5], [2]);
    expect(plan).toEqual([
      { gridIndex: [0], axes: [{ kind: "run", gridIndex: 0, chunkStart: 0, chunkStep: -2, outStart: 2, count: 1 }], coversChunk: false, count: 1 },
      { gridIndex: [1], axes: [{ kind: "run", gridIndex: 1, chunkStart: 0, chunkStep: -2, outStart: 1, count: 1 }], coversChunk: false, count: 1 },
      // the edge chunk holds only index 4 in bounds, but past the edge it has room for another: not covered
      { gridIndex: [2], axes: [{ kind: "run", gridIndex: 2, chunkStart: 0, chunkStep: -2, outStart: 0, count: 1 }], coversChunk: false, count: 1 },
    ]);
  });

  it("skips chunks a large step jumps over", () => {
    const plan = planChunks(normaliseSelection("1::7", [20]), [20], [3]);
    // indices 1, 8, 15 live in chunks 0, 2, 5
    expect(plan.map((p) => p.gridIndex[0])).toEqual([0, 2, 5]);
    expect(plan.map((p) => p.axes[0])).toEqual([
      { kind: "run", gridIndex: 0, chunkStart: 1, chunkStep: 7, outStart: 0, count: 1 },
      { kind: "run", gridIndex: 2, chunkStart: 2, chunkStep: 7, outStart: 1, count: 1 },
      { kind: "run", gridIndex: 5, chunkStart: 0, chunkStep: 7, outStart: 2, count: 1 },
    ]);
  });

  it("groups index arrays by chunk, keeping repeats in selection order", () => {
    const plan = planChunks(normaliseSelection([[3, 1, 3, 0]], [4]), [4], [2]);
    expect(plan).toEqual([
      {
        gridIndex: [0],
        axes: [{ kind: "points", gridIndex: 0, chunkIndices: Int32Array.of(1, 0), outIndices: Int32Array.of(1, 3), count: 2 }],
        coversChunk: true,
        count: 2,
      },
      {
        gridIndex: [1],
        axes: [{ kind: "points", gridIndex: 1, chunkIndices: Int32Array.of(1, 1), outIndices: Int32Array.of(0, 2), count: 2 }],
        coversChunk: false,
        count: 2,
      },
    ]);
  });

  it("turns evenly spaced points into runs", () => {
    const mask = [false, true, true, true, false, true];
    const plan = planChunks(normaliseSelection([mask], [6]), [6], [4]);
    expect(plan.map((p) => p.axes[0])).toEqual([
      { kind: "run", gridIndex: 0, chunkStart: 1, chunkStep: 1, outStart: 0, count: 3 },
      { kind: "run", gridIndex: 1, chunkStart: 1, chunkStep: 1, outStart: 3, count: 1 },
    ]);
    expect(plan.map((p) => p.coversChunk)).toEqual([false, false]);
  });

  it("plans int axes as one-element runs at selection position 0", () => {
    const plan = planChunks(normaliseSelection("7, 1:", [10, 3]), [10, 3], [4, 3]);
    expect(plan).toEqual([
      {
        gridIndex: [1, 0],
        axes: [
          { kind: "run", gridIndex: 1, chunkStart: 3, chunkStep: 1, outStart: 0, count: 1 },
          { kind: "run", gridIndex: 0, chunkStart: 1, chunkStep: 1, outStart: 0, count: 2 },
        ],
        coversChunk: false,
        count: 2,
      },
    ]);
  });

  it("marks chunks covered when their whole extent is selected; a ragged edge chunk never is", () => {
    const plan = planChunks(normaliseSelection("1:, :", [7, 5]), [7, 5], [3, 3]);
    // rows 1..6 over row-chunks [0..2], [3..5], [6]; all columns (column-chunk 1 is ragged: 3..4)
    expect(plan.map((p) => [p.gridIndex, p.coversChunk, p.count])).toEqual([
      [[0, 0], false, 6],
      [[0, 1], false, 4],
      [[1, 0], true, 9],
      [[1, 1], false, 6],
      [[2, 0], false, 3],
      [[2, 1], false, 2],
    ]);
  });

  it("returns no chunks for an empty selection, and one for a 0-d array", () => {
    expect(planChunks(normaliseSelection("5:2", [10, 10]), [10, 10], [3, 3])).toEqual([]);
    expect(planChunks(normaliseSelection([null, []], [10, 10]), [10, 10], [3, 3])).toEqual([]);
    expect(planChunks(normaliseSelection("", [0, 4]), [0, 4], [2, 2])).toEqual([]);
    expect(planChunks(normaliseSelection("", []), [], [])).toEqual([{ gridIndex: [], axes: [], coversChunk: true, count: 1 }]);
  });

  it("rejects a selection normalised for another rank", () => {
    expect(() => planChunks(normaliseSelection("", [3]), [3, 3], [1, 1])).toThrow(
      "selection has 1 axes but the array shape [3, 3] has 2",
    );
  });
});

describe("copyChunkToSelection", () => {
  const shape = [4, 5];
  const source = Float64Array.from({ length: 20 }, (_, i) => Math.floor(i / 5) * 10 + (i % 5)); // value = 10*row + col

  it("gathers rows with a negative step and repeated columns", () => {
    const r = readChunked(source, shape, [3, 2], "::-2, [4, 0, 4]");
    expect(r.shape).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual([34, 30, 34, 14, 10, 14]);
  });

  it("drops int axes and reads a 0-d result", () => {
    expect(Array.from(readChunked(source, shape, [3, 2], "-1, 1:4").data)).toEqual([31, 32, 33]);
    const r = readChunked(source, shape, [3, 2], "2, -2");
    expect(r.shape).toEqual([]);
    expect(Array.from(r.data)).toEqual([23]);
  });

  it("reads a 0-d array", () => {
    expect(Array.from(readChunked(Int16Array.of(42), [], [], "").data)).toEqual([42]);
  });

  const kinds: ArrayCtor[] = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array];
  for (const ctor of kinds) {
    it(`copies ${ctor.name} through the bulk path (whole chunks, long rows)`, () => {
      const data = new ctor(6 * 64);
      for (let i = 0; i < data.length; i++) (data as Uint8Array)[i] = i % 100;
      // chunk [2, 64] spans whole rows, so each chunk is one contiguous run of 128 elements
      const r = readChunked(data, [6, 64], [2, 64], "");
      expect(r.data).toEqual(data);
      const row = readChunked(data, [6, 64], [4, 40], "1, 3:60").data;
      expect(Array.from(row as ArrayLike<unknown>)).toEqual(Array.from(data.subarray(67, 124) as ArrayLike<unknown>));
    });
  }

  it("copies BigInt64Array and BigUint64Array without conversion", () => {
    const big = BigInt64Array.from({ length: 40 }, (_, i) => BigInt(i) * 10n ** 15n - 5n);
    expect(readChunked(big, [40], [16], "").data).toEqual(big);
    expect(Array.from(readChunked(big, [40], [16], "::-13").data)).toEqual([big[39], big[26], big[13], big[0]]);
    const ubig = BigUint64Array.from({ length: 6 }, (_, i) => 2n ** 63n + BigInt(i));
    expect(Array.from(readChunked(ubig, [2, 3], [1, 2], ":, [2, 0]").data)).toEqual([ubig[2], ubig[0], ubig[5], ubig[3]]);
  });

  it("writes into a view with arbitrary strides and offset (here a transposed, reversed buffer)", () => {
    const n = normaliseSelection("", [2, 3]);
    const chunk = Int32Array.of(1, 2, 3, 4, 5, 6);
    const out = new Int32Array(6);
    // element (i, j) at 5 - (i + 2*j): column-major, both axes reversed
    copyChunkToSelection(chunk, [2, 3], { data: out, offset: 5, strides: [-1, -2] }, planChunks(n, [2, 3], [2, 3])[0]);
    expect(Array.from(out)).toEqual([6, 3, 5, 2, 4, 1]);
  });

  it("refuses mismatched element types and wrong chunk lengths", () => {
    const n = normaliseSelection("", [4]);
    const p = planChunks(n, [4], [4])[0];
    expect(() => copyChunkToSelection(new Float32Array(4), [4], outputView(n, new Float64Array(4)), p)).toThrow(
      new DtypeError("cannot copy between a Float32Array chunk and a Float64Array buffer; element types must match"),
    );
    expect(() => copyChunkToSelection(new Float64Array(3), [4], outputView(n, new Float64Array(4)), p)).toThrow(
      new ShapeError("chunk holds 3 elements but chunk shape [4] needs 4"),
    );
  });
});

describe("copySelectionToChunk", () => {
  function writeChunked<T extends TypedArray>(
    target: T,
    shape: number[],
    chunkShape: number[],
    sel: Selection,
    value: T,
    valueShape: number[],
  ): unknown[] {
    const ctor = target.constructor as unknown as ArrayCtor;
    const chunks = toChunks(target, shape, chunkShape, ctor, typeof target[0] === "bigint" ? -1n : -1);
    const n = normaliseSelection(sel, shape);
    const src = { data: value, offset: 0, strides: selectionStridesFromOutput(n, broadcastStrides(valueShape, n.outputShape)) };
    for (const p of planChunks(n, shape, chunkShape)) copySelectionToChunk(src, chunks.get(p.gridIndex.join(","))!, chunkShape, p);
    return fromChunks(chunks, shape, chunkShape);
  }

  it("lets the last of repeated indices win, as numpy does", () => {
    const got = writeChunked(new Float64Array(6), [6], [4], [[1, 5, 1]], Float64Array.of(7, 8, 9), [3]);
    expect(got).toEqual([0, 9, 0, 0, 0, 8]);
  });

  it("broadcasts a scalar over a large region (fill path) and a row over rows", () => {
    const filled = writeChunked(new Int32Array(8 * 50), [8, 50], [4, 50], "2:6", Int32Array.of(5), []);
    expect(filled).toEqual(Array.from({ length: 400 }, (_, i) => (i >= 100 && i < 300 ? 5 : 0)));
    const row = Int32Array.from({ length: 3 }, (_, i) => i + 1);
    expect(writeChunked(new Int32Array(12), [4, 3], [3, 2], "1:3", row, [3])).toEqual([0, 0, 0, 1, 2, 3, 1, 2, 3, 0, 0, 0]);
  });

  it("writes long contiguous rows (bulk set path) and BigInt values", () => {
    const value = Uint16Array.from({ length: 120 }, (_, i) => i + 1);
    const got = writeChunked(new Uint16Array(3 * 40), [3, 40], [3, 40], "", value, [3, 40]);
    expect(got).toEqual(Array.from(value));
    const big = writeChunked(new BigInt64Array(5), [5], [2], "::-2", BigInt64Array.of(-1n, -2n, -3n), [3]);
    expect(big).toEqual([-3n, 0n, -2n, 0n, -1n]);
  });

  it("writes through an int axis", () => {
    expect(writeChunked(new Float64Array(6), [2, 3], [1, 2], "1, ::-1", Float64Array.of(1, 2, 3), [3])).toEqual([0, 0, 0, 3, 2, 1]);
  });
});

describe("strides and broadcasting", () => {
  it("computes C-order strides", () => {
    expect(cOrderStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(cOrderStrides([])).toEqual([]);
    expect(cOrderStrides([5, 0, 2])).toEqual([0, 2, 1]);
  });

  it("broadcasts like numpy", () => {
    expect(broadcastStrides([3], [2, 3])).toEqual([0, 1]);
    expect(broadcastStrides([2, 1], [2, 3])).toEqual([1, 0]);
    expect(broadcastStrides([1, 1, 3], [3])).toEqual([1]);
    expect(broadcastStrides([], [2, 2])).toEqual([0, 0]);
    expect(broadcastStrides([4, 5], [4, 5])).toEqual([5, 1]);
    expect(broadcastStrides([1], [])).toEqual([]);
    expect(broadcastStrides([0], [0])).toEqual([1]);
    expect(broadcastStrides([1], [0])).toEqual([0]);
  });

  it("names both shapes when they do not broadcast", () => {
    expect(() => broadcastStrides([2, 3], [4, 3])).toThrow(
      new ShapeError("could not broadcast input array from shape (2,3) into shape (4,3)"),
    );
    expect(() => broadcastStrides([2, 3], [3])).toThrow("could not broadcast input array from shape (2,3) into shape (3,)");
    expect(() => broadcastStrides([2], [], "dataset /x")).toThrow("dataset /x: could not broadcast input array from shape (2,) into shape ()");
    expect(() => broadcastStrides([0], [3])).toThrow(ShapeError);
  });

  it("expands output strides to selection strides with 0 on int axes", () => {
    const n = normaliseSelection("1, :, 2, :", [3, 4, 5, 6]);
    expect(selectionStridesFromOutput(n, [6, 1])).toEqual([0, 6, 0, 1]);
    expect(outputView(n, new Float32Array(24))).toMatchObject({ offset: 0, strides: [0, 6, 0, 1] });
    expect(() => selectionStridesFromOutput(n, [1])).toThrow("expected 2 output strides for output shape (4,6), got 1");
  });
});
