/**
 * Server-side copies on a real Ceph RGW: S3Store.copyFrom (CopyObject) on both transports, and a
 * repository export whose chunk bytes never pass through the client (counted at the transport).
 */
import { afterAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { policyOf, S3Store } from "../../src/store/s3/store.js";
import { countingTransport, dropBucket, s3Cluster, s3ConnectionConfig, uniqueBucketName } from "../helpers/s3-fixtures.js";

const config = s3ConnectionConfig();

describe.skipIf(!config)("server-side copy (CopyObject) on the RGW", () => {
  const buckets: string[] = [];
  afterAll(async () => {
    for (const bucket of buckets) await dropBucket(config!, bucket);
  });

  for (const transportName of ["minio", "aws"] as const) {
    it(`${transportName}: copyFrom copies bytes between buckets and prefixes; other stores decline`, async () => {
      const source = uniqueBucketName("copy-src");
      const target = uniqueBucketName("copy-dst");
      buckets.push(source, target);
      const cluster = await s3Cluster({ transport: transportName });
      await cluster.createPool(source);
      await cluster.createPool(`${target}/deep/prefix`);
      const counting = countingTransport(s3ConnectionConfig({ transport: transportName })!);
      const from = new S3Store(counting.transport, policyOf(config!), source);
      const to = new S3Store(counting.transport, policyOf(config!), target, "deep/prefix");
      const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 251);
      await from.set("a dir/chunk+1", bytes);
      counting.reset();
      expect(await to.copyFrom(from, "a dir/chunk+1", "copied/c/0")).toBe(true);
      expect(counting.calls.map((c) => c.op)).toEqual(["copyObject"]);
      expect(await to.get("copied/c/0")).toEqual(bytes);
      expect((new dn.MemoryStore("m") as dn.Store).copyFrom).toBeUndefined();
      expect(await to.copyFrom(new dn.MemoryStore("m"), "x", "y")).toBe(false);
      await expect(to.copyFrom(from, "missing", "z")).rejects.toThrow(dn.DosnaError);
      counting.transport.close();
      await cluster.disconnect();
    });
  }

  it("a repository export to another bucket copies every chunk server-side: no chunk object is read by the client", async () => {
    const bucket = uniqueBucketName("copy-repo");
    const out = uniqueBucketName("copy-out");
    buckets.push(bucket, out);
    const cluster = await s3Cluster();
    await cluster.createPool(bucket);
    await cluster.createPool(out);
    const counting = countingTransport(config!);
    const pool = await dn.Pool.open(new S3Store(counting.transport, policyOf(config!), bucket), { name: bucket });
    const repo = await dn.Repository.init(pool);
    const s = await repo.checkout({ branch: "main", write: true });
    const values = new Float32Array(64 * 64).map((_, i) => i / 3);
    await s.createDataset("img", { shape: [64, 64], dtype: "float32", chunks: [16, 16], data: values });
    await s.commit("image");
    const target = await dn.Pool.open(new S3Store(counting.transport, policyOf(config!), out), { name: out });
    counting.reset();
    expect(await repo.export("main", target)).toEqual({ nodes: 2, chunks: 16, copiedServerSide: 16 });
    expect(counting.count("copyObject")).toBe(16);
    expect(counting.keysOf("getObject").filter((key) => key.startsWith(".dosna/repo/chunks/"))).toEqual([]);
    expect(counting.keysOf("putObject")).toEqual(["img/zarr.json", "zarr.json"]);
    const exported = await cluster.getPool(out);
    expect(Array.from((await (await exported.getDataset("img")).read()).data as Float32Array)).toEqual(Array.from(values));
    counting.transport.close();
    await cluster.disconnect();
  });
});
