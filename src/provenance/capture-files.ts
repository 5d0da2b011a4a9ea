/**
 * `.npy` import and export with their provenance: an import records the file (kind "file", its
 * file:// URI) and the new dataset derived from it; an export records the file written, derived
 * from the dataset (with the selection exported). These are the versions src/index.ts exports.
 */
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Dataset } from "../core/dataset.js";
import type { Group } from "../core/group.js";
import { exportNpy as exportPlain, importNpy as importPlain, type ExportNpyOptions, type ImportNpyOptions } from "../npy/index.js";
import { contentVersion, datasetRecord, provenance } from "./capture.js";

export async function importNpy(path: string, group: Group, name: string, options: ImportNpyOptions = {}): Promise<Dataset> {
  const dataset = await importPlain(path, group, name, options);
  await recordImport(path, group, dataset);
  return dataset;
}

/** Record an import of the .npy file at `path` into `dataset` (also used by compute/'s distributed import). */
export async function recordImport(path: string, group: Group, dataset: Dataset): Promise<void> {
  if (group.context.provenance !== false) {
    await record("import", dataset, async () => {
      const records = provenance(dataset);
      const file = await records.record({ kind: "file", name: basename(path), uris: [pathToFileURL(resolve(path)).href], tags: { format: "npy" } });
      await records.record({
        kind: "dataset",
        name: dataset.path,
        dataset: dataset.path,
        datasetVersion: await contentVersion(dataset),
        inputs: [file],
        activity: { operation: "import", parameters: { format: "npy", file: resolve(path) } },
      });
    });
  }
}

export async function exportNpy(dataset: Dataset, path: string, options: ExportNpyOptions = {}): ReturnType<typeof exportPlain> {
  const result = await exportPlain(dataset, path, options);
  if (dataset.context.provenance !== false && !dataset.context.readOnly) {
    await record("export", dataset, async () => {
      const records = provenance(dataset);
      await records.record({
        kind: "file",
        name: basename(path),
        uris: [pathToFileURL(resolve(path)).href],
        inputs: [(await datasetRecord(dataset, records.records)).id],
        activity: { operation: "export", parameters: { format: "npy", ...(options.selection !== undefined ? { selection: String(options.selection) } : {}) } },
        tags: { format: "npy" },
      });
    });
  }
  return result;
}

async function record(operation: string, dataset: Dataset, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    process.emitWarning(`dosna could not record the provenance of ${operation} of ${dataset.describe}: ${(error as Error).message}`, { code: "DOSNA_PROVENANCE" });
  }
}
