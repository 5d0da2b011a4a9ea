/**
 * dosna import FILE.h5 POOL[/GROUP] and dosna export POOL/PATH FILE.h5: HDF5 files in and out
 * (dn.importHdf5 / dn.exportHdf5). An import that skipped something it cannot store lists each
 * item on stderr and exits with EXIT_INCOMPLETE, having imported the rest.
 */
import { open, stat } from "node:fs/promises";
import { exportHdf5, importHdf5, NotFoundError, ValidationError, type CreateDatasetOptions, type Group } from "../../index.js";
import type { Cli } from "../context.js";
import { IncompleteError } from "../exit.js";
import { describeLocation } from "../locations.js";
import { progressReporter } from "../progress.js";
import { formatBytes, formatDuration, plural } from "../text.js";

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const HDF5_EXTENSIONS = /\.(h5|hdf5|he5|hdf)$/i;

/** Whether an import reads `file` as HDF5: by its name, else by the HDF5 signature. */
export async function isHdf5File(file: string): Promise<boolean> {
  return HDF5_EXTENSIONS.test(file) || (await hasHdf5Signature(file));
}

/** Whether `file` starts with the HDF5 signature (at 0, or after a user block at 512, 1024, 2048). */
async function hasHdf5Signature(file: string): Promise<boolean> {
  const handle = await open(file, "r").catch(() => undefined);
  if (handle === undefined) return false;
  try {
    for (const at of [0, 512, 1024, 2048]) {
      const bytes = Buffer.alloc(8);
      const { bytesRead } = await handle.read(bytes, 0, 8, at);
      if (bytesRead === 8 && bytes.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

/** An export goes to HDF5 when the output file is named so. */
export function isHdf5Name(file: string): boolean {
  return HDF5_EXTENSIONS.test(file);
}

export interface Hdf5ImportOptions {
  compression?: string;
  compressionLevel?: number;
  overwrite?: boolean;
  chunks?: string;
  fillValue?: string;
  engine?: string;
}

export async function importHdf5Command(cli: Cli, file: string, url: string, options: Hdf5ImportOptions): Promise<void> {
  for (const [given, flag, why] of [
    [options.chunks, "--chunks", "keeps each dataset's HDF5 chunk shape"],
    [options.fillValue, "--fill-value", "keeps each dataset's HDF5 fill value"],
    [options.engine, "--engine", "runs in this process"],
  ] as const) {
    if (given !== undefined) throw new ValidationError(`${flag} applies to .npy imports; an HDF5 import ${why}`);
  }
  if (options.compressionLevel !== undefined && options.compression === undefined) {
    throw new ValidationError("--compression-level needs --compression (an HDF5 import keeps each dataset's own gzip level by default)");
  }
  // a file that cannot be imported must not leave a new pool or group behind
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw new NotFoundError(`HDF5 file "${file}" does not exist`);
  if (!(await hasHdf5Signature(file))) throw new ValidationError(`"${file}" is not a readable HDF5 file (no HDF5 signature at its start)`);
  const location = await cli.locate(url);
  const pool = await cli.openPool(location, { create: true });
  const target: Group = location.node === "" ? pool : await pool.requireGroup(location.node);
  const progress = cli.progress(`import ${file}`, "bytes");
  const began = Date.now();
  let summary;
  try {
    summary = await importHdf5(file, target, {
      ...(options.compression !== undefined ? { compression: options.compression as NonNullable<CreateDatasetOptions["compression"]> } : {}),
      ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}),
      overwrite: options.overwrite,
      signal: cli.signal,
      onProgress: progressReporter(progress),
    });
  } finally {
    progress.stop();
  }
  const datasets = summary.imported.filter((i) => i.kind === "dataset").length;
  const groups = summary.imported.filter((i) => i.kind === "group" && i.path !== "/").length;
  const done = `imported ${plural(datasets, "dataset")} and ${plural(groups, "group")} of ${file} into ${describeLocation(location)} in ${formatDuration((Date.now() - began) / 1000)}`;
  if (summary.skipped.length === 0) {
    cli.report(done);
    return;
  }
  for (const item of summary.skipped) {
    cli.warn(`dosna: skipped ${item.path}${item.attribute !== undefined ? ` attribute "${item.attribute}"` : ""}: ${item.reason}`);
  }
  throw new IncompleteError(`${done}; skipped ${plural(summary.skipped.length, "item")} (listed above)`);
}

export async function exportHdf5Command(cli: Cli, url: string, file: string, options: { slice?: string; overwrite?: boolean; ref?: string }): Promise<void> {
  if (options.slice !== undefined) throw new ValidationError("--slice applies to .npy exports; an HDF5 export writes whole datasets");
  const { location, pool } = await cli.openNode(url, { readOnly: true, ref: options.ref });
  const progress = cli.progress(`export ${describeLocation(location)}`, "bytes");
  const began = Date.now();
  let summary;
  try {
    summary = await exportHdf5(pool, location.node, file, { overwrite: options.overwrite, signal: cli.signal, onProgress: progressReporter(progress) });
  } finally {
    progress.stop();
  }
  const groups = summary.groups.filter((g) => g !== "/").length;
  cli.report(
    `exported ${describeLocation(location)}${options.ref !== undefined ? ` at ${options.ref}` : ""} (${plural(summary.datasets.length, "dataset")}, ${plural(groups, "group")}, ${formatBytes(summary.bytes)}) to ${file} in ${formatDuration((Date.now() - began) / 1000)}`,
  );
}
