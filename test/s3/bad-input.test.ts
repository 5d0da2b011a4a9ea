/**
 * Bad input on a real S3 endpoint: objects another tool wrote into a pool (metadata that is not
 * Zarr, chunks cut short) and a pool whose bucket does not exist. Each error names the key or the
 * bucket and the endpoint; what is intact stays readable.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { S3Backend } from "../../src/store/s3/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { expectError } from "../helpers/expect-error.js";
import { dropPool, s3Cluster, s3ConnectionConfig, uniqueBucketName } from "../helpers/s3-fixtures.js";

const text = (s: string) => new TextEncoder().encode(s);

describe.skipIf(!s3TestConfig())("bad input on S3", () => {
  const bucket = uniqueBucketName("badinput");
  let cluster: dn.Cluster;
  let pool: dn.Pool;
  /** Writes straight to the bucket, as another tool would. */
  let raw: dn.Store;
  let backend: S3Backend;

  beforeAll(async () => {
    cluster = await s3Cluster();
    pool = await cluster.createPool(bucket);
    backend = new S3Backend(s3ConnectionConfig()!);
    raw = backend.openPool(bucket);
  });

  afterAll(async () => {
    await backend?.close();
    await dropPool(cluster, bucket);
    await cluster.disconnect();
  });

  describe("metadata that is not Zarr v3", () => {
    const cases: Array<[string, Uint8Array, string]> = [
      ["not-json", text("this is not JSON {"), "zarr.json"],
      ["binary", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]), "zarr.json"],
      ["zarr-v2", text(JSON.stringify({ zarr_format: 2, shape: [4], chunks: [2], dtype: "<i4" })), "zarr_format"],
      ["no-node-type", text(JSON.stringify({ zarr_format: 3 })), "node_type"],
      ["bad-shape", text(JSON.stringify({
        zarr_format: 3, node_type: "array", shape: [-4], data_type: "int32", fill_value: 0,
        chunk_grid: { name: "regular", configuration: { chunk_shape: [2] } },
        chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
        codecs: [{ name: "bytes", configuration: { endian: "little" } }],
      })), "shape"],
      ["empty", new Uint8Array(0), "zarr.json"],
    ];

    for (const [name, bytes, fragment] of cases) {
      it(`${name}: CorruptMetadataError naming the key`, async () => {
        await raw.set(`${name}/zarr.json`, bytes);
        const error = await expectError(() => pool.getDataset(name), dn.CorruptMetadataError, [`${name}/zarr.json`, `s3://${bucket}`]);
        expect(error.message).toContain(fragment);
        await expectError(() => pool.get(name), dn.CorruptMetadataError, [`${name}/zarr.json`]);
      });
    }

    it("listing the pool skips corrupt nodes and still lists good ones", async () => {
      await pool.createDataset("good", { shape: [2], dtype: "int8" });
      const names = await pool.listDatasets();
      expect(names).toContain("good");
      for (const [name] of cases) expect(names).not.toContain(name);
    });

    it("a pool whose root zarr.json is garbage: CorruptMetadataError naming the key", async () => {
      const other = uniqueBucketName("badroot");
      try {
        await cluster.createPool(other);
        await backend.openPool(other).set("zarr.json", text("<html>not metadata</html>"));
        await expectError(() => cluster.getPool(other), dn.CorruptMetadataError, [`s3://${other}`, "zarr.json"]);
      } finally {
        await dropPool(cluster, other);
      }
    });
  });

  describe("a chunk truncated by another tool", () => {
    for (const compression of [undefined, "gzip"] as const) {
      it(`${compression ?? "uncompressed"}: CorruptChunkError naming the key; other chunks still read`, async () => {
        const name = `trunc-${compression ?? "raw"}`;
        const data = Int32Array.from({ length: 64 }, (_, i) => i * 11 - 300);
        const ds = await pool.createDataset(name, { data, shape: [8, 8], chunks: [4, 4], ...(compression ? { compression } : {}) });
        const key = ds.chunkKeyOf([1, 0]);
        expect(key).toBe(`${name}/c/1/0`);
        const whole = (await raw.get(key))!;
        await raw.set(key, whole.subarray(0, Math.floor(whole.length / 2)));

        await expectError(() => ds.get(), dn.CorruptChunkError, [key]);
        await expectError(() => ds.get("5, 2"), dn.CorruptChunkError, [key]);
        // A partial write must read the chunk first: it fails too, and leaves the bytes as they were.
        await expectError(() => ds.set("4, 0", 1), dn.CorruptChunkError, [key]);
        expect((await raw.get(key))!.length).toBe(Math.floor(whole.length / 2));

        // The other three chunks are intact, through a fresh open as well.
        const reopened = await (await cluster.getPool(bucket)).getDataset(name);
        for (const [sel, rows, cols] of [["0:4, :", [0, 4], [0, 8]], ["4:8, 4:8", [4, 8], [4, 8]]] as const) {
          const expected: number[] = [];
          for (let r = rows[0]; r < rows[1]; r++) for (let c = cols[0]; c < cols[1]; c++) expected.push(data[r * 8 + c]);
          expect(Array.from((await reopened.get(sel)).data as Int32Array)).toEqual(expected);
        }
        // Overwriting the whole chunk repairs it without reading it.
        await reopened.set("4:8, 0:4", 5);
        expect(Array.from((await reopened.get("4:8, 0:4")).data as Int32Array)).toEqual(new Array(16).fill(5));
      });
    }
  });

  describe("a bucket that does not exist", () => {
    const missing = uniqueBucketName("nobucket");
    const endpoint = s3TestConfig()?.endpoint ?? "";

    it("getPool: NotFoundError naming the bucket and the endpoint", async () => {
      await expectError(() => cluster.getPool(missing), dn.NotFoundError, [`"${missing}"`, endpoint]);
      await expectError(() => cluster.getPool(`${missing}/some/prefix`), dn.NotFoundError, [missing, endpoint]);
      expect(await cluster.hasPool(missing)).toBe(false);
    });

    it("opening a store on it: NotFoundError naming the bucket and the endpoint", async () => {
      const store = backend.openPool(missing);
      await expectError(() => dn.Pool.open(store, { name: missing }), dn.NotFoundError, [`bucket "${missing}" does not exist`, endpoint]);
      await expectError(() => store.set("zarr.json", text("{}")), dn.NotFoundError, [`bucket "${missing}"`, endpoint]);
      await expectError(async () => {
        for await (const key of store.list("")) void key;
      }, dn.NotFoundError, [`bucket "${missing}"`, endpoint]);
    });

    it("deletePool: NotFoundError naming the pool and the endpoint", async () => {
      await expectError(() => cluster.deletePool(missing, { force: true }), dn.NotFoundError, [`"${missing}"`, endpoint]);
    });
  });
});
