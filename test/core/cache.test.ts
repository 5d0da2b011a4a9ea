/**
 * The optional decoded-chunk cache: off by default, serves repeated reads without GETs, stays
 * correct across writes, clear and resize, and never holds more than its byte cap.
 */
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { randomInts } from "../helpers/random.js";
import { referenceGet, valuesOf } from "../helpers/reference.js";

const SHAPE = [40, 30];
const DATA = randomInts(40 * 30, -100, 100, 5);

async function setup(layout: "plain" | "sharded") {
  const store = new InstrumentedStore(new dn.MemoryStore());
  const pool = await dn.Pool.initialise(store, { name: "cache" });
  const options = layout === "plain" ? { data: DATA, shape: SHAPE, chunks: [8, 8] } : { data: DATA, shape: SHAPE, chunks: [4, 4], shards: [8, 8] };
  const ds = await pool.createDataset("d", options);
  store.reset();
  return { store, ds };
}

for (const layout of ["plain", "sharded"] as const) {
  describe(`chunk cache (${layout})`, () => {
    it("is off by default: a repeated read fetches again", async () => {
      const { store, ds } = await setup(layout);
      expect(ds.chunkCache).toBeUndefined();
      await ds.get("0:8, 0:8");
      const first = store.count("get");
      await ds.get("0:8, 0:8");
      // The sharded layout keeps shard indexes (not chunks): the repeat skips only the index GET.
      expect(store.count("get")).toBe(layout === "plain" ? 2 * first : 2 * first - 1);
    });

    it("serves a repeated overlapping read from memory, with the same values", async () => {
      const { store, ds } = await setup(layout);
      ds.setChunkCache(1 << 20);
      const a = await ds.get("2:20, 3:17");
      const gets = store.count("get");
      expect(gets).toBeGreaterThan(0);
      const b = await ds.get("4:18, 5:15");
      expect(store.count("get")).toBe(gets);
      expect(valuesOf(a.data)).toEqual(referenceGet(DATA, SHAPE, [{ slice: [2, 20, null] }, { slice: [3, 17, null] }]).values);
      expect(valuesOf(b.data)).toEqual(referenceGet(DATA, SHAPE, [{ slice: [4, 18, null] }, { slice: [5, 15, null] }]).values);
      expect(ds.chunkCache!.hits).toBeGreaterThan(0);
    });

    it("sees this dataset's own writes, clear and resize", async () => {
      const { ds } = await setup(layout);
      ds.setChunkCache(1 << 20);
      await ds.read();
      await ds.set("5, :", 7);
      expect(valuesOf((await ds.get("5, 0:4")).data)).toEqual([7, 7, 7, 7]);
      await ds.clear();
      expect(valuesOf((await ds.get("5, 0:4")).data)).toEqual([0, 0, 0, 0]);
      await ds.set(":", 3);
      await ds.resize([10, 30]);
      await ds.resize([40, 30]);
      expect(valuesOf((await ds.get("20, 0:3")).data)).toEqual([0, 0, 0]);
      expect(valuesOf((await ds.get("9, 0:3")).data)).toEqual([3, 3, 3]);
    });

    it("never holds more than its byte cap", async () => {
      const { store, ds } = await setup(layout);
      const chunkBytes = ds.chunks[0] * ds.chunks[1] * 4;
      ds.setChunkCache(3 * (chunkBytes + 64));
      await ds.read();
      expect(ds.chunkCache!.bytes).toBeLessThanOrEqual(3 * (chunkBytes + 64));
      expect(ds.chunkCache!.bytes).toBeGreaterThan(0);
      store.reset();
      await ds.read();
      expect(store.count("get")).toBeGreaterThan(0);
      expect(valuesOf((await ds.read()).data)).toEqual(valuesOf(DATA));
    });

    it("rejects a bad size with a clear error", async () => {
      const { ds } = await setup(layout);
      expect(() => ds.setChunkCache(-1)).toThrow(/chunk cache size of dataset "\/d"/);
    });
  });
}
