/**
 * Property test at the dataset level, on every backend: random shapes (1–4 axes of 1–12), chunk
 * shapes, all 11 dtypes, fill values, and random selections (ints, slices with any bounds and
 * steps, "...", omitted trailing axes, index arrays, boolean masks; as strings and as items).
 * Each case does random writes (a scalar or a value of the selection's shape in several forms,
 * some broadcast) and random reads, comparing the whole array with a brute-force reference after
 * every write.
 */
import fc from "fast-check";
import ndarray from "ndarray";
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { seededRandom } from "../helpers/random.js";
import { referenceGet, referenceSet, valuesOf } from "../helpers/reference.js";
import { selectionFor, selectionGeneArb, type SelectionGene } from "../helpers/random-selection.js";
import { asScalar, ELEMENT_CTORS, filledElements, fillValueOfKind, randomElement, type Element, type ElementArray, type FillKind } from "../helpers/random-values.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const RUNS: Record<string, number> = { memory: 1500, fs: 150 };
const DEFAULT_RUNS = 50; // remote backends (S3) pay a round trip per chunk request
/** Chunks per axis are capped so a case touches at most ~128 chunks (keeps the fs runs quick). */
const MAX_GRID_PER_AXIS = [0, 12, 11, 5, 3];

type ValueForm = "scalar" | "flat" | "ndarray" | "row" | "nested" | "leading1";
const VALUE_FORMS: ValueForm[] = ["scalar", "flat", "ndarray", "row", "nested", "leading1"];

interface Step {
  write: SelectionGene;
  form: ValueForm;
  /** Probability that a written element is the fill value (so chunks become all fill and are deleted). */
  fillShare: number;
  read: SelectionGene;
}

interface Case {
  shape: number[];
  chunkGenes: number[];
  dtype: dn.DataType;
  fillKind: FillKind;
  gzip: boolean;
  njobs: number;
  steps: Step[];
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
  chunkGenes: fc.array(fc.integer({ min: 1, max: 14 }), { minLength: 4, maxLength: 4 }),
  dtype: fc.constantFrom(...PLAIN_DATA_TYPES),
  fillKind: fc.constantFrom("default", "random", "special"),
  gzip: fc.boolean(),
  njobs: fc.integer({ min: 1, max: 8 }),
  steps: fc.array(
    fc.record({
      write: selectionGeneArb,
      form: fc.constantFrom(...VALUE_FORMS),
      fillShare: fc.constantFrom(0, 0.3, 1),
      read: selectionGeneArb,
    }),
    { minLength: 1, maxLength: 3 },
  ),
  seed: fc.integer(),
});

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Nested JS array of `shape` from flat C-order scalars. */
function nest(flat: dn.Scalar[], shape: readonly number[]): dn.NestedArray {
  if (shape.length === 1) return flat;
  const inner = product(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

/** The value to write in the requested form, and the flat C-order elements it stands for. */
function makeValue(c: Case, step: Step, outShape: number[], fill: Element, next: () => number): { value: dn.WritableValue; flat: ElementArray } {
  const ctor = ELEMENT_CTORS[c.dtype];
  const size = product(outShape);
  const draw = () => (next() < step.fillShare ? fill : randomElement(c.dtype, next));
  const flat = new ctor(size);
  let form = step.form;
  if (form === "row" && outShape.length === 0) form = "scalar";
  if (form === "nested" && (outShape.length === 0 || size === 0)) form = "flat";
  switch (form) {
    case "scalar": {
      const e = draw();
      for (let i = 0; i < size; i++) flat[i] = e;
      return { value: asScalar(c.dtype, e), flat };
    }
    case "row": {
      const last = outShape[outShape.length - 1];
      const row = new ctor(last);
      for (let i = 0; i < last; i++) row[i] = draw();
      for (let i = 0; i < size; i++) flat[i] = row[i % last];
      return { value: row as dn.TypedArray, flat };
    }
    default: {
      for (let i = 0; i < size; i++) flat[i] = draw();
      if (form === "flat") return { value: flat as dn.TypedArray, flat };
      if (form === "ndarray") return { value: ndarray(flat as dn.TypedArray, outShape), flat };
      if (form === "leading1") return { value: ndarray(flat as dn.TypedArray, [1, ...outShape]), flat };
      return { value: nest(Array.from(flat, (e) => asScalar(c.dtype, e)), outShape), flat };
    }
  }
}

for (const kind of backendKinds) {
  describe(`dataset property test on ${kind.name}`, () => {
    const suite = poolSuiteOn(kind, "property");
    let counter = 0;

    async function check(c: Case): Promise<void> {
      const next = seededRandom(c.seed);
      const ndim = c.shape.length;
      const chunks = c.shape.map((n, axis) => Math.max(c.chunkGenes[axis], Math.ceil(n / MAX_GRID_PER_AXIS[ndim])));
      const fillValue = fillValueOfKind(c.dtype, c.fillKind, next);
      const ds = await suite.pool.createDataset(`case-${counter++}`, {
        shape: c.shape,
        dtype: c.dtype,
        chunks,
        fillValue,
        compression: c.gzip ? "gzip" : undefined,
        njobs: c.njobs,
      });
      const ctor = ELEMENT_CTORS[c.dtype];
      const { elements: reference, fill } = filledElements(c.dtype, product(c.shape), fillValue);

      for (const step of c.steps) {
        const write = selectionFor(step.write, c.shape);
        const outShape = referenceGet(reference, c.shape, write.reference).shape;
        const { value, flat } = makeValue(c, step, outShape, fill, next);
        await ds.set(write.selection, value);
        referenceSet(reference, c.shape, write.reference, flat);
        const whole = await ds.read();
        expect(whole.data).toBeInstanceOf(ctor);
        expect(valuesOf(whole.data), `after writing [${write.text}]`).toEqual(valuesOf(reference));

        const read = selectionFor(step.read, c.shape);
        const got = await ds.get(read.selection);
        const expected = referenceGet(reference, c.shape, read.reference);
        expect(got.shape, `shape of [${read.text}]`).toEqual(expected.shape);
        expect(valuesOf(got.data), `values of [${read.text}]`).toEqual(expected.values);
      }
      await ds.delete();
    }

    it(`matches the reference on ${RUNS[kind.name] ?? DEFAULT_RUNS} random cases`, async () => {
      await fc.assert(fc.asyncProperty(caseArb, check), { numRuns: RUNS[kind.name] ?? DEFAULT_RUNS });
    }, 120_000);

    it("hand-picked edge cases", async () => {
      const ds = await suite.pool.createDataset(`edges-${counter++}`, { shape: [7, 5], dtype: "int16", chunks: [3, 2], fillValue: -7 });
      const values = Int16Array.from({ length: 35 }, (_, i) => i * 11 - 100);
      await ds.load(ndarray(values, [7, 5]));
      // Ragged edge chunks, negative steps, empty selections, 0-d results, repeated indices.
      const cases: Array<[dn.Selection, number[], Element[]]> = [
        ["6, 4", [], [values[34]]],
        ["::-3, -1", [3], [values[34], values[19], values[4]]],
        ["5:2, :", [0, 5], []],
        ["[], 1", [0], []],
        ["[2, 2, -1], ::-2", [3, 3], [14, 12, 10, 14, 12, 10, 34, 32, 30].map((i) => values[i])],
        ["..., [true, false, false, false, true]", [7, 2], Array.from({ length: 14 }, (_, k) => values[Math.floor(k / 2) * 5 + (k % 2) * 4])],
      ];
      for (const [selection, shape, expected] of cases) {
        const got = await ds.get(selection);
        expect(got.shape).toEqual(shape);
        expect(valuesOf(got.data)).toEqual(expected);
      }
      // Repeated indices in a write: the last occurrence wins, as in numpy.
      await ds.set("[1, 1], 0", new Int16Array([5, 6]));
      expect(valuesOf((await ds.get("1, 0")).data)).toEqual([6]);
      // An empty write changes nothing.
      const before = valuesOf((await ds.read()).data);
      await ds.set("3:3", 1);
      expect(valuesOf((await ds.read()).data)).toEqual(before);
    });
  });
}
