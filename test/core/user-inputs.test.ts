/**
 * Inputs users bring and API they expect (issue 15, part of "API users expect" and of Zarr v3 as
 * zarr-python writes it): a Node Buffer wherever a Uint8Array is accepted; a read too large to
 * allocate fails with a ValidationError naming its size instead of a bare RangeError; a zarr.json
 * with `"dimension_names": null` (what zarr-python writes) opens and reads; `ds.append` (also from 3
 * processes at once on fs: every block lands, none overwritten); `dims`; `requireDataset`;
 * `group.visit()`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import ndarray from "ndarray";
import * as dn from "../../src/index.js";
import { expectError } from "../helpers/expect-error.js";

async function memoryPool(): Promise<dn.Pool> {
  const cluster = new dn.Cluster({ backend: "memory" });
  await cluster.connect();
  return cluster.createPool("p");
}

describe("inputs users bring", () => {
  it("accepts a Node Buffer on a uint8 dataset: whole, into a selection, and as an ndarray's data", async () => {
    const pool = await memoryPool();
    const ds = await pool.createDataset("bytes", { shape: [2, 4], dtype: "uint8", chunks: [1, 2] });
    await ds.set(undefined, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(Array.from((await ds.get()).data as Uint8Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await ds.set("1, 1:3", Buffer.from([60, 70]));
    expect(Array.from((await ds.get("1")).data as Uint8Array)).toEqual([5, 60, 70, 8]);
    await ds.load(ndarray(Buffer.from([9, 9, 9, 9, 8, 8, 8, 8]), [2, 4]) as never);
    expect(Array.from((await ds.get()).data as Uint8Array)).toEqual([9, 9, 9, 9, 8, 8, 8, 8]);
    // A Buffer over a shared pool slab (byteOffset ≠ 0) writes only its own bytes.
    const slab = Buffer.from("abcdefgh");
    await ds.set("0", slab.subarray(4, 8));
    expect(Array.from((await ds.get("0")).data as Uint8Array)).toEqual([101, 102, 103, 104]);
  });

  it("a read too large to allocate fails with a ValidationError naming its size, and nothing is read", async () => {
    const pool = await memoryPool();
    const huge = await pool.createDataset("huge", { shape: [1e9, 1e9, 1e9], dtype: "float64", chunks: [1000, 1000, 1000] });
    const error = await expectError(() => huge.get(), dn.ValidationError, ["1.000e+27 elements", "8.000e+27 bytes", "too large to allocate", '"/huge"']);
    expect(error.cause).toBeInstanceOf(RangeError);
    expect(Array.from((await huge.get("0, 0, 0:3")).data as Float64Array)).toEqual([0, 0, 0]);
  });

  it('opens a zarr.json with "dimension_names": null (as zarr-python writes it)', async () => {
    const store = new dn.MemoryStore();
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    await store.set("zarr.json", encode({ zarr_format: 3, node_type: "group", attributes: {} }));
    await store.set(
      "a/zarr.json",
      encode({
        zarr_format: 3,
        node_type: "array",
        shape: [2, 2],
        data_type: "int32",
        chunk_grid: { name: "regular", configuration: { chunk_shape: [2, 2] } },
        chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
        fill_value: 7,
        codecs: [{ name: "bytes", configuration: { endian: "little" } }],
        attributes: {},
        dimension_names: null,
        storage_transformers: [],
      }),
    );
    const pool = await dn.Pool.open(store, { name: "zp" });
    const ds = await pool.getDataset("a");
    expect(Array.from((await ds.get()).data as Uint8Array)).toEqual([7, 7, 7, 7]);
    await ds.set("0, 0", 1);
    expect(Array.from((await ds.get()).data as Uint8Array)).toEqual([1, 7, 7, 7]);
  });

  it("append grows along an axis and writes the new region; bad shapes are refused before anything changes", async () => {
    const pool = await memoryPool();
    const ds = await pool.createDataset("rows", { shape: [2, 3], dtype: "int32", chunks: [2, 3], dims: ["time", "channel"] });
    expect(ds.dims).toEqual(["time", "channel"]);
    await ds.set(undefined, 1);
    expect(await ds.append([[2, 2, 2]])).toBe(2);
    expect(await ds.append([3, 3, 3])).toBe(3); // one slice: the axis is inserted
    expect(await ds.append(new Int32Array([4, 4, 4, 5, 5, 5]))).toBe(4);
    expect(ds.shape).toEqual([6, 3]);
    expect(Array.from((await ds.get()).data as Int32Array)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]);
    expect(await ds.append([[9], [9], [9], [9], [9], [9]], { axis: 1 })).toBe(3);
    expect(ds.shape).toEqual([6, 4]);
    expect(Array.from((await ds.get(":, 3")).data as Int32Array)).toEqual([9, 9, 9, 9, 9, 9]);
    await expectError(() => ds.append([[1, 2]]), dn.ShapeError, ["[1,2]", "[n,4]"]);
    await expectError(() => ds.append(new Int32Array(5)), dn.ShapeError, ["5 values", "4 values each"]);
    await expectError(() => ds.append([[1, 2, 3, 4]], { axis: 2 }), dn.ValidationError, ["axis"]);
    expect(ds.shape).toEqual([6, 4]);
    const reopened = await pool.getDataset("rows");
    expect(reopened.dims).toEqual(["time", "channel"]);
    await expectError(() => pool.createDataset("bad", { shape: [2], dtype: "int8", dims: ["a", "b"] }), dn.ShapeError, ["2 names for 1 dimensions"]);
  });

  it("3 processes appending at once to one dataset on fs: every block lands whole, none overwritten", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dosna-append-"));
    try {
      const pool = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "pool")), { name: "pool" });
      await pool.createDataset("log", { shape: [0, 4], dtype: "int16", chunks: [3, 4] });
      const dist = new URL("../../dist/index.js", import.meta.url).href;
      const run = (writer: number) =>
        new Promise<void>((resolve, reject) => {
          const script = `
            const dn = await import(${JSON.stringify(dist)});
            const pool = await dn.Pool.open(new dn.FileSystemStore(${JSON.stringify(join(dir, "pool"))}), { name: "pool" });
            const ds = await pool.getDataset("log");
            for (let i = 0; i < 5; i++) await ds.append(new Int16Array(8).fill(${writer} * 100 + i));
          `;
          const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
          let stderr = "";
          child.stderr.on("data", (d) => (stderr += d));
          child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`appender ${writer} exited ${code}: ${stderr}`))));
        });
      await Promise.all([1, 2, 3].map(run));
      const ds = await pool.getDataset("log");
      expect(ds.shape).toEqual([30, 4]);
      const rows = (await ds.get()).data as Int16Array;
      // Each append wrote 2 rows of one value: the 15 blocks are there once each, each whole.
      const blocks: number[] = [];
      for (let r = 0; r < 30; r += 2) {
        const block = Array.from(rows.subarray(r * 4, (r + 2) * 4));
        expect(new Set(block).size, `rows ${r}-${r + 1}`).toBe(1);
        blocks.push(block[0]);
      }
      expect(blocks.sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 300, 301, 302, 303, 304]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("requireDataset returns a matching dataset, creates a missing one, refuses another shape or dtype", async () => {
    const pool = await memoryPool();
    const made = await pool.requireDataset("g/a", { shape: [3], dtype: "float32" });
    await made.set(undefined, 5);
    const again = await pool.requireDataset("g/a", { shape: [3], dtype: "float32" });
    expect(Array.from((await again.get()).data as Float32Array)).toEqual([5, 5, 5]);
    await expectError(() => pool.requireDataset("g/a", { shape: [4], dtype: "float32" }), dn.ShapeError, ['"/g/a"', "[3]", "[4]"]);
    await expectError(() => pool.requireDataset("g/a", { shape: [3], dtype: "int8" }), dn.DtypeError, ["float32", "int8"]);
    await expectError(() => pool.requireDataset("g", { shape: [3], dtype: "int8" }), dn.AlreadyExistsError, ["a group exists there"]);
  });

  it("group.visit() yields every group and dataset below, depth first, parents first, names sorted", async () => {
    const pool = await memoryPool();
    await pool.createDataset("b/y", { shape: [1], dtype: "int8" });
    await pool.createDataset("a", { shape: [1], dtype: "int8" });
    await pool.createDataset("b/c/z", { shape: [1], dtype: "int8" });
    await pool.createGroup("b/empty");
    const seen: string[] = [];
    for await (const node of pool.visit()) seen.push(`${node instanceof dn.Dataset ? "dataset" : "group"} /${node.path}`);
    expect(seen).toEqual(["dataset /a", "group /b", "group /b/c", "dataset /b/c/z", "group /b/empty", "dataset /b/y"]);
  });
});

describe("dn.registerCodec", () => {
  it("a user's bytes-to-bytes codec named in zarr.json decodes what another tool wrote and encodes dosna's writes", async () => {
    const xor = (bytes: Uint8Array, key: number) => Uint8Array.from(bytes, (b) => b ^ key);
    dn.registerCodec({
      name: "test.xor",
      kind: "bytes_to_bytes",
      create: (configuration) => {
        const key = Number(configuration?.key ?? 0);
        return { kind: "bytes_to_bytes", encode: async (b: Uint8Array) => xor(b, key), decode: async (b: Uint8Array) => xor(b, key) };
      },
    });
    const store = new dn.MemoryStore();
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    await store.set("zarr.json", encode({ zarr_format: 3, node_type: "group", attributes: {} }));
    await store.set(
      "x/zarr.json",
      encode({
        zarr_format: 3,
        node_type: "array",
        shape: [4],
        data_type: "uint8",
        chunk_grid: { name: "regular", configuration: { chunk_shape: [4] } },
        chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
        fill_value: 0,
        codecs: [{ name: "bytes" }, { name: "test.xor", configuration: { key: 255 } }],
        attributes: {},
      }),
    );
    // What "another tool" wrote: 1, 2, 3, 4 xored with 255.
    await store.set("x/c/0", Uint8Array.from([254, 253, 252, 251]));
    const pool = await dn.Pool.open(store, { name: "codecs" });
    const ds = await pool.getDataset("x");
    expect(Array.from((await ds.get()).data as Uint8Array)).toEqual([1, 2, 3, 4]);
    await ds.set(undefined, Uint8Array.from([10, 20, 30, 40]));
    expect(Array.from((await store.get("x/c/0"))!)).toEqual([245, 235, 225, 215]);
  });

  it("refuses a bad definition, a built-in name, and a create() of the wrong kind", async () => {
    await expectError(() => dn.registerCodec({ name: "", kind: "bytes_to_bytes", create: () => ({}) as never }), dn.ValidationError, ["registerCodec", "name"]);
    await expectError(() => dn.registerCodec({ name: "ok.name", kind: "sideways" as never, create: () => ({}) as never }), dn.ValidationError, ["kind"]);
    await expectError(() => dn.registerCodec({ name: "gzip", kind: "bytes_to_bytes", create: () => ({}) as never }), dn.ValidationError, ['"gzip"', "built in", "replace: true"]);
    dn.registerCodec({ name: "test.liar", kind: "bytes_to_bytes", create: () => ({ kind: "array_to_array", encode: (c: never) => c, decode: (c: never) => c }) as never });
    const store = new dn.MemoryStore();
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    await store.set("zarr.json", encode({ zarr_format: 3, node_type: "group", attributes: {} }));
    await store.set("y/zarr.json", encode({ zarr_format: 3, node_type: "array", shape: [2], data_type: "uint8", chunk_grid: { name: "regular", configuration: { chunk_shape: [2] } }, chunk_key_encoding: { name: "default" }, fill_value: 0, codecs: [{ name: "bytes" }, { name: "test.liar" }], attributes: {} }));
    const pool = await dn.Pool.open(store, { name: "liar" });
    const error = await (async () => {
      try {
        await (await pool.getDataset("y")).get();
        return undefined;
      } catch (e) {
        return e as Error;
      }
    })();
    expect(String(error?.message)).toContain("test.liar");
  });
});
