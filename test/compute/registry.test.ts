/**
 * The function registry and what map/apply check before and after running a function: names,
 * re-registration, unregistering, lookups that list what is registered, loadFunctions errors, JSON
 * parameters, engine specs (option, text form, Cluster default, DOSNA_ENGINE, config file), and the
 * result checks (wrong shape, wrong dtype, plain array, null) on the local and threads engines,
 * each failing with an error that names it and leaving no output.
 *
 * Defect found while writing these (fixed in src/compute/registry.ts): loadFunctions of a module
 * that exists but imports a missing one said the module itself "does not exist" (NotFoundError),
 * because Node's message names the importing module too ("imported from ...").
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { resolveEngine } from "../../src/compute/engines.js";
import { uniquePoolName } from "../helpers/clusters.js";
import { expectError, expectErrorAndNoChange } from "../helpers/expect-error.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const FUNCTIONS = fixture("functions.mjs");
const RESULTS = fixture("results.mjs");
const HERE = `${hostname()}:${process.pid}`;

let cluster: dn.Cluster;
let pool: dn.Pool;

beforeAll(async () => {
  await dn.loadFunctions(FUNCTIONS, RESULTS);
  cluster = new dn.Cluster({ backend: "memory" });
  await cluster.connect();
  pool = await cluster.createPool(uniquePoolName("registry"));
});
afterAll(async () => {
  await cluster?.disconnect();
});

async function smallDataset(name: string, target: dn.Pool = pool): Promise<dn.Dataset> {
  const ds = await target.createDataset(name, { shape: [9, 11], dtype: "float32", chunks: [4, 5] });
  await ds.load(Float32Array.from({ length: 99 }, (_, i) => i - 40));
  return ds;
}

async function valuesOf(ds: dn.Dataset): Promise<number[]> {
  return Array.from((await ds.read()).data as Float32Array);
}

describe("names", () => {
  it("a bad name is refused with a ValidationError naming it", () => {
    const fn = () => 1;
    for (const name of ["", "1abc", "has space", "a/b", "ok?", "é", "x".repeat(129), "-lead"]) {
      expect(() => dn.registerFunction(name, fn), JSON.stringify(name)).toThrow(dn.ValidationError);
      expect(() => dn.registerFunction(name, fn)).toThrow(`invalid name ${JSON.stringify(name)}`);
    }
    for (const name of [42, undefined, null, { name: "x" }]) {
      expect(() => dn.registerFunction(name as unknown as string, fn)).toThrow(dn.ValidationError);
    }
    expect(() => dn.registerFunction("notAFunction", "x => x" as never)).toThrow(/registerFunction\("notAFunction"\): expected a function, got string/);
    expect(dn.registeredFunctionNames()).not.toContain("notAFunction");
  });

  it("good names are letters, digits, _ . : - starting with a letter or _, up to 128 characters", () => {
    const names = ["a", "_x", "ns.fn:v1-2", "A".repeat(128), "snake_case", "Camel9"];
    for (const [i, name] of names.entries()) dn.registerFunction(name, () => i);
    try {
      expect(dn.registeredFunctionNames()).toEqual(expect.arrayContaining(names));
      // The names come back sorted.
      const all = dn.registeredFunctionNames();
      expect(all).toEqual([...all].sort());
    } finally {
      for (const name of names) dn.unregisterFunction(name);
    }
  });
});

describe("registering, re-registering and unregistering", () => {
  it("registering the same function again is fine; another function under a taken name is refused and the first stays", async () => {
    const triple: dn.RegisteredFunction = (chunk) => (chunk.data as Float32Array).map((v) => v * 3);
    dn.registerFunction("triple", triple);
    try {
      dn.registerFunction("triple", triple);
      // The same source text again (a module loaded twice, e.g. by two copies of dosna) is the same function.
      dn.registerFunction("triple", (chunk) => (chunk.data as Float32Array).map((v) => v * 3));
      expect(() => dn.registerFunction("triple", (chunk) => (chunk.data as Float32Array).map((v) => v * 4))).toThrow(dn.ValidationError);
      expect(() => dn.registerFunction("triple", () => 0)).toThrow(/registerFunction\("triple"\): another function is already registered under that name/);
      // A fixture's name is taken too.
      expect(() => dn.registerFunction("scale", () => 0)).toThrow(/"scale"/);
      const ds = await smallDataset("triple-in");
      const out = await ds.map("triple", "triple-out");
      expect(await valuesOf(out)).toEqual(Array.from({ length: 99 }, (_, i) => (i - 40) * 3));
    } finally {
      dn.unregisterFunction("triple");
    }
  });

  it("unregister removes a name (true once, then false), after which another function may take it", async () => {
    dn.registerFunction("temporary", () => 1);
    expect(dn.registeredFunctionNames()).toContain("temporary");
    expect(dn.unregisterFunction("temporary")).toBe(true);
    expect(dn.unregisterFunction("temporary")).toBe(false);
    expect(dn.registeredFunctionNames()).not.toContain("temporary");
    const ds = await smallDataset("unregistered-in");
    await expectError(() => ds.map("temporary", "unregistered-out"), dn.NotFoundError, ['"temporary"']);
    expect(await pool.has("unregistered-out")).toBe(false);
    dn.registerFunction("temporary", () => 2);
    try {
      expect(await valuesOf(await ds.map("temporary", "unregistered-out"))).toEqual(new Array(99).fill(2));
    } finally {
      dn.unregisterFunction("temporary");
    }
  });

  it("running a name nothing registered fails listing the registered names, and stores nothing", async () => {
    const ds = await smallDataset("lookup-in");
    const names = dn.registeredFunctionNames();
    expect(names).toEqual(expect.arrayContaining(["scale", "box3d", "noop", "failAt", "plainArray"]));
    const listed = names.map((n) => `"${n}"`).join(", ");
    for (const engine of ["local", { threads: 1 }] as dn.EngineSpec[]) {
      await expectErrorAndNoChange(pool.context.store, () => ds.map("scael", "lookup-out", { engine }), dn.NotFoundError, ['no function "scael" is registered', listed, "dn.registerFunction"]);
      await expectErrorAndNoChange(pool.context.store, () => ds.apply("scael", { engine }), dn.NotFoundError, ['"scael"', listed]);
    }
  });
});

describe("loadFunctions", () => {
  it("returns the registered names; paths resolve against the working directory and file: URLs work", async () => {
    const names = await dn.loadFunctions(relative(process.cwd(), FUNCTIONS), pathToFileURL(RESULTS).href);
    expect(names).toEqual(dn.registeredFunctionNames());
    expect(names).toEqual(expect.arrayContaining(["scale", "box3d", "increment", "wrongShape", "nullResult", "seven"]));
  });

  it("a missing module → NotFoundError naming it; one that throws → ValidationError naming it and its error", async () => {
    const missing = fixture("no-such-functions.mjs");
    await expectError(() => dn.loadFunctions(missing), dn.NotFoundError, [`functions module "${missing}" does not exist`]);
    await expectError(() => dn.loadFunctions(pathToFileURL(missing).href), dn.NotFoundError, ["no-such-functions.mjs", "does not exist"]);
    const throws = fixture("throws.mjs");
    await expectError(() => dn.loadFunctions(throws), dn.ValidationError, [`functions module "${throws}" failed to load`, "deliberate failure while loading"]);
    // A module that exists but imports a missing one did not "not exist": it failed to load, naming what is missing.
    const importsMissing = fixture("imports-missing.mjs");
    await expectError(() => dn.loadFunctions(importsMissing), dn.ValidationError, [`functions module "${importsMissing}" failed to load`, "no-such-dependency.mjs"]);
  });

  it("a module with a syntax error → ValidationError naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dosna-functions-"));
    try {
      const broken = join(dir, "broken.mjs");
      await writeFile(broken, "export const = 1;\n");
      await expectError(() => dn.loadFunctions(broken), dn.ValidationError, [`functions module "${broken}" failed to load`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("parameters must be plain JSON", () => {
  class Settings {
    sigma = 1;
  }
  const selfRef: Record<string, unknown> = { a: 1 };
  selfRef.self = selfRef;
  const deepSelf: Record<string, unknown> = { list: [] };
  (deepSelf.list as unknown[]).push({ back: deepSelf });
  const cases: [string, unknown, string][] = [
    ["a function", { f: () => 1 }, "params.f is a function"],
    ["the whole params a function", () => 1, "params is a function"],
    ["NaN", { a: [1, NaN] }, "params.a[1] is NaN"],
    ["Infinity", { x: { y: -Infinity } }, "params.x.y is -Infinity"],
    ["a BigInt", { n: 10n }, "params.n is a bigint"],
    ["a class instance", { settings: new Settings() }, "params.settings is a Settings"],
    ["a Date", { when: new Date(0) }, "params.when is a Date"],
    ["a Map", { m: new Map() }, "params.m is a Map"],
    ["a typed array", { data: new Float32Array(2) }, "params.data is a Float32Array"],
    ["undefined inside", { a: undefined }, "params.a is a undefined"], // (JSON would drop it silently)
    ["a symbol", [Symbol("s")], "params[0] is a symbol"],
    ["a self-reference", selfRef, "params.self refers to itself"],
    ["a deeper cycle", deepSelf, "params.list[0].back refers to itself"],
  ];
  for (const [what, params, fragment] of cases) {
    it(`${what} is refused naming the path, before anything is stored`, async () => {
      const ds = await smallDataset(`params-${what.replace(/\W+/g, "-")}`);
      await expectErrorAndNoChange(pool.context.store, () => ds.map("scale", "params-out", { params }), dn.ValidationError, [`map of ${ds.describe}`, fragment]);
      await expectErrorAndNoChange(pool.context.store, () => ds.apply("scale", { params, engine: { threads: 1 } }), dn.ValidationError, [`apply on ${ds.describe}`, fragment]);
    });
  }

  it("plain JSON is accepted, including an object used twice (not a cycle) and null", async () => {
    const ds = await smallDataset("params-ok");
    const shared = { factor: 2 };
    await ds.map("scale", "params-ok-out", { params: { ...shared, extra: [shared, shared, null, "s", true, { deep: [1.5] }] } });
    expect((await valuesOf(await pool.getDataset("params-ok-out"))).slice(0, 3)).toEqual([-80, -78, -76]);
    await ds.map("scale", "params-null-out", { params: null });
    // scale's defaults: factor 2, offset 0.
    expect((await valuesOf(await pool.getDataset("params-null-out"))).slice(0, 2)).toEqual([-80, -78]);
  });
});

describe("engine specs", () => {
  // The last column: whether a Cluster refuses the spec as its default when it is made (its schema
  // checks the shape of a queue spec, not its URL or name: those fail at the first map/apply).
  const bad: [string, unknown, string, boolean][] = [
    ["an unknown name", "gpu", '"gpu"', true],
    ["zero threads", { threads: 0 }, "positive integer, got 0", true],
    ["fractional threads", { threads: 1.5 }, "positive integer, got 1.5", true],
    ["threads as text", { threads: "2" }, 'positive integer, got "2"', true],
    ["an http queue URL", { queue: "http://x" }, "Redis URL", false],
    ["a queue with an unknown option", { queue: "redis://127.0.0.1:1", bogus: 1 }, "bogus", true],
    ["a queue with a bad name", { queue: "redis://127.0.0.1:1", name: "no spaces" }, "name", false],
    ["a number", 42, "42", true],
    ["an empty object", {}, "{}", true],
  ];
  for (const [what, engine, fragment, clusterRefuses] of bad) {
    it(`${what} (${JSON.stringify(engine)}) is a ValidationError, before anything is stored`, async () => {
      expect(() => resolveEngine(engine as dn.EngineSpec, "test")).toThrow(dn.ValidationError);
      const ds = await smallDataset(`engine-${what.replace(/\W+/g, "-")}`);
      await expectErrorAndNoChange(pool.context.store, () => ds.map("scale", "engine-out", { engine: engine as dn.EngineSpec }), dn.ValidationError, [`map of ${ds.describe}`, fragment]);
      await expectErrorAndNoChange(pool.context.store, () => ds.apply("scale", { engine: engine as dn.EngineSpec }), dn.ValidationError, [`apply on ${ds.describe}`, fragment]);
      // The same spec as a cluster's default is refused when the cluster is made.
      if (clusterRefuses) expect(() => new dn.Cluster({ backend: "memory", engine: engine as dn.EngineSpec })).toThrow(dn.ValidationError);
    });
  }

  it("parseEngineText: the text forms round-trip to specs the engines accept; bad text is a ValidationError naming it", () => {
    const good: [string, dn.EngineSpec][] = [
      ["local", "local"],
      ["threads", "threads"],
      ["threads:1", { threads: 1 }],
      [" threads:12 ", { threads: 12 }],
      ["redis://127.0.0.1:6379", { queue: "redis://127.0.0.1:6379" }],
      ["rediss://:pw@host:6380/2", { queue: "rediss://:pw@host:6380/2" }],
      ["redis://host:6379#jobs", { queue: "redis://host:6379", name: "jobs" }],
    ];
    for (const [text, spec] of good) {
      const parsed = dn.parseEngineText(text);
      expect(parsed, text).toEqual(spec);
      expect(() => resolveEngine(parsed, text)).not.toThrow();
      // Back to text and parsed again: the same spec.
      const back =
        typeof parsed === "string" ? parsed : "threads" in parsed ? `threads:${parsed.threads}` : `${parsed.queue}${parsed.name ? `#${parsed.name}` : ""}`;
      expect(dn.parseEngineText(back)).toEqual(parsed);
    }
    for (const text of ["gpu", "", "threads:0", "threads:-1", "threads:x", "threads:", "Local", "http://x:1", "redis"]) {
      expect(() => dn.parseEngineText(text, "--engine"), JSON.stringify(text)).toThrow(dn.ValidationError);
      expect(() => dn.parseEngineText(text, "--engine")).toThrow(`--engine: expected "local", "threads", "threads:N" or a redis://host:port URL, got ${JSON.stringify(text.trim())}`);
    }
    // A password in a refused URL is not shown.
    expect(() => dn.parseEngineText("http://user:secret@host:1")).toThrow(/\/\/\*\*\*@host/);
    expect(() => dn.parseEngineText("http://user:secret@host:1")).not.toThrow(/secret/);
  });

  it("Cluster({ engine: \"threads\" }) makes its pools run named functions on threads by default; a call's engine overrides it", async () => {
    const threaded = new dn.Cluster({ backend: "memory", engine: "threads" });
    await threaded.connect();
    try {
      const p = await threaded.createPool("threaded");
      expect(p.context.engine).toBe("threads");
      const ds = await smallDataset("in", p);
      const byDefault = await ds.map("scale", "default", { params: { factor: 3 } });
      expect((await valuesOf(byDefault)).slice(0, 2)).toEqual([-120, -117]);
      expect((await byDefault.provenanceRecord()).data.activity).toMatchObject({ operation: "map", function: "scale", registered: true, engine: "threads", hosts: [HERE] });
      const local = await ds.map("scale", "local", { params: { factor: 3 }, engine: "local" });
      expect((await local.provenanceRecord()).data.activity).toMatchObject({ engine: "local" });
      await ds.apply("noop");
      const applied = (await dn.provenance(p).find({ dataset: "in" })).filter((r) => r.data.activity?.operation === "apply");
      expect(applied.map((r) => r.data.activity)).toEqual([expect.objectContaining({ function: "noop", engine: "threads" })]);
      // A plain function value runs locally when asked to.
      const plain = await ds.map((chunk) => chunk, "plain", { engine: "local" });
      expect(await valuesOf(plain)).toEqual(await valuesOf(ds));
    } finally {
      await threaded.disconnect();
    }
  });

  it("the cluster default engine also comes from DOSNA_ENGINE and a config file's engine key, validated", async () => {
    const fromEnv = dn.Cluster.fromEnv({ DOSNA_BACKEND: "memory", DOSNA_ENGINE: "threads:1" });
    await fromEnv.connect();
    try {
      expect((await fromEnv.createPool("env")).context.engine).toEqual({ threads: 1 });
    } finally {
      await fromEnv.disconnect();
    }
    expect(() => dn.Cluster.fromEnv({ DOSNA_BACKEND: "memory", DOSNA_ENGINE: "gpu" })).toThrow(dn.ValidationError);
    expect(() => dn.Cluster.fromEnv({ DOSNA_BACKEND: "memory", DOSNA_ENGINE: "threads:0" })).toThrow(dn.ValidationError);
    const dir = await mkdtemp(join(tmpdir(), "dosna-engine-config-"));
    try {
      const file = join(dir, "dosna.conf");
      await writeFile(file, "[dosna]\nbackend = memory\nengine = redis://127.0.0.1:1#nightly\n");
      const fromFile = dn.Cluster.fromConfigFile(file);
      await fromFile.connect();
      try {
        expect((await fromFile.createPool("file")).context.engine).toEqual({ queue: "redis://127.0.0.1:1", name: "nightly" });
      } finally {
        await fromFile.disconnect();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("result checks", () => {
  // Chunk [0,0] of the [9, 11] float32 array is a whole 4x5 chunk; njobs 1 makes it the first to fail.
  const cases: { fn: string; got: string[] }[] = [
    { fn: "wrongShape", got: ["returned 19 elements", "expected float32 of shape [4,5] (20 elements)"] },
    { fn: "wrongDtype", got: ["returned a float64", "expected float32 of shape [4,5]"] },
    { fn: "ndWrongShape", got: ["returned float32 of shape [3,5]", "expected float32 of shape [4,5]"] },
    { fn: "plainArray", got: ["returned a plain array", "expected float32 of shape [4,5] (an ndarray or typed array) or a scalar"] },
    { fn: "nullResult", got: ["returned null", "expected float32 of shape [4,5]"] },
  ];
  const engines: { engine: dn.EngineSpec; where: string }[] = [
    { engine: "local", where: `this process, ${HERE}` },
    { engine: { threads: 1 }, where: `a worker thread of ${HERE}` },
  ];
  for (const { fn, got } of cases) {
    it(`${fn}: ComputeError naming the function, the chunk, what was expected and what it got; no output (local and threads)`, async () => {
      const ds = await smallDataset(`result-${fn}`);
      const before = await valuesOf(ds);
      for (const { engine, where } of engines) {
        const out = `result-${fn}-out`;
        await expectError(() => ds.map(fn, out, { engine, njobs: 1 }), dn.ComputeError, [`function "${fn}" on chunk [0,0] of ${ds.describe} (${where})`, ...got]);
        expect(await pool.has(out)).toBe(false);
        const left: string[] = [];
        for await (const key of pool.context.store.list(`${out}/`)) left.push(key);
        expect(left).toEqual([]);
        // In place: every chunk's result is refused, so nothing of the array changes.
        if (engine === "local" || fn === "wrongShape" || fn === "plainArray") {
          await expectError(() => ds.apply(fn, { engine, njobs: 1 }), dn.ComputeError, [`function "${fn}" on chunk [0,0]`, `(${where})`, ...got]);
          expect(await valuesOf(ds)).toEqual(before);
        }
      }
    });
  }

  it("a scalar result is broadcast over the chunk (local and threads)", async () => {
    const ds = await smallDataset("result-scalar");
    for (const engine of ["local", { threads: 1 }] as dn.EngineSpec[]) {
      expect(await valuesOf(await ds.map("seven", `result-scalar-${typeof engine === "string" ? engine : "threads"}`, { engine }))).toEqual(new Array(99).fill(7));
    }
  });

  it("a function that throws: ComputeError naming it, the chunk and its message (local and threads)", async () => {
    const ds = await smallDataset("result-throws");
    for (const { engine, where } of engines) {
      await expectError(() => ds.map("failAt", "result-throws-out", { engine, params: { at: [2, 1] } }), dn.ComputeError, [
        `function "failAt" threw on chunk [2,1] of ${ds.describe} (${where})`,
        "deliberate failure at [2,1]",
      ]);
      expect(await pool.has("result-throws-out")).toBe(false);
    }
  });
});
