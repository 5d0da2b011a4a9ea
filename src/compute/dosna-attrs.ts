/**
 * dosna's own members of a dataset's attributes (`attributes.dosna`: a queue job marker, a
 * derivation, a vector index mark), read and changed one member at a time, and a dataset opened by
 * its path in the pool from any node of it.
 */
import type { Dataset } from "../core/dataset.js";
import { Group } from "../core/group.js";

export function dosnaAttrs(ds: Dataset): Record<string, unknown> {
  const value = ds.attrs.get("dosna");
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Set member `name` of `attributes.dosna`, or remove it (`undefined`); `dosna` itself goes when nothing is left. */
export async function setDosnaMember(ds: Dataset, name: string, value: unknown): Promise<void> {
  const { [name]: _old, ...rest } = dosnaAttrs(ds);
  if (value !== undefined) await ds.attrs.set("dosna", { ...rest, [name]: value });
  else if (Object.keys(rest).length > 0) await ds.attrs.set("dosna", rest);
  else if (ds.attrs.has("dosna")) await ds.attrs.delete("dosna");
}

/** The dataset at `path` (from the pool's root) in the pool of `anchor`, or undefined when there is none. */
export async function openDatasetAt(anchor: Pick<Dataset, "context" | "njobs">, path: string): Promise<Dataset | undefined> {
  const root = new Group(anchor.context, "", {}, () => anchor.njobs);
  return (await root.hasDataset(path)) ? root.getDataset(path) : undefined;
}
