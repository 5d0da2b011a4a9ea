/**
 * S3Store.listWithSizes on the S3 endpoint under test, through both transports (minio, the default,
 * and the AWS SDK): every key under the prefix once, with the size of its object, from the LIST
 * pages alone (more than one page: 1,005 keys); storedSummary then reports bytes on S3.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { dropPool, uniqueBucketName } from "../helpers/s3-fixtures.js";

const s3 = s3TestConfig();

for (const transport of ["minio", "aws"] as const) {
  describe.skipIf(!s3)(`S3Store.listWithSizes (${transport} transport)`, () => {
    let cluster: dn.Cluster;
    const bucket = uniqueBucketName(`sizes-${transport}`);
    beforeAll(async () => {
      cluster = new dn.Cluster({ backend: "s3", ...s3!, transport });
      await cluster.connect();
    });
    afterAll(async () => {
      await dropPool(cluster, bucket);
      await cluster.disconnect();
    });

    it("gives every key with its size, across pages; storedSummary reports bytes on S3", async () => {
      const pool = await cluster.createPool(bucket);
      const store = pool.context.store;
      const want = new Map<string, number>();
      const sizes = [0, 1, 5, 2000];
      await Promise.all(
        Array.from({ length: 1005 }, async (_, i) => {
          const key = `d/k${String(i).padStart(4, "0")}`;
          const size = sizes[i % sizes.length];
          want.set(key, size);
          await store.set(key, new Uint8Array(size).fill(7));
        }),
      );
      await store.set("other/x", new Uint8Array(3));
      const got = new Map<string, number>();
      for await (const { key, size } of store.listWithSizes!("d/")) {
        expect(got.has(key), key).toBe(false);
        got.set(key, size);
      }
      expect(got).toEqual(want);
      const ds = await pool.createDataset("arr", { shape: [8], dtype: "float64", chunks: [4] });
      await ds.set(undefined, 1.5);
      expect(await dn.storedSummary(ds)).toMatchObject({ storedChunks: 2, possibleChunks: 2, storedBytes: 64 });
    }, 120_000);
  });
}
