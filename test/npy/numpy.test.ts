/**
 * numpy as the oracle for the library's .npy support: numpy writes files in every dtype dosna
 * stores in .npy (float16 with NaN, ±inf, -0 and subnormals; complex with NaN and infinite parts),
 * C and Fortran order, both byte orders, header versions 1.0/2.0/3.0, 0-d, empty and 1-d;
 * readNpy must give exactly numpy's values (compared as C-order little-endian bytes, so NaN
 * payloads and -0.0 count), numpy must load what writeNpy writes, and importNpy → exportNpy (slab
 * by slab, tiny slabs) must round-trip every file, with selections checked against numpy indexing.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, DtypeError, encodeNpy, exportNpy, importNpy, readNpy, writeNpy, type Pool } from "../../src/index.js";
import { float16ArrayConstructor, roundToFloat16 } from "../../src/format/index.js";
import { hasNumpy, python, requireNumpyOrWarn } from "./numpy-oracle.js";

requireNumpyOrWarn();

interface Sample {
  name: string;
  dtype: string;
  shape: number[];
}

const MAKE_SAMPLES = `
out = sys.argv[1]
rng = np.random.default_rng(7)
dtypes = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64', 'float16', 'complex64', 'complex128']
def values(dt, shape):
    dt = np.dtype(dt)
    if dt.kind == 'b':
        return rng.random(shape) > 0.5
    if dt.kind in 'iu':
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
        flat = a.reshape(-1)
        if flat.size >= 2:
            flat[0] = info.min; flat[1] = info.max
        return a
    if dt.kind == 'c':
        a = (rng.standard_normal(shape) * 1e3 + 1j * rng.standard_normal(shape)).astype(dt)
        flat = a.reshape(-1)
        if flat.size >= 4:
            flat.real[0] = np.nan; flat.imag[1] = -np.inf; flat.real[2] = -0.0; flat.imag[2] = np.inf; flat.imag[3] = np.finfo(dt).tiny
        return a
    a = (rng.standard_normal(shape) * 1e3).astype(dt)
    flat = a.reshape(-1)
    if flat.size >= 4:
        flat[0] = np.nan; flat[1] = -np.inf; flat[2] = -0.0; flat[3] = np.finfo(dt).tiny
    if dt == np.float16 and flat.size >= 7:
        flat[4] = np.float16(2 ** -24); flat[5] = -np.float16(1023 * 2 ** -24); flat[6] = np.inf  # subnormals
    return a
samples = []
def save(name, a, version=None):
    path = f'{out}/{name}.npy'
    if version is None:
        np.save(path, a)
    else:
        with open(path, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
    le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
    with open(f'{out}/{name}.raw', 'wb') as f:
        f.write(le.tobytes())
    samples.append({'name': name, 'dtype': np.dtype(a.dtype).name, 'shape': list(a.shape)})
for dt in dtypes:
    for order in 'CF':
        for endian in '<>':
            a = values(dt, (3, 4, 5)).astype(np.dtype(dt).newbyteorder(endian))
            a = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
            save(f'{dt}-{order}-{"le" if endian == "<" else "be"}', a)
    save(f'{dt}-v2', values(dt, (6, 7)), (2, 0))
    save(f'{dt}-v3-F', np.asfortranarray(values(dt, (5, 2))), (3, 0))
    save(f'{dt}-0d', values(dt, ()))
    save(f'{dt}-1d', values(dt, (17,)))
    save(f'{dt}-empty', values(dt, (0, 3)))
json.dump(samples, open(f'{out}/samples.json', 'w'))
`;

/** Loads dosna-written files and checks them against the originals byte for byte. */
const CHECK_WRITTEN = `
src, written = sys.argv[1], sys.argv[2]
bad = []
for s in json.load(open(f'{src}/samples.json')):
    a = np.load(f'{src}/{s["name"]}.npy')
    b = np.load(f'{written}/{s["name"]}.npy')
    same = (b.dtype == a.dtype.newbyteorder('<') or (b.dtype == a.dtype and a.dtype.itemsize == 1)) and b.shape == a.shape \
        and np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes() == b.tobytes() and b.flags['C_CONTIGUOUS']
    if not same:
        bad.append(s['name'])
print(json.dumps(bad))
`;

describe.skipIf(!hasNumpy)("the library against numpy", () => {
  let dir: string;
  let samples: Sample[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dosna-npy-"));
    await python(MAKE_SAMPLES, [dir]);
    samples = JSON.parse(await readFile(join(dir, "samples.json"), "utf8")) as Sample[];
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("readNpy reads every variant numpy writes, exactly", async () => {
    expect(samples.length).toBe(14 * 9);
    for (const sample of samples) {
      const array = await readNpy(join(dir, `${sample.name}.npy`));
      expect(array.dtype, sample.name).toBe(sample.dtype === "bool" ? "bool" : sample.dtype);
      expect(array.shape, sample.name).toEqual(sample.shape);
      const encoded = encodeNpy(array);
      const raw = await readFile(join(dir, `${sample.name}.raw`));
      expect(Buffer.compare(encoded.subarray(encoded.length - raw.length), raw), sample.name).toBe(0);
    }
  });

  it("numpy loads what writeNpy writes", async () => {
    const written = join(dir, "written");
    await rm(written, { recursive: true, force: true });
    await import("node:fs/promises").then((fs) => fs.mkdir(written));
    for (const sample of samples) await writeNpy(join(written, `${sample.name}.npy`), await readNpy(join(dir, `${sample.name}.npy`)));
    expect(JSON.parse(await python(CHECK_WRITTEN, [dir, written]))).toEqual([]);
  });

  describe("importNpy and exportNpy, slab by slab", () => {
    let cluster: Cluster;
    let pool: Pool;
    beforeAll(async () => {
      cluster = new Cluster({ backend: "memory" });
      pool = await cluster.createPool("npy");
    });
    afterAll(async () => {
      await cluster.disconnect();
    });

    it("round-trip every numpy file through a chunked dataset", async () => {
      const exported = join(dir, "exported");
      await import("node:fs/promises").then((fs) => fs.mkdir(exported, { recursive: true }));
      for (const sample of samples) {
        const progress: number[] = [];
        const chunks = sample.shape.map((n, i) => Math.max(1, Math.min(n, [2, 3, 2][i] ?? 2)));
        const ds = await importNpy(join(dir, `${sample.name}.npy`), pool, sample.name, {
          chunks,
          compression: sample.name.includes("-F") ? "gzip" : undefined,
          slabBytes: 16,
          onProgress: ({ done, total }) => {
            expect(total).toBe(sample.shape.reduce((a, b) => a * b, 1) * bytesOf(sample.dtype));
            progress.push(done);
          },
        });
        expect(ds.chunks).toEqual(chunks);
        expect(progress).toEqual([...progress].sort((a, b) => a - b));
        if (sample.shape.reduce((a, b) => a * b, 1) > 0) expect(progress.at(-1)).toBe(sample.shape.reduce((a, b) => a * b, 1) * bytesOf(sample.dtype));
        await exportNpy(ds, join(exported, `${sample.name}.npy`), { slabBytes: 8 });
      }
      expect(JSON.parse(await python(CHECK_WRITTEN, [dir, exported]))).toEqual([]);
    });

    it("exports float16 and complex datasets dosna wrote as numpy's own arrays of those values; refuses string and bytes", async () => {
      const out = join(dir, "dosna-made");
      await import("node:fs/promises").then((fs) => fs.mkdir(out, { recursive: true }));
      const halves = [NaN, Infinity, -Infinity, 2 ** -24, -(2 ** -24), 1023 * 2 ** -24, 2 ** -14, -0, 0, 65504, -65504, 1, 0.5, 1e-3, 3.140625];
      const half = await pool.createDataset("made-f2", { shape: [3, 5], dtype: "float16", chunks: [2, 2], fillValue: NaN });
      await half.set(":, :", [halves.slice(0, 5), halves.slice(5, 10), halves.slice(10)]);
      await exportNpy(half, join(out, "f2.npy"), { slabBytes: 4 });
      const parts = [1.5, -2, NaN, 0, -0, Infinity, -Infinity, 1e-45, 3.4e38, -7];
      const cx64 = await pool.createDataset("made-c8", { shape: [5], dtype: "complex64", chunks: [2], fillValue: [0, -1] });
      await cx64.set(":", new Float32Array(parts));
      await exportNpy(cx64, join(out, "c8.npy"), { selection: "::-1" });
      const cx128 = await pool.createDataset("made-c16", { shape: [2, 3], dtype: "complex128", chunks: [1, 2] });
      await cx128.set("1, :", [[5e-324, -1e308], [NaN, 2], [-0, Infinity]]);
      await exportNpy(cx128, join(out, "c16.npy"));
      const verdict = await python(
        `out, halves, parts = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
halves = [float(x) for x in halves]; parts = [float(x) for x in parts]
want = {
  'f2': np.array(halves, dtype='<f2').reshape(3, 5),
  'c8': (np.array(parts[0::2], dtype='<f4') + np.zeros(5, dtype='<c8'))[::-1].copy(),
  'c16': np.zeros((2, 3), dtype='<c16'),
}
c8 = np.zeros(5, dtype='<c8'); c8.real = parts[0::2]; c8.imag = parts[1::2]; want['c8'] = c8[::-1].copy()
c16 = np.zeros((2, 3), dtype='<c16'); c16.real[1] = [5e-324, float('nan'), -0.0]; c16.imag[1] = [-1e308, 2, float('inf')]; want['c16'] = c16
res = {}
for k, w in want.items():
    b = np.load(f'{out}/{k}.npy')
    res[k] = [str(b.dtype), list(b.shape), b.tobytes() == w.tobytes()]
print(json.dumps(res))`,
        [out, JSON.stringify(halves.map(asPython)), JSON.stringify(parts.map(asPython))],
      );
      expect(JSON.parse(verdict)).toEqual({ f2: ["float16", [3, 5], true], c8: ["complex64", [5], true], c16: ["complex128", [2, 3], true] });
      // and back in: the same values, in the runtime's in-memory forms
      const back = await importNpy(join(out, "f2.npy"), pool, "made-f2-back", { chunks: [3, 3] });
      expect((await back.get()).data).toBeInstanceOf(float16ArrayConstructor());
      expect(Array.from((await back.get()).data as Float32Array)).toEqual(halves.map(roundToFloat16));
      const backC = await importNpy(join(out, "c16.npy"), pool, "made-c16-back");
      expect(Array.from((await backC.get("1")).data as Float64Array)).toEqual([5e-324, -1e308, NaN, 2, -0, Infinity]);

      for (const dtype of ["string", "bytes"] as const) {
        const ds = await pool.createDataset(`made-${dtype}`, { shape: [2], dtype });
        const target = join(out, `${dtype}.npy`);
        await expect(exportNpy(ds, target)).rejects.toThrow(DtypeError);
        await expect(exportNpy(ds, target)).rejects.toThrow(new RegExp(`\\.npy files of data type ${dtype} are not supported yet`));
        await expect(readFile(target)).rejects.toThrow(/ENOENT/);
      }
    });

    it.each(["int32-F-be", "complex128-F-be", "complex64-C-le", "float16-C-be", "float16-F-le"])("exports selections of %s exactly as numpy indexes them", async (name) => {
      const source = join(dir, `${name}.npy`);
      const ds = await importNpy(source, pool, `selections-${name}`, { chunks: [2, 3, 2], slabBytes: 1 });
      const selections = [":", "::-1", "1, :, ::2", "::-2, 1:3, -1", "..., [4, 0, 2, 2]", "[2, 0], 1:, ::3", "[True, False, True]", "1:1", "-1, -1, -1", "2:0:-1, ..., 1"];
      const outputs = join(dir, `selections-${name}`);
      await import("node:fs/promises").then((fs) => fs.mkdir(outputs, { recursive: true }));
      for (const [i, selection] of selections.entries()) await exportNpy(ds, join(outputs, `${i}.npy`), { selection, slabBytes: 4 });
      // compared as little-endian bytes: every value exactly, NaN and -0 included
      const verdicts = await python(
        `a = np.load(sys.argv[1])
sels = json.loads(sys.argv[2])
out = []
for i, s in enumerate(sels):
    b = np.load(f'{sys.argv[3]}/{i}.npy')
    want = np.array(eval(f'a[{s}]'), order='C')  # ascontiguousarray would make a 0-d result 1-d
    want = want.astype(want.dtype.newbyteorder('<'))
    out.append([s, bool(b.shape == want.shape and b.dtype == want.dtype and b.tobytes() == want.tobytes())])
print(json.dumps(out))`,
        [source, JSON.stringify(selections), outputs],
      );
      expect(JSON.parse(verdicts)).toEqual(selections.map((s) => [s, true]));
    });
  });
});

/** A number as Python's float() reads it: "nan", "inf", "-0.0" survive (String(-0) is "0"). */
function asPython(x: number): string {
  return Object.is(x, -0) ? "-0.0" : String(x);
}

function bytesOf(dtype: string): number {
  return dtype === "bool" ? 1 : Number(/\d+$/.exec(dtype)![0]) / 8;
}
