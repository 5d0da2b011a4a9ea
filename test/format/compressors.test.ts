/**
 * The codecs beyond bytes and gzip: zstd (every backend this machine has), crc32c, transpose,
 * numcodecs.shuffle and blosc. Round trips for every data type, byte-exact agreement with
 * numcodecs (the library zarr-python's codecs call) on fixtures it wrote, independent reference
 * implementations, and corrupt input that must fail as CorruptChunkError naming the key.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import fc from "fast-check";
import ndarray from "ndarray";
import ops from "ndarray-ops";
import { describe, expect, it } from "vitest";
import { CorruptChunkError, CorruptMetadataError, ValidationError } from "../../src/errors.js";
import { crc32c } from "../../src/format/codecs/crc32c.js";
import { decodeBloscFrame, encodeBloscFrame } from "../../src/format/codecs/blosc/frame.js";
import { decodeLz4Block, encodeLz4Block } from "../../src/format/codecs/blosc/lz4-block.js";
import { shuffleBytes, unshuffleBytes } from "../../src/format/codecs/shuffle.js";
import { xxhash64 } from "../../src/format/codecs/xxhash64.js";
import { availableZstdBackends, frameContentSize, useZstdBackend, zstdBackend } from "../../src/format/codecs/zstd-backend.js";
import {
  allocateTypedArray,
  arrayMetadataJson,
  bytesPerElement,
  type CodecSpec,
  codecsFor,
  createChunkCodec,
  type DataType,
  encodeMetadata,
  parseDataType,
  parseNodeMetadata,
  type TypedArray,
  typedArrayConstructorFor,
} from "../../src/format/index.js";
import { bytesOf, randomChunk } from "../helpers/chunk-data.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const KEY = "pool/data/c/4/2";
const BYTES: CodecSpec = { name: "bytes", configuration: { endian: "little" } };

/** Smooth, compressible content for `dt` (a slow wave plus a ramp), as real measurements are. */
function smoothChunk(dt: DataType, length: number): TypedArray {
  const out = allocateTypedArray(dt, length) as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < length; i++) {
    const v = Math.sin(i / 40) * 60 + i / 50;
    if (dt === "bool") out[i] = i % 7 < 3 ? 1 : 0;
    else if (dt === "int64" || dt === "uint64") out[i] = BigInt(Math.round(Math.abs(v) * 1000));
    else if (dt.startsWith("float")) out[i] = v;
    else out[i] = Math.round(Math.abs(v)) % (dt.endsWith("int8") ? 100 : 30000);
  }
  return out as unknown as TypedArray;
}

const CODEC_LISTS: Array<[string, (dt: DataType) => CodecSpec[]]> = [
  ["zstd", () => codecsFor({ compression: "zstd" })],
  ["zstd level -5 + checksum flag", () => [BYTES, { name: "zstd", configuration: { level: -5, checksum: true } }]],
  ["zstd level 19", () => [BYTES, { name: "zstd", configuration: { level: 19, checksum: false } }]],
  ["zstd + shuffle + crc32c", (dataType) => codecsFor({ compression: "zstd", shuffle: true, checksum: true, dataType })],
  ["gzip + shuffle", (dataType) => codecsFor({ compression: "gzip", shuffle: true, dataType })],
  ["crc32c", () => codecsFor({ checksum: true })],
  ["shuffle alone", (dataType) => codecsFor({ shuffle: true, dataType })],
  ["transpose [2,0,1] + zstd", () => [{ name: "transpose", configuration: { order: [2, 0, 1] } }, ...codecsFor({ compression: "zstd" })]],
  ["transpose F", () => [{ name: "transpose", configuration: { order: "F" } }, BYTES]],
  ["blosc (zstd inside, shuffle)", (dataType) => codecsFor({ compression: "blosc", shuffle: true, dataType })],
  ...(["lz4", "lz4hc", "zlib", "blosclz", "snappy"] as const).flatMap((cname) =>
    (["noshuffle", "shuffle", "bitshuffle"] as const).map((shuffle): [string, (dt: DataType) => CodecSpec[]] => [
      `blosc ${cname} ${shuffle}`,
      (dt) => [BYTES, { name: "blosc", configuration: { cname, clevel: 5, shuffle, typesize: bytesPerElement(dt), blocksize: 0 } }],
    ]),
  ),
];

describe("every codec round-trips every data type", () => {
  for (const [label, codecsOf] of CODEC_LISTS) {
    it(label, async () => {
      for (const dt of PLAIN_DATA_TYPES) {
        // a small chunk of random bits and a larger smooth one (several Blosc blocks, with a leftover)
        for (const [chunkShape, chunk] of [
          [[3, 5, 4], randomChunk(dt, 60)],
          [[40, 30, 13], smoothChunk(dt, 15600)],
        ] as const) {
          const codec = createChunkCodec({ dataType: dt, chunkShape, codecs: codecsOf(dt) });
          const encoded = await codec.encode(chunk);
          const decoded = await codec.decode(encoded, KEY);
          expect(decoded, `${dt} [${chunkShape}]`).toBeInstanceOf(typedArrayConstructorFor(dt));
          expect(Buffer.from(bytesOf(decoded)).equals(Buffer.from(bytesOf(chunk))), `${dt} [${chunkShape}]`).toBe(true);
        }
      }
    });
  }

  it("random chunk shapes and contents (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PLAIN_DATA_TYPES),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 3, maxLength: 3 }),
        fc.constantFrom(...CODEC_LISTS),
        async (dt, chunkShape, [, codecsOf]) => {
          const chunk = randomChunk(dt, chunkShape[0] * chunkShape[1] * chunkShape[2]);
          const codec = createChunkCodec({ dataType: dt, chunkShape, codecs: codecsOf(dt) });
          expect(bytesOf(await codec.decode(await codec.encode(chunk), KEY))).toEqual(bytesOf(chunk));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("compressed chunks are smaller than raw on smooth data", async () => {
    for (const [label, codecsOf] of CODEC_LISTS.filter(([l]) => /shuffle/.test(l) && !/noshuffle|alone|blosclz|snappy/.test(l))) {
      const codec = createChunkCodec({ dataType: "float64", chunkShape: [40, 30, 13], codecs: codecsOf("float64") });
      const encoded = await codec.encode(smoothChunk("float64", 15600));
      expect(encoded.length, label).toBeLessThan(15600 * 8);
    }
  });
});

describe("numcodecs fixtures (what zarr-python's blosc, zstd and shuffle codecs write)", () => {
  interface Fixture {
    name: string;
    dtype: string;
    raw: string;
    encoded: string;
    config: Record<string, unknown>;
  }
  const fixtures = JSON.parse(readFileSync(new URL("./fixtures/codec-fixtures.json", import.meta.url), "utf8")) as { cases: Fixture[] };

  it("covers every blosc compressor and shuffle", () => {
    for (const cname of ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"]) {
      for (const shuffle of ["noshuffle", "shuffle", "bitshuffle"]) {
        expect(fixtures.cases.some((c) => c.name.startsWith(`blosc ${cname} ${shuffle}`)), `${cname} ${shuffle}`).toBe(true);
      }
    }
  });

  for (const fixture of fixtures.cases) {
    it(`decodes ${fixture.name} byte-exactly`, async () => {
      const raw = new Uint8Array(inflateSync(Buffer.from(fixture.raw, "base64")));
      const dataType = parseDataType(fixture.dtype, "fixture dtype");
      const codecName = fixture.name.split(" ")[0];
      const codec = createChunkCodec({
        dataType,
        chunkShape: [raw.length / bytesPerElement(dataType)],
        codecs: [BYTES, { name: codecName, configuration: fixture.config }],
      });
      const encoded = new Uint8Array(Buffer.from(fixture.encoded, "base64"));
      expect(Buffer.from(bytesOf(await codec.decode(encoded, KEY))).equals(Buffer.from(raw))).toBe(true);
      if (codecName === "numcodecs.shuffle") expect(await codec.encode(await codec.decode(encoded, KEY))).toEqual(encoded);
    });
  }
});

describe("zstd backends", () => {
  it("every backend reads what every other wrote, checksummed frames included", async () => {
    const backends = await availableZstdBackends();
    expect(backends.map((b) => b.name)).toContain("@bokuweb/zstd-wasm"); // the fallback always installs
    const content = bytesOf(smoothChunk("float32", 50000));
    for (const writer of backends) {
      for (const checksum of [false, true]) {
        const frame = await writer.compress(content, 3, checksum);
        expect(frameContentSize(frame), writer.name).toBe(content.length);
        expect(((frame[4] >> 2) & 1) === 1, `${writer.name} checksum flag`).toBe(checksum);
        for (const reader of backends) {
          expect(Buffer.from(await reader.decompress(frame, content.length)).equals(Buffer.from(content)), `${writer.name} → ${reader.name}`).toBe(true);
          expect(Buffer.from(reader.decompressSync(frame, content.length)).equals(Buffer.from(content))).toBe(true);
        }
      }
    }
  });

  it("a checksummed frame with altered content fails in every backend", async () => {
    const backends = await availableZstdBackends();
    const content = randomBytes(5000); // incompressible: stored as a raw block, so a flip stays decodable
    for (const writer of backends) {
      const frame = await writer.compress(content, 1, true);
      const altered = frame.slice();
      altered[frame.length - 100] ^= 0x10;
      for (const reader of backends) {
        await expect(reader.decompress(altered, content.length), `${writer.name} → ${reader.name}`).rejects.toThrow();
      }
    }
  });

  it("the codec uses whichever backend is pinned", async () => {
    const codecs = codecsFor({ compression: "zstd", checksum: false });
    const chunk = smoothChunk("int32", 4000);
    try {
      for (const backend of await availableZstdBackends()) {
        useZstdBackend(backend.name);
        expect((await zstdBackend()).name).toBe(backend.name);
        const codec = createChunkCodec({ dataType: "int32", chunkShape: [4000], codecs });
        expect(bytesOf(await codec.decode(await codec.encode(chunk), KEY))).toEqual(bytesOf(chunk));
      }
    } finally {
      useZstdBackend(undefined);
    }
    expect(() => useZstdBackend("zstd-js" as never)).toThrow(/unknown zstd backend "zstd-js"; expected one of node:zlib, zstd-napi/);
  });

  it("the codec accepts whole frames only: concatenated and skippable frames yes, trailing or missing bytes no", async () => {
    const codec = createChunkCodec({ dataType: "uint8", chunkShape: [2000], codecs: codecsFor({ compression: "zstd" }) });
    const content = bytesOf(smoothChunk("uint8", 2000));
    const backend = await zstdBackend();
    const [a, b] = [await backend.compress(content.subarray(0, 700), 3, true), await backend.compress(content.subarray(700), 3, false)];
    const skippable = Uint8Array.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const joined = Uint8Array.from([...a, ...skippable, ...b]);
    expect(bytesOf(await codec.decode(joined, KEY))).toEqual(content);
    await expect(codec.decode(Uint8Array.from([...joined, 0]), KEY)).rejects.toThrow(/zstd data ends inside a frame's magic number/);
    await expect(codec.decode(Uint8Array.from([...joined, 1, 2, 3, 4]), KEY)).rejects.toThrow(/not a zstd frame at byte \d+ .*trailing bytes/);
    await expect(codec.decode(joined.subarray(0, joined.length - 2), KEY)).rejects.toThrow(/zstd data ends inside a block/);
  });

  it("xxhash64 matches published values", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(xxhash64(text(""))).toBe(0xef46db3751d8e999n);
    expect(xxhash64(text("a"))).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64(text("abc"))).toBe(0x44bc2cf5ad770999n);
    expect(xxhash64(text("Nobody inspects the spammish repetition"))).toBe(0xfbcea83c8a378bf1n);
  });
});

describe("crc32c", () => {
  /** Bit by bit, straight from the definition. */
  function referenceCrc32c(bytes: Uint8Array): number {
    let crc = 0xffffffff;
    for (const byte of bytes) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  }

  it("matches the standard check value and a bit-by-bit reference", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    for (const length of [0, 1, 7, 8, 9, 63, 64, 1000, 4099]) {
      const bytes = randomBytes(length);
      expect(crc32c(bytes)).toBe(referenceCrc32c(bytes));
    }
  });

  it("appends the checksum little endian and strips it on decode", async () => {
    const codec = createChunkCodec({ dataType: "uint8", chunkShape: [9], codecs: codecsFor({ checksum: true }) });
    const encoded = await codec.encode(new TextEncoder().encode("123456789"));
    expect(Array.from(encoded.subarray(9))).toEqual([0x83, 0x92, 0x06, 0xe3]);
  });

  it("any altered byte gives CorruptChunkError naming the key", async () => {
    const codec = createChunkCodec({ dataType: "float32", chunkShape: [64], codecs: codecsFor({ compression: "zstd", checksum: true }) });
    const encoded = await codec.encode(smoothChunk("float32", 64));
    for (let i = 0; i < encoded.length; i++) {
      const altered = encoded.slice();
      altered[i] ^= 1 << (i % 8);
      const error = await codec.decode(altered, KEY).then(() => undefined, (e: unknown) => e);
      expect(error, `byte ${i}`).toBeInstanceOf(CorruptChunkError);
      expect((error as Error).message).toMatch(/chunk "pool\/data\/c\/4\/2" cannot be decoded \(codec "crc32c"\): crc32c checksum mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
    }
    await expect(codec.decode(encoded.subarray(0, 3), KEY)).rejects.toThrow(/too short to hold a 4-byte crc32c checksum/);
  });
});

describe("shuffle and transpose against brute-force references", () => {
  it("shuffle puts byte j of element i at j·n + i, trailing bytes last", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 16 }), (bytes, size) => {
        const n = Math.floor(bytes.length / size);
        const expected = new Uint8Array(bytes.length);
        for (let i = 0; i < bytes.length; i++) {
          const element = Math.floor(i / size);
          expected[element < n && n > 1 ? (i % size) * n + element : i] = bytes[i];
        }
        expect(shuffleBytes(bytes, size)).toEqual(expected);
        expect(unshuffleBytes(shuffleBytes(bytes, size), size)).toEqual(bytes);
      }),
    );
  });

  it("transpose stores chunk.transpose(order), as numpy", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length })),
        ),
        async ([shape, order]) => {
          const length = shape.reduce((a, b) => a * b, 1);
          const chunk = Float64Array.from({ length }, (_, i) => i);
          const codec = createChunkCodec({ dataType: "float64", chunkShape: shape, codecs: [{ name: "transpose", configuration: { order } }, BYTES] });
          const encoded = await codec.encode(chunk);
          // numpy's transpose, through ndarray: a permuted view copied out in C order
          const view = ndarray(chunk, shape).transpose(...order);
          const expected = ndarray(new Float64Array(length), view.shape);
          ops.assign(expected, view);
          expect(Array.from(new Float64Array(encoded.buffer, encoded.byteOffset, length))).toEqual(Array.from(expected.data as Float64Array));
          expect(Array.from(await codec.decode(encoded, KEY) as Float64Array)).toEqual(Array.from(chunk));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("blosc frames", () => {
  it("lz4 blocks decode to what was encoded, for random and repetitive input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3000 }).map((a) => Uint8Array.from(a))), (input) => {
        const out = new Uint8Array(input.length);
        decodeLz4Block(encodeLz4Block(input), out);
        expect(out).toEqual(input);
      }),
    );
  });

  it("stores incompressible data memcpyed and clevel 0 raw, as Blosc does", async () => {
    const options = { cname: "lz4", clevel: 5, shuffle: "shuffle", typesize: 4, blocksize: 0 } as const;
    const noise = randomBytes(4000);
    const frame = await encodeBloscFrame(noise, options, encodeLz4Block);
    expect(frame[2] & 0x02).toBe(0x02);
    expect(frame.length).toBe(4016);
    expect(decodeBloscFrame(frame, () => decodeLz4Block, 4000)).toEqual(new Uint8Array(noise));
    const zero = await encodeBloscFrame(new Uint8Array(4000), { ...options, clevel: 0 }, encodeLz4Block);
    expect(zero[2] & 0x02).toBe(0x02);
  });

  it("refuses a header that claims more than the chunk holds", async () => {
    const frame = await encodeBloscFrame(new Uint8Array(4000), { cname: "lz4", clevel: 5, shuffle: "noshuffle", typesize: 1, blocksize: 0 }, encodeLz4Block);
    expect(() => decodeBloscFrame(frame, () => decodeLz4Block, 100)).toThrow(/declares 4000 decoded bytes, more than the 100/);
  });
});

/** Debian's python3-numcodecs (c-blosc 1.21), when this machine has it: an independent Blosc decoder. */
const PYTHON = "/usr/bin/python3";
const hasNumcodecs = spawnSync(PYTHON, ["-c", "import numcodecs"], { stdio: "ignore" }).status === 0;

describe.skipIf(!hasNumcodecs)("c-blosc (through numcodecs) reads the blosc chunks dosna writes", () => {
  it("every compressor × shuffle × type size, one block and many", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dosna-blosc-"));
    try {
      const names: string[] = [];
      for (const cname of ["lz4", "lz4hc", "zlib", "zstd", "blosclz", "snappy"]) {
        for (const shuffle of ["noshuffle", "shuffle", "bitshuffle"]) {
          for (const dt of ["float64", "int16", "uint8"] as const) {
            for (const length of [5, 1000, 50001]) {
              const chunk = smoothChunk(dt, length);
              const codec = createChunkCodec({
                dataType: dt, chunkShape: [length],
                codecs: [BYTES, { name: "blosc", configuration: { cname, clevel: 5, shuffle, typesize: bytesPerElement(dt), blocksize: 0 } }],
              });
              const name = `${cname}-${shuffle}-${dt}-${length}`;
              writeFileSync(join(dir, `${name}.blosc`), await codec.encode(chunk));
              writeFileSync(join(dir, `${name}.raw`), bytesOf(chunk));
              names.push(name);
            }
          }
        }
      }
      const script = [
        "import sys, os",
        "from numcodecs import Blosc",
        "d = sys.argv[1]",
        "for name in sys.argv[2:]:",
        "    enc = open(os.path.join(d, name + '.blosc'), 'rb').read()",
        "    raw = open(os.path.join(d, name + '.raw'), 'rb').read()",
        "    print(name, 'ok' if bytes(Blosc().decode(enc)) == raw else 'MISMATCH')",
      ].join("\n");
      const result = spawnSync(PYTHON, ["-c", script, dir, ...names], { encoding: "utf8" });
      expect(result.stderr).toBe("");
      expect(result.stdout.trim().split("\n")).toEqual(names.map((name) => `${name} ok`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("corrupt chunks give CorruptChunkError naming the key", () => {
  const cases = CODEC_LISTS.filter(([label]) => !/^(shuffle alone|transpose F)/.test(label));

  it("truncated, padded or garbage input, for every codec", async () => {
    for (const [label, codecsOf] of cases) {
      const dt: DataType = "float64";
      const codec = createChunkCodec({ dataType: dt, chunkShape: [10, 12, 10], codecs: codecsOf(dt) });
      const encoded = await codec.encode(smoothChunk(dt, 1200));
      const bad = [
        encoded.subarray(0, Math.floor(encoded.length / 2)),
        encoded.subarray(0, encoded.length - 1),
        new Uint8Array(0),
        randomBytes(encoded.length),
        Uint8Array.from([...encoded, 1, 2, 3]),
      ];
      for (const bytes of bad) {
        const error = await codec.decode(new Uint8Array(bytes), KEY).then(() => undefined, (e: unknown) => e);
        expect(error, `${label}: ${bytes.length} bytes`).toBeInstanceOf(CorruptChunkError);
        expect((error as Error).message, label).toContain(`chunk "${KEY}" cannot be decoded`);
      }
    }
  });

  it("random damage never escapes as anything but CorruptChunkError (property)", async () => {
    const prepared = await Promise.all(
      cases.map(async ([label, codecsOf]) => {
        const codec = createChunkCodec({ dataType: "int16", chunkShape: [5, 10, 10], codecs: codecsOf("int16") });
        return { label, codec, encoded: await codec.encode(smoothChunk("int16", 500)) };
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...prepared),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat()),
        async ({ codec, encoded }, flips, cut) => {
          const bytes = encoded.slice(0, cut === null ? undefined : cut % (encoded.length + 1));
          for (const [at, mask] of flips) if (bytes.length > 0) bytes[at % bytes.length] ^= mask;
          try {
            const decoded = await codec.decode(bytes, KEY);
            expect(decoded.length).toBe(500); // damage a codec cannot see still decodes to a whole chunk
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptChunkError);
            expect((error as Error).message).toContain(KEY);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("blosc names the compressor and the block", async () => {
    const codec = createChunkCodec({ dataType: "float32", chunkShape: [20000], codecs: codecsFor({ compression: "blosc", shuffle: true, dataType: "float32" }) });
    const encoded = await codec.encode(smoothChunk("float32", 20000));
    const view = new DataView(encoded.buffer, encoded.byteOffset);
    const damaged = encoded.slice();
    damaged.fill(0xab, view.getUint32(16, true) + 4, view.getUint32(16, true) + 40); // inside block 0's zstd frame
    await expect(codec.decode(damaged, KEY)).rejects.toThrow(/chunk "pool\/data\/c\/4\/2" cannot be decoded \(codec "blosc"\): blosc block 0 \(compressor "zstd"\)/);
    const blosc2 = encoded.slice();
    blosc2[0] = 4;
    await expect(codec.decode(blosc2, KEY)).rejects.toThrow(/blosc format version 4 \(Blosc2\)|blosc format version 4 is not supported/);
  });
});

describe("bad codec configurations name the codec and the allowed values", () => {
  const base = {
    zarr_format: 3,
    node_type: "array",
    shape: [4],
    data_type: "float32",
    chunk_grid: { name: "regular", configuration: { chunk_shape: [4] } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: 0,
  };
  const cases: Array<[string, CodecSpec[], RegExp]> = [
    ["zstd level", [BYTES, { name: "zstd", configuration: { level: 23, checksum: false } }], /codec "zstd": level must be an integer from -131072 to 22 .*got 23/],
    ["zstd checksum", [BYTES, { name: "zstd", configuration: { level: 3, checksum: "yes" } }], /codec "zstd": checksum must be true or false, got "yes"/],
    ["blosc cname", [BYTES, { name: "blosc", configuration: { cname: "lzma", clevel: 5, shuffle: "shuffle", typesize: 4 } }], /codec "blosc": cname must be one of "blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd", got "lzma"/],
    ["blosc clevel", [BYTES, { name: "blosc", configuration: { cname: "lz4", clevel: 10, shuffle: "shuffle", typesize: 4 } }], /codec "blosc": clevel must be an integer from 0 to 9, got 10/],
    ["blosc shuffle", [BYTES, { name: "blosc", configuration: { cname: "lz4", clevel: 1, shuffle: 1, typesize: 4 } }], /codec "blosc": shuffle must be one of "noshuffle", "shuffle", "bitshuffle", got 1/],
    ["blosc typesize", [BYTES, { name: "blosc", configuration: { cname: "lz4", clevel: 1, shuffle: "shuffle", typesize: 0 } }], /codec "blosc": typesize must be an integer from 1 to 255/],
    ["shuffle elementsize", [BYTES, { name: "numcodecs.shuffle", configuration: { elementsize: 0 } }], /codec "numcodecs.shuffle": elementsize must be a positive integer \(the element size in bytes, 4 for float32\), got 0/],
    ["transpose order", [{ name: "transpose", configuration: { order: [0, 0] } }, BYTES], /codec "transpose": order must be a permutation of \[0\] .*got \[0,0\]/],
    ["crc32c configuration", [BYTES, { name: "crc32c", configuration: { seed: 1 } }], /codec "crc32c": takes no configuration/],
  ];
  for (const [label, codecs, problem] of cases) {
    it(`${label}: in metadata and in createChunkCodec`, () => {
      const error = (() => {
        try {
          parseNodeMetadata(encodeMetadata({ ...base, codecs }), "pool/arr/zarr.json");
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(CorruptMetadataError);
      expect((error as Error).message).toContain('"pool/arr/zarr.json"');
      expect((error as Error).message).toMatch(problem);
      expect(() => createChunkCodec({ dataType: "float32", chunkShape: [4], codecs })).toThrow(ValidationError);
    });
  }

  it("zarr.json written for every compression option parses back to the same codecs", () => {
    for (const options of [
      { compression: "zstd", shuffle: true, checksum: true },
      { compression: "gzip", compressionLevel: 1, shuffle: true },
      { compression: "blosc", shuffle: true },
    ] as const) {
      const info = {
        shape: [10, 10], dataType: "uint16" as const, chunkShape: [4, 4], fillValue: 0, attributes: {},
        codecs: codecsFor({ ...options, dataType: "uint16" }), chunkKeyEncoding: { name: "default" as const, separator: "/" as const },
      };
      const parsed = parseNodeMetadata(encodeMetadata(arrayMetadataJson(info)), "k");
      expect(parsed.kind === "array" && parsed.info.codecs).toEqual(info.codecs);
    }
  });
});
