/** dosna ls and dosna info. */
import { Dataset, Group, Repository, ValidationError, type Pool } from "../../index.js";
import type { Cli } from "../context.js";
import { describeLocation } from "../locations.js";
import { firstLine, formatAuthor, formatTime } from "../versions.js";
import { storedSummary, type StoredSummary } from "../../index.js";
import { codecSummary, formatBytes, formatShape, formatTable, toJson } from "../text.js";

interface Entry {
  path: string;
  node: Group | Dataset;
}

export async function ls(cli: Cli, url: string, options: { recursive?: boolean; json?: boolean; ref?: string }): Promise<void> {
  const location = await cli.locate(url);
  if (location.pool === undefined) {
    if (options.ref !== undefined) throw new ValidationError(`--ref needs a pool, and ${JSON.stringify(url)} names none (it lists pools)`);
    const pools = await cli.connections.listPools(location);
    if (options.json) cli.print(toJson(pools));
    else if (pools.length) cli.print(pools.join("\n"));
    return;
  }
  const { pool, node } = await cli.openNode(url, { readOnly: true, ref: options.ref });
  const entries: Entry[] = node instanceof Dataset ? [{ path: node.name, node }] : await children(node, "", options.recursive ?? false);
  const bytesOf = await versionBytes(cli, pool);
  const rows = await Promise.all(
    entries.map(async ({ path, node }) => ({ path, node, stored: node instanceof Dataset ? await storedSummary(node, cli.signal, bytesOf(node)) : undefined })),
  );
  if (options.json) {
    cli.print(toJson(rows.map(({ path, node, stored }) => (node instanceof Dataset ? datasetJson(path, node, stored!) : { path, kind: "group" })), 2));
    return;
  }
  if (rows.length === 0) return;
  const table = [["NAME", "SHAPE", "DTYPE", "CHUNKS", "CODECS", "STORED", "BYTES"]];
  for (const { path, node, stored } of rows) {
    if (node instanceof Dataset) {
      table.push([
        path,
        formatShape(node.shape),
        node.dtype,
        formatShape(node.chunks),
        codecSummary(node.metadata.codecs),
        `${stored!.storedChunks}/${stored!.possibleChunks}`,
        stored!.storedBytes === undefined ? "?" : formatBytes(stored!.storedBytes),
      ]);
    } else table.push([`${path}/`, "group"]);
  }
  cli.print(formatTable(table));
}

async function children(group: Group, prefix: string, recursive: boolean): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const name of await group.keys()) {
    const node = await group.get(name);
    out.push({ path: prefix + name, node });
    if (recursive && node instanceof Group) out.push(...(await children(node, `${prefix}${name}/`, true)));
  }
  return out;
}

/** Stored bytes per dataset of a version (from its manifests); nothing for a plain pool, whose store tells sizes itself. */
async function versionBytes(cli: Cli, pool: Pool): Promise<(dataset: Dataset) => number | undefined> {
  const version = cli.versionOf(pool);
  if (!version) return () => undefined;
  const summary = await version.repository.summary(version.snapshot);
  const bytes = new Map(summary.datasets.map((d) => [d.path, d.bytes]));
  return (dataset) => bytes.get(dataset.path);
}

function datasetJson(path: string, dataset: Dataset, stored: StoredSummary): Record<string, unknown> {
  const info = dataset.metadata;
  return {
    path,
    kind: "dataset",
    shape: info.shape,
    dtype: info.dataType,
    chunks: info.chunkShape,
    chunkGrid: dataset.chunkGrid,
    fillValue: info.fillValue,
    codecs: info.codecs,
    chunkKeyEncoding: info.chunkKeyEncoding,
    ...(info.dimensionNames ? { dimensionNames: info.dimensionNames } : {}),
    storedChunks: stored.storedChunks,
    possibleChunks: stored.possibleChunks,
    storedBytes: stored.storedBytes ?? null,
    decodedBytes: stored.decodedBytes,
    compressionRatio: ratio(stored) ?? null,
  };
}

function ratio(stored: StoredSummary): number | undefined {
  return stored.storedBytes ? Math.round((stored.decodedBytes / stored.storedBytes) * 1000) / 1000 : undefined;
}

export async function info(cli: Cli, url: string, options: { json?: boolean; ref?: string }): Promise<void> {
  const { location, pool, node } = await cli.openNode(url, { readOnly: true, ref: options.ref });
  const where = describeLocation(location);
  const attributes = node.attrs.toJSON();
  const versioning = await versioningInfo(cli, pool, location.node === "");
  if (node instanceof Dataset) {
    const stored = await storedSummary(node, cli.signal, (await versionBytes(cli, pool))(node));
    if (options.json) {
      cli.print(toJson({ url: where, store: pool.store.description, ...versioning.json, ...datasetJson(node.path, node, stored), attributes }, 2));
      return;
    }
    const meta = node.metadata;
    const r = ratio(stored);
    const bytes = stored.storedBytes === undefined ? "size unknown on this store" : formatBytes(stored.storedBytes);
    const lines: string[][] = [
      ["dataset", `/${node.path}`],
      ["pool", `${pool.store.description}`],
      ["shape", formatShape(meta.shape)],
      ["dtype", meta.dataType],
      ["chunks", `${formatShape(meta.chunkShape)}  (grid ${formatShape(node.chunkGrid)})`],
      ["fill value", String(meta.fillValue)],
      ["codecs", meta.codecs.map((c) => (c.configuration ? `${c.name} ${toJson(c.configuration)}` : c.name)).join(" → ")],
      ["chunk keys", `${meta.chunkKeyEncoding.name}, separator "${meta.chunkKeyEncoding.separator}"`],
    ];
    if (meta.dimensionNames) lines.push(["dimensions", meta.dimensionNames.map((n) => n ?? "-").join(", ")]);
    lines.push([
      "stored",
      `${stored.storedChunks} of ${stored.possibleChunks} chunks, ${bytes} (${formatBytes(stored.decodedBytes)} decoded${r === undefined ? "" : `, ratio ${r.toFixed(2)}`})`,
    ]);
    lines.push(["size", `${formatBytes(node.nbytes)} uncompressed, ${node.size} elements`]);
    cli.print(formatTable([...lines, ...versioning.lines, ...attributeLines(attributes)]));
    return;
  }
  const entries = await childKinds(node);
  if (options.json) {
    cli.print(
      toJson({ url: where, store: pool.store.description, ...versioning.json, kind: location.node === "" ? "pool" : "group", path: `/${node.path}`, children: entries, attributes }, 2),
    );
    return;
  }
  const lines: string[][] = [
    [location.node === "" ? "pool" : "group", location.node === "" ? pool.store.description : `/${node.path}`],
    ...(location.node === "" ? [] : [["pool", pool.store.description]]),
    ["datasets", entries.filter((e) => e.kind === "dataset").map((e) => e.name).join(", ") || "(none)"],
    ["groups", entries.filter((e) => e.kind === "group").map((e) => e.name).join(", ") || "(none)"],
  ];
  cli.print(formatTable([...lines, ...versioning.lines, ...attributeLines(attributes)]));
}

/**
 * What `info` adds for versions: with --ref, the snapshot read (its time, author, message); at a
 * pool's root, its repository's branches and tags (a repository pool's plain contents are not its
 * versions: they are read with --ref).
 */
async function versioningInfo(cli: Cli, pool: Pool, atRoot: boolean): Promise<{ lines: string[][]; json: Record<string, unknown> }> {
  const version = cli.versionOf(pool);
  const repository = version?.repository ?? (atRoot && (await Repository.exists(pool)) ? await Repository.open(pool) : undefined);
  if (!repository) return { lines: [], json: {} };
  const summary = await repository.summary(version?.snapshot);
  const lines: string[][] = [];
  const json: Record<string, unknown> = {};
  if (version) {
    const head = summary.head;
    lines.push(["version", `${version.ref}: snapshot ${head.id}, ${formatTime(head.time)}, ${formatAuthor(head.author)}: ${firstLine(head.message)}`]);
    json.version = { ref: version.ref, snapshot: head.id, time: head.time.toISOString(), author: head.author, message: head.message };
  }
  if (atRoot) {
    const names = (refs: Record<string, string>) => Object.keys(refs).join(", ") || "(none)";
    lines.push(["repository", `branches ${names(summary.branches)}; tags ${names(summary.tags)}${version ? "" : " (read a version with --ref REF)"}`]);
    json.repository = { branches: summary.branches, tags: summary.tags };
  }
  return { lines, json };
}

async function childKinds(group: Group | Pool): Promise<Array<{ name: string; kind: "dataset" | "group" }>> {
  const [datasets, groups] = await Promise.all([group.listDatasets(), group.listGroups()]);
  return [...datasets.map((name) => ({ name, kind: "dataset" as const })), ...groups.map((name) => ({ name, kind: "group" as const }))];
}

function attributeLines(attributes: Record<string, unknown>): string[][] {
  const names = Object.keys(attributes);
  if (names.length === 0) return [["attributes", "(none)"]];
  return names.map((name, i) => [i === 0 ? "attributes" : "", `${name} = ${toJson(attributes[name])}`]);
}
