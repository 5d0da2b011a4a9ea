/**
 * How a dataset's chunks move between the store and decoded typed arrays. The dataset plans a
 * selection on `chunkShape` and hands the list of touched chunks here; two layouts implement it:
 *
 * - one object per chunk (this module): a read is one GET per chunk, a write of a whole chunk one
 *   PUT (or DELETE) and no GET, last writer wins; a partial write a read-modify-write: GET with the
 *   version token, patch, PUT only if unchanged (optimistic.ts), serialised in-process by the
 *   chunk's lock so that writers in one process do not race each other's conditional writes;
 * - `sharding_indexed` (sharded-chunk-io.ts): many inner chunks per object, read by range GETs and
 *   written whole-shard.
 *
 * "Chunk" here always means the read/write granularity (the inner chunk of a sharded array).
 */
import {
  allocateTypedArray,
  type ArrayInfo,
  chunkKey,
  type ChunkCodec,
  allElementsEqual,
  fillElements,
  isZeroFillValue,
  createChunkCodec,
  type TypedArray,
} from "../format/index.js";
import type { Store } from "../store/store.js";
import { forEachLimited, throwIfAborted, withChunkLock, withChunkLocks } from "./concurrency.js";
import { type ConflictPolicy, removeIfUnchanged, retryOnConflict } from "./optimistic.js";

export interface ChunkRef {
  /** Index on the chunk grid of `ChunkIO.chunkShape`. */
  readonly gridIndex: readonly number[];
}

export interface ChunkWrite extends ChunkRef {
  /** The write sets every in-bounds element of the chunk: its old content need not be read. */
  readonly coversChunk: boolean;
}

/**
 * Changes a chunk in place (its decoded content, or fill values when it is not stored). May run more
 * than once for one write, after losing a race to another writer; may be async (work on a thread).
 */
export type ChunkPatch<T> = (item: T, chunk: TypedArray) => void | Promise<void>;

export interface ChunkRunOptions {
  njobs: number;
  signal?: AbortSignal;
  /** Called as chunks complete, with the number of chunks done and the total. */
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Names the operation in errors ("read of dataset ..."). */
  what: string;
  /**
   * For reads: `visit` copies what it needs and keeps no reference to the chunk once it returns, so
   * the chunk's memory may be reused for the next chunk (fewer fresh megabytes to fault in and
   * collect). Only a caller that knows this of its visit sets it.
   */
  visitCopies?: boolean;
}

/** What every layout needs to know about the array. */
export interface ChunkIOContext {
  readonly store: Store;
  readonly path: string;
  readonly info: ArrayInfo;
  /** How read-modify-writes retry after losing a race to another writer. */
  readonly conflicts: ConflictPolicy;
}

export interface ChunkIO {
  /** The read/write granularity: selections are planned on this grid. */
  readonly chunkShape: readonly number[];
  /** Shard shape when the array is sharded. */
  readonly shardShape: readonly number[] | undefined;
  readonly fill: ChunkFill;
  /** Store key of the object that holds the chunk. */
  keyOf(gridIndex: readonly number[]): string;
  /** Decode every chunk of `items` (undefined: not stored) and hand it to `visit`, at most njobs requests at a time. */
  readChunks<T extends ChunkRef>(items: readonly T[], visit: (item: T, chunk: TypedArray | undefined) => void, options: ChunkRunOptions): Promise<void>;
  /**
   * Patch every chunk of `items` (a fresh copy of its content) and store it; all-fill chunks are not
   * stored. `patch` may run more than once for a chunk (after a lost race, on freshly read content),
   * so it must only depend on its arguments.
   */
  writeChunks<T extends ChunkWrite>(items: readonly T[], patch: ChunkPatch<T>, options: ChunkRunOptions): Promise<void>;
  chunkExists(gridIndex: readonly number[], signal?: AbortSignal): Promise<boolean>;
  /**
   * Delete stored objects (chunks, or shards) by key, each under its in-process lock, so that a
   * read-modify-write in flight in this process finishes before, or starts after, the delete.
   */
  deleteObjects(keys: readonly string[], options: ChunkRunOptions): Promise<void>;
  /** The stored chunks of the stored objects at `objectGridIndices` (as listed): for sharded arrays each shard's index is read. */
  storedChunksOf(objectGridIndices: readonly number[][], options: ChunkRunOptions): Promise<number[][]>;
}

/** Keys per batched delete (S3's DeleteObjects takes at most 1000). */
export const DELETE_BATCH = 1000;

/** Reused write buffers kept per array (at most this many chunks of memory). */
const MAX_SPARE_CHUNKS = 16;

/** The fill value as a whole chunk, and the test for a chunk that holds nothing else. */
export class ChunkFill {
  private cache: TypedArray | undefined;

  constructor(
    private readonly info: ArrayInfo,
    private readonly chunkShape: readonly number[],
  ) {}

  /** A shared chunk of fill values: copy it before changing it. */
  chunk(): TypedArray {
    if (!this.cache) {
      const chunk = allocateTypedArray(this.info.dataType, this.chunkShape.reduce((a, b) => a * b, 1));
      if (!this.isZero()) fillElements(chunk, this.info.dataType, this.info.fillValue);
      this.cache = chunk;
    }
    return this.cache;
  }

  /** A new chunk of fill values, the caller's to change. */
  freshChunk(): TypedArray {
    if (this.isZero()) return allocateTypedArray(this.info.dataType, this.chunkShape.reduce((a, b) => a * b, 1));
    return this.chunk().slice();
  }

  private readonly spare: TypedArray[] = [];

  /**
   * A chunk of fill values from a small pool of reused buffers: writing many chunks then touches
   * the same memory again instead of faulting in a fresh megabyte per chunk. Give it back with
   * `release` once nothing refers to it any more.
   */
  borrowChunk(): TypedArray {
    const chunk = this.spare.pop();
    if (!chunk) return this.freshChunk();
    chunk.set(this.chunk() as never);
    return chunk;
  }

  release(chunk: TypedArray): void {
    if (this.spare.length < MAX_SPARE_CHUNKS) this.spare.push(chunk);
  }

  /** A zero fill value: freshly allocated output already holds it. */
  isZero(): boolean {
    return isZeroFillValue(this.info.fillValue);
  }

  /**
   * Whether `chunk` holds nothing but the fill value, compared byte for byte with the fill chunk
   * (one memcmp, whatever the data type). So -0.0 is not a fill of 0.0 (nor 0.0 of -0.0): such a
   * chunk is stored and reads back with its sign. A NaN fill is the exception: any NaN counts as
   * fill, whatever its sign and payload bits (JavaScript does not keep NaN bits reliably).
   */
  isAllFill(chunk: TypedArray): boolean {
    const fill = this.chunk();
    if (!ArrayBuffer.isView(chunk)) return allElementsEqual(chunk, (fill as unknown as Array<string | Uint8Array>)[0]); // string and bytes chunks
    if (chunk.byteLength !== fill.byteLength) return false;
    if (bytesOf(chunk).equals(bytesOf(fill))) return true;
    const first = (fill as unknown as ArrayLike<number | bigint>)[0];
    if (typeof first !== "number" || !Number.isNaN(first)) return false;
    const values = chunk as unknown as ArrayLike<number>;
    for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) return false;
    return true;
  }
}

/** The bytes of a typed array as a Buffer view (for Buffer's native comparison), no copy. */
function bytesOf(array: TypedArray): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * Run `task` for every item under the njobs limit, reporting progress in chunks (an item may
 * stand for several: `chunksIn`); rejects with AbortedError if the signal fired.
 */
export async function runChunkTasks<T>(
  items: readonly T[],
  options: ChunkRunOptions,
  task: (item: T, progressed: (chunks: number) => void) => Promise<void>,
  total = items.length,
): Promise<void> {
  let done = 0;
  const progressed = (chunks: number) => {
    done += chunks;
    options.onProgress?.({ done, total });
  };
  await forEachLimited(items, (item) => task(item, progressed), { njobs: options.njobs, signal: options.signal }, options.what);
  throwIfAborted(options.signal, options.what);
}

/**
 * Buffers stored chunks are read into during one multi-chunk read, reused once a chunk is decoded
 * (or copied out): about njobs of them instead of a fresh one per chunk.
 */
class ReadBuffers {
  private readonly free: Uint8Array[] = [];
  private largest = 0;

  constructor(private readonly keep: number) {}

  borrow(length: number): Uint8Array {
    const index = this.free.findIndex((buffer) => buffer.byteLength >= length);
    if (index >= 0) return this.free.splice(index, 1)[0];
    // sized for the largest chunk seen, so varying compressed sizes do not keep allocating
    this.largest = Math.max(this.largest, length);
    return new Uint8Array(Buffer.allocUnsafeSlow(this.largest).buffer, 0, this.largest);
  }

  release(buffer: Uint8Array): void {
    // a buffer transferred to a worker thread is detached (its byteLength is 0): dropped
    if (buffer.buffer.byteLength > 0 && this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Zarr's plain layout: one stored object per chunk. */
export class ChunkPerObjectIO implements ChunkIO {
  readonly chunkShape: readonly number[];
  readonly shardShape = undefined;
  readonly fill: ChunkFill;
  private readonly codec: ChunkCodec;

  constructor(private readonly context: ChunkIOContext) {
    this.chunkShape = context.info.chunkShape;
    this.codec = createChunkCodec(context.info);
    this.fill = new ChunkFill(context.info, this.chunkShape);
  }

  keyOf(gridIndex: readonly number[]): string {
    return chunkKey(this.context.path, gridIndex, this.context.info.chunkKeyEncoding);
  }

  async readChunks<T extends ChunkRef>(items: readonly T[], visit: (item: T, chunk: TypedArray | undefined) => void, options: ChunkRunOptions): Promise<void> {
    // Buffers live for this call only: nothing is kept once the read is done.
    const buffers = items.length > 1 ? new ReadBuffers(Math.max(1, options.njobs)) : undefined;
    await runChunkTasks(items, options, async (item, progressed) => {
      const { chunk, lent } = await this.readChunk(item.gridIndex, options.signal, buffers);
      visit(item, chunk);
      if (lent !== undefined && options.visitCopies === true) buffers!.release(lent);
      progressed(1);
    });
  }

  async writeChunks<T extends ChunkWrite>(items: readonly T[], patch: ChunkPatch<T>, options: ChunkRunOptions): Promise<void> {
    await runChunkTasks(items, options, async (item, progressed) => {
      await this.updateChunk(item, patch, options.signal);
      progressed(1);
    });
  }

  async chunkExists(gridIndex: readonly number[], signal?: AbortSignal): Promise<boolean> {
    return (await this.context.store.get(this.keyOf(gridIndex), { offset: 0, length: 1 }, { signal })) !== undefined;
  }

  async storedChunksOf(objectGridIndices: readonly number[][]): Promise<number[][]> {
    return objectGridIndices.map((g) => [...g]);
  }

  async deleteObjects(keys: readonly string[], options: ChunkRunOptions): Promise<void> {
    const store = this.context.store;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      await withChunkLocks(store.description, batch, () => store.deleteMany(batch, { signal: options.signal }));
    }
  }

  /** The decoded chunk, and the reused buffer it still lies in (when it does), for the caller to release after use. */
  private async readChunk(gridIndex: readonly number[], signal: AbortSignal | undefined, buffers: ReadBuffers | undefined): Promise<{ chunk: TypedArray | undefined; lent?: Uint8Array }> {
    const key = this.keyOf(gridIndex);
    let lent: Uint8Array | undefined;
    const into = buffers === undefined ? undefined : (length: number) => (lent = buffers.borrow(length));
    const bytes = await this.context.store.get(key, undefined, { signal, into });
    if (lent !== undefined && bytes?.buffer !== lent.buffer) {
      buffers!.release(lent);
      lent = undefined;
    }
    if (bytes === undefined) return { chunk: undefined };
    // Stores hand the caller bytes of its own, so an uncompressed chunk can be viewed, not copied.
    const chunk = await this.codec.decode(bytes, key, { owned: true });
    if (lent !== undefined && chunk.buffer !== lent.buffer) {
      // decoded into new memory: the buffer is free again (unless a codec handed it to a worker)
      buffers!.release(lent);
      lent = undefined;
    }
    return { chunk, lent };
  }

  /**
   * A whole-chunk write is one PUT (or DELETE) without a read. A partial one is a read-modify-write
   * that stores only if nobody changed the chunk since it was read, else reads again and re-applies
   * the patch. The process-wide chunk lock keeps this process's writers from racing each other.
   */
  private async updateChunk<T extends ChunkWrite>(item: T, patch: ChunkPatch<T>, signal?: AbortSignal): Promise<void> {
    const key = this.keyOf(item.gridIndex);
    const store = this.context.store;
    await withChunkLock(store.description, key, async () => {
      if (item.coversChunk) {
        const chunk = this.fill.borrowChunk();
        await patch(item, chunk);
        if (this.fill.isAllFill(chunk)) await store.delete(key, { signal });
        else await store.set(key, await this.codec.encode(chunk, { consume: true }), { signal });
        // Stores keep no reference to what they were given once set resolves, so the buffer is free again.
        this.fill.release(chunk);
        return;
      }
      const what = `write of chunk [${item.gridIndex}] of array "/${this.context.path}" in ${store.description}`;
      await retryOnConflict(what, key, this.context.conflicts, signal, async () => {
        const stored = await store.getVersioned(key, { signal });
        // Stores hand the caller bytes of its own, so an uncompressed chunk can be patched in place.
        const chunk = stored === undefined ? this.fill.borrowChunk() : await this.codec.decode(stored.bytes, key, { owned: true });
        await patch(item, chunk);
        if (!this.fill.isAllFill(chunk)) {
          const bytes = await this.codec.encode(chunk, { consume: true });
          await store.set(key, bytes, stored === undefined ? { ifNoneMatch: "*", signal } : { ifMatch: stored.version, signal });
        } else if (stored !== undefined) {
          await removeIfUnchanged(store, key, stored.version, () => this.codec.encode(this.fill.freshChunk(), { consume: true }), signal);
        }
        if (stored === undefined) this.fill.release(chunk);
      });
    });
  }
}
