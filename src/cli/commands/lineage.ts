/**
 * The provenance commands: dosna lineage (what a dataset came from, or with --downstream what was
 * made from it: a tree, JSON, W3C PROV-JSON or Mermaid), dosna record (describe something dosna
 * did not see: a model, a run, a file) and dosna invalidate (mark a dataset and everything made
 * from it stale). Provenance lives in the pool itself (under .dosna/provenance/), so these take
 * the pool's plain contents, also in a pool that holds a repository.
 */
import {
  Dataset,
  NotFoundError,
  provenance,
  Repository,
  toMermaid,
  toProvJson,
  TAG_TYPES,
  ValidationError,
  type Pool,
  type PoolProvenance,
  type ProvenanceGraph,
  type ProvenanceRecord,
  type RecordTarget,
  type TagInput,
  type TagValue,
} from "../../index.js";
import type { Cli } from "../context.js";
import { describeLocation, type Location } from "../locations.js";
import { formatTable, plural, toJson } from "../text.js";
import { formatTime } from "../versions.js";

const RECORD_ID = /^[0-9a-f]{24}$/;

export interface LineageOptions {
  depth?: number;
  downstream?: boolean;
  json?: boolean;
  prov?: boolean;
  mermaid?: boolean;
}

export async function lineage(cli: Cli, url: string, options: LineageOptions): Promise<void> {
  const location = await cli.locate(url);
  const pool = await cli.openPool(location, { readOnly: true });
  const path = cli.requireNodePath(location, "dataset");
  const prov = provenance(pool);
  const record = await prov.records.recordOfDataset(path);
  let graph: ProvenanceGraph;
  if (record) {
    const query = { depth: options.depth };
    graph = options.downstream ? await prov.derived(record.id, query) : await prov.lineage(record.id, query);
  } else {
    await requireDataset(pool, location, path);
    graph = { root: "", records: {}, edges: [], problems: [] };
  }
  if (options.json) {
    cli.print(toJson(record ? graph : { ...graph, root: null }, 2));
    return;
  }
  if (options.prov || options.mermaid) {
    for (const problem of graph.problems) cli.warn(`dosna: warning: left out of the graph: ${problem.message}`);
    cli.print(options.prov ? toJson(toProvJson(graph), 2) : toMermaid(graph));
    return;
  }
  if (!record) {
    cli.print(`${describeLocation(location)} has no provenance record: it was not made by a dosna operation (map, apply, clone, load, resize) nor named by a record (dosna record)`);
    return;
  }
  cli.print(formatTree(graph, options.downstream ?? false, options.depth).join("\n"));
}

/** The graph as an indented tree from its root: inputs (or, downstream, what used it) below each record. */
function formatTree(graph: ProvenanceGraph, downstream: boolean, depth: number | undefined): string[] {
  const below = new Map<string, string[]>();
  for (const { from, to } of graph.edges) {
    const [parent, child] = downstream ? [from, to] : [to, from];
    below.set(parent, [...(below.get(parent) ?? []), child]);
  }
  const problems = new Map(graph.problems.map((p) => [p.id, p.message]));
  const shown = new Set<string>();
  const lines: string[] = [];
  const visit = (id: string, prefix: string, branch: string, indent: string) => {
    const record = graph.records[id];
    const repeated = shown.has(id);
    shown.add(id);
    const children = repeated ? [] : [...(below.get(id) ?? [])].sort();
    const notes: string[] = [];
    if (!repeated && !downstream) {
      // Inputs that are not in the graph: unreadable (a problem), or beyond --depth.
      const absent = record.inputs.filter((input) => !(input in graph.records));
      for (const input of absent.filter((input) => problems.has(input))) notes.push(`? ${input}: ${problems.get(input)!}`);
      const beyond = absent.filter((input) => !problems.has(input)).length;
      if (beyond > 0) notes.push(`… ${plural(beyond, "more input")} beyond --depth ${depth}`);
    }
    lines.push(`${prefix}${branch}${describeRecord(record)}${repeated && (below.get(id)?.length ?? 0) > 0 ? "  (see above)" : ""}`);
    const items = [...children.map((child) => ({ child })), ...notes.map((note) => ({ note }))];
    items.forEach((item, i) => {
      const last = i === items.length - 1;
      if ("child" in item) visit(item.child, prefix + indent, last ? "└─ " : "├─ ", last ? "   " : "│  ");
      else lines.push(`${prefix}${indent}${last ? "└─ " : "├─ "}${item.note}`);
    });
  };
  visit(graph.root, "", "", "");
  return lines;
}

/** "peaks  dataset (map)  01a2…  2025-06-01T12:00:00Z  STALE: bad calibration" */
function describeRecord(record: ProvenanceRecord): string {
  const operation = record.data.activity?.operation;
  const kind = operation && operation !== record.kind ? `${record.kind} (${operation})` : record.kind;
  const stale = record.stale ? `  STALE since ${formatTime(new Date(record.stale.at))}: ${record.stale.reason}` : "";
  return `${record.name}  ${kind}  ${record.id}  ${formatTime(record.time)}${stale}`;
}

export interface RecordOptions {
  kind: string;
  name: string;
  input?: string[];
  output?: string[];
  uri?: string[];
  tag?: string[];
  param?: string;
  json?: boolean;
}

export async function record(cli: Cli, url: string, options: RecordOptions): Promise<void> {
  const tags = parseTags(options.tag ?? []);
  const parameters = options.param === undefined ? undefined : parseParameters(options.param);
  const location = await cli.locate(url);
  requirePool(location, url);
  const pool = await cli.openPool(location);
  const prov = provenance(pool);
  const inputs = await Promise.all((options.input ?? []).map((text) => recordTarget(pool, prov, location, text, "--input")));
  const outputs = await Promise.all((options.output ?? []).map((text) => recordTarget(pool, prov, location, text, "--output")));
  const made = await prov.record({
    kind: options.kind,
    name: options.name,
    inputs,
    outputs,
    ...(parameters !== undefined ? { parameters } : {}),
    uris: options.uri ?? [],
    tags,
  });
  cli.print(options.json ? toJson(made, 2) : made.id);
}

export async function invalidate(cli: Cli, url: string, options: { reason: string; action?: string; json?: boolean }): Promise<void> {
  const location = await cli.locate(url);
  const pool = await cli.openPool(location);
  const path = cli.requireNodePath(location, "dataset");
  // A repository's datasets live in immutable versions: only the records are marked there, not
  // the pool's plain contents (which no version shows).
  const versioned = await Repository.exists(pool);
  const prov = provenance(versioned ? pool.store : pool);
  const node = (await pool.has(path)) ? await pool.get(path) : undefined;
  const target: RecordTarget | undefined = node instanceof Dataset ? node : (await prov.records.recordOfDataset(path))?.id;
  if (target === undefined) await requireDataset(pool, location, path);
  const marked = await prov.invalidate(target!, options.reason, { action: options.action });
  if (options.json) {
    cli.print(toJson(marked, 2));
    return;
  }
  const why = `reason: ${options.reason}${options.action ? `; action: ${options.action}` : ""}`;
  cli.print(`marked ${plural(marked.length, "provenance record")} stale (${why}):`);
  cli.print(formatTable([["KIND", "NAME", "RECORD", "DATASET"], ...marked.map((r) => [r.kind, r.name, r.id, r.data.dataset ?? ""])]));
  if (versioned) cli.print(`${describeLocation(location, "")} holds a repository: its versions are immutable, so their datasets are not flagged for readers`);
}

// ----- arguments -----

/** Fails unless `path` names a dataset (one without records gives an empty answer, not an error). */
async function requireDataset(pool: Pool, location: Location, path: string): Promise<void> {
  const where = describeLocation(location, path);
  if (!(await pool.has(path))) throw new NotFoundError(`${where} is neither a dataset nor the path of a dataset with provenance records`);
  if (!((await pool.get(path)) instanceof Dataset)) throw new ValidationError(`${where} is a group, not a dataset: provenance is recorded per dataset`);
}

function requirePool(location: Location, url: string): void {
  if (location.pool !== undefined && location.node !== "") {
    const pool = describeLocation(location, "");
    throw new ValidationError(`\`dosna record\` takes a pool, not a node in it: ${JSON.stringify(url)} names "/${location.node}" inside the pool ${pool}; give ${pool} (outputs and inputs name datasets by path)`);
  }
}

/** An --input or --output: a record id (24 hex digits), or the path of a dataset of the pool (its newest record, made if it has none). */
async function recordTarget(pool: Pool, prov: PoolProvenance, location: Location, text: string, option: string): Promise<RecordTarget> {
  if (RECORD_ID.test(text)) return text;
  const path = text.replace(/^\/+/, "").replace(/\/+$/, "");
  const where = describeLocation(location, path);
  if (path !== "" && (await pool.has(path))) {
    const node = await pool.get(path);
    if (node instanceof Dataset) return node;
    throw new ValidationError(`${option} ${JSON.stringify(text)}: ${where} is a group; give a dataset path or a provenance record id (24 hex digits)`);
  }
  const found = path === "" ? undefined : await prov.records.recordOfDataset(path);
  if (found) return found.id;
  throw new NotFoundError(`${option} ${JSON.stringify(text)} is neither a provenance record id (24 hex digits) nor a dataset of ${describeLocation(location, "")}`);
}

/**
 * --tag NAME=VALUE (true/false a boolean, a number written as JavaScript writes it a number,
 * anything else a string) or NAME:TYPE=VALUE with TYPE one of string, integer, float, boolean, time.
 */
export function parseTags(items: string[]): Record<string, TagInput> {
  const tags: Record<string, TagInput> = {};
  for (const item of items) {
    const split = item.indexOf("=");
    if (split <= 0) throw new ValidationError(`--tag must be NAME=VALUE or NAME:TYPE=VALUE (TYPE: ${TAG_TYPES.join(", ")}), got ${JSON.stringify(item)}`);
    let name = item.slice(0, split);
    const text = item.slice(split + 1);
    const typed = /^(.+):([a-z]+)$/.exec(name);
    let value: TagInput;
    if (typed && (TAG_TYPES as readonly string[]).includes(typed[2])) {
      name = typed[1];
      const type = typed[2] as TagValue["type"];
      const cast = type === "integer" || type === "float" ? (text.trim() === "" ? NaN : Number(text)) : type === "boolean" ? { true: true, false: false }[text] ?? text : text;
      value = { type, value: cast } as TagValue;
    } else value = inferTag(text);
    if (name in tags) throw new ValidationError(`--tag ${JSON.stringify(name)} is given twice`);
    tags[name] = value;
  }
  return tags;
}

function inferTag(text: string): TagInput {
  if (text === "true" || text === "false") return text === "true";
  const n = Number(text);
  return text !== "" && Number.isFinite(n) && String(n) === text ? n : text;
}

function parseParameters(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`--param must be JSON, such as '{"threshold": 0.5}': ${(error as Error).message}`);
  }
}
