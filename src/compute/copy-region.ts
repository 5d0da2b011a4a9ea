/** One object of a distributed copy: the source's values in the region of target object `object`, written whole. */
import type { Dataset } from "../core/dataset.js";
import { slice, type SelectionItem } from "../selection/index.js";

export async function copyObjectRegion(source: Dataset, target: Dataset, object: readonly number[], options: { njobs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const region: SelectionItem[] = object.map((g, a) => slice(g * target.objectShape[a], Math.min(target.shape[a], (g + 1) * target.objectShape[a])));
  await target.set(region, await source.get(region, options), options);
}
