/**
 * The slab planner of HDF5 transfers (pure): slabs are whole chunks (ragged only at the array's
 * end), about the byte budget, never smaller than one chunk, and cover every element exactly once.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { regionSize, slabRegions, slabShapeOf } from "../../src/hdf5/slabs.js";

describe("slabShapeOf", () => {
  it("grows along the last axes first, by whole chunks, within the budget", () => {
    expect(slabShapeOf([100, 100], [10, 10], 4, 400)).toEqual([10, 10]);
    expect(slabShapeOf([100, 100], [10, 10], 4, 4000)).toEqual([10, 100]);
    expect(slabShapeOf([100, 100], [10, 10], 4, 12000)).toEqual([30, 100]);
    expect(slabShapeOf([100, 100], [10, 10], 4, 1e9)).toEqual([100, 100]);
    // a budget below one chunk still moves one chunk; chunks larger than the array are clamped
    expect(slabShapeOf([100, 100], [10, 10], 4, 1)).toEqual([10, 10]);
    expect(slabShapeOf([5, 3], [64, 64], 8, 1)).toEqual([5, 3]);
  });
});

describe("slabRegions", () => {
  it("cover every element exactly once, in C order, cut at chunk boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 2000 }),
        (axes, budget) => {
          const shape = axes.map(([n]) => n);
          const chunks = axes.map(([, c]) => c);
          const slab = slabShapeOf(shape, chunks, 1, budget);
          const counts = new Map<string, number>();
          let previous: number[] | undefined;
          for (const region of slabRegions(shape, slab)) {
            const start = region.map(([a]) => a);
            if (previous) {
              const axis = start.findIndex((v, i) => v !== previous![i]);
              expect(axis >= 0 && start[axis] > previous[axis], "C order").toBe(true);
            }
            previous = start;
            region.forEach(([a, b], axis) => {
              expect(a % chunks[axis]).toBe(0);
              if (b !== shape[axis]) expect(b % chunks[axis]).toBe(0);
            });
            const visit = (axis: number, index: number[]) => {
              if (axis === shape.length) return void counts.set(index.join(","), (counts.get(index.join(",")) ?? 0) + 1);
              for (let i = region[axis][0]; i < region[axis][1]; i++) visit(axis + 1, [...index, i]);
            };
            visit(0, []);
            expect(regionSize(region)).toBeGreaterThan(0);
          }
          const size = shape.reduce((a, b) => a * b, 1);
          expect(counts.size).toBe(size);
          expect([...counts.values()].every((n) => n === 1)).toBe(true);
        },
      ),
    );
  });

  it("yields nothing for an empty array", () => {
    expect([...slabRegions([0, 5], [2, 2])]).toEqual([]);
  });
});
