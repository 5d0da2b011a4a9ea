/** dosna import FILE.npy URL and dosna export URL FILE.npy: streaming, with progress. */
import { stat } from "node:fs/promises";
import { AlreadyExistsError, exportNpy, importNpy, NpyReader, parseEngineText, type CreateDatasetOptions } from "../../index.js";
import type { Cli } from "../context.js";
import { describeLocation } from "../locations.js";
import { progressReporter } from "../progress.js";
import { formatBytes, formatDuration, parseChunks, parseScalar } from "../text.js";

export interface ImportOptions {
  chunks?: string;
  compression?: string;
  compressionLevel?: number;
  fillValue?: string;
  overwrite?: boolean;
  engine?: string;
}

export async function importCommand(cli: Cli, file: string, url: string, options: ImportOptions): Promise<void> {
  // Validate the file completely before touching the destination: a bad file creates nothing.
  const probe = await NpyReader.open(file);
  const { dtype, shape } = probe;
  await probe.close();
  const location = await cli.locate(url);
  const path = cli.requireNodePath(location, "dataset");
  const pool = await cli.openPool(location, { create: true });
  if (!options.overwrite && (await pool.has(path))) {
    throw new AlreadyExistsError(`${describeLocation(location)} already exists; pass --overwrite to replace it`);
  }
  const progress = cli.progress(`import ${file}`, "bytes");
  const began = Date.now();
  try {
    await importNpy(file, pool, path, {
      chunks: parseChunks(options.chunks),
      compression: options.compression as CreateDatasetOptions["compression"],
      compressionLevel: options.compressionLevel,
      ...(options.fillValue !== undefined ? { fillValue: parseScalar(options.fillValue, dtype, "--fill-value") } : {}),
      overwrite: options.overwrite,
      ...(options.engine !== undefined ? { engine: parseEngineText(options.engine, "--engine") } : {}),
      signal: cli.signal,
      onProgress: progressReporter(progress),
    });
  } finally {
    progress.stop();
  }
  cli.report(`imported ${file} (shape [${shape.join(", ")}] ${dtype}) into ${describeLocation(location)} in ${formatDuration((Date.now() - began) / 1000)}`);
}

export async function exportCommand(cli: Cli, url: string, file: string, options: { slice?: string; overwrite?: boolean; ref?: string }): Promise<void> {
  const { location, dataset } = await cli.openDataset(url, { readOnly: true, ref: options.ref });
  if (!options.overwrite && (await stat(file).catch(() => undefined))) {
    throw new AlreadyExistsError(`"${file}" already exists; pass --overwrite to replace it`);
  }
  const progress = cli.progress(`export ${describeLocation(location)}`, "bytes");
  const began = Date.now();
  let result;
  try {
    result = await exportNpy(dataset, file, {
      selection: options.slice,
      overwrite: true,
      signal: cli.signal,
      onProgress: progressReporter(progress),
    });
  } finally {
    progress.stop();
  }
  cli.report(
    `exported ${describeLocation(location)}${options.ref !== undefined ? ` at ${options.ref}` : ""}${options.slice ? `[${options.slice}]` : ""} (shape [${result.shape.join(", ")}] ${result.dtype}, ${formatBytes(result.bytes)}) to ${file} in ${formatDuration((Date.now() - began) / 1000)}`,
  );
}
