/**
 * What the fast read path (issue 15, "Speed") must not break: a cached shard index never yields
 * another version's data, the fs store's unzeroed buffers never show stale bytes, a chunk that is
 * not stored reads as the fill value in every data type and selection shape, the byte-wise
 * all-fill test decides -0.0 and NaN as documented, and codec work moved off the event loop
 * (buffers transferred to workers) neither detaches memory the caller keeps nor returns wrong data,
 * and reads of many chunks through a few reused buffers never mix one chunk's bytes into another.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { createChunkCodec, DATA_TYPES, type DataType } from "../../src/format/index.js";
import { ShardIndexCache } from "../../src/format/sharding.js";
import { backendKinds, type ClusterFixture, uniquePoolName } from "../helpers/clusters.js";
import { valuesOf } from "../helpers/reference.js";

const SRC_INDEX = join(import.meta.dirname, "../../src/index.ts");

/** Run `body` (an async function body with `dn` and `options` in scope) in another Node process. */
function inAnotherProcess(clusterOptions: Record<string, string>, body: string): void {
  const script = `import * as dn from ${JSON.stringify(SRC_INDEX)};\nconst options = ${JSON.stringify(clusterOptions)};\n${body}`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  if (run.status !== 0) throw new Error(`the other process failed (${run.status}): ${run.stderr}`);
}

for (const kind of backendKinds) {
  describe(`cached shard indexes on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let poolName: string;
    beforeAll(async () => {
      fixture = await kind.make();
      poolName = uniquePoolName("read-path");
      await fixture.cluster.createPool(poolName);
    });
    afterAll(async () => {
      await fixture.cluster.deletePool(poolName).catch(() => undefined);
      await fixture.cleanup();
    });

    // 1 shard of 4 inner chunks of 8 int32; gzip makes inner chunk sizes (so offsets) depend on content.
    const options = { shape: [32], dtype: "int32" as const, chunks: [8], shards: [32], compression: "gzip" as const, fillValue: -1 };
    const ramp = (from: number) => Int32Array.from({ length: 32 }, (_, i) => from + i);

    async function handles(name: string) {
      const pool = await fixture.cluster.getPool(poolName);
      const reader = await pool.createDataset(name, options);
      // Another handle: its own index cache, as another process would have.
      const writer = await (await fixture.cluster.getPool(poolName)).getDataset(name);
      return { reader, writer };
    }

    it("a shard rewritten by another writer after its index was cached reads the new data", async () => {
      const { reader, writer } = await handles("rewritten");
      await reader.set(undefined, ramp(0));
      expect(valuesOf((await reader.get("2:30")).data)).toEqual(Array.from(ramp(0)).slice(2, 30));
      // Inner chunk 0 now compresses to another size, so every later inner chunk moves.
      await writer.set("0:8", Int32Array.from({ length: 8 }, (_, i) => (i * 7919) ^ 0x5a5a5a));
      await writer.set("8:32", ramp(1000).subarray(8));
      const expected = [...Array.from({ length: 8 }, (_, i) => (i * 7919) ^ 0x5a5a5a), ...Array.from(ramp(1000)).slice(8)];
      expect(valuesOf((await reader.get("2:30")).data)).toEqual(expected.slice(2, 30));
      expect(valuesOf((await reader.read()).data)).toEqual(expected);
    });

    it("a shard deleted by another writer after its index was cached reads as fill", async () => {
      const { reader, writer } = await handles("deleted");
      await reader.set(undefined, ramp(5));
      expect(valuesOf((await reader.get("8:16")).data)).toEqual(Array.from(ramp(5)).slice(8, 16));
      await writer.clear();
      expect(valuesOf((await reader.get("8:16")).data)).toEqual(new Array(8).fill(-1));
    });

    it("an inner chunk the cached index calls absent, written since by another writer, is read", async () => {
      const { reader, writer } = await handles("filled-in");
      await reader.set("0:8", ramp(0).subarray(0, 8));
      expect(valuesOf((await reader.get("16:24")).data)).toEqual(new Array(8).fill(-1));
      expect(valuesOf((await reader.get("0:8")).data)).toEqual(Array.from(ramp(0)).slice(0, 8)); // index cached
      await writer.set("16:24", ramp(100).subarray(0, 8));
      expect(valuesOf((await reader.get("16:24")).data)).toEqual(Array.from(ramp(100)).slice(0, 8));
      expect(valuesOf((await reader.get("0:24")).data)).toEqual([...Array.from(ramp(0)).slice(0, 8), ...new Array(8).fill(-1), ...Array.from(ramp(100)).slice(0, 8)]);
    });

    if (kind.name !== "memory") {
      it("a shard rewritten by another process after its index was cached reads the new data", async () => {
        const { reader } = await handles("other-process");
        await reader.set(undefined, ramp(0));
        expect(valuesOf((await reader.get("0:32")).data)).toEqual(Array.from(ramp(0)));
        inAnotherProcess(
          fixture.clusterOptions!,
          `const c = new dn.Cluster(options); await c.connect();
           const ds = await (await c.getPool(${JSON.stringify(poolName)})).getDataset("other-process");
           await ds.set("0:4", Int32Array.from([9, 99, 999, 9999]));
           await ds.set("24:32", -1);
           await c.disconnect();`,
        );
        const expected = [9, 99, 999, 9999, ...Array.from(ramp(0)).slice(4, 24), ...new Array(8).fill(-1)];
        expect(valuesOf((await reader.get("0:32")).data)).toEqual(expected);
      });
    }
  });
}

describe("ShardIndexCache", () => {
  const index = (n: number, v: number) => new Float64Array(n).fill(v);

  it("drops the least recently used entries past its byte cap; get refreshes an entry", () => {
    const cache = new ShardIndexCache(3 * 64);
    cache.set("a", "v1", index(8, 1));
    cache.set("b", "v1", index(8, 2));
    cache.set("c", "v1", index(8, 3));
    expect(cache.get("a")?.index[0]).toBe(1);
    cache.set("d", "v1", index(8, 4)); // evicts b, the least recently used
    expect(cache.get("b")).toBeUndefined();
    expect(["a", "c", "d"].map((k) => cache.get(k)?.index[0])).toEqual([1, 3, 4]);
  });

  it("keeps one entry per key, with the version it was read at; delete forgets it", () => {
    const cache = new ShardIndexCache(1024);
    cache.set("a", "v1", index(2, 1));
    cache.set("a", "v2", index(2, 2));
    expect(cache.size).toBe(1);
    expect(cache.get("a")).toEqual({ version: "v2", index: index(2, 2) });
    cache.delete("a");
    expect(cache.get("a")).toBeUndefined();
    cache.set("big", "v1", index(1000, 0)); // larger than the cap: not kept
    expect(cache.get("big")).toBeUndefined();
  });
});

describe("fs store reads", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "dosna-read-path-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("return exactly the object's bytes, in memory of their own, never stale bytes of an earlier read", async () => {
    const store = new dn.FileSystemStore(root);
    for (const size of [3 << 20, 1 << 20, 5000, 100, 1]) {
      // Each object is smaller than the one before and of another byte, so leftovers would show.
      const value = new Uint8Array(size).fill(size & 0xff || 0x7e);
      value[size - 1] = 0x42;
      await store.set(`k${size}`, value);
      const got = (await store.get(`k${size}`))!;
      expect(got.byteLength).toBe(size);
      expect(got.byteOffset).toBe(0);
      expect(got.buffer.byteLength).toBe(size); // not a slice of a shared pool
      expect(Buffer.from(got).equals(Buffer.from(value))).toBe(true);
      const range = (await store.get(`k${size}`, { offset: Math.floor(size / 2), length: size - Math.floor(size / 2) }))!;
      expect(Buffer.from(range).equals(Buffer.from(value.subarray(Math.floor(size / 2))))).toBe(true);
      expect(range.buffer.byteLength).toBe(range.byteLength);
      const versioned = (await store.getVersioned(`k${size}`))!;
      expect(Buffer.from(versioned.bytes).equals(Buffer.from(value))).toBe(true);
    }
  });

  it("of a file that another program truncated in place return only what is there", async () => {
    const store = new dn.FileSystemStore(root);
    await store.set("t", new Uint8Array(1 << 20).fill(9));
    await writeFile(join(root, "t"), new Uint8Array(10).fill(3));
    expect(Array.from((await store.get("t"))!)).toEqual(new Array(10).fill(3));
  });
});

for (const kind of backendKinds) {
  describe(`reads of many chunks through reused buffers on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let poolName: string;
    beforeAll(async () => {
      fixture = await kind.make();
      poolName = uniquePoolName("read-reuse");
      await fixture.cluster.createPool(poolName);
    });
    afterAll(async () => {
      await fixture.cluster.deletePool(poolName).catch(() => undefined);
      await fixture.cleanup();
    });

    // 40 chunks of distinct content, read 3 at a time: a buffer reused before its chunk was copied
    // out (or while a cache or caller still held it) would show another chunk's values.
    const shape = [40, 6];
    const values = Float64Array.from({ length: 240 }, (_, i) => i * 1.5 - 17);
    const expectedRows = (from: number, to: number) => Array.from(values.subarray(from * 6, to * 6));

    for (const compression of [undefined, "gzip", "zstd"] as const) {
      it(`${compression ?? "uncompressed"}: every chunk reads right, also from the chunk cache and in one-chunk reads kept by the caller`, async () => {
        const pool = await fixture.cluster.getPool(poolName);
        const ds = await pool.createDataset(compression ?? "raw", { shape, dtype: "float64", chunks: [1, 6], compression, data: values });
        const whole = await ds.get(undefined, { njobs: 3 });
        expect(Array.from(whole.data as Float64Array)).toEqual(Array.from(values));
        expect(Array.from((await ds.get("::-3", { njobs: 3 })).data as Float64Array)).toEqual(
          Array.from({ length: 14 }, (_, k) => 39 - 3 * k).flatMap((r) => expectedRows(r, r + 1)),
        );
        const points = await ds.vindex.get([[39, 0, 20, 7], [5, 0, 3, 1]], { njobs: 3 });
        expect(Array.from(points.data as Float64Array)).toEqual([values[39 * 6 + 5], values[0], values[20 * 6 + 3], values[7 * 6 + 1]]);
        ds.setChunkCache(1 << 20);
        await ds.get(undefined, { njobs: 3 });
        const chunks = await Promise.all(Array.from({ length: 40 }, (_, r) => ds.readChunk([r, 0])));
        await ds.get("10:30", { njobs: 3 });
        for (let r = 0; r < 40; r++) expect(Array.from(chunks[r]! as Float64Array), `chunk ${r}`).toEqual(expectedRows(r, r + 1));
        expect(Array.from((await ds.get(undefined, { njobs: 3 })).data as Float64Array)).toEqual(Array.from(values));
        expect(ds.chunkCache!.hits).toBeGreaterThan(0);
      });
    }
  });
}

/** A non-zero fill value for each data type (and what one element of the read output holds). */
function fillFor(dtype: DataType): { fillValue: unknown; element: unknown[] } | undefined {
  if (dtype === "bool") return { fillValue: true, element: [1] };
  if (dtype === "int64" || dtype === "uint64") return { fillValue: 7, element: [7n] };
  if (dtype.startsWith("int") || dtype.startsWith("uint")) return { fillValue: 7, element: [7] };
  if (dtype.startsWith("float")) return { fillValue: -2.5, element: [-2.5] };
  if (dtype.startsWith("complex")) return { fillValue: [1.5, -2], element: [1.5, -2] };
  return undefined; // a data type added later (strings): tested where it is defined
}

describe("chunks that are not stored read as the fill value", () => {
  let cluster: dn.Cluster;
  let pool: dn.Pool;
  beforeAll(async () => {
    cluster = new dn.Cluster({ backend: "memory" });
    await cluster.connect();
    pool = await cluster.createPool("fills");
  });
  afterAll(() => cluster.disconnect());

  for (const dtype of DATA_TYPES) {
    const fill = fillFor(dtype);
    if (fill === undefined) continue;
    for (const sharded of [false, true]) {
      it(`${dtype}${sharded ? ", sharded" : ""}: whole reads, steps, negative steps and index arrays`, async () => {
        const ds = await pool.createDataset(`${dtype}-${sharded}`, {
          shape: [9, 10], dtype, chunks: [4, 4], ...(sharded ? { shards: [8, 8] } : {}), fillValue: fill.fillValue as never,
        });
        const lanes = fill.element.length;
        for (const selection of [undefined, "1:9:3, ::-2", "[0, 8, 3], 2:7", "5, :", "8:9, 9:10"]) {
          const out = await ds.get(selection);
          const values = Array.from(out.data as ArrayLike<unknown>);
          expect(values.length % lanes).toBe(0);
          expect(values.length).toBeGreaterThan(0);
          for (let i = 0; i < values.length; i += lanes) expect(values.slice(i, i + lanes)).toEqual(fill.element);
        }
      });
    }
  }

  it("and next to stored chunks keep their values", async () => {
    const ds = await pool.createDataset("mixed", { shape: [6, 6], dtype: "int16", chunks: [3, 3], fillValue: -9 });
    await ds.set("0:3, 3:6", 4);
    const values = valuesOf((await ds.get("::-1, [5, 0, 4]")).data);
    // rows 5..0, columns 5, 0, 4: only rows 0-2 of columns 5 and 4 are stored.
    expect(values).toEqual([-9, -9, -9, -9, -9, -9, -9, -9, -9, 4, -9, 4, 4, -9, 4, 4, -9, 4]);
  });
});

describe("the all-fill test that decides whether a chunk is stored", () => {
  let cluster: dn.Cluster;
  let pool: dn.Pool;
  beforeAll(async () => {
    cluster = new dn.Cluster({ backend: "memory" });
    await cluster.connect();
    pool = await cluster.createPool("all-fill");
  });
  afterAll(() => cluster.disconnect());

  for (const dtype of ["float32", "float64"] as const) {
    for (const sharded of [false, true]) {
      const layout = sharded ? { shards: [8] } : {};
      it(`${dtype}${sharded ? " sharded" : ""}: -0.0 in a 0.0-filled array is stored and reads back as -0.0`, async () => {
        const ds = await pool.createDataset(`negzero-${dtype}-${sharded}`, { shape: [8], dtype, chunks: [4], ...layout, fillValue: 0 });
        await ds.set("0:4", -0);
        await ds.set("4:8", 0);
        expect(await ds.chunkExists([0])).toBe(true);
        expect(await ds.chunkExists([1])).toBe(false);
        const values = Array.from((await ds.read()).data as Float32Array);
        expect(values.slice(0, 4).every((v) => Object.is(v, -0))).toBe(true);
        expect(values.slice(4).every((v) => Object.is(v, 0))).toBe(true);
      });

      it(`${dtype}${sharded ? " sharded" : ""}: with a NaN fill any NaN bits count as fill; a chunk with a number is stored`, async () => {
        const ds = await pool.createDataset(`nan-${dtype}-${sharded}`, { shape: [8], dtype, chunks: [4], ...layout, fillValue: NaN });
        const Ctor = dtype === "float32" ? Float32Array : Float64Array;
        const odd = new Ctor(4);
        const bits = new DataView(odd.buffer);
        for (let i = 0; i < 4; i++) {
          // negative quiet NaN, and NaNs with payload bits: not the bytes of the fill chunk's NaN
          if (dtype === "float32") bits.setUint32(i * 4, [0xffc00000, 0x7fc00001, 0x7fa00000, 0xffffffff][i], true);
          else bits.setBigUint64(i * 8, [0xfff8000000000000n, 0x7ff8000000000001n, 0x7ff4000000000000n, 0xffffffffffffffffn][i], true);
        }
        expect(Array.from(odd).every(Number.isNaN)).toBe(true);
        await ds.set("0:4", odd);
        const withNumber = new Ctor([NaN, NaN, 1.5, NaN]);
        await ds.set("4:8", withNumber);
        expect(await ds.chunkExists([0])).toBe(false);
        expect(await ds.chunkExists([1])).toBe(true);
        const values = Array.from((await ds.read()).data as Float32Array);
        expect(values.map((v) => (Number.isNaN(v) ? "NaN" : v))).toEqual(["NaN", "NaN", "NaN", "NaN", "NaN", "NaN", 1.5, "NaN"]);
      });
    }
  }

  it("int64 and uint64 compare as bytes too: all fill is not stored, one other value is", async () => {
    for (const dtype of ["int64", "uint64"] as const) {
      const ds = await pool.createDataset(`big-${dtype}`, { shape: [8], dtype, chunks: [4], fillValue: 5 });
      await ds.set("0:4", 5n);
      await ds.set("4:8", BigInt64Array.from([5n, 5n, 5n, 6n]) as never);
      expect(await ds.chunkExists([0])).toBe(false);
      expect(await ds.chunkExists([1])).toBe(true);
      expect(Array.from((await ds.read()).data as BigInt64Array)).toEqual([5n, 5n, 5n, 5n, 5n, 5n, 5n, 6n]);
    }
  });
});

describe("codec work off the event loop", () => {
  // 256 KiB chunks: large enough for the worker pool.
  const n = 256 * 256;
  const data = Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i / 100) + (i % 7));

  for (const compression of ["gzip", "zstd"] as const) {
    it(`${compression}: a decode of bytes the caller keeps leaves them intact; of owned bytes is right too`, async () => {
      const codec = createChunkCodec({ dataType: "float32", chunkShape: [n], codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: compression }] });
      const chunk = data.slice(0, n);
      const encoded = await codec.encode(chunk);
      const kept = encoded.slice();
      const decoded = await codec.decode(kept, "k");
      expect(kept.byteLength).toBe(encoded.byteLength); // not detached
      expect(Buffer.from(kept).equals(Buffer.from(encoded))).toBe(true);
      expect(Array.from(decoded as Float32Array)).toEqual(Array.from(chunk));
      const owned = await codec.decode(encoded.slice(), "k", { owned: true });
      expect(Array.from(owned as Float32Array)).toEqual(Array.from(chunk));
      // Corrupt input fails in the worker and names the key.
      const broken = encoded.slice();
      broken.fill(0, 20, 200);
      await expect(codec.decode(broken, "the/key", { owned: true })).rejects.toThrow(/the\/key/);
    });

    it(`${compression}: inner chunks of one shard fetched in one request all decode right`, async () => {
      const cluster = new dn.Cluster({ backend: "memory" });
      await cluster.connect();
      const pool = await cluster.createPool("off-loop");
      const ds = await pool.createDataset("d", { shape: [2 * n], dtype: "float32", chunks: [n], shards: [2 * n], compression });
      await ds.set(undefined, data);
      expect(Array.from((await ds.read()).data as Float32Array)).toEqual(Array.from(data));
      expect(Array.from((await ds.get(`${n - 3}:${n + 3}`)).data as Float32Array)).toEqual(Array.from(data.subarray(n - 3, n + 3)));
      await cluster.disconnect();
    });
  }
});
