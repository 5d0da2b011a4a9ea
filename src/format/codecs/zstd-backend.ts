/**
 * Where zstd comes from, fastest first. Measured on 4 MiB of smooth float32 at level 1, on a busy
 * 2-core machine: zstd-napi ~560–770 MB/s compress, ~1.6 GB/s decompress; @bokuweb/zstd-wasm
 * ~310–470 and ~180–370 MB/s; node:zlib (Node 22, 24) within the noise of zstd-napi.
 *
 * 1. `node:zlib` (Node >= 22.15 / 23.8): native, no dependency, and its async calls run in the
 *    libuv thread pool, so chunks compress in parallel off the event loop.
 * 2. `zstd-napi` (optional dependency): native and as fast, but synchronous; it is compiled at
 *    install, which npm 11 only does when the installing project allows its scripts.
 * 3. `@bokuweb/zstd-wasm`: WebAssembly, installs everywhere, 2–4× slower. It cannot set the
 *    frame checksum flag, so that is done here (flag bit plus the XXH64 trailer).
 *
 * All three write the same format; any of them reads what the others wrote.
 */
import { createRequire } from "node:module";
import * as zlib from "node:zlib";
import { xxhash64 } from "./xxhash64.js";

export type ZstdBackendName = "node:zlib" | "zstd-napi" | "@bokuweb/zstd-wasm";
export const ZSTD_BACKEND_NAMES: readonly ZstdBackendName[] = ["node:zlib", "zstd-napi", "@bokuweb/zstd-wasm"];

export interface ZstdBackend {
  readonly name: ZstdBackendName;
  /** One zstd frame holding `bytes`, with its content size and, if asked, its checksum. */
  compress(bytes: Uint8Array, level: number, checksum: boolean): Promise<Uint8Array>;
  /** The content of the frame(s) in `bytes`; `sizeHint` is the expected size when a frame does not record it. */
  decompress(bytes: Uint8Array, sizeHint: number): Promise<Uint8Array>;
  decompressSync(bytes: Uint8Array, sizeHint: number): Uint8Array;
}

/** zstd's own level bounds (ZSTD_minCLevel() .. ZSTD_maxCLevel()); 0 means its default, 3. */
export const ZSTD_MIN_LEVEL = -131072;
export const ZSTD_MAX_LEVEL = 22;

const require = createRequire(import.meta.url);

const asBytes = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

interface ZlibWithZstd {
  zstdCompress(buf: Uint8Array, options: object, callback: (error: Error | null, result: Buffer) => void): void;
  zstdDecompress(buf: Uint8Array, options: object, callback: (error: Error | null, result: Buffer) => void): void;
  zstdDecompressSync(buf: Uint8Array, options: object): Buffer;
  constants: Record<string, number>;
}

function loadNodeZlib(): ZstdBackend | undefined {
  const z = zlib as unknown as Partial<ZlibWithZstd>;
  if (typeof z.zstdCompress !== "function" || typeof z.zstdDecompressSync !== "function" || !z.constants) return undefined;
  const { zstdCompress, zstdDecompress, zstdDecompressSync, constants } = z as ZlibWithZstd;
  return {
    name: "node:zlib",
    compress: (bytes, level, checksum) =>
      new Promise((resolve, reject) => {
        const params = { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0 };
        // pledgedSrcSize makes the frame record its content size, as the one-shot APIs do
        const options = { params, pledgedSrcSize: bytes.length, chunkSize: outputChunkSize(bytes.length + (bytes.length >> 7) + 1024) };
        zstdCompress(bytes, options, (error, out) => (error ? reject(error) : resolve(trimmed(asBytes(out)))));
      }),
    decompress: (bytes, sizeHint) =>
      new Promise((resolve, reject) =>
        zstdDecompress(bytes, { chunkSize: outputChunkSize(sizeHint) }, (error, out) => (error ? reject(error) : resolve(asBytes(out)))),
      ),
    decompressSync: (bytes, sizeHint) => asBytes(zstdDecompressSync(bytes, { chunkSize: outputChunkSize(sizeHint) })),
  };
}

/**
 * node:zlib hands its output over in chunkSize pieces (16 KiB by default) and joins them: with
 * output-sized pieces, 4 MiB of float32 compressed ~4× and decompressed ~5× faster (measured on
 * Node 22 and 24).
 */
function outputChunkSize(expected: number): number {
  return Math.min(Math.max(expected, 64 * 1024), 64 * 1024 * 1024);
}

/** A result much smaller than the piece it was written into is copied out, so the piece can be freed. */
function trimmed(out: Uint8Array): Uint8Array {
  return out.byteLength < out.buffer.byteLength / 2 ? out.slice() : out;
}

interface ZstdNapi {
  compress(data: Uint8Array, parameters: { compressionLevel: number; checksumFlag: boolean }): Buffer;
  decompress(data: Uint8Array): Buffer;
}

function loadZstdNapi(): ZstdBackend | undefined {
  let napi: ZstdNapi;
  try {
    napi = require("zstd-napi") as ZstdNapi;
  } catch {
    return undefined; // not installed, or its native part was not built
  }
  return {
    name: "zstd-napi",
    compress: async (bytes, level, checksum) => asBytes(napi.compress(bytes, { compressionLevel: level, checksumFlag: checksum })),
    decompress: async (bytes) => asBytes(napi.decompress(bytes)),
    decompressSync: (bytes) => asBytes(napi.decompress(bytes)),
  };
}

interface ZstdWasm {
  init(): Promise<void>;
  compress(data: Uint8Array, level: number): Uint8Array;
  decompress(data: Uint8Array, options: { defaultHeapSize: number }): Uint8Array;
}

async function loadZstdWasm(): Promise<ZstdBackend | undefined> {
  let wasm: ZstdWasm;
  try {
    wasm = require("@bokuweb/zstd-wasm") as ZstdWasm;
    await wasm.init();
  } catch {
    return undefined;
  }
  const decompressSync = (bytes: Uint8Array, sizeHint: number): Uint8Array => {
    // The wasm build trusts the frame header for its output allocation: refuse absurd sizes
    // (a corrupt header) before they reach it, and give it our hint when the size is absent.
    if (!isZstdFrame(bytes)) throw new Error(`not a zstd frame (no zstd magic number at the start of the ${bytes.length} bytes)`);
    const declared = frameContentSize(bytes);
    if (declared !== undefined && declared > Math.max(sizeHint, 1) * 64 + (1 << 20)) {
      throw new Error(`zstd frame header declares ${declared} bytes, far more than the ${sizeHint} expected`);
    }
    return wasm.decompress(bytes, { defaultHeapSize: Math.max(sizeHint, 1) });
  };
  return {
    name: "@bokuweb/zstd-wasm",
    compress: async (bytes, level, checksum) => {
      const frame = wasm.compress(bytes, level);
      return checksum ? withContentChecksum(frame, bytes) : frame;
    },
    decompress: async (bytes, sizeHint) => decompressSync(bytes, sizeHint),
    decompressSync,
  };
}

const ZSTD_MAGIC = 0xfd2fb528;

function isZstdFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === ZSTD_MAGIC;
}

/** The content size a zstd frame header records, or undefined if it records none (or this is not one). */
export function frameContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 6 || !isZstdFrame(frame)) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const descriptor = frame[4];
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3];
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes;
  const fieldBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag];
  if (fieldBytes === 0 || at + fieldBytes > frame.length) return undefined;
  switch (fieldBytes) {
    case 1: return frame[at];
    case 2: return view.getUint16(at, true) + 256;
    case 4: return view.getUint32(at, true);
    default: return Number(view.getBigUint64(at, true));
  }
}

/**
 * The data frames of `bytes`, as views, after checking that it is a whole number of zstd frames
 * (skippable ones are left out), by walking the block headers: streaming decoders such as
 * node:zlib's accept trailing garbage, and stop after the first frame, without complaint.
 */
export function zstdFrames(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > bytes.length) throw new Error(`zstd data ends inside ${what} (at byte ${at} of ${bytes.length})`);
  };
  do {
    need(4, "a frame's magic number");
    const magic = view.getUint32(at, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      need(8, "a skippable frame header");
      at += 8 + view.getUint32(at + 4, true);
      need(0, "a skippable frame");
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error(`not a zstd frame at byte ${at} (magic 0x${magic.toString(16)}); the data is damaged or has trailing bytes`);
    const start = at;
    need(5, "a frame header");
    const descriptor = bytes[at + 4];
    const singleSegment = (descriptor >> 5) & 1;
    const headerBytes = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3] + [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6];
    need(headerBytes, "a frame header");
    at += headerBytes;
    for (let last = false; !last; ) {
      need(3, "a block header");
      const header = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw new Error(`zstd block at byte ${at} has the reserved block type`);
      at += 3 + (type === 1 ? 1 : header >>> 3); // an RLE block stores its one byte
      need(0, "a block");
    }
    if (descriptor & 0x04) {
      need(4, "a frame checksum");
      at += 4;
    }
    frames.push(bytes.subarray(start, at));
  } while (at < bytes.length);
  return frames;
}

/** `frame` (one zstd frame of `content`) with the content checksum flag set and the checksum appended. */
function withContentChecksum(frame: Uint8Array, content: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  out.set(frame);
  out[4] |= 0x04; // Content_Checksum_flag; the header's size does not change
  new DataView(out.buffer).setUint32(frame.length, Number(xxhash64(content) & 0xffffffffn), true);
  return out;
}

const loaders: Record<ZstdBackendName, () => ZstdBackend | undefined | Promise<ZstdBackend | undefined>> = {
  "node:zlib": loadNodeZlib,
  "zstd-napi": loadZstdNapi,
  "@bokuweb/zstd-wasm": loadZstdWasm,
};
const loaded = new Map<ZstdBackendName, Promise<ZstdBackend | undefined>>();

function load(name: ZstdBackendName): Promise<ZstdBackend | undefined> {
  let backend = loaded.get(name);
  if (backend === undefined) {
    backend = Promise.resolve().then(loaders[name]);
    loaded.set(name, backend);
  }
  return backend;
}

/** Every backend that loads on this machine, fastest first (tests and benchmarks compare them). */
export async function availableZstdBackends(): Promise<ZstdBackend[]> {
  const all = await Promise.all(ZSTD_BACKEND_NAMES.map(load));
  return all.filter((b): b is ZstdBackend => b !== undefined);
}

let preferred: ZstdBackendName | undefined;
let chosen: Promise<ZstdBackend> | undefined;

/** Pin the backend the zstd codec uses (benchmarks), or go back to the fastest available with undefined. */
export function useZstdBackend(name: ZstdBackendName | undefined): void {
  if (name !== undefined && !ZSTD_BACKEND_NAMES.includes(name)) {
    throw new Error(`unknown zstd backend ${JSON.stringify(name)}; expected one of ${ZSTD_BACKEND_NAMES.join(", ")}`);
  }
  preferred = name;
  chosen = undefined;
}

/** The backend the zstd codec uses: the pinned one, or the fastest that loads. */
export function zstdBackend(): Promise<ZstdBackend> {
  chosen ??= (async () => {
    if (preferred !== undefined) {
      const backend = await load(preferred);
      if (backend === undefined) throw new Error(`zstd backend "${preferred}" is not available on this machine`);
      return backend;
    }
    const [first] = await availableZstdBackends();
    if (first === undefined) {
      throw new Error(`no zstd implementation is available: need Node >= 22.15 (node:zlib), or the zstd-napi or @bokuweb/zstd-wasm package`);
    }
    return first;
  })();
  return chosen;
}
