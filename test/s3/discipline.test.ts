/**
 * Request discipline on a real S3 endpoint, counted by wrapping the transport: every request that
 * leaves the process is recorded with its operation and key. Checked for both transports.
 */
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { S3Store, policyOf } from "../../src/store/s3/store.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { countingTransport, dropPool, s3Cluster, s3ConnectionConfig, uniqueBucketName, type CountingTransport } from "../helpers/s3-fixtures.js";

const SHAPE = [12, 10];
const CHUNKS = [4, 5]; // a 3 x 2 grid
const DATA = Int32Array.from({ length: 120 }, (_, i) => i * 3 + 1);

for (const transportName of ["aws", "minio"] as const) {
  describe.skipIf(!s3TestConfig())(`S3 request discipline (${transportName} transport)`, () => {
    const bucket = uniqueBucketName(`disc-${transportName}`);
    let cluster: dn.Cluster;
    let counting: CountingTransport;
    let pool: dn.Pool;

    beforeAll(async () => {
      cluster = await s3Cluster();
      const setup = await cluster.createPool(bucket);
      await setup.createDataset("full", { data: DATA, shape: SHAPE, chunks: CHUNKS });
      await setup.createDataset("empty", { shape: SHAPE, dtype: "int32", chunks: CHUNKS, fillValue: 7 });
      const config = s3ConnectionConfig({ transport: transportName })!;
      counting = countingTransport(config);
      pool = await dn.Pool.open(new S3Store(counting.transport, policyOf(config), bucket), { name: bucket });
    });

    afterAll(async () => {
      counting?.transport.close();
      await dropPool(cluster, bucket);
      await cluster.disconnect();
    });

    it("opening the pool was one GET of the root zarr.json", () => {
      expect(counting.calls).toEqual([{ op: "getObject", key: "zarr.json" }]);
    });

    it("opening a dataset is exactly one GET of its zarr.json: no LIST, no HEAD", async () => {
      counting.reset();
      const ds = await pool.getDataset("full");
      expect(counting.calls).toEqual([{ op: "getObject", key: "full/zarr.json" }]);
      expect(ds.shape).toEqual(SHAPE);
    });

    it("reading N existing chunks is N GETs of exactly those chunks", async () => {
      const ds = await pool.getDataset("full");
      counting.reset();
      const block = await ds.get("2:9, 3:7"); // rows touch chunks 0..2, columns chunks 0..1: 6 chunks
      expect(counting.keysOf("getObject")).toEqual(["full/c/0/0", "full/c/0/1", "full/c/1/0", "full/c/1/1", "full/c/2/0", "full/c/2/1"]);
      expect(counting.calls).toHaveLength(6);
      const expected = [];
      for (let i = 2; i < 9; i++) for (let j = 3; j < 7; j++) expected.push(DATA[i * 10 + j]);
      expect(Array.from(block.data as Int32Array)).toEqual(expected);

      counting.reset();
      await ds.get("5, 1"); // one element: one chunk
      expect(counting.calls).toEqual([{ op: "getObject", key: "full/c/1/0" }]);
    });

    it("reading a region never written costs GETs and no PUT, DELETE or LIST", async () => {
      const ds = await pool.getDataset("empty");
      counting.reset();
      const block = await ds.get(":5, :");
      expect(counting.keysOf("getObject")).toEqual(["empty/c/0/0", "empty/c/0/1", "empty/c/1/0", "empty/c/1/1"]);
      expect(counting.calls).toHaveLength(4);
      expect(Array.from(block.data as Int32Array)).toEqual(new Array(50).fill(7));
    });

    it("writing N whole chunks is N PUTs and zero GETs", async () => {
      const ds = await pool.createDataset(`write-${transportName}`, { shape: SHAPE, dtype: "int32", chunks: CHUNKS });
      counting.reset();
      await ds.set("4:12, :", Int32Array.from({ length: 80 }, (_, i) => i + 100)); // 2 chunk rows x 2 = 4 whole chunks
      const path = `write-${transportName}`;
      expect(counting.keysOf("putObject")).toEqual([`${path}/c/1/0`, `${path}/c/1/1`, `${path}/c/2/0`, `${path}/c/2/1`]);
      expect(counting.calls).toHaveLength(4);

      counting.reset();
      const back = await ds.get("4:12, :");
      expect(Array.from(back.data as Int32Array)).toEqual(Array.from({ length: 80 }, (_, i) => i + 100));
      expect(counting.count("putObject")).toBe(0);
    });

    it("a partial write of one chunk is one GET and one PUT of that chunk", async () => {
      const ds = await pool.createDataset(`partial-${transportName}`, { shape: SHAPE, dtype: "int32", chunks: CHUNKS });
      counting.reset();
      await ds.set("1, 2", 42);
      const key = `partial-${transportName}/c/0/0`;
      expect(counting.calls).toEqual([{ op: "getObject", key }, { op: "putObject", key }]);
    });
  });
}
