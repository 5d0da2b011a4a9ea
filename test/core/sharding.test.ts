/**
 * Sharded datasets (`sharding_indexed`): a property test against the brute-force reference on
 * every backend (which also checks that exactly the inner chunks holding a non-fill element are
 * stored), the requests a read or write makes (index GET + coalesced range GETs; one PUT per
 * shard), corrupt shards, and the whole-dataset operations on the inner chunk grid.
 */
import fc from "fast-check";
import ndarray from "ndarray";
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { CorruptShardError } from "../../src/format/sharding.js";
import { KeyedReadWriteLock } from "../../src/core/shard-locks.js";
import type { ByteRange, RequestOptions } from "../../src/store/store.js";
import { backendKinds } from "../helpers/clusters.js";
import { poolSuiteOn } from "../helpers/pool-suite.js";
import { expectError, expectErrorAndNoChange } from "../helpers/expect-error.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { seededRandom } from "../helpers/random.js";
import { selectionFor, selectionGeneArb, type SelectionGene } from "../helpers/random-selection.js";
import { asScalar, ELEMENT_CTORS, filledElements, fillValueOfKind, randomElement, type Element, type FillKind } from "../helpers/random-values.js";
import { referenceGet, referenceSet, valuesOf } from "../helpers/reference.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Records the byte range of every GET, next to the calls InstrumentedStore records. */
class RangeRecordingStore extends InstrumentedStore {
  gets: { key: string; range: ByteRange | undefined }[] = [];

  override get(key: string, range?: ByteRange, options?: RequestOptions): Promise<Uint8Array | undefined> {
    this.gets.push({ key, range });
    return super.get(key, range, options);
  }

  override getVersioned(key: string, options?: RequestOptions & { range?: ByteRange }): Promise<dn.VersionedBytes | undefined> {
    this.gets.push({ key, range: options?.range });
    return super.getVersioned(key, options);
  }

  override reset(): void {
    super.reset();
    this.gets = [];
  }
}

async function instrumentedPool(options: ConstructorParameters<typeof InstrumentedStore>[1] = {}) {
  const store = new RangeRecordingStore(new dn.MemoryStore(), options);
  // Chunk I/O is counted here: provenance records (tested in test/provenance) are off.
  const pool = await dn.Pool.initialise(store, { name: "sharding", provenance: false });
  store.reset();
  return { store, pool };
}

async function keysUnder(store: dn.Store, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys.sort();
}

// ---------------------------------------------------------------------------------------------
// Property test

const RUNS: Record<string, number> = { memory: 400, fs: 120 };
const MAX_INNER_GRID_PER_AXIS = [0, 12, 8, 4];

interface Case {
  shape: number[];
  innerGenes: number[];
  perShard: number[];
  dtype: dn.DataType;
  fillKind: FillKind;
  gzip: boolean;
  indexLocation: "start" | "end";
  njobs: number;
  steps: { write: SelectionGene; scalar: boolean; fillShare: number; read: SelectionGene }[];
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }),
  innerGenes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 3, maxLength: 3 }),
  perShard: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
  dtype: fc.constantFrom(...PLAIN_DATA_TYPES),
  fillKind: fc.constantFrom("default", "random", "special"),
  gzip: fc.boolean(),
  indexLocation: fc.constantFrom("start", "end"),
  njobs: fc.integer({ min: 1, max: 6 }),
  steps: fc.array(
    fc.record({ write: selectionGeneArb, scalar: fc.boolean(), fillShare: fc.constantFrom(0, 0.3, 1), read: selectionGeneArb }),
    { minLength: 1, maxLength: 3 },
  ),
  seed: fc.integer(),
});

const isFill = (v: Element, fill: Element) => v === fill || (Number.isNaN(v) && Number.isNaN(fill));

/** Inner chunks (as "i,j" strings) holding at least one in-bounds element that is not the fill value. */
function nonFillInnerChunks(reference: ArrayLike<Element>, shape: number[], inner: number[], fill: Element): string[] {
  const found = new Set<string>();
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < reference.length; flat++) {
    if (!isFill(reference[flat], fill)) found.add(index.map((i, axis) => Math.floor(i / inner[axis])).join());
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return [...found].sort();
}

for (const kind of backendKinds) {
  describe(`sharded dataset property test on ${kind.name}`, () => {
    const suite = poolSuiteOn(kind, "sharding");
    let counter = 0;

    async function check(c: Case): Promise<void> {
      const next = seededRandom(c.seed);
      const ndim = c.shape.length;
      const inner = c.shape.map((n, axis) => Math.max(c.innerGenes[axis], Math.ceil(n / MAX_INNER_GRID_PER_AXIS[ndim])));
      const shards = inner.map((n, axis) => n * c.perShard[axis]);
      const fillValue = fillValueOfKind(c.dtype, c.fillKind, next);
      const ds = await suite.pool.createDataset(`case-${counter++}`, {
        shape: c.shape, dtype: c.dtype, chunks: inner, shards, shardIndexLocation: c.indexLocation,
        fillValue, compression: c.gzip ? "gzip" : undefined, njobs: c.njobs,
      });
      expect(ds.chunks).toEqual(inner);
      expect(ds.shards).toEqual(shards);
      const ctor = ELEMENT_CTORS[c.dtype];
      const { elements: reference, fill } = filledElements(c.dtype, product(c.shape), fillValue);

      for (const step of c.steps) {
        const write = selectionFor(step.write, c.shape);
        const outShape = referenceGet(reference, c.shape, write.reference).shape;
        const draw = () => (next() < step.fillShare ? fill : randomElement(c.dtype, next));
        const flat = new ctor(product(outShape));
        let value: dn.WritableValue;
        if (step.scalar) {
          const e = draw();
          for (let i = 0; i < flat.length; i++) flat[i] = e;
          value = asScalar(c.dtype, e);
        } else {
          for (let i = 0; i < flat.length; i++) flat[i] = draw();
          value = ndarray(flat as dn.TypedArray, outShape);
        }
        await ds.set(write.selection, value);
        referenceSet(reference, c.shape, write.reference, flat);

        const whole = await ds.read();
        expect(valuesOf(whole.data), `after writing [${write.text}]`).toEqual(valuesOf(reference));
        const stored = (await ds.storedChunkIndices()).map((g) => g.join()).sort();
        expect(stored, `stored inner chunks after writing [${write.text}]`).toEqual(nonFillInnerChunks(reference, c.shape, inner, fill));

        const read = selectionFor(step.read, c.shape);
        const got = await ds.get(read.selection);
        const expected = referenceGet(reference, c.shape, read.reference);
        expect(got.shape, `shape of [${read.text}]`).toEqual(expected.shape);
        expect(valuesOf(got.data), `values of [${read.text}]`).toEqual(expected.values);
      }
      await ds.delete();
    }

    it(`matches the reference on ${RUNS[kind.name] ?? 30} random cases`, async () => {
      await fc.assert(fc.asyncProperty(caseArb, check), { numRuns: RUNS[kind.name] ?? 30 });
    }, 180_000);
  });
}

// ---------------------------------------------------------------------------------------------
// Creating and opening

describe("creating a sharded dataset", () => {
  it("writes a sharding_indexed codec around the inner codecs, with the shard shape as the chunk grid", async () => {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset("a", { shape: [10, 9], dtype: "float32", chunks: [2, 3], shards: [4, 9], compression: "gzip" });
    const json = JSON.parse(new TextDecoder().decode(await store.inner.get("a/zarr.json")));
    expect(json.chunk_grid).toEqual({ name: "regular", configuration: { chunk_shape: [4, 9] } });
    expect(json.codecs).toEqual([
      {
        name: "sharding_indexed",
        configuration: {
          chunk_shape: [2, 3],
          codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "gzip", configuration: { level: 5 } }],
          index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
          index_location: "end",
        },
      },
    ]);
    expect([ds.chunks, ds.shards, ds.chunkGrid]).toEqual([[2, 3], [4, 9], [5, 3]]);
    const reopened = await pool.getDataset("a");
    expect([reopened.chunks, reopened.shards, reopened.chunkGrid]).toEqual([[2, 3], [4, 9], [5, 3]]);
    const plain = await pool.createDataset("b", { shape: [10], dtype: "int8", chunks: [5] });
    expect(plain.shards).toBeUndefined();
  });

  it("the compression options choose the inner codecs", async () => {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset("z", { shape: [40, 30], dtype: "float32", chunks: [10, 10], shards: [20, 30], compression: "zstd", shuffle: true, checksum: true });
    const json = JSON.parse(new TextDecoder().decode(await store.inner.get("z/zarr.json")));
    const plain = await pool.createDataset("plain", { shape: [40, 30], dtype: "float32", chunks: [10, 10], compression: "zstd", shuffle: true, checksum: true });
    expect(json.codecs[0].configuration.codecs).toEqual(plain.metadata.codecs);
    const values = Float32Array.from({ length: 1200 }, (_, i) => Math.sin(i / 50));
    await ds.load(ndarray(values, [40, 30]));
    expect(valuesOf((await ds.read()).data)).toEqual(Array.from(values));
    expect(valuesOf((await ds.get("13:27, 5")).data)).toEqual(Array.from({ length: 14 }, (_, i) => values[(13 + i) * 30 + 5]));
    expect(await keysUnder(store.inner, "z/c/")).toEqual(["z/c/0/0", "z/c/1/0"]);
  });

  it("index_location start is recorded", async () => {
    const { store, pool } = await instrumentedPool();
    await pool.createDataset("a", { shape: [8], dtype: "int8", chunks: [2], shards: [8], shardIndexLocation: "start" });
    const json = JSON.parse(new TextDecoder().decode(await store.inner.get("a/zarr.json")));
    expect(json.codecs[0].configuration.index_location).toBe("start");
  });

  it("rejects inner chunks that do not divide the shards, naming both; and shards without chunks", async () => {
    const { store, pool } = await instrumentedPool();
    await expectErrorAndNoChange(store, () => pool.createDataset("a", { shape: [10, 10], dtype: "int8", chunks: [3, 4], shards: [6, 10] }), dn.ValidationError, [
      '"/a"', "inner chunk shape [3, 4] does not divide the shard shape [6, 10]", "axis 1: 10 is not a multiple of 4",
    ]);
    await expectErrorAndNoChange(store, () => pool.createDataset("a", { shape: [10], dtype: "int8", shards: [10] }), dn.ValidationError, ["chunks", "required with shards"]);
    await expectErrorAndNoChange(store, () => pool.createDataset("a", { shape: [10], dtype: "int8", chunks: [5], shardIndexLocation: "start" }), dn.ValidationError, [
      "shardIndexLocation was given without shards",
    ]);
    await expectErrorAndNoChange(store, () => pool.createDataset("a", { shape: [10], dtype: "int8", chunks: [5], shards: [10, 10] }), dn.ValidationError, [
      "has 1 dimensions but the shard shape [10, 10] has 2",
    ]);
  });

  it("opening a zarr.json with an unusable sharding configuration names the key and the problem", async () => {
    const { store, pool } = await instrumentedPool();
    const doc = {
      zarr_format: 3, node_type: "array", shape: [8], data_type: "int8", fill_value: 0, attributes: {},
      chunk_grid: { name: "regular", configuration: { chunk_shape: [8] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      codecs: [{ name: "sharding_indexed", configuration: { chunk_shape: [3], codecs: [{ name: "bytes" }], index_codecs: [{ name: "bytes" }] } }],
    };
    await store.set("bad/zarr.json", new TextEncoder().encode(JSON.stringify(doc)));
    await expectError(() => pool.getDataset("bad"), dn.CorruptMetadataError, ['bad/zarr.json"', "inner chunk shape [3] does not divide the shard shape [8]"]);
  });

  it("inner codecs without an array→bytes codec get bytes, as for unsharded arrays", async () => {
    const { store, pool } = await instrumentedPool();
    const doc = {
      zarr_format: 3, node_type: "array", shape: [8], data_type: "int16", fill_value: 0, attributes: {},
      chunk_grid: { name: "regular", configuration: { chunk_shape: [8] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      codecs: [{ name: "sharding_indexed", configuration: { chunk_shape: [4], codecs: [{ name: "gzip", configuration: { level: 1 } }], index_codecs: [{ name: "bytes" }] } }],
    };
    await store.set("lenient/zarr.json", new TextEncoder().encode(JSON.stringify(doc)));
    const ds = await pool.getDataset("lenient");
    await ds.set(undefined, Int16Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(valuesOf((await ds.read()).data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

// ---------------------------------------------------------------------------------------------
// Requests

describe("requests of sharded reads and writes", () => {
  // 4 shards of 2x2 inner chunks of 4x4 int32 (64 bytes each).
  const SHAPE = [16, 16];
  const DATA = Int32Array.from({ length: 256 }, (_, i) => i + 1);

  async function filled(options: { indexLocation?: "start" | "end"; njobs?: number; delayMs?: number } = {}) {
    const { store, pool } = await instrumentedPool({ delayMs: options.delayMs });
    const ds = await pool.createDataset("d", {
      shape: SHAPE, dtype: "int32", chunks: [4, 4], shards: [8, 8], shardIndexLocation: options.indexLocation, njobs: options.njobs,
    });
    store.reset();
    await ds.load(ndarray(DATA, SHAPE));
    return { store, pool, ds };
  }

  it("a whole write is one PUT per shard and nothing else", async () => {
    const { store } = await filled();
    expect(store.calls.map((c) => c.op)).toEqual(["set", "set", "set", "set"]);
    expect(store.keysOf("set").sort()).toEqual(["d/c/0/0", "d/c/0/1", "d/c/1/0", "d/c/1/1"]);
  });

  for (const indexLocation of ["end", "start"] as const) {
    it(`index at the ${indexLocation}: a read is one index GET per shard plus one coalesced GET of its neighbouring inner chunks`, async () => {
      const { store, pool, ds } = await filled({ indexLocation });
      const indexBytes = 4 * 16 + 4;
      const indexRange: ByteRange = indexLocation === "end" ? { suffixLength: indexBytes } : { offset: 0, length: indexBytes };
      const dataStart = indexLocation === "end" ? 0 : indexBytes;
      store.reset();
      expect(valuesOf((await ds.read()).data)).toEqual(Array.from(DATA));
      expect(store.calls.every((c) => c.op === "get")).toBe(true);
      const byKey = (key: string) => store.gets.filter((g) => g.key === key).map((g) => g.range);
      for (const key of ["d/c/0/0", "d/c/0/1", "d/c/1/0", "d/c/1/1"]) {
        expect(byKey(key)).toEqual([indexRange, { offset: dataStart, length: 4 * 64 }]);
      }

      store.reset();
      // One inner chunk: exactly its 64 bytes (the shard's index is cached from the read before, and
      // checked by the data GET's If-Match).
      expect(valuesOf((await ds.get("12:16, 4:8")).data)).toEqual(referenceGet(DATA, SHAPE, [{ slice: [12, 16, null] }, { slice: [4, 8, null] }]).values);
      expect(store.gets).toEqual([{ key: "d/c/1/0", range: { offset: dataStart + 3 * 64, length: 64 } }]);

      store.reset();
      // Inner chunks 0 and 3 of a shard are 128 bytes apart: well under the gap limit, one GET.
      await ds.get("[0, 5], [0, 5]");
      expect(store.gets.map((g) => g.range)).toEqual([{ offset: dataStart, length: 4 * 64 }]);

      // Another handle (its own index cache) reads the index first.
      store.reset();
      const other = await pool.getDataset("d");
      await other.get("[0, 5], [0, 5]");
      expect(store.gets.filter((g) => g.key === "d/c/0/0").map((g) => g.range)).toEqual([indexRange, { offset: dataStart, length: 4 * 64 }]);
    });
  }

  it("inner chunks further apart than the gap limit are fetched separately", async () => {
    const { store, pool } = await instrumentedPool();
    const n = 20_000; // 160 KB of float64 per inner chunk
    const ds = await pool.createDataset("far", { shape: [4 * n], dtype: "float64", chunks: [n], shards: [4 * n] });
    await ds.set(undefined, Float64Array.from({ length: 4 * n }, (_, i) => i));
    store.reset();
    expect(valuesOf((await ds.get([[1, 2 * n + 1]])).data)).toEqual([1, 2 * n + 1]);
    const index = { suffixLength: 4 * 16 + 4 };
    expect(store.gets.map((g) => g.range)).toEqual([index, { offset: 0, length: 8 * n }, { offset: 16 * n, length: 8 * n }]);
    store.reset();
    await ds.get([[1, n + 1]]); // adjacent: one request (the index is cached)
    expect(store.gets.map((g) => g.range)).toEqual([{ offset: 0, length: 16 * n }]);
  });

  it("a partial write reads the shard once and puts it once; a covered shard is not read", async () => {
    const { store, ds } = await filled();
    store.reset();
    await ds.set("1:3, 1:11", -1); // touches shards 0/0 and 0/1 partially
    expect(store.gets.map((g) => [g.key, g.range]).sort()).toEqual([["d/c/0/0", undefined], ["d/c/0/1", undefined]]);
    expect(store.keysOf("set").sort()).toEqual(["d/c/0/0", "d/c/0/1"]);
    store.reset();
    await ds.set("8:16, 0:8", 7); // exactly shard 1/0
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["set", "d/c/1/0"]]);
    const expected = Array.from(DATA);
    for (let i = 1; i < 3; i++) for (let j = 1; j < 11; j++) expected[i * 16 + j] = -1;
    for (let i = 8; i < 16; i++) for (let j = 0; j < 8; j++) expected[i * 16 + j] = 7;
    expect(valuesOf((await ds.read()).data)).toEqual(expected);
  });

  it("an edge shard written in its in-bounds part is read and written conditionally (its other chunks may hold another writer's appended rows)", async () => {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset("edge", { shape: [10], dtype: "int8", chunks: [2], shards: [8], fillValue: 3 });
    await ds.set(undefined, 1);
    store.reset();
    await ds.set("8:10", 5);
    expect(store.calls.map((c) => c.op)).toEqual(["get", "set"]);
    expect(new Set(store.calls.map((c) => c.key))).toEqual(new Set(["edge/c/1"]));
    expect(valuesOf((await ds.read()).data)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 5, 5]);
  });

  it("inner chunks that become all fill leave the index; a shard with none left is deleted", async () => {
    const { store, ds } = await filled();
    const before = (await store.inner.get("d/c/0/0"))!.byteLength;
    await ds.set("0:4, 0:4", 0);
    expect(await ds.chunk([0, 0]).exists()).toBe(false);
    expect(await ds.chunk([0, 1]).exists()).toBe(true);
    expect((await store.inner.get("d/c/0/0"))!.byteLength).toBe(before - 64);
    store.reset();
    await ds.set("0:8, 0:8", 0);
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["delete", "d/c/0/0"]]);
    expect(await keysUnder(store.inner, "d/c/")).toEqual(["d/c/0/1", "d/c/1/0", "d/c/1/1"]);
    // A partial write of fill into a shard that does not exist reads it and stores nothing.
    store.reset();
    await ds.set("0:2, 0:2", 0);
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["get", "d/c/0/0"]]);
  });

  it("a read of a missing shard is one GET and gives the fill value", async () => {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset("empty", { shape: [6, 6], dtype: "uint16", chunks: [3, 3], shards: [6, 6], fillValue: 9 });
    store.reset();
    expect(valuesOf((await ds.read()).data)).toEqual(new Array(36).fill(9));
    expect(store.calls.map((c) => [c.op, c.key])).toEqual([["get", "empty/c/0/0"]]);
  });

  it("requests in flight never exceed njobs, for reads and writes", async () => {
    for (const njobs of [1, 3]) {
      const { store, ds } = await filled({ njobs, delayMs: 2 });
      expect(store.maxInFlight).toBe(njobs);
      store.reset();
      await ds.read();
      expect(store.maxInFlight).toBe(njobs);
      store.reset();
      await ds.set("::3, ::5", 1);
      expect(store.maxInFlight).toBe(njobs);
    }
  });

  it("concurrent partial writes to different inner chunks of one shard lose nothing", async () => {
    const { store, pool } = await instrumentedPool({ delayMs: 1, jitterMs: 4, seed: 7 });
    const ds = await pool.createDataset("race", { shape: [8, 8], dtype: "int16", chunks: [2, 2], shards: [8, 8], njobs: 4 });
    const writes = [];
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j += 4) writes.push(ds.set([i, dn.slice(j, j + 3)], i * 8 + j + 1));
    await Promise.all(writes);
    const expected = new Array<number>(64).fill(0);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j += 4) for (let k = j; k < j + 3; k++) expected[i * 8 + k] = i * 8 + j + 1;
    expect(valuesOf((await ds.read()).data)).toEqual(expected);
    expect(store.count("set", "race/c/0/0")).toBe(16);
  });

  it("a read concurrent with writes of the same shard (in this process) never sees a torn shard", async () => {
    const { pool } = await instrumentedPool({ delayMs: 1, jitterMs: 3, seed: 11 });
    const ds = await pool.createDataset("torn", { shape: [4], dtype: "int32", chunks: [2], shards: [4], njobs: 4 });
    // Even k: [k, k, k, k]; odd k: [0, 0, k, k] (inner chunk 0 is fill, so it leaves the index and
    // inner chunk 1 moves to offset 0). Mixing an index of one state with the bytes of another
    // gives an error or values matching neither.
    const state = (k: number) => Int32Array.from(k % 2 === 0 ? [k, k, k, k] : [0, 0, k, k]);
    const valid = (v: number[]) =>
      v[0] === v[1] && v[2] === v[3] && ((v[0] === v[2] && v[2] % 2 === 0) || (v[0] === 0 && v[2] % 2 === 1));
    let writing = true;
    const writer = (async () => {
      for (let k = 1; k <= 40; k++) await ds.set(undefined, state(k));
      writing = false;
    })();
    const reader = async () => {
      const seen: number[][] = [];
      while (writing) seen.push(Array.from((await ds.read()).data as Int32Array));
      return seen;
    };
    const seen = (await Promise.all([reader(), reader(), reader(), writer])).slice(0, 3).flat() as number[][];
    expect(seen.length).toBeGreaterThan(20);
    for (const values of seen) expect(valid(values), `read ${values}`).toBe(true);
  });

  it("onProgress counts inner chunks and ends at the total", async () => {
    const { ds } = await filled();
    for (const op of ["read", "write"] as const) {
      const seen: Array<[number, number]> = [];
      const onProgress = ({ done, total }: { done: number; total: number }) => seen.push([done, total]);
      if (op === "read") await ds.get("2:14, :", { onProgress });
      else await ds.set("2:14, :", 4, { onProgress });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.at(-1)).toEqual([16, 16]);
      expect(seen.every(([done, total], i) => total === 16 && (i === 0 || done > seen[i - 1][0]))).toBe(true);
    }
  });
});

describe("the shard readers-writer lock", () => {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

  it("readers overlap, writers are alone, and arrivals are served in order", async () => {
    const lock = new KeyedReadWriteLock();
    const log: string[] = [];
    let inside = 0;
    let maxReaders = 0;
    const task = (name: string, exclusive: boolean) =>
      lock.run("k", exclusive, async () => {
        inside++;
        if (exclusive) expect(inside).toBe(1);
        else maxReaders = Math.max(maxReaders, inside);
        log.push(`${name}+`);
        await tick();
        await tick();
        log.push(`${name}-`);
        inside--;
      });
    await Promise.all([task("r1", false), task("r2", false), task("w1", true), task("r3", false), task("w2", true), task("r4", false)]);
    expect(maxReaders).toBe(2);
    // r1 and r2 together; w1 after both; r3 (arrived behind the waiting w1) after w1; then w2; then r4.
    expect(log.slice(0, 2).sort()).toEqual(["r1+", "r2+"]);
    expect(log.slice(4)).toEqual(["w1+", "w1-", "r3+", "r3-", "w2+", "w2-", "r4+", "r4-"]);
  });

  it("a failing holder releases the lock; other keys are independent", async () => {
    const lock = new KeyedReadWriteLock();
    await expect(lock.run("k", true, async () => { throw new Error("boom"); })).rejects.toThrow("boom");
    const order: string[] = [];
    let release!: () => void;
    const held = lock.run("k", true, () => new Promise<void>((resolve) => (release = resolve)).then(() => { order.push("k"); }));
    await lock.run("other", true, async () => { order.push("other"); });
    release();
    await held;
    await lock.run("k", false, async () => { order.push("k again"); });
    expect(order).toEqual(["other", "k", "k again"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Corrupt shards

describe("corrupt shards", () => {
  async function twoShards(options: { indexLocation?: "start" | "end"; gzip?: boolean } = {}) {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset("c", {
      shape: [8, 4], dtype: "float64", chunks: [2, 4], shards: [4, 4], shardIndexLocation: options.indexLocation,
      compression: options.gzip ? "gzip" : undefined,
    });
    const data = Float64Array.from({ length: 32 }, (_, i) => i / 4);
    await ds.load(ndarray(data, [8, 4]));
    return { store, ds, data };
  }

  async function expectCorrupt(action: () => unknown, key: string, fragment: string) {
    const error = await expectError(action, CorruptShardError, [`shard "${key}"`, fragment]);
    expect(error).toBeInstanceOf(dn.CorruptChunkError);
  }

  it("a truncated shard: reads of it fail naming the key, the other shard still reads", async () => {
    const { store, ds, data } = await twoShards();
    const bytes = (await store.inner.get("c/c/0/0"))!;
    await store.inner.set("c/c/0/0", bytes.subarray(0, 20));
    await expectCorrupt(() => ds.read(), "c/c/0/0", "truncated");
    await expectCorrupt(() => ds.get("1, :"), "c/c/0/0", "index should be 36 bytes, got 20");
    expect(valuesOf((await ds.get("4:, :")).data)).toEqual(Array.from(data.subarray(16)));
    // A partial write into it fails too, and changes nothing.
    await expectErrorAndNoChange(store.inner, () => ds.set("0, 0", 1), CorruptShardError, ['shard "c/c/0/0"']);
    // Overwriting it whole needs no read and repairs it.
    await ds.set("0:4, :", 2);
    expect(valuesOf((await ds.get("0:4, :")).data)).toEqual(new Array(16).fill(2));
  });

  it("a flipped bit in the index fails the crc32c check", async () => {
    const { store, ds } = await twoShards();
    const bytes = (await store.inner.get("c/c/1/0"))!.slice();
    bytes[bytes.byteLength - 10] ^= 0x10;
    await store.inner.set("c/c/1/0", bytes);
    await expectCorrupt(() => ds.get("6, 1"), "c/c/1/0", "crc32c checksum");
    expect(valuesOf((await ds.get("0, :")).data)).toEqual([0, 0.25, 0.5, 0.75]);
  });

  it("index at the start, data cut off: the index points past the end of the shard", async () => {
    const { store, ds } = await twoShards({ indexLocation: "start" });
    const bytes = (await store.inner.get("c/c/0/0"))!;
    await store.inner.set("c/c/0/0", bytes.subarray(0, bytes.byteLength - 8));
    await expectCorrupt(() => ds.get("3, :"), "c/c/0/0", "but the shard ends at byte");
    expect(valuesOf((await ds.get("0, :")).data)).toEqual([0, 0.25, 0.5, 0.75]); // the first inner chunk is intact
    await expectErrorAndNoChange(store.inner, () => ds.set("0, 0", 1), CorruptShardError, ['shard "c/c/0/0"', "lies outside the shard"]);
  });

  it("an inner chunk that does not decode names the shard and the inner chunk", async () => {
    const { store, ds } = await twoShards({ gzip: true });
    const bytes = (await store.inner.get("c/c/0/0"))!.slice();
    bytes.fill(0, 0, 12); // clobber the first inner chunk's gzip header
    await store.inner.set("c/c/0/0", bytes);
    await expectCorrupt(() => ds.get("0, 0"), "c/c/0/0", "inner chunk [0, 0] cannot be decoded");
    expect(valuesOf((await ds.get("2, :")).data)).toEqual([2, 2.25, 2.5, 2.75]);
  });
});

// ---------------------------------------------------------------------------------------------
// Whole-dataset operations

describe("whole-dataset operations on sharded arrays", () => {
  const SHAPE = [9, 7];
  const values = () => Int32Array.from({ length: 63 }, (_, i) => i * 3 - 50);

  async function make(name = "w") {
    const { store, pool } = await instrumentedPool();
    const ds = await pool.createDataset(name, { shape: SHAPE, dtype: "int32", chunks: [2, 3], shards: [4, 6], fillValue: -1 });
    await ds.load(ndarray(values(), SHAPE));
    store.reset();
    return { store, pool, ds };
  }

  it("DataChunk is an inner chunk: its grid, shape and data; its key is the shard's", async () => {
    const { store, ds } = await make();
    expect(ds.chunkGrid).toEqual([5, 3]);
    const chunks = [...ds.iterChunks()];
    expect(chunks.length).toBe(15);
    const chunk = ds.chunk([2, 1]);
    expect(chunk.key).toBe("w/c/1/0");
    expect(chunk.origin).toEqual([4, 3]);
    expect(chunk.shape).toEqual([2, 3]);
    expect(ds.chunk([4, 2]).shape).toEqual([1, 1]);
    expect(ds.chunk([4, 2]).key).toBe("w/c/2/1");
    expect(valuesOf((await chunk.get()).data)).toEqual(referenceGet(values(), SHAPE, [{ slice: [4, 6, null] }, { slice: [3, 6, null] }]).values);
    expect(await chunk.exists()).toBe(true);
    await chunk.set("0, :", 100);
    await chunk.delete();
    expect(await chunk.exists()).toBe(false);
    expect(valuesOf((await chunk.get()).data)).toEqual(new Array(6).fill(-1));
    expect(await ds.chunk([2, 0]).exists()).toBe(true); // its neighbour in the same shard is intact
    expect(await keysUnder(store.inner, "w/c/")).toContain("w/c/1/0");
    expect(ds.chunksTouchedBy("4:6, 3:6")).toEqual([[2, 1]]);
  });

  it("storedChunkIndices lists stored inner chunks", async () => {
    const { ds } = await make();
    await ds.set("0:2, 0:3", -1);
    const stored = (await ds.storedChunkIndices()).map((g) => g.join()).sort();
    const all = [...ds.iterChunks()].map((c) => c.gridIndex.join()).filter((g) => g !== "0,0").sort();
    expect(stored).toEqual(all);
  });

  it("clear removes every shard", async () => {
    const { store, ds } = await make();
    await ds.clear();
    expect(await keysUnder(store.inner, "w/c/")).toEqual([]);
    expect(valuesOf((await ds.read()).data)).toEqual(new Array(63).fill(-1));
  });

  it("resize works on whole shards and never shows stale data", async () => {
    const { store, ds } = await make();
    await ds.resize([5, 4]);
    expect(await keysUnder(store.inner, "w/c/")).toEqual(["w/c/0/0", "w/c/1/0"]);
    await ds.resize([9, 7]);
    const expected = Array.from(values(), (v, i) => (Math.floor(i / 7) < 5 && i % 7 < 4 ? v : -1));
    expect(valuesOf((await ds.read()).data)).toEqual(expected);
    expect(ds.shards).toEqual([4, 6]);
  });

  it("map applies the function to each inner chunk and writes each shard once", async () => {
    const { store, ds } = await make();
    const shapes: string[] = [];
    const out = await ds.map((chunk) => {
      shapes.push(chunk.shape.join("x"));
      const data = Int32Array.from(chunk.data as Int32Array, (v) => v * 2);
      return ndarray(data, chunk.shape);
    }, "doubled");
    expect(shapes.sort()).toEqual([...ds.iterChunks()].map((c) => c.shape.join("x")).sort());
    expect(out.shards).toEqual([4, 6]);
    expect(valuesOf((await out.read()).data)).toEqual(Array.from(values(), (v) => v * 2));
    const shardPuts = store.keysOf("set").filter((k) => k.startsWith("doubled/c/"));
    expect(shardPuts.sort()).toEqual(["doubled/c/0/0", "doubled/c/0/1", "doubled/c/1/0", "doubled/c/1/1", "doubled/c/2/0", "doubled/c/2/1"]);
  });

  it("apply in place, with a function returning a scalar or a broadcastable row", async () => {
    const { ds } = await make();
    await ds.apply((chunk) => (chunk.shape[1] === 3 ? Int32Array.from([1, 2, 3]) : 5));
    const expected = Array.from({ length: 63 }, (_, i) => {
      const j = i % 7;
      return j < 6 ? (j % 3) + 1 : 5;
    });
    expect(valuesOf((await ds.read()).data)).toEqual(expected);
  });

  it("map on 64-bit integers", async () => {
    const { pool } = await instrumentedPool();
    const ds = await pool.createDataset("big", { shape: [5, 5], dtype: "uint64", chunks: [2, 2], shards: [4, 4], fillValue: 1n });
    await ds.set("1:, :3", 2n ** 63n);
    const out = await ds.map((chunk) => ndarray(BigUint64Array.from(chunk.data as BigUint64Array, (v) => v + 1n), chunk.shape), "plus1");
    const expected = Array.from({ length: 25 }, (_, i) => (Math.floor(i / 5) >= 1 && i % 5 < 3 ? 2n ** 63n + 1n : 2n));
    expect(valuesOf((await out.read()).data)).toEqual(expected);
  });

  it("clone with copyData copies the shard objects", async () => {
    const { store, ds } = await make();
    const copy = await ds.clone("copy", { copyData: true });
    expect(copy.shards).toEqual([4, 6]);
    expect(await keysUnder(store.inner, "copy/c/")).toEqual((await keysUnder(store.inner, "w/c/")).map((k) => k.replace("w/", "copy/")));
    expect(valuesOf((await copy.read()).data)).toEqual(Array.from(values()));
  });

  it("readChunk and updateChunk work on inner chunks", async () => {
    const { ds } = await make();
    expect(valuesOf((await ds.readChunk([0, 1]))!)).toEqual([-41, -38, -35, -20, -17, -14]);
    await ds.updateChunk([0, 1], false, undefined, (chunk) => {
      chunk[0] = 0;
    });
    expect(valuesOf((await ds.get("0, 3:6")).data)).toEqual([0, -38, -35]);
    expect(await ds.readChunk([4, 2])).toBeDefined();
    await ds.chunk([4, 2]).delete();
    expect(await ds.readChunk([4, 2])).toBeUndefined();
  });

  it("a 0-d sharded array", async () => {
    const { pool } = await instrumentedPool();
    const ds = await pool.createDataset("scalar", { shape: [], dtype: "float32", chunks: [], shards: [], fillValue: 1 });
    expect(valuesOf((await ds.read()).data)).toEqual([1]);
    await ds.set("...", 2.5);
    expect(valuesOf((await ds.read()).data)).toEqual([2.5]);
    expect(await ds.storedChunkIndices()).toEqual([[]]);
    await ds.clear();
    expect(await ds.storedChunkIndices()).toEqual([]);
    expect(valuesOf((await ds.read()).data)).toEqual([1]);
  });
});
