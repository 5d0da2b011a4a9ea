/**
 * An optional cache of decoded chunks (byte-capped LRU, off by default) for repeated overlapping
 * reads, wrapped around any ChunkIO. It assumes this process is the only writer while it is on:
 * writes through this dataset invalidate their chunks; writes by others are not seen until evicted.
 *
 * A read in flight while a write or delete invalidates its chunk must not put what it read (which
 * may be the old content) into the cache afterwards: every read holds a ticket, and invalidation
 * marks the tickets of its keys stale.
 */
import type { TypedArray } from "../format/index.js";
import type { ChunkIO, ChunkRef, ChunkRunOptions, ChunkWrite, ChunkPatch } from "./chunk-io.js";

/** Decoded chunks by grid index, least recently used evicted first once over `maxBytes`. */
interface ReadTicket {
  stale: boolean;
}

export class ChunkCache {
  private readonly entries = new Map<string, TypedArray | undefined>();
  private readonly reading = new Map<string, Set<ReadTicket>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.bytes;
  }

  lookup(key: string): { found: boolean; chunk?: TypedArray } {
    if (!this.entries.has(key)) {
      this.misses++;
      return { found: false };
    }
    const chunk = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, chunk);
    this.hits++;
    return { found: true, chunk };
  }

  /** `undefined` records a chunk known not to be stored (it reads as fill). */
  remember(key: string, chunk: TypedArray | undefined): void {
    this.forget(key);
    // A chunk may view part of a larger read (an inner chunk of a shard): keep only its own bytes.
    if (chunk !== undefined && chunk.byteLength < chunk.buffer.byteLength) chunk = chunk.slice();
    const cost = (chunk?.byteLength ?? 0) + 64;
    if (cost > this.maxBytes) return;
    this.entries.set(key, chunk);
    this.bytes += cost;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= (value?.byteLength ?? 0) + 64;
    }
  }

  /** Register a read of `key` from the store; what it finds goes into the cache through `finishRead`. */
  startRead(key: string): ReadTicket {
    const ticket: ReadTicket = { stale: false };
    let tickets = this.reading.get(key);
    if (!tickets) this.reading.set(key, (tickets = new Set()));
    tickets.add(ticket);
    return ticket;
  }

  /** Cache what a read found, unless its key was invalidated while it was in flight; `found` undefined: the read failed. */
  finishRead(key: string, ticket: ReadTicket, found?: { chunk: TypedArray | undefined }): void {
    const tickets = this.reading.get(key);
    tickets?.delete(ticket);
    if (tickets?.size === 0) this.reading.delete(key);
    if (found && !ticket.stale) this.remember(key, found.chunk);
  }

  forget(key: string): void {
    for (const ticket of this.reading.get(key) ?? []) ticket.stale = true;
    if (!this.entries.has(key)) return;
    this.bytes -= (this.entries.get(key)?.byteLength ?? 0) + 64;
    this.entries.delete(key);
  }

  clear(): void {
    for (const tickets of this.reading.values()) for (const ticket of tickets) ticket.stale = true;
    this.entries.clear();
    this.bytes = 0;
  }
}

const keyOf = (gridIndex: readonly number[]) => gridIndex.join(",");

/** `inner` with reads served from `cache` where possible. */
export function withChunkCache(inner: ChunkIO, cache: ChunkCache): ChunkIO {
  return {
    chunkShape: inner.chunkShape,
    shardShape: inner.shardShape,
    fill: inner.fill,
    keyOf: (gridIndex) => inner.keyOf(gridIndex),
    chunkExists: (gridIndex, signal) => inner.chunkExists(gridIndex, signal),
    storedChunksOf: (indices, options) => inner.storedChunksOf(indices, options),

    async deleteObjects(keys, options) {
      cache.clear();
      try {
        await inner.deleteObjects(keys, options);
      } finally {
        cache.clear();
      }
    },

    async readChunks<T extends ChunkRef>(items: readonly T[], visit: (item: T, chunk: TypedArray | undefined) => void, options: ChunkRunOptions) {
      const misses: T[] = [];
      for (const item of items) {
        const hit = cache.lookup(keyOf(item.gridIndex));
        if (hit.found) visit(item, hit.chunk);
        else misses.push(item);
      }
      if (misses.length === 0) return;
      const tickets = new Map(misses.map((item) => [item, cache.startRead(keyOf(item.gridIndex))]));
      try {
        await inner.readChunks(
          misses,
          (item, chunk) => {
            cache.finishRead(keyOf(item.gridIndex), tickets.get(item)!, { chunk });
            tickets.delete(item);
            visit(item, chunk);
          },
          // the cache keeps the chunks it is handed
          { ...options, visitCopies: false },
        );
      } finally {
        for (const [item, ticket] of tickets) cache.finishRead(keyOf(item.gridIndex), ticket);
      }
    },

    async writeChunks<T extends ChunkWrite>(items: readonly T[], patch: ChunkPatch<T>, options: ChunkRunOptions) {
      for (const item of items) cache.forget(keyOf(item.gridIndex));
      try {
        await inner.writeChunks(items, patch, options);
      } finally {
        for (const item of items) cache.forget(keyOf(item.gridIndex));
      }
    },
  };
}
