/**
 * Does moving codec CPU work off the event loop pay on this machine? Reads N gzip-compressed chunk
 * objects from the fs store at njobs in flight and decompresses them (a) on the event loop
 * (gunzipSync), (b) on libuv's thread pool (async gunzip, what dosna's gzip and node:zlib zstd
 * codecs do) and (c) in a worker_threads pool sized to the cores (buffers transferred, not
 * copied), alternating, and prints the median time of each. Same for compression.
 *
 *   npx tsx bench/off-loop.ts [chunks=96] [njobs=8]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { gunzip, gunzipSync, gzip, gzipSync } from "node:zlib";
import pLimit from "p-limit";
import { FileSystemStore } from "../src/index.js";
import { smoothFloat32 } from "./spec.js";

const chunks = Number(process.argv[2] ?? 96);
const njobs = Number(process.argv[3] ?? 8);
const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);
const root = mkdtempSync(join(tmpdir(), "dosna-offloop-"));
const store = new FileSystemStore(root);
const raw = new Uint8Array(smoothFloat32([64, 64, 64]).buffer);
const compressed = gzipSync(raw, { level: 5 });
for (let i = 0; i < chunks; i++) await store.set(`c/${i}`, compressed);

/** A minimal worker pool: each worker runs zlib synchronously on transferred buffers. */
function workerPool(size: number) {
  const code = `
    const { parentPort } = require("node:worker_threads");
    const zlib = require("node:zlib");
    parentPort.on("message", ({ id, op, bytes }) => {
      const out = op === "gzip" ? zlib.gzipSync(bytes, { level: 5 }) : zlib.gunzipSync(bytes);
      const copy = new Uint8Array(out.byteLength); copy.set(out);
      parentPort.postMessage({ id, bytes: copy }, [copy.buffer]);
    });`;
  const workers = Array.from({ length: size }, () => new Worker(code, { eval: true }));
  const waiting = new Map<number, (b: Uint8Array) => void>();
  for (const w of workers) w.on("message", ({ id, bytes }: { id: number; bytes: Uint8Array }) => waiting.get(id)!(bytes));
  let next = 0;
  return {
    run(op: "gzip" | "gunzip", bytes: Uint8Array): Promise<Uint8Array> {
      const id = next++;
      const copy = bytes.slice();
      return new Promise((resolve) => {
        waiting.set(id, (b) => (waiting.delete(id), resolve(b)));
        workers[id % workers.length].postMessage({ id, op, bytes: copy }, [copy.buffer]);
      });
    },
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}
const pool = workerPool(availableParallelism());

async function readAll(decode: (b: Uint8Array) => Promise<Uint8Array> | Uint8Array): Promise<number> {
  const limit = pLimit(njobs);
  const t = performance.now();
  await Promise.all(Array.from({ length: chunks }, (_, i) => limit(async () => decode((await store.get(`c/${i}`))!))));
  return performance.now() - t;
}
async function writeAll(encode: (b: Uint8Array) => Promise<Uint8Array> | Uint8Array): Promise<number> {
  const limit = pLimit(njobs);
  const t = performance.now();
  await Promise.all(Array.from({ length: chunks }, (_, i) => limit(async () => store.set(`w/${i}`, await encode(raw)))));
  return performance.now() - t;
}

const runs: Record<string, number[]> = {
  "read on loop": [], "read thread pool": [], "read workers": [],
  "write on loop": [], "write thread pool": [], "write workers": [],
};
for (let r = 0; r < 5; r++) {
  runs["read on loop"].push(await readAll((b) => gunzipSync(b)));
  runs["read thread pool"].push(await readAll((b) => gunzipAsync(b)));
  runs["read workers"].push(await readAll((b) => pool.run("gunzip", b)));
  runs["write on loop"].push(await writeAll((b) => gzipSync(b, { level: 5 })));
  runs["write thread pool"].push(await writeAll((b) => gzipAsync(b, { level: 5 })));
  runs["write workers"].push(await writeAll((b) => pool.run("gzip", b)));
}
await pool.close();
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`${chunks} gzip chunks of 1 MiB, ${njobs} in flight, ${availableParallelism()} cores; median of 5:`);
for (const [name, values] of Object.entries(runs)) console.log(`  ${name.padEnd(18)} ${median(values).toFixed(0)} ms`);
rmSync(root, { recursive: true, force: true });
