/**
 * Keeps what is derived from a dataset current when it is written (installed once by src/index.ts):
 * Dataset's writes (`set`, `setPoints` (vindex), `load`, `resize`, `clear`, `apply`, `applyChunks`, `updateChunk`,
 * `deleteChunk`) mark the blocks they touch stale on every output derived from the dataset
 * (derive.ts), then recompute them, and bring the dataset's vector index up to date when it has
 * one. Only the outermost write of a dataset acts (a load is a set; a resize resets edge chunks
 * with a set), so each write marks and recomputes once.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { assertWritable } from "../core/context.js";
import { Dataset } from "../core/dataset.js";
import { Group } from "../core/group.js";
import type { EngineSpec } from "../core/engine-spec.js";
import type { PointSelection, Selection } from "../selection/index.js";
import { derivationInfos, derivationsOf, derive, markStale, newWriteId, refreshDerived, removeDerivation, type DerivationInfo, type DeriveOptions } from "./derive.js";
import { hasVectorIndexMark, keepVectorIndexCurrent } from "./vector-methods.js";

declare module "../core/group.js" {
  interface Group {
    /** Register a derivation from a dataset of this group and compute it (see compute/derive.ts). */
    derive(options: DeriveOptions): Promise<Dataset>;
  }
}

declare module "../core/dataset.js" {
  interface Dataset {
    /** The datasets derived from this one, with how many of their blocks are stale. */
    derivations(options?: { signal?: AbortSignal }): Promise<DerivationInfo[]>;
    /** Recompute the stale blocks of every dataset derived from this one (left by writers that died, or by writes with derivations unknown to them). */
    refreshDerived(options?: { engine?: EngineSpec; njobs?: number; signal?: AbortSignal }): Promise<Record<string, number[]>>;
    /** Stop keeping `output` current (it stays as plain data). */
    removeDerivation(output: string): Promise<void>;
  }
}

/** Datasets (pool and path) whose write is under way in this async context. */
const writing = new AsyncLocalStorage<ReadonlySet<string>>();

/** Blocks (axis-0 chunk rows) a write touches: [first, last], "all", or none. */
type Touched = readonly [number, number] | "all" | undefined;

function keyOf(ds: Dataset): string {
  return `${ds.context.poolName}\u0000${ds.path}`;
}

function span(gridIndices: readonly (readonly number[])[]): Touched {
  if (gridIndices.length === 0) return undefined;
  let first = Infinity;
  let last = -Infinity;
  for (const g of gridIndices) {
    first = Math.min(first, g[0] ?? 0);
    last = Math.max(last, g[0] ?? 0);
  }
  return [first, last];
}

function allBlocks(ds: Dataset): readonly [number, number] | undefined {
  const count = ds.ndim === 0 || ds.shape[0] === 0 ? 0 : Math.ceil(ds.shape[0] / ds.chunks[0]);
  return count === 0 ? undefined : [0, count - 1];
}

async function hooked<T>(ds: Dataset, touched: () => Touched, write: () => Promise<T>): Promise<T> {
  const key = keyOf(ds);
  const outer = writing.getStore();
  if (outer?.has(key)) return write();
  const inside = new Set(outer ?? []).add(key);
  const outputs = ds.ndim === 0 ? [] : derivationsOf(ds);
  const indexed = hasVectorIndexMark(ds);
  if (outputs.length === 0 && !indexed) return writing.run(inside, write);
  // A read-only handle fails in the write itself; no marker may be put before that.
  assertWritable(ds.context, ds.describe);
  const range = touched();
  const blocks = range === "all" ? allBlocks(ds) : range;
  const id = newWriteId();
  // A repository session keeps no markers: its writes are private until its commit, which then holds the outputs too.
  const marking = blocks !== undefined && outputs.length > 0 && !ds.context.zarrKeysOnly;
  if (marking) await markStale(ds, outputs, blocks[0], blocks[1], id, "writing");
  const result = await writing.run(inside, write);
  if (marking) await markStale(ds, outputs, blocks[0], blocks[1], id, "written");
  const touchedBlocks = blocks && ds.context.zarrKeysOnly ? Array.from({ length: blocks[1] - blocks[0] + 1 }, (_, i) => blocks[0] + i) : [];
  for (const output of outputs) await refreshDerived(ds, output, { blocks: touchedBlocks });
  if (indexed) await keepVectorIndexCurrent(ds);
  return result;
}

let installed = false;

type Method = (this: Dataset, ...args: never[]) => Promise<unknown>;

function wrap(name: string, touched: (self: Dataset, args: unknown[]) => Touched): void {
  const original = (Dataset.prototype as unknown as Record<string, Method>)[name];
  const value = function (this: Dataset, ...args: unknown[]) {
    return hooked(this, () => touched(this, args), () => original.apply(this, args as never[]));
  };
  Object.defineProperty(Dataset.prototype, name, { value, writable: true, configurable: true });
}

export function installDeriveHooks(): void {
  if (installed) return;
  installed = true;
  wrap("set", (self, [selection]) => (self.ndim === 0 ? undefined : span(self.chunksTouchedBy(selection as Selection))));
  wrap("setPoints", (self, [selection]) => (self.ndim === 0 ? undefined : span(self.chunksTouchedByPoints(selection as PointSelection))));
  wrap("resize", (self, [shape]) => {
    const next = shape as readonly number[];
    if (!Array.isArray(next) || next.length !== self.ndim) return undefined;
    if (next.some((n, a) => a > 0 && n !== self.shape[a])) return "all";
    const low = Math.min(self.shape[0], next[0]);
    const high = Math.max(self.shape[0], next[0]);
    if (low === high) return undefined;
    return [Math.floor(low / self.chunks[0]), Math.max(0, Math.ceil(high / self.chunks[0]) - 1)];
  });
  wrap("clear", () => "all");
  wrap("apply", () => "all");
  wrap("applyChunks", (_, [chunks]) => span(chunks as number[][]));
  wrap("updateChunk", (_, [gridIndex]) => span([gridIndex as number[]]));
  wrap("deleteChunk", (_, [gridIndex]) => span([gridIndex as number[]]));
  const groupMethods: Record<string, (this: Group, ...args: never[]) => unknown> = {
    derive(this: Group, options: DeriveOptions) {
      return derive(this, options);
    },
  };
  for (const [name, value] of Object.entries(groupMethods)) Object.defineProperty(Group.prototype, name, { value, writable: true, configurable: true });
  const datasetMethods: Record<string, (this: Dataset, ...args: never[]) => unknown> = {
    derivations(this: Dataset, options?: { signal?: AbortSignal }) {
      return derivationInfos(this, options);
    },
    async refreshDerived(this: Dataset, options?: { engine?: EngineSpec; njobs?: number; signal?: AbortSignal }) {
      await this.refresh({ signal: options?.signal });
      const done: Record<string, number[]> = {};
      for (const output of derivationsOf(this)) done[output] = await refreshDerived(this, output, options);
      return done;
    },
    removeDerivation(this: Dataset, output: string) {
      return removeDerivation(this, output);
    },
  };
  for (const [name, value] of Object.entries(datasetMethods)) Object.defineProperty(Dataset.prototype, name, { value, writable: true, configurable: true });
}
