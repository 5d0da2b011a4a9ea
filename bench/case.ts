/**
 * One benchmark case, run in its own process so that its peak RSS is its own.
 *   npx tsx bench/case.ts '<json CaseSpec>'   → prints one JSON line: { seconds, bytes, maxRssBytes, ... }
 */
import { mkdirSync } from "node:fs";
import http from "node:http";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import * as dn from "../src/index.js";
import { smoothFloat32, type CaseSpec, type CaseResult } from "./spec.js";

const spec = JSON.parse(process.argv[2]) as CaseSpec;

function cluster(): dn.Cluster {
  if (spec.store.kind === "fs") return new dn.Cluster({ backend: "fs", root: spec.store.root, njobs: spec.njobs });
  return new dn.Cluster({ backend: "s3", ...spec.store.s3, ...(spec.transport ? { transport: spec.transport } : {}), njobs: spec.njobs });
}

/** The pool; with spec.fsOptions opened through a FileSystemBackend with those options. */
async function getPool(c: dn.Cluster): Promise<dn.Pool> {
  if (spec.store.kind !== "fs" || !spec.fsOptions) return c.getPool(spec.pool);
  const store = new dn.FileSystemBackend(spec.store.root, spec.fsOptions).openPool(spec.pool);
  return dn.Pool.open(store, { name: spec.pool, njobs: () => spec.njobs });
}

async function openDataset(c: dn.Cluster, path = spec.dataset): Promise<dn.Dataset> {
  return (await getPool(c)).getDataset(path);
}

async function allChunkKeys(ds: dn.Dataset): Promise<string[]> {
  return (await ds.storedChunkIndices()).map((g) => ds.chunkKeyOf(g));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(run: () => Promise<number>): Promise<{ seconds: number; bytes: number }> {
  const start = performance.now();
  const bytes = await run();
  return { seconds: (performance.now() - start) / 1000, bytes };
}

async function main(): Promise<CaseResult> {
  const c = cluster();
  await c.connect();
  const njobs = spec.njobs;
  const extra: Record<string, number | string> = {};
  let measured: { seconds: number; bytes: number };

  switch (spec.case) {
    case "prepare": {
      if (!(await c.hasPool(spec.pool))) await c.createPool(spec.pool);
      const pool = await getPool(c);
      if (await pool.has(spec.dataset)) await pool.delete(spec.dataset);
      const data = smoothFloat32(spec.shape);
      const ds = await pool.createDataset(spec.dataset, { shape: spec.shape, dtype: "float32", chunks: spec.chunks, ...spec.createOptions });
      measured = await timed(async () => {
        await ds.set(undefined, data);
        return data.byteLength;
      });
      let stored = 0;
      for (const key of await allChunkKeys(ds)) stored += (await pool.store.get(key))!.byteLength;
      extra.storedBytes = stored;
      extra.ratio = data.byteLength / stored;
      break;
    }
    case "dosna-write": {
      const pool = await getPool(c);
      const target = `${spec.dataset}-write`;
      if (await pool.has(target)) await pool.delete(target);
      const data = smoothFloat32(spec.shape);
      const ds = await pool.createDataset(target, { shape: spec.shape, dtype: "float32", chunks: spec.chunks, ...spec.createOptions });
      measured = await timed(async () => {
        await ds.set(undefined, data);
        return data.byteLength;
      });
      await ds.delete();
      break;
    }
    case "raw-put": {
      const pool = await getPool(c);
      const ds = await openDataset(c);
      const keys = await allChunkKeys(ds);
      const objects = await Promise.all(keys.map(async (k) => [k, (await pool.store.get(k))!] as const));
      const limit = pLimit(njobs);
      measured = await timed(async () => {
        await Promise.all(objects.map(([k, bytes]) => limit(() => pool.store.set(`raw-put/${k}`, bytes))));
        return ds.nbytes;
      });
      await pool.store.deleteMany(objects.map(([k]) => `raw-put/${k}`));
      break;
    }
    case "dosna-read": {
      const ds = await openDataset(c);
      measured = await timed(async () => (await ds.read()).data.byteLength);
      break;
    }
    case "raw-get": {
      // The physical limit of a read: GET every chunk object at the same concurrency and copy each
      // into a preallocated output once (a read cannot do less than that).
      const pool = await getPool(c);
      const ds = await openDataset(c);
      const keys = await allChunkKeys(ds);
      const limit = pLimit(njobs);
      measured = await timed(async () => {
        const out = new Uint8Array(ds.nbytes);
        let at = 0;
        await Promise.all(
          keys.map((k) =>
            limit(async () => {
              const bytes = (await pool.store.get(k))!;
              out.set(bytes.subarray(0, Math.min(bytes.byteLength, out.byteLength - at)), at);
              at += bytes.byteLength;
            }),
          ),
        );
        return out.byteLength;
      });
      break;
    }
    case "zarrita-read": {
      const zarr = await import("zarrita");
      const pool = await getPool(c);
      let store: { get(key: string): Promise<Uint8Array | undefined> };
      if (spec.store.kind === "fs") {
        const { default: FileSystemStore } = await import("@zarrita/storage/fs");
        store = new FileSystemStore(`${spec.store.root}/${spec.pool}`);
      } else if (spec.zarritaStore === "aws-sdk") {
        store = awsSdkZarritaStore(spec);
      } else {
        // A minimal zarrita store over the same S3 client dosna uses.
        store = { get: (key: string) => pool.store.get(key.replace(/^\//, "")) };
      }
      const arr = await zarr.open.v3(zarr.root(store as never).resolve(spec.dataset), { kind: "array" });
      const queue = () => {
        const limit = pLimit(njobs);
        const runs: Promise<unknown>[] = [];
        return { add: (fn: () => Promise<void>) => void runs.push(limit(fn)), onIdle: () => Promise.all(runs) };
      };
      measured = await timed(async () => {
        const out = await zarr.get(arr, null, { createQueue: queue } as never);
        return (out as { data: Float32Array }).data.byteLength;
      });
      break;
    }
    case "h5wasm-write":
    case "h5wasm-read": {
      const { default: h5wasm } = await import("h5wasm/node");
      await h5wasm.ready;
      const file = `${spec.h5Dir}/bench.h5`;
      if (spec.case === "h5wasm-write") {
        mkdirSync(spec.h5Dir!, { recursive: true });
        const data = smoothFloat32(spec.shape);
        measured = await timed(async () => {
          const f = new h5wasm.File(file, "w");
          f.create_dataset({ name: "data", data, shape: spec.shape, dtype: "<f4", chunks: spec.chunks });
          f.close();
          return data.byteLength;
        });
      } else {
        measured = await timed(async () => {
          const f = new h5wasm.File(file, "r");
          const value = (f.get("data") as { value: Float32Array }).value;
          f.close();
          return value.byteLength;
        });
      }
      break;
    }
    case "dosna-slab":
    case "dosna-strided": {
      const ds = await openDataset(c);
      measured = await timed(async () => (await ds.get(spec.selection)).data.byteLength);
      break;
    }
    case "chunk-latency": {
      const ds = await openDataset(c);
      const grid = ds.chunkGrid;
      let seed = 12345;
      const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const times: number[] = [];
      let bytes = 0;
      const start = performance.now();
      for (let i = 0; i < (spec.repeats ?? 50); i++) {
        const g = spec.selection === "random" ? grid.map((n) => Math.floor(next() * n)) : grid.map(() => 0);
        const sel = g.map((gi, a) => dn.slice(gi * ds.chunks[a], (gi + 1) * ds.chunks[a]));
        const t = performance.now();
        bytes += (await ds.get(sel)).data.byteLength;
        times.push(performance.now() - t);
      }
      measured = { seconds: (performance.now() - start) / 1000, bytes };
      times.sort((a, b) => a - b);
      extra.p50ms = percentile(times, 50);
      extra.p99ms = percentile(times, 99);
      break;
    }
    default:
      throw new Error(`unknown case ${spec.case}`);
  }
  await c.disconnect();
  return { ...measured, mbPerSecond: measured.bytes / 2 ** 20 / measured.seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, ...extra };
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/**
 * What a zarrita.js user on S3 writes (zarrita has no S3 store of its own): GetObject with the AWS
 * SDK, the body read whole, a missing key as undefined.
 */
function awsSdkZarritaStore(spec: CaseSpec): { get(key: string): Promise<Uint8Array | undefined> } {
  if (spec.store.kind !== "s3") throw new Error("the AWS SDK zarrita store needs an S3 store spec");
  const s3 = spec.store.s3;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }) },
  });
  return {
    async get(key: string) {
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: spec.pool, Key: key.replace(/^\//, "") }));
        return await response.Body!.transformToByteArray();
      } catch (error) {
        if ((error as { name?: string }).name === "NoSuchKey") return undefined;
        throw error;
      }
    },
  };
}
