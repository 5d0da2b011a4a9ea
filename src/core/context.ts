import { ReadOnlyError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { ConflictPolicy } from "./optimistic.js";
import type { EngineSpec } from "./engine-spec.js";

/** What every node of a pool shares: where its bytes live and how it may be used. */
export interface PoolContext {
  readonly store: Store;
  /** The pool's name, for messages. */
  readonly poolName: string;
  readonly readOnly: boolean;
  /** How read-modify-writes retry after losing a race to another writer. */
  readonly conflicts: ConflictPolicy;
  /** Record what map/apply/clone/load/resize do (provenance/; default true). */
  readonly provenance?: boolean;
  /** Reads of a dataset invalidated through provenance: "warn" once per dataset (default), "ignore" or "error". */
  readonly onStale?: StalePolicy;
  /** Where map/apply/clear run unless a call says otherwise (compute/; default "local"). */
  readonly engine?: EngineSpec;
  /** 2 for a Zarr v2 hierarchy (new arrays get v2 chunk keys); 3 when absent. */
  readonly zarrFormat?: 2 | 3;
  /** The store holds only Zarr keys (a repository session): no side objects such as derivation markers. */
  readonly zarrKeysOnly?: boolean;
}

export type StalePolicy = "ignore" | "warn" | "error";

export function describeNode(kind: string, path: string, context: PoolContext): string {
  return `${kind} "/${path}" in pool "${context.poolName}"`;
}

export function assertWritable(context: PoolContext, what: string): void {
  if (context.readOnly) throw new ReadOnlyError(`cannot modify ${what}: it was opened read-only`);
}

export function joinPath(parent: string, child: string): string {
  return parent === "" ? child : child === "" ? parent : `${parent}/${child}`;
}

export function baseName(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}
