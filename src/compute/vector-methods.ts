/**
 * Vector search as Dataset methods (installed once by src/index.ts): `ds.nearest`,
 * `ds.createVectorIndex`, `ds.updateVectorIndex`, `ds.deleteVectorIndex`, `ds.vectorIndexInfo`.
 * A dataset with an index carries `attributes.dosna.vectorIndex` ({ kind, metric }) in its
 * zarr.json, so that every writer knows, without another request, to bring the index up to date
 * after its write (derive-hooks.ts).
 */
import { NotFoundError } from "../errors.js";
import { Dataset } from "../core/dataset.js";
import { dosnaAttrs, setDosnaMember } from "./dosna-attrs.js";
import { nearest, type NearestOptions, type NearestResult, type VectorQueries } from "./vector-search.js";
import { createVectorIndex, deleteVectorIndex, updateVectorIndex, vectorIndexInfo, type CreateVectorIndexOptions, type UpdateVectorIndexOptions, type VectorIndexInfo, type VectorIndexUpdate } from "./vector-index.js";

declare module "../core/dataset.js" {
  interface Dataset {
    /** The k nearest rows of this 2-D [n, d] dataset to each query (exact, or through its HNSW index when it has one). */
    nearest(queries: VectorQueries, k: number, options: NearestOptions): Promise<NearestResult>;
    /** Build and store an approximate (HNSW) index over the rows; it is kept current by later writes. */
    createVectorIndex(options: CreateVectorIndexOptions): Promise<VectorIndexInfo>;
    /** Re-add the rows of the objects changed since the index was last updated. */
    updateVectorIndex(options?: UpdateVectorIndexOptions): Promise<VectorIndexUpdate>;
    deleteVectorIndex(options?: { signal?: AbortSignal }): Promise<void>;
    vectorIndexInfo(options?: { signal?: AbortSignal }): Promise<VectorIndexInfo | undefined>;
  }
}


export function hasVectorIndexMark(ds: Dataset): boolean {
  return dosnaAttrs(ds).vectorIndex !== undefined;
}

/** After a write: update the index, if it still exists (another process may have deleted it). */
export async function keepVectorIndexCurrent(ds: Dataset): Promise<void> {
  try {
    await updateVectorIndex(ds);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

let installed = false;

export function installVectorMethods(): void {
  if (installed) return;
  installed = true;
  const methods: Record<string, (this: Dataset, ...args: never[]) => unknown> = {
    nearest(this: Dataset, queries: VectorQueries, k: number, options: NearestOptions) {
      return nearest(this, queries, k, options);
    },
    async createVectorIndex(this: Dataset, options: CreateVectorIndexOptions) {
      const info = await createVectorIndex(this, options);
      await setDosnaMember(this, "vectorIndex", { kind: info.kind, metric: info.metric });
      return info;
    },
    updateVectorIndex(this: Dataset, options?: UpdateVectorIndexOptions) {
      return updateVectorIndex(this, options);
    },
    async deleteVectorIndex(this: Dataset, options?: { signal?: AbortSignal }) {
      await deleteVectorIndex(this, options);
      await setDosnaMember(this, "vectorIndex", undefined);
    },
    vectorIndexInfo(this: Dataset, options?: { signal?: AbortSignal }) {
      return vectorIndexInfo(this, options);
    },
  };
  for (const [name, value] of Object.entries(methods)) Object.defineProperty(Dataset.prototype, name, { value, writable: true, configurable: true });
}
