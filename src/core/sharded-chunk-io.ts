/**
 * Chunk I/O for `sharding_indexed` arrays: inner chunks live inside shard objects.
 *
 * A read groups the touched inner chunks by shard, fetches each shard's index with one range GET
 * (a suffix range when the index is at the end), then fetches the stored inner chunks with range
 * GETs, neighbouring ranges (gap ≤ MAX_COALESCE_GAP) merged into one request. All GETs of one
 * operation share one njobs limit (first come, first served: index GETs queue before data GETs).
 * Each shard is read under the shared side of its lock (shard-locks.ts), so a write in this
 * process cannot replace it between its index GET and its data GETs; a writer in another process
 * can, so the data GETs carry the index's version (If-Match) and a shard replaced in between is
 * read again: a read never mixes two versions of a shard.
 *
 * Decoded indexes are kept (ShardIndexCache, keyed by shard key with the version they were read
 * from), so a later read of the same shard skips its index GET. A cached index is used only when
 * the read then GETs data with that version (If-Match): if the shard was rewritten or deleted by
 * anyone since, that GET fails, the entry is dropped and the shard read afresh, so a cached index
 * never yields data of another version. (A read whose touched inner chunks the cached index says
 * are all absent would GET nothing, so it reads the index instead.) Writes and deletes through
 * this object drop their shards' entries.
 *
 * A write rewrites whole shards: a shard the write does not wholly cover is read (one GET of the
 * object) and patched, under the exclusive side of the shard's lock, so concurrent writes to different
 * inner chunks of one shard never lose each other. Untouched inner chunks keep their stored bytes
 * (no re-encoding); inner chunks that end up all fill are omitted from the index, and a shard left
 * with none is deleted.
 */
import pLimit from "p-limit";
import { CorruptChunkError, PreconditionFailedError } from "../errors.js";
import { chunkGridShape } from "../selection/index.js";
import { chunkKey, type ChunkCodec, createChunkCodec, type TypedArray } from "../format/index.js";
import {
  assembleShard,
  coalesceRanges,
  CorruptShardError,
  decodeShardIndex,
  decodeShardIndexOfObject,
  EMPTY_ENTRY,
  emptyShard,
  entryCoordinates,
  innerGridIndexOf,
  locateInnerChunk,
  type ShardIndex,
  ShardIndexCache,
  type ShardLayout,
} from "../format/sharding.js";
import type { ByteRange } from "../store/store.js";
import { removeIfUnchanged, retryOnConflict } from "./optimistic.js";
import { ChunkFill, DELETE_BATCH, type ChunkIO, type ChunkIOContext, type ChunkRef, type ChunkRunOptions, type ChunkWrite, type ChunkPatch, runChunkTasks } from "./chunk-io.js";
import { throwIfAborted } from "./concurrency.js";
import { withShardLock, withShardWriteLocks } from "./shard-locks.js";

/** Ranges of one shard closer than this are fetched with one request (the bytes between are read and dropped). */
export const MAX_COALESCE_GAP = 64 * 1024;
/** A merged request stops growing at this size, bounding the memory of njobs requests in flight. */
export const MAX_COALESCED_BYTES = 16 * 1024 * 1024;

/** What a queued GET returns once the operation has failed: nothing more is fetched. */
const SKIPPED = Symbol("skipped");

/** Reads of one shard that keep finding it replaced (by another process) between index and data GETs before giving up. */
const MAX_SHARD_READ_ATTEMPTS = 16;

/** Memory for cached shard indexes per array (16 bytes per inner chunk: 4096 shards of 32 inner chunks). */
const SHARD_INDEX_CACHE_BYTES = 2 * 1024 * 1024;

interface ShardRead<T> {
  item: T;
  chunk: TypedArray | undefined;
}

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
  private readonly indexes = new ShardIndexCache(SHARD_INDEX_CACHE_BYTES);

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
    const queued = <R>(request: () => Promise<R>) =>
      limit(async () => {
        if (failed) return SKIPPED;
        throwIfAborted(options.signal, options.what);
        return request();
      });
    await runChunkTasks(
      this.groupByShard(items),
      { ...options, njobs: Infinity },
      async (group, progressed) => {
        try {
          await withShardLock(this.context.store.description, group.key, "read", () => this.readShardConsistently(group, queued, visit, progressed, options));
        } catch (error) {
          failed = true;
          throw error;
        }
      },
      items.length,
    );
  }

  /**
   * One shard's touched inner chunks, all from the same version of the shard: the data GETs carry
   * the index's version (If-Match), and when another process replaced or deleted the shard in
   * between, the shard is read again from its new index.
   */
  private async readShardConsistently<T>(
    group: ShardGroup<T>,
    queued: <R>(request: () => Promise<R>) => Promise<R | typeof SKIPPED>,
    visit: (item: T, chunk: TypedArray | undefined) => void,
    progressed: (chunks: number) => void,
    options: ChunkRunOptions,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let found: ShardRead<T>[] | typeof SKIPPED;
      try {
        found = await this.readShard(group, queued, options.signal);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || attempt >= MAX_SHARD_READ_ATTEMPTS) throw error;
        continue;
      }
      if (found === SKIPPED) return;
      for (const { item, chunk } of found) visit(item, chunk);
      progressed(found.length);
      return;
    }
  }

  /** The touched inner chunks of one shard: its index, then coalesced range GETs of the stored ones (SKIPPED once the operation failed). */
  private async readShard<T>(
    group: ShardGroup<T>,
    queued: <R>(request: () => Promise<R>) => Promise<R | typeof SKIPPED>,
    signal: AbortSignal | undefined,
  ): Promise<ShardRead<T>[] | typeof SKIPPED> {
    const { key } = group;
    const store = this.context.store;
    const cached = this.indexes.get(key);
    let version: string;
    let index: ShardIndex | undefined;
    if (cached !== undefined && group.members.some((m) => cached.index[m.entry * 2] !== EMPTY_ENTRY)) {
      ({ version, index } = cached);
    } else {
      const length = this.layout.indexByteLength;
      const range: ByteRange = this.layout.indexLocation === "end" ? { suffixLength: length } : { offset: 0, length };
      const indexed = await queued(() => store.getVersioned(key, { range, signal }));
      if (indexed === SKIPPED) return SKIPPED;
      if (indexed === undefined) {
        this.indexes.delete(key);
        return group.members.map((m) => ({ item: m.item, chunk: undefined }));
      }
      version = indexed.version;
      index = decodeShardIndex(indexed.bytes, this.layout, key);
      this.indexes.set(key, version, index);
    }
    const found: ShardRead<T>[] = [];
    const stored: { offset: number; length: number; item: { item: T; entry: number } }[] = [];
    for (const member of group.members) {
      const offset = index[member.entry * 2];
      if (offset === EMPTY_ENTRY) found.push({ item: member.item, chunk: undefined });
      else stored.push({ offset, length: index[member.entry * 2 + 1], item: member });
    }
    let skipped = false;
    try {
      await Promise.all(
        coalesceRanges(stored, MAX_COALESCE_GAP, MAX_COALESCED_BYTES).map(async (request) => {
          const bytes = await queued(() => store.get(key, { offset: request.offset, length: request.length }, { ifMatch: version, signal }));
          if (bytes === SKIPPED) return void (skipped = true);
          // Deleted since its index was read (a store may answer a GET of a missing object so, If-Match or not): read it afresh.
          if (bytes === undefined) throw new PreconditionFailedError(`shard "${key}" was deleted while it was read`);
          if (bytes.byteLength < request.length) {
            throw new CorruptShardError(
              `shard "${key}" is truncated or corrupt: its index points at bytes ${request.offset}–${request.offset + request.length}, ` +
                `but the shard ends at byte ${request.offset + bytes.byteLength}`,
            );
          }
          // The request's bytes are this read's own: an uncompressed inner chunk may view them instead of being copied.
          await Promise.all(
            request.members.map(async ({ item, start, length: n }) => {
              found.push({ item: item.item, chunk: await this.decodeInner(bytes.subarray(start, start + n), key, item.entry, true) });
            }),
          );
        }),
      );
    } catch (error) {
      if (error instanceof PreconditionFailedError) this.indexes.delete(key);
      throw error;
    }
    return skipped ? SKIPPED : found;
  }

  async writeChunks<T extends ChunkWrite>(items: readonly T[], patch: ChunkPatch<T>, options: ChunkRunOptions): Promise<void> {
    await runChunkTasks(
      this.groupByShard(items),
      options,
      async (group, progressed) => {
        this.indexes.delete(group.key);
        try {
          await withShardLock(this.context.store.description, group.key, "write", () => this.rewriteShard(group, patch, options.signal));
        } finally {
          this.indexes.delete(group.key);
        }
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

  async deleteObjects(keys: readonly string[], options: ChunkRunOptions): Promise<void> {
    const store = this.context.store;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      for (const key of batch) this.indexes.delete(key);
      await withShardWriteLocks(store.description, batch, () => store.deleteMany(batch, { signal: options.signal }));
      for (const key of batch) this.indexes.delete(key);
    }
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

  /**
   * A shard wholly covered by the write (all its inner chunks) is one PUT (or DELETE) without a read. Otherwise the shard
   * is read with its version token, patched and stored only if unchanged; after a lost race, read
   * and patched again.
   */
  private async rewriteShard<T extends ChunkWrite>(group: ShardGroup<T>, patch: ChunkPatch<T>, signal?: AbortSignal): Promise<void> {
    const store = this.context.store;
    // Every inner chunk of the shard, not only those inside this handle's shape: the rest may hold rows another writer appended.
    const covered = group.members.every((m) => m.item.coversChunk) && group.members.length === this.layout.chunksPerShard.reduce((a, b) => a * b, 1);
    if (covered) {
      const shard = await this.patchedShard(group, patch, undefined);
      if (shard !== undefined) await store.set(group.key, shard, { signal });
      else await store.delete(group.key, { signal });
      return;
    }
    const what = `write of shard [${group.shardGridIndex}] of array "/${this.context.path}" in ${store.description}`;
    await retryOnConflict(what, group.key, this.context.conflicts, signal, async () => {
      const stored = await store.getVersioned(group.key, { signal });
      const shard = await this.patchedShard(group, patch, stored?.bytes);
      if (shard !== undefined) {
        await store.set(group.key, shard, stored === undefined ? { ifNoneMatch: "*", signal } : { ifMatch: stored.version, signal });
      } else if (stored !== undefined) {
        await removeIfUnchanged(store, group.key, stored.version, async () => emptyShard(this.layout), signal);
      }
    });
  }

  /** The shard's new bytes (undefined: nothing left in it) after patching the group's inner chunks into `old`. */
  private async patchedShard<T extends ChunkWrite>(
    group: ShardGroup<T>,
    patch: ChunkPatch<T>,
    old: Uint8Array | undefined,
  ): Promise<Uint8Array | undefined> {
    const chunks = new Array<Uint8Array | undefined>(this.layout.entryCount).fill(undefined);
    if (old !== undefined) {
      const index = decodeShardIndexOfObject(old, this.layout, group.key);
      for (let entry = 0; entry < this.layout.entryCount; entry++) {
        const offset = index[entry * 2];
        if (offset !== EMPTY_ENTRY) chunks[entry] = old.subarray(offset, offset + index[entry * 2 + 1]);
      }
    }
    await Promise.all(
      group.members.map(async ({ item, entry }) => {
        const previous = item.coversChunk ? undefined : chunks[entry];
        const chunk = previous === undefined ? this.fill.chunk().slice() : await this.decodeInner(previous, group.key, entry);
        await patch(item, chunk);
        chunks[entry] = this.fill.isAllFill(chunk) ? undefined : await this.codec.encode(chunk);
      }),
    );
    return assembleShard(chunks, this.layout);
  }

  private async decodeInner(bytes: Uint8Array, key: string, entry: number, owned = false): Promise<TypedArray> {
    try {
      return await this.codec.decode(bytes, key, { owned });
    } catch (error) {
      if (!(error instanceof CorruptChunkError)) throw error;
      const where = entryCoordinates(entry, this.layout.chunksPerShard).join(", ");
      throw new CorruptShardError(`shard "${key}": inner chunk [${where}] cannot be decoded: ${error.message}`, { cause: error });
    }
  }
}
