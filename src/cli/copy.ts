/**
 * The engine of `dosna cp`: copy a dataset, a group or a whole pool between any two pools.
 *
 * Everything is checked before anything is written (a destination dataset of another shape or
 * dtype, or a node of the other kind, is refused unless `overwrite`). Then groups, then datasets:
 * - raw: when the destination's chunk layout, codecs and fill value equal the source's (always so
 *   for a dataset cp creates without --chunks/--compression, whose zarr.json is copied byte for
 *   byte), the stored objects are copied as they are, without decoding;
 * - re-encode: otherwise each destination chunk is read from the source and written through the
 *   destination's codecs.
 * Resuming: a destination object already present and equal is skipped (raw: same bytes;
 * re-encode: same values), and destination chunk objects the source does not have are removed,
 * so a finished copy always equals the source.
 */
import pLimit from "p-limit";
import {
  AlreadyExistsError,
  Dataset,
  Group,
  slice,
  ValidationError,
  type CreateDatasetOptions,
  type Pool,
  type SelectionItem,
  type Store,
  withV2ChunkKeys,
} from "../index.js";
import type { Progress } from "./progress.js";

export interface CopyOptions {
  overwrite?: boolean;
  chunks?: number | number[];
  compression?: CreateDatasetOptions["compression"];
  compressionLevel?: number;
  njobs: number;
  signal?: AbortSignal;
  progress?: Progress;
  /** Copy a dataset's values elsewhere (on queue workers); returns the objects written. */
  distribute?: (source: Dataset, destination: Dataset) => Promise<number>;
}

export interface CopyStats {
  datasets: number;
  groups: number;
  /** Objects or chunks written. */
  written: number;
  /** Of which re-encoded chunks. */
  reencoded: number;
  /** Present at the destination and equal: not written again. */
  skipped: number;
  /** Stale destination chunk objects removed. */
  removed: number;
  /** Bytes of the objects copied raw. */
  bytes: number;
}

interface GroupJob {
  source: Group;
  path: string;
}

interface DatasetJob {
  source: Dataset;
  path: string;
  existing?: Dataset;
  replace: boolean;
  sourceKeys: string[];
}

export interface CopyEnds {
  pool: Pool;
  node: Group | Dataset;
}

export async function copyTree(source: CopyEnds, target: { pool: Pool; path: string }, options: CopyOptions): Promise<CopyStats> {
  const overrides = options.chunks !== undefined || options.compression !== undefined || options.compressionLevel !== undefined;
  checkNotIntoItself(source, target);
  const groups: GroupJob[] = [];
  const datasets: DatasetJob[] = [];
  await plan(source.node, target.path, groups, datasets);

  // Every check before the first write.
  const conflicts: string[] = [];
  const replaceGroups = new Set<string>();
  for (const job of groups) {
    if (job.path === "") continue;
    const existing = await existingNode(target.pool, job.path);
    if (existing instanceof Dataset) {
      if (options.overwrite) replaceGroups.add(job.path);
      else conflicts.push(`"/${job.path}" is a dataset, the source is a group`);
    }
  }
  for (const job of datasets) {
    const existing = await existingNode(target.pool, job.path);
    if (existing instanceof Group) {
      if (options.overwrite) job.replace = true;
      else conflicts.push(`"/${job.path}" is a group, the source is a dataset`);
    } else if (existing instanceof Dataset) {
      const same = sameList(existing.shape, job.source.shape) && existing.dtype === job.source.dtype;
      if (same && !(options.overwrite && overrides)) job.existing = existing;
      else if (options.overwrite) job.replace = true;
      else {
        conflicts.push(
          `dataset "/${job.path}" has shape [${existing.shape.join(", ")}] ${existing.dtype}, the source has shape [${job.source.shape.join(", ")}] ${job.source.dtype}`,
        );
      }
    }
  }
  if (conflicts.length) {
    const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : "";
    throw new AlreadyExistsError(`refusing to copy onto ${target.pool.describe}: ${conflicts[0]}${more}; pass --overwrite to replace`);
  }

  const signal = options.signal;
  const sourceStore = source.pool.store;
  const targetStore = target.pool.store;
  for (const job of datasets) job.sourceKeys = await chunkObjectKeys(sourceStore, job.source.path, signal);
  const stats: CopyStats = { datasets: datasets.length, groups: groups.length, written: 0, reencoded: 0, skipped: 0, removed: 0, bytes: 0 };

  // Units of progress: objects for raw copies, destination chunks for re-encoded ones (known once created).
  let done = 0;
  let total = datasets.reduce((n, job) => n + job.sourceKeys.length, 0);
  options.progress?.start(total);
  const advance = () => options.progress?.update(++done);

  for (const job of groups) {
    if (replaceGroups.has(job.path)) await target.pool.delete(job.path);
    if (job.path !== "") await target.pool.requireGroup(job.path);
    await copyObject(sourceStore, metadataKeyOf(job.source.path), targetStore, metadataKeyOf(job.path), signal);
  }

  const run: CopyRun = { limit: pLimit(options.njobs), stats, advance, signal };
  for (const job of datasets) {
    if (job.replace) await target.pool.delete(job.path);
    const parent = job.path.includes("/") ? job.path.slice(0, job.path.lastIndexOf("/")) : "";
    if (parent !== "") await target.pool.requireGroup(parent);
    let destination: Dataset;
    const resuming = job.existing !== undefined;
    if (job.existing) {
      destination = job.existing;
    } else if (!overrides) {
      let metadata = (await sourceStore.get(metadataKeyOf(job.source.path), undefined, { signal }))!;
      // into a Zarr v2 pool: v2 chunk keys (the chunks are then re-encoded under their new keys)
      if (target.pool.zarrFormat === 2 && source.pool.zarrFormat !== 2) metadata = withV2ChunkKeys(metadata);
      await targetStore.set(metadataKeyOf(job.path), metadata, { ifNoneMatch: true, signal });
      destination = await target.pool.getDataset(job.path);
    } else {
      const meta = job.source.metadata;
      destination = await target.pool.createDataset(job.path, {
        shape: meta.shape,
        dtype: meta.dataType,
        chunks: options.chunks ?? meta.chunkShape,
        fillValue: meta.fillValue,
        compression: options.compression,
        compressionLevel: options.compressionLevel,
        attrs: meta.attributes,
        ...(meta.dimensionNames ? { dimensionNames: meta.dimensionNames } : {}),
      });
    }
    if (options.distribute) {
      if (resuming) await replaceAttributes(destination, job.source.attrs.toJSON());
      stats.written += await options.distribute(job.source, destination);
      done += job.sourceKeys.length;
      options.progress?.update(done);
    } else if (sameStorageLayout(job.source, destination)) {
      // Make the metadata (attributes included) identical, then copy the objects as stored.
      if (resuming) await copyObject(sourceStore, metadataKeyOf(job.source.path), targetStore, metadataKeyOf(job.path), signal);
      await copyRaw(job, sourceStore, targetStore, resuming, run);
    } else {
      total += destination.chunkGrid.reduce((a, b) => a * b, 1) - job.sourceKeys.length;
      options.progress?.start(total);
      if (resuming) await replaceAttributes(destination, job.source.attrs.toJSON());
      await copyReencoded(job.source, destination, resuming, run);
    }
  }
  return stats;
}

async function plan(node: Group | Dataset, path: string, groups: GroupJob[], datasets: DatasetJob[]): Promise<void> {
  if (node instanceof Dataset) {
    datasets.push({ source: node, path, replace: false, sourceKeys: [] });
    return;
  }
  groups.push({ source: node, path });
  for (const name of await node.keys()) await plan(await node.get(name), path === "" ? name : `${path}/${name}`, groups, datasets);
}

function checkNotIntoItself(source: CopyEnds, target: { pool: Pool; path: string }): void {
  if (source.pool.store.description !== target.pool.store.description) return;
  const from = source.node.path;
  const into = target.path;
  if (from === into || from === "" || into.startsWith(`${from}/`)) {
    throw new ValidationError(`cannot copy "/${from}" onto "/${into}" in the same pool (${source.pool.describe}): the destination is the source or inside it`);
  }
}

async function existingNode(pool: Pool, path: string): Promise<Group | Dataset | undefined> {
  return (await pool.has(path)) ? pool.get(path) : undefined;
}

function metadataKeyOf(path: string): string {
  return path === "" ? "zarr.json" : `${path}/zarr.json`;
}

/** Keys of the stored objects of a dataset (its chunks, or shards), without its zarr.json. */
async function chunkObjectKeys(store: Store, path: string, signal?: AbortSignal): Promise<string[]> {
  const own = metadataKeyOf(path);
  const keys: string[] = [];
  for await (const key of store.list(`${path}/`, { signal })) if (key !== own) keys.push(key);
  return keys.sort();
}

async function copyObject(from: Store, fromKey: string, to: Store, toKey: string, signal?: AbortSignal): Promise<void> {
  const bytes = await from.get(fromKey, undefined, { signal });
  if (bytes !== undefined) await to.set(toKey, bytes, { signal });
}

/** Whether stored objects of `a` mean the same to `b`: same grid, key encoding, codecs, dtype and fill value. */
function sameStorageLayout(a: Dataset, b: Dataset): boolean {
  const x = a.metadata;
  const y = b.metadata;
  return (
    sameList(x.shape, y.shape) &&
    sameList(x.chunkShape, y.chunkShape) &&
    x.dataType === y.dataType &&
    sameFill(x.fillValue, y.fillValue) &&
    x.chunkKeyEncoding.name === y.chunkKeyEncoding.name &&
    x.chunkKeyEncoding.separator === y.chunkKeyEncoding.separator &&
    JSON.stringify(x.codecs) === JSON.stringify(y.codecs)
  );
}

/** What every dataset copy of one run shares: the concurrency limit, the running totals and progress. */
interface CopyRun {
  limit: ReturnType<typeof pLimit>;
  stats: CopyStats;
  /** Count one object or chunk done. */
  advance: () => void;
  signal?: AbortSignal;
}

async function copyRaw(job: DatasetJob, from: Store, to: Store, resuming: boolean, { limit, stats, advance, signal }: CopyRun): Promise<void> {
  const sourcePrefix = `${job.source.path}/`;
  const targetPrefix = `${job.path}/`;
  const present = new Set(resuming ? await chunkObjectKeys(to, job.path, signal) : []);
  const wanted = new Set<string>();
  await Promise.all(
    job.sourceKeys.map((key) =>
      limit(async () => {
        const targetKey = targetPrefix + key.slice(sourcePrefix.length);
        wanted.add(targetKey);
        const [bytes, current] = await Promise.all([
          from.get(key, undefined, { signal }),
          present.has(targetKey) ? to.get(targetKey, undefined, { signal }) : undefined,
        ]);
        if (bytes === undefined) {
          // Deleted from the source meanwhile: the destination must not keep an old copy.
          wanted.delete(targetKey);
        } else if (current !== undefined && sameBytes(bytes, current)) {
          stats.skipped++;
        } else {
          await to.set(targetKey, bytes, { signal });
          stats.written++;
          stats.bytes += bytes.length;
        }
        advance();
      }),
    ),
  );
  const stale = [...present].filter((key) => !wanted.has(key));
  if (stale.length) await to.deleteMany(stale, { signal });
  stats.removed += stale.length;
}

async function copyReencoded(source: Dataset, target: Dataset, resuming: boolean, { limit, stats, advance, signal }: CopyRun): Promise<void> {
  const tasks: Promise<void>[] = [];
  for (const chunk of target.iterChunks()) {
    const { origin, shape } = chunk;
    const region: SelectionItem[] = origin.map((o, a) => slice(o, o + shape[a]));
    tasks.push(
      limit(async () => {
        const values = await source.get(region, { signal, njobs: 1 });
        const current = resuming ? await target.get(region, { signal, njobs: 1 }) : undefined;
        if (current && sameBytes(bytesOf(values.data), bytesOf(current.data))) stats.skipped++;
        else {
          await target.set(region, values, { signal, njobs: 1 });
          stats.written++;
          stats.reencoded++;
        }
        advance();
      }),
    );
  }
  await Promise.all(tasks);
}

async function replaceAttributes(dataset: Dataset, attributes: Record<string, unknown>): Promise<void> {
  if (JSON.stringify(dataset.attrs.toJSON()) === JSON.stringify(attributes)) return;
  for (const key of dataset.attrs.keys()) if (!Object.hasOwn(attributes, key)) await dataset.attrs.delete(key);
  await dataset.attrs.update(attributes);
}

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameFill(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b)) || a === b;
}
