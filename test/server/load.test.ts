/**
 * A load test of `dosna serve` on fs: 32 concurrent clients fetch random 2-D slices (.npy) of a
 * [64, 256, 256] float32 dataset for DOSNA_SERVE_LOAD_SECONDS (default 20) seconds. Every answer
 * is checked against the formula that wrote the data; latency p50/p99 and requests/s are printed
 * (never asserted: timings are not test results); the process's peak RSS over the run must stay
 * within 256 MiB of where it started (the server holds no more than njobs chunks per request).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { serve, type RunningServer } from "../../src/server/server.js";

const SECONDS = Number(process.env.DOSNA_SERVE_LOAD_SECONDS ?? "20");
const CLIENTS = 32;
const value = (z: number, y: number, x: number) => z * 1000 + y * 3 + (x % 17);

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-serve-load-"));
  const pool = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "pool")), { name: "pool" });
  const ds = await pool.createDataset("vol", { shape: [64, 256, 256], dtype: "float32", chunks: [1, 64, 64] });
  const data = new Float32Array(64 * 256 * 256);
  for (let z = 0; z < 64; z++) for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) data[(z * 256 + y) * 256 + x] = value(z, y, x);
  await ds.set(undefined, data);
  server = await serve({ pools: new Map([["p", pool]]), port: 0, njobs: 16 });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

it(`${CLIENTS} clients fetching slices for ${SECONDS} s: every answer correct, RSS bounded`, async () => {
  const latencies: number[] = [];
  const wrong: string[] = [];
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  const deadline = Date.now() + SECONDS * 1000;
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const client = async () => {
    while (Date.now() < deadline) {
      const z = random(64);
      const y0 = random(200);
      const x0 = random(200);
      const sel = `${z}, ${y0}:${y0 + 56}, ${x0}:${x0 + 56}`;
      const t = performance.now();
      const response = await fetch(`${server.url}/api/data/p/vol?sel=${encodeURIComponent(sel)}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      latencies.push(performance.now() - t);
      if (response.status !== 200) {
        wrong.push(`${sel}: HTTP ${response.status}`);
        continue;
      }
      const { shape, array } = dn.decodeNpy(bytes);
      const got = array.data as Float32Array;
      if (shape[0] !== 56 || shape[1] !== 56) wrong.push(`${sel}: shape [${shape}]`);
      for (let i = 0; i < 56 && wrong.length < 5; i += 11) for (let j = 0; j < 56; j += 7) if (got[i * 56 + j] !== value(z, y0 + i, x0 + j)) wrong.push(`${sel}: [${i},${j}] = ${got[i * 56 + j]}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  console.log(
    `dosna serve load: ${CLIENTS} clients, ${SECONDS} s, ${latencies.length} requests (${(latencies.length / SECONDS).toFixed(0)}/s), ` +
      `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, peak RSS +${((peak - baseline) / 2 ** 20).toFixed(0)} MiB`,
  );
  expect(wrong).toEqual([]);
  expect(latencies.length).toBeGreaterThan(CLIENTS);
  expect(peak - baseline).toBeLessThan(256 * 2 ** 20);
}, (SECONDS + 60) * 1000);
