/**
 * Interoperability with zarrita.js, an independent Zarr v3 implementation: arrays it writes parse
 * and decode here, and arrays written with these functions open and read in zarrita.
 */
import { randomBytes } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import * as zarr from "zarrita";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ArrayInfo,
  allocateTypedArray,
  arrayMetadataJson,
  bytesPerElement,
  type ChunkKeyEncoding,
  chunkKey,
  codecsFor,
  createChunkCodec,
  type DataType,
  encodeMetadata,
  groupMetadataJson,
  metadataKey,
  parseNodeMetadata,
  type Scalar,
  type TypedArray,
  typedArrayConstructorFor,
} from "../../src/format/index.js";
import { PLAIN_DATA_TYPES } from "../helpers/data-types.js";

const elements = (a: ArrayLike<number | bigint>): (number | bigint)[] => Array.from(a);

type MapStore = Map<string, Uint8Array>;

const SHAPE = [5, 7];
const CHUNKS = [2, 3]; // 3 × 3 grid; the last row and column of chunks are partial

/** Random array contents in C order (bool as 0/1, integer-ish floats so NaN never hides a mismatch). */
function randomData(dt: DataType, length: number): TypedArray {
  const out = allocateTypedArray(dt, length);
  const bytes = randomBytes(length * 8);
  for (let i = 0; i < length; i++) {
    const r = bytes.readInt32LE(i * 4);
    if (dt === "bool") (out as Uint8Array)[i] = r & 1;
    else if (dt === "int64" || dt === "uint64") (out as BigInt64Array)[i] = BigInt.asIntN(64, bytes.readBigInt64LE(i * 8));
    else if (dt === "float32" || dt === "float64") (out as Float64Array)[i] = r / 8;
    else (out as Int32Array)[i] = r;
  }
  return out;
}

function fillValueFor(dt: DataType): Scalar {
  if (dt === "bool") return true;
  if (dt === "int64") return -5n;
  if (dt === "uint64") return 9n;
  if (dt === "float32") return NaN;
  if (dt === "float64") return -Infinity;
  return dt.startsWith("u") ? 200 : -7;
}

function elementOf(dt: DataType, v: Scalar): number | bigint {
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}

function asList(data: ArrayLike<unknown> | { get(i: number): unknown; length: number }): unknown[] {
  const get = "get" in data && typeof data.get === "function" ? (i: number) => data.get(i) : (i: number) => (data as ArrayLike<unknown>)[i];
  return Array.from({ length: data.length }, (_, i) => {
    const v = get(i);
    return typeof v === "boolean" ? (v ? 1 : 0) : v;
  });
}

function gridIndices(shape: number[], chunks: number[]): number[][] {
  const counts = shape.map((s, i) => Math.ceil(s / chunks[i]));
  const out: number[][] = [];
  for (let a = 0; a < counts[0]; a++) for (let b = 0; b < counts[1]; b++) out.push([a, b]);
  return out;
}

/** The padded chunk at `grid`, cut from `data` by brute force. */
function chunkOf(data: TypedArray, dt: DataType, grid: number[], fill: Scalar): TypedArray {
  const chunk = allocateTypedArray(dt, CHUNKS[0] * CHUNKS[1]) as unknown as { [i: number]: number | bigint; fill(v: unknown): void };
  chunk.fill(elementOf(dt, fill));
  for (let i = 0; i < CHUNKS[0]; i++) {
    for (let j = 0; j < CHUNKS[1]; j++) {
      const y = grid[0] * CHUNKS[0] + i;
      const x = grid[1] * CHUNKS[1] + j;
      if (y < SHAPE[0] && x < SHAPE[1]) chunk[i * CHUNKS[1] + j] = (data as unknown as { [i: number]: number | bigint })[y * SHAPE[1] + x];
    }
  }
  return chunk as unknown as TypedArray;
}

const COMPRESSIONS = [
  ["raw", codecsFor({ compression: "none" })],
  ["gzip", codecsFor({ compression: "gzip", compressionLevel: 3 })],
] as const;

describe("zarrita writes, dosna reads", () => {
  // zarrita reads gzip but cannot write it; give it an encoder built directly on node:zlib.
  const originalGzip = zarr.registry.get("gzip");
  beforeAll(() => {
    zarr.registry.set("gzip", () =>
      Promise.resolve({
        kind: "bytes_to_bytes" as const,
        fromConfig: (config: unknown) => ({
          kind: "bytes_to_bytes" as const,
          encode: async (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: (config as { level?: number } | undefined)?.level ?? 5 })),
          decode: async (b: Uint8Array) => new Uint8Array(gunzipSync(b)),
        }),
      }) as never,
    );
  });
  afterAll(() => {
    if (originalGzip) zarr.registry.set("gzip", originalGzip);
  });

  for (const dt of PLAIN_DATA_TYPES) {
    for (const [label, codecs] of COMPRESSIONS) {
      it(`${dt} ${label}`, async () => {
        const store: MapStore = new Map();
        await zarr.create(zarr.root(store), { attributes: { made_by: "zarrita" } });
        const fill = fillValueFor(dt);
        const data = randomData(dt, SHAPE[0] * SHAPE[1]);
        const arr = await zarr.create(zarr.root(store).resolve("grp/arr"), {
          shape: SHAPE,
          chunkShape: CHUNKS,
          dtype: dt as zarr.DataType,
          codecs: codecs.map((c) => ({ ...c })) as never,
          // zarrita's JSON writer cannot serialise a bigint
          fillValue: (typeof fill === "bigint" ? Number(fill) : fill) as never,
          attributes: { units: "m" },
        });
        const value = dt === "bool" ? new zarr.BoolArray(Array.from(data as Uint8Array, (v) => v === 1)) : data;
        await zarr.set(arr, null, { data: value, shape: SHAPE, stride: [SHAPE[1], 1] } as never);

        const root = parseNodeMetadata(store.get(`/${metadataKey("")}`)!, "zarr.json");
        expect(root).toEqual({ kind: "group", attributes: { made_by: "zarrita" } });
        const key = metadataKey("grp/arr");
        const node = parseNodeMetadata(store.get(`/${key}`)!, key);
        if (node.kind !== "array") throw new Error("expected an array");
        const info = node.info;
        expect(info.shape).toEqual(SHAPE);
        expect(info.chunkShape).toEqual(CHUNKS);
        expect(info.dataType).toBe(dt);
        expect(Object.is(info.fillValue, fill)).toBe(true);
        expect(info.attributes).toEqual({ units: "m" });
        expect(info.codecs.map((c) => c.name)).toEqual(codecs.map((c) => c.name));

        const codec = createChunkCodec(info);
        for (const grid of gridIndices(SHAPE, CHUNKS)) {
          const stored = store.get(`/${chunkKey("grp/arr", grid, info.chunkKeyEncoding)}`);
          expect(stored, `chunk ${grid}`).toBeDefined();
          if (label === "gzip") expect([stored![0], stored![1]]).toEqual([0x1f, 0x8b]);
          const decoded = await codec.decode(stored!, `grp/arr ${grid}`);
          const expected = chunkOf(data, dt, grid, fill);
          // compare only the in-bounds part: zarrita's padding is its own business
          const inBounds = (i: number) =>
            grid[0] * CHUNKS[0] + Math.floor(i / CHUNKS[1]) < SHAPE[0] && grid[1] * CHUNKS[1] + (i % CHUNKS[1]) < SHAPE[1];
          const pick = (a: TypedArray) => asList(a).filter((_, i) => inBounds(i));
          expect(pick(decoded)).toEqual(pick(expected));
        }
      });
    }
  }

  it("reads zarrita's defaults: no codecs and a null fill value", async () => {
    const store: MapStore = new Map();
    const arr = await zarr.create(zarr.root(store).resolve("a"), { shape: [4], chunkShape: [4], dtype: "int16" });
    await zarr.set(arr, null, { data: new Int16Array([1, -2, 3, -4]), shape: [4], stride: [1] });
    const node = parseNodeMetadata(store.get("/a/zarr.json")!, "a/zarr.json");
    if (node.kind !== "array") throw new Error("expected an array");
    expect(node.info.fillValue).toBe(0);
    const decoded = await createChunkCodec(node.info).decode(store.get(`/${chunkKey("a", [0], node.info.chunkKeyEncoding)}`)!, "a/c/0");
    expect(elements(decoded)).toEqual([1, -2, 3, -4]);
  });
});

describe("dosna writes, zarrita reads", () => {
  const encodings: ChunkKeyEncoding[] = [
    { name: "default", separator: "/" },
    { name: "v2", separator: "." },
  ];
  for (const dt of PLAIN_DATA_TYPES) {
    for (const [label, codecs] of COMPRESSIONS) {
      it(`${dt} ${label}`, async () => {
        for (const chunkKeyEncoding of encodings) {
          const store: MapStore = new Map();
          const fill = fillValueFor(dt);
          const info: ArrayInfo = {
            shape: SHAPE,
            dataType: dt,
            chunkShape: CHUNKS,
            fillValue: fill,
            codecs: [...codecs],
            attributes: { dosna: { version: 1 } },
            chunkKeyEncoding,
            dimensionNames: ["y", "x"],
          };
          store.set(`/${metadataKey("")}`, encodeMetadata(groupMetadataJson({ title: "pool" })));
          store.set(`/${metadataKey("grp/arr")}`, encodeMetadata(arrayMetadataJson(info)));
          const data = randomData(dt, SHAPE[0] * SHAPE[1]);
          const codec = createChunkCodec(info);
          const skipped = [1, 1]; // left unwritten: zarrita must read it as the fill value
          for (const grid of gridIndices(SHAPE, CHUNKS)) {
            if (grid[0] === skipped[0] && grid[1] === skipped[1]) continue;
            store.set(`/${chunkKey("grp/arr", grid, chunkKeyEncoding)}`, await codec.encode(chunkOf(data, dt, grid, fill)));
          }

          const group = await zarr.open(zarr.root(store), { kind: "group" });
          expect(group.attrs).toEqual({ title: "pool" });
          const arr = await zarr.open(zarr.root(store).resolve("grp/arr"), { kind: "array" });
          expect(arr.shape).toEqual(SHAPE);
          expect(arr.chunks).toEqual(CHUNKS);
          expect(arr.dtype).toBe(dt);
          expect(arr.attrs).toEqual({ dosna: { version: 1 } });
          expect(Object.is(elementOf(dt, arr.fillValue as Scalar), elementOf(dt, fill))).toBe(true);
          const result = await zarr.get(arr);
          expect(result.shape).toEqual(SHAPE);

          const expected = asList(data);
          for (let y = 2; y < 4; y++) for (let x = 3; x < 6; x++) expected[y * SHAPE[1] + x] = elementOf(dt, fill);
          expect(asList(result.data as ArrayLike<unknown>)).toEqual(expected);
        }
      });
    }
  }

  it("zarrita reads a 0-d array", async () => {
    const store: MapStore = new Map();
    const info: ArrayInfo = {
      shape: [],
      dataType: "float64",
      chunkShape: [],
      fillValue: 0,
      codecs: codecsFor({ compression: "gzip" }),
      attributes: {},
      chunkKeyEncoding: { name: "default", separator: "/" },
    };
    store.set("/s/zarr.json", encodeMetadata(arrayMetadataJson(info)));
    store.set(`/${chunkKey("s", [], info.chunkKeyEncoding)}`, await createChunkCodec(info).encode(new Float64Array([2.5])));
    const arr = await zarr.open(zarr.root(store).resolve("s"), { kind: "array" });
    expect(await zarr.get(arr, [])).toBe(2.5);
  });
});

it("bytesPerElement agrees with zarrita's typed arrays", async () => {
  for (const dt of PLAIN_DATA_TYPES) {
    const store: MapStore = new Map();
    const fillValue = (dt === "bool" ? false : 0) as never; // zarrita needs one for 64-bit types
    const arr = await zarr.create(zarr.root(store).resolve("a"), { shape: [1], chunkShape: [1], dtype: dt as zarr.DataType, fillValue });
    const chunk = await zarr.get(arr);
    expect((chunk.data as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT).toBe(bytesPerElement(dt));
    if (dt !== "bool") expect(chunk.data).toBeInstanceOf(typedArrayConstructorFor(dt));
  }
});
