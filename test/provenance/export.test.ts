/**
 * Provenance out to the ecosystem, on a memory pool and a local-directory pool: a small lineage
 * made through the library (raw → map "peaks" → model from peaks → run "inference" with inputs
 * [model, raw] and output "pred"; then raw invalidated) is exported with `toProvJson` to a file
 * and read back by an independent PROV implementation, the Python `prov` package (Debian's
 * python3-prov, through /usr/bin/python3). Python prints what it parsed (entities, activities,
 * agents, and the relations used / wasGeneratedBy / wasDerivedFrom / wasAssociatedWith /
 * wasInvalidatedBy); the test compares that with what the PROV mapping of docs/provenance.md says
 * the graph's records and edges must give, computed here from the graph, not from the export.
 * `toMermaid` is checked line by line against the same graphs.
 *
 * Without python3-prov the PROV read-back is skipped with a loud warning (a failure under CI=true).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";

const PYTHON = "/usr/bin/python3";
const hasProv = spawnSync(PYTHON, ["-c", "import prov.model"], { stdio: "ignore" }).status === 0;
const SKIP_REASON = "SKIPPED: /usr/bin/python3 cannot import prov; install Debian's python3-prov (apt-get install -y python3-prov)";
if (!hasProv) console.warn(`\n*** PROV-JSON read-back tests ${SKIP_REASON} ***\n`);

const RECORD = "urn:dosna:record:";
const PROV_PERSON = "http://www.w3.org/ns/prov#Person";

/** What Python's prov made of a PROV-JSON file: every record it holds, identifiers as full URIs, times in epoch ms. */
interface ProvSummary {
  recordTypes: string[];
  entities: Record<string, { label: string; kind: string }>;
  activities: Record<string, { label: string; start: number | null }>;
  agents: Record<string, { label: string; type: string }>;
  /** [activity, entity] for used; [entity, activity, time] for wasGeneratedBy / wasInvalidatedBy; [generated, used] for wasDerivedFrom; [activity, agent label] for wasAssociatedWith. */
  relations: Record<string, Array<Array<string | number | null>>>;
  roundTrip: boolean;
  provn: number;
}

const SUMMARISE = String.raw`
import json, sys
import prov
import prov.model as pm

doc = prov.read(sys.argv[1], format="json")

def uri(value):
    return None if value is None else value.uri

def ms(value):
    return None if value is None else round(value.timestamp() * 1000)

def first(record, name):
    values = record.get_attribute(name)
    return str(next(iter(values))) if values else None

summary = {"recordTypes": [], "entities": {}, "activities": {}, "agents": {}, "relations": {}}
agents = {}
for record in doc.get_records(pm.ProvAgent):
    agents[uri(record.identifier)] = record.label
    summary["agents"][uri(record.identifier)] = {"label": record.label, "type": uri(next(iter(record.get_attribute("prov:type"))))}
for record in doc.get_records():
    kind = pm.PROV_N_MAP[record.get_type()]
    summary["recordTypes"].append(kind)
    formal = dict(record.formal_attributes)
    if isinstance(record, pm.ProvEntity):
        summary["entities"][uri(record.identifier)] = {"label": record.label, "kind": first(record, "dosna:kind")}
    elif isinstance(record, pm.ProvActivity):
        summary["activities"][uri(record.identifier)] = {"label": record.label, "start": ms(record.get_startTime())}
    elif isinstance(record, pm.ProvAgent):
        pass
    else:
        if kind == "used":
            row = [uri(formal[pm.PROV_ATTR_ACTIVITY]), uri(formal[pm.PROV_ATTR_ENTITY])]
        elif kind in ("wasGeneratedBy", "wasInvalidatedBy"):
            row = [uri(formal[pm.PROV_ATTR_ENTITY]), uri(formal[pm.PROV_ATTR_ACTIVITY]), ms(formal[pm.PROV_ATTR_TIME])]
        elif kind == "wasDerivedFrom":
            row = [uri(formal[pm.PROV_ATTR_GENERATED_ENTITY]), uri(formal[pm.PROV_ATTR_USED_ENTITY])]
        elif kind == "wasAssociatedWith":
            row = [uri(formal[pm.PROV_ATTR_ACTIVITY]), agents.get(uri(formal[pm.PROV_ATTR_AGENT]))]
        else:
            row = [str(v) for _, v in record.formal_attributes]
        summary["relations"].setdefault(kind, []).append(row)
for rows in summary["relations"].values():
    rows.sort(key=json.dumps)
summary["recordTypes"] = sorted(set(summary["recordTypes"]))
again = pm.ProvDocument.deserialize(content=doc.serialize(format="json"), format="json")
summary["roundTrip"] = again == doc
summary["provn"] = len(doc.get_provn())
print(json.dumps(summary))
`;

function python(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ["-c", script, ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let scratch: string;
let files = 0;

/** Export a graph to a file and have Python's prov read it. */
async function readBackWithProv(graph: dn.ProvenanceGraph): Promise<ProvSummary> {
  const path = join(scratch, `graph-${++files}.json`);
  await writeFile(path, JSON.stringify(dn.toProvJson(graph)));
  return JSON.parse(await python(SUMMARISE, [path])) as ProvSummary;
}

/**
 * The PROV a graph must give (docs/provenance.md), from its records and edges: runs are
 * activities, the other records entities; an entity with an activity (made by a dosna operation)
 * was generated by it, which used the entity's inputs and is associated with the record's agent;
 * an edge from an entity to a run is a use, from a run to an entity a generation, from an entity
 * to an entity a derivation; a stale entity was invalidated by an invalidation activity.
 */
function expectedProv(graph: dn.ProvenanceGraph): Omit<ProvSummary, "roundTrip" | "provn"> {
  const records = graph.records;
  const isRun = (id: string) => records[id].kind === "run";
  const entity = (id: string) => `${RECORD}${id}`;
  const operationOf = (id: string) => (isRun(id) ? entity(id) : records[id].data.activity ? `${RECORD}${id}.activity` : undefined);
  const agentOf = (r: dn.ProvenanceRecord) => `${r.data.agent.user}@${r.data.agent.host}`;
  const out: Omit<ProvSummary, "roundTrip" | "provn"> = { recordTypes: [], entities: {}, activities: {}, agents: {}, relations: {} };
  const relate = (kind: string, ...row: Array<string | number | null>) => (out.relations[kind] ??= []).push(row);
  for (const r of Object.values(records)) {
    out.agents[`urn:dosna:agent:${encodeURIComponent(agentOf(r))}`] = { label: agentOf(r), type: PROV_PERSON };
    if (isRun(r.id)) {
      out.activities[entity(r.id)] = { label: r.name, start: r.time.getTime() };
      relate("wasAssociatedWith", entity(r.id), agentOf(r));
      continue;
    }
    out.entities[entity(r.id)] = { label: r.name, kind: r.kind };
    const activity = r.data.activity;
    // One generation per entity: the run it came out of (an input in the graph), else its own operation.
    const generatingRun = r.inputs.find((id) => id in records && isRun(id));
    if (activity) {
      out.activities[`${RECORD}${r.id}.activity`] = { label: activity.operation ?? activity.function ?? "operation", start: r.time.getTime() };
      if (!generatingRun) relate("wasGeneratedBy", entity(r.id), `${RECORD}${r.id}.activity`, r.time.getTime());
      relate("wasAssociatedWith", `${RECORD}${r.id}.activity`, agentOf(r));
    }
    if (generatingRun) relate("wasGeneratedBy", entity(r.id), entity(generatingRun), null);
    if (r.stale) {
      // One activity per invalidation call (its source and time), associated with who ran it.
      const invalidation = `${RECORD}${r.stale.source}.invalidation.${r.stale.at.replace(/[^0-9]/g, "")}`;
      if (!out.activities[invalidation]) {
        out.activities[invalidation] = { label: `invalidated: ${r.stale.reason}`, start: Date.parse(r.stale.at) };
        const by = `${r.stale.by.user}@${r.stale.by.host}`;
        out.agents[`urn:dosna:agent:${encodeURIComponent(by)}`] = { label: by, type: PROV_PERSON };
        relate("wasAssociatedWith", invalidation, by);
      }
      relate("wasInvalidatedBy", entity(r.id), invalidation, Date.parse(r.stale.at));
    }
  }
  for (const { from, to } of graph.edges) {
    if (isRun(from) && isRun(to)) relate("wasInformedBy", entity(to), entity(from));
    else if (!isRun(from) && isRun(to)) relate("used", entity(to), entity(from));
    else if (!isRun(from) && !isRun(to)) {
      relate("wasDerivedFrom", entity(to), entity(from));
      if (operationOf(to)) relate("used", operationOf(to)!, entity(from));
    }
  }
  for (const rows of Object.values(out.relations)) rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const kinds = new Set(["entity", "agent", ...Object.keys(out.relations)]);
  if (Object.keys(out.activities).length) kinds.add("activity");
  out.recordTypes = [...kinds].sort();
  return out;
}

/** Relations by kind, with record URIs replaced by record names (for checks a reader can follow). */
function byName(graph: dn.ProvenanceGraph, relations: ProvSummary["relations"]): Record<string, string[]> {
  const name = (value: string | number | null) => {
    if (typeof value !== "string" || !value.startsWith(RECORD)) return String(value);
    const [id, suffix] = value.slice(RECORD.length).split(".");
    return `${graph.records[id]?.name ?? id}${suffix ? `.${suffix}` : ""}`;
  };
  return Object.fromEntries(Object.entries(relations).map(([kind, rows]) => [kind, rows.map((row) => row.slice(0, 2).map(name).join(" ← ")).sort()]));
}

interface Lineage {
  pool: dn.Pool;
  raw: dn.Dataset;
  peaks: dn.Dataset;
  pred: dn.Dataset;
  model: dn.ProvenanceRecord;
  run: dn.ProvenanceRecord;
  /** pred's lineage before raw was invalidated. */
  before: dn.ProvenanceGraph;
  marked: dn.ProvenanceRecord[];
}

const MODEL_NAME = 'unet "v2" [best] <fast>';

async function buildLineage(pool: dn.Pool): Promise<Lineage> {
  const raw = await pool.createDataset("raw", { data: Float32Array.from({ length: 16 }, (_, i) => i), shape: [4, 4], chunks: [2, 2] });
  const peaks = await raw.map(function peakFilter(chunk) {
    return chunk;
  }, "peaks");
  const prov = dn.provenance(pool);
  const model = await prov.record({ kind: "model", name: MODEL_NAME, inputs: [peaks], uris: ["s3://models/unet.pt"], tags: { epochs: 3 } });
  const pred = await pool.createDataset("pred", { shape: [4, 4], dtype: "float32", chunks: [2, 2] });
  const run = await prov.record({ kind: "run", name: "inference", inputs: [model, raw], outputs: [pred], parameters: { threshold: 0.5 } });
  const before = await pred.lineage();
  const marked = await raw.invalidate("bad calibration", { action: "recompute" });
  return { pool, raw, peaks, pred, model, run, before, marked };
}

const backends: Array<{ name: string; open: () => Promise<dn.Pool> }> = [
  { name: "memory", open: () => dn.Pool.initialise(new dn.MemoryStore(), { name: "export-memory" }) },
  {
    name: "fs",
    open: async () => {
      const root = join(scratch, "fs-pool");
      return dn.Pool.initialise(new dn.FileSystemStore(root), { name: root });
    },
  },
];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "dosna-prov-export-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it("has python3-prov for the PROV-JSON read-back (required under CI=true)", () => {
  if (process.env.CI === "true") expect(hasProv, `CI=true but ${SKIP_REASON}`).toBe(true);
  else expect(true).toBe(true);
});

describe.each(backends)("provenance export on a $name pool", ({ open }) => {
  let l: Lineage;
  let after: dn.ProvenanceGraph;

  beforeAll(async () => {
    l = await buildLineage(await open());
    after = await l.pred.lineage();
  });

  it("the lineage is the one built, and the invalidation of raw marked everything downstream", () => {
    const names = (g: dn.ProvenanceGraph) => Object.values(g.records).map((r) => r.name).sort();
    expect(names(after)).toEqual([MODEL_NAME, "inference", "peaks", "pred", "raw"].sort());
    expect(after.edges).toHaveLength(5);
    expect(after.problems).toEqual([]);
    expect(l.marked.map((r) => r.name).sort()).toEqual(names(after));
    expect(Object.values(after.records).every((r) => r.stale?.reason === "bad calibration" && r.stale.action === "recompute")).toBe(true);
    expect(Object.values(l.before.records).some((r) => r.stale)).toBe(false);
  });

  describe.skipIf(!hasProv)(hasProv ? "read back by Python prov" : `read back by Python prov (${SKIP_REASON})`, () => {
    it("before the invalidation: the entities, activities, agent and relations expected, nothing invalidated", async () => {
      const summary = await readBackWithProv(l.before);
      const { roundTrip, provn, ...parsed } = summary;
      expect(parsed).toEqual(expectedProv(l.before));
      expect(roundTrip).toBe(true);
      expect(provn).toBeGreaterThan(0);
      expect(parsed.relations.wasInvalidatedBy).toBeUndefined();
      expect(byName(l.before, parsed.relations)).toEqual({
        used: [`inference ← ${MODEL_NAME}`, "inference ← raw", "peaks.activity ← raw"].sort(),
        wasGeneratedBy: ["peaks ← peaks.activity", "pred ← inference"],
        wasDerivedFrom: [`${MODEL_NAME} ← peaks`, "peaks ← raw"].sort(),
        wasAssociatedWith: [`inference ← ${l.run.data.agent.user}@${l.run.data.agent.host}`, `peaks.activity ← ${l.run.data.agent.user}@${l.run.data.agent.host}`],
      });
      expect(Object.values(parsed.entities).map((e) => e.label).sort()).toEqual([MODEL_NAME, "peaks", "pred", "raw"].sort());
      expect(Object.values(parsed.activities).map((a) => a.label).sort()).toEqual(["inference", "map"]);
    });

    it("after raw was invalidated: every stale entity wasInvalidatedBy an invalidation at the time it was marked", async () => {
      const { roundTrip, provn: _provn, ...parsed } = await readBackWithProv(after);
      expect(parsed).toEqual(expectedProv(after));
      expect(roundTrip).toBe(true);
      const invalidated = parsed.relations.wasInvalidatedBy.map(([entity]) => after.records[String(entity).slice(RECORD.length)].name).sort();
      expect(invalidated).toEqual([MODEL_NAME, "peaks", "pred", "raw"].sort());
      for (const [, activity, time] of parsed.relations.wasInvalidatedBy) {
        expect(parsed.activities[String(activity)]).toEqual({ label: "invalidated: bad calibration", start: time });
        expect(time).toBe(Date.parse(l.marked[0].stale!.at));
      }
    });

    it("downstream of raw, and a lineage cut at depth 1, export the records and edges of their graphs only", async () => {
      const derived = await l.raw.derived();
      expect(Object.keys(derived.records).sort()).toEqual(Object.keys(after.records).sort());
      const shallow = await l.pred.lineage({ depth: 1 });
      expect(Object.values(shallow.records).map((r) => r.name).sort()).toEqual(["inference", "pred"]);
      for (const graph of [derived, shallow]) {
        const { roundTrip, provn: _provn, ...parsed } = await readBackWithProv(graph);
        expect(parsed).toEqual(expectedProv(graph));
        expect(roundTrip).toBe(true);
      }
      const { relations, entities } = await readBackWithProv(shallow);
      expect(Object.keys(entities)).toEqual([`${RECORD}${(await l.pred.provenanceRecord()).id}`]);
      // The invalidation started at raw, which is outside this cut: its activity is named by raw's id.
      const rawId = (await l.raw.provenanceRecord()).id;
      const by = `${l.marked[0].stale!.by.user}@${l.marked[0].stale!.by.host}`;
      expect(byName(shallow, relations)).toEqual({
        wasGeneratedBy: ["pred ← inference"],
        wasInvalidatedBy: [`pred ← ${rawId}.invalidation`],
        wasAssociatedWith: [`${rawId}.invalidation ← ${by}`, `inference ← ${l.run.data.agent.user}@${l.run.data.agent.host}`].sort(),
      });
    });
  });

  it("toMermaid: one node line per record (runs rounded, stale ones marked), one arrow per edge, the stale class on exactly the stale records", () => {
    for (const graph of [l.before, after]) {
      const lines = dn.toMermaid(graph).split("\n");
      expect(lines[0]).toBe("flowchart LR");
      expect(lines.at(-1)).toBe("");
      const body = lines.slice(1, -1);
      const nodes = body.filter((line) => /^ {2}r[0-9a-f]{24}[[(]/.test(line));
      const arrows = body.filter((line) => line.includes("-->"));
      const classes = body.filter((line) => /^ {2}class(Def)? /.test(line));
      expect(nodes.length + arrows.length + classes.length).toBe(body.length);

      expect(nodes).toHaveLength(Object.keys(graph.records).length);
      for (const record of Object.values(graph.records)) {
        const mine = nodes.filter((line) => line.startsWith(`  r${record.id}[`) || line.startsWith(`  r${record.id}(`));
        expect(mine, record.name).toHaveLength(1);
        const [open, close] = record.kind === "run" ? ['(["', '"])'] : ['["', '"]'];
        expect(mine[0].startsWith(`  r${record.id}${open}`) && mine[0].endsWith(close), mine[0]).toBe(true);
        const label = mine[0].slice(`  r${record.id}${open}`.length, -close.length);
        expect(label, "no quote or bracket left inside a label").not.toMatch(/["[\]{}]/);
        expect(label.endsWith(`<br/>${record.kind}${record.stale ? " (stale)" : ""}`), label).toBe(true);
        expect(label).toContain(record.name === MODEL_NAME ? "unet" : record.name);
      }

      expect(arrows.sort()).toEqual(graph.edges.map((e) => `  r${e.from} --> r${e.to}`).sort());

      const stale = Object.values(graph.records).filter((r) => r.stale).map((r) => `r${r.id}`);
      if (stale.length === 0) expect(classes).toEqual([]);
      else {
        expect(classes[0]).toMatch(/^ {2}classDef stale /);
        expect(classes).toHaveLength(2);
        expect(classes[1].replace(/^ {2}class /, "").replace(/ stale$/, "").split(",").sort()).toEqual(stale.sort());
      }
    }
  });
});
