/** How the last map/apply on a dataset ran (engine, hosts), for provenance to record with it. */
import type { Dataset } from "../core/dataset.js";

export interface RunInfo {
  engine: "local" | "threads" | "queue";
  /** "host:pid" of every process that ran chunks. */
  hosts: string[];
  /** The queue engine's job id. */
  job?: string;
}

const runs = new WeakMap<Dataset, RunInfo>();

export function recordRun(ds: Dataset, info: RunInfo): void {
  runs.set(ds, info);
}

/** The run info of `ds`'s last engine run, once (it is cleared when read). */
export function takeRun(ds: Dataset): RunInfo | undefined {
  const info = runs.get(ds);
  runs.delete(ds);
  return info;
}
