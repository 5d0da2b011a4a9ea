/**
 * A pool's provenance: records under `.dosna/provenance/` (docs/provenance.md), each updatable with
 * every earlier revision kept, and an index of empty marker objects whose keys answer queries by
 * listing one prefix: who used a record, the records of a dataset, of a kind, a name, a tag value,
 * a day. Lineage upstream follows `inputs` (one GET per record found); downstream lists `used-by`
 * (one LIST and one GET per record found): the cost follows the answer, not the pool.
 *
 * Records and markers are new objects under fresh ids, and updates are conditional writes, so any
 * number of processes and hosts record at once and lose nothing.
 */
import { createRequire } from "node:module";
import { hostname, userInfo } from "node:os";
import { CorruptMetadataError, NotFoundError, PreconditionFailedError, ValidationError } from "../errors.js";
import { newObjectId, timeOfId } from "../core/object-ids.js";
import { DEFAULT_CONFLICT_POLICY, retryOnConflict } from "../core/optimistic.js";
import type { Store } from "../store/store.js";
import { normaliseTags, type ProvenanceRecordData, recordSchema, requireJson, type TagInput, type TagValue } from "./records.js";

const PREFIX = ".dosna/provenance/";
const recordKey = (id: string) => `${PREFIX}records/${id}.json`;
const historyKey = (id: string, revision: number) => `${PREFIX}history/${id}/${String(revision).padStart(6, "0")}.json`;
const segment = (text: string) => `~${encodeURIComponent(text)}`;
const INDEX = {
  usedBy: (input: string) => `${PREFIX}index/used-by/${input}/`,
  dataset: (path: string) => `${PREFIX}index/dataset/${segment(path)}/`,
  kind: (kind: string) => `${PREFIX}index/kind/${segment(kind)}/`,
  name: (name: string) => `${PREFIX}index/name/${segment(name)}/`,
  tag: (tag: string, value: TagValue) => `${PREFIX}index/tag/${segment(tag)}/${segment(`${value.type}:${value.value}`)}/`,
  day: (day: string) => `${PREFIX}index/day/${day}/`,
};
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const KNOWN_KINDS = ["dataset", "model", "file", "run", "config"] as const;

/** What `record()` takes. `inputs` / `outputs`: records, their ids, or anything with a provenance record id. */
export interface RecordInput {
  kind: string;
  name: string;
  dataset?: string;
  datasetVersion?: string;
  inputs?: Array<string | { id: string }>;
  outputs?: Array<string | { id: string }>;
  activity?: { operation?: string; function?: string; sourceHash?: string; parameters?: unknown };
  /** Shorthand for activity.parameters. */
  parameters?: unknown;
  uris?: string[];
  tags?: Record<string, TagInput>;
}

export interface RecordQuery {
  kind?: string;
  name?: string;
  dataset?: string;
  tag?: { name: string; value: TagInput };
  from?: Date;
  to?: Date;
}

export interface ProvenanceGraph {
  /** The record the query started from. */
  root: string;
  records: Record<string, ProvenanceRecord>;
  /** `from` was an input of `to`. */
  edges: Array<{ from: string; to: string }>;
  /** Records that could not be read (missing or corrupt), with why: the query went on without them. */
  problems: Array<{ id: string; message: string }>;
}

const software = { dosna: packageVersion(), node: process.version };

export class ProvenanceRecord {
  constructor(
    private readonly provenance: Provenance,
    readonly data: ProvenanceRecordData,
  ) {}

  get id(): string {
    return this.data.id;
  }
  get kind(): string {
    return this.data.kind;
  }
  get name(): string {
    return this.data.name;
  }
  get inputs(): string[] {
    return this.data.inputs;
  }
  get outputs(): string[] {
    return this.data.outputs;
  }
  get time(): Date {
    return new Date(this.data.time);
  }
  get revision(): number {
    return this.data.revision;
  }
  get stale(): ProvenanceRecordData["stale"] {
    return this.data.stale;
  }

  /** Earlier revisions, oldest first (the current one is this record). */
  history(): Promise<ProvenanceRecord[]> {
    return this.provenance.history(this.id);
  }

  /** The input records themselves (one GET each). */
  inputRecords(): Promise<ProvenanceRecord[]> {
    return Promise.all(this.inputs.map((id) => this.provenance.get(id)));
  }

  /** Records that list this one among their inputs. */
  derivedRecords(): Promise<ProvenanceRecord[]> {
    return this.provenance.usedBy(this.id);
  }

  toJSON(): ProvenanceRecordData {
    return this.data;
  }
}

export class Provenance {
  constructor(
    readonly store: Store,
    readonly where: string,
  ) {}

  /** Record something: a run, a model, a file, a dataset. Every input must exist; outputs get this record as an input. */
  async record(input: RecordInput): Promise<ProvenanceRecord> {
    const data = await this.validate(input);
    for (const output of data.outputs) {
      if (data.inputs.includes(output)) throw new ValidationError(`provenance record ${JSON.stringify(data.name)} lists ${output} as both input and output (a cycle); nothing was recorded`);
      for (const inputId of data.inputs) {
        if (output in (await this.lineage(inputId)).records) {
          throw new ValidationError(`provenance record ${JSON.stringify(data.name)} cannot output ${output}: its input ${inputId} derives from ${output} (a cycle ${output} → … → ${inputId} → ${JSON.stringify(data.name)} → ${output}); nothing was recorded`);
        }
      }
    }
    await this.write(data);
    for (const output of data.outputs) await this.update(output, (current) => ({ ...current, inputs: unique([...current.inputs, data.id]) }), { linking: data.id });
    return new ProvenanceRecord(this, data);
  }

  async get(id: string): Promise<ProvenanceRecord> {
    if (typeof id !== "string" || !/^[0-9a-f]{24}$/.test(id)) throw new ValidationError(`invalid provenance record id ${JSON.stringify(id)}: expected 24 hex digits`);
    const found = await this.read(id);
    if (!found) throw new NotFoundError(`provenance record ${id} does not exist in ${this.where}`);
    return new ProvenanceRecord(this, found.data);
  }

  /**
   * Change a record: a new revision, the previous one kept in its history. `change` gets the
   * latest stored data (re-run if another writer updated it meanwhile).
   */
  async update(id: string, change: (current: ProvenanceRecordData) => ProvenanceRecordData, options: { linking?: string } = {}): Promise<ProvenanceRecord> {
    let result: ProvenanceRecordData | undefined;
    await retryOnConflict(`update of provenance record ${id}`, recordKey(id), DEFAULT_CONFLICT_POLICY, undefined, async () => {
      const found = await this.read(id);
      if (!found) throw new NotFoundError(`provenance record ${id} does not exist in ${this.where}`);
      const changed = change(structuredClone(found.data));
      const next = this.checkUpdate({ ...changed, id, revision: found.data.revision + 1, updated: new Date().toISOString() });
      if (options.linking === undefined) await this.refuseCycles(next);
      await this.store.set(historyKey(id, found.data.revision), encoder.encode(JSON.stringify(found.data)));
      await this.store.set(recordKey(id), encoder.encode(JSON.stringify(next)), { ifMatch: found.version });
      await this.writeIndex(next, found.data);
      result = next;
    });
    return new ProvenanceRecord(this, result!);
  }

  /** An update's result must still be a valid record: typed tags of their declared type, JSON parameters. */
  private checkUpdate(next: ProvenanceRecordData): ProvenanceRecordData {
    const what = `provenance record ${next.id}`;
    for (const [name, tag] of Object.entries(next.tags ?? {})) {
      if (tag === null || typeof tag !== "object" || !("type" in tag)) {
        throw new ValidationError(`tag "${name}" of ${what}: an update must give typed tags ({ type, value }), got ${JSON.stringify(tag)}`);
      }
    }
    next.tags = normaliseTags(next.tags, what);
    if (next.activity?.parameters !== undefined) requireJson(next.activity.parameters, `parameters of ${what}`);
    const parsed = recordSchema.safeParse(next);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(`${what} would not be valid after the update: ${issue?.path.join(".")}: ${issue?.message}`);
    }
    return parsed.data;
  }

  async history(id: string): Promise<ProvenanceRecord[]> {
    const keys: string[] = [];
    for await (const key of this.store.list(`${PREFIX}history/${id}/`)) keys.push(key);
    keys.sort();
    const records = await Promise.all(keys.map(async (key) => this.decode(await this.store.get(key), `revision ${key.slice(-11, -5)} of provenance record ${id}`)));
    return records.map((data) => new ProvenanceRecord(this, data));
  }

  /** Records listing `id` among their inputs. */
  async usedBy(id: string): Promise<ProvenanceRecord[]> {
    const ids = await this.listIds(INDEX.usedBy(id));
    return (await Promise.all(ids.map((found) => this.read(found)))).flatMap((r) => (r && r.data.inputs.includes(id) ? [new ProvenanceRecord(this, r.data)] : []));
  }

  /** The newest record about dataset `path`, if any. */
  async recordOfDataset(path: string): Promise<ProvenanceRecord | undefined> {
    const ids = (await this.listIds(INDEX.dataset(path))).sort();
    // A corrupt newest record is an error (CorruptMetadataError naming it), not silently passed over.
    for (const id of ids.reverse()) {
      const found = await this.read(id);
      if (found && found.data.dataset === path) return new ProvenanceRecord(this, found.data);
    }
    return undefined;
  }

  /** Records by kind, name, dataset, tag value and time range (the most selective index is listed, the rest filtered). */
  async find(query: RecordQuery): Promise<ProvenanceRecord[]> {
    const tag = query.tag ? normaliseTags({ [query.tag.name]: query.tag.value }, "the query")[query.tag.name] : undefined;
    // A plain whole number matches integer and float tags alike (3 and 3.0 are one number).
    const tagValues = tag?.type === "integer" && typeof query.tag!.value === "number" ? [tag, { type: "float" as const, value: tag.value }] : tag ? [tag] : [];
    let ids: string[];
    if (tag) {
      ids = (await Promise.all(tagValues.map((value) => this.listIds(INDEX.tag(query.tag!.name, value))))).flat();
      // With a kind or name too, read only the records in both indexes.
      const other = query.name !== undefined ? INDEX.name(query.name) : query.kind !== undefined ? INDEX.kind(query.kind) : undefined;
      if (other) {
        const also = new Set(await this.listIds(other));
        ids = ids.filter((id) => also.has(id));
      }
    } else if (query.dataset !== undefined) ids = await this.listIds(INDEX.dataset(query.dataset));
    else if (query.name !== undefined) ids = await this.listIds(INDEX.name(query.name));
    else if (query.kind !== undefined) ids = await this.listIds(INDEX.kind(query.kind));
    else ids = await this.idsByDays(query.from, query.to);
    const from = query.from?.getTime() ?? -Infinity;
    const to = query.to?.getTime() ?? Infinity;
    ids = ids.filter((id) => {
      const time = timeOfId(id) ?? 0;
      return time >= from && time <= to;
    });
    const records = (await Promise.all(ids.map((id) => this.read(id).catch(() => undefined)))).flatMap((r) => (r ? [r.data] : []));
    return records
      .filter((r) => (query.kind === undefined || r.kind === query.kind) && (query.name === undefined || r.name === query.name))
      .filter((r) => query.dataset === undefined || r.dataset === query.dataset)
      .filter((r) => !tag || tagValues.some((t) => r.tags[query.tag!.name]?.type === t.type && r.tags[query.tag!.name]?.value === t.value))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((data) => new ProvenanceRecord(this, data));
  }

  /** Everything upstream of `id` (its inputs, theirs, … to `depth` steps), as a graph. */
  lineage(id: string, options: { depth?: number } = {}): Promise<ProvenanceGraph> {
    return this.walk(id, options.depth ?? Infinity, async (record) => record.data.inputs.map((input) => ({ next: input, edge: { from: input, to: record.id } })));
  }

  /** Everything downstream of `id` (what used it, what used those, … to `depth` steps), as a graph. */
  derived(id: string, options: { depth?: number } = {}): Promise<ProvenanceGraph> {
    return this.walk(id, options.depth ?? Infinity, async (record) =>
      (await this.listIds(INDEX.usedBy(record.id))).map((user) => ({ next: user, edge: { from: record.id, to: user } })),
    );
  }

  /** Mark `id` and everything downstream stale, with who, when and why; returns the records marked. */
  async invalidate(id: string, reason: string, options: { action?: string } = {}): Promise<ProvenanceRecord[]> {
    if (typeof reason !== "string" || reason.trim() === "") throw new ValidationError("invalidate needs a reason (a non-empty string)");
    const graph = await this.derived(id);
    if (graph.problems.length > 0) {
      throw new CorruptMetadataError(
        `cannot invalidate ${id}: records downstream of it cannot be read, so what they lead to is unknown (${graph.problems.map((p) => p.message).join("; ")}); nothing was marked`,
      );
    }
    const stale = { reason, at: new Date().toISOString(), by: agent(), source: id, ...(options.action ? { action: options.action } : {}) };
    const marked: ProvenanceRecord[] = [];
    for (const recordId of Object.keys(graph.records)) marked.push(await this.update(recordId, (current) => ({ ...current, stale }), { linking: "" }));
    return marked;
  }

  /** Clear the stale mark of `id`, and of every record downstream that the same invalidation marked. */
  async revalidate(id: string): Promise<ProvenanceRecord[]> {
    const graph = await this.derived(id);
    const source = graph.records[id].stale?.source ?? id;
    const cleared: ProvenanceRecord[] = [];
    for (const record of Object.values(graph.records)) {
      if (!record.stale || (record.id !== id && record.stale.source !== source)) continue;
      cleared.push(await this.update(record.id, ({ stale: _dropped, ...rest }) => rest, { linking: "" }));
    }
    return cleared;
  }

  /** Bring records (with their ids and history-free current revisions) into this pool: those already here are kept. */
  async importRecords(records: ProvenanceRecordData[]): Promise<number> {
    let imported = 0;
    for (const data of records) {
      if (await this.read(data.id)) continue;
      await this.writeIndex(data);
      try {
        await this.store.set(recordKey(data.id), encoder.encode(JSON.stringify(data)), { ifNoneMatch: "*" });
        imported++;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    return imported;
  }

  // ----- internals -----

  private async walk(
    start: string,
    depth: number,
    neighbours: (record: ProvenanceRecord) => Promise<Array<{ next: string; edge: { from: string; to: string } }>>,
  ): Promise<ProvenanceGraph> {
    const root = await this.get(start);
    const graph: ProvenanceGraph = { root: start, records: { [start]: root }, edges: [], problems: [] };
    let frontier = [root];
    for (let step = 0; step < depth && frontier.length > 0; step++) {
      const found = (await Promise.all(frontier.map(neighbours))).flat();
      const fresh = unique(found.map((f) => f.next)).filter((id) => !(id in graph.records));
      const read = new Map<string, ProvenanceRecord>();
      await Promise.all(
        fresh.map((id) =>
          this.read(id).then(
            (r) => (r ? read.set(id, new ProvenanceRecord(this, r.data)) : graph.problems.push({ id, message: `provenance record ${id} is missing from ${this.where}` })),
            (error: unknown) => graph.problems.push({ id, message: (error as Error).message }),
          ),
        ),
      );
      // An edge holds only while `to` still lists `from` among its inputs (an update may have dropped it).
      const holds = (e: { from: string; to: string }) => (read.get(e.to) ?? graph.records[e.to])?.data.inputs.includes(e.from) ?? false;
      const accepted = found.filter((f) => holds(f.edge));
      graph.edges.push(...accepted.map((f) => f.edge));
      frontier = unique(accepted.map((f) => f.next)).flatMap((id) => (read.has(id) ? [read.get(id)!] : []));
      for (const record of frontier) graph.records[record.id] = record;
    }
    graph.edges = uniqueEdges(graph.edges.filter((e) => e.from in graph.records && e.to in graph.records));
    return graph;
  }

  private async validate(input: RecordInput): Promise<ProvenanceRecordData> {
    if (input === null || typeof input !== "object") throw new ValidationError("a provenance record needs { kind, name, ... }");
    const what = `provenance record ${JSON.stringify(input.name)}`;
    if (typeof input.kind !== "string" || input.kind === "") throw new ValidationError(`${what} needs a kind (${KNOWN_KINDS.join(", ")}, or your own)`);
    if (typeof input.name !== "string" || input.name === "") throw new ValidationError(`provenance record needs a name (a non-empty string)`);
    const inputs = unique((input.inputs ?? []).map((x) => idOf(x, `an input of ${what}`)));
    const outputs = unique((input.outputs ?? []).map((x) => idOf(x, `an output of ${what}`)));
    for (const id of [...inputs, ...outputs]) {
      if (!(await this.read(id))) throw new NotFoundError(`${what} names record ${id}, which does not exist in ${this.where}; nothing was recorded`);
    }
    const parameters = input.parameters ?? input.activity?.parameters;
    if (parameters !== undefined) requireJson(parameters, `parameter${typeof parameters === "object" && parameters !== null ? "s" : ""} of ${what}`);
    for (const uri of input.uris ?? []) if (typeof uri !== "string" || uri === "") throw new ValidationError(`URIs of ${what} must be non-empty strings, got ${JSON.stringify(uri)}`);
    const now = new Date();
    const activity = input.activity || parameters !== undefined ? { ...input.activity, ...(parameters !== undefined ? { parameters } : {}) } : undefined;
    return recordSchema.parse({
      format: "dosna-provenance",
      version: 1,
      id: newObjectId(now.getTime()),
      revision: 1,
      kind: input.kind,
      name: input.name,
      ...(input.dataset !== undefined ? { dataset: input.dataset } : {}),
      ...(input.datasetVersion !== undefined ? { datasetVersion: input.datasetVersion } : {}),
      time: now.toISOString(),
      updated: now.toISOString(),
      agent: agent(),
      software,
      inputs,
      outputs,
      ...(activity ? { activity } : {}),
      uris: input.uris ?? [],
      tags: normaliseTags(input.tags, what),
    });
  }

  /** A record may not be among its own ancestors. */
  private async refuseCycles(record: ProvenanceRecordData): Promise<void> {
    if (record.inputs.includes(record.id)) throw new ValidationError(`provenance record ${record.id} cannot list itself as an input (a cycle)`);
    for (const input of record.inputs) {
      const upstream = await this.lineage(input);
      if (record.id in upstream.records) {
        throw new ValidationError(`provenance record ${record.id} cannot take ${input} as an input: ${input} already derives from it (a cycle ${record.id} → … → ${input} → ${record.id})`);
      }
    }
  }

  private async write(data: ProvenanceRecordData): Promise<void> {
    // Index first: a marker without its record is skipped by queries; a record is never unfindable.
    await this.writeIndex(data);
    await this.store.set(recordKey(data.id), encoder.encode(JSON.stringify(data)), { ifNoneMatch: "*" });
  }

  private async writeIndex(data: ProvenanceRecordData, previous?: ProvenanceRecordData): Promise<void> {
    const prefixes = [
      ...data.inputs.filter((i) => !previous?.inputs.includes(i)).map(INDEX.usedBy),
      ...(data.dataset !== undefined && data.dataset !== previous?.dataset ? [INDEX.dataset(data.dataset)] : []),
      ...(data.kind !== previous?.kind ? [INDEX.kind(data.kind)] : []),
      ...(data.name !== previous?.name ? [INDEX.name(data.name)] : []),
      ...(previous ? [] : [INDEX.day(data.time.slice(0, 10))]),
      ...Object.entries(data.tags)
        .filter(([name, value]) => previous?.tags[name]?.value !== value.value || previous?.tags[name]?.type !== value.type)
        .map(([name, value]) => INDEX.tag(name, value)),
    ];
    await Promise.all(prefixes.map((prefix) => this.store.set(`${prefix}${data.id}`, EMPTY)));
  }

  private async read(id: string): Promise<{ data: ProvenanceRecordData; version: string } | undefined> {
    const found = await this.store.getVersioned(recordKey(id));
    if (!found) return undefined;
    return { data: this.decode(found.bytes, `provenance record ${id}`), version: found.version };
  }

  private decode(bytes: Uint8Array | undefined, what: string): ProvenanceRecordData {
    if (bytes === undefined) throw new CorruptMetadataError(`${what} is missing from ${this.where}`);
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(bytes));
    } catch (error) {
      throw new CorruptMetadataError(`${what} in ${this.where} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = recordSchema.safeParse(json);
    if (!parsed.success) throw new CorruptMetadataError(`${what} in ${this.where} is malformed: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  private async listIds(prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.store.list(prefix)) {
      const id = key.slice(prefix.length);
      if (/^[0-9a-f]{24}$/.test(id)) ids.push(id);
    }
    return ids;
  }

  private async idsByDays(from: Date | undefined, to: Date | undefined): Promise<string[]> {
    if (from === undefined || to === undefined) {
      const ids: string[] = [];
      for await (const key of this.store.list(`${PREFIX}records/`)) ids.push(key.slice(`${PREFIX}records/`.length, -".json".length));
      return ids;
    }
    const ids: string[] = [];
    for (let day = new Date(from.toISOString().slice(0, 10)); day <= to; day = new Date(day.getTime() + 86_400_000)) {
      ids.push(...(await this.listIds(INDEX.day(day.toISOString().slice(0, 10)))));
    }
    return ids;
  }
}

function idOf(x: string | { id: string }, what: string): string {
  const id = typeof x === "string" ? x : x?.id;
  if (typeof id !== "string" || !/^[0-9a-f]{24}$/.test(id)) throw new ValidationError(`${what} must be a provenance record or its id (24 hex digits), got ${JSON.stringify(x)}`);
  return id;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function uniqueEdges(edges: Array<{ from: string; to: string }>): Array<{ from: string; to: string }> {
  const seen = new Set<string>();
  return edges.filter((e) => !seen.has(`${e.from}>${e.to}`) && (seen.add(`${e.from}>${e.to}`), true));
}

function agent(): { user: string; host: string } {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no user database entry (containers)
  }
  return { user, host: hostname() };
}

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export { PreconditionFailedError };
