/**
 * A worker process for test/store/fs-concurrency.test.ts, run as
 * `node --import tsx fs-worker.ts <mode> <json options>`:
 *
 * - `cas`: `n` compare-and-swap increments of the decimal counter at `key` (getVersioned, then set
 *   with ifMatch, again on PreconditionFailedError); prints { done, conflicts, ms }.
 * - `writes`: `n` plain sets of `key`, each a whole "pattern" (see patternOf); prints { done, ms }.
 * - `hammer`: plain sets of `key` until killed; prints "ready" after the first.
 *
 * With `barrier` and `parties`, workers start their loops together.
 */
import { PreconditionFailedError } from "../../src/errors.js";
import { FileSystemStore } from "../../src/store/filesystem.js";
import { waitAtBarrier } from "../helpers/node-processes.js";

interface WorkerOptions {
  root: string;
  key: string;
  n?: number;
  barrier?: string;
  parties?: number;
  durable?: boolean;
  lockStaleMs?: number;
}

/** Version v of a pattern object: (1000 + v % 3000) bytes, all equal to v % 251. A torn or mixed object shows. */
function patternOf(v: number): Uint8Array {
  return new Uint8Array(1000 + (v % 3000)).fill(v % 251);
}

const [mode, json] = process.argv.slice(2);
const options = JSON.parse(json) as WorkerOptions;
const store = new FileSystemStore(options.root, { durable: options.durable, lockStaleMs: options.lockStaleMs });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

if (options.barrier !== undefined) await waitAtBarrier(options.barrier, String(process.pid), options.parties ?? 1);
const started = performance.now();

if (mode === "cas") {
  let done = 0;
  let conflicts = 0;
  while (done < (options.n ?? 1)) {
    const current = await store.getVersioned(options.key);
    if (current === undefined) throw new Error(`counter ${options.key} is missing`);
    const next = Number(decoder.decode(current.bytes)) + 1;
    try {
      await store.set(options.key, encoder.encode(String(next)), { ifMatch: current.version });
      done++;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      conflicts++;
    }
  }
  console.log(JSON.stringify({ done, conflicts, ms: performance.now() - started }));
} else if (mode === "writes") {
  const n = options.n ?? 1;
  for (let i = 0; i < n; i++) await store.set(options.key, patternOf(process.pid + i));
  console.log(JSON.stringify({ done: n, ms: performance.now() - started }));
} else if (mode === "hammer") {
  for (let v = 0; ; v++) {
    await store.set(options.key, patternOf(v));
    if (v === 0) console.log("ready");
  }
} else {
  throw new Error(`unknown worker mode ${JSON.stringify(mode)}`);
}
