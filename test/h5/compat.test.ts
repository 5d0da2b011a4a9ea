/**
 * examples/h5-compat.ts runs unchanged on h5wasm (a real HDF5 file) and on dosna (a Zarr v3
 * directory) and must print exactly the same thing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsx = join(repo, "node_modules", ".bin", "tsx");
const script = join(repo, "examples", "h5-compat.ts");
const run = promisify(execFile);

describe("examples/h5-compat.ts", () => {
  let dir: string;
  let outputs: { h5wasm: string; dosna: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dosna-compat-"));
    const [h5wasm, dosna] = await Promise.all([
      run(tsx, [script, "h5wasm", join(dir, "x.h5")], { cwd: repo }),
      run(tsx, [script, "dosna", join(dir, "x.zarr")], { cwd: repo }),
    ]);
    outputs = { h5wasm: h5wasm.stdout, dosna: dosna.stdout };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the same output with h5wasm and with dosna", () => {
    expect(outputs.dosna).toBe(outputs.h5wasm);
  });

  it("the output is non-trivial: it covers reads, slices, attributes, writes and resizes", () => {
    const lines = outputs.h5wasm.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(20);
    for (const expected of [
      "keys: [ 'answer', 'detector', 'grid', 'ratios', 'small', 'volume' ]",
      "/answer: shape [] dtype <i value 42",
      "/detector/raw/ids: shape [3] dtype <q value BigInt64Array[1, -2, 205891132094649]",
      "slice [2:, 1, 3:]: Float32Array[24, 24.5]",
      "missing: null null",
      "final frames: [ 5, 6 ]",
    ]) {
      expect(outputs.h5wasm).toContain(expected);
    }
    expect(outputs.h5wasm).toMatch(/frames shrunk and regrown: \[ 5, 6 \] Uint16Array\[100, .*, 0, 0\]/);
  });

  it("each library wrote its own format", async () => {
    expect((await readFile(join(dir, "x.h5"))).subarray(0, 8).toString("latin1")).toBe("\x89HDF\r\n\x1a\n");
    expect((await stat(join(dir, "x.zarr"))).isDirectory()).toBe(true);
    const root = JSON.parse(await readFile(join(dir, "x.zarr", "zarr.json"), "utf8"));
    expect(root).toMatchObject({ zarr_format: 3, node_type: "group", attributes: { title: "compat demo", version: 2 } });
    const frames = JSON.parse(await readFile(join(dir, "x.zarr", "detector", "raw", "frames", "zarr.json"), "utf8"));
    expect(frames).toMatchObject({ node_type: "array", shape: [5, 6], data_type: "uint16" });
    expect(frames.codecs.map((c: { name: string }) => c.name)).toEqual(["bytes", "gzip"]);
  });
});
