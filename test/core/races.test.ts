/**
 * In-process races of issue 8 item 4, and the optimistic-concurrency paths of item 2, made
 * deterministic with a store whose calls can be held at a gate: each test fails on the code
 * before the fix (noted per test).
 */
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import type { DeleteOptions, RequestOptions, SetOptions, VersionedBytes } from "../../src/store/store.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { valuesOf } from "../helpers/reference.js";

type Hold = "get-after-read" | "set-before-write" | "delete-before-delete";

/** Holds the next matching call at a gate until `release()`; `reached` resolves when it is held. */
class GatedStore extends InstrumentedStore {
  private gates = new Map<Hold, { key: (k: string) => boolean; reached: () => void; opened: Promise<void> }>();

  hold(where: Hold, key: (k: string) => boolean): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((r) => (reached = r));
    const opened = new Promise<void>((r) => (release = r));
    this.gates.set(where, { key, reached, opened });
    return { reached: reachedPromise, release };
  }

  private async gate(where: Hold, key: string): Promise<void> {
    const gate = this.gates.get(where);
    if (!gate || !gate.key(key)) return;
    this.gates.delete(where);
    gate.reached();
    await gate.opened;
  }

  override async get(key: string, range?: dn.ByteRange, options?: RequestOptions): Promise<Uint8Array | undefined> {
    const bytes = await super.get(key, range, options);
    await this.gate("get-after-read", key);
    return bytes;
  }

  override async getVersioned(key: string, options?: RequestOptions): Promise<VersionedBytes | undefined> {
    const got = await super.getVersioned(key, options);
    await this.gate("get-after-read", key);
    return got;
  }

  override async set(key: string, value: Uint8Array, options?: SetOptions): Promise<string> {
    await this.gate("set-before-write", key);
    return super.set(key, value, options);
  }

  override async delete(key: string, options?: DeleteOptions): Promise<void> {
    await this.gate("delete-before-delete", key);
    return super.delete(key, options);
  }

  override async deleteMany(keys: string[], options?: RequestOptions): Promise<void> {
    for (const key of keys) await this.gate("delete-before-delete", key);
    return super.deleteMany(keys, options);
  }
}

const isChunk = (k: string) => k.includes("/c/");

async function setup(options: { sharded?: boolean } = {}) {
  const store = new GatedStore(new dn.MemoryStore());
  const pool = await dn.Pool.initialise(store, { name: "races" });
  const layout = options.sharded ? { chunks: [2, 4], shards: [4, 4] } : { chunks: [4, 4] };
  const ds = await pool.createDataset("d", { shape: [4, 4], dtype: "int32", ...layout });
  await ds.set(":", 1);
  return { store, pool, ds };
}

describe("the chunk cache under concurrent reads and writes", () => {
  it("a read in flight across a write does not put the old chunk back into the cache (was: stale reads ever after)", async () => {
    const { store, ds } = await setup();
    ds.setChunkCache(1 << 20);
    const held = store.hold("get-after-read", isChunk);
    const inFlight = ds.get(":");
    await held.reached; // the read has the old bytes in hand
    await ds.set(":", 2); // a whole-chunk write: it invalidates the cache entry
    held.release();
    expect(valuesOf((await inFlight).data)).toEqual(new Array(16).fill(1)); // read before the write
    expect(valuesOf((await ds.get(":")).data)).toEqual(new Array(16).fill(2));
  });

  it("the same holds for a clear racing a read", async () => {
    const { store, ds } = await setup();
    ds.setChunkCache(1 << 20);
    const held = store.hold("get-after-read", isChunk);
    const inFlight = ds.get(":");
    await held.reached;
    await ds.clear();
    held.release();
    await inFlight;
    expect(valuesOf((await ds.get(":")).data)).toEqual(new Array(16).fill(0));
  });

  it("readChunk hands out a copy: changing it does not change later reads (was: it returned the cached array)", async () => {
    const { ds } = await setup();
    ds.setChunkCache(1 << 20);
    const chunk = (await ds.readChunk([0, 0])) as Int32Array;
    chunk.fill(99);
    expect(valuesOf((await ds.get(":")).data)).toEqual(new Array(16).fill(1));
    expect(Array.from((await ds.readChunk([0, 0])) as Int32Array)).toEqual(new Array(16).fill(1));
  });
});

describe("deletes take the chunk lock", () => {
  // Old content outside the patch may never come back: the outcome is either "delete after the
  // write" (nothing stored) or "write after the delete" (the patch on fill values).
  const patchOnly = [5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const outcomes = [new Array(16).fill(0), patchOnly];

  for (const [name, remove] of [
    ["deleteChunk", (ds: dn.Dataset) => ds.deleteChunk([0, 0])],
    ["clear", (ds: dn.Dataset) => ds.clear()],
    ["resize to 0 rows", async (ds: dn.Dataset) => ds.resize([0, 4])],
  ] as const) {
    it(`${name} during a partial write never brings the deleted chunk's old content back (was: it did)`, async () => {
      const { store, ds } = await setup();
      const held = store.hold("set-before-write", isChunk);
      const writing = ds.set("0, 0:2", 5);
      await held.reached; // the read-modify-write has read the chunk and is about to store it
      const removing = remove(ds);
      await new Promise((r) => setTimeout(r, 20));
      held.release();
      await Promise.all([writing, removing]);
      await ds.resize([4, 4]);
      expect(outcomes).toContainEqual(valuesOf((await ds.get(":")).data));
    });
  }
});

describe("optimistic concurrency between handles", () => {
  it("a partial write that lost the race to another handle re-reads and keeps the other's update", async () => {
    const { store, pool, ds } = await setup();
    const other = await pool.getDataset("d");
    // Hold this handle's write between its read and its conditional write...
    const held = store.hold("set-before-write", isChunk);
    const writing = ds.set("0, :", 7);
    await held.reached;
    // ...while a writer elsewhere (a store of its own: no shared in-process lock) changes row 3.
    const elsewhere = await dn.Pool.open(store.inner, { name: "races" });
    await (await elsewhere.getDataset("d")).set("3, :", 9);
    held.release();
    await writing;
    expect(valuesOf((await other.get(":")).data)).toEqual([7, 7, 7, 7, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9, 9, 9]);
  });

  it("apply in place recomputes a chunk another writer changed meanwhile (was: the other's update was overwritten)", async () => {
    const { store, pool, ds } = await setup();
    const held = store.hold("set-before-write", isChunk);
    const applying = ds.apply((chunk) => (chunk.data as Int32Array).map((v) => v * 2));
    await held.reached;
    const elsewhere = await dn.Pool.open(store.inner, { name: "races" });
    await (await elsewhere.getDataset("d")).set("3, 3", 10);
    held.release();
    await applying;
    const all = valuesOf((await pool.getDataset("d").then((d) => d.get(":"))).data);
    expect(all.slice(0, 15)).toEqual(new Array(15).fill(2));
    expect(all[15]).toBe(20);
  });

  it("a second handle's attrs.set does not undo another handle's resize, and refresh() shows both", async () => {
    const { pool, ds } = await setup();
    const second = await pool.getDataset("d");
    await ds.resize([8, 4]);
    await second.attrs.set("units", "counts");
    expect(second.shape).toEqual([8, 4]); // the attribute update started from the stored metadata
    const reopened = await pool.getDataset("d");
    expect(reopened.shape).toEqual([8, 4]);
    expect(reopened.attrs.get("units")).toBe("counts");
    await second.resize([6, 4]);
    expect(ds.shape).toEqual([8, 4]);
    await ds.refresh();
    expect(ds.shape).toEqual([6, 4]);
    expect(ds.attrs.get("units")).toBe("counts");
  });

  it("attribute updates and deletes of two handles merge", async () => {
    const { pool, ds } = await setup();
    const second = await pool.getDataset("d");
    await ds.attrs.update({ a: 1, b: 2 });
    await second.attrs.set("c", 3);
    await ds.attrs.delete("a");
    const reopened = await pool.getDataset("d");
    expect(reopened.attrs.toJSON()).toEqual({ b: 2, c: 3 });
    const group = await pool.createGroup("g", { attrs: { x: 1 } });
    const groupAgain = await pool.getGroup("g");
    await group.attrs.set("y", 2);
    await groupAgain.attrs.set("z", 3);
    await group.refresh();
    expect(group.attrs.toJSON()).toEqual({ x: 1, y: 2, z: 3 });
  });

  it("a resize that lost the race to an attribute change retries from the latest metadata", async () => {
    const { store, pool, ds } = await setup();
    const held = store.hold("set-before-write", (k) => k === "d/zarr.json");
    const resizing = ds.resize([2, 4]);
    await held.reached;
    const elsewhere = await dn.Pool.open(store.inner, { name: "races" });
    await (await elsewhere.getDataset("d")).attrs.set("late", true);
    held.release();
    await resizing;
    const reopened = await pool.getDataset("d");
    expect(reopened.shape).toEqual([2, 4]);
    expect(reopened.attrs.get("late")).toBe(true);
  });

  it("a write that keeps losing fails with ConflictError naming the key and the attempts, storing nothing", async () => {
    const inner = new dn.MemoryStore();
    const pool = await dn.Pool.initialise(inner, { name: "conflict", conflictRetries: 3 });
    const ds = await pool.createDataset("d", { shape: [4, 4], dtype: "int32", chunks: [4, 4] });
    await ds.set(":", 1);
    // Another writer replaces the chunk between every read and conditional write of this one.
    const rival = new (class extends InstrumentedStore {
      override async set(key: string, value: Uint8Array, options?: SetOptions): Promise<string> {
        if (options?.ifMatch !== undefined) await inner.set(key, (await inner.get(key))!);
        return super.set(key, value, options);
      }
    })(inner);
    const contested = await (await dn.Pool.open(rival, { name: "conflict", conflictRetries: 3 })).getDataset("d");
    const error = await contested.set("0, 0", 5).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(dn.ConflictError);
    expect((error as Error).message).toContain('"d/c/0/0"');
    expect((error as Error).message).toContain("3 times");
    expect(valuesOf((await ds.get(":")).data)).toEqual(new Array(16).fill(1));
  });

  it("a shard rewrite that lost the race re-reads the shard and keeps the other's inner chunk", async () => {
    const { store, pool, ds } = await setup({ sharded: true });
    const held = store.hold("set-before-write", isChunk);
    const writing = ds.set("0, 0", 7); // inner chunk [0, 0] of the one shard
    await held.reached;
    const elsewhere = await dn.Pool.open(store.inner, { name: "races" });
    await (await elsewhere.getDataset("d")).set("3, 3", 9); // inner chunk [1, 0]
    held.release();
    await writing;
    const all = valuesOf((await pool.getDataset("d").then((d) => d.get(":"))).data);
    expect(all[0]).toBe(7);
    expect(all[15]).toBe(9);
    expect(all.filter((v) => v === 1)).toHaveLength(14);
  });

  it("a sharded read never mixes two versions of a shard another writer replaced between its index and data GETs (was: corrupt or wrong values)", async () => {
    const store = new GatedStore(new dn.MemoryStore());
    const pool = await dn.Pool.initialise(store, { name: "races" });
    const ds = await pool.createDataset("d", { shape: [4, 4], dtype: "int32", chunks: [2, 4], shards: [4, 4], compression: "gzip" });
    await ds.set(":", 1); // compresses to a few bytes per inner chunk
    const fresh = Int32Array.from({ length: 16 }, (_, i) => (i * 2654435761) % 1000003); // compresses poorly: other offsets
    const held = store.hold("get-after-read", isChunk);
    const reading = ds.get(":");
    await held.reached; // the index of the old shard is in hand
    const elsewhere = await dn.Pool.open(store.inner, { name: "races" });
    await (await elsewhere.getDataset("d")).set(":", fresh);
    held.release();
    expect(valuesOf((await reading).data)).toEqual(Array.from(fresh));
  });

  it("a chunk that became all fill is removed only if unchanged: a rival's write to it survives", async () => {
    const { store, pool, ds } = await setup();
    await ds.set(":", 0);
    await ds.set("0, 0", 4); // one non-fill element
    const held = store.hold("delete-before-delete", isChunk);
    const clearing = ds.set("0, 0", 0); // the chunk becomes all fill: a conditional delete
    await held.reached;
    const elsewhere = await dn.Pool.open(store.inner, { name: "races" });
    await (await elsewhere.getDataset("d")).set("2, 2", 8);
    held.release();
    await clearing;
    const all = valuesOf((await pool.getDataset("d").then((d) => d.get(":"))).data);
    expect(all[10]).toBe(8);
    expect(all[0]).toBe(0);
  });
});
