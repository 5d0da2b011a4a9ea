/**
 * Chunk I/O for `sharding_indexed` arrays: inner chunks live inside shard objects.
 *
 * A read groups the touched inner chunks by shard, fetches each shard's index with one range GET
 * (a suffix range when the index is at the end), then fetches the stored inner chunks with range
 * GETs, neighbouring ranges (gap ≤ MAX_COALESCE_GAP) merged into one request. All GETs of one
 * operation share one njobs limit (first come, first served: index GETs queue before data GETs).
 * Each shard is read under the shared side of its lock (shard-locks.ts), so a write in this
 * process cannot replace it between its index GET and its data GETs; a writer in another process can (the reader may then see a torn
 * shard: an error, or in the worst case stale bytes), as with other Zarr implementations.
 *
 * A write rewrites whole shards: a shard the write does not wholly cover is read (one GET of the
 * object) and patched, under the exclusive side of the shard's lock, so concurrent writes to different
 * inner chunks of one shard never lose each other. Untouched inner chunks keep their stored bytes
 * (no re-encoding); inner chunks that end up all fill are omitted from the index, and a shard left
 * with none is deleted.
 */
import pLimit from "p-limit";
import { CorruptChunkError } from "../errors.js";
import { chunkGridShape } from "../selection/index.js";
import { chunkKey, type ChunkCodec, createChunkCodec, type TypedArray } from "../format/index.js";
import {
  assembleShard,
  coalesceRanges,
  CorruptShardError,
  decodeShardIndex,
  decodeShardIndexOfObject,
  EMPTY_ENTRY,
  entryCoordinates,
  innerGridIndexOf,
  locateInnerChunk,
  type ShardIndex,
  type ShardLayout,
} from "../format/sharding.js";
import type { ByteRange } from "../store/store.js";
import { ChunkFill, type ChunkIO, type ChunkIOContext, type ChunkRef, type ChunkRunOptions, type ChunkWrite, runChunkTasks } from "./chunk-io.js";
import { throwIfAborted } from "./concurrency.js";
import { withShardLock } from "./shard-locks.js";

/** Ranges of one shard closer than this are fetched with one request (the bytes between are read and dropped). */
export const MAX_COALESCE_GAP = 64 * 1024;
/** A merged request stops growing at this size, bounding the memory of njobs requests in flight. */
export const MAX_COALESCED_BYTES = 16 * 1024 * 1024;

/** What a queued GET returns once the operation has failed: nothing more is fetched. */
const SKIPPED = Symbol("skipped");

interface ShardGroup<T> {
  key: string;
  shardGridIndex: number[];
  members: { item: T; entry: number }[];
}

export class ShardedChunkIO implements ChunkIO {
  readonly chunkShape: readonly number[];
  readonly shardShape: readonly number[];
  readonly fill: ChunkFill;
  private readonly codec: ChunkCodec;

  constructor(
    private readonly context: ChunkIOContext,
    private readonly layout: ShardLayout,
  ) {
    this.chunkShape = layout.innerChunkShape;
    this.shardShape = layout.shardShape;
    this.codec = createChunkCodec({ dataType: context.info.dataType, chunkShape: layout.innerChunkShape, codecs: layout.innerCodecs });
    this.fill = new ChunkFill(context.info, this.chunkShape);
  }

  keyOf(gridIndex: readonly number[]): string {
    return this.shardKey(locateInnerChunk(gridIndex, this.layout.chunksPerShard).shardGridIndex);
  }

  async readChunks<T extends ChunkRef>(items: readonly T[], visit: (item: T, chunk: TypedArray | undefined) => void, options: ChunkRunOptions): Promise<void> {
    // Every GET of the operation shares one njobs limit; shards proceed independently, each under
    // its lock (so an in-process write cannot replace the shard between its index and data GETs).
    const limit = pLimit(Math.max(1, options.njobs));
    let failed = false;
    const get = (key: string, range: ByteRange) =>
      limit(async () => {
        if (failed) return SKIPPED;
        throwIfAborted(options.signal, options.what);
        return this.context.store.get(key, range, { signal: options.signal });
      });
    await runChunkTasks(
      this.groupByShard(items),
      { ...options, njobs: Infinity },
      async (group, progressed) => {
        try {
          await withShardLock(this.context.store.description, group.key, "read", () => this.readShard(group, get, visit, progressed));
        } catch (error) {
          failed = true;
          throw error;
        }
      },
      items.length,
    );
  }

  /** The touched inner chunks of one shard: its index, then coalesced range GETs of the stored ones. */
  private async readShard<T>(
    group: ShardGroup<T>,
    get: (key: string, range: ByteRange) => Promise<Uint8Array | undefined | typeof SKIPPED>,
    visit: (item: T, chunk: TypedArray | undefined) => void,
    progressed: (chunks: number) => void,
  ): Promise<void> {
    const { key } = group;
    const length = this.layout.indexByteLength;
    const indexBytes = await get(key, this.layout.indexLocation === "end" ? { suffixLength: length } : { offset: 0, length });
    if (indexBytes === SKIPPED) return;
    const index = indexBytes === undefined ? undefined : decodeShardIndex(indexBytes, this.layout, key);
    const stored: { offset: number; length: number; item: { item: T; entry: number } }[] = [];
    for (const member of group.members) {
      const offset = index === undefined ? EMPTY_ENTRY : index[member.entry * 2];
      if (offset === EMPTY_ENTRY) {
        visit(member.item, undefined);
        progressed(1);
      } else {
        stored.push({ offset, length: index![member.entry * 2 + 1], item: member });
      }
    }
    await Promise.all(
      coalesceRanges(stored, MAX_COALESCE_GAP, MAX_COALESCED_BYTES).map(async (request) => {
        const bytes = await get(key, { offset: request.offset, length: request.length });
        if (bytes === SKIPPED) return;
        if (bytes !== undefined && bytes.byteLength < request.length) {
          throw new CorruptShardError(
            `shard "${key}" is truncated or corrupt: its index points at bytes ${request.offset}–${request.offset + request.length}, ` +
              `but the shard ends at byte ${request.offset + bytes.byteLength}`,
          );
        }
        await Promise.all(
          request.members.map(async ({ item, start, length: n }) => {
            // A shard deleted (by another process) since its index was read holds nothing any more: fill.
            visit(item.item, bytes === undefined ? undefined : await this.decodeInner(bytes.subarray(start, start + n), key, item.entry));
            progressed(1);
          }),
        );
      }),
    );
  }

  async writeChunks<T extends ChunkWrite>(items: readonly T[], patch: (item: T, chunk: TypedArray) => void, options: ChunkRunOptions): Promise<void> {
    await runChunkTasks(
      this.groupByShard(items),
      options,
      async (group, progressed) => {
        await withShardLock(this.context.store.description, group.key, "write", () => this.rewriteShard(group, patch, options.signal));
        progressed(group.members.length);
      },
      items.length,
    );
  }

  async chunkExists(gridIndex: readonly number[], signal?: AbortSignal): Promise<boolean> {
    const { shardGridIndex, entry } = locateInnerChunk(gridIndex, this.layout.chunksPerShard);
    const index = await this.fetchIndex(this.shardKey(shardGridIndex), signal);
    return index !== undefined && index[entry * 2] !== EMPTY_ENTRY;
  }

  async storedChunksOf(objectGridIndices: readonly number[][], options: ChunkRunOptions): Promise<number[][]> {
    const perShard: number[][][] = objectGridIndices.map(() => []);
    await runChunkTasks(
      objectGridIndices.map((grid, i) => ({ grid, i })),
      options,
      async ({ grid, i }) => {
        const index = await this.fetchIndex(this.shardKey(grid), options.signal);
        if (index === undefined) return;
        for (let entry = 0; entry < this.layout.entryCount; entry++) {
          if (index[entry * 2] !== EMPTY_ENTRY) perShard[i].push(innerGridIndexOf(grid, entry, this.layout.chunksPerShard));
        }
      },
    );
    return perShard.flat();
  }

  private shardKey(shardGridIndex: readonly number[]): string {
    return chunkKey(this.context.path, shardGridIndex, this.context.info.chunkKeyEncoding);
  }

  /** Touched inner chunks by shard, shards in order of first appearance. */
  private groupByShard<T extends ChunkRef>(items: readonly T[]): ShardGroup<T>[] {
    const groups = new Map<string, ShardGroup<T>>();
    for (const item of items) {
      const { shardGridIndex, entry } = locateInnerChunk(item.gridIndex, this.layout.chunksPerShard);
      const key = this.shardKey(shardGridIndex);
      let group = groups.get(key);
      if (group === undefined) {
        group = { key, shardGridIndex, members: [] };
        groups.set(key, group);
      }
      group.members.push({ item, entry });
    }
    return [...groups.values()];
  }

  /** The shard's index (one range GET), or undefined when the shard is not stored. */
  private async fetchIndex(key: string, signal?: AbortSignal): Promise<ShardIndex | undefined> {
    const length = this.layout.indexByteLength;
    const range: ByteRange = this.layout.indexLocation === "end" ? { suffixLength: length } : { offset: 0, length };
    const bytes = await this.context.store.get(key, range, { signal });
    return bytes === undefined ? undefined : decodeShardIndex(bytes, this.layout, key);
  }

  private async rewriteShard<T extends ChunkWrite>(group: ShardGroup<T>, patch: (item: T, chunk: TypedArray) => void, signal?: AbortSignal): Promise<void> {
    const store = this.context.store;
    const covered = group.members.every((m) => m.item.coversChunk) && group.members.length === this.inBoundsChunkCount(group.shardGridIndex);
    const chunks = new Array<Uint8Array | undefined>(this.layout.entryCount).fill(undefined);
    let existed = false;
    if (!covered) {
      const bytes = await store.get(group.key, undefined, { signal });
      if (bytes !== undefined) {
        existed = true;
        const index = decodeShardIndexOfObject(bytes, this.layout, group.key);
        for (let entry = 0; entry < this.layout.entryCount; entry++) {
          const offset = index[entry * 2];
          if (offset !== EMPTY_ENTRY) chunks[entry] = bytes.subarray(offset, offset + index[entry * 2 + 1]);
        }
      }
    }
    await Promise.all(
      group.members.map(async ({ item, entry }) => {
        const old = item.coversChunk ? undefined : chunks[entry];
        const chunk = old === undefined ? this.fill.chunk().slice() : await this.decodeInner(old, group.key, entry);
        patch(item, chunk);
        chunks[entry] = this.fill.isAllFill(chunk) ? undefined : await this.codec.encode(chunk);
      }),
    );
    const shard = assembleShard(chunks, this.layout);
    if (shard !== undefined) await store.set(group.key, shard, { signal });
    else if (covered || existed) await store.delete(group.key, { signal });
  }

  /** Inner chunks of the shard that hold any element inside the array (edge shards have fewer). */
  private inBoundsChunkCount(shardGridIndex: readonly number[]): number {
    const grid = chunkGridShape(this.context.info.shape, this.chunkShape);
    const per = this.layout.chunksPerShard;
    return shardGridIndex.reduce((n, s, axis) => n * Math.min(per[axis], grid[axis] - s * per[axis]), 1);
  }

  private async decodeInner(bytes: Uint8Array, key: string, entry: number): Promise<TypedArray> {
    try {
      return await this.codec.decode(bytes, key);
    } catch (error) {
      if (!(error instanceof CorruptChunkError)) throw error;
      const where = entryCoordinates(entry, this.layout.chunksPerShard).join(", ");
      throw new CorruptShardError(`shard "${key}": inner chunk [${where}] cannot be decoded: ${error.message}`, { cause: error });
    }
  }
}
