/**
 * The built `dosna` command against a real S3 endpoint (the local Ceph RGW of `npm run test:all`,
 * or whatever DOSNA_TEST_S3_ENDPOINT names): import/export with numpy as the oracle, ls/info/get,
 * cp fs → S3 (bucket and bucket/prefix pools) → fs with resume, rm of a bucket pool, and wrong keys.
 * Skipped without an endpoint (test/s3/availability.test.ts says so loudly).
 */
import { mkdtemp, rm as rmDir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, FileSystemStore, Pool, readNpy, writeNpy, type Store } from "../../src/index.js";
import { s3TestConfig } from "../helpers/clusters.js";
import { hasNumpy, python } from "../npy/numpy-oracle.js";
import { dosna, dosnaOk, ensureBuilt } from "./run.js";

const s3 = s3TestConfig();

describe.skipIf(!s3)("dosna on S3", () => {
  const bucket = `dosna-cli-${process.pid}-${Date.now().toString(36)}`;
  const env = { DOSNA_ENDPOINT: s3?.endpoint, DOSNA_ACCESS_KEY_ID: s3?.accessKeyId, DOSNA_SECRET_ACCESS_KEY: s3?.secretAccessKey, DOSNA_REGION: s3?.region };
  let dir: string;
  let cluster: Cluster;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), "dosna-cli-s3-"));
    cluster = new Cluster({ backend: "s3", ...s3! });
  });
  afterAll(async () => {
    for (const pool of [bucket, `${bucket}-b`]) if (await cluster.hasPool(pool)) await cluster.deletePool(pool, { force: true });
    await cluster.disconnect();
    await rmDir(dir, { recursive: true, force: true });
  });

  /** The hierarchy's objects (cp carries provenance under .dosna/ too; test/cli/cp.test.ts checks it). */
  async function contents(store: Store, prefix = ""): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const key of store.list(prefix)) {
      if (!key.startsWith(".dosna/")) out.set(key.slice(prefix.length), Buffer.from((await store.get(key))!).toString("base64"));
    }
    return out;
  }

  it("imports a .npy into a new bucket, lists, describes, prints and exports it", async () => {
    const file = join(dir, "in.npy");
    if (hasNumpy) await python("a = np.asfortranarray((np.arange(3000, dtype='>f8') / 7).reshape(30, 100)); np.save(sys.argv[1], a)", [file]);
    else await writeNpy(file, ndarray(Float64Array.from({ length: 3000 }, (_, i) => i / 7), [30, 100]));
    const imported = await dosnaOk(["import", file, `s3://${bucket}/sub/a`, "--chunks", "8,32", "--compression", "gzip"], { env });
    expect(imported).toContain(`into s3://${bucket}::sub/a`);
    const [listing, info, got, exported] = await Promise.all([
      dosnaOk(["ls", "-r", `s3://${bucket}`], { env }),
      dosnaOk(["info", "--json", `s3://${bucket}/sub/a`], { env }),
      dosnaOk(["get", "--json", `s3://${bucket}/sub/a`, "29, 98:"], { env }),
      dosnaOk(["export", `s3://${bucket}/sub/a`, join(dir, "out.npy"), "--slice", "::-2, 5"], { env }),
    ]);
    // S3 listings carry sizes: the stored bytes are the chunk objects' sizes, read here object by object.
    const pool = await cluster.getPool(bucket);
    let bytes = 0;
    for await (const key of pool.context.store.list("sub/a/")) if (!key.endsWith("zarr.json")) bytes += (await pool.context.store.get(key))!.byteLength;
    expect(listing).toMatch(/^sub\/a\s+\[30, 100\]\s+float64\s+\[8, 32\]\s+bytes\+gzip\(5\)\s+16\/16\s+[\d.]+ (B|KiB)$/m);
    expect(JSON.parse(info)).toMatchObject({ kind: "dataset", storedChunks: 16, possibleChunks: 16, storedBytes: bytes });
    expect(JSON.parse(got)).toEqual({ shape: [2], dtype: "float64", data: [2998 / 7, 2999 / 7] });
    expect(exported).toContain("shape [15] float64");
    const out = await readNpy(join(dir, "out.npy"));
    expect(Array.from(out.array.data as Float64Array)).toEqual(Array.from({ length: 15 }, (_, k) => ((29 - 2 * k) * 100 + 5) / 7));
  });

  it("copies fs → S3 (bucket/prefix pool) → fs byte for byte, resumes, and deletes a bucket pool", async () => {
    const local = await Pool.initialise(new FileSystemStore(join(dir, "local")), { name: "local", attrs: { site: "x" } });
    await local.createDataset("v", { data: Int32Array.from({ length: 400 }, (_, i) => i * 3), shape: [20, 20], chunks: 6, compression: "gzip" });
    await local.createGroup("g", { attrs: { k: 1 } });
    await dosnaOk(["cp", join(dir, "local"), `s3://${bucket}-b/backup::`], { env });
    const first = await dosnaOk(["cp", `s3://${bucket}-b/backup::`, `${join(dir, "restored")}::`], { env });
    expect(first).toMatch(/1 dataset, 2 groups; chunks: 16 written/);
    const again = await dosnaOk(["cp", `s3://${bucket}-b/backup::`, `${join(dir, "restored")}::`], { env });
    expect(again).toContain("chunks: 0 written, 16 already present and equal");
    const restored = await Pool.open(new FileSystemStore(join(dir, "restored")), { name: "restored" });
    expect(await contents(restored.store)).toEqual(await contents(local.store));
    const remote = await cluster.getPool(`${bucket}-b/backup`);
    expect(await contents(remote.store)).toEqual(await contents(local.store));

    const [refused, notAPool] = await Promise.all([dosna(["rm", `s3://${bucket}-b/backup::`], { env }), dosna(["rm", "--yes", `s3://${bucket}-b`], { env })]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to delete pool .*backup:: and everything in it without confirmation/);
    expect(notAPool.code).toBe(1);
    expect(notAPool.stderr).toMatch(/is not a dosna\/Zarr pool: it has no root zarr\.json/);
    await dosnaOk(["rm", "--yes", `s3://${bucket}-b/backup::`], { env });
    expect(await cluster.hasPool(`${bucket}-b/backup`)).toBe(false);
  });

  it("wrong keys: exit 2, one line, no secret", async () => {
    const secret = "definitely-not-the-secret-4242";
    const result = await dosna(["ls", `s3://${bucket}`], { env: { ...env, DOSNA_SECRET_ACCESS_KEY: secret, DOSNA_MAX_RETRIES: "0" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^dosna: .*rejected the credentials.*\n$/);
    expect(result.stderr).not.toContain(secret);
  });

  it("rm --yes deletes a bucket pool with everything in it", async () => {
    await dosnaOk(["rm", "--yes", `s3://${bucket}`], { env });
    expect(await cluster.hasPool(bucket)).toBe(false);
  });
});
