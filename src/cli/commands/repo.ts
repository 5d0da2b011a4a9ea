/**
 * The version commands: dosna repo init, log, branch, tag, diff, merge, checkout --export and gc,
 * on the repository a pool holds (dn.Repository). Each takes the pool's own URL; REF is a branch,
 * tag or snapshot id, resolved as the library resolves it (snapshot id, then branch, then tag).
 */
import {
  Dataset,
  MAIN_BRANCH,
  MergeConflictError,
  Repository,
  ValidationError,
  type Conflict,
  type DatasetDiff,
  type Group,
  type LogEntry,
  type Pool,
  type RepositoryDiff,
} from "../../index.js";
import type { Cli } from "../context.js";
import { describeLocation, type Location } from "../locations.js";
import { formatDuration, formatTable, plural, toJson } from "../text.js";
import { firstLine, formatAuthor, formatIndex, formatTime, indexOfChunkKey, listShort, parseAuthor, parseOlderThan } from "../versions.js";

/** Chunk indices shown per list in text output (all of them with --json). */
const INDICES_SHOWN = 8;

interface OpenRepository {
  location: Location;
  pool: Pool;
  repo: Repository;
}

/** A URL that must name a pool itself, not a node inside it. */
function requirePool(location: Location, url: string, command: string): void {
  if (location.pool !== undefined && location.node !== "") {
    const pool = describeLocation(location, "");
    throw new ValidationError(`\`dosna ${command}\` takes a pool, not a node in it: ${JSON.stringify(url)} names "/${location.node}" inside the pool ${pool}; give ${pool}`);
  }
}

async function openRepository(cli: Cli, url: string, command: string, options: { readOnly: boolean }): Promise<OpenRepository> {
  const location = await cli.locate(url);
  requirePool(location, url, command);
  const pool = await cli.openPool(location, { readOnly: options.readOnly });
  return { location, pool, repo: await cli.openRepository(location, pool, `\`dosna ${command}\``) };
}

export async function repoInit(cli: Cli, url: string, options: { author?: string; message?: string }): Promise<void> {
  const author = options.author === undefined ? undefined : parseAuthor(options.author);
  let location = await cli.locate(url);
  // A local directory that is no pool yet becomes one, as `dosna create --pool` makes it.
  if (location.pool === undefined && location.backend === "fs") location = { ...location, pool: location.directory, node: "", poolIsExplicit: true };
  requirePool(location, url, "repo init");
  const pool = await cli.openPool(location, { create: true });
  const repo = await Repository.init(pool, { author, message: options.message });
  const summary = await repo.summary(MAIN_BRANCH);
  const contents = summary.datasets.length > 0 || summary.groups.length > 1 ? `: ${plural(summary.datasets.length, "dataset")}, ${plural(summary.storedChunks, "chunk")}` : "";
  cli.report(`initialised a repository in ${describeLocation(location, "")}: branch ${MAIN_BRANCH} at ${summary.head.id} (${summary.head.message}${contents})`);
}

function logEntryJson(entry: LogEntry): Record<string, unknown> {
  return { id: entry.id, parents: entry.parents, time: entry.time.toISOString(), author: entry.author, message: entry.message, metadata: entry.metadata };
}

/** Branch and tag names by the snapshot they point at: "main, dev, tag: v1". */
async function decorations(repo: Repository): Promise<Map<string, string[]>> {
  const { branches, tags } = await repo.summary(MAIN_BRANCH);
  const bySnapshot = new Map<string, string[]>();
  const add = (id: string, label: string) => bySnapshot.set(id, [...(bySnapshot.get(id) ?? []), label]);
  for (const [name, id] of Object.entries(branches)) add(id, name);
  for (const [name, id] of Object.entries(tags)) add(id, `tag: ${name}`);
  return bySnapshot;
}

export async function log(cli: Cli, url: string, options: { ref?: string; limit?: number; json?: boolean }): Promise<void> {
  const { repo } = await openRepository(cli, url, "log", { readOnly: true });
  const entries = await repo.log(options.ref ?? MAIN_BRANCH, { limit: options.limit });
  if (options.json) {
    cli.print(toJson(entries.map(logEntryJson), 2));
    return;
  }
  const labels = await decorations(repo);
  const rows = entries.map((e) => {
    const refs = labels.get(e.id);
    return [e.id, formatTime(e.time), formatAuthor(e.author), `${refs ? `(${refs.join(", ")}) ` : ""}${firstLine(e.message)}`];
  });
  cli.print(formatTable([["SNAPSHOT", "TIME", "AUTHOR", "MESSAGE"], ...rows]));
}

/** Branches or tags with the snapshot each points at and that snapshot's time and message. */
async function listRefs(cli: Cli, repo: Repository, kind: "branches" | "tags", json: boolean): Promise<void> {
  const refs = (await repo.summary(MAIN_BRANCH))[kind];
  const heads = await Promise.all(Object.values(refs).map(async (id) => (await repo.log(id, { limit: 1 }))[0]));
  const rows = Object.keys(refs).map((name, i) => ({ name, snapshot: heads[i].id, time: heads[i].time, message: heads[i].message }));
  if (json) {
    cli.print(toJson(rows.map((r) => ({ ...r, time: r.time.toISOString() })), 2));
    return;
  }
  if (rows.length === 0) return;
  cli.print(formatTable([["NAME", "SNAPSHOT", "TIME", "MESSAGE"], ...rows.map((r) => [r.name, r.snapshot, formatTime(r.time), firstLine(r.message)])]));
}

export interface BranchOptions {
  from?: string;
  delete?: boolean;
  reset?: string;
  json?: boolean;
}

export async function branch(cli: Cli, url: string, name: string | undefined, options: BranchOptions): Promise<void> {
  const actions = [options.from !== undefined && "--from", options.delete && "--delete", options.reset !== undefined && "--reset"].filter(Boolean);
  if (actions.length > 1) throw new ValidationError(`${actions.join(" and ")} cannot be combined`);
  if (name === undefined && actions.length > 0) throw new ValidationError(`${actions[0]} needs a branch NAME: dosna branch POOL NAME ${actions[0]}${options.delete ? "" : " REF"}`);
  const { repo } = await openRepository(cli, url, "branch", { readOnly: name === undefined });
  if (name === undefined) return listRefs(cli, repo, "branches", options.json ?? false);
  const was = (await repo.summary(MAIN_BRANCH)).branches[name];
  if (options.delete) {
    await repo.deleteBranch(name);
    cli.report(`deleted branch ${name} (was at ${was})`);
  } else if (options.reset !== undefined) {
    // Resolve first, so that the branch moves to the snapshot reported (and an unknown REF changes nothing).
    const to = await repo.resolve(options.reset);
    await repo.resetBranch(name, to);
    cli.report(was === to ? `branch ${name} is already at ${to} (${options.reset})` : `reset branch ${name} to ${to} (${options.reset}; was at ${was})`);
  } else {
    const at = await repo.createBranch(name, { from: options.from });
    cli.report(`created branch ${name} at ${at} (from ${options.from ?? MAIN_BRANCH})`);
  }
}

export async function tag(cli: Cli, url: string, name: string | undefined, ref: string | undefined, options: { json?: boolean }): Promise<void> {
  const { repo } = await openRepository(cli, url, "tag", { readOnly: name === undefined });
  if (name === undefined) return listRefs(cli, repo, "tags", options.json ?? false);
  const at = await repo.createTag(name, ref ?? MAIN_BRANCH);
  cli.report(`created tag ${name} at ${at} (${ref ?? MAIN_BRANCH})`);
}

export async function diff(cli: Cli, url: string, from: string, to: string, options: { json?: boolean }): Promise<void> {
  const { repo } = await openRepository(cli, url, "diff", { readOnly: true });
  const result = await repo.diff(from, to);
  if (options.json) {
    // One line: a diff can list many chunk indices.
    cli.print(toJson(result));
    return;
  }
  cli.print(formatDiff(result, from, to).join("\n"));
}

function formatDiff(result: RepositoryDiff, from: string, to: string): string[] {
  const width = Math.max(from.length, to.length);
  const lines = [`from ${from.padEnd(width)}  ${result.from}`, `to   ${to.padEnd(width)}  ${result.to}`];
  for (const node of result.added) lines.push(`+ /${node.path} (${node.kind === "array" ? "dataset" : "group"})`);
  for (const node of result.removed) lines.push(`- /${node.path} (${node.kind === "array" ? "dataset" : "group"})`);
  for (const group of result.groups) if (group.attributesChanged) lines.push(`~ /${group.path} (group): attributes changed`);
  for (const dataset of result.datasets) lines.push(...formatDatasetDiff(dataset));
  if (lines.length === 2) lines.push(result.from === result.to ? "the same snapshot" : "no differences");
  return lines;
}

function formatDatasetDiff(d: DatasetDiff): string[] {
  const what = [d.metadataChanged && "metadata changed", d.attributesChanged && "attributes changed"].filter(Boolean);
  const chunkLines = (["added", "changed", "removed"] as const)
    .filter((change) => d.chunks[change].length > 0)
    .map((change) => `    ${plural(d.chunks[change].length, "chunk")} ${change}: ${listShort(d.chunks[change].map(formatIndex), INDICES_SHOWN)}`);
  if (what.length === 0 && chunkLines.length === 0) return [];
  return [`~ /${d.path} (dataset)${what.length ? `: ${what.join(", ")}` : ""}`, ...chunkLines];
}

export interface MergeOptions {
  into?: string;
  message?: string;
  author?: string;
  json?: boolean;
}

export async function merge(cli: Cli, url: string, source: string, options: MergeOptions): Promise<void> {
  const author = options.author === undefined ? undefined : parseAuthor(options.author);
  const into = options.into ?? MAIN_BRANCH;
  const { repo } = await openRepository(cli, url, "merge", { readOnly: false });
  const before = (await repo.summary(MAIN_BRANCH)).branches[into];
  let result: { snapshot: string; fastForward: boolean };
  try {
    result = await repo.merge(source, { into, message: options.message, author });
  } catch (error) {
    if (!(error instanceof MergeConflictError)) throw error;
    if (options.json) cli.print(toJson({ merged: false, source, into, conflicts: error.conflicts.map(conflictJson) }));
    for (const conflict of error.conflicts) cli.warn(formatConflict(conflict));
    throw new MergeConflictError(
      `cannot merge ${JSON.stringify(source)} into branch "${into}": both sides changed the same chunks or metadata of ${plural(error.conflicts.length, "node")} (listed above); "${into}" is unchanged`,
      error.conflicts,
    );
  }
  const upToDate = result.snapshot === before;
  if (options.json) {
    cli.print(toJson({ merged: true, source, into, snapshot: result.snapshot, previous: before, fastForward: result.fastForward && !upToDate, upToDate }));
  } else if (upToDate) {
    cli.report(`branch "${into}" already contains ${JSON.stringify(source)}: nothing to merge (at ${result.snapshot})`);
  } else if (result.fastForward) {
    cli.report(`merged ${JSON.stringify(source)} into "${into}": fast-forward to ${result.snapshot} (was at ${before})`);
  } else {
    cli.report(`merged ${JSON.stringify(source)} into "${into}": merge snapshot ${result.snapshot} (was at ${before})`);
  }
}

function conflictJson(conflict: Conflict): Record<string, unknown> {
  return { path: conflict.path, metadata: conflict.metadata, chunks: conflict.chunks.map(indexOfChunkKey) };
}

/** "conflict: /vol: metadata; 2 chunks [0, 0], [0, 1]" (metadata: both changed zarr.json, or one side removed the node). */
function formatConflict(conflict: Conflict): string {
  const parts = [
    ...(conflict.metadata ? ["metadata"] : []),
    ...(conflict.chunks.length ? [`${plural(conflict.chunks.length, "chunk")} ${listShort(conflict.chunks.map((key) => formatIndex(indexOfChunkKey(key))), 50)}`] : []),
  ];
  return `conflict: /${conflict.path}: ${parts.join("; ")}`;
}

export async function checkout(cli: Cli, url: string, ref: string, options: { export: string; overwrite?: boolean }): Promise<void> {
  const began = Date.now();
  const { location, repo } = await openRepository(cli, url, "checkout", { readOnly: true });
  const snapshot = await repo.resolve(ref);
  const targetLocation = await cli.locate(options.export);
  const targetPool = await cli.openPool(targetLocation, { create: true });
  const target = await exportTarget(targetPool, targetLocation, options.overwrite ?? false);
  const { nodes, chunks, copiedServerSide } = await repo.export(snapshot, target, { njobs: cli.connections.njobs, signal: cli.signal });
  cli.report(
    `exported ${ref} (snapshot ${snapshot}) of ${describeLocation(location, "")} to ${describeLocation(targetLocation)} as plain Zarr v3: ` +
      `${plural(nodes, "node")}, ${plural(chunks, "chunk")}${copiedServerSide ? ` (${copiedServerSide} copied server-side)` : ""}; ${formatDuration((Date.now() - began) / 1000)}`,
  );
}

/**
 * The group an export writes into: created when missing; an existing dataset or a group with
 * contents is refused unless `overwrite`, which removes them first (a repository the pool holds
 * is kept: it is not a node of the pool).
 */
async function exportTarget(pool: Pool, location: Location, overwrite: boolean): Promise<Group> {
  const path = location.node;
  const existing = path === "" ? pool : (await pool.has(path)) ? await pool.get(path) : undefined;
  const where = describeLocation(location);
  if (existing instanceof Dataset) {
    if (!overwrite) throw new ValidationError(`${where} is a dataset; pass --overwrite to replace it with the exported version`);
    await pool.delete(path);
  } else if (existing !== undefined) {
    const children = await existing.keys();
    if (children.length > 0) {
      if (!overwrite) {
        throw new ValidationError(`${where} is not empty (it holds ${listShort(children, 5)}); export into an empty or new group, or pass --overwrite to replace its contents`);
      }
      for (const name of children) await existing.delete(name);
    }
  }
  return path === "" ? pool : pool.requireGroup(path);
}

export async function gc(cli: Cli, url: string, options: { olderThan?: string; expire?: string; json?: boolean }): Promise<void> {
  const olderThan = options.olderThan === undefined ? new Date(Date.now() - 3_600_000) : parseOlderThan(options.olderThan);
  const expireBefore = options.expire === undefined ? undefined : parseOlderThan(options.expire);
  const { repo } = await openRepository(cli, url, "gc", { readOnly: false });
  const expired = expireBefore === undefined ? undefined : await repo.expire({ olderThan: expireBefore });
  const result = await repo.gc({ olderThan });
  if (options.json) {
    cli.print(toJson({ olderThan: olderThan.toISOString(), ...(expired ? { expired: expired.expired } : {}), ...result }, 2));
    return;
  }
  if (expired) cli.report(`expired ${plural(expired.expired.length, "snapshot")} made before ${formatTime(expireBefore!)} that no branch or tag points at`);
  const counts = (c: { snapshots: number; manifests: number; chunks: number }) => `${plural(c.snapshots, "snapshot")}, ${plural(c.manifests, "manifest")}, ${plural(c.chunks, "chunk")}`;
  cli.report(`deleted ${counts(result.deleted)} (unreachable from any branch or tag, made before ${formatTime(olderThan)}); kept ${counts(result.kept)}`);
}
