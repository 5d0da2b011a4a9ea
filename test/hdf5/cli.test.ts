/**
 * dosna import FILE.h5 POOL[/GROUP] and dosna export POOL/PATH FILE.h5 through the built
 * command, with h5py as the oracle: a file with only what dosna stores imports with exit 0; one
 * with compound, enum, reference and vlen datasets imports the rest (float16, complex and
 * strings included), lists each skipped item on stderr and exits 3; an export reads back in
 * h5py, float16, complex and strings included; bad input exits 1 and creates nothing.
 */
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemStore, Pool } from "../../src/index.js";
import { dosna, dosnaOk, ensureBuilt } from "../cli/run.js";
import { dosnaValues, dumpedValues, dumpHdf5, hasValues, writeTestFiles, type Dump } from "./oracle.js";

let dir: string;
let plain: Dump;
let scan: Dump;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-hdf5-cli-"));
  await Promise.all([ensureBuilt(), writeTestFiles(dir)]);
  [plain, scan] = await Promise.all([dumpHdf5(join(dir, "plain.h5"), join(dir, "plain-dump")), dumpHdf5(join(dir, "scan.h5"), join(dir, "scan-dump"))]);
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openPool(path: string): Promise<Pool> {
  return Pool.open(new FileSystemStore(path), { name: "pool" });
}

describe("dosna import / export of HDF5 files", () => {
  it("imports a file dosna can hold completely (exit 0) into a new pool, and exports it again for h5py", async () => {
    const pool = join(dir, "plain-pool");
    const out = await dosnaOk(["import", join(dir, "plain.h5"), `${pool}::`]);
    expect(out).toMatch(/imported 2 datasets and 1 group of .*plain\.h5 into .*plain-pool::/);
    const opened = await openPool(pool);
    expect(opened.attrs.toJSON()).toEqual({ about: "plain" });
    for (const [path, expected] of Object.entries(plain.datasets)) {
      const ds = await opened.getDataset(path.slice(1));
      expect(ds.chunks).toEqual(expected.chunks);
      expect(await dosnaValues(ds), path).toEqual(await dumpedValues(plain, expected));
    }

    const file = join(dir, "plain-out.h5");
    expect(await dosnaOk(["export", pool, file])).toMatch(/exported .* \(2 datasets, 1 group, .*\) to .*plain-out\.h5/);
    const dump = await dumpHdf5(file, join(dir, "plain-out-dump"));
    expect(dump.groups["/"].attrs).toEqual({ about: "plain" });
    expect(dump.groups["/g"].attrs).toEqual({ n: 2 });
    for (const [path, expected] of Object.entries(plain.datasets)) {
      expect(dump.datasets[path]).toMatchObject({ shape: expected.shape, chunks: expected.chunks, dtype: expected.dtype, compression: expected.compression });
      expect(await dumpedValues(dump, dump.datasets[path]), path).toEqual(await dumpedValues(plain, expected));
    }

    const one = join(dir, "one.h5");
    await dosnaOk(["export", `${pool}/g/b`, one]);
    const oneDump = await dumpHdf5(one, join(dir, "one-dump"));
    expect(Object.keys(oneDump.datasets)).toEqual(["/b"]);
    const again = await dosna(["export", `${pool}/g/b`, one]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/one\.h5" already exists; pass overwrite/);
    await dosnaOk(["export", `${pool}/g/b`, one, "--overwrite"]);
  });

  it("imports the rest of a file with datasets dosna cannot store, lists each on stderr and exits 3", async () => {
    const pool = join(dir, "scan-pool");
    const result = await dosna(["import", join(dir, "scan.h5"), `${pool}::runs/first`]);
    expect(result.code).toBe(3);
    const lines = result.stderr.trim().split("\n");
    const skipped = lines.filter((l) => l.startsWith("dosna: skipped "));
    const skippedPaths = ["compound", "complex_like", "enum", "reference", "vlen", "lzf", "soft", "missing", "external"].map((n) => `/unsupported/${n}`);
    for (const path of skippedPaths) {
      expect(skipped.filter((l) => l.startsWith(`dosna: skipped ${path}: `)), path).toHaveLength(1);
    }
    expect(skipped).toContain("dosna: skipped /unsupported/compound: type compound {a: int32, b: float64}, which dosna cannot store");
    expect(skipped.some((l) => l.startsWith('dosna: skipped / attribute "point": type compound'))).toBe(true);
    expect(skipped.some((l) => l.startsWith('dosna: skipped /layout/with_attrs attribute "ref": type object reference'))).toBe(true);
    expect(skipped).toHaveLength(11);
    expect(lines.at(-1)).toMatch(/^dosna: imported \d+ datasets and \d+ groups of .*scan\.h5 into .*scan-pool::runs\/first in .*; skipped 11 items \(listed above\)$/);
    const opened = await openPool(pool);
    const group = await opened.getGroup("runs/first");
    for (const [path, expected] of Object.entries(scan.datasets)) {
      if (!hasValues(expected) || skippedPaths.includes(path)) expect(await group.has(path.slice(1)), path).toBe(false);
      else expect(await dosnaValues(await group.getDataset(path.slice(1))), path).toEqual(await dumpedValues(scan, expected));
    }
    expect((await group.getDataset("types/c16_be")).dtype).toBe("complex128");

    // float16, complex and strings go back out as h5py's float16, complex and UTF-8 strings
    const file = join(dir, "types-out.h5");
    expect(await dosnaOk(["export", `${pool}/runs/first/types`, file])).toMatch(/exported .* \(16 datasets, 0 groups, .*\) to .*types-out\.h5/);
    const dump = await dumpHdf5(file, join(dir, "types-out-dump"));
    for (const [path, expected] of Object.entries(scan.datasets).filter(([p]) => p.startsWith("/types/"))) {
      const copy = dump.datasets[path.slice("/types".length)];
      expect(copy.dtype, path).toBe(expected.string ? "|O" : `<${expected.dtype.slice(1)}`);
      expect(await dumpedValues(dump, copy), path).toEqual(await dumpedValues(scan, expected));
    }
    // the same import again would replace what is there: refused (exit 1), nothing changed
    const twice = await dosna(["import", join(dir, "scan.h5"), `${pool}::runs/first`]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/runs\/first\/layout already exists/);
    expect((await dosna(["import", join(dir, "scan.h5"), `${pool}::runs/first`, "--overwrite", "-q"])).code).toBe(3);
  });

  it("rejects options that apply to .npy only, and a file that is not there, creating nothing", async () => {
    const pool = join(dir, "never");
    for (const [flag, value] of [["--chunks", "4"], ["--fill-value", "1"]]) {
      const result = await dosna(["import", join(dir, "plain.h5"), `${pool}::`, flag, value]);
      expect(result.code, flag).toBe(1);
      expect(result.stderr).toContain(`${flag} applies to .npy imports`);
    }
    const slice = await dosna(["export", join(dir, "plain-pool"), join(dir, "x.h5"), "--slice", ":2"]);
    expect(slice.code).toBe(1);
    expect(slice.stderr).toContain("--slice applies to .npy exports");
    const missing = await dosna(["import", join(dir, "missing.h5"), `${pool}::`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/missing\.h5" does not exist/);
    const text = join(dir, "text.h5");
    await writeFile(text, "not HDF5 at all\n".repeat(100));
    const notHdf5 = await dosna(["import", text, `${pool}::`]);
    expect(notHdf5.code).toBe(1);
    expect(notHdf5.stderr).toMatch(/text\.h5" is not a readable HDF5 file/);
    expect(await stat(pool).catch(() => undefined)).toBeUndefined();
  });
});
