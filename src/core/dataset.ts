/**
 * Dataset: an N-d array stored as one object per chunk, or (sharding_indexed) many inner chunks
 * per shard object. Reads and writes plan the chunks a selection touches (selection/) and hand
 * them to the array's chunk I/O (chunk-io.ts, sharded-chunk-io.ts), which moves bytes through the
 * store (store/) and the codec pipeline (format/), at most `njobs` requests at a time.
 */
import ndarray, { type NdArray } from "ndarray";
import ops from "ndarray-ops";
import { AlreadyExistsError, NotFoundError, PreconditionFailedError, ShapeError, ValidationError } from "../errors.js";
import {
  allocateTypedArray,
  arrayMetadataJson,
  bytesPerElement,
  chunkKey,
  chunkPrefix,
  encodeMetadata,
  metadataKey,
  validateShape,
  type ArrayInfo,
  type DataType,
  elementLanes,
  type FillValue,
  type TypedArray,
} from "../format/index.js";
import {
  cOrderStrides,
  chunkGridShape,
  copyChunkToSelection,
  fillSelectionFromElement,
  copySelectionToChunk,
  normaliseSelection,
  planChunks,
  selectionStridesFromOutput,
  slice,
  type ChunkProjection,
  type NormalisedSelection,
  type PointSelection,
  type Selection,
  type SelectionItem,
} from "../selection/index.js";
import { Attributes } from "./attributes.js";
import type { ChunkIO, ChunkRunOptions } from "./chunk-io.js";
import { createChunkIO } from "./chunk-layout.js";
import { ensureAncestorGroups } from "./hierarchy.js";
import { ChunkCache, withChunkCache } from "./chunk-cache.js";
import { forEachLimited, throwIfAborted } from "./concurrency.js";
import { readNodeVersioned, updateNodeMetadata } from "./metadata-update.js";
import { retryOnConflict } from "./optimistic.js";
import { assertWritable, baseName, describeNode, type PoolContext } from "./context.js";
import { parseChunkGridIndex } from "./chunk-keys.js";
import type { EngineSpec } from "./engine-spec.js";
import { product, sameShape, toNdArray, toStridedSource, valueShapeOf, type ArrayInput, type NestedArray, type StridedSource, type WritableValue } from "./values.js";
import { chunksTouchedByPoints, PointIndexer, readPoints, writePoints, type PointAccess } from "./vindex.js";

export interface OperationOptions {
  signal?: AbortSignal;
  /** Called after each chunk with the number of chunks done and the total. */
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Overrides the dataset's njobs for this call. */
  njobs?: number;
}

/** `map`/`apply`/`clear` also take where to run (compute/): `engine` and, for a function registered by name, its JSON `params`. */
export interface ComputeOptions extends OperationOptions {
  engine?: EngineSpec;
  params?: unknown;
}

export type ChunkFunction = (chunk: NdArray<TypedArray>) => WritableValue;

/** A chunk function that may be async (run elsewhere): the in-bounds part of one chunk and its grid index. */
export type ChunkTransform = (chunk: NdArray<TypedArray>, gridIndex: readonly number[]) => WritableValue | Promise<WritableValue>;

export class Dataset {
  readonly attrs: Attributes;
  private info: ArrayInfo;
  private io: ChunkIO;
  private ownNjobs: number | undefined;
  private cache: ChunkCache | undefined;

  /** Use `Group.getDataset` / `createDataset`; this constructor trusts `info`. */
  constructor(
    readonly context: PoolContext,
    readonly path: string,
    info: ArrayInfo,
    private readonly inheritedNjobs: () => number,
  ) {
    this.info = info;
    this.io = this.createIO(info);
    this.attrs = new Attributes({
      describe: this.describe,
      readAttributes: () => this.info.attributes,
      updateAttributes: (change) => this.updateMetadata((latest) => ({ ...latest, attributes: change(latest.attributes) })),
    });
  }

  /**
   * Reload the metadata (shape, attributes, ...) from the store: another handle, process or host
   * may have resized the array or changed its attributes since this one was opened.
   */
  async refresh(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.adopt((await readNodeVersioned(this.context, this.path, "array", this.describe, options)).node.info);
  }

  get name(): string {
    return baseName(this.path);
  }
  get shape(): number[] {
    return [...this.info.shape];
  }
  get dtype(): DataType {
    return this.info.dataType;
  }
  /** The chunk shape reads and writes work in: for a sharded array, the inner chunk shape. */
  get chunks(): number[] {
    return [...this.io.chunkShape];
  }
  /** The shard shape of a sharded array (one stored object per shard), else undefined. */
  get shards(): number[] | undefined {
    return this.io.shardShape === undefined ? undefined : [...this.io.shardShape];
  }
  /** Number of chunks (inner chunks, for a sharded array) along each axis. */
  get chunkGrid(): number[] {
    return chunkGridShape(this.info.shape, this.io.chunkShape);
  }
  get fillValue(): FillValue {
    return this.info.fillValue;
  }
  get ndim(): number {
    return this.info.shape.length;
  }
  get size(): number {
    return product(this.info.shape);
  }
  get nbytes(): number {
    return this.size * bytesPerElement(this.info.dataType);
  }
  /** The full Zarr metadata as loaded (codecs, chunk key encoding, ...). */
  get metadata(): ArrayInfo {
    return structuredClone(this.info);
  }
  get describe(): string {
    return describeNode("dataset", this.path, this.context);
  }
  /** Concurrent chunk operations; inherited from the pool unless set here. */
  get njobs(): number {
    return this.ownNjobs ?? this.inheritedNjobs();
  }
  set njobs(value: number) {
    if (!Number.isInteger(value) || value < 1) throw new ValidationError(`njobs of ${this.describe} must be a positive integer, got ${value}`);
    this.ownNjobs = value;
  }

  /**
   * Keep up to `maxBytes` of decoded chunks in memory (LRU) for repeated overlapping reads; 0 turns
   * the cache off (the default). Assumes no other process writes this dataset meanwhile.
   */
  setChunkCache(maxBytes: number): void {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new ValidationError(`chunk cache size of ${this.describe} must be a non-negative number of bytes, got ${maxBytes}`);
    }
    this.cache = maxBytes > 0 ? new ChunkCache(maxBytes) : undefined;
    this.io = this.createIO(this.info);
  }

  /** The chunk cache's statistics, when one is on. */
  get chunkCache(): { maxBytes: number; bytes: number; hits: number; misses: number } | undefined {
    const c = this.cache;
    return c && { maxBytes: c.maxBytes, bytes: c.size, hits: c.hits, misses: c.misses };
  }

  /** Read a selection (numpy syntax string or items); returns an ndarray of the numpy result shape. */
  async get(selection?: Selection, options: OperationOptions = {}): Promise<NdArray<TypedArray>> {
    const sel = normaliseSelection(selection, this.info.shape, this.describe);
    const out = this.allocateOutput(sel.outputShape);
    const lanes = elementLanes(this.dtype);
    const dest = { data: out, offset: 0, strides: selectionStridesFromOutput(sel, cOrderStrides(sel.outputShape).map((s) => s * lanes)) };
    const io = this.io;
    const plans = planChunks(sel, this.info.shape, io.chunkShape);
    const outputIsFill = io.fill.isZero();
    // A chunk that is not stored is one fill of its part of the output (when an element is one array entry).
    const fillChunk = outputIsFill ? undefined : io.fill.chunk();
    const fillElement = fillChunk !== undefined && fillChunk.length === product(io.chunkShape) ? fillChunk.subarray(0, 1) : undefined;
    await io.readChunks(
      plans,
      (projection, chunk) => {
        if (chunk !== undefined) copyChunkToSelection(chunk, io.chunkShape, dest, projection);
        else if (fillElement !== undefined) fillSelectionFromElement(fillElement, io.chunkShape, dest, projection);
        else if (fillChunk !== undefined) copyChunkToSelection(fillChunk, io.chunkShape, dest, projection);
      },
      { ...this.runOptions(options, "read"), visitCopies: true },
    );
    return ndarray(out as never, valueShapeOf(this.dtype, sel.outputShape)) as NdArray<TypedArray>;
  }

  /** The output array of a read of `shape`; a ValidationError naming its size when it cannot be allocated (instead of a bare RangeError). */
  private allocateOutput(shape: readonly number[]): TypedArray {
    const elements = product(shape);
    const bytes = elements * (this.info.shape.length === 0 ? 1 : this.nbytes / Math.max(1, this.size));
    try {
      return allocateTypedArray(this.dtype, elements);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new ValidationError(
        `a read of shape [${shape}] from ${this.describe} is ${elements.toExponential(3)} elements (${bytes.toExponential(3)} bytes of ${this.dtype}): too large to allocate in this process; read it in parts (a smaller selection, or ds.batches / iterChunks)`,
        { cause: error },
      );
    }
  }

  /** Write `value` (ndarray, typed array, nested array or scalar; broadcast like numpy) into a selection. */
  async set(selection: Selection, value: WritableValue, options: OperationOptions = {}): Promise<void> {
    assertWritable(this.context, this.describe);
    const sel = normaliseSelection(selection, this.info.shape, this.describe);
    const source = toStridedSource(value, this.dtype, sel.outputShape, `value written to ${this.describe}`);
    const src = { data: source.data, offset: source.offset, strides: selectionStridesFromOutput(sel, source.strides) };
    const io = this.io;
    const plans = planChunks(sel, this.info.shape, io.chunkShape);
    await io.writeChunks(
      plans,
      (projection, chunk) => copySelectionToChunk(src, chunk, io.chunkShape, projection),
      this.runOptions(options, "write"),
    );
  }

  /** Pointwise (coordinate or mask) selection, as zarr's `vindex`: `await ds.vindex.get([rows, cols])`; see core/vindex.ts. */
  get vindex(): PointIndexer {
    return new PointIndexer(this);
  }

  /** The points of a pointwise selection (what `ds.vindex.get` does). */
  getPoints(selection: PointSelection, options?: OperationOptions): Promise<NdArray<TypedArray>> {
    return readPoints(this.pointAccess(), selection, options);
  }

  /** Write the points of a pointwise selection (what `ds.vindex.set` does); repeated points: the last wins. */
  async setPoints(selection: PointSelection, value: WritableValue, options?: OperationOptions): Promise<void> {
    assertWritable(this.context, this.describe);
    await writePoints(this.pointAccess(), selection, value, options);
  }

  /** Grid indices of the chunks a pointwise selection touches. */
  chunksTouchedByPoints(selection: PointSelection): number[][] {
    return chunksTouchedByPoints(this.pointAccess(), selection);
  }

  private pointAccess(): PointAccess {
    return {
      io: this.io,
      shape: this.info.shape,
      dtype: this.dtype,
      describe: this.describe,
      allocateOutput: (shape) => this.allocateOutput(shape),
      runOptions: (options, what) => this.runOptions(options, what),
    };
  }

  /** Grid indices of the chunks a selection touches (what a get or set of it would fetch). */
  chunksTouchedBy(selection?: Selection): number[][] {
    const sel = normaliseSelection(selection, this.info.shape, this.describe);
    return planChunks(sel, this.info.shape, this.io.chunkShape).map((p) => [...p.gridIndex]);
  }

  /** The whole array. */
  read(options?: OperationOptions): Promise<NdArray<TypedArray>> {
    return this.get(undefined, options);
  }

  /** Replace the whole array's contents; `data` must have the dataset's shape. */
  async load(data: ArrayInput | NestedArray, options?: OperationOptions): Promise<void> {
    const array = toNdArray(data, this.dtype, `data loaded into ${this.describe}`, isTypedArrayInput(data) ? this.info.shape : undefined);
    if (!sameShape(array.shape, valueShapeOf(this.dtype, this.info.shape))) {
      throw new ShapeError(`cannot load data of shape [${array.shape}] into ${this.describe} of shape [${this.info.shape}]`);
    }
    await this.set(undefined, array, options);
  }

  /**
   * Add `data` at the end of `axis` (default 0): the array grows by data's extent on that axis
   * and the new region is written, as h5py users do with resize + write. `data` has the
   * dataset's number of dimensions (or one less: a single slice along `axis`), or is a typed
   * array of whole slices (a multiple of the other axes' size). Concurrent appends each get their
   * own region: the growth is a conditional update of the latest shape, retried on conflict.
   * Returns the index along `axis` where `data` starts.
   */
  async append(data: ArrayInput | NestedArray, options: OperationOptions & { axis?: number } = {}): Promise<number> {
    assertWritable(this.context, this.describe);
    const what = `data appended to ${this.describe}`;
    if (this.ndim === 0) throw new ShapeError(`cannot append to ${this.describe}: it is 0-dimensional`);
    const given = options.axis ?? 0;
    if (!Number.isInteger(given) || given < -this.ndim || given >= this.ndim) throw new ValidationError(`append to ${this.describe}: axis must be an integer in [${-this.ndim}, ${this.ndim - 1}], got ${JSON.stringify(options.axis)}`);
    const axis = given < 0 ? given + this.ndim : given;
    const others = this.info.shape.filter((_, a) => a !== axis);
    // a complex element is 2 typed-array entries, and an ndarray of them has a last axis of 2
    const lanes = elementLanes(this.dtype);
    const sliceSize = others.reduce((a, b) => a * b, 1) * lanes;
    let array: NdArray<TypedArray>;
    if (isTypedArrayInput(data)) {
      const length = (data as { length: number }).length;
      if (sliceSize === 0 || length % sliceSize !== 0) throw new ShapeError(`${what}: a typed array of ${length} values is not whole slices of [${others}] (${sliceSize} values each)`);
      array = toNdArray(data, this.dtype, what, this.info.shape.map((n, a) => (a === axis ? length / sliceSize : n)));
    } else {
      array = toNdArray(data, this.dtype, what);
      if (array.shape.length - (lanes - 1) === this.ndim - 1) {
        // One slice: a length-1 axis inserted at `axis`.
        const shape = [...array.shape];
        const stride = [...array.stride];
        shape.splice(axis, 0, 1);
        stride.splice(axis, 0, 0);
        array = ndarray(array.data as never, shape, stride, array.offset) as NdArray<TypedArray>;
      }
    }
    const elementShape = lanes === 1 ? array.shape : array.shape.slice(0, -1);
    if (elementShape.length !== this.ndim || elementShape.some((n, a) => a !== axis && n !== this.info.shape[a])) {
      throw new ShapeError(`${what}: its shape [${elementShape}] does not fit [${this.info.shape.map((n, a) => (a === axis ? "n" : n))}] (appending along axis ${axis})`);
    }
    const count = elementShape[axis];
    const key = metadataKey(this.path);
    const start = await retryOnConflict(`append to ${this.describe}`, key, this.context.conflicts, options.signal, async () => {
      const { node, version } = await readNodeVersioned(this.context, this.path, "array", this.describe, options);
      const old = node.info.shape;
      if (old.some((n, a) => a !== axis && n !== elementShape[a])) throw new ShapeError(`${what}: another writer changed the shape to [${old}], which [${elementShape}] no longer fits`);
      const next = { ...node.info, shape: old.map((n, a) => (a === axis ? n + count : n)) };
      await this.context.store.set(key, encodeMetadata(arrayMetadataJson(next)), { ifMatch: version, signal: options.signal });
      this.adopt(next);
      return old[axis];
    });
    await this.set(this.info.shape.map((n, a) => (a === axis ? slice(start, start + count) : null)), array, options);
    return start;
  }

  /** Dimension names (Zarr v3 dimension_names; null for an unnamed axis), or undefined when the array has none. */
  get dims(): (string | null)[] | undefined {
    return this.info.dimensionNames ? [...this.info.dimensionNames] : undefined;
  }

  /** Remove every stored chunk: the whole array reads as the fill value. */
  async clear(options: ComputeOptions = {}): Promise<void> {
    await this.clearHere(options);
  }

  /** Remove the dataset: its chunks, then its metadata. */
  async delete(options: OperationOptions = {}): Promise<void> {
    await this.clearHere(options);
    await this.context.store.delete(metadataKey(this.path), { signal: options.signal });
  }

  private async clearHere(options: OperationOptions): Promise<void> {
    assertWritable(this.context, this.describe);
    const keys = await this.storedChunkKeys(options.signal);
    await this.io.deleteObjects(keys, this.runOptions(options, "clear"));
  }

  /**
   * Change the shape (same number of dimensions). Chunks wholly outside the new bounds are deleted
   * and the cut-off part of edge chunks is reset to the fill value, so growing again later shows
   * fill values, not stale data. Chunks are cleaned before the metadata changes. (For a sharded
   * array this works on whole shards: shards outside are deleted, the cut-off part of edge shards reset.)
   */
  async resize(newShape: readonly number[], options: OperationOptions = {}): Promise<void> {
    assertWritable(this.context, this.describe);
    const shape = validateShape(newShape, `new shape of ${this.describe}`);
    const key = metadataKey(this.path);
    await retryOnConflict(`resize of ${this.describe}`, key, this.context.conflicts, options.signal, async () => {
      // Start from the latest stored metadata: another writer may have resized or changed attributes.
      const { node, version } = await readNodeVersioned(this.context, this.path, "array", this.describe, options);
      this.adopt(node.info);
      if (shape.length !== this.ndim) {
        throw new ShapeError(`cannot resize ${this.describe} from ${this.ndim} to ${shape.length} dimensions (shape [${this.info.shape}] → [${shape}])`);
      }
      await this.cleanBeyond(shape, options);
      const next = { ...node.info, shape };
      await this.context.store.set(key, encodeMetadata(arrayMetadataJson(next)), { ifMatch: version, signal: options.signal });
      this.adopt(next);
    });
  }

  /**
   * Before shrinking to `shape`: delete the stored objects wholly outside it and reset the cut-off
   * part of edge objects to the fill value. Idempotent, so a resize that lost a race can run it again.
   */
  private async cleanBeyond(shape: readonly number[], options: OperationOptions): Promise<void> {
    const old = this.info.shape;
    const objectShape = this.info.chunkShape;
    const outside = (await this.storedObjectIndices(options.signal)).filter((grid) =>
      grid.some((g, axis) => g * objectShape[axis] >= shape[axis]),
    );
    await this.io.deleteObjects(outside.map((grid) => this.objectKeyOf(grid)), this.runOptions(options, "resize"));
    for (let axis = 0; axis < this.ndim; axis++) {
      const keepEnd = Math.min(old[axis], Math.ceil(shape[axis] / objectShape[axis]) * objectShape[axis]);
      if (shape[axis] >= keepEnd) continue;
      const items: SelectionItem[] = old.map((_, a) => (a === axis ? slice(shape[axis], keepEnd) : null));
      await this.set(items, this.info.fillValue, options);
    }
  }

  /**
   * Apply `fn` chunk by chunk (in parallel) into a new dataset `outName` in the same group. `fn` is a
   * function, or the name of one registered with `dn.registerFunction` (then `options.engine` may
   * run it on worker threads or `dosna worker` processes, and `options.params` are passed to it).
   */
  async map(fn: ChunkFunction | string, outName: string, options: ComputeOptions = {}): Promise<Dataset> {
    const local = localFunction(fn, options, this.describe);
    const out = await this.clone(outName);
    await this.mapObjects(this.objectIndices(), (chunk) => local(chunk), out, options);
    return out;
  }

  /**
   * Apply `fn` chunk by chunk (in parallel), in place. Each chunk is a read-modify-write with a
   * conditional write, so a concurrent writer's update is never overwritten by a result computed
   * from older content: `fn` is then run again on the new content (so it must be pure).
   */
  async apply(fn: ChunkFunction | string, options: ComputeOptions = {}): Promise<void> {
    const local = localFunction(fn, options, this.describe);
    await this.applyChunks([...gridIndices(this.chunkGrid)], (chunk) => local(chunk), options);
  }

  /** The shape of one stored object: the chunk shape, or the shard shape when sharded (zarr.json's chunk_shape). */
  get objectShape(): readonly number[] {
    return this.info.chunkShape;
  }

  /** Grid indices of every stored object (chunk, or shard) of the array, stored or not, in C order. */
  objectIndices(): number[][] {
    return [...gridIndices(chunkGridShape(this.info.shape, this.info.chunkShape))];
  }

  /**
   * `fn` on every chunk of the given stored objects, written to `target` (same shape and chunks),
   * `njobs` objects at a time: each object is read once, `fn` applied to each of its inner chunks
   * (edge chunks: their in-bounds part) and the object written back with one PUT. Idempotent.
   */
  async mapObjects(objectIndices: readonly (readonly number[])[], fn: ChunkTransform, target: Dataset, options: OperationOptions = {}): Promise<void> {
    const what = `result of the chunk function on ${this.describe}`;
    await this.forEachChunk(objectIndices, options, "map", async (objectIndex) => {
      const region = chunkRegion(objectIndex, this.info.chunkShape, this.info.shape);
      const data = await this.get(region, { signal: options.signal, njobs: 1 });
      const origin = objectIndex.map((g, a) => (g * this.info.chunkShape[a]) / this.io.chunkShape[a]);
      for (const { lo, shape } of chunkPieces(data.shape.slice(0, this.ndim), this.io.chunkShape)) {
        const view = data.lo(...lo).hi(...shape);
        const input = ndarray(allocateTypedArray(this.dtype, product(shape)) as never, valueShapeOf(this.dtype, shape)) as NdArray<TypedArray>;
        ops.assign(input, view);
        const gridIndex = lo.map((l, a) => origin[a] + l / this.io.chunkShape[a]);
        const result = toStridedSource(await fn(input, gridIndex), this.dtype, shape, what);
        ops.assign(view, sourceView(result, this.dtype, shape));
      }
      await target.set(region, data, { signal: options.signal, njobs: 1 });
    });
  }

  /** `fn` in place on the given chunks (read-modify-write with a conditional write; `fn` may run again after a lost race). */
  async applyChunks(chunkIndices: readonly (readonly number[])[], fn: ChunkTransform, options: OperationOptions = {}): Promise<void> {
    assertWritable(this.context, this.describe);
    const io = this.io;
    const shape = this.info.shape;
    const what = `result of the chunk function on ${this.describe}`;
    const items = chunkIndices.map((gridIndex) => ({ gridIndex, coversChunk: false }));
    await io.writeChunks(items, (item, chunk) => applyInChunk(fn, chunk, io.chunkShape, item.gridIndex, shape, this.dtype, what), this.runOptions(options, "apply"));
  }

  /**
   * A new dataset with the same shape, dtype, chunks, fill value, codecs and attributes, as DosNa's
   * clone does; with `copyData` the stored chunk objects are copied too (bytes as stored, no re-encoding).
   */
  async clone(name: string, options: OperationOptions & { copyData?: boolean; createAncestors?: boolean } = {}): Promise<Dataset> {
    assertWritable(this.context, this.describe);
    const parentPath = this.path.includes("/") ? this.path.slice(0, this.path.lastIndexOf("/")) : "";
    const target = name.startsWith("/") ? name.slice(1) : parentPath === "" ? name : `${parentPath}/${name}`;
    // Without ancestor groups the clone is hidden from listings (compute/ stages results so).
    if (options.createAncestors !== false) await ensureAncestorGroups(this.context, target);
    const clone = await createDatasetNode(this.context, target, { ...this.info }, this.inheritedNjobs);
    if (options.copyData) {
      const indices = await this.storedObjectIndices(options.signal);
      await this.forEachChunk(indices, options, "clone", async (grid) => {
        const bytes = await this.context.store.get(this.objectKeyOf(grid), undefined, { signal: options.signal });
        if (bytes) await this.context.store.set(clone.objectKeyOf(grid), bytes, { signal: options.signal });
      });
    }
    return clone;
  }

  /** The chunk at a grid index. */
  chunk(gridIndex: readonly number[]): DataChunk {
    return new DataChunk(this, gridIndex);
  }

  /** Every chunk of the grid, stored or not, in C order. */
  *iterChunks(): Generator<DataChunk> {
    for (const grid of gridIndices(this.chunkGrid)) yield new DataChunk(this, grid);
  }

  /**
   * Store key of the object holding the chunk at a grid index (for a sharded array: the shard
   * holding that inner chunk). The one mapping to keys lives in format/.
   */
  chunkKeyOf(gridIndex: readonly number[]): string {
    return this.io.keyOf(gridIndex);
  }

  /**
   * Grid indices of the chunks that are stored (one listing; for a sharded array, the stored inner
   * chunks, which also reads the index of every stored shard).
   */
  async storedChunkIndices(signal?: AbortSignal): Promise<number[][]> {
    return this.io.storedChunksOf(await this.storedObjectIndices(signal), this.runOptions({ signal }, "listing of the chunks"));
  }

  /** Decoded chunk, or undefined when not stored. */
  async readChunk(gridIndex: readonly number[], signal?: AbortSignal): Promise<TypedArray | undefined> {
    let result: TypedArray | undefined;
    // A cached chunk is shared with later reads: the caller gets a copy it may change.
    await this.io.readChunks([{ gridIndex }], (_, chunk) => (result = this.cache ? chunk?.slice() : chunk), this.runOptions({ signal, njobs: 1 }, "read"));
    return result;
  }

  /**
   * Read-modify-write of one chunk (a conditional write, retried from a fresh read when another
   * writer changed the chunk meanwhile, so `patch` may run more than once), under the in-process
   * lock of its object (its shard, when sharded). A chunk `covered` by the write is not read. A
   * chunk that ends up all fill value is not stored.
   */
  async updateChunk(gridIndex: readonly number[], covered: boolean, signal: AbortSignal | undefined, patch: (chunk: TypedArray) => void): Promise<void> {
    assertWritable(this.context, this.describe);
    await this.io.writeChunks([{ gridIndex, coversChunk: covered }], (_, chunk) => patch(chunk), this.runOptions({ signal, njobs: 1 }, "write"));
  }

  /** Whether the chunk at a grid index is stored (for a sharded array: has an entry in its shard's index). */
  chunkExists(gridIndex: readonly number[], options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.io.chunkExists(gridIndex, options.signal);
  }

  /** Remove one chunk: it reads as the fill value afterwards (for a sharded array, its shard is rewritten). */
  async deleteChunk(gridIndex: readonly number[], options: { signal?: AbortSignal } = {}): Promise<void> {
    assertWritable(this.context, this.describe);
    if (this.io.shardShape === undefined) {
      await this.io.deleteObjects([this.chunkKeyOf(gridIndex)], this.runOptions({ ...options, njobs: 1 }, "delete of a chunk"));
      return;
    }
    await this.set(chunkRegion(gridIndex, this.io.chunkShape, this.info.shape), this.info.fillValue, { ...options, njobs: 1 });
  }

  private runOptions(options: OperationOptions, what: string): ChunkRunOptions {
    return { njobs: options.njobs ?? this.njobs, signal: options.signal, onProgress: options.onProgress, what: `${what} of ${this.describe}` };
  }

  private async forEachChunk<T>(items: Iterable<T>, options: OperationOptions, what: string, task: (item: T) => Promise<void>): Promise<void> {
    const list = Array.isArray(items) ? (items as T[]) : [...items];
    let done = 0;
    await forEachLimited(
      list,
      async (item) => {
        await task(item);
        done++;
        options.onProgress?.({ done, total: list.length });
      },
      { njobs: options.njobs ?? this.njobs, signal: options.signal },
      `${what} of ${this.describe}`,
    );
    throwIfAborted(options.signal, `${what} of ${this.describe}`);
  }

  /** Store key of a stored object (chunk, or shard) by its index on the grid of zarr.json's chunk_shape. */
  objectKeyOf(objectIndex: readonly number[]): string {
    return chunkKey(this.path, objectIndex, this.info.chunkKeyEncoding);
  }

  /** Grid indices (of zarr.json's chunk grid: shards, when sharded) of the stored objects (one listing). */
  private async storedObjectIndices(signal?: AbortSignal): Promise<number[][]> {
    const keys = await this.storedChunkKeys(signal);
    const indices: number[][] = [];
    for (const key of keys) {
      const grid = parseChunkGridIndex(key, this.path, this.info.chunkKeyEncoding, this.ndim);
      if (grid) indices.push(grid);
    }
    return indices;
  }

  private async storedChunkKeys(signal?: AbortSignal): Promise<string[]> {
    const keys: string[] = [];
    const ownMetadata = metadataKey(this.path);
    // A 0-d array's one chunk key is itself the prefix ("a/c"); list it and nothing that merely starts with it.
    const prefix = chunkPrefix(this.path, this.info.chunkKeyEncoding, this.ndim);
    for await (const key of this.context.store.list(prefix, { signal })) {
      if (key !== ownMetadata && (this.ndim > 0 || key === prefix)) keys.push(key);
    }
    return keys;
  }

  /** Apply `change` to the latest stored metadata and store it (retried when another writer changed it meanwhile). */
  private async updateMetadata(change: (latest: ArrayInfo) => ArrayInfo): Promise<void> {
    assertWritable(this.context, this.describe);
    const stored = await updateNodeMetadata(this.context, this.path, "array", this.describe, (latest) => ({ kind: "array", info: change(latest.info) }));
    this.adopt(stored.info);
  }

  /** Use `info` from now on (metadata just read or written). */
  private adopt(info: ArrayInfo): void {
    this.info = info;
    this.cache?.clear();
    this.io = this.createIO(info);
  }

  private createIO(info: ArrayInfo): ChunkIO {
    const io = createChunkIO({ store: this.context.store, path: this.path, info, conflicts: this.context.conflicts });
    return this.cache ? withChunkCache(io, this.cache) : io;
  }
}

/**
 * One chunk of a dataset (DosNa's DataChunk). Selections are relative to the chunk's in-bounds
 * region. For a sharded array a DataChunk is an inner chunk (the read/write granularity, on the
 * `ds.chunkGrid` grid); its `key` is the key of the shard object holding it.
 */
export class DataChunk {
  readonly gridIndex: number[];

  constructor(
    readonly dataset: Dataset,
    gridIndex: readonly number[],
  ) {
    const grid = dataset.chunkGrid;
    if (gridIndex.length !== grid.length || gridIndex.some((g, a) => !Number.isInteger(g) || g < 0 || g >= grid[a])) {
      throw new NotFoundError(`chunk [${gridIndex}] is outside the chunk grid [${grid}] of ${dataset.describe}`);
    }
    this.gridIndex = [...gridIndex];
  }

  get key(): string {
    return this.dataset.chunkKeyOf(this.gridIndex);
  }
  /** Position of the chunk's first element in the dataset. */
  get origin(): number[] {
    return this.gridIndex.map((g, a) => g * this.dataset.chunks[a]);
  }
  /** The in-bounds shape (edge chunks are smaller than the chunk shape). */
  get shape(): number[] {
    const shape = this.dataset.shape;
    const chunks = this.dataset.chunks;
    return this.gridIndex.map((g, a) => Math.min(chunks[a], shape[a] - g * chunks[a]));
  }

  async exists(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.dataset.chunkExists(this.gridIndex, options);
  }

  async get(selection?: Selection, options?: OperationOptions): Promise<NdArray<TypedArray>> {
    return this.dataset.get(this.toDatasetSelection(selection), options);
  }

  async set(selection: Selection, value: WritableValue, options?: OperationOptions): Promise<void> {
    await this.dataset.set(this.toDatasetSelection(selection), value, options);
  }

  async delete(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.dataset.deleteChunk(this.gridIndex, options);
  }

  private toDatasetSelection(selection: Selection): SelectionItem[] {
    const sel: NormalisedSelection = normaliseSelection(selection, this.shape, `chunk [${this.gridIndex}] of ${this.dataset.describe}`);
    const origin = this.origin;
    return sel.axes.map((axis, a): SelectionItem => {
      const o = origin[a];
      if (axis.kind === "int") return axis.index + o;
      if (axis.kind === "points") return Array.from(axis.indices, (i) => Number(i) + o);
      if (axis.count === 0) return slice(0, 0);
      const stop = o + axis.start + axis.step * axis.count;
      return slice(o + axis.start, stop < 0 ? null : stop, axis.step);
    });
  }
}

/** Create the array's zarr.json (atomically refusing to overwrite anything) and return it opened. */
export async function createDatasetNode(context: PoolContext, path: string, info: ArrayInfo, njobs: () => number): Promise<Dataset> {
  const what = describeNode("dataset", path, context);
  assertWritable(context, what);
  try {
    await context.store.set(metadataKey(path), encodeMetadata(arrayMetadataJson(info)), { ifNoneMatch: "*" });
  } catch (error) {
    if (error instanceof PreconditionFailedError) throw new AlreadyExistsError(`${what} already exists`, { cause: error });
    throw error;
  }
  return new Dataset(context, path, info, njobs);
}

/** Every index of a grid of `grid` cells per axis, in C order (none when an axis is empty). */
export function* gridIndices(grid: readonly number[]): Generator<number[]> {
  if (grid.some((g) => g === 0)) return;
  const index = new Array<number>(grid.length).fill(0);
  while (true) {
    yield [...index];
    let axis = grid.length - 1;
    for (; axis >= 0; axis--) {
      if (++index[axis] < grid[axis]) break;
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

/** `fn` on the in-bounds part of one decoded chunk, its result written back into the chunk. */
async function applyInChunk(
  fn: ChunkTransform,
  chunk: TypedArray,
  chunkShape: readonly number[],
  gridIndex: readonly number[],
  shape: readonly number[],
  dtype: DataType,
  what: string,
): Promise<void> {
  const inBounds = gridIndex.map((g, axis) => Math.min(chunkShape[axis], shape[axis] - g * chunkShape[axis]));
  const view = (ndarray(chunk as never, valueShapeOf(dtype, chunkShape)) as NdArray<TypedArray>).hi(...inBounds);
  const input = ndarray(allocateTypedArray(dtype, product(inBounds)) as never, valueShapeOf(dtype, inBounds)) as NdArray<TypedArray>;
  ops.assign(input, view);
  const result = toStridedSource(await fn(input, gridIndex), dtype, inBounds, what);
  ops.assign(view, sourceView(result, dtype, inBounds));
}

/** An ndarray over a write source of element shape `shape` (a complex element's [re, im] as a last axis of 2, adjacent entries). */
function sourceView(source: StridedSource, dtype: DataType, shape: readonly number[]): NdArray<TypedArray> {
  const strides = elementLanes(dtype) === 2 ? [...source.strides, 1] : source.strides;
  return ndarray(source.data as never, valueShapeOf(dtype, shape), strides, source.offset) as NdArray<TypedArray>;
}

/** A plain function as given; a name is run by compute/, which replaces map/apply when dosna is imported from its entry point. */
function localFunction(fn: ChunkFunction | string, options: ComputeOptions, describe: string): ChunkFunction {
  if (typeof fn === "function" && (options.engine === undefined || options.engine === "local") && options.params === undefined) return fn;
  throw new ValidationError(`map/apply of ${describe}: named functions, engines and params need dosna's compute layer (import dosna from its entry point)`);
}

function chunkRegion(gridIndex: readonly number[], chunkShape: readonly number[], shape: readonly number[]): SelectionItem[] {
  return gridIndex.map((g, a) => slice(g * chunkShape[a], Math.min(shape[a], (g + 1) * chunkShape[a])));
}

/** The chunk-sized pieces (origin and shape) of a block of `shape` that starts on a chunk boundary. */
function chunkPieces(shape: readonly number[], chunkShape: readonly number[]): { lo: number[]; shape: number[] }[] {
  const counts = shape.map((n, axis) => Math.ceil(n / chunkShape[axis]));
  if (counts.some((c) => c === 0)) return [];
  return [...gridIndices(counts)].map((g) => {
    const lo = g.map((i, axis) => i * chunkShape[axis]);
    return { lo, shape: lo.map((start, axis) => Math.min(chunkShape[axis], shape[axis] - start)) };
  });
}


function isTypedArrayInput(value: unknown): boolean {
  return ArrayBuffer.isView(value);
}

export type { ChunkProjection };
