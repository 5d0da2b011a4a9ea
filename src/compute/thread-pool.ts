/**
 * The "threads" engine's workers: a pool of worker_threads on this machine. Each thread imports the
 * modules that registered functions (so it runs only code this process already loaded) and runs
 * chunk functions on chunks posted to it; chunk bytes move by transfer, not by copy. Reading and
 * writing stay on the calling thread, so every store (memory, sessions, S3) works unchanged.
 */
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import ndarray, { type NdArray } from "ndarray";
import { AbortedError, ComputeError } from "../errors.js";
import type { TypedArray } from "../format/index.js";
import type { WritableValue } from "../core/values.js";
import type { ChunkContext } from "./registry.js";

interface Pending {
  resolve: (value: WritableValue) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** The thread's code: a CommonJS script (eval), so it needs no file of its own next to the build output. */
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ndarray = require(workerData.ndarrayPath);
const key = Symbol.for("dosna.compute.functions");
const ready = (async () => { for (const m of workerData.modules) await import(m); })();
// A module that fails to load fails each task (below); unhandled, it would kill the thread before any task arrived.
ready.catch(() => undefined);
parentPort.on("message", async (task) => {
  try {
    await ready;
    const entry = globalThis[key] && globalThis[key].functions.get(task.name);
    if (!entry) throw new Error("no function \\"" + task.name + "\\" is registered in the worker thread's modules (" + workerData.modules.join(", ") + ")");
    const result = await entry.fn(ndarray(task.data, task.shape), task.params, task.context);
    if (result !== null && typeof result === "object" && ArrayBuffer.isView(result)) {
      parentPort.postMessage({ id: task.id, ok: true, kind: "typed", data: result }, result.buffer instanceof ArrayBuffer && result.byteLength === result.buffer.byteLength ? [result.buffer] : []);
    } else if (result !== null && typeof result === "object" && Array.isArray(result.shape) && ArrayBuffer.isView(result.data)) {
      const dense = ndarray(new result.data.constructor(result.size), result.shape);
      const idx = new Array(result.shape.length).fill(0);
      for (let i = 0; i < result.size; i++) {
        dense.data[i] = result.get(...idx);
        for (let a = idx.length - 1; a >= 0; a--) { if (++idx[a] < result.shape[a]) break; idx[a] = 0; }
      }
      parentPort.postMessage({ id: task.id, ok: true, kind: "nd", data: dense.data, shape: result.shape }, [dense.data.buffer]);
    } else {
      parentPort.postMessage({ id: task.id, ok: true, kind: "value", value: result });
    }
  } catch (error) {
    parentPort.postMessage({ id: task.id, ok: false, message: error && error.message ? error.message : String(error) });
  }
});
`;

/** Pools kept between calls (starting threads that import dosna costs ~0.4 s of CPU each), by size and modules. */
const shared = new Map<string, ThreadPool>();
/** An idle shared pool's threads are stopped after this long (and never keep the process alive meanwhile). */
const IDLE_CLOSE_MS = 30_000;

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private users = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private sharedKey: string | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Why the threads are gone (a thread crashed or exited): later tasks fail with it instead of waiting forever. */
  private crashed: Error | undefined;

  constructor(
    readonly size: number,
    private readonly modules: readonly string[],
  ) {
    const ndarrayPath = createRequire(import.meta.url).resolve("ndarray");
    for (let i = 0; i < size; i++) {
      // The thread's source is CommonJS: a caller started with --input-type=module (node -e) must not pass that on.
      const execArgv = process.execArgv.filter((arg) => !arg.startsWith("--input-type"));
      const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { modules, ndarrayPath }, execArgv });
      const slot: Slot = { worker, busy: 0 };
      worker.on("message", (message: ThreadReply) => this.settle(slot, message));
      worker.on("error", (error) => this.crash(new ComputeError(`a worker thread of the threads engine crashed: ${error.message}`, { cause: error })));
      worker.on("exit", (code) => this.crash(new ComputeError(`a worker thread of the threads engine exited (code ${code})`)));
      this.slots.push(slot);
    }
  }

  /**
   * A pool of `size` threads with `modules` loaded, shared by concurrent and later calls: give it
   * back with release(). A pool whose threads crashed is replaced.
   */
  static acquire(size: number, modules: readonly string[]): ThreadPool {
    const key = `${size}\n${modules.join("\n")}`;
    let pool = shared.get(key);
    if (!pool || pool.crashed || pool.closed) {
      pool = new ThreadPool(size, modules);
      pool.sharedKey = key;
      shared.set(key, pool);
    }
    clearTimeout(pool.idleTimer);
    pool.idleTimer = undefined;
    if (pool.users++ === 0) for (const slot of pool.slots) slot.worker.ref();
    return pool;
  }

  /** Done with a pool from acquire(): when no call uses it, its threads stop holding the process open and close after a while. */
  release(): void {
    if (--this.users > 0) return;
    if (this.crashed) {
      void this.close();
      return;
    }
    for (const slot of this.slots) slot.worker.unref();
    this.idleTimer = setTimeout(() => void this.close(), IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  static defaultSize(): number {
    return Math.max(1, availableParallelism());
  }

  /** Run function `name` on `chunk` (its buffer is transferred when it owns it whole, so the caller must not use it afterwards). */
  run(name: string, params: unknown, chunk: NdArray<TypedArray>, context: ChunkContext, signal?: AbortSignal): Promise<WritableValue> {
    if (this.closed) return Promise.reject(new ComputeError("the threads engine's pool is closed"));
    if (this.crashed) return Promise.reject(this.crashed);
    if (signal?.aborted) return Promise.reject(new AbortedError("threads engine task was aborted", { cause: signal.reason }));
    const slot = this.slots.reduce((best, s) => (s.busy < best.busy ? s : best));
    const id = this.nextId++;
    slot.busy++;
    const data = chunk.data;
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
    return new Promise<WritableValue>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, name, params, data, shape: chunk.shape, context }, whole ? [data.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    if (this.sharedKey !== undefined && shared.get(this.sharedKey) === this) shared.delete(this.sharedKey);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.failAll(new ComputeError("the threads engine's pool was closed while tasks were running"));
  }

  private settle(slot: Slot, reply: ThreadReply): void {
    slot.busy--;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (!reply.ok) return pending.reject(new Error(reply.message));
    if (reply.kind === "typed") return pending.resolve(reply.data);
    if (reply.kind === "nd") return pending.resolve(ndarray(reply.data as never, reply.shape) as NdArray<TypedArray>);
    pending.resolve(reply.value as WritableValue);
  }

  private crash(error: Error): void {
    if (this.closed) return;
    this.crashed ??= error;
    this.failAll(this.crashed);
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

type ThreadReply =
  | { id: number; ok: false; message: string }
  | { id: number; ok: true; kind: "typed"; data: TypedArray }
  | { id: number; ok: true; kind: "nd"; data: TypedArray; shape: number[] }
  | { id: number; ok: true; kind: "value"; value: unknown };
