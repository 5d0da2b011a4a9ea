/**
 * Derived datasets (src/compute/derive.ts, derive-hooks.ts) on every backend (memory, fs, and the
 * S3 endpoint under test): `pool.derive` computes the output equal to a brute-force reference;
 * afterwards writes to the input through any handle, and from other processes at once, recompute
 * exactly the blocks they touched (counted in calls of the function and in requests); appends
 * extend the output, shrinks cut it; chains (a → b → c) follow; a dataset's vector index follows
 * appends; stale markers left by a writer that died are recomputed by refreshDerived; provenance
 * records each refresh against the input. Refused without storing anything: cycles, unknown
 * functions, a first block of the wrong shape, an existing output.
 *
 * Functions come from test/compute/fixtures/functions.mjs (the spawned writers load it too);
 * `npm run build` must have run.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { markStale } from "../../src/compute/derive.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectErrorAndNoChange } from "../helpers/expect-error.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { seededRandom } from "../helpers/random.js";

const FIXTURE = new URL("./fixtures/functions.mjs", import.meta.url).href;
await import(FIXTURE);

const calls = () => (globalThis as { dosnaRowStatsCalls?: number }).dosnaRowStatsCalls ?? 0;

/** [sum, max] of each row of a C-order [n, ...] array: the reference for "rowStats". */
function rowStats(values: Float32Array, n: number): number[] {
  const per = n === 0 ? 0 : values.length / n;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let max = -Infinity;
    for (let j = 0; j < per; j++) {
      sum += values[i * per + j];
      max = Math.max(max, values[i * per + j]);
    }
    out.push(Math.fround(sum), max);
  }
  return out;
}

function frames(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n * 16 }, () => Math.round(random() * 200 - 100));
}

async function valuesOf(ds: dn.Dataset): Promise<number[]> {
  await ds.refresh();
  return Array.from((await ds.get()).data as Float32Array);
}

async function markerKeys(pool: dn.Pool, output: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of pool.context.store.list(`.dosna/derive/${output}/stale/`)) keys.push(key);
  return keys;
}

/** Run a node process that writes `rows` of `frames` (opened by it) with values `value`, loading the fixture functions. */
function writerProcess(clusterOptions: Record<string, string>, pool: string, dataset: string, row: number, value: number): Promise<void> {
  const dist = new URL("../../dist/index.js", import.meta.url).href;
  const script = `
    const dn = await import(${JSON.stringify(dist)});
    await import(${JSON.stringify(FIXTURE)});
    const cluster = new dn.Cluster(${JSON.stringify(clusterOptions)});
    await cluster.connect();
    const pool = await cluster.getPool(${JSON.stringify(pool)});
    const ds = await pool.getDataset(${JSON.stringify(dataset)});
    await ds.set([${row}], new Float32Array(16).fill(${value}));
    await cluster.disconnect();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer of row ${row} exited ${code}: ${stderr}`))));
  });
}

for (const kind of backendKinds) {
  describe(`derived datasets on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let pool: dn.Pool;
    let poolName: string;

    beforeAll(async () => {
      fixture = await kind.make();
      poolName = uniquePoolName("derive");
      pool = await fixture.cluster.createPool(poolName);
    });
    afterAll(async () => {
      await fixture.cleanup();
    });

    it("computes the output, then one written frame recomputes one block (one function call, one output chunk written)", async () => {
      // 40 frames of 4×4 in chunks of 4 frames: 10 blocks.
      const values = frames(40, 1);
      const input = await pool.createDataset("frames", { shape: [40, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
      await input.set(undefined, values);
      const before = calls();
      const out = await pool.derive({ from: "frames", fn: "rowStats", to: "frames_stats", rowShape: [2] });
      expect(out.shape).toEqual([40, 2]);
      expect(out.chunks).toEqual([4, 2]);
      expect(await valuesOf(out)).toEqual(rowStats(values, 40));
      // Block 0 once to check the function before registering, then all 10.
      expect(calls() - before).toBe(11);
      expect(out.attrs.get("dosna")).toMatchObject({ derivedFrom: { from: "/frames", fn: "rowStats", blockRows: 4 } });
      await input.refresh();
      expect(input.attrs.get("dosna")).toMatchObject({ derivations: ["/frames_stats"] });

      // The user's handle, opened before derive, keeps the output current (row 17: block 4).
      const watched = new InstrumentedStore(pool.context.store);
      const handle = await (await dn.Pool.open(watched, { name: poolName })).getDataset("frames");
      watched.reset();
      const n0 = calls();
      await handle.set([17], new Float32Array(16).fill(5));
      values.fill(5, 17 * 16, 18 * 16);
      expect(calls() - n0).toBe(1);
      const outputChunkWrites = watched.keysOf("set").filter((key) => key.startsWith("frames_stats/c/"));
      expect(outputChunkWrites).toEqual(["frames_stats/c/4/0"]);
      expect(await valuesOf(out)).toEqual(rowStats(values, 40));
      expect(await markerKeys(pool, "frames_stats")).toEqual([]);
      const listed = await handle.derivations();
      expect(listed).toEqual([{ to: "/frames_stats", from: "/frames", fn: "rowStats", blockRows: 4, staleBlocks: 0, blocks: 10 }]);
      console.log(`derive on ${kind.name}: one written frame: ${watched.calls.length} requests (${["get", "set", "delete", "list"].map((op) => `${watched.count(op as never)} ${op}`).join(", ")})`);
    });

    it("appending rows (resize + write) extends the output; shrinking cuts it", async () => {
      const values = frames(10, 2);
      const input = await pool.createDataset("grow", { shape: [10, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
      await input.set(undefined, values);
      const out = await pool.derive({ from: "grow", fn: "rowStats", to: "grow_stats", rowShape: [2] });
      const more = frames(7, 3);
      await input.resize([17, 4, 4]);
      await input.set([dn.slice(10, 17)], more);
      const all = new Float32Array(17 * 16);
      all.set(values);
      all.set(more, 10 * 16);
      expect((await valuesOf(out)).length).toBe(34);
      expect(out.shape).toEqual([17, 2]);
      expect(await valuesOf(out)).toEqual(rowStats(all, 17));
      await input.resize([6, 4, 4]);
      await out.refresh();
      expect(out.shape).toEqual([6, 2]);
      expect(await valuesOf(out)).toEqual(rowStats(all.subarray(0, 6 * 16), 6));
    });

    it("a same-shape derivation (no rowShape) follows the input chunk-wise; a chain a → b → c follows writes to a", async () => {
      const a = await pool.createDataset("chain_a", { shape: [12, 4], dtype: "float32", chunks: [3, 4] });
      const base = Float32Array.from({ length: 48 }, (_, i) => i);
      await a.set(undefined, base);
      const b = await pool.derive({ from: "chain_a", fn: "scale", to: "chain_b", params: { factor: 2, offset: 1 } });
      const c = await pool.derive({ from: "chain_b", fn: "scale", to: "chain_c", params: { factor: 10 } });
      expect(b.chunks).toEqual([3, 4]);
      expect(await valuesOf(c)).toEqual(Array.from(base, (v) => (v * 2 + 1) * 10));
      await a.set([dn.slice(4, 6)], 100);
      const now = Float32Array.from(base);
      now.fill(100, 16, 24);
      expect(await valuesOf(b)).toEqual(Array.from(now, (v) => v * 2 + 1));
      expect(await valuesOf(c)).toEqual(Array.from(now, (v) => (v * 2 + 1) * 10));
    });

    it("provenance links each refresh of the output to the input and the function", async () => {
      const input = await pool.createDataset("prov_in", { shape: [8, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
      await input.set(undefined, frames(8, 4));
      const out = await pool.derive({ from: "prov_in", fn: "rowStats", to: "prov_out", rowShape: [2] });
      await input.set([1], 0);
      const records = (await dn.provenance(out).find({ dataset: "prov_out" })).filter((r) => r.data.activity?.operation === "derive");
      expect(records.length).toBe(2);
      expect(records.map((r) => r.data.activity)).toEqual(
        expect.arrayContaining([expect.objectContaining({ function: "rowStats", registered: true, engine: "local", blocks: 2 }), expect.objectContaining({ function: "rowStats", blocks: 1 })]),
      );
      const inputRecord = await input.provenanceRecord();
      for (const record of records) expect(record.data.inputs).toEqual([inputRecord.id]);
    });

    it("markers a writer left behind (it died mid-write) are recomputed by refreshDerived", async () => {
      const values = frames(8, 5);
      const input = await pool.createDataset("dead_in", { shape: [8, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
      await input.set(undefined, values);
      const out = await pool.derive({ from: "dead_in", fn: "rowStats", to: "dead_out", rowShape: [2] });
      // A writer marked block 1, wrote rows 4…7 (here: the bytes of a same-layout chunk, copied
      // straight to the object) and died before it recomputed: "written". Another died before its
      // write finished: "writing" (recomputed by every refresh, kept until it is old).
      const source = await pool.createDataset("dead_src", { shape: [8, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
      values.fill(9, 4 * 16);
      await source.set(undefined, values);
      await markStale(input, ["/dead_out"], 1, 1, "dead-writer", "written");
      await markStale(input, ["/dead_out"], 0, 0, "dying-writer", "writing");
      const store = pool.context.store;
      await store.set("dead_in/c/1/0/0", (await store.get("dead_src/c/1/0/0"))!);
      expect((await input.derivations())[0].staleBlocks).toBe(2);
      const done = await input.refreshDerived();
      expect(done).toEqual({ "/dead_out": [0, 1] });
      expect(await valuesOf(out)).toEqual(rowStats(values, 8));
      expect(await markerKeys(pool, "dead_out")).toEqual([expect.stringMatching(/^\.dosna\/derive\/dead_out\/stale\/0-0-dying-writer-w$/)]);
    });

    it("refuses cycles, unknown functions, a first block of the wrong shape and an existing output, storing nothing", async () => {
      const a = await pool.createDataset("cyc_a", { shape: [4, 2], dtype: "float32", chunks: [2, 2] });
      await a.set(undefined, 1);
      await pool.derive({ from: "cyc_a", fn: "scale", to: "cyc_b" });
      await pool.derive({ from: "cyc_b", fn: "scale", to: "cyc_c" });
      const store = pool.context.store;
      await expectErrorAndNoChange(store, () => pool.derive({ from: "cyc_c", fn: "scale", to: "cyc_a" }), dn.ValidationError, ["cycle", "/cyc_c → /cyc_a → /cyc_b → /cyc_c"]);
      await expectErrorAndNoChange(store, () => pool.derive({ from: "cyc_a", fn: "scale", to: "cyc_a" }), dn.ValidationError, ["cycle"]);
      await expectErrorAndNoChange(store, () => pool.derive({ from: "cyc_a", fn: "noSuchFunction", to: "x" }), dn.NotFoundError, ['"noSuchFunction"', "registered"]);
      await expectErrorAndNoChange(store, () => pool.derive({ from: "cyc_a", fn: "shortRows", to: "short" }), dn.ComputeError, ['"shortRows"', "block 0", "expected float32 of shape [2,2]"]);
      await expectErrorAndNoChange(store, () => pool.derive({ from: "cyc_a", fn: "scale", to: "cyc_c" }), dn.AlreadyExistsError, ["/cyc_c", "already exists"]);
      await expectErrorAndNoChange(store, () => pool.derive({ from: "missing", fn: "scale", to: "y" }), dn.NotFoundError, ["/missing"]);
      await expectErrorAndNoChange(store, () => pool.derive({ from: "cyc_a", fn: "scale", to: "z", params: { f: () => 1 } as never }), dn.ValidationError, ["params.f"]);
    });

    it("in a repository, a write in a session brings the derived dataset up to date in the same commit", async () => {
      const values = frames(12, 7);
      const repo = await dn.Repository.init(await fixture.cluster.createPool(uniquePoolName("derive-repo")));
      const first = await repo.checkout({ branch: "main", write: true });
      const input = await first.createDataset("frames", { shape: [12, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
      await input.set(undefined, values);
      await first.derive({ from: "frames", fn: "rowStats", to: "stats", rowShape: [2] });
      const derived = await first.commit("frames and their stats");

      const second = await repo.checkout({ branch: "main", write: true });
      const n0 = calls();
      await (await second.getDataset("frames")).set([5], 3);
      expect(calls() - n0).toBe(1);
      const written = await second.commit("frame 5");
      const before = Float32Array.from(values);
      values.fill(3, 5 * 16, 6 * 16);

      const at = async (snapshot: string) => valuesOf(await (await repo.checkout({ snapshot })).getDataset("stats"));
      expect(await at(written)).toEqual(rowStats(values, 12));
      expect(await at(derived)).toEqual(rowStats(before, 12));
      const log = await repo.diff(derived, written);
      expect(log.datasets.map((d) => d.path).sort()).toEqual(["frames", "stats"]);
    });

    it("keeps a vector index current when rows are appended", async () => {
      const d = 4;
      const random = seededRandom(9);
      const rows = (n: number) => Float32Array.from({ length: n * d }, () => random());
      const ds = await pool.createDataset("vectors", { shape: [60, d], dtype: "float32", chunks: [20, d] });
      await ds.set(undefined, rows(60));
      await ds.createVectorIndex({ kind: "hnsw", metric: "l2" });
      expect((await ds.vectorIndexInfo())?.rows).toBe(60);
      const extra = rows(10);
      await ds.resize([70, d]);
      await ds.set([dn.slice(60, 70)], extra);
      expect((await ds.vectorIndexInfo())?.rows).toBe(70);
      const found = await ds.nearest(extra.subarray(5 * d, 6 * d), 1, { metric: "l2" });
      expect(found.method).toBe("hnsw");
      expect(Array.from(found.indices)).toEqual([65]);
      await ds.deleteVectorIndex();
      expect(ds.attrs.get("dosna")).toBeUndefined();
    });

    if (kind.name !== "memory") {
      it("writers in 3 other processes at once: every written frame is in the output afterwards, no marker left", async () => {
        const values = frames(24, 6);
        const input = await pool.createDataset("multi", { shape: [24, 4, 4], dtype: "float32", chunks: [4, 4, 4] });
        await input.set(undefined, values);
        const out = await pool.derive({ from: "multi", fn: "rowStats", to: "multi_stats", rowShape: [2] });
        const options = fixture.clusterOptions;
        expect(options, "the fixture says how another process opens it").toBeDefined();
        await Promise.all([3, 9, 21].map((row, i) => writerProcess(options!, poolName, "multi", row, 50 + i)));
        for (const [i, row] of [3, 9, 21].entries()) values.fill(50 + i, row * 16, (row + 1) * 16);
        expect(await valuesOf(out)).toEqual(rowStats(values, 24));
        expect(await markerKeys(pool, "multi_stats")).toEqual([]);
      }, 60_000);
    }
  });
}

