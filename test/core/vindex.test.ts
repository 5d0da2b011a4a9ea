/**
 * ds.vindex (pointwise selection, as zarr's vindex and numpy's integer-array indexing, mixed with
 * slices as numpy allows) on every backend: reads and writes compared with numpy run through /usr/bin/python3, a property test
 * against a brute force over random shapes, chunks and points, sharded arrays, the chunk requests
 * a pointwise read or write makes (each touched chunk once, njobs at a time), and errors that
 * store nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { backendKinds } from "../helpers/clusters.js";
import { expectError, expectErrorAndNoChange } from "../helpers/expect-error.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { numpyPointReads, randomMixedSelections, toDosnaItem, type NumpyItem } from "../helpers/point-selections.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { seededRandom } from "../helpers/random.js";
import { hasNumpy, python, requireNumpyOrWarn } from "../npy/numpy-oracle.js";

requireNumpyOrWarn();

const SHAPE = [13, 11, 5];
const CHUNKS = [4, 3, 2]; // ragged edge chunks on every axis
const SIZE = SHAPE.reduce((a, b) => a * b, 1);
const DATA = Int32Array.from({ length: SIZE }, (_, i) => ((i * 7919) % 100_003) - 50_000);

type Coordinates = (number | number[] | number[][])[];

/** A seeded boolean mask of `shape` as nested arrays, about `density` of it true. */
function randomMask(shape: number[], density: number, seed: number): dn.PointSelection {
  const random = seededRandom(seed);
  const build = (depth: number): unknown[] => Array.from({ length: shape[depth] }, () => (depth === shape.length - 1 ? random() < density : build(depth + 1)));
  return build(0) as dn.PointSelection;
}

const READS: { name: string; sel: Coordinates | dn.PointSelection; numpy: string }[] = [
  { name: "repeated, negative and corner points", sel: [[0, 12, -1, 5, 5], [10, 0, -11, 3, 3], [4, 0, -5, 2, 2]], numpy: "coords" },
  { name: "2-d coordinate arrays broadcast with an integer", sel: [[[0], [5], [12]], [[1, 2, 3, 4]], 2], numpy: "coords" },
  { name: "length-1 arrays repeating", sel: [[7], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [-1]], numpy: "coords" },
  { name: "integers only (a 0-d result)", sel: [3, -4, 1], numpy: "coords" },
  { name: "no points", sel: [[], [], []], numpy: "coords" },
  { name: "a boolean mask of the whole shape", sel: randomMask(SHAPE, 0.1, 7), numpy: "mask" },
];

/** numpy's `a[sel]` for each case (integer arrays as a tuple, or one mask), as shapes and flat lists. */
async function numpyReads(data: ArrayLike<number>, shape: number[], cases: { sel: unknown; numpy: string }[]): Promise<{ shape: number[]; values: number[] }[]> {
  const script = `
spec = json.loads(open(sys.argv[1]).read())
a = np.array(spec["data"], dtype=np.int64).reshape(spec["shape"])
out = []
for case in spec["cases"]:
    sel = np.array(case["sel"], dtype=bool) if case["numpy"] == "mask" else tuple(np.array(c, dtype=np.int64) for c in case["sel"])
    r = np.asarray(a[sel])
    out.append({"shape": list(r.shape), "values": r.ravel().tolist()})
print(json.dumps(out))
`;
  return JSON.parse(await withSpecFile({ data: Array.from(data), shape, cases }, (file) => python(script, [file])));
}

/** numpy's array after `a[sel] = value` for each write in turn. */
async function numpyWrites(data: ArrayLike<number>, shape: number[], writes: { sel: unknown; numpy: string; value: unknown }[]): Promise<number[]> {
  const script = `
spec = json.loads(open(sys.argv[1]).read())
a = np.array(spec["data"], dtype=np.int64).reshape(spec["shape"])
def item(x):
    if x is None: return slice(None)
    if x == "...": return Ellipsis
    if isinstance(x, dict): return slice(*x["slice"])
    return np.array(x, dtype=np.int64)
for w in spec["writes"]:
    sel = np.array(w["sel"], dtype=bool) if w["numpy"] == "mask" else tuple(item(c) for c in w["sel"])
    a[sel] = np.array(w["value"], dtype=np.int64)
print(json.dumps(a.ravel().tolist()))
`;
  return JSON.parse(await withSpecFile({ data: Array.from(data), shape, writes }, (file) => python(script, [file])));
}

async function withSpecFile<T>(spec: unknown, use: (file: string) => Promise<T>): Promise<T> {
  const { mkdtemp, rm, writeFile } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = await mkdtemp(join(tmpdir(), "dosna-vindex-"));
  try {
    const file = join(dir, "spec.json");
    await writeFile(file, JSON.stringify(spec));
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const flat = (a: { data: ArrayLike<number | bigint> }) => Array.from(a.data, Number);

for (const kind of backendKinds) {
  describe(`ds.vindex on ${kind.name}`, () => {
    const suite = poolSuiteOn(kind, "vindex");
    let counter = 0;
    const fresh = async (options: Record<string, unknown> = {}) =>
      suite.pool.createDataset(`d${counter++}`, { shape: SHAPE, dtype: "int32", chunks: CHUNKS, ...options } as never);

    it.skipIf(!hasNumpy)("reads points as numpy indexes them (repeats, negatives, broadcasting, 0-d, empty, mask)", async () => {
      const ds = await fresh();
      await ds.set(undefined, DATA);
      const expected = await numpyReads(DATA, SHAPE, READS);
      for (const [i, { name, sel }] of READS.entries()) {
        const got = await ds.vindex.get(sel as dn.PointSelection);
        expect({ shape: got.shape, values: flat(got) }, name).toEqual(expected[i]);
      }
      // The same points as typed arrays, bigints, an ndarray and numpy text.
      const [rows, cols, deps] = READS[0].sel as number[][];
      const typed = await ds.vindex.get([Int32Array.from(rows), BigInt64Array.from(cols, BigInt), Float64Array.from(deps)]);
      expect(flat(typed)).toEqual(expected[0].values);
      const text = await ds.vindex.get(`[${rows}], [${cols}], [${deps}]`);
      expect(flat(text)).toEqual(expected[0].values);
      const maskArray = { data: Uint8Array.from((READS[5].sel as unknown[]).flat(2) as boolean[], Number), shape: SHAPE, stride: [55, 5, 1], offset: 0 };
      expect(flat(await ds.vindex.get(maskArray))).toEqual(expected[5].values);
    });

    it.skipIf(!hasNumpy)("reads and writes coordinate arrays mixed with slices, integers, null and ... as numpy does", async () => {
      const ds = await fresh();
      await ds.set(undefined, DATA);
      const selections = randomMixedSelections(SHAPE, kind.name === "memory" ? 60 : 25, 5);
      const expected = await numpyPointReads(DATA, SHAPE, selections);
      for (const [k, sel] of selections.entries()) {
        const got = await ds.vindex.get(sel.map(toDosnaItem) as dn.PointSelection);
        expect({ shape: got.shape, values: flat(got) }, JSON.stringify(sel)).toEqual(expected[k]);
      }
      const writes = [
        { sel: [{ slice: [2, 9, 3] }, [0, 10, -1], [4, 0, 2]] as NumpyItem[], numpy: "coords", value: [[1, 2, 3], [4, 5, 6], [7, 8, 9]] },
        { sel: [[12, 0], null, 3] as NumpyItem[], numpy: "coords", value: [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11] },
        { sel: ["...", [1, 1]] as NumpyItem[], numpy: "coords", value: 42 },
      ];
      for (const w of writes) await ds.vindex.set(w.sel.map(toDosnaItem) as dn.PointSelection, w.value);
      expect(flat(await ds.read())).toEqual(await numpyWrites(DATA, SHAPE, writes));
    });

    it.skipIf(!hasNumpy)("reads points of chunks never written as the fill value", async () => {
      const ds = await fresh({ dtype: "float64", fillValue: -1 });
      const part = Float64Array.from({ length: 4 * 11 * 5 }, (_, i) => i + 0.5);
      await ds.set("4:8", part);
      const whole = Array.from({ length: SIZE }, (_, i) => (i >= 4 * 55 && i < 8 * 55 ? i - 4 * 55 + 0.5 : -1));
      const sel = [[0, 4, 7, 12, 5], [0, 10, 3, 1, 0], [0, 4, 2, 3, 1]];
      const got = await ds.vindex.get(sel);
      expect(flat(got)).toEqual(sel[0].map((r, k) => whole[r * 55 + sel[1][k] * 5 + sel[2][k]]));
      expect(got.data).toBeInstanceOf(Float64Array);
    });

    it.skipIf(!hasNumpy)("writes points as numpy assigns them (scalar, one value each, last of repeats wins, broadcast values, mask)", async () => {
      const ds = await fresh();
      await ds.set(undefined, DATA);
      const mask = randomMask(SHAPE, 0.05, 11);
      const writes = [
        { sel: [[0, 1, 2], [0, 1, 2], [0, 1, 2]], numpy: "coords", value: -5 },
        { sel: [[3, 3, 3, 12, -1], [4, 4, 4, 10, 0], [1, 1, 1, 4, 0]], numpy: "coords", value: [10, 20, 30, 40, 50] },
        { sel: [[[0], [5]], [[1, 2, 3]], 0], numpy: "coords", value: [100, 200, 300] },
        { sel: mask, numpy: "mask", value: 7 },
        { sel: [[], [], []], numpy: "coords", value: 1 },
      ];
      for (const w of writes) await ds.vindex.set(w.sel as dn.PointSelection, w.value as dn.WritableValue);
      expect(flat(await ds.read())).toEqual(await numpyWrites(DATA, SHAPE, writes));
      // Read back through a fresh handle: what was written is stored, not cached.
      const again = await suite.pool.getDataset(ds.name);
      expect(flat(await again.vindex.get([[3], [4], [1]]))).toEqual([30]);
    });

    it("matches a brute force on random shapes, chunks, points and values (property)", async () => {
      const runs = kind.name === "memory" ? 40 : 12;
      await fc.assert(
        fc.asyncProperty(
          fc
            .array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 3 })
            .chain((axes) =>
              fc.record({
                shape: fc.constant(axes.map(([n]) => n)),
                chunks: fc.constant(axes.map(([, c]) => c)),
                points: fc.array(fc.tuple(...axes.map(([n]) => fc.integer({ min: -n, max: n - 1 }))), { maxLength: 20 }),
                seed: fc.integer({ min: 0, max: 1000 }),
              }),
            ),
          async ({ shape, chunks, points, seed }) => {
            const ds = await suite.pool.createDataset(`p${counter++}`, { shape, dtype: "int16", chunks, fillValue: 3 });
            const size = shape.reduce((a, b) => a * b, 1);
            const start = Int16Array.from({ length: size }, (_, i) => (i * 31 + seed) % 1000);
            if (seed % 2 === 0) await ds.set(undefined, start);
            const before = seed % 2 === 0 ? Array.from(start) : new Array<number>(size).fill(3);
            const coords = shape.map((_, a) => points.map((p) => p[a]));
            const at = (p: number[]) => p.reduce((o, c, a) => o * shape[a] + (c < 0 ? c + shape[a] : c), 0);
            expect(flat(await ds.vindex.get(coords))).toEqual(points.map((p) => before[at(p)]));
            const values = points.map((_, i) => -(i + 1) * 7);
            await ds.vindex.set(coords, Int16Array.from(values));
            const after = [...before];
            points.forEach((p, i) => (after[at(p)] = values[i]));
            expect(flat(await ds.read())).toEqual(after);
            await ds.delete();
          },
        ),
        { numRuns: runs },
      );
    }, 120_000);

    it("reads and writes complex points as get and set do (each element's [re, im] together)", async () => {
      const ds = await suite.pool.createDataset(`c${counter++}`, { shape: [5, 4], dtype: "complex128", chunks: [2, 3] });
      await ds.set(undefined, Float64Array.from({ length: 40 }, (_, i) => i) as never);
      const rows = [0, 4, 2, 4];
      const cols = [1, 3, 0, 3];
      const got = await ds.vindex.get([rows, cols]);
      const one = async (r: number, c: number) => flat(await ds.get([r, c]));
      expect(got.shape).toEqual([4, 2]);
      expect(flat(got)).toEqual((await Promise.all(rows.map((r, k) => one(r, cols[k])))).flat());
      await ds.vindex.set([rows, cols], [[100, 1], [200, 2], [300, 3], [400, 4]] as never);
      expect([await one(0, 1), await one(4, 3), await one(2, 0), await one(1, 1)]).toEqual([[100, 1], [400, 4], [300, 3], [10, 11]]);
    });

    it("works on sharded arrays (inner chunks inside shard objects)", async () => {
      const ds = await suite.pool.createDataset(`s${counter++}`, { shape: [10, 9], dtype: "uint8", chunks: [2, 3], shards: [4, 6] });
      await ds.set(undefined, Uint8Array.from({ length: 90 }, (_, i) => i));
      const rows = [0, 9, 4, 4, 7];
      const cols = [0, 8, 5, 5, 1];
      expect(flat(await ds.vindex.get([rows, cols]))).toEqual(rows.map((r, k) => r * 9 + cols[k]));
      await ds.vindex.set([rows, cols], [200, 201, 202, 203, 204]);
      const expected = Array.from({ length: 90 }, (_, i) => i);
      rows.forEach((r, k) => (expected[r * 9 + cols[k]] = 200 + k));
      expect(flat(await ds.read())).toEqual(expected);
    });

    it("refuses bad selections and values, storing nothing", async () => {
      const ds = await fresh();
      await ds.set(undefined, DATA);
      const store = suite.pool.context.store;
      await expectErrorAndNoChange(store, () => ds.vindex.set([[1, 2, 3], [1, 2], [0, 0, 0]], 1), dn.SelectionError, [ds.describe, "coordinate arrays of different lengths", "axis 0: length 3", "axis 1: length 2"]);
      await expectErrorAndNoChange(store, () => ds.vindex.set([[0, 1], [2, 11], [0, 0]], 1), dn.SelectionError, ["index 11 is out of bounds for axis 1 with size 11"]);
      await expectErrorAndNoChange(store, () => ds.vindex.set([[0, 1], [2, 3]], 1), dn.SelectionError, ["3-dimensional", "2 were given"]);
      await expectErrorAndNoChange(store, () => ds.vindex.set([[0, 1], null, [0, 0]] as never, [1, 2, 3]), dn.ShapeError, ["could not broadcast input array from shape (3,) into shape (2,11)"]);
      await expectErrorAndNoChange(store, () => ds.vindex.set([[0, 1, 2], [0, 1, 2], [0, 1, 2]], [1, 2]), dn.ShapeError, ["could not broadcast input array from shape (2,) into shape (3,)"]);
      await expectErrorAndNoChange(store, () => ds.vindex.set(randomMask([13, 11, 4], 0.5, 1), 1), dn.SelectionError, ["size of axis is 5 but size of corresponding boolean axis is 4"]);
      await expectError(() => ds.vindex.get([[0], [0], [-6]]), dn.SelectionError, ["index -6 is out of bounds for axis 2 with size 5"]);
      expect(flat(await ds.read())).toEqual(Array.from(DATA));
    });

    it("a read-only handle reads points and refuses to write them", async () => {
      const ds = await fresh();
      await ds.vindex.set([[1], [2], [3]], 9);
      const readOnly = await suite.cluster.getPool(suite.poolName, { readOnly: true });
      const ro = await readOnly.getDataset(ds.name);
      expect(flat(await ro.vindex.get([[1], [2], [3]]))).toEqual([9]);
      await expectError(() => ro.vindex.set([[1], [2], [3]], 1), dn.ReadOnlyError, [ds.name]);
    });
  });
}

describe("the chunk requests of ds.vindex", () => {
  async function instrumented(delayMs = 0) {
    const store = new InstrumentedStore(new dn.MemoryStore(), { delayMs });
    const pool = await dn.Pool.initialise(store, { name: "vindex", provenance: false });
    const ds = await pool.createDataset("d", { shape: [24, 6], dtype: "float64", chunks: [2, 3] }); // 24 chunks
    await ds.set(undefined, Float64Array.from({ length: 144 }, (_, i) => i));
    store.reset();
    return { store, ds };
  }
  // Three points in every chunk, in an order that visits the chunks back and forth.
  const rows: number[] = [];
  const cols: number[] = [];
  for (let k = 0; k < 3; k++) for (let r = 23 - k; r >= 0; r -= 2) for (const c of [k % 3, 3 + ((k + 1) % 3)]) (rows.push(r), cols.push(c));

  it("a read GETs each touched chunk once and nothing else", async () => {
    const { store, ds } = await instrumented();
    const got = await ds.vindex.get([[0, 1, 0, 23], [0, 0, 1, 5]]);
    expect(flat(got)).toEqual([0, 6, 1, 143]);
    expect(store.calls.map((c) => [c.op, c.key]).sort()).toEqual([["get", "d/c/0/0"], ["get", "d/c/11/1"]]);
  });

  for (const njobs of [1, 4]) {
    it(`njobs = ${njobs}: every chunk read once (and written once) however the points are ordered, ${njobs} at a time`, async () => {
      const { store, ds } = await instrumented(3);
      ds.njobs = njobs;
      const got = await ds.vindex.get([rows, cols]);
      expect(flat(got)).toEqual(rows.map((r, k) => r * 6 + cols[k]));
      expect(store.count("get")).toBe(24);
      expect(new Set(store.calls.map((c) => c.key)).size).toBe(24);
      expect(store.maxInFlight).toBe(njobs);
      store.reset();
      await ds.vindex.set([rows, cols], -1);
      expect(store.count("get")).toBe(24);
      expect(store.count("set")).toBe(24);
      expect(store.maxInFlight).toBe(njobs);
      expect(ds.chunksTouchedByPoints([rows, cols])).toHaveLength(24);
    });
  }

  it("reports progress per chunk and stops when aborted", async () => {
    const { ds } = await instrumented(2);
    const progress: number[] = [];
    await ds.vindex.get([rows, cols], { onProgress: ({ done, total }) => progress.push(done / total) });
    expect(progress).toHaveLength(24);
    expect(progress.at(-1)).toBe(1);
    const controller = new AbortController();
    controller.abort();
    await expectError(() => ds.vindex.set([rows, cols], 1, { signal: controller.signal }), dn.AbortedError, ["pointwise write"]);
  });
});

describe("the layers above see vindex as they see get and set", () => {
  dn.registerFunction("vindexTestNegate", (chunk) => Float32Array.from(chunk.data as Float32Array, (v) => -v));

  it("a vindex.set recomputes the derived blocks it touched; a vindex.get of an invalidated dataset follows onStale", async () => {
    const cluster = await new dn.Cluster({ backend: "memory" }).connect();
    try {
      const pool = await cluster.createPool("layers");
      const input = await pool.createDataset("input", { shape: [8, 4], dtype: "float32", chunks: [2, 4] });
      await input.set(undefined, Float32Array.from({ length: 32 }, (_, i) => i));
      const out = await pool.derive({ from: "input", fn: "vindexTestNegate", to: "negated" });
      await input.vindex.set([[5, 0], [1, 3]], [100, 200]);
      await out.refresh();
      const expected = Array.from({ length: 32 }, (_, i) => -i);
      expected[5 * 4 + 1] = -100;
      expected[3] = -200;
      expect(Array.from((await out.read()).data as Float32Array)).toEqual(expected);

      await input.invalidate("detector fault");
      const strict = await dn.Pool.open(pool.context.store, { name: pool.context.poolName, onStale: "error" });
      await expectError(async () => (await strict.getDataset("input")).vindex.get([[0], [0]]), dn.StaleDataError, ['dataset "/input"', "detector fault"]);
    } finally {
      await cluster.disconnect();
    }
  });
});
