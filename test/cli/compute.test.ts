/**
 * The built `dosna map`, `dosna apply`, `dosna worker` and `dosna jobs` commands: map and apply on a
 * local pool with --functions test/compute/fixtures/functions.mjs on the local and threads engines
 * (results checked with `dosna get` and by opening the pool with the library), and the bad inputs:
 * --params that is not JSON, a bad --engine, a missing functions module or function, a worker
 * without --functions, a queue nothing listens on; each exit 1 with one line naming what is wrong.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dataset, FileSystemStore, Pool } from "../../src/index.js";
import { dosna, dosnaOk, ensureBuilt, ROOT } from "./run.js";

const FUNCTIONS = "test/compute/fixtures/functions.mjs";
const VALUES = Array.from({ length: 30 }, (_, i) => i - 10);

let dir: string;

async function openPool(): Promise<Pool> {
  return Pool.open(new FileSystemStore(join(dir, "lab"), { createRoot: false }), { name: join(dir, "lab") });
}

async function valuesOf(path: string): Promise<number[]> {
  const ds = (await (await openPool()).get(path)) as Dataset;
  expect(ds).toBeInstanceOf(Dataset);
  return Array.from((await ds.read()).data as Int16Array);
}

/** A fresh int16 [5, 6] dataset (chunks [2, 4]: ragged on both axes) holding VALUES. */
async function createInput(name: string): Promise<void> {
  await dosnaOk(["create", `${join(dir, "lab")}::${name}`, "--shape", "5,6", "--dtype", "int16", "--chunks", "2,4"]);
  const ds = (await (await openPool()).get(name)) as Dataset;
  await ds.load(Int16Array.from(VALUES));
}

/** The one line a failed command prints on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0];
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-compute-"));
  await createInput("a");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("dosna map and dosna apply", () => {
  it("map with --functions, --params and each engine writes the function's result beside the input", async () => {
    const runs = [
      ["local", "b_local"],
      ["threads", "b_threads"],
      ["threads:2", "b_threads2"],
    ];
    for (const [engine, out] of runs) {
      const stdout = await dosnaOk(["map", "lab/a", "scale", out, "--functions", join(ROOT, FUNCTIONS), "--engine", engine, "--params", '{"factor":2}'], { cwd: dir });
      expect(stdout).toContain(`mapped "scale" over`);
      expect(stdout).toContain(`lab::${out}`);
      expect(await valuesOf(out), engine).toEqual(VALUES.map((v) => v * 2));
    }
    // As dosna get prints it (numpy's format).
    expect((await dosnaOk(["get", "lab/b_threads", "0, :"], { cwd: dir })).trim()).toBe("[-20 -18 -16 -14 -12 -10]");
    // The input is unchanged, and the provenance names the engine and the parameters.
    expect(await valuesOf("a")).toEqual(VALUES);
    const record = await ((await (await openPool()).get("b_threads")) as Dataset).provenanceRecord();
    expect(record.data.activity).toMatchObject({ operation: "map", function: "scale", registered: true, parameters: { factor: 2 }, engine: "threads" });
    expect(record.data.activity?.hosts).toEqual([expect.stringMatching(new RegExp(`^${hostname()}:\\d+$`))]);
  });

  it("a relative --functions path resolves against the working directory; --engine defaults to local", async () => {
    await dosnaOk(["map", join(dir, "lab/a"), "scale", "c_default", "--functions", FUNCTIONS, "--params", '{"factor":-1,"offset":5}'], { cwd: ROOT });
    expect(await valuesOf("c_default")).toEqual(VALUES.map((v) => 5 - v));
    const record = await ((await (await openPool()).get("c_default")) as Dataset).provenanceRecord();
    expect(record.data.activity).toMatchObject({ engine: "local", parameters: { factor: -1, offset: 5 } });
  });

  it("apply changes the dataset in place, on the local and the threads engine", async () => {
    await createInput("inplace");
    await dosnaOk(["apply", "lab/inplace", "scale", "--functions", join(ROOT, FUNCTIONS), "--engine", "local", "--params", '{"factor":2}'], { cwd: dir });
    expect(await valuesOf("inplace")).toEqual(VALUES.map((v) => v * 2));
    const stdout = await dosnaOk(["apply", "lab/inplace", "scale", "--functions", join(ROOT, FUNCTIONS), "--engine", "threads", "--params", '{"factor":2,"offset":1}'], { cwd: dir });
    expect(stdout).toContain(`applied "scale" to`);
    expect(await valuesOf("inplace")).toEqual(VALUES.map((v) => v * 4 + 1));
    expect((await dosnaOk(["get", "lab/inplace", "4, :"], { cwd: dir })).trim()).toBe("[57 61 65 69 73 77]");
  });

  it("bad --params JSON: exit 1, one line naming --params, nothing made", async () => {
    const texts = ["{factor: 2}", "", "{\"factor\":", "nan"];
    const results = await Promise.all(texts.map((params) => dosna(["map", "lab/a", "scale", "bad_params", "--functions", join(ROOT, FUNCTIONS), "--params", params], { cwd: dir })));
    for (const [i, result] of results.entries()) {
      expect(result.code, texts[i]).toBe(1);
      expect(oneLine(result.stderr)).toMatch(/^dosna: --params must be JSON/);
    }
    const apply = await dosna(["apply", "lab/a", "scale", "--functions", join(ROOT, FUNCTIONS), "--params", "{oops}"], { cwd: dir });
    expect(apply.code).toBe(1);
    expect(oneLine(apply.stderr)).toContain("--params must be JSON");
    expect(await (await openPool()).has("bad_params")).toBe(false);
    expect(await valuesOf("a")).toEqual(VALUES);
  });

  it("bad --engine: exit 1, one line naming --engine and the value, nothing made", async () => {
    const engines = ["gpu", "threads:0", "threads:two", "http://127.0.0.1:1"];
    const results = await Promise.all(engines.map((engine) => dosna(["map", "lab/a", "scale", "bad_engine", "--functions", join(ROOT, FUNCTIONS), "--engine", engine], { cwd: dir })));
    for (const [i, result] of results.entries()) {
      const engine = engines[i];
      expect(result.code, engine).toBe(1);
      const line = oneLine(result.stderr);
      expect(line).toMatch(/^dosna: --engine: expected "local", "threads", "threads:N" or a redis:\/\/host:port URL/);
      expect(line).toContain(JSON.stringify(engine));
    }
    const apply = await dosna(["apply", "lab/a", "scale", "--functions", join(ROOT, FUNCTIONS), "--engine", "gpu"], { cwd: dir });
    expect(apply.code).toBe(1);
    expect(oneLine(apply.stderr)).toContain("--engine");
    expect(await (await openPool()).has("bad_engine")).toBe(false);
  });

  it("a missing functions module, or a function nothing registered: exit 1, one line naming it", async () => {
    const missing = await dosna(["map", "lab/a", "scale", "bad_fn", "--functions", "./no-such-functions.mjs"], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toBe('dosna: functions module "./no-such-functions.mjs" does not exist');
    const unknown = await dosna(["map", "lab/a", "scael", "bad_fn", "--functions", join(ROOT, FUNCTIONS)], { cwd: dir });
    expect(unknown.code).toBe(1);
    const line = oneLine(unknown.stderr);
    expect(line).toContain('no function "scael" is registered');
    expect(line).toContain('"scale"');
    const none = await dosna(["apply", "lab/a", "scale"], { cwd: dir });
    expect(none.code).toBe(1);
    expect(oneLine(none.stderr)).toContain('no function "scale" is registered in this process (registered: none)');
    expect(await (await openPool()).has("bad_fn")).toBe(false);
    expect(await valuesOf("a")).toEqual(VALUES);
  });

  it("a function whose results are wrong: exit 1, one line naming the function, the chunk, expected and got", async () => {
    for (const engine of ["local", "threads:1"]) {
      const result = await dosna(["map", "lab/a", "wrongDtype", "bad_result", "--functions", join(ROOT, FUNCTIONS), "--engine", engine, "-j", "1"], { cwd: dir });
      expect(result.code, engine).toBe(1);
      const line = oneLine(result.stderr.replace(/^map wrongDtype:.*\n/gm, ""));
      expect(line).toMatch(/function "wrongDtype" on chunk \[\d+,\d+\] of dataset "\/a"/);
      expect(line).toContain("returned a float64: expected int16 of shape");
      expect(await (await openPool()).has("bad_result")).toBe(false);
    }
  });
});

describe("dosna worker and dosna jobs", () => {
  it("dosna worker without --functions: exit 1, one line saying it needs --functions", async () => {
    const result = await dosna(["worker", "--queue", "redis://127.0.0.1:1"]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe("dosna: dosna worker needs --functions MODULE (a module that registers chunk functions with dn.registerFunction); repeat it for several");
    // Without --queue either, the missing --queue is named.
    const noQueue = await dosna(["worker", "--functions", join(ROOT, FUNCTIONS)]);
    expect(noQueue.code).toBe(1);
    expect(oneLine(noQueue.stderr)).toContain("--queue");
  });

  it("a queue nothing listens on: dosna jobs and dosna worker exit non-zero naming the URL (password masked)", async () => {
    const jobs = await dosna(["jobs", "--queue", "redis://127.0.0.1:1"]);
    expect(jobs.code).not.toBe(0);
    expect(oneLine(jobs.stderr)).toBe("dosna: cannot reach Redis at redis://127.0.0.1:1: ECONNREFUSED");
    const secret = await dosna(["jobs", "--queue", "redis://:hunter2@127.0.0.1:1"]);
    expect(secret.code).not.toBe(0);
    expect(oneLine(secret.stderr)).toContain("redis://:***@127.0.0.1:1");
    expect(secret.stderr).not.toContain("hunter2");
    const worker = await dosna(["worker", "--queue", "redis://127.0.0.1:1", "--functions", join(ROOT, FUNCTIONS)]);
    expect(worker.code).not.toBe(0);
    expect(oneLine(worker.stderr)).toContain("cannot reach Redis at redis://127.0.0.1:1");
    const badUrl = await dosna(["jobs", "--queue", "http://127.0.0.1:1"]);
    expect(badUrl.code).toBe(1);
    expect(oneLine(badUrl.stderr)).toContain('"http://127.0.0.1:1"');
  });
});

describe("dosna derive ls and dosna derive refresh", () => {
  it("lists a derivation with its stale blocks, and refresh recomputes them", async () => {
    // The library side registers and derives (the CLI lists and refreshes).
    await import(join(ROOT, FUNCTIONS));
    const pool = await openPool();
    const input = await pool.createDataset("series", { shape: [6, 4], dtype: "float32", chunks: [2, 4] });
    await input.set(undefined, 1);
    await pool.derive({ from: "series", fn: "scale", to: "series_x2" });
    const listed = await dosnaOk(["derive", "ls", join(dir, "lab"), "--json"]);
    expect(JSON.parse(listed)).toEqual([{ to: "/series_x2", from: "/series", fn: "scale", blockRows: 2, staleBlocks: 0, blocks: 3 }]);
    // A writer that died after writing block 1 left its marker ("written", not yet recomputed).
    const { markStale } = await import("../../src/compute/derive.js");
    await markStale(input, ["/series_x2"], 1, 1, "gone", "written");
    const table = await dosnaOk(["derive", "ls", join(dir, "lab")]);
    expect(table).toMatch(/\/series\s+\/series_x2\s+scale\s+3 × 2 rows\s+1/);
    const refreshed = await dosna(["derive", "refresh", `${join(dir, "lab")}::series`, "--functions", join(ROOT, FUNCTIONS)]);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stderr + refreshed.stdout).toContain("/series_x2: recomputed 1 block(s) from /series");
    expect(JSON.parse(await dosnaOk(["derive", "ls", join(dir, "lab"), "--json"]))[0].staleBlocks).toBe(0);
    const none = await dosnaOk(["derive", "ls", `${join(dir, "lab")}::a`]);
    expect(none.trim()).toBe("no derivations");
  });
});
