/**
 * The S3 store against a real S3 endpoint (the local Ceph RGW in CI), through both transports.
 * Skipped, loudly, when DOSNA_TEST_S3_ENDPOINT is not set (test/s3/availability.test.ts turns that
 * into a failure under CI=true).
 */
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { S3Backend, s3ConnectionSchema } from "../../src/store/s3/index.js";
import { s3TestConfig, uniquePoolName } from "../helpers/clusters.js";
import { runBackendConformance, runStoreConformance } from "./conformance.js";

const s3 = s3TestConfig();

for (const transport of ["aws", "minio"] as const) {
  if (!s3) {
    describe.skip(`S3Store (${transport}): no DOSNA_TEST_S3_ENDPOINT`, () => {});
    continue;
  }
  const config = s3ConnectionSchema.parse({ ...s3, transport });

  // The full store suite once per transport: aws on a whole bucket, minio on a bucket/prefix pool.
  if (transport === "aws") runStoreConformance(`S3Store (${transport})`, async () => {
    const backend = new S3Backend(config);
    const pool = uniquePoolName("conf");
    await backend.createPool(pool);
    const store = backend.openPool(pool);
    return {
      store,
      cleanup: async () => {
        const keys: string[] = [];
        for await (const key of store.list("")) keys.push(key);
        await store.deleteMany(keys);
        await backend.deletePool(pool);
        await backend.close();
      },
    };
  });

  if (transport === "minio") runStoreConformance(`S3Store in a bucket/prefix pool (${transport})`, async () => {
    const backend = new S3Backend(config);
    const bucket = uniquePoolName("confp");
    await backend.createPool(bucket);
    const store = backend.openPool(`${bucket}/some/prefix`);
    return {
      store,
      cleanup: async () => {
        const root = backend.openPool(bucket);
        const keys: string[] = [];
        for await (const key of root.list("")) keys.push(key);
        await root.deleteMany(keys);
        await backend.deletePool(bucket);
        await backend.close();
      },
    };
  });

  describe(`S3Store conditional support on this endpoint (${transport})`, () => {
    it("the probe's answer matches what the endpoint really does with a wrong If-Match on DELETE (RGW 16: ignores it)", async () => {
      const backend = new S3Backend(config);
      const pool = uniquePoolName("probe");
      await backend.createPool(pool);
      const client = new S3Client({
        endpoint: config.endpoint,
        region: config.region,
        forcePathStyle: true,
        credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
      try {
        const support = await backend.openPool(pool).conditionalSupport?.();
        // Independently of the store: does this endpoint delete despite a wrong If-Match?
        await client.send(new PutObjectCommand({ Bucket: pool, Key: "witness", Body: "x" }));
        await client.send(new DeleteObjectCommand({ Bucket: pool, Key: "witness", IfMatch: "00000000000000000000000000000000" })).catch(() => undefined);
        const survived = await client.send(new HeadObjectCommand({ Bucket: pool, Key: "witness" })).then(() => true, () => false);
        expect(support).toEqual({ write: true, delete: survived });
        if (survived) await client.send(new DeleteObjectCommand({ Bucket: pool, Key: "witness" }));
      } finally {
        client.destroy();
        await backend.deletePool(pool);
        await backend.close();
      }
    });
  });

  runBackendConformance(`S3Backend (${transport})`, async () => {
    const backend = new S3Backend(config);
    return { backend, cleanup: () => backend.close() };
  });
}
