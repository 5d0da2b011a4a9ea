/**
 * The bad-input table of the CLI issue: bad .npy files (one line naming the file, nothing created),
 * selections that do not parse or fit (the library's own SelectionError text), unreachable
 * endpoints (exit 2, one line, no secret even with --verbose), and refusals that leave the
 * destination as it was.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm as rmDir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy, FileSystemStore, Pool, SelectionError } from "../../src/index.js";
import { dosna, ensureBuilt } from "./run.js";

let dir: string;
let pool: Pool;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "dosna-cli-bad-"));
  pool = await Pool.initialise(new FileSystemStore(join(dir, "pool")), { name: join(dir, "pool") });
  await pool.createDataset("data", { data: Float32Array.from({ length: 24 }, (_, i) => i), shape: [2, 3, 4], chunks: [1, 2, 2] });
});
afterAll(async () => {
  await rmDir(dir, { recursive: true, force: true });
});

function objectHeader(descr: string): Uint8Array {
  const text = `{'descr': ${descr}, 'fortran_order': False, 'shape': (2,), }`.padEnd(117, " ") + "\n";
  return Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length, 0, ...Array.from(text, (c) => c.charCodeAt(0)), 0, 0, 0, 0, 0, 0, 0, 0]);
}

describe("bad .npy files", () => {
  const good = encodeNpy(Float64Array.from([1, 2, 3, 4]), { shape: [2, 2] });
  const files: Array<[string, Uint8Array, RegExp]> = [
    ["truncated.npy", good.subarray(0, good.length - 3), /"truncated\.npy" is not a valid \.npy file: truncated: shape \(2, 2\) of <f8 needs 32 data bytes, the file has 29/],
    ["magic.npy", Uint8Array.from([...Buffer.from("PK\x03\x04not numpy at all")]), /"magic\.npy" is not a valid \.npy file: bad magic/],
    ["header.npy", Uint8Array.from([...good.subarray(0, 10), ...Buffer.from("{'descr': '<f8', 'shape': (2, 2)".padEnd(118) + "\n")]), /"header\.npy" is not a valid \.npy file: the header is not a Python dict literal/],
    ["object.npy", objectHeader("'|O'"), /"object\.npy": dtype '\|O' \(object\) is not supported/],
    ["structured.npy", objectHeader("[('x', '<i4'), ('y', '<f4')]"), /"structured\.npy": structured dtype \[\('x', '<i4'\), \('y', '<f4'\)\] is not supported/],
  ];

  it.each(files)("%s: exit 1, one line naming the file, nothing created", async (name, bytes, pattern) => {
    await writeFile(join(dir, name), bytes);
    const [intoNewPool, intoPool] = await Promise.all([
      dosna(["import", name, `fresh-${name}::x`], { cwd: dir }),
      dosna(["import", name, `pool/new-${name}`], { cwd: dir }),
    ]);
    for (const result of [intoNewPool, intoPool]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(new RegExp(`^dosna: ${pattern.source}[^\\n]*\\n$`));
    }
    expect(existsSync(join(dir, `fresh-${name}`))).toBe(false);
    expect(await pool.has(`new-${name}`)).toBe(false);
  });

  it("a missing file: exit 1 naming it", async () => {
    const result = await dosna(["import", "nope.npy", "pool/nope"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('dosna: cannot read "nope.npy": no such file or directory\n');
  });
});

describe("selections", () => {
  const bad = ["1:2:3:4", "0, 0, 0, 0", "5", "::0", "[0, 9]", "0, [True, False]", "a"];

  it.each(bad)("get %j fails with the library's SelectionError text", async (selection) => {
    let expected = "";
    try {
      await pool.getDataset("data").then((ds) => ds.get(selection));
    } catch (error) {
      expect(error).toBeInstanceOf(SelectionError);
      expected = (error as Error).message;
    }
    expect(expected).not.toBe("");
    const [get, exported] = await Promise.all([
      dosna(["get", "pool/data", selection], { cwd: dir }),
      dosna(["export", "pool/data", `sel-${bad.indexOf(selection)}.npy`, "--slice", selection], { cwd: dir }),
    ]);
    for (const result of [get, exported]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`dosna: ${expected}\n`);
    }
    expect(existsSync(join(dir, `sel-${bad.indexOf(selection)}.npy`))).toBe(false);
  });
});

describe("storage errors", () => {
  const secret = "Sup3rSecretKeyValue-9f8e7d";
  const accessKey = "AKIAEXAMPLEID12345";
  const unreachable = { DOSNA_ENDPOINT: "http://127.0.0.1:9", DOSNA_ACCESS_KEY_ID: accessKey, DOSNA_SECRET_ACCESS_KEY: secret, DOSNA_MAX_RETRIES: "0" };

  it("an unreachable endpoint: exit 2, one line, never the keys; --verbose adds the stack but no secret", async () => {
    const config = join(dir, "secret.conf");
    await writeFile(config, `[dosna]\nendpoint = http://127.0.0.1:9\naccess_key_id = ${accessKey}\nsecret_access_key = ${secret}\nmax_retries = 0\n`);
    const [env, verbose, fromFile] = await Promise.all([
      dosna(["ls", "s3://some-bucket"], { env: unreachable }),
      dosna(["--verbose", "info", "s3://some-bucket/x"], { env: unreachable }),
      dosna(["--config", config, "get", "s3://some-bucket/x"]),
    ]);
    for (const result of [env, verbose, fromFile]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^dosna: .*127\.0\.0\.1:9/);
      expect(result.stderr + result.stdout).not.toContain(secret);
      expect(result.stderr + result.stdout).not.toContain(accessKey);
    }
    expect(env.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(fromFile.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it("s3:// without any endpoint configured: exit 1 saying what to set", async () => {
    const result = await dosna(["ls", "s3://bucket"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^dosna: an s3:\/\/ URL needs an S3 endpoint and keys, and the environment \(no DOSNA_CONFIG file is set\) has no endpoint, accessKeyId, secretAccessKey: set DOSNA_ENDPOINT, DOSNA_ACCESS_KEY_ID, DOSNA_SECRET_ACCESS_KEY, or DOSNA_CONFIG=FILE .*, or --config FILE\n$/,
    );
  });
});

describe("refusals leave the destination unchanged", () => {
  it("export onto an existing file needs --overwrite; import onto an existing dataset too", async () => {
    await writeFile(join(dir, "exists.npy"), "keep me");
    const [exported, imported] = await Promise.all([
      dosna(["export", "pool/data", "exists.npy"], { cwd: dir }),
      dosna(["import", "exists.npy", "pool/data"], { cwd: dir }),
    ]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toBe('dosna: "exists.npy" already exists; pass --overwrite to replace it\n');
    expect(await readFile(join(dir, "exists.npy"), "utf8")).toBe("keep me");
    // The file is checked first: it is not a .npy, so that is the error, and the dataset is untouched.
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/^dosna: "exists\.npy" is not a valid \.npy file/);
    await writeFile(join(dir, "other.npy"), encodeNpy(new Int8Array(3)));
    const again = await dosna(["import", "other.npy", "pool/data"], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^dosna: .*pool::data already exists; pass --overwrite to replace it\n$/);
    const ds = await pool.getDataset("data");
    expect([ds.shape, ds.dtype]).toEqual([[2, 3, 4], "float32"]);
    await expect(dosna(["export", "pool/data", "exists.npy", "--overwrite"], { cwd: dir })).resolves.toMatchObject({ code: 0 });
  });
});
