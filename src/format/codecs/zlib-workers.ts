/**
 * gzip work on large chunks in a worker_threads pool sized to the cores. Measured with
 * `npx tsx bench/off-loop.ts` (96 × 1 MiB chunks, 8 in flight, 2 cores): decompression 262 ms in
 * workers vs 343 ms on libuv's thread pool vs 373 ms on the event loop; compression 1181 vs 1285
 * vs 2143 ms. (zstd-napi's synchronous decompression was tried here too and measured slower than
 * on the event loop, at 1 and 8 MiB chunks: it is ~5× faster than gunzip, so the round trip does
 * not pay on 2 cores.) Workers run node:zlib only (no TypeScript), start on first use and never keep the
 * process alive. Buffers come back transferred; they go to the worker transferred too when the
 * caller gives them up (`transfer`) and they own their whole ArrayBuffer, else as copies.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
parentPort.on("message", ({ id, op, bytes, options }) => {
  try {
    const out = op === "gzip" ? zlib.gzipSync(bytes, options) : zlib.gunzipSync(bytes, options);
    // A small Buffer may be a slice of a shared pool: transfer only memory of its own.
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : Uint8Array.prototype.slice.call(out);
    parentPort.postMessage({ id, bytes: own }, [own.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});`;

/** Chunks below this size are not worth a round trip to a worker. */
export const WORKER_MIN_BYTES = 256 * 1024;

export type WorkerOp = "gzip" | "gunzip";

type Pending = { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void };

class ZlibWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly size: number) {}

  run(op: WorkerOp, bytes: Uint8Array, options: Record<string, number>, transfer: boolean): Promise<Uint8Array> {
    const index = this.leastBusy();
    const id = this.nextId++;
    const copy = transfer && ownsWholeBuffer(bytes) ? bytes : bytes.slice();
    const worker = this.workers[index];
    // A worker with work in hand keeps the process alive; an idle one does not.
    if (this.load[index]++ === 0) worker.ref();
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, bytes: copy, options }, [copy.buffer as ArrayBuffer]);
    }).finally(() => {
      if (--this.load[index] === 0) worker.unref();
    });
  }

  private leastBusy(): number {
    if (this.workers.length < this.size && (this.workers.length === 0 || Math.min(...this.load) > 0)) this.spawn();
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i] < this.load[best]) best = i;
    return best;
  }

  private spawn(): void {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on("message", ({ id, bytes, error }: { id: number; bytes?: Uint8Array; error?: string }) => {
      const waiter = this.pending.get(id);
      if (!waiter) return;
      this.pending.delete(id);
      if (error !== undefined) waiter.reject(new Error(error));
      else waiter.resolve(bytes!);
    });
    worker.on("error", (error) => {
      for (const [id, waiter] of this.pending) {
        this.pending.delete(id);
        waiter.reject(error);
      }
    });
    // After the listeners: attaching a listener refs the worker again.
    worker.unref();
    this.workers.push(worker);
    this.load.push(0);
  }
}

let pool: ZlibWorkerPool | undefined;

/**
 * gzip or gunzip `bytes` in the shared worker pool. With `transfer` the caller gives `bytes` up:
 * when they are the whole of their ArrayBuffer it is moved to the worker (and `bytes` detached).
 */
export function zlibInWorker(op: WorkerOp, bytes: Uint8Array, options: Record<string, number>, how: { transfer?: boolean } = {}): Promise<Uint8Array> {
  pool ??= new ZlibWorkerPool(Math.max(1, availableParallelism()));
  return pool.run(op, bytes, options, how.transfer ?? false);
}

/** True when `bytes` is all of a (non-shared) ArrayBuffer: moving that buffer takes nothing from anyone else. */
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}
