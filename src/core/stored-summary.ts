/**
 * How much of a dataset is stored: chunks written vs possible, and bytes where the store can tell
 * cheaply (S3: its listing carries sizes; a local directory: stat; memory: the objects themselves).
 * Other stores leave the byte count unknown rather than fetching object by object.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { FileSystemStore, MemoryStore } from "../store/index.js";
import type { Store } from "../store/store.js";
import type { Dataset } from "./dataset.js";
import { decodedBytesPerElement } from "../format/index.js";

export interface StoredSummary {
  storedChunks: number;
  possibleChunks: number;
  /** Bytes of the stored chunk objects; undefined when the store cannot say without reading them. */
  storedBytes?: number;
  /** What the stored chunks hold decoded (chunks are stored full-size, edge chunks padded). */
  decodedBytes: number;
}

/** `knownBytes`: the stored bytes when the caller has them already (a repository version lists them in its manifests). */
export async function storedSummary(dataset: Dataset, signal?: AbortSignal, knownBytes?: number): Promise<StoredSummary> {
  const storedChunks = (await dataset.storedChunkIndices(signal)).length;
  const possibleChunks = dataset.chunkGrid.reduce((a, b) => a * b, 1);
  const chunkBytes = dataset.chunks.reduce((a, b) => a * b, 1) * itemSize(dataset);
  const storedBytes = knownBytes ?? (await objectBytes(dataset.context.store, `${dataset.path}/`, `${dataset.path}/zarr.json`, signal));
  return { storedChunks, possibleChunks, storedBytes, decodedBytes: storedChunks * chunkBytes };
}

function itemSize(dataset: Dataset): number {
  return decodedBytesPerElement(dataset.dtype);
}

/** Total size of the objects under `prefix` (except `exclude`), or undefined for stores without cheap sizes. */
async function objectBytes(store: Store, prefix: string, exclude: string, signal?: AbortSignal): Promise<number | undefined> {
  if (store.listWithSizes) {
    let total = 0;
    for await (const { key, size } of store.listWithSizes(prefix, { signal })) if (key !== exclude) total += size;
    return total;
  }
  const size = sizeReader(store);
  if (!size) return undefined;
  const limit = pLimit(32);
  const pending: Promise<number>[] = [];
  for await (const key of store.list(prefix, { signal })) if (key !== exclude) pending.push(limit(() => size(key)));
  return (await Promise.all(pending)).reduce((a, b) => a + b, 0);
}

function sizeReader(store: Store): ((key: string) => Promise<number>) | undefined {
  if (store instanceof FileSystemStore) {
    return async (key) => (await stat(join(store.root, ...key.split("/"))).catch(() => undefined))?.size ?? 0;
  }
  if (store instanceof MemoryStore) return async (key) => (await store.get(key))?.length ?? 0;
  return undefined;
}
