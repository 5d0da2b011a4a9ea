/**
 * The DosNa ports in examples/ (walkthrough.ts, context-managers.ts, h5py-compat.ts) run as real
 * processes, configured the way a user configures them: nothing at all (the embedded local store
 * in ./dosna-data of the working directory) or DOSNA_CONFIG=FILE (an RGW). What they print is
 * checked against values recomputed here from the same seeded generator, and afterwards the store
 * must hold nothing they made. Each runs twice in a row on the same store: a re-run works.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../src/index.js";
import { S3Backend } from "../src/store/s3/index.js";
import { TUTORIAL_SHAPE, tutorialData } from "../examples/example-data.js";
import { dropBucket, environmentWithoutDosna, s3ConnectionConfig } from "./helpers/s3-fixtures.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsx = join(repo, "node_modules", ".bin", "tsx");

type Example = "walkthrough" | "context-managers" | "h5py-compat";
const EXAMPLES: Example[] = ["walkthrough", "context-managers", "h5py-compat"];

interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every `label = JSON` line of stdout, parsed. */
  values: Map<string, unknown>;
}

/** Run examples/<name>.ts with tsx in `cwd` and `env`; never rejects on a non-zero exit. */
function runExample(name: Example, cwd: string, env: NodeJS.ProcessEnv): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    execFile(tsx, [join(repo, "examples", `${name}.ts`)], { cwd, env, maxBuffer: 16 << 20, timeout: 150_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(new Error(`${name}.ts did not run to an exit code (${error.message}):\n${stdout}\n${stderr}`));
        return;
      }
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr, values: parseLabelledLines(stdout) });
    });
  });
}

/** `label = JSON` lines → label → value (other lines ignored). Written here, not shared with the examples. */
function parseLabelledLines(output: string): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const line of output.split("\n")) {
    const match = /^(.+?) = (.*)$/.exec(line);
    if (!match) continue;
    try {
      values.set(match[1], JSON.parse(match[2]));
    } catch {
      // a line of prose that happens to contain " = "
    }
  }
  return values;
}

// --- what the examples must print, recomputed -------------------------------------------------

const data = tutorialData();
const [, NY, NZ] = TUTORIAL_SHAPE;
const at = (i: number, j: number, k: number) => data[(i * NY + j) * NZ + k];
const firstTen = Array.from({ length: 10 }, (_, k) => at(0, 0, k));

/** np.arange(16**3).reshape(16, 16, 16)[:6, :6, :6].tolist() */
const arangeCorner = Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => Array.from({ length: 6 }, (_, k) => i * 256 + j * 16 + k)));
/** A 4×6 fill-value -1 array with [1:3, 2:5] set to [[10, 11, 12], [20, 21, 22]]. */
const filledExpected = Array.from({ length: 4 }, (_, i) =>
  Array.from({ length: 6 }, (_, j) => (i >= 1 && i < 3 && j >= 2 && j < 5 ? (i === 1 ? 10 : 20) + (j - 2) : -1)),
);

function expectSucceeded(run: ExampleRun, name: Example): void {
  expect(run.code, `${name}.ts exited ${run.code}:\n${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).not.toMatch(/= false$/m);
}

/** What every example prints when it made its pool itself (a store it found empty). */
function expectOutput(name: Example, run: ExampleRun): void {
  expectSucceeded(run, name);
  const v = run.values;
  switch (name) {
    case "walkthrough":
      expect(v.get("pool")).toEqual({ name: "tutorial", created: true });
      expect(v.get("ds.shape")).toEqual([100, 100, 100]);
      expect(v.get("ds.dtype")).toBe("float64");
      expect(v.get("ds.chunks")).toEqual([32, 32, 32]);
      expect(v.get("ds[0, 0, :10]")).toEqual(firstTen);
      expect(v.get("data[0, 0, :10]")).toEqual(firstTen);
      expect(v.get("allclose(ds[...], data)")).toBe(true);
      expect(v.get("removed pool")).toBe("tutorial");
      break;
    case "context-managers":
      expect(v.get("pool")).toEqual({ name: "tutorial", created: true, datasetCreated: true });
      expect(v.get("ds[0, 0, :10]")).toEqual(firstTen);
      expect(v.get("data[0, 0, :10]")).toEqual(firstTen);
      expect(v.get("allclose(ds[36:80, 89:, :56], data[36:80, 89:, :56])")).toBe(true);
      expect(v.get("removed pool")).toBe("tutorial");
      break;
    case "h5py-compat":
      expect(v.get("data.shape")).toEqual([100, 100, 100]);
      expect(v.get("keys")).toEqual(["data", "data2", "filled"]);
      expect(v.get("data2.shape")).toEqual([16, 16, 16]);
      expect(v.get("data2.dtype")).toBe("<i");
      expect(v.get("data2.ndim")).toBe(3);
      expect(v.get("data2[:6, :6, :6]")).toEqual(arangeCorner);
      expect(v.get("filled.dtype")).toBe("<i");
      expect(v.get("filled[...]")).toEqual(filledExpected);
      expect(v.get("data.dtype")).toBe("<d");
      expect(v.get("allclose(f['data'][...], npdata)")).toBe(true);
      expect(v.get("keys after delete")).toEqual([]);
      expect(v.get("removed pool")).toBe("tmp/data.h5");
      expect(v.get("removed container")).toBe("tmp");
      break;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}

// --- the embedded local store ------------------------------------------------------------------

describe("examples on the local store (no configuration: ./dosna-data)", () => {
  let cwd: string;
  const env = environmentWithoutDosna();
  const tmpDataH5Before = existsSync("/tmp/data.h5");

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), "dosna-examples-"));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  /** Nothing of the examples' pools is left in ./dosna-data. */
  async function expectNothingLeft(): Promise<void> {
    const root = join(cwd, "dosna-data");
    expect(await filesUnder(root)).toEqual([]);
    if (existsSync(root)) {
      await using cluster = await new dn.Cluster({ backend: "fs", root }).connect();
      expect(await cluster.listPools()).toEqual([]);
    }
    // the local store is the only thing an example writes in its working directory ...
    expect((await readdir(cwd)).filter((name) => name !== "dosna-data")).toEqual([]);
    // ... and "/tmp/data.h5" named a pool under it, never the local path /tmp/data.h5
    expect(existsSync("/tmp/data.h5")).toBe(tmpDataH5Before);
  }

  for (const name of EXAMPLES) {
    it(`${name}.ts prints the recomputed values, passes its checks and leaves nothing; twice in a row`, async () => {
      for (let round = 0; round < 2; round++) {
        const run = await runExample(name, cwd, env);
        expectOutput(name, run);
        expect(run.values.get("cluster")).toBe(`Cluster(fs:${join(cwd, "dosna-data")})`);
        await expectNothingLeft();
      }
    }, 300_000);
  }

  it("a pool that existed before is kept; a dataset the user had is never replaced", async () => {
    const root = join(cwd, "dosna-data");
    {
      await using cluster = await new dn.Cluster({ backend: "fs", root }).connect();
      const pool = await cluster.createPool("tutorial");
      await pool.createDataset("data", { data: ndarray(tutorialData(), [...TUTORIAL_SHAPE]), chunks: 32 });
    }

    const context = await runExample("context-managers", cwd, env);
    expectSucceeded(context, "context-managers");
    expect(context.values.get("pool")).toEqual({ name: "tutorial", created: false, datasetCreated: false });
    expect(context.values.get("ds[0, 0, :10]")).toEqual(firstTen);
    expect(context.values.has("removed pool")).toBe(false);
    expect(context.values.has("removed dataset")).toBe(false);

    // the walk-through creates "data": it refuses to overwrite the user's
    const refused = await runExample("walkthrough", cwd, env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already holds a dataset "data"');

    {
      await using cluster = await new dn.Cluster({ backend: "fs", root }).connect();
      const pool = await cluster.getPool("tutorial");
      const ds = await pool.getDataset("data");
      expect(Array.from((await ds.get("0, 0, :10")).data as Float64Array)).toEqual(firstTen);
      await pool.deleteDataset("data");
    }

    // with the pool but no dataset: each makes "data" and removes only it
    for (const name of ["walkthrough", "context-managers"] as const) {
      const run = await runExample(name, cwd, env);
      expectSucceeded(run, name);
      expect(run.values.get("ds[0, 0, :10]")).toEqual(firstTen);
      expect(run.values.has("removed pool")).toBe(false);
      await using cluster = await new dn.Cluster({ backend: "fs", root }).connect();
      expect(await cluster.hasPool("tutorial")).toBe(true);
      expect(await (await cluster.getPool("tutorial")).keys()).toEqual([]);
    }

    {
      await using cluster = await new dn.Cluster({ backend: "fs", root }).connect();
      await cluster.deletePool("tutorial", { force: true });
    }
  }, 300_000);
});

// --- a Ceph RADOS Gateway through DOSNA_CONFIG -------------------------------------------------

const s3 = s3ConnectionConfig();

describe.skipIf(!s3)("examples on the RGW (DOSNA_CONFIG=FILE)", () => {
  /** The buckets the examples' pools live in: "tutorial", and "tmp" (pool "tmp/data.h5"). */
  const BUCKETS = ["tutorial", "tmp"];
  let cwd: string;
  let configDir: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), "dosna-examples-s3-"));
    configDir = await mkdtemp(join(tmpdir(), "dosna-examples-conf-"));
    configFile = join(configDir, "ceph.conf");
    await writeFile(
      configFile,
      [
        "[dosna]",
        `endpoint = ${s3!.endpoint}`,
        `access_key_id = ${s3!.accessKeyId}`,
        `secret_access_key = ${s3!.secretAccessKey}`,
        `region = ${s3!.region}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    env = { ...environmentWithoutDosna(), DOSNA_CONFIG: configFile };
    // Fixed names: a bucket left by an interrupted run of these examples on the test endpoint goes.
    for (const bucket of BUCKETS) await dropBucket(s3!, bucket);
  });
  afterAll(async () => {
    if (s3) for (const bucket of BUCKETS) await dropBucket(s3, bucket);
    await rm(cwd, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
  });

  /** The examples' pools are gone and their buckets gone or empty, seen through a Cluster on the same config file. */
  async function expectNothingLeft(): Promise<void> {
    await using cluster = await dn.Cluster.fromConfigFile(configFile).connect();
    expect(await cluster.hasPool("tutorial")).toBe(false);
    expect(await cluster.hasPool("tmp/data.h5")).toBe(false);
    const backend = new S3Backend(s3!);
    try {
      for (const bucket of BUCKETS) {
        if (!(await backend.hasPool(bucket))) continue;
        const keys: string[] = [];
        for await (const key of backend.openPool(bucket).list("")) keys.push(key);
        expect(keys, `bucket "${bucket}"`).toEqual([]);
      }
    } finally {
      await backend.close();
    }
    // nothing went to the local store instead
    expect(await readdir(cwd)).toEqual([]);
  }

  for (const name of EXAMPLES) {
    it(`${name}.ts prints the recomputed values, never the secret, and leaves nothing; twice in a row`, async () => {
      for (let round = 0; round < 2; round++) {
        const run = await runExample(name, cwd, env);
        expectOutput(name, run);
        expect(run.stdout).not.toContain(s3!.secretAccessKey);
        expect(run.stderr).not.toContain(s3!.secretAccessKey);
        expect(run.values.get("cluster")).toBe(`Cluster(s3:${s3!.endpoint})`); // it really ran on the RGW
        await expectNothingLeft();
      }
    }, 300_000);
  }
});
