/**
 * Codecs at the dataset level, on the local-directory store:
 * - zarrita.js reads what dosna writes with every compression option (zstd, gzip, blosc, shuffle,
 *   crc32c) and with transpose, ragged edge chunks included;
 * - dosna reads a Zarr v3 hierarchy laid out as zarr-python 3 writes it, with chunks encoded by
 *   numcodecs (blosc with four compressors, numcodecs.shuffle + zstd);
 * - h5py-style compression arguments of File map onto the same codecs;
 * - the compression ratio of each option on smooth float32 data, printed.
 * Expected values come from formulas and a brute-force reference, never from either library.
 */
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileSystemStore as ZarritaFileSystemStore } from "@zarrita/storage";
import ndarray from "ndarray";
import ops from "ndarray-ops";
import * as zarr from "zarrita";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import {
  arrayMetadataJson,
  codecsFor,
  type CodecSpec,
  createChunkCodec,
  encodeMetadata,
  typedArrayConstructorFor,
} from "../../src/format/index.js";
import { referenceGet, referenceSet, type RefItem } from "../helpers/reference.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const SHAPE = [13, 10, 9];
const CHUNKS = [5, 4, 4]; // ragged on every axis
const SIZE = SHAPE.reduce((a, b) => a * b, 1);
const s = (start: number | null, stop: number | null, step: number | null = null): RefItem => ({ slice: [start, stop, step] });

/** Smooth values, exact in float32 (multiples of 1/16), as measurements tend to be. */
const smooth = (i: number) => Math.round((Math.sin(i / 9) * 40 + i / 13) * 16) / 16;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-codecs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface WriteCase {
  label: string;
  dtype: dn.DataType;
  options: Pick<dn.CreateDatasetOptions, "compression" | "compressionLevel" | "shuffle" | "checksum">;
  codecNames: string[];
}

const WRITE_CASES: WriteCase[] = [
  { label: "zstd", dtype: "float32", options: { compression: "zstd" }, codecNames: ["bytes", "zstd"] },
  { label: "zstd level 9 + shuffle", dtype: "float64", options: { compression: "zstd", compressionLevel: 9, shuffle: true }, codecNames: ["bytes", "numcodecs.shuffle", "zstd"] },
  { label: "gzip + shuffle", dtype: "int32", options: { compression: "gzip", shuffle: true }, codecNames: ["bytes", "numcodecs.shuffle", "gzip"] },
  { label: "zstd + crc32c", dtype: "uint16", options: { compression: "zstd", checksum: true }, codecNames: ["bytes", "zstd", "crc32c"] },
  { label: "crc32c only", dtype: "int8", options: { checksum: true }, codecNames: ["bytes", "crc32c"] },
  { label: "shuffle only", dtype: "int64", options: { shuffle: true }, codecNames: ["bytes", "numcodecs.shuffle"] },
  { label: "blosc + shuffle", dtype: "float32", options: { compression: "blosc", shuffle: true }, codecNames: ["bytes", "blosc"] },
  { label: "blosc bitshuffle (1-byte type)", dtype: "uint8", options: { compression: "blosc", shuffle: true, compressionLevel: 9 }, codecNames: ["bytes", "blosc"] },
];

/** A zarrita result's elements in C order, whatever its strides. */
function inCOrder(result: { data: unknown; shape: number[]; stride: number[] }): Float64Array {
  const source = ndarray(result.data as Float64Array, result.shape, result.stride);
  const out = ndarray(new Float64Array(result.shape.reduce((a, b) => a * b, 1)), result.shape);
  ops.assign(out, source);
  return out.data as Float64Array;
}

function valuesFor(dtype: dn.DataType, n: number): Array<number | bigint> {
  return Array.from({ length: n }, (_, i) => {
    const v = smooth(i);
    if (dtype === "float32" || dtype === "float64") return v;
    if (dtype === "int64") return BigInt(Math.round(v * 1000));
    if (dtype === "uint8") return Math.round(Math.abs(v)) % 256;
    if (dtype === "int8") return (Math.round(v) % 128) + 0; // + 0: no -0, which toEqual tells from 0
    return Math.round(Math.abs(v) * 100);
  });
}

function typed(dtype: dn.DataType, values: Array<number | bigint>): dn.TypedArray {
  const map: Partial<Record<dn.DataType, (v: Array<number | bigint>) => dn.TypedArray>> = {
    float32: (v) => Float32Array.from(v as number[]),
    float64: (v) => Float64Array.from(v as number[]),
    int8: (v) => Int8Array.from(v as number[]),
    uint8: (v) => Uint8Array.from(v as number[]),
    uint16: (v) => Uint16Array.from(v as number[]),
    int32: (v) => Int32Array.from(v as number[]),
    int64: (v) => BigInt64Array.from(v as bigint[]),
  };
  return map[dtype]!(values);
}

describe("dosna writes with each codec, zarrita reads", () => {
  let cluster: dn.Cluster;
  let pool: dn.Pool;
  let zroot: zarr.Location<ZarritaFileSystemStore>;

  beforeAll(async () => {
    cluster = new dn.Cluster({ backend: "fs", root: dir });
    pool = await cluster.createPool("codecs");
    zroot = zarr.root(new ZarritaFileSystemStore(join(dir, "codecs")));
  });
  afterAll(async () => {
    await cluster.disconnect();
  });

  WRITE_CASES.forEach((c, index) => {
    it(c.label, async () => {
      const path = `case${index}`;
      const ds = await pool.createDataset(path, { shape: SHAPE, dtype: c.dtype, chunks: CHUNKS, fillValue: 0, ...c.options });
      expect(ds.metadata.codecs.map((codec) => codec.name)).toEqual(c.codecNames);
      // everything but the first plane along axis 0, so edge chunks and an untouched row both occur
      const region: RefItem[] = [s(1, null), s(null, null), s(null, null)];
      const written = valuesFor(c.dtype, (SHAPE[0] - 1) * SHAPE[1] * SHAPE[2]);
      await ds.set("1:, :, :", typed(c.dtype, written));
      const reference: Array<number | bigint> = new Array(SIZE).fill(c.dtype === "int64" ? 0n : 0);
      referenceSet(reference, SHAPE, region, written);
      expect(Array.from((await ds.read()).data as ArrayLike<number | bigint>)).toEqual(reference);

      const arr = await zarr.open(zroot.resolve(path), { kind: "array" });
      expect([arr.shape, arr.chunks, arr.dtype]).toEqual([SHAPE, CHUNKS, c.dtype]);
      expect(Array.from((await zarr.get(arr)).data as ArrayLike<number | bigint>)).toEqual(reference);
      const got = await zarr.get(arr, [zarr.slice(2, 13, 3), 9, zarr.slice(null, null, 2)]);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(referenceGet(reference, SHAPE, [s(2, 13, 3), 9, s(null, null, 2)]).values);
    });
  });

  it("transpose: dosna opens an array with a transpose codec, writes it, and zarrita reads the same values", async () => {
    const store = new dn.FileSystemStore(join(dir, "codecs"));
    const codecs: CodecSpec[] = [{ name: "transpose", configuration: { order: [2, 0, 1] } }, ...codecsFor({ compression: "zstd" })];
    const info = {
      shape: SHAPE, dataType: "float64" as const, chunkShape: CHUNKS, fillValue: -1, attributes: {}, codecs,
      chunkKeyEncoding: { name: "default" as const, separator: "/" as const },
    };
    await store.set("transposed/zarr.json", encodeMetadata(arrayMetadataJson(info)));
    const reopened = await dn.Pool.open(store, { name: "codecs" });
    const ds = await reopened.getDataset("transposed");
    const values = Float64Array.from({ length: SIZE }, (_, i) => smooth(i));
    await ds.set("...", values);
    expect(Array.from((await ds.read()).data as Float64Array)).toEqual(Array.from(values));
    // the stored chunk (0,0,0) holds chunk.transpose(2, 0, 1): axis 2 varies slowest
    const raw = await store.get("transposed/c/0/0/0");
    const codec = createChunkCodec({ dataType: "float64", chunkShape: [CHUNKS[2], CHUNKS[0], CHUNKS[1]], codecs: codecsFor({ compression: "zstd" }) });
    const stored = (await codec.decode(raw!, "transposed/c/0/0/0")) as Float64Array;
    const expected: number[] = [];
    for (let k = 0; k < CHUNKS[2]; k++) for (let i = 0; i < CHUNKS[0]; i++) for (let j = 0; j < CHUNKS[1]; j++) expected.push(values[(i * SHAPE[1] + j) * SHAPE[2] + k]);
    expect(Array.from(stored)).toEqual(expected);
    // zarrita hands back the chunks' memory order with matching strides rather than copying to C order
    const arr = await zarr.open(zroot.resolve("transposed"), { kind: "array" });
    const whole = await zarr.get(arr);
    expect(whole.stride).not.toEqual([SHAPE[1] * SHAPE[2], SHAPE[2], 1]);
    expect(Array.from(inCOrder(whole))).toEqual(Array.from(values));
    const part = await zarr.get(arr, [zarr.slice(2, 11, 4), null, 5]);
    expect(Array.from(inCOrder(part))).toEqual(referenceGet(Array.from(values), SHAPE, [s(2, 11, 4), s(null, null), 5]).values);
  });
});

describe("every data type through every compression option, edge chunks included", () => {
  const OPTIONS: Array<WriteCase["options"]> = [
    { compression: "zstd", shuffle: true, checksum: true },
    { compression: "gzip", shuffle: true },
    { compression: "blosc", shuffle: true },
    { compression: "blosc" },
  ];
  it.each(PLAIN_DATA_TYPES.map((dtype) => [dtype]))("%s", async (dtype) => {
    const cluster = new dn.Cluster({ backend: "memory" });
    const pool = await cluster.createPool("p");
    // distinct small values every dtype holds (bool as 0/1), in the dtype's typed array
    const Ctor = typedArrayConstructorFor(dtype) as unknown as { from(values: Array<number | bigint>): dn.TypedArray };
    const plain = Array.from({ length: 35 }, (_, i) => (dtype === "bool" ? Number(i % 3 === 0) : (i * 3) % 120));
    const values = Ctor.from(dtype.endsWith("int64") ? plain.map(BigInt) : plain);
    for (const [index, options] of OPTIONS.entries()) {
      const ds = await pool.createDataset(`d${index}`, { shape: [7, 5], dtype, chunks: [3, 2], ...options });
      await ds.set("...", values);
      expect(Array.from((await ds.read()).data as ArrayLike<number | bigint>), JSON.stringify(options)).toEqual(Array.from(values as ArrayLike<number | bigint>));
      // the corner edge chunk [6:7, 4:5] holds one element of a 3×2 chunk
      expect(Array.from((await ds.get("6:, 4:")).data as ArrayLike<number | bigint>), JSON.stringify(options)).toEqual([values[34]]);
    }
    await cluster.disconnect();
  });
});

describe("dosna reads arrays as zarr-python 3 writes them (chunks by numcodecs)", () => {
  const fixture = fileURLToPath(new URL("./fixtures/zarr-python-v3", import.meta.url));
  const [rows, cols] = [20, 30];
  const expectedValue = (dtype: string, i: number, j: number) => {
    if (i < 8 && j < 16) return 0; // the chunk zarr-python left unwritten: fill value
    return dtype === "float32" ? ((i * 37 + j * 11) % 101) - 50 + 0.25 : (i * 7 + j * 3) % 256;
  };

  it("every array of the fixture opens and reads exactly (whole, sliced, through a copy on a Cluster)", async () => {
    const copy = join(dir, "zarr-python");
    await cp(fixture, copy, { recursive: true });
    const cluster = new dn.Cluster({ backend: "fs", root: dir });
    const pool = await cluster.getPool("zarr-python");
    const names = (await readdir(fixture, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(names).toEqual(["blosc-blosclz-bitshuffle", "blosc-lz4-shuffle", "blosc-zlib-noshuffle", "blosc-zstd-shuffle", "shuffle-zstd"]);
    expect(await pool.listDatasets()).toEqual(names);
    for (const name of names) {
      const meta = JSON.parse(await readFile(join(fixture, name, "zarr.json"), "utf8")) as { data_type: string };
      const ds = await pool.getDataset(name);
      expect([ds.shape, ds.dtype], name).toEqual([[rows, cols], meta.data_type]);
      const expected = Array.from({ length: rows * cols }, (_, n) => expectedValue(meta.data_type, Math.floor(n / cols), n % cols));
      expect(Array.from((await ds.read()).data as ArrayLike<number>), name).toEqual(expected);
      const part = await ds.get("3:19:4, ::-7");
      expect(Array.from(part.data as ArrayLike<number>), name).toEqual(referenceGet(expected, [rows, cols], [s(3, 19, 4), s(null, null, -7)]).values);
      // and dosna can write into it with the same codecs, zarrita reading the result
      await ds.set("19, :", 7);
      const arr = await zarr.open(zarr.root(new ZarritaFileSystemStore(copy)).resolve(name), { kind: "array" });
      const row = await zarr.get(arr, [19, null]);
      expect(Array.from(row.data as ArrayLike<number>), name).toEqual(new Array(cols).fill(7));
    }
    await cluster.disconnect();
  });
});

describe("h5py-style compression arguments of File", () => {
  const cases: Array<[string, Partial<dn.CreateDatasetArgs>, string[], Record<string, unknown>]> = [
    ["compression 'gzip' + compression_opts", { compression: "gzip", compression_opts: 7 }, ["bytes", "gzip"], { level: 7 }],
    ["gzip level as the compression number", { compression: 3 }, ["bytes", "gzip"], { level: 3 }],
    ["gzip default level 4, as h5py", { compression: "gzip" }, ["bytes", "gzip"], { level: 4 }],
    ["deflate filter id 1", { compression: 1, compression_opts: [2] }, ["bytes", "gzip"], { level: 2 }],
    ["zstd + shuffle", { compression: "zstd", compression_opts: 5, shuffle: true }, ["bytes", "numcodecs.shuffle", "zstd"], { level: 5, checksum: false }],
    ["hdf5plugin zstd filter id 32015", { compression: 32015, compression_opts: [4] }, ["bytes", "zstd"], { level: 4, checksum: false }],
    ["blosc", { compression: "blosc", shuffle: true }, ["bytes", "blosc"], { cname: "zstd", clevel: 5, shuffle: "shuffle", typesize: 4, blocksize: 0 }],
    ["fletcher32 → crc32c", { compression: "gzip", fletcher32: true }, ["bytes", "gzip", "crc32c"], { level: 4 }],
  ];

  it.each(cases)("%s", async (_label, args, names, configuration) => {
    const f = new dn.File(join(dir, `h5-${names.join("-")}-${Math.random().toString(36).slice(2)}`), "w");
    const values = Float32Array.from({ length: 60 }, (_, i) => smooth(i));
    const h5 = await f.create_dataset({ name: "d", data: values, shape: [6, 10], chunks: [4, 4], ...args });
    const ds = h5.dataset;
    expect(ds.metadata.codecs.map((c) => c.name)).toEqual(names);
    const compressor = ds.metadata.codecs.find((c) => c.name === names.find((n) => n !== "bytes" && n !== "numcodecs.shuffle"));
    expect(compressor?.configuration ?? {}).toEqual(configuration);
    expect(Array.from((await h5.value) as Float32Array)).toEqual(Array.from(values));
    await f.close();
  });

  it("unsupported compressions and levels say what is allowed", async () => {
    const f = new dn.File(join(dir, "h5-bad"), "w");
    await expect(f.create_dataset({ name: "a", shape: [4], dtype: "<f4", compression: "lzf" as "gzip" })).rejects.toThrow(
      /compression "lzf" of dataset "a" is not supported: expected "gzip" \(or a gzip level 0–9, or filter 1\), "zstd" \(or filter 32015\) or "blosc"/,
    );
    await expect(f.create_dataset({ name: "b", shape: [4], dtype: "<f4", compression: "gzip", compression_opts: 12 })).rejects.toThrow(
      /compressionLevel of dataset "\/b" in pool ".*" for gzip must be an integer from 0 to 9, got 12/,
    );
    await expect(f.create_dataset({ name: "c", shape: [4], dtype: "<f4", compression: "zstd", compression_opts: 40 })).rejects.toThrow(
      /for zstd must be an integer from -131072 to 22, got 40/,
    );
    expect(await f.keys()).toEqual([]);
    await f.close();
  });

  it("createDataset rejects unknown compressions naming the allowed ones", async () => {
    const cluster = new dn.Cluster({ backend: "memory" });
    const pool = await cluster.createPool("p");
    await expect(pool.createDataset("x", { shape: [4], dtype: "float32", compression: "lz4" as "zstd" })).rejects.toThrow(dn.ValidationError);
    await expect(pool.createDataset("x", { shape: [4], dtype: "float32", compression: "lz4" as "zstd" })).rejects.toThrow(/"zstd".*"gzip".*"blosc".*"none"/);
    await expect(pool.createDataset("x", { shape: [4], dtype: "float32", compression: "blosc", compressionLevel: 10 })).rejects.toThrow(
      /compressionLevel of dataset "\/x" in pool "p" for blosc must be an integer from 0 to 9, got 10/,
    );
    expect(await pool.listDatasets()).toEqual([]);
    await cluster.disconnect();
  });
});

describe("compression ratio on smooth float32 data", () => {
  it("none / gzip / zstd / zstd+shuffle / blosc+shuffle (printed); shuffle+zstd beats zstd alone", async () => {
    // a 64×64×64 smooth field (1 MiB), the kind of data the shuffle is for
    const n = 64;
    const field = new Float32Array(n * n * n);
    for (let x = 0, i = 0; x < n; x++) for (let y = 0; y < n; y++) for (let z = 0; z < n; z++, i++) {
      field[i] = 100 * Math.sin(x / 7) + 50 * Math.cos(y / 11) * Math.sin(z / 13);
    }
    const options: Array<[string, Parameters<typeof codecsFor>[0]]> = [
      ["none", { compression: "none" }],
      ["gzip (level 5)", { compression: "gzip" }],
      ["gzip + shuffle", { compression: "gzip", shuffle: true, dataType: "float32" }],
      ["zstd (level 1)", { compression: "zstd" }],
      ["zstd + shuffle", { compression: "zstd", shuffle: true, dataType: "float32" }],
      ["blosc zstd + shuffle", { compression: "blosc", shuffle: true, dataType: "float32" }],
    ];
    const ratios: Record<string, number> = {};
    const rows: string[] = [];
    for (const [label, opts] of options) {
      const codec = createChunkCodec({ dataType: "float32", chunkShape: [n, n, n], codecs: codecsFor(opts) });
      const encoded = await codec.encode(field);
      expect(Array.from((await codec.decode(encoded, "ratio")) as Float32Array)).toEqual(Array.from(field));
      ratios[label] = field.byteLength / encoded.length;
      rows.push(`${label.padEnd(22)} ${ratios[label].toFixed(3)}×  (${encoded.length} bytes)`);
    }
    console.log(`compression ratio, 64³ smooth float32 (${field.byteLength} bytes):\n  ${rows.join("\n  ")}`);
    expect(ratios["zstd + shuffle"]).toBeGreaterThan(ratios["zstd (level 1)"]);
  });
});
