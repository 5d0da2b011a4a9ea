/**
 * dosna import / export with numpy as the oracle, through the built command on a local pool:
 * numpy writes one file per dtype (float16 and complex too; rotating through C/Fortran order, both
 * byte orders and header versions 1.0/2.0/3.0, plus 0-d and empty arrays); dosna imports each with small chunks and
 * exports it again (whole, and a selection); numpy checks every result exactly.
 * (The full dtype × order × byte-order matrix runs in-process in test/npy/numpy.test.ts.)
 */
import { mkdtemp, readFile, rm as rmDir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemStore, Pool } from "../../src/index.js";
import { hasNumpy, python, requireNumpyOrWarn } from "../npy/numpy-oracle.js";
import { dosnaOk, ensureBuilt } from "./run.js";

requireNumpyOrWarn();

const MAKE = `
out = sys.argv[1]
rng = np.random.default_rng(11)
dtypes = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64', 'float16', 'complex64', 'complex128']
files = []
for k, dt in enumerate(dtypes):
    d = np.dtype(dt)
    shape = (9, 7, 4)
    if d.kind == 'b':
        a = rng.random(shape) > 0.3
    elif d.kind in 'iu':
        info = np.iinfo(d)
        a = rng.integers(info.min, info.max, size=shape, dtype=d, endpoint=True)
    elif d.kind == 'c':
        a = (rng.standard_normal(shape) * 10 + 1j * rng.standard_normal(shape)).astype(d)
        a.real[0, 0, 0] = np.nan; a.imag[1, 2, 3] = -np.inf; a.real[2, 2, 2] = -0.0; a.imag[2, 2, 2] = np.inf
    else:
        a = (rng.standard_normal(shape) * 10).astype(d)
        a[0, 0, 0] = np.nan; a[1, 2, 3] = -np.inf; a[2, 2, 2] = -0.0
        if d == np.float16:
            a[3, 1, 1] = 2 ** -24; a[4, 0, 3] = -1023 * 2 ** -24; a[5, 5, 0] = np.inf; a[6, 6, 3] = 65504
    order = 'CF'[k % 2]
    endian = '<>'[(k // 2) % 2]
    version = (k % 3) + 1
    a = a.astype(d.newbyteorder(endian))
    a = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
    name = f'{dt}-{order}-{"le" if endian == "<" else "be"}-v{version}'
    with open(f'{out}/{name}.npy', 'wb') as f:
        np.lib.format.write_array(f, a, version=(version, 0))
    files.append(name)
np.save(f'{out}/scalar.npy', np.float32(2.5)); files.append('scalar')
np.save(f'{out}/empty.npy', np.zeros((0, 5), dtype='>u2')); files.append('empty')
np.save(f'{out}/scalar-c16.npy', np.complex128(complex(1.5, -np.inf))); files.append('scalar-c16')
print(json.dumps(files))
`;

const CHECK = `
src, names, sel = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
bad = []
for name in names:
    a = np.load(f'{src}/{name}.npy')
    for suffix, want in (('', a), ('-sel', eval(f'a[{sel}]') if a.ndim == 3 else None)):
        if want is None:
            continue
        b = np.load(f'{src}/out/{name}{suffix}.npy')
        want = want.astype(want.dtype.newbyteorder('<'), order='C')
        if not (b.dtype == want.dtype and b.shape == want.shape and b.tobytes() == want.tobytes()):
            bad.append(name + suffix)
print(json.dumps(bad))
`;

describe.skipIf(!hasNumpy)("import and export against numpy", () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), "dosna-cli-npy-"));
    await import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "out")));
  });
  afterAll(async () => {
    await rmDir(dir, { recursive: true, force: true });
  });

  it("every dtype, both orders, both byte orders, header versions 1-3: imported and exported exactly", async () => {
    const names = JSON.parse(await python(MAKE, [dir])) as string[];
    expect(names).toHaveLength(17);
    const selection = "::-2, 3, 1:";
    const inBatches = async (jobs: Array<() => Promise<unknown>>) => {
      for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map((job) => job()));
    };
    await inBatches(
      names.map((name, k) => () =>
        dosnaOk(["--quiet", "import", `${name}.npy`, `pool::${name}`, ...(name.startsWith("scalar") || name === "empty" ? [] : ["--chunks", "4,3,2"]), ...(k % 2 ? ["--compression", "gzip"] : [])], { cwd: dir }),
      ),
    );
    const pool = await Pool.open(new FileSystemStore(join(dir, "pool")), { name: "pool" });
    expect((await pool.listDatasets()).sort()).toEqual([...names].sort());
    await inBatches(
      names.flatMap((name) => [
        () => dosnaOk(["--quiet", "export", `pool/${name}`, `out/${name}.npy`], { cwd: dir }),
        ...(name.startsWith("scalar") || name === "empty" ? [] : [() => dosnaOk(["--quiet", "export", `pool/${name}`, `out/${name}-sel.npy`, "--slice", selection], { cwd: dir })]),
      ]),
    );
    expect(JSON.parse(await python(CHECK, [dir, JSON.stringify(names), selection]))).toEqual([]);
    // The exported files are numpy's canonical layout: version 1.0, 64-byte aligned header.
    const bytes = await readFile(join(dir, "out", `${names[0]}.npy`));
    expect([bytes[6], bytes[7], (bytes[8] | (bytes[9] << 8)) + 10]).toEqual([1, 0, 128]);
  });
});
