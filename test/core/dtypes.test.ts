/**
 * Every data type on every backend: created (by Zarr name and numpy spelling), written, read back
 * and reopened; fill values of every type (NaN, ±Infinity, 64-bit extremes) survive a reopen and
 * fill every unwritten element; reads come back in the right typed array.
 */
import ndarray from "ndarray";
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { referenceSet, valuesOf } from "../helpers/reference.js";

const SHAPE = [5, 7];
const CHUNKS = [2, 3];
const REGION = "1:4, 2:6"; // 3 × 4, across chunk borders on both axes
const REGION_ITEMS = [{ slice: [1, 4, null] as [number, number, null] }, { slice: [2, 6, null] as [number, number, null] }];

type Element = number | bigint;
type ArrayCtor = new (length: number) => ArrayLike<Element> & { [i: number]: Element };

interface DtypeCase {
  dtype: dn.DataType;
  ctor: ArrayCtor;
  /** Fill values as a caller may give them. */
  fills: dn.Scalar[];
  /** Elements worth storing: the extremes and the awkward ones. */
  samples: Element[];
}

const f32 = Math.fround;
const CASES: DtypeCase[] = [
  { dtype: "bool", ctor: Uint8Array, fills: [false, true], samples: [1, 0, 1, 1, 0] },
  { dtype: "int8", ctor: Int8Array, fills: [0, -128, 127], samples: [-128, 127, 0, -1, 1] },
  { dtype: "int16", ctor: Int16Array, fills: [-32768, 32767], samples: [-32768, 32767, 0, -300, 300] },
  { dtype: "int32", ctor: Int32Array, fills: [-(2 ** 31), 2 ** 31 - 1], samples: [-(2 ** 31), 2 ** 31 - 1, 0, -70000, 70000] },
  {
    dtype: "int64",
    ctor: BigInt64Array,
    fills: [0n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -5],
    samples: [-(2n ** 63n), 2n ** 63n - 1n, 0n, -(2n ** 53n) - 1n, 2n ** 53n + 1n],
  },
  { dtype: "uint8", ctor: Uint8Array, fills: [0, 255], samples: [0, 255, 1, 128, 254] },
  { dtype: "uint16", ctor: Uint16Array, fills: [65535], samples: [0, 65535, 1, 40000, 65534] },
  { dtype: "uint32", ctor: Uint32Array, fills: [2 ** 32 - 1], samples: [0, 2 ** 32 - 1, 1, 3e9, 2 ** 31] },
  {
    dtype: "uint64",
    ctor: BigUint64Array,
    fills: [2n ** 64n - 1n, 2n ** 53n + 1n, 7],
    samples: [0n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 1n],
  },
  {
    dtype: "float32",
    ctor: Float32Array,
    fills: [NaN, Infinity, -Infinity, 0.5, f32(0.1), -3.4028234663852886e38],
    samples: [NaN, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45, f32(0.1), -2.5],
  },
  {
    dtype: "float64",
    ctor: Float64Array,
    fills: [NaN, Infinity, -Infinity, 1e300, 5e-324, -2.5],
    samples: [NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 0.1, -1e-300],
  },
];

/** What a fill value is once stored in a typed array of the case's type. */
function fillElement(c: DtypeCase, fill: dn.Scalar): Element {
  const one = new c.ctor(1);
  one[0] = typeof fill === "boolean" ? (fill ? 1 : 0) : c.ctor === BigInt64Array || c.ctor === BigUint64Array ? BigInt(fill) : Number(fill);
  return one[0];
}

/** The canonical Scalar dosna reports as `fillValue`. */
function canonicalFill(c: DtypeCase, fill: dn.Scalar): dn.Scalar {
  if (c.dtype === "bool") return fill === true || fill === 1;
  if (c.dtype === "int64" || c.dtype === "uint64") return BigInt(fill as number | bigint);
  return fill;
}

function samplesArray(c: DtypeCase, length: number, offset: number): ArrayLike<Element> & { [i: number]: Element } {
  const out = new c.ctor(length);
  for (let i = 0; i < length; i++) out[i] = c.samples[(i + offset) % c.samples.length];
  return out;
}

function label(v: unknown): string {
  return typeof v === "bigint" ? `${v}n` : String(v);
}

for (const kind of backendKinds) {
  describe(`data types on ${kind.name}`, () => {
    const suite = poolSuiteOn(kind, "dtypes");
    let counter = 0;

    /** The dataset as a fresh pool object sees it: everything re-read from storage. */
    async function reopen(name: string): Promise<dn.Dataset> {
      const again = await suite.cluster.getPool(suite.poolName);
      return again.getDataset(name);
    }

    for (const c of CASES) {
      for (const fill of c.fills) {
        it(`${c.dtype} with fill value ${label(fill)}: create, write, read, reopen`, async () => {
          const name = `${c.dtype}-${counter++}`;
          const ds = await suite.pool.createDataset(name, { shape: SHAPE, dtype: c.dtype, chunks: CHUNKS, fillValue: fill });
          expect(ds.dtype).toBe(c.dtype);
          expect(ds.fillValue).toEqual(canonicalFill(c, fill));

          const expected = new c.ctor(35);
          for (let i = 0; i < 35; i++) expected[i] = fillElement(c, fill);

          // Never written: every element reads as the fill value, in the dtype's typed array.
          const blank = await ds.read();
          expect(blank.data).toBeInstanceOf(c.ctor);
          expect(blank.shape).toEqual(SHAPE);
          expect(valuesOf(blank.data)).toEqual(valuesOf(expected));

          const values = samplesArray(c, 12, 0);
          await ds.set(REGION, values as dn.TypedArray);
          referenceSet(expected, SHAPE, REGION_ITEMS, values);
          const corner = c.samples[1];
          await ds.set("4, 6", c.dtype === "bool" ? corner === 1 : corner);
          expected[34] = corner;

          const got = await ds.read();
          expect(got.data).toBeInstanceOf(c.ctor);
          expect(valuesOf(got.data)).toEqual(valuesOf(expected));
          expect(valuesOf((await ds.get(REGION)).data)).toEqual(valuesOf(values));

          const again = await reopen(name);
          expect(again.dtype).toBe(c.dtype);
          expect(again.shape).toEqual(SHAPE);
          expect(again.chunks).toEqual(CHUNKS);
          expect(again.fillValue).toEqual(canonicalFill(c, fill));
          expect(typeof again.fillValue).toBe(typeof canonicalFill(c, fill));
          const reread = await again.read();
          expect(reread.data).toBeInstanceOf(c.ctor);
          expect(valuesOf(reread.data)).toEqual(valuesOf(expected));
          // A region never written in a reopened dataset is still the fill value.
          expect(valuesOf((await again.get("0, 0:2")).data)).toEqual([fillElement(c, fill), fillElement(c, fill)]);
        });
      }
    }

    it("zarr.json holds the Zarr name and the exact JSON fill value", async () => {
      const cases: Array<[dn.DataType, dn.Scalar, string]> = [
        ["float32", NaN, '"NaN"'],
        ["float64", Infinity, '"Infinity"'],
        ["float64", -Infinity, '"-Infinity"'],
        ["uint64", 2n ** 64n - 1n, "18446744073709551615"],
        ["int64", -(2n ** 63n), "-9223372036854775808"],
        ["int64", 2n ** 53n + 1n, "9007199254740993"],
        ["bool", true, "true"],
        ["int8", -128, "-128"],
      ];
      for (const [dtype, fill, json] of cases) {
        const ds = await suite.pool.createDataset(`json-${counter++}`, { shape: [3], dtype, fillValue: fill });
        const text = new TextDecoder().decode((await suite.pool.store.get(`${ds.path}/zarr.json`))!);
        expect(text).toMatch(new RegExp(`"data_type":\\s*"${dtype}"`));
        expect(text).toMatch(new RegExp(`"fill_value":\\s*${json.replace(/[-"]/g, "\\$&")}\\s*[,}]`));
      }
    });

    const spellings: Array<[string, dn.DataType]> = [
      ["<f4", "float32"],
      ["f8", "float64"],
      ["i2", "int16"],
      ["uint16", "uint16"],
      ["<i8", "int64"],
      [">u8", "uint64"],
      ["|b1", "bool"],
      ["?", "bool"],
      ["u1", "uint8"],
      ["double", "float64"],
    ];
    for (const [spelling, dtype] of spellings) {
      it(`numpy spelling ${JSON.stringify(spelling)} is ${dtype}, stored under its Zarr name`, async () => {
        const c = CASES.find((x) => x.dtype === dtype)!;
        const name = `spelling-${counter++}`;
        const ds = await suite.pool.createDataset(name, { shape: SHAPE, dtype: spelling, chunks: CHUNKS });
        expect(ds.dtype).toBe(dtype);
        const values = samplesArray(c, 35, 3);
        await ds.set(undefined, values as dn.TypedArray);
        const again = await reopen(name);
        expect(again.dtype).toBe(dtype);
        const meta = JSON.parse(new TextDecoder().decode((await suite.pool.store.get(`${ds.path}/zarr.json`))!)) as { data_type: string };
        expect(meta.data_type).toBe(dtype);
        const got = await again.read();
        expect(got.data).toBeInstanceOf(c.ctor);
        expect(valuesOf(got.data)).toEqual(valuesOf(values));
      });
    }

    it("data given as typed arrays picks the dtype; 64-bit data stays exact", async () => {
      const big = BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -1n]);
      const ds = await suite.pool.createDataset(`infer-${counter++}`, { data: big, shape: [2, 2], chunks: 1 });
      expect(ds.dtype).toBe("int64");
      const ubig = BigUint64Array.from([2n ** 64n - 1n, 2n ** 53n + 1n]);
      const uds = await suite.pool.createDataset(`infer-${counter++}`, { data: ubig });
      expect(uds.dtype).toBe("uint64");
      expect(valuesOf((await (await reopen(ds.name)).read()).data)).toEqual(valuesOf(big));
      expect(valuesOf((await (await reopen(uds.name)).read()).data)).toEqual(valuesOf(ubig));
      const bytes = await suite.pool.createDataset(`infer-${counter++}`, { data: new Uint8Array([0, 2, 255]) });
      expect(bytes.dtype).toBe("uint8");
      const flags = await suite.pool.createDataset(`infer-${counter++}`, { data: new Uint8Array([0, 1, 1]), dtype: "bool" });
      expect(flags.dtype).toBe("bool");
      expect(valuesOf((await flags.read()).data)).toEqual([0, 1, 1]);
    });

    it("plain numbers and booleans are converted to the dtype's elements", async () => {
      const i64 = await suite.pool.createDataset(`convert-${counter++}`, { shape: [2, 2], dtype: "int64" });
      await i64.set(undefined, [[1, -2], [2 ** 53 - 1, -(2 ** 53 - 1)]]);
      expect(valuesOf((await i64.read()).data)).toEqual([1n, -2n, 2n ** 53n - 1n, -(2n ** 53n - 1n)]);
      await i64.set("0", 5n);
      expect(valuesOf((await i64.get("0")).data)).toEqual([5n, 5n]);

      const flags = await suite.pool.createDataset(`convert-${counter++}`, { shape: [4], dtype: "bool" });
      await flags.set(undefined, [true, false, 1, 0]);
      expect(valuesOf((await flags.read()).data)).toEqual([1, 0, 1, 0]);
      await flags.set("1:3", true);
      expect(valuesOf((await flags.read()).data)).toEqual([1, 1, 1, 0]);
      await expect(flags.set("0", 2)).rejects.toBeInstanceOf(dn.DtypeError);
      await expect(flags.set(undefined, new Uint8Array([0, 1, 2, 1]))).rejects.toThrow(/2 is not a bool/);

      const f32s = await suite.pool.createDataset(`convert-${counter++}`, { shape: [3], dtype: "float32" });
      await f32s.set(undefined, ndarray(new Float64Array([0.1, 1e40, -1e-50]), [3]));
      expect(valuesOf((await f32s.read()).data)).toEqual([f32(0.1), Infinity, -0]);
    });
  });
}
