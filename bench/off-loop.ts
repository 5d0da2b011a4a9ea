/**
 * Does moving codec CPU work off the event loop pay on this machine? Reads N gzip-compressed chunk
 * objects from the fs store at njobs in flight and decompresses them (a) on the event loop
 * (gunzipSync) and (b) on libuv's thread pool (async gunzip, what dosna's gzip codec does),
 * alternating, and prints the median time of each and their ratio. Same for compression.
 *
 *   npx tsx bench/off-loop.ts [chunks=96] [njobs=8]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

const runs: Record<string, number[]> = { "read on loop": [], "read off loop": [], "write on loop": [], "write off loop": [] };
for (let r = 0; r < 5; r++) {
  runs["read on loop"].push(await readAll((b) => gunzipSync(b)));
  runs["read off loop"].push(await readAll((b) => gunzipAsync(b)));
  runs["write on loop"].push(await writeAll((b) => gzipSync(b, { level: 5 })));
  runs["write off loop"].push(await writeAll((b) => gzipAsync(b, { level: 5 })));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [name, values] of Object.entries(runs)) console.log(`${name.padEnd(16)} ${median(values).toFixed(0)} ms`);
console.log(`read: on-loop / off-loop time ratio ${(median(runs["read on loop"]) / median(runs["read off loop"])).toFixed(2)}`);
console.log(`write: on-loop / off-loop time ratio ${(median(runs["write on loop"]) / median(runs["write off loop"])).toFixed(2)}`);
rmSync(root, { recursive: true, force: true });
