/**
 * Training batches (src/compute/batches.ts) on every backend: each row once per epoch (shuffled or
 * not, ragged last chunk, axis 1, 3-D, a row range), each batch's data equal to the rows its
 * indices name (against a full read), seeded orders, zipped datasets, fold splits, chunk-aligned
 * reads (each chunk object read once per epoch, counted through a Store wrapper), the prefetch
 * bound on in-flight reads, cancellation and bad input.
 */
import type { NdArray } from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { batches, foldOf, installBatches, zipBatches, type Batch, type BatchOptions } from "../../src/compute/batches.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectError } from "../helpers/expect-error.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";

installBatches();

type Values = NdArray<dn.TypedArray>;

/** Row `r` along `axis` of a C-order array, flattened in C order (the reference a batch sample must equal). */
function rowOf(full: Values, axis: number, r: number): number[] {
  const shape = full.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out.push(Number(full.data[(o * shape[axis] + r) * inner + i]));
  return out;
}

/** Every batch, with its data checked against the rows its indices name. */
async function collect(iterable: AsyncIterable<Batch>, full: Values, axis = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  const sampleShape = full.shape.filter((_, a) => a !== axis);
  const size = sampleShape.reduce((a, b) => a * b, 1);
  for await (const batch of iterable) {
    expect(batch.data.shape).toEqual([batch.indices.length, ...sampleShape]);
    expect(batch.data.data.length).toBe(batch.indices.length * size);
    expect(batch.data.stride).toEqual(cOrder(batch.data.shape));
    batch.indices.forEach((row, k) => {
      const got = Array.from(batch.data.data.subarray(k * size, (k + 1) * size), Number);
      expect(got, `sample ${k} (row ${row})`).toEqual(rowOf(full, axis, row));
    });
    out.push(batch);
  }
  return out;
}

function cOrder(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a];
  }
  return strides;
}

const rowsOf = (list: Batch[]) => list.flatMap((b) => Array.from(b.indices));
const range = (lo: number, hi: number) => Array.from({ length: hi - lo }, (_, i) => lo + i);
const sortedNumbers = (xs: number[]) => [...xs].sort((a, b) => a - b);
const byEpoch = (list: Batch[], epoch: number) => list.filter((b) => b.epoch === epoch);

for (const kind of backendKinds) {
  describe(`batches on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let store: InstrumentedStore;
    let pool: dn.Pool;
    let counter = 0;

    beforeAll(async () => {
      fixture = await kind.make();
      const name = uniquePoolName("batches");
      const created = await fixture.cluster.createPool(name);
      store = new InstrumentedStore(created.store);
      // Chunk GETs are counted here: provenance records (tested in test/provenance) are off.
      pool = await dn.Pool.open(store, { name, provenance: false });
    });
    afterAll(async () => {
      await fixture.cluster.deletePool(pool.context.poolName, { force: true });
      await fixture.cleanup();
    });

    /** A dataset whose element at flat index i is i (as the dtype), loaded in one go. */
    async function dataset(shape: number[], chunks: number[], dtype = "float32", extra: Record<string, unknown> = {}): Promise<{ ds: dn.Dataset; full: Values }> {
      const ds = await pool.createDataset(`d${counter++}`, { shape, chunks, dtype, ...extra });
      const n = shape.reduce((a, b) => a * b, 1);
      await ds.load(valuesFor(dtype, n));
      return { ds, full: await ds.read() };
    }

    it("every row exactly once per epoch, in order without shuffle; batchSize-sized batches, the last smaller (ragged last chunk)", async () => {
      const { ds, full } = await dataset([103, 5], [10, 5]);
      const list = await collect(batches(ds, { batchSize: 16, prefetch: 2 }), full);
      expect(rowsOf(list)).toEqual(range(0, 103));
      expect(list.map((b) => b.indices.length)).toEqual([16, 16, 16, 16, 16, 16, 7]);
      expect(list.every((b) => b.epoch === 0)).toBe(true);
      const dropped = await collect(batches(ds, { batchSize: 16, dropLast: true }), full);
      expect(rowsOf(dropped)).toEqual(range(0, 96));
      const snake = await collect(batches(ds, { batchSize: 16, drop_last: true }), full);
      expect(rowsOf(snake)).toEqual(range(0, 96));
    });

    it("with shuffle: every row exactly once per epoch, each epoch in another order, rows mixed across blocks", async () => {
      const { ds, full } = await dataset([103, 5], [10, 5]);
      const list = await collect(batches(ds, { batchSize: 16, shuffle: true, seed: 42, epochs: 3, shuffleBlocks: 3 }), full);
      const epochs = [0, 1, 2].map((e) => rowsOf(byEpoch(list, e)));
      for (const rows of epochs) expect(sortedNumbers(rows)).toEqual(range(0, 103));
      expect(epochs[0]).not.toEqual(range(0, 103));
      expect(epochs[1]).not.toEqual(epochs[0]);
      expect(epochs[2]).not.toEqual(epochs[1]);
      // Per epoch the last batch is the smaller one; epochs do not share batches.
      for (let e = 0; e < 3; e++) expect(byEpoch(list, e).map((b) => b.indices.length)).toEqual([16, 16, 16, 16, 16, 16, 7]);
      // The first batch draws on several blocks (the shuffle buffer), not one chunk's rows.
      expect(new Set(Array.from(list[0].indices, (r) => Math.floor(r / 10))).size).toBeGreaterThan(1);
    });

    it("axis 1 of 3-D data (and axis -2 the same), shuffled and not: samples are [d0, d2] planes", async () => {
      const { ds, full } = await dataset([4, 37, 3], [3, 8, 2]);
      const ordered = await collect(batches(ds, { axis: 1, batchSize: 5 }), full, 1);
      expect(rowsOf(ordered)).toEqual(range(0, 37));
      expect(ordered[0].data.shape).toEqual([5, 4, 3]);
      const shuffled = await collect(batches(ds, { axis: 1, batchSize: 5, shuffle: true, seed: 3, epochs: 2 }), full, 1);
      for (const e of [0, 1]) expect(sortedNumbers(rowsOf(byEpoch(shuffled, e)))).toEqual(range(0, 37));
      const negative = await collect(batches(ds, { axis: -2, batchSize: 5, shuffle: true, seed: 3, epochs: 2 }), full, 1);
      expect(rowsOf(negative)).toEqual(rowsOf(shuffled));
      const last = await collect(batches(ds, { axis: 2, batchSize: 2, shuffle: true }), full, 2);
      expect(sortedNumbers(rowsOf(last))).toEqual([0, 1, 2]);
    });

    it("3-D along axis 0, a sharded array, a row range, and int64 / uint8 / bool samples", async () => {
      const { ds, full } = await dataset([29, 3, 4], [4, 3, 2]);
      expect(sortedNumbers(rowsOf(await collect(batches(ds, { batchSize: 7, shuffle: true, seed: 9 }), full)))).toEqual(range(0, 29));
      const part = await collect(batches(ds, { batchSize: 7, shuffle: true, seed: 9, rows: [5, 23] }), full);
      expect(sortedNumbers(rowsOf(part))).toEqual(range(5, 23));
      expect(rowsOf(await collect(batches(ds, { batchSize: 7, rows: [5, 23] }), full))).toEqual(range(5, 23));
      expect(rowsOf(await collect(batches(ds, { batchSize: 7, rows: [8, 8] }), full))).toEqual([]);

      const sharded = await dataset([50, 6], [5, 3], "float32", { shards: [10, 6] });
      expect(sortedNumbers(rowsOf(await collect(batches(sharded.ds, { batchSize: 8, shuffle: true }), sharded.full)))).toEqual(range(0, 50));

      for (const dtype of ["int64", "uint8", "bool"]) {
        const { ds: typed, full: typedFull } = await dataset([23, 2], [5, 2], dtype);
        const list = await collect(batches(typed, { batchSize: 4, shuffle: true, seed: 1 }), typedFull);
        expect(sortedNumbers(rowsOf(list))).toEqual(range(0, 23));
        expect(list[0].data.data.constructor).toBe(typedFull.data.constructor);
      }
      const labels = await dataset([31], [6], "int64");
      expect(sortedNumbers(rowsOf(await collect(batches(labels.ds, { batchSize: 4, shuffle: true }), labels.full)))).toEqual(range(0, 31));
    });

    it("the same seed gives the same order (also on another backend and handle), another seed another", async () => {
      const { ds } = await dataset([120, 2], [8, 2]);
      const order = async (target: dn.Dataset, options: Partial<BatchOptions>) => {
        const rows: number[] = [];
        for await (const b of batches(target, { batchSize: 10, shuffle: true, ...options })) rows.push(...b.indices);
        return rows;
      };
      const a = await order(ds, { seed: 42 });
      expect(await order(ds, { seed: 42 })).toEqual(a);
      expect(await order(await pool.getDataset(ds.path), { seed: 42, prefetch: 0 })).toEqual(a);
      expect(await order(ds, { seed: 43 })).not.toEqual(a);
      // Backends and prefetch do not change the order: the same dataset on a memory cluster.
      const memory = new dn.Cluster({ backend: "memory" });
      await memory.connect();
      const other = await (await memory.createPool("same-order")).createDataset("d", { shape: [120, 2], chunks: [8, 2], dtype: "float32" });
      expect(await order(other, { seed: 42, prefetch: 5 })).toEqual(a);
      await memory.disconnect();
      // Without shuffle, the seed does nothing.
      expect(await order(ds, { seed: 7, shuffle: false })).toEqual(range(0, 120));
    });

    it("ds.batches(options) is batches(ds, options)", async () => {
      const { ds } = await dataset([40, 2], [8, 2]);
      const viaMethod: number[] = [];
      for await (const b of ds.batches({ batchSize: 6, shuffle: true, seed: 5 })) viaMethod.push(...b.indices);
      const viaFunction: number[] = [];
      for await (const b of batches(ds, { batchSize: 6, shuffle: true, seed: 5 })) viaFunction.push(...b.indices);
      expect(viaMethod).toEqual(viaFunction);
    });

    it("zipped datasets stay aligned row for row (different chunk lengths and ndim); a length mismatch is a ShapeError naming both", async () => {
      const images = await dataset([50, 2, 3], [8, 2, 3]);
      const labels = await dataset([50], [5], "int64");
      let seen: number[] = [];
      for await (const batch of zipBatches({ images: images.ds, labels: labels.ds }, { batchSize: 7, shuffle: true, seed: 11, epochs: 2 })) {
        expect(batch.images.shape).toEqual([batch.indices.length, 2, 3]);
        expect(batch.labels.shape).toEqual([batch.indices.length]);
        batch.indices.forEach((row, k) => {
          expect(Array.from(batch.images.data.subarray(k * 6, (k + 1) * 6), Number)).toEqual(rowOf(images.full, 0, row));
          expect(batch.labels.data[k]).toBe(labels.full.data[row]);
        });
        if (batch.epoch === 0) seen.push(...batch.indices);
      }
      expect(sortedNumbers(seen)).toEqual(range(0, 50));
      // A zip of one dataset gives the rows batches() gives.
      seen = [];
      for await (const batch of zipBatches({ x: images.ds }, { batchSize: 7, shuffle: true, seed: 11 })) seen.push(...batch.indices);
      const alone: number[] = [];
      for await (const batch of batches(images.ds, { batchSize: 7, shuffle: true, seed: 11 })) alone.push(...batch.indices);
      expect(seen).toEqual(alone);

      // A negative axis counts from each dataset's own end: columns of [3, 50] zipped with a [50] vector.
      const columns = await dataset([3, 50], [3, 8]);
      let zippedColumns = 0;
      for await (const batch of zipBatches({ columns: columns.ds, labels: labels.ds }, { axis: -1, batchSize: 6, shuffle: true })) {
        expect(batch.columns.shape).toEqual([batch.indices.length, 3]);
        batch.indices.forEach((row, k) => {
          expect(Array.from(batch.columns.data.subarray(k * 3, (k + 1) * 3), Number)).toEqual(rowOf(columns.full, 1, row));
          expect(batch.labels.data[k]).toBe(labels.full.data[row]);
        });
        zippedColumns += batch.indices.length;
      }
      expect(zippedColumns).toBe(50);

      const short = await dataset([49], [5]);
      await expectError(() => zipBatches({ images: images.ds, labels: short.ds }, { batchSize: 7 }), dn.ShapeError, ['"images"', '"labels"', images.ds.path, short.ds.path, "50 rows", "49"]);
      await expectError(() => zipBatches({ indices: images.ds }, { batchSize: 7 }), dn.ValidationError, ['"indices"', "reserved"]);
      await expectError(() => zipBatches({}, { batchSize: 7 }), dn.ValidationError, ["at least one dataset"]);
    });

    it("folds partition the rows with about the fraction asked, match foldOf, and stay stable after an append", async () => {
      const { ds } = await dataset([2000, 2], [64, 2]);
      const foldRows = async (target: dn.Dataset, fold: "train" | "valid", shuffle = false) => {
        const rows: number[] = [];
        for await (const b of batches(target, { batchSize: 50, shuffle, seed: 1, split: { fold, validFraction: 0.2, seed: 7 } })) rows.push(...b.indices);
        return rows;
      };
      const train = await foldRows(ds, "train");
      const valid = await foldRows(ds, "valid");
      expect(sortedNumbers([...train, ...valid])).toEqual(range(0, 2000));
      expect(valid.length / 2000).toBeGreaterThan(0.17);
      expect(valid.length / 2000).toBeLessThan(0.23);
      expect(valid.every((r) => foldOf(r, { validFraction: 0.2, seed: 7 }) === "valid")).toBe(true);
      expect(train.every((r) => foldOf(r, { validFraction: 0.2, seed: 7 }) === "train")).toBe(true);
      expect(sortedNumbers(await foldRows(ds, "valid", true))).toEqual(valid);
      // Another seed, another split; validFraction 0 puts everything in train.
      expect(range(0, 2000).filter((r) => foldOf(r, { validFraction: 0.2, seed: 8 }) === "valid")).not.toEqual(valid);
      expect(range(0, 2000).every((r) => foldOf(r, { validFraction: 0, seed: 8 }) === "train")).toBe(true);

      // Append 500 rows: no old row changes fold, new rows join both folds.
      await ds.resize([2500, 2]);
      await ds.set([dn.slice(2000, 2500), null], 1);
      const validAfter = await foldRows(ds, "valid");
      expect(validAfter.filter((r) => r < 2000)).toEqual(valid);
      expect(validAfter.filter((r) => r >= 2000).length).toBeGreaterThan(50);
      expect(sortedNumbers([...(await foldRows(ds, "train")), ...validAfter])).toEqual(range(0, 2500));
    });

    it("reads are chunk-aligned: each chunk object is read once per epoch (shuffled, zipped, a row range, prefetch or not)", async () => {
      const { ds } = await dataset([95, 6], [10, 3]);
      const chunkKeys = ds.objectIndices().map((g) => ds.objectKeyOf(g));
      expect(chunkKeys.length).toBe(20);
      const countGets = async (run: () => Promise<void>) => {
        store.reset();
        await run();
        const counts = new Map<string, number>();
        for (const key of store.keysOf("get")) counts.set(key, (counts.get(key) ?? 0) + 1);
        return counts;
      };
      const drain = async (iterable: AsyncIterable<unknown>) => {
        for await (const _ of iterable);
      };
      for (const options of [{ shuffle: true, epochs: 3 }, { shuffle: false, epochs: 3 }, { shuffle: true, epochs: 3, prefetch: 0 }, { shuffle: true, epochs: 3, blockRows: 30 }]) {
        const counts = await countGets(() => drain(batches(ds, { batchSize: 7, seed: 2, ...options })));
        expect([...counts.keys()].sort(), JSON.stringify(options)).toEqual([...chunkKeys].sort());
        expect([...counts.values()].every((n) => n === 3), JSON.stringify(options)).toBe(true);
      }
      // A row range reads the chunk rows it touches, once.
      const ranged = await countGets(() => drain(batches(ds, { batchSize: 7, shuffle: true, rows: [15, 62] })));
      expect([...ranged.keys()].sort()).toEqual(chunkKeys.filter((k) => ["1", "2", "3", "4", "5", "6"].includes(k.split("/").at(-2)!)).sort());
      expect([...ranged.values()].every((n) => n === 1)).toBe(true);
      // Zipped with another chunk length: blocks of their least common multiple, still once each.
      const other = await dataset([95], [4]);
      const zipped = await countGets(() => drain(zipBatches({ a: ds, b: other.ds }, { batchSize: 7, shuffle: true })));
      const otherKeys = other.ds.objectIndices().map((g) => other.ds.objectKeyOf(g));
      expect([...zipped.keys()].sort()).toEqual([...chunkKeys, ...otherKeys].sort());
      expect([...zipped.values()].every((n) => n === 1)).toBe(true);
      // Sharded: blocks are shard rows, so each shard is read in one block per epoch (the GETs of one ds.get of it).
      const sharded = await dataset([50, 6], [5, 3], "float32", { shards: [10, 6] });
      const oneShard = await countGets(() => sharded.ds.get("0:10, :").then(() => undefined));
      const perShard = [...oneShard.values()][0];
      const shardGets = await countGets(() => drain(batches(sharded.ds, { batchSize: 8, shuffle: true, epochs: 2 })));
      expect(shardGets.size).toBe(5);
      expect([...shardGets.values()].every((n) => n === 2 * perShard)).toBe(true);
    });

    it("prefetch bounds the reads in flight: prefetch + 1 blocks at most (and reaches it); breaking off stops reading", async () => {
      const { ds } = await dataset([200, 4], [10, 4]);
      store.delayMs = 4;
      try {
        for (const prefetch of [0, 1, 3]) {
          store.reset();
          let batchCount = 0;
          for await (const _ of batches(ds, { batchSize: 10, prefetch, shuffle: true })) batchCount++;
          expect(batchCount).toBe(20);
          expect(store.maxInFlight, `prefetch ${prefetch}`).toBe(prefetch + 1);
        }
        // njobs bounds each block's read: 2 chunks per block along axis 1, one at a time.
        const wide = await dataset([60, 4], [10, 2]);
        store.reset();
        for await (const _ of batches(wide.ds, { batchSize: 10, prefetch: 2, njobs: 1 }));
        expect(store.maxInFlight).toBe(3);
        store.reset();
        for await (const _ of batches(wide.ds, { batchSize: 10, prefetch: 2, njobs: 2 }));
        expect(store.maxInFlight).toBe(6);

        // A consumer holding its first batch: the block it came from was read and `prefetch` more, no further.
        store.reset();
        const iterator = batches(ds, { batchSize: 10, prefetch: 2 })[Symbol.asyncIterator]();
        expect(Array.from((await iterator.next()).value!.indices)).toEqual(range(0, 10));
        await new Promise((resolve) => setTimeout(resolve, 40));
        expect(store.count("get")).toBe(3);
        // Breaking off: the reads started are settled before return() resolves, nothing new starts.
        await iterator.return(undefined);
        expect(store.inFlight).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(store.count("get")).toBe(3);
        store.reset();
        for await (const _ of batches(ds, { batchSize: 10, prefetch: 4 })) break;
        expect(store.inFlight).toBe(0);
        expect(store.count("get")).toBeLessThanOrEqual(5);
      } finally {
        store.delayMs = 0;
      }
    });

    it("an abort signal stops the iteration with AbortedError", async () => {
      const { ds } = await dataset([100, 2], [10, 2]);
      const controller = new AbortController();
      let count = 0;
      await expectError(
        async () => {
          for await (const _ of batches(ds, { batchSize: 10, signal: controller.signal })) if (++count === 3) controller.abort();
        },
        dn.AbortedError,
        ["batches of", ds.path],
      );
      expect(count).toBe(3);
      const aborted = AbortSignal.abort();
      await expectError(async () => {
        for await (const _ of batches(ds, { batchSize: 10, signal: aborted }));
      }, dn.AbortedError, ["aborted"]);
    });

    it("bad input is a ValidationError naming the argument and the value", async () => {
      const { ds } = await dataset([20, 3], [5, 3]);
      const bad = (options: unknown, fragments: string[]) => expectError(() => batches(ds, options as BatchOptions), dn.ValidationError, fragments);
      await bad({ batchSize: 4, axis: 2 }, ["axis 2", "out of bounds", "2 dimensions", ds.path]);
      await bad({ batchSize: 4, axis: -3 }, ["axis -3", "out of bounds"]);
      await bad({ batchSize: 4, axis: 0.5 }, ["axis", "0.5"]);
      await bad({ batchSize: 0 }, ["batchSize", "positive integer", "got 0"]);
      await bad({ batchSize: -3 }, ["batchSize", "got -3"]);
      await bad({ batchSize: 2.5 }, ["batchSize", "got 2.5"]);
      await bad({}, ["batchSize", "got undefined"]);
      await bad({ batchSize: 4, prefetch: -1 }, ["prefetch", "non-negative", "got -1"]);
      await bad({ batchSize: 4, split: { fold: "train", validFraction: 1 } }, ["split.validFraction", "[0, 1)", "got 1"]);
      await bad({ batchSize: 4, split: { fold: "train", validFraction: -0.1 } }, ["split.validFraction", "got -0.1"]);
      await bad({ batchSize: 4, split: { fold: "test", validFraction: 0.1 } }, ["split.fold", '"test"']);
      await bad({ batchSize: 4, epochs: 0 }, ["epochs", "got 0"]);
      await bad({ batchSize: 4, seed: 1.5 }, ["seed", "got 1.5"]);
      await bad({ batchSize: 4, rows: [5, 30] }, ["rows [5, 30)", "[0, 20]"]);
      await bad({ batchSize: 4, rows: [7, 3] }, ["rows [7, 3)"]);
      await bad({ batchSize: 4, blockRows: 7 }, ["blockRows", "multiple of the chunk length 5", "got 7"]);
      await bad({ batchSize: 4, shuffleBlocks: 0 }, ["shuffleBlocks", "got 0"]);
      await bad({ batchSize: 4, dropLast: true, drop_last: false }, ["dropLast", "drop_last", "disagree"]);
      await bad({ batch_size: 4 }, ['unknown option "batch_size"']);
      await expectError(() => foldOf(3, { validFraction: 1.5 }), dn.ValidationError, ["validFraction", "got 1.5"]);
      await expectError(() => foldOf(-1, { validFraction: 0.1 }), dn.ValidationError, ["row", "got -1"]);
      await expectError(() => batches({} as dn.Dataset, { batchSize: 1 }), dn.ValidationError, ["expected a Dataset"]);
      // Nothing was read: options are checked before the first read.
      store.reset();
      await bad({ batchSize: 4, prefetch: -1 }, ["prefetch"]);
      expect(store.calls).toEqual([]);
    });
  });
}

/** Flat values 0, 1, 2, ... of a dtype (bool alternates, int64 is signed and bigint). */
function valuesFor(dtype: string, n: number): dn.TypedArray {
  if (dtype === "int64") return BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 3n - 7n);
  if (dtype === "bool") return Uint8Array.from({ length: n }, (_, i) => i % 2);
  const values = Array.from({ length: n }, (_, i) => i % 251);
  if (dtype === "uint8") return Uint8Array.from(values);
  return Float32Array.from(values);
}
