/** dosna cp SRC DST: copy a dataset, group or pool between any two pools (see ../copy.ts). */
import { copyDataset, copyProvenance, Dataset, Group, parseEngineText, type CreateDatasetOptions } from "../../index.js";
import type { Cli } from "../context.js";
import { copyTree } from "../copy.js";
import { describeLocation } from "../locations.js";
import { formatBytes, formatDuration, parseChunks, plural } from "../text.js";

export interface CpOptions {
  overwrite?: boolean;
  chunks?: string;
  compression?: string;
  compressionLevel?: number;
  /** Copy the source as it is in this version (branch, tag or snapshot) of its pool's repository. */
  ref?: string;
  /** redis://...: dosna worker processes copy the chunks. */
  engine?: string;
  /** The Zarr format of a destination pool the copy creates ("2" or "3"). */
  zarrFormat?: string;
}

export async function cp(cli: Cli, sourceUrl: string, targetUrl: string, options: CpOptions): Promise<void> {
  const source = await cli.openNode(sourceUrl, { readOnly: true, ref: options.ref });
  const targetLocation = await cli.locate(targetUrl);
  if (source.node instanceof Dataset) cli.requireNodePath(targetLocation, "dataset");
  const targetPool = await cli.openPool(targetLocation, { create: true, zarrFormat: options.zarrFormat === "2" ? 2 : 3 });
  const progress = cli.progress(`cp ${describeLocation(source.location)}`, "chunks");
  const began = Date.now();
  let stats;
  try {
    stats = await copyTree(source, { pool: targetPool, path: targetLocation.node }, {
      overwrite: options.overwrite,
      chunks: parseChunks(options.chunks),
      compression: options.compression as CreateDatasetOptions["compression"],
      compressionLevel: options.compressionLevel,
      njobs: cli.connections.njobs,
      signal: cli.signal,
      progress,
      ...(options.engine !== undefined ? { distribute: distributor(options.engine, cli.signal) } : {}),
    });
  } finally {
    progress.stop();
  }
  await carryProvenance(source.node, targetPool, targetLocation.node, describeLocation(source.location));
  const parts = [
    `${stats.written} written${stats.reencoded ? ` (${stats.reencoded} re-encoded)` : ""}${stats.bytes ? `, ${formatBytes(stats.bytes)} copied as stored` : ""}`,
    ...(stats.skipped ? [`${stats.skipped} already present and equal`] : []),
    ...(stats.removed ? [`${stats.removed} stale removed`] : []),
  ];
  cli.report(
    `copied ${describeLocation(source.location)}${options.ref !== undefined ? ` at ${options.ref}` : ""} to ${describeLocation(targetLocation)}: ${plural(stats.datasets, "dataset")}, ` +
      `${plural(stats.groups, "group")}; chunks: ${parts.join(", ")}; ${formatDuration((Date.now() - began) / 1000)}`,
  );
}

/** Every copied dataset takes its source's lineage along, and a record of the copy. */
async function carryProvenance(node: Group | Dataset, targetPool: Group, targetPath: string, from: string): Promise<void> {
  const join = (a: string, b: string) => (a === "" ? b : b === "" ? a : `${a}/${b}`);
  if (node instanceof Dataset) {
    await copyProvenance(node, await targetPool.getDataset(targetPath), { from });
    return;
  }
  for (const name of await node.keys()) {
    const child = await node.get(name);
    await carryProvenance(child, targetPool, join(targetPath, name), `${from}/${name}`);
  }
}

/** The copy of one dataset on the engine named by --engine. */
function distributor(text: string, signal: AbortSignal): (source: Dataset, destination: Dataset) => Promise<number> {
  const engine = parseEngineText(text, "--engine");
  return (source, destination) => copyDataset(source, destination, { engine, signal });
}
