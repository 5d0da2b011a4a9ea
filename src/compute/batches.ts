/**
 * Training batches: `batches(ds, { batchSize, shuffle, seed, prefetch, ... })` streams the samples
 * of a dataset along one axis as `{ data, indices, epoch }` batches for a training loop, and
 * `zipBatches({ images, labels }, options)` streams several datasets that share that axis, row for
 * row.
 *
 * Reads are chunk-aligned blocks: a block is one row of stored objects along `axis` (the chunks,
 * or the shards of a sharded array), all other axes whole, so every object is read once per epoch.
 * `prefetch` blocks are read ahead of the one being consumed. Shuffling is in two stages, as
 * tf.data and webdataset do it: the order of the blocks is shuffled per epoch, then samples pass
 * through a shuffle buffer of `shuffleBlocks` blocks' worth of samples (each sample out is a
 * uniformly random one of the buffer, replaced by the next one in). Memory stays near
 * (prefetch + 1 + shuffleBlocks) blocks. Every random choice comes from a seeded PRNG
 * (mulberry32 seeded through a murmur3 finaliser of seed and epoch), so an order is the same across
 * runs, hosts and backends.
 *
 * A fold split (SuperDuperDB's `_fold`) assigns each row to "train" or "valid" by a seeded hash of
 * its row index alone (`foldOf`): appending rows never moves a row to the other fold.
 *
 * The dataset's shape is taken when iteration is set up; rows appended later are not seen by a
 * running iteration.
 */
import ndarray, { type NdArray } from "ndarray";
import { ShapeError, ValidationError } from "../errors.js";
import { Dataset } from "../core/dataset.js";
import { throwIfAborted } from "../core/concurrency.js";
import { product } from "../core/values.js";
import { allocateTypedArray, type DataType, type TypedArray } from "../format/index.js";
import { slice, type SelectionItem } from "../selection/index.js";

export type Fold = "train" | "valid";

export interface FoldOptions {
  /** Share of the rows in the "valid" fold, in [0, 1). */
  validFraction: number;
  /** Seed of the row hash (default 0). */
  seed?: number;
}

export interface SplitOptions extends FoldOptions {
  /** The fold whose rows are yielded. */
  fold: Fold;
}

export interface BatchOptions {
  /** Samples per batch (a positive integer). */
  batchSize: number;
  /** The sample axis (default 0; negative counts from the end). */
  axis?: number;
  /** Shuffle the block order per epoch and samples through a shuffle buffer (default false: rows in order). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0); epoch `e` uses seed and e together. */
  seed?: number;
  /** Blocks read ahead of the one being consumed (default 2; 0 reads each block when it is needed). */
  prefetch?: number;
  /** Size of the shuffle buffer, in blocks (default 4). */
  shuffleBlocks?: number;
  /** Rows per block read: a multiple of the chunk (shard) length along `axis` (default: that length). */
  blockRows?: number;
  /** Drop the last, smaller batch of each epoch (default false). `drop_last` is the same. */
  dropLast?: boolean;
  drop_last?: boolean;
  /** Only the rows in [start, end) along `axis` (default all). */
  rows?: readonly [number, number];
  /** Only the rows of one fold. */
  split?: SplitOptions;
  /** Passes over the rows (default 1), each reshuffled. */
  epochs?: number;
  /** Concurrent chunk requests of one block read (default the dataset's njobs). */
  njobs?: number;
  signal?: AbortSignal;
}

export interface Batch {
  /** The samples, shape [b, ...the dataset's shape without `axis`], a fresh C-order array. */
  data: NdArray<TypedArray>;
  /** The row (index along `axis`) of each sample. */
  indices: Int32Array;
  /** The epoch (from 0) the batch belongs to. */
  epoch: number;
}

export type ZippedBatch<T extends Record<string, Dataset>> = { [K in keyof T]: NdArray<TypedArray> } & { indices: Int32Array; epoch: number };

const OPTION_NAMES = new Set([
  "batchSize",
  "axis",
  "shuffle",
  "seed",
  "prefetch",
  "shuffleBlocks",
  "blockRows",
  "dropLast",
  "drop_last",
  "rows",
  "split",
  "epochs",
  "njobs",
  "signal",
]);
const RESERVED_NAMES = new Set(["indices", "epoch"]);
/** Zipped datasets whose chunk lengths' least common multiple exceeds this many times the largest one get blocks of the largest. */
const MAX_LCM_FACTOR = 16;
const MAX_ROWS = 2 ** 31 - 1;

/** Batches of the samples of `ds` along `options.axis`. Options are validated here, before any read. */
export function batches(ds: Dataset, options: BatchOptions): AsyncGenerator<Batch> {
  if (!(ds instanceof Dataset)) throw new ValidationError(`batches: expected a Dataset, got ${describeValue(ds)}`);
  const plan = planBatches([{ name: "data", ds }], options, `batches of ${ds.describe}`);
  return runBatches(plan, (arrays, indices, epoch) => ({ data: arrays[0], indices, epoch }));
}

/** Batches of several datasets, the same rows of each: `{ [name]: NdArray, indices, epoch }`. */
export function zipBatches<T extends Record<string, Dataset>>(datasets: T, options: BatchOptions): AsyncGenerator<ZippedBatch<T>> {
  if (datasets === null || typeof datasets !== "object") throw new ValidationError(`zipBatches: expected an object of named datasets, got ${describeValue(datasets)}`);
  const entries = Object.entries(datasets);
  if (entries.length === 0) throw new ValidationError("zipBatches: expected at least one dataset, got none");
  for (const [name, ds] of entries) {
    if (RESERVED_NAMES.has(name)) throw new ValidationError(`zipBatches: dataset name ${JSON.stringify(name)} is reserved for the batch's own field; rename it`);
    if (!(ds instanceof Dataset)) throw new ValidationError(`zipBatches: ${JSON.stringify(name)} must be a Dataset, got ${describeValue(ds)}`);
  }
  const what = `zipped batches of ${entries.map(([name]) => JSON.stringify(name)).join(", ")}`;
  const plan = planBatches(entries.map(([name, ds]) => ({ name, ds })), options, what);
  return runBatches(plan, (arrays, indices, epoch) => {
    const batch: Record<string, unknown> = { indices, epoch };
    entries.forEach(([name], i) => (batch[name] = arrays[i]));
    return batch as ZippedBatch<T>;
  });
}

/** The fold of a row: "valid" for about `validFraction` of the rows, by a seeded hash of the row index alone. */
export function foldOf(row: number, options: FoldOptions): Fold {
  if (!Number.isSafeInteger(row) || row < 0) throw new ValidationError(`foldOf: row must be a non-negative integer, got ${describeValue(row)}`);
  const fraction = checkFraction(options?.validFraction, "foldOf: validFraction");
  const seed = checkInteger(options?.seed ?? 0, "foldOf: seed");
  return rowHash(row, seed) < fraction * 2 ** 32 ? "valid" : "train";
}

declare module "../core/dataset.js" {
  interface Dataset {
    /** Training batches of this dataset's samples along `options.axis` (compute/batches.ts). */
    batches(options: BatchOptions): AsyncGenerator<Batch>;
  }
}

let installed = false;

/** Install `ds.batches(options)` on Dataset (called once by src/index.ts). */
export function installBatches(): void {
  if (installed) return;
  installed = true;
  Object.defineProperty(Dataset.prototype, "batches", {
    value: function (this: Dataset, options: BatchOptions) {
      return batches(this, options);
    },
    writable: true,
    configurable: true,
  });
}

// ---------------------------------------------------------------------------------------------
// The plan: options validated once, the datasets' shapes and the block grain taken.

interface Source {
  name: string;
  ds: Dataset;
  dtype: DataType;
  /** The sample axis of this dataset (a negative axis counts from its own end). */
  axis: number;
  shape: number[];
  /** Shape of one sample: the shape without the axis. */
  sampleShape: number[];
  /** Elements of one sample. */
  sampleSize: number;
  /** Product of the axes before the sample axis, and after it. */
  outer: number;
  inner: number;
}

interface Plan {
  what: string;
  sources: Source[];
  batchSize: number;
  shuffle: boolean;
  seed: number;
  prefetch: number;
  shuffleBlocks: number;
  blockRows: number;
  dropLast: boolean;
  start: number;
  end: number;
  split: { fold: Fold; validFraction: number; seed: number } | undefined;
  epochs: number;
  njobs: number | undefined;
  signal: AbortSignal | undefined;
}

function planBatches(named: { name: string; ds: Dataset }[], options: BatchOptions, what: string): Plan {
  if (options === null || typeof options !== "object") throw new ValidationError(`${what}: options must be an object with at least batchSize, got ${describeValue(options)}`);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw new ValidationError(`${what}: unknown option ${JSON.stringify(key)}; allowed: ${[...OPTION_NAMES].join(", ")}`);
  }
  const first = named[0];
  const axisGiven = options.axis ?? 0;
  if (!Number.isInteger(axisGiven)) throw new ValidationError(`${what}: axis must be an integer, got ${describeValue(axisGiven)}`);
  const sources = named.map(({ name, ds }): Source => {
    const ndim = ds.ndim;
    if (axisGiven < -ndim || axisGiven >= ndim) {
      throw new ValidationError(`${what}: axis ${axisGiven} is out of bounds for ${ds.describe} with ${ndim} dimension${ndim === 1 ? "" : "s"}`);
    }
    const axis = axisGiven < 0 ? axisGiven + ndim : axisGiven;
    const shape = ds.shape;
    const sampleShape = shape.filter((_, a) => a !== axis);
    return { name, ds, dtype: ds.dtype, axis, shape, sampleShape, sampleSize: product(sampleShape), outer: product(shape.slice(0, axis)), inner: product(shape.slice(axis + 1)) };
  });
  const length = sources[0].shape[sources[0].axis];
  for (const s of sources.slice(1)) {
    const n = s.shape[s.axis];
    if (n !== length) {
      throw new ShapeError(
        `${what}: ${JSON.stringify(first.name)} (${first.ds.describe}, shape [${sources[0].shape}]) has ${length} rows along axis ${axisGiven} but ${JSON.stringify(s.name)} (${s.ds.describe}, shape [${s.shape}]) has ${n}; zipped datasets must share that axis's length`,
      );
    }
  }
  if (length > MAX_ROWS) throw new ValidationError(`${what}: ${length} rows along axis ${axisGiven} do not fit the Int32Array of batch indices (at most ${MAX_ROWS})`);

  const batchSize = options.batchSize;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) throw new ValidationError(`${what}: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
  const prefetch = options.prefetch ?? 2;
  if (!Number.isSafeInteger(prefetch) || prefetch < 0) throw new ValidationError(`${what}: prefetch must be a non-negative integer, got ${describeValue(prefetch)}`);
  const shuffleBlocks = options.shuffleBlocks ?? 4;
  if (!Number.isSafeInteger(shuffleBlocks) || shuffleBlocks <= 0) throw new ValidationError(`${what}: shuffleBlocks must be a positive integer, got ${describeValue(shuffleBlocks)}`);
  const epochs = options.epochs ?? 1;
  if (!Number.isSafeInteger(epochs) || epochs <= 0) throw new ValidationError(`${what}: epochs must be a positive integer, got ${describeValue(epochs)}`);
  const njobs = options.njobs;
  if (njobs !== undefined && (!Number.isSafeInteger(njobs) || njobs <= 0)) throw new ValidationError(`${what}: njobs must be a positive integer, got ${describeValue(njobs)}`);
  if (options.shuffle !== undefined && typeof options.shuffle !== "boolean") throw new ValidationError(`${what}: shuffle must be true or false, got ${describeValue(options.shuffle)}`);
  const seed = checkInteger(options.seed ?? 0, `${what}: seed`);
  for (const key of ["dropLast", "drop_last"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean") throw new ValidationError(`${what}: ${key} must be true or false, got ${describeValue(options[key])}`);
  }
  if (options.dropLast !== undefined && options.drop_last !== undefined && options.dropLast !== options.drop_last) {
    throw new ValidationError(`${what}: dropLast (${options.dropLast}) and drop_last (${options.drop_last}) disagree; give one`);
  }
  const dropLast = options.dropLast ?? options.drop_last ?? false;

  let start = 0;
  let end = length;
  if (options.rows !== undefined) {
    const rows = options.rows;
    if (!Array.isArray(rows) || rows.length !== 2 || !rows.every((r) => Number.isSafeInteger(r))) {
      throw new ValidationError(`${what}: rows must be [start, end) as two integers, got ${describeValue(rows)}`);
    }
    [start, end] = rows;
    if (start < 0 || end > length || start > end) {
      throw new ValidationError(`${what}: rows [${start}, ${end}) are not within [0, ${length}] along axis ${axisGiven} (need 0 <= start <= end <= ${length})`);
    }
  }

  let split: Plan["split"];
  if (options.split !== undefined) {
    const given = options.split as Partial<SplitOptions> | null;
    if (given === null || typeof given !== "object") throw new ValidationError(`${what}: split must be { fold, validFraction, seed? }, got ${describeValue(given)}`);
    if (given.fold !== "train" && given.fold !== "valid") throw new ValidationError(`${what}: split.fold must be "train" or "valid", got ${describeValue(given.fold)}`);
    split = { fold: given.fold, validFraction: checkFraction(given.validFraction, `${what}: split.validFraction`), seed: checkInteger(given.seed ?? 0, `${what}: split.seed`) };
  }

  // The block grain: the stored-object length along the axis, the same rows for every dataset.
  const grains = sources.map((s) => (s.ds.shards ?? s.ds.chunks)[s.axis]);
  const largest = Math.max(...grains);
  let grain = grains.reduce(lcm);
  // Chunk lengths too unlike to share blocks: blocks follow the largest, the others read some chunks twice.
  if (grain > MAX_LCM_FACTOR * largest) grain = largest;
  let blockRows = grain;
  if (options.blockRows !== undefined) {
    blockRows = options.blockRows;
    if (!Number.isSafeInteger(blockRows) || blockRows <= 0 || blockRows % grain !== 0) {
      throw new ValidationError(`${what}: blockRows must be a positive multiple of the chunk length ${grain} along axis ${axisGiven}, got ${describeValue(blockRows)}`);
    }
  }

  return {
    what,
    sources,
    batchSize,
    shuffle: options.shuffle ?? false,
    seed,
    prefetch,
    shuffleBlocks,
    blockRows,
    dropLast,
    start,
    end,
    split,
    epochs,
    njobs,
    signal: options.signal,
  };
}

// ---------------------------------------------------------------------------------------------
// The run: a queue of block reads `prefetch` ahead, an optional shuffle buffer, batch assembly.

interface BlockTask {
  epoch: number;
  /** First row of the block and its number of rows. */
  start: number;
  length: number;
  /** The block's rows to use (offsets in the block), or null for all of them. */
  selected: Int32Array | null;
}

interface Block extends BlockTask {
  /** Per source: the block's samples, sample-major (sample r at [r * sampleSize, (r + 1) * sampleSize)). */
  data: TypedArray[];
}

async function* runBatches<B>(plan: Plan, shapeBatch: (arrays: NdArray<TypedArray>[], indices: Int32Array, epoch: number) => B): AsyncGenerator<B> {
  const { what, signal } = plan;
  throwIfAborted(signal, what);
  const reads = new AbortController();
  const forward = () => reads.abort(signal?.reason);
  signal?.addEventListener("abort", forward, { once: true });
  const tasks = blockTasks(plan);
  const queue: { promise: Promise<Block> }[] = [];
  const fill = () => {
    while (queue.length < plan.prefetch + 1) {
      const next = tasks.next();
      if (next.done) return;
      const promise = readBlock(plan, next.value, reads.signal);
      // Rejections of reads not awaited yet are awaited later, or dropped when iteration ends early.
      promise.catch(() => {});
      queue.push({ promise });
    }
  };
  const assembler = new BatchAssembler(plan, shapeBatch);
  const buffer = plan.shuffle ? new ShuffleBuffer(plan) : undefined;
  let epoch = 0;
  let random = epochRandom(plan.seed, 0, 1);
  try {
    for (;;) {
      // In flight while waiting: this block and `prefetch` after it; while it is used, those `prefetch`.
      fill();
      const head = queue[0];
      if (!head) break;
      let block: Block;
      try {
        block = await head.promise;
      } catch (error) {
        throwIfAborted(signal, what);
        throw error;
      }
      queue.shift();
      throwIfAborted(signal, what);
      while (block.epoch > epoch) {
        buffer?.drain(random, assembler, epoch);
        assembler.finish(epoch);
        for (const batch of assembler.take()) {
          yield batch;
          throwIfAborted(signal, what);
        }
        epoch++;
        random = epochRandom(plan.seed, epoch, 1);
      }
      if (buffer) buffer.add(block, random, assembler);
      else assembler.addBlockRows(block);
      for (const batch of assembler.take()) {
        yield batch;
        throwIfAborted(signal, what);
      }
    }
    for (; epoch < plan.epochs; epoch++, random = epochRandom(plan.seed, epoch, 1)) {
      buffer?.drain(random, assembler, epoch);
      assembler.finish(epoch);
      for (const batch of assembler.take()) {
        yield batch;
        throwIfAborted(signal, what);
      }
    }
  } finally {
    signal?.removeEventListener("abort", forward);
    reads.abort();
    await Promise.allSettled(queue.map((q) => q.promise));
  }
}

/** The blocks of every epoch in reading order (shuffled per epoch), blocks with no row of the fold left out. */
function* blockTasks(plan: Plan): Generator<BlockTask> {
  const { start, end, blockRows } = plan;
  const first = Math.floor(start / blockRows);
  const count = end > start ? Math.ceil(end / blockRows) - first : 0;
  // The rows of the fold in a block (offsets in the block); hashing is cheaper than keeping them.
  const selection = (lo: number, hi: number): Int32Array | null => {
    if (!plan.split) return null;
    const { fold, validFraction, seed } = plan.split;
    const limit = validFraction * 2 ** 32;
    const rows: number[] = [];
    for (let row = lo; row < hi; row++) if ((rowHash(row, seed) < limit) === (fold === "valid")) rows.push(row - lo);
    return rows.length === hi - lo ? null : Int32Array.from(rows);
  };
  for (let epoch = 0; epoch < plan.epochs; epoch++) {
    const order = Array.from({ length: count }, (_, i) => first + i);
    if (plan.shuffle) shuffleInPlace(order, epochRandom(plan.seed, epoch, 0));
    for (const k of order) {
      const lo = Math.max(start, k * blockRows);
      const hi = Math.min(end, (k + 1) * blockRows);
      const selected = selection(lo, hi);
      if (selected && selected.length === 0) continue;
      yield { epoch, start: lo, length: hi - lo, selected };
    }
  }
}

/** Read one block of every source (chunk-aligned: whole chunks along the axis, other axes whole), sample-major. */
async function readBlock(plan: Plan, task: BlockTask, signal: AbortSignal): Promise<Block> {
  const data = await Promise.all(
    plan.sources.map(async (source) => {
      const items: SelectionItem[] = source.shape.map((_, a) => (a === source.axis ? slice(task.start, task.start + task.length) : null));
      const block = await source.ds.get(items, { signal, ...(plan.njobs ? { njobs: plan.njobs } : {}) });
      return sampleMajor(block.data, source, task.length);
    }),
  );
  return { ...task, data };
}

/** A C-order block [...outer, rows, ...inner] as [rows, ...outer, ...inner]; a block along axis 0 already is. */
function sampleMajor(data: TypedArray, source: Source, rows: number): TypedArray {
  const { outer, inner, sampleSize } = source;
  if (outer === 1) return data;
  const src = data as Elements;
  const out = allocateTypedArray(source.dtype, data.length) as Elements;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < rows; r++) {
      const from = (o * rows + r) * inner;
      const to = r * sampleSize + o * inner;
      if (inner < 16) for (let i = 0; i < inner; i++) out[to + i] = src[from + i];
      else out.set(src.subarray(from, from + inner), to);
    }
  }
  return out as TypedArray;
}

/**
 * Copies of elements between typed arrays of one data type. Typed as Float64Array for the
 * compiler's sake: the same-type `set`, `subarray` and element moves hold for every typed array.
 */
type Elements = Float64Array;

function copySamples(dst: TypedArray, dstRow: number, src: TypedArray, srcRow: number, count: number, size: number): void {
  const d = dst as Elements;
  const s = src as Elements;
  const n = count * size;
  const from = srcRow * size;
  const to = dstRow * size;
  if (n < 16) for (let i = 0; i < n; i++) d[to + i] = s[from + i];
  else d.set(s.subarray(from, from + n), to);
}

/** Samples into batches of `batchSize`: fresh arrays per batch, handed out by `take`. */
class BatchAssembler<B> {
  private data: TypedArray[] = [];
  private indices = new Int32Array(0);
  private count = 0;
  private ready: B[] = [];

  constructor(
    private readonly plan: Plan,
    private readonly shapeBatch: (arrays: NdArray<TypedArray>[], indices: Int32Array, epoch: number) => B,
  ) {}

  /** The block's selected rows in order, contiguous runs copied at once. */
  addBlockRows(block: Block): void {
    const { selected } = block;
    const total = selected ? selected.length : block.length;
    let i = 0;
    while (i < total) {
      this.open();
      const local = selected ? selected[i] : i;
      let run = 1;
      const room = this.plan.batchSize - this.count;
      while (run < room && i + run < total && (selected ? selected[i + run] === local + run : true)) run++;
      this.plan.sources.forEach((s, k) => copySamples(this.data[k], this.count, block.data[k], local, run, s.sampleSize));
      for (let j = 0; j < run; j++) this.indices[this.count + j] = block.start + local + j;
      this.count += run;
      i += run;
      this.closeIfFull(block.epoch);
    }
  }

  /** One sample from elsewhere (the shuffle buffer). */
  addSample(data: TypedArray[], slot: number, index: number, epoch: number): void {
    this.open();
    this.plan.sources.forEach((s, k) => copySamples(this.data[k], this.count, data[k], slot, 1, s.sampleSize));
    this.indices[this.count++] = index;
    this.closeIfFull(epoch);
  }

  /** End of an epoch: its last, smaller batch (unless dropLast). */
  finish(epoch: number): void {
    if (this.count > 0 && !this.plan.dropLast) this.close(epoch, this.count);
    this.count = 0;
    this.data = [];
  }

  take(): B[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private open(): void {
    if (this.data.length > 0) return;
    const size = this.plan.batchSize;
    this.data = this.plan.sources.map((s) => allocateTypedArray(s.dtype, size * s.sampleSize));
    this.indices = new Int32Array(size);
    this.count = 0;
  }

  private closeIfFull(epoch: number): void {
    if (this.count < this.plan.batchSize) return;
    this.close(epoch, this.count);
    this.data = [];
    this.count = 0;
  }

  private close(epoch: number, n: number): void {
    const full = n === this.plan.batchSize;
    const arrays = this.plan.sources.map((s, k) => {
      const data = full ? this.data[k] : this.data[k].slice(0, n * s.sampleSize);
      return ndarray(data as never, [n, ...s.sampleShape]) as NdArray<TypedArray>;
    });
    this.ready.push(this.shapeBatch(arrays, full ? this.indices : this.indices.slice(0, n), epoch));
  }
}

/**
 * A shuffle buffer of `shuffleBlocks` blocks' worth of samples, copied in (a block is released as
 * soon as it has been added): once full, each sample in sends a uniformly random one out.
 */
class ShuffleBuffer {
  private data: TypedArray[] = [];
  private indices = new Int32Array(0);
  private capacity = 0;
  private count = 0;

  constructor(private readonly plan: Plan) {}

  add(block: Block, random: () => number, out: BatchAssembler<unknown>): void {
    if (this.capacity === 0) this.allocate();
    const { selected } = block;
    const total = selected ? selected.length : block.length;
    const sources = this.plan.sources;
    for (let i = 0; i < total; i++) {
      const local = selected ? selected[i] : i;
      let slot = this.count;
      if (this.count < this.capacity) this.count++;
      else {
        slot = Math.floor(random() * this.capacity);
        out.addSample(this.data, slot, this.indices[slot], block.epoch);
      }
      for (let k = 0; k < sources.length; k++) copySamples(this.data[k], slot, block.data[k], local, 1, sources[k].sampleSize);
      this.indices[slot] = block.start + local;
    }
  }

  /** Everything left, in random order (the end of `epoch`). */
  drain(random: () => number, out: BatchAssembler<unknown>, epoch: number): void {
    const order = Array.from({ length: this.count }, (_, i) => i);
    shuffleInPlace(order, random);
    for (const slot of order) out.addSample(this.data, slot, this.indices[slot], epoch);
    this.count = 0;
  }

  private allocate(): void {
    this.capacity = Math.max(1, Math.min(this.plan.shuffleBlocks * this.plan.blockRows, this.plan.end - this.plan.start));
    this.data = this.plan.sources.map((s) => allocateTypedArray(s.dtype, this.capacity * s.sampleSize));
    this.indices = new Int32Array(this.capacity);
  }
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness: murmur3's finaliser to mix words, mulberry32 for streams.

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit hash of integers (each taken as its low and high 32 bits). */
function hashIntegers(values: readonly number[]): number {
  let h = 0x2545f491;
  for (const v of values) {
    h = mix32((h ^ mix32(v >>> 0)) + 0x9e3779b9);
    h = mix32((h ^ mix32(Math.floor(v / 2 ** 32) >>> 0)) + 0x9e3779b9);
  }
  return h;
}

const FOLD_STREAM = 0x466f6c64;

function rowHash(row: number, seed: number): number {
  return hashIntegers([FOLD_STREAM, seed, row]);
}

/** mulberry32 seeded from (seed, epoch, stream): numbers in [0, 1). */
function epochRandom(seed: number, epoch: number, stream: number): () => number {
  let a = hashIntegers([stream, seed, epoch]);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates. */
function shuffleInPlace<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

// ---------------------------------------------------------------------------------------------

function checkInteger(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value)) throw new ValidationError(`${what} must be an integer, got ${describeValue(value)}`);
  return value as number;
}

function checkFraction(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new ValidationError(`${what} must be a number in [0, 1), got ${describeValue(value)}`);
  }
  return value;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(", ")}]`;
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
