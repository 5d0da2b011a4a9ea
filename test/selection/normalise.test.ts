/** Hand-picked numpy cases (worked out by hand, checked against numpy) and every error case. */
import { describe, expect, it } from "vitest";
import { SelectionError, ShapeError } from "../../src/errors.js";
import {
  normaliseSelection,
  slice,
  sliceIndices,
  type AxisSelection,
  type Selection,
} from "../../src/selection/index.js";
import pythonSlices from "./fixtures/python-slices.json" with { type: "json" };
import { pythonSliceList } from "./reference.js";

/** The indices an axis selection yields, in order. */
function indicesOf(a: AxisSelection): number[] {
  if (a.kind === "int") return [a.index];
  if (a.kind === "points") return Array.from(a.indices);
  return Array.from({ length: a.count }, (_, i) => a.start + i * a.step);
}

function selected(sel: Selection, shape: number[]): number[][] {
  return normaliseSelection(sel, shape).axes.map(indicesOf);
}

describe("slices against Python", () => {
  it("sliceIndices and the test reference agree with list(range(n))[start:stop:step] from Python", () => {
    const { lengths, steps, bounds, results } = pythonSlices;
    let k = 0;
    for (const n of lengths) {
      for (const step of steps) {
        for (const start of bounds) {
          for (const stop of bounds) {
            const expected = results[k++].split("").map(Number);
            const r = sliceIndices(slice(start, stop, step), n);
            const got = Array.from({ length: r.count }, (_, i) => r.start + i * r.step);
            expect(got, `range(${n})[${start}:${stop}:${step}]`).toEqual(expected);
            expect(pythonSliceList(n, start, stop, step)).toEqual(expected);
          }
        }
      }
    }
    expect(k).toBe(results.length);
  });

  it("clips out-of-range bounds and handles negative steps on a length-10 axis", () => {
    const cases: Array<[string, number[]]> = [
      ["::-1", [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ["-3:", [7, 8, 9]],
      ["8:2:-2", [8, 6, 4]],
      ["-100:100", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ["100:", []],
      ["5:1", []],
      [":-100:-1", [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ["-100::-1", []],
      ["3::-1", [3, 2, 1, 0]],
      ["::3", [0, 3, 6, 9]],
      ["1::3", [1, 4, 7]],
      ["-1:-11:-3", [9, 6, 3, 0]],
    ];
    for (const [text, expected] of cases) expect(selected(text, [10])[0], text).toEqual(expected);
  });

  it("normalises a slice to start, step and count as slice.indices() does", () => {
    expect(normaliseSelection("8:2:-2", [10]).axes).toEqual([{ kind: "slice", start: 8, step: -2, count: 3 }]);
    expect(normaliseSelection(":-100:-1", [10]).axes).toEqual([{ kind: "slice", start: 9, step: -1, count: 10 }]);
    expect(normaliseSelection("100:", [10]).axes[0]).toMatchObject({ kind: "slice", count: 0 });
  });
});

describe("normaliseSelection on a (2, 3, 4) array", () => {
  const shape = [2, 3, 4];
  const cases: Array<[Selection, number[], number[][]]> = [
    // selection, numpy result shape, selected indices per axis
    ["1", [3, 4], [[1], [0, 1, 2], [0, 1, 2, 3]]],
    ["..., 1", [2, 3], [[0, 1], [0, 1, 2], [1]]],
    ["1, ..., 2", [3], [[1], [0, 1, 2], [2]]],
    ["1, 2, 3", [], [[1], [2], [3]]],
    ["-1, -1, -1", [], [[1], [2], [3]]],
    ["...", [2, 3, 4], [[0, 1], [0, 1, 2], [0, 1, 2, 3]]],
    ["", [2, 3, 4], [[0, 1], [0, 1, 2], [0, 1, 2, 3]]],
    [undefined, [2, 3, 4], [[0, 1], [0, 1, 2], [0, 1, 2, 3]]],
    ["0, ..., 1, 2", [], [[0], [1], [2]]],
    [":, [2, 0, 2, -1]", [2, 4, 4], [[0, 1], [2, 0, 2, 2], [0, 1, 2, 3]]],
    ["[true, false], 1", [1, 4], [[0], [1], [0, 1, 2, 3]]],
    ["-1, ::-2, 1:3", [2, 2], [[1], [2, 0], [1, 2]]],
    [":, 5:", [2, 0, 4], [[0, 1], [], [0, 1, 2, 3]]],
    // the same through values instead of text
    [[1, null, slice(1, 3)], [3, 2], [[1], [0, 1, 2], [1, 2]]],
    [[-1n, slice(null, null, -2)], [2, 4], [[1], [2, 0], [0, 1, 2, 3]]],
    [["...", Int32Array.of(3, -4)], [2, 3, 2], [[0, 1], [0, 1, 2], [3, 0]]],
    [[null, null, BigInt64Array.of(-1n, 0n)], [2, 3, 2], [[0, 1], [0, 1, 2], [3, 0]]],
    [[null, Uint8Array.of(2, 2)], [2, 2, 4], [[0, 1], [2, 2], [0, 1, 2, 3]]],
    [[null, Float64Array.of(1)], [2, 1, 4], [[0, 1], [1], [0, 1, 2, 3]]],
    [[null, []], [2, 0, 4], [[0, 1], [], [0, 1, 2, 3]]],
    [[null, [false, false, false]], [2, 0, 4], [[0, 1], [], [0, 1, 2, 3]]],
    // single items and a top-level mask apply to axis 0
    [1, [3, 4], [[1], [0, 1, 2], [0, 1, 2, 3]]],
    [slice(1), [1, 3, 4], [[0], [0, 1, 2], [0, 1, 2, 3]]],
    [null, [2, 3, 4], [[0, 1], [0, 1, 2], [0, 1, 2, 3]]],
    [[false, true], [1, 3, 4], [[1], [0, 1, 2], [0, 1, 2, 3]]],
    [Int32Array.of(1, 0), [2, 3, 4], [[1, 0], [0, 1, 2], [0, 1, 2, 3]]],
  ];
  for (const [sel, outputShape, indices] of cases) {
    it(`selects ${typeof sel === "string" ? JSON.stringify(sel) : JSON.stringify(sel, (_, v) => (typeof v === "bigint" ? `${v}n` : ArrayBuffer.isView(v) ? `${v.constructor.name}(${Array.from(v as Int32Array)})` : v))}`, () => {
      const n = normaliseSelection(sel, shape);
      expect(n.outputShape).toEqual(outputShape);
      expect(n.selectionShape).toEqual(indices.map((l, axis) => (n.axes[axis].kind === "int" ? 1 : l.length)));
      expect(n.axes.map(indicesOf)).toEqual(indices);
    });
  }

  it("indexes several arrays orthogonally (zarr oindex), not with numpy's broadcast pairing", () => {
    // numpy: b[[0, 1], [0, 2]] has shape (2, 4) pairing (0,0), (1,2); dosna takes the outer product.
    const n = normaliseSelection([[0, 1], [0, 2]], shape);
    expect(n.outputShape).toEqual([2, 2, 4]);
  });

  it("marks int axes and keeps them in selectionShape with size 1", () => {
    const n = normaliseSelection("1, :2", shape);
    expect(n.axes[0]).toEqual({ kind: "int", index: 1 });
    expect(n.selectionShape).toEqual([1, 2, 4]);
    expect(n.outputShape).toEqual([2, 4]);
  });

  it("gives a 0-d result for a 0-d array and an empty selection", () => {
    expect(normaliseSelection("", [])).toEqual({ axes: [], selectionShape: [], outputShape: [] });
    expect(normaliseSelection("...", [])).toEqual({ axes: [], selectionShape: [], outputShape: [] });
  });

  it("turns a mask into the positions of its true values", () => {
    const n = normaliseSelection([[true, false, true, true]], [4]);
    expect(n.axes[0]).toEqual({ kind: "points", indices: Int32Array.of(0, 2, 3) });
  });
});

describe("normaliseSelection errors", () => {
  const cases: Array<[Selection, number[], string | RegExp]> = [
    ["12", [10], "index 12 is out of bounds for axis 0 with size 10"],
    ["-11", [10], "index -11 is out of bounds for axis 0 with size 10"],
    ["0, 12", [3, 10], "index 12 is out of bounds for axis 1 with size 10"],
    ["0", [0], "index 0 is out of bounds for axis 0 with size 0"],
    [[0, 99n], [3, 10], "index 99 is out of bounds for axis 1 with size 10"],
    ["1, 2, 3, 0", [2, 3, 4], "too many indices for array: array is 3-dimensional, but 4 were indexed"],
    ["0", [], "too many indices for array: array is 0-dimensional, but 1 were indexed"],
    ["..., ...", [2, 3], "an index can only have a single ellipsis ('...')"],
    ["::0", [10], "slice step cannot be zero (axis 0)"],
    [[null, slice(1, 2, 0)], [3, 3], "slice step cannot be zero (axis 1)"],
    ["[true, false, true]", [2, 3], "boolean index did not match indexed array along axis 0; size of axis is 2 but size of corresponding boolean axis is 3"],
    [":, [0, 3]", [2, 3], "index 3 is out of bounds for axis 1 with size 3"],
    [":, [0, -4]", [2, 3], "index -4 is out of bounds for axis 1 with size 3"],
    [[Int32Array.of(5)], [5], "index 5 is out of bounds for axis 0 with size 5"],
    [[1.5], [5], "1.5 is not a valid index for axis 0; indices must be integers"],
    [[NaN], [5], "NaN is not a valid index for axis 0; indices must be integers"],
    [[[0, 1.5]], [5], "index array for axis 0 holds 1.5 at position 1; indices must be integers"],
    [[Float64Array.of(0.5)], [5], "index array for axis 0 holds 0.5 at position 0; indices must be integers"],
    [[[0, true] as unknown as number[]], [5], "index array for axis 0 mixes booleans and integers"],
    [[[true, 0] as unknown as boolean[]], [2], "boolean mask for axis 0 holds 0 at position 1; expected only booleans"],
    [[[[0]] as unknown as number[]], [5], "index array for axis 0 is nested"],
    [[0, true] as unknown as Selection, [5, 5], "a boolean is not a valid index"],
    [[undefined] as unknown as Selection, [5], "undefined is not a valid index; use null or slice() for a whole axis"],
    [[{ kind: "slice", start: 1.5, stop: null, step: null }], [5], "slice start must be an integer or null, got 1.5"],
    [[{ foo: 1 }] as unknown as Selection, [5], 'an object is not a valid index for axis 0; expected an integer, a slice, null, "...", an integer array or a boolean array'],
    ["1:a", [5], 'invalid selection "1:a" at position 2'],
  ];
  for (const [sel, shape, message] of cases) {
    it(`rejects ${String(typeof sel === "string" ? JSON.stringify(sel) : sel)} on shape [${shape}]: ${message}`, () => {
      expect(() => normaliseSelection(sel, shape)).toThrow(SelectionError);
      expect(() => normaliseSelection(sel, shape)).toThrow(message);
    });
  }

  it("names the dataset in messages when given", () => {
    expect(() => normaliseSelection("0, 12", [3, 10], "dataset /a/b")).toThrow(
      "dataset /a/b: index 12 is out of bounds for axis 1 with size 10",
    );
    expect(() => normaliseSelection("1:a", [3], "dataset /a/b")).toThrow('dataset /a/b: invalid selection "1:a" at position 2');
  });

  it("rejects a shape that is not non-negative integers", () => {
    expect(() => normaliseSelection("", [3, -1])).toThrow(ShapeError);
    expect(() => normaliseSelection("", [3, -1])).toThrow("array shape [3, -1] has -1 on axis 1; expected non-negative integers");
  });
});

describe("slice()", () => {
  it("reads one argument as the stop, like Python", () => {
    expect(slice(5)).toEqual({ kind: "slice", start: null, stop: 5, step: null });
    expect(slice()).toEqual({ kind: "slice", start: null, stop: null, step: null });
    expect(slice(1, 5)).toEqual({ kind: "slice", start: 1, stop: 5, step: null });
    expect(slice(null, null, -1)).toEqual({ kind: "slice", start: null, stop: null, step: -1 });
    expect(slice(2n, undefined, 3n)).toEqual({ kind: "slice", start: 2, stop: null, step: 3 });
  });

  it("rejects non-integer bounds", () => {
    expect(() => slice(1.5)).toThrow(new SelectionError("slice stop must be an integer or null, got 1.5"));
    expect(() => slice(0, 1, 0.5)).toThrow("slice step must be an integer or null, got 0.5");
  });
});
