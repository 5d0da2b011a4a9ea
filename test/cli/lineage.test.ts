/**
 * The built `dosna` command's provenance commands on a local pool: `record` (what dosna did not
 * see: a model, a run; inputs and outputs by record id or dataset path, URIs, typed tags,
 * parameters), `lineage` (a tree upstream or --downstream, --depth, --json, --prov, --mermaid) and
 * `invalidate` (everything downstream marked stale, datasets flagged for their readers). The data
 * is made through the library in this process and every output is checked against what the
 * library says. Bad input exits 1 with one line on stderr and leaves every stored object as it
 * was; an unreadable record exits 2.
 */
import { mkdtemp, rm as rmDir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { expectStoreUnchanged, snapshotStore } from "../helpers/store-snapshot.js";
import { dosna, dosnaOk, ensureBuilt } from "./run.js";

const ID = /^[0-9a-f]{24}$/;
const RECORDS = ".dosna/provenance/records/";

let dir: string;
let pool: dn.Pool;
let raw: dn.Dataset;
let peaks: dn.Dataset;
/** Record ids by name, as the library reports them. */
const ids: Record<string, string> = {};

const run = (args: string[]) => dosna(args, { cwd: dir });
const runOk = (args: string[]) => dosnaOk(args, { cwd: dir });

async function openPool(name: string): Promise<dn.Pool> {
  return dn.Pool.open(new dn.FileSystemStore(join(dir, name), { createRoot: false }), { name: join(dir, name) });
}

/** The library's answer, as JSON (records by their data). */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** As the CLI prints a time: to the second, UTC. */
function second(time: Date | string): string {
  return new Date(time).toISOString().replace(/\.\d+Z$/, "Z");
}

/** A failure: exit code, exactly one line on stderr matching `message`, nothing on stdout, the store unchanged. */
async function expectFailure(args: string[], code: number, message: RegExp, store: dn.Store = pool.store): Promise<void> {
  const before = await snapshotStore(store);
  const result = await run(args);
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(/^dosna: [^\n]*\n$/);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toBe("");
  await expectStoreUnchanged(store, before);
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-lineage-"));
  pool = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "lab")), { name: join(dir, "lab") });
  raw = await pool.createDataset("raw", { data: Float32Array.from({ length: 16 }, (_, i) => i), shape: [4, 4], chunks: [2, 2] });
  peaks = await raw.map(function peakFilter(chunk) {
    return chunk;
  }, "peaks");
  await pool.createDataset("pred", { shape: [4, 4], dtype: "float32", chunks: [2, 2] });
  await pool.createDataset("plain", { shape: [2], dtype: "int8" });
  await pool.createGroup("g");
  ids.raw = (await raw.provenanceRecord()).id;
  ids.peaks = (await peaks.provenanceRecord()).id;
});
afterAll(async () => {
  await rmDir(dir, { recursive: true, force: true });
});

describe("dosna record", () => {
  it("records a model from a dataset path with URIs, typed tags and parameters, and prints its id", async () => {
    const out = await runOk([
      "record", "lab", "--kind", "model", "--name", "unet",
      "--input", "peaks", "--uri", "s3://models/unet.pt", "--uri", "https://example.org/unet",
      "--tag", "epochs=3", "--tag", "lr:float=0.01", "--tag", "code=007", "--tag", "best=true", "--tag", "trained:time=2025-06-01", "--tag", "n:string=12",
      "--param", '{"optimizer": "adam", "layers": [64, 32]}',
    ]);
    expect(out).toMatch(/^[0-9a-f]{24}\n$/);
    ids.model = out.trim();
    const model = await dn.provenance(pool).get(ids.model);
    expect(model.data).toMatchObject({
      kind: "model",
      name: "unet",
      inputs: [ids.peaks],
      outputs: [],
      uris: ["s3://models/unet.pt", "https://example.org/unet"],
      tags: {
        epochs: { type: "integer", value: 3 },
        lr: { type: "float", value: 0.01 },
        code: { type: "string", value: "007" },
        best: { type: "boolean", value: true },
        trained: { type: "time", value: "2025-06-01T00:00:00.000Z" },
        n: { type: "string", value: "12" },
      },
      activity: { parameters: { optimizer: "adam", layers: [64, 32] } },
    });
    expect((await dn.provenance(pool).find({ tag: { name: "epochs", value: 3 } })).map((r) => r.id)).toEqual([ids.model]);
  });

  it("records a run with inputs by id and by path and an output dataset, which gets the run as its input; --json prints the record", async () => {
    const out = await runOk(["record", "lab", "--kind", "run", "--name", "inference", "--input", ids.model, "--input", "/raw", "--output", "pred", "--param", '{"threshold": 0.5}', "--json"]);
    const printed = JSON.parse(out) as dn.ProvenanceRecordData;
    expect(printed.id).toMatch(ID);
    ids.run = printed.id;
    const library = await dn.provenance(pool).get(ids.run);
    expect(printed).toEqual(library.data);
    expect(library.inputs).toEqual([ids.model, ids.raw]);
    const pred = await (await openPool("lab")).getDataset("pred");
    const predRecord = await pred.provenanceRecord();
    ids.pred = predRecord.id;
    expect(library.outputs).toEqual([ids.pred]);
    expect(predRecord.data).toMatchObject({ kind: "dataset", name: "pred", dataset: "pred", inputs: [ids.run] });
    // -q does not hide the id: it is the command's answer, not a summary.
    ids.config = (await runOk(["-q", "record", "lab", "--kind", "config", "--name", "settings", "--output", ids.model])).trim();
    expect(ids.config).toMatch(ID);
    expect((await dn.provenance(pool).get(ids.model)).inputs).toEqual([ids.peaks, ids.config]);
  });

  it("refuses bad input with one line and exit 1, recording nothing", async () => {
    await Promise.all([
      expectFailure(["record", "lab", "--name", "x"], 1, /required option '--kind <kind>' not specified/),
      expectFailure(["record", "lab", "--kind", "run"], 1, /required option '--name <name>' not specified/),
      expectFailure(["record", "lab/raw", "--kind", "run", "--name", "x"], 1, /`dosna record` takes a pool, not a node in it: "lab\/raw" names "\/raw"/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--input", "0123456789abcdef01234567"], 1, /names record 0123456789abcdef01234567, which does not exist in pool ".*lab"; nothing was recorded/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--input", "nothing/here"], 1, /--input "nothing\/here" is neither a provenance record id \(24 hex digits\) nor a dataset of .*lab::/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--output", "g"], 1, /--output "g": .*lab::g is a group/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--tag", "novalue"], 1, /--tag must be NAME=VALUE or NAME:TYPE=VALUE/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--tag", "n:integer=1.5"], 1, /tag "n" of provenance record "x": declared integer: a whole number/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--tag", "a=1", "--tag", "a=2"], 1, /--tag "a" is given twice/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--param", "{oops"], 1, /--param must be JSON/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--uri", ""], 1, /URIs of provenance record "x" must be non-empty strings/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--input", ids.pred, "--output", ids.pred], 1, /as both input and output \(a cycle\)/),
      expectFailure(["record", "lab", "--kind", "run", "--name", "x", "--input", "pred", "--output", "raw"], 1, /cannot output .*: its input .* derives from/),
      expectFailure(["record", "nowhere", "--kind", "run", "--name", "x"], 1, /no dosna pool at or above/),
    ]);
  });
});

describe("dosna lineage", () => {
  it("prints the lineage as a tree: kind, operation, id, time; a record reached twice is shown again", async () => {
    const graph = await (await pool.getDataset("pred")).lineage();
    const r = graph.records;
    expect(ids.raw < ids.model).toBe(true); // children are listed oldest first (ids begin with their time)
    const line = (id: string, kind = r[id].kind) => `${r[id].name}  ${kind}  ${id}  ${second(r[id].time)}`;
    expect(ids.peaks < ids.config).toBe(true);
    expect(await runOk(["lineage", "lab/pred"])).toBe(
      [
        line(ids.pred),
        `└─ ${line(ids.run)}`,
        `   ├─ ${line(ids.raw)}`,
        `   └─ ${line(ids.model)}`,
        `      ├─ ${line(ids.peaks, "dataset (map)")}`,
        `      │  └─ ${line(ids.raw)}`,
        `      └─ ${line(ids.config)}`,
        "",
      ].join("\n"),
    );
  });

  it("--json prints the library's graph; --prov its PROV-JSON; --mermaid its flowchart", async () => {
    const pred = await pool.getDataset("pred");
    const [json, prov, mermaid] = await Promise.all([runOk(["lineage", "lab/pred", "--json"]), runOk(["lineage", "lab/pred", "--prov"]), runOk(["lineage", "lab/pred", "--mermaid"])]);
    const graph = await pred.lineage();
    expect(JSON.parse(json)).toEqual(asJson(graph));
    expect(JSON.parse(prov)).toEqual(asJson(dn.toProvJson(graph)));
    expect(mermaid).toBe(dn.toMermaid(graph));
  });

  it("--depth cuts the walk and says what is left out; --downstream walks the other way", async () => {
    const shallow = await runOk(["lineage", "lab/pred", "--depth", "1"]);
    const lines = shallow.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^└─ inference  run  ${ids.run}  `));
    expect(lines[2]).toBe("   └─ … 2 more inputs beyond --depth 1");
    expect(JSON.parse(await runOk(["lineage", "lab/pred", "--depth", "1", "--json"]))).toEqual(asJson(await (await pool.getDataset("pred")).lineage({ depth: 1 })));

    const down = await runOk(["lineage", "lab/raw", "--downstream"]);
    const derived = await raw.derived();
    expect(JSON.parse(await runOk(["lineage", "lab/raw", "--downstream", "--json"]))).toEqual(asJson(derived));
    const downLines = down.trimEnd().split("\n");
    expect(downLines[0]).toMatch(new RegExp(`^raw  dataset  ${ids.raw}  `));
    // Every record downstream appears; the run is reached from raw and through unet, expanded once.
    for (const id of Object.keys(derived.records)) expect(down, id).toContain(id);
    expect(downLines.filter((l) => l.includes(ids.run))).toHaveLength(2);
    expect(downLines.filter((l) => l.includes(ids.run) && l.endsWith("(see above)"))).toHaveLength(1);
    expect(downLines.filter((l) => l.includes(ids.pred))).toHaveLength(1);
    expect(JSON.parse(await runOk(["lineage", "lab/raw", "--downstream", "--depth", "1", "--json"]))).toEqual(asJson(await raw.derived({ depth: 1 })));
  });

  it("a dataset without records has an empty lineage, in every format", async () => {
    const before = await snapshotStore(pool.store);
    expect(await runOk(["lineage", "lab/plain"])).toMatch(/^.*lab::plain has no provenance record: it was not made by a dosna operation/);
    expect(JSON.parse(await runOk(["lineage", "lab/plain", "--json"]))).toEqual({ root: null, records: {}, edges: [], problems: [] });
    expect(JSON.parse(await runOk(["lineage", "lab/plain", "--prov"]))).toEqual(asJson(dn.toProvJson({ root: "", records: {}, edges: [], problems: [] })));
    expect(await runOk(["lineage", "lab/plain", "--mermaid"])).toBe("flowchart LR\n");
    // A lineage query writes nothing (no record is made for the dataset).
    await expectStoreUnchanged(pool.store, before);
  });

  it("refuses bad input with one line and exit 1", async () => {
    await Promise.all([
      expectFailure(["lineage", "lab/nothing"], 1, /lab::nothing is neither a dataset nor the path of a dataset with provenance records/),
      expectFailure(["lineage", "lab/g"], 1, /lab::g is a group, not a dataset/),
      expectFailure(["lineage", "lab"], 1, /names a pool; add the dataset path after it/),
      expectFailure(["lineage", "lab/pred", "--json", "--prov"], 1, /option '--json' cannot be used with option '--prov'/),
      expectFailure(["lineage", "lab/pred", "--mermaid", "--prov"], 1, /cannot be used with option/),
      expectFailure(["lineage", "lab/pred", "--depth", "0"], 1, /--depth must be a positive integer/),
    ]);
  });
});

describe("dosna invalidate", () => {
  it("marks the dataset and everything downstream stale, lists them, and flags the datasets for their readers", async () => {
    const downstream = await raw.derived();
    const out = await runOk(["invalidate", "lab/raw", "--reason", "bad calibration", "--action", "recompute"]);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toBe(`marked ${Object.keys(downstream.records).length} provenance records stale (reason: bad calibration; action: recompute):`);
    expect(lines[1]).toMatch(/^KIND\s+NAME\s+RECORD\s+DATASET$/);
    const listed = lines.slice(2).map((l) => l.split(/\s+/));
    expect(listed.map((cells) => cells[2]).sort()).toEqual(Object.keys(downstream.records).sort());
    expect(listed[0]).toEqual(["dataset", "raw", ids.raw, "raw"]);

    const prov = dn.provenance(pool);
    for (const id of Object.keys(downstream.records)) {
      const record = await prov.get(id);
      expect(record.stale, record.name).toMatchObject({ reason: "bad calibration", action: "recompute", source: ids.raw });
      const row = listed.find((cells) => cells[2] === id)!;
      expect(row.slice(0, 2)).toEqual([record.kind, record.name]);
    }
    const fresh = await openPool("lab");
    for (const path of ["raw", "peaks", "pred"]) {
      const ds = await fresh.getDataset(path);
      expect(await ds.isStale(), path).toBe(true);
      expect((ds.attrs.get("dosna") as { stale?: { reason: string } }).stale?.reason).toBe("bad calibration");
    }
    expect(await (await fresh.getDataset("plain")).isStale()).toBe(false);
  });

  it("the lineage then shows the stale marks; a read of a flagged dataset warns in one line", async () => {
    const text = await runOk(["lineage", "lab/pred"]);
    const marked = await dn.provenance(pool).get(ids.pred);
    const downstream = await raw.derived();
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(7);
    for (const line of lines) {
      const id = /  ([0-9a-f]{24})  /.exec(line)![1];
      // settings (a config of unet) is upstream of pred but not downstream of raw: not marked.
      expect(line.endsWith(`  STALE since ${second(marked.stale!.at)}: bad calibration`), line).toBe(id in downstream.records);
    }
    expect(lines.filter((line) => !line.includes("STALE"))).toEqual([expect.stringContaining(`settings  config  ${ids.config}`)]);
    expect(await runOk(["lineage", "lab/pred", "--mermaid"])).toBe(dn.toMermaid(await (await pool.getDataset("pred")).lineage()));
    const read = await run(["get", "lab/pred", "0, 0"]);
    expect(read.code).toBe(0);
    expect(read.stdout).toBe("0.0\n");
    expect(read.stderr).toMatch(/^dosna: warning: dataset "\/pred" in pool ".*lab" is stale since \S+: bad calibration \(invalidated through provenance record [0-9a-f]{24}; [^\n]*\)\n$/);
  });

  it("--json prints the records marked, as the library stores them; a dataset without records gets one", async () => {
    const out = await runOk(["invalidate", "lab/plain", "--reason", "wrong units", "--json"]);
    const printed = JSON.parse(out) as dn.ProvenanceRecordData[];
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatchObject({ kind: "dataset", name: "plain", dataset: "plain", stale: { reason: "wrong units" } });
    expect(printed[0]).toEqual((await dn.provenance(pool).get(printed[0].id)).data);
    expect(printed[0].stale!.action).toBeUndefined();
    expect(await (await (await openPool("lab")).getDataset("plain")).isStale()).toBe(true);
  });

  it("refuses bad input with one line and exit 1, marking nothing", async () => {
    await Promise.all([
      expectFailure(["invalidate", "lab/raw"], 1, /required option '--reason <text>' not specified/),
      expectFailure(["invalidate", "lab/raw", "--reason", "  "], 1, /invalidate needs a reason \(a non-empty string\)/),
      expectFailure(["invalidate", "lab/nothing", "--reason", "x"], 1, /lab::nothing is neither a dataset nor the path of a dataset with provenance records/),
      expectFailure(["invalidate", "lab/g", "--reason", "x"], 1, /lab::g is a group, not a dataset/),
      expectFailure(["invalidate", "lab", "--reason", "x"], 1, /names a pool; add the dataset path after it/),
    ]);
  });

  it("in a pool holding a repository, marks the records only: the pool's plain contents stay as they are", async () => {
    const versioned = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "versioned")), { name: join(dir, "versioned") });
    const x = await versioned.createDataset("x", { data: new Int32Array([1, 2, 3]), shape: [3] });
    await x.map((chunk) => chunk, "y");
    await dn.Repository.init(versioned, { author: { name: "Ada" } });
    const plainKeys = async () => {
      const out = await snapshotStore(versioned.store);
      for (const key of [...out.keys()]) if (key.startsWith(".dosna/provenance/")) out.delete(key);
      return out;
    };
    const before = await plainKeys();
    const out = await runOk(["invalidate", "versioned::x", "--reason", "bad input"]);
    expect(out).toMatch(/^marked 2 provenance records stale \(reason: bad input\):\n/);
    expect(out).toMatch(/holds a repository: its versions are immutable, so their datasets are not flagged for readers\n$/);
    expect(await plainKeys()).toEqual(before);
    const y = await dn.provenance(versioned).records.recordOfDataset("y");
    expect(y?.stale?.reason).toBe("bad input");
  });
});

describe("unreadable records", () => {
  it("an unreadable input is shown in the tree and warned about in the other formats; naming it in a record exits 2", async () => {
    const broken = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "broken")), { name: join(dir, "broken") });
    const a = await broken.createDataset("a", { data: new Int32Array([1, 2]), shape: [2] });
    const b = await a.map((chunk) => chunk, "b");
    const aId = (await a.provenanceRecord()).id;
    const bId = (await b.provenanceRecord()).id;
    await writeFile(join(dir, "broken", RECORDS, `${aId}.json`), "{ not json");

    const text = await runOk(["lineage", "broken/b"]);
    expect(text.split("\n")[0]).toMatch(new RegExp(`^b  dataset \\(map\\)  ${bId}  `));
    expect(text.split("\n")[1]).toMatch(new RegExp(`^└─ \\? ${aId}: provenance record ${aId} in pool ".*broken" is not valid JSON`));
    const graph = JSON.parse(await runOk(["lineage", "broken/b", "--json"])) as dn.ProvenanceGraph;
    expect(graph.problems.map((p) => p.id)).toEqual([aId]);
    const mermaid = await run(["lineage", "broken/b", "--mermaid"]);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stderr).toMatch(new RegExp(`^dosna: warning: left out of the graph: provenance record ${aId} .* is not valid JSON[^\\n]*\\n$`));

    await expectFailure(["record", "broken", "--kind", "run", "--name", "x", "--input", aId], 2, new RegExp(`provenance record ${aId} in pool ".*broken" is not valid JSON`), broken.store);
  });
});
