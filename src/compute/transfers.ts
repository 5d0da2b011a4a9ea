/**
 * Moving data on an engine: `importNpy` and `copyDataset` with `{ engine: { queue } }` hand the
 * work to `dosna worker` processes (the .npy file must be at a path the workers can read; the
 * pools on a shared directory or on S3). Other engines do it in this process, as before: reading
 * and writing chunks is I/O, which worker threads would not speed up.
 */
import { resolve } from "node:path";
import type { ComputeOptions, Dataset } from "../core/dataset.js";
import type { Group } from "../core/group.js";
import { newObjectId } from "../core/object-ids.js";
import { forEachLimited } from "../core/concurrency.js";
import { copyObjectRegion } from "./copy-region.js";
import { NpyReader } from "../npy/file-io.js";
import { createImportTarget, npySlabs, type ImportNpyOptions } from "../npy/transfer.js";
import { importNpy as importHere, recordImport } from "../provenance/capture-files.js";
import { addressOf } from "./pool-address.js";
import { QueueClient, type TaskInput } from "./queue-client.js";
import { resolveEngine, taskObjects } from "./engines.js";

export type EngineImportOptions = ImportNpyOptions & Pick<ComputeOptions, "engine">;

const DEFAULT_SLAB_BYTES = 8 * 1024 * 1024;

/** Create dataset `name` under `group` from a .npy file, on the engine given (queue workers read slabs of the file). */
export async function importNpy(path: string, group: Group, name: string, options: EngineImportOptions = {}): Promise<Dataset> {
  const engine = resolveEngine(options.engine ?? group.context.engine, `import of "${path}"`);
  if (engine.kind !== "queue") return importHere(path, group, name, options);
  const file = resolve(path);
  const reader = await NpyReader.open(file); // a bad file creates nothing
  const client = await QueueClient.open(engine.spec);
  try {
    await client.requireWorkers(undefined, options.signal);
    const dataset = await createImportTarget(reader, group, name, options);
    const target = { pool: addressOf(dataset), path: dataset.path };
    const slabs = reader.shape.length === 0 ? [] : npySlabs(reader, dataset, engine.spec.taskBytes ?? DEFAULT_SLAB_BYTES);
    const tasks: TaskInput[] = slabs.map((rows) => ({ kind: "npy", file, rows, target, objects: [] }));
    try {
      const total = reader.header.dataBytes;
      const onProgress = options.onProgress && ((p: { done: number; total: number }) => options.onProgress!({ done: p.done >= p.total ? total : Math.round((p.done / p.total) * total), total }));
      if (tasks.length > 0) await client.run(newObjectId(), { kind: "import", source: file, target: dataset.describe }, tasks, { signal: options.signal, onProgress });
      else await importHere(path, group, name, { ...options, overwrite: true });
    } catch (error) {
      await dataset.delete().catch(() => undefined);
      throw error;
    }
    await recordImport(path, group, dataset);
    return dataset;
  } finally {
    await reader.close();
    await client.close();
  }
}

/**
 * Copy `source`'s values into `target` (same shape) on the queue engine: each task rewrites whole
 * target objects from the source's values in their region (chunks that end up all fill value are
 * removed), so the copy equals the source and can be run again. Returns the number of objects.
 */
export async function copyDataset(source: Dataset, target: Dataset, options: ComputeOptions = {}): Promise<number> {
  const engine = resolveEngine(options.engine ?? target.context.engine, `copy of ${source.describe} to ${target.describe}`);
  const objects = target.objectIndices();
  if (engine.kind !== "queue") {
    await forEachLimited(objects, (object) => copyObjectRegion(source, target, object, { njobs: 1, signal: options.signal }), { njobs: options.njobs ?? target.njobs, signal: options.signal }, `copy of ${source.describe}`);
    return objects.length;
  }
  const client = await QueueClient.open(engine.spec);
  try {
    await client.requireWorkers(undefined, options.signal);
    const from = { pool: addressOf(source), path: source.path };
    const to = { pool: addressOf(target), path: target.path };
    const tasks: TaskInput[] = taskObjects(target, objects, engine.spec.taskBytes).map((group) => ({ kind: "copy", source: from, target: to, objects: group }));
    await client.run(newObjectId(), { kind: "copy", source: source.describe, target: target.describe }, tasks, options);
    return objects.length;
  } finally {
    await client.close();
  }
}
