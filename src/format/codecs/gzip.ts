/**
 * The `gzip` bytes→bytes codec. Never on the event loop: large chunks go to a worker_threads pool
 * (zlib-workers.ts, measured fastest), small ones to node:zlib's asynchronous functions (libuv's
 * thread pool; for 1 MiB float64 chunks at level 5: 15 ms sync vs 7 ms per chunk with 8 in flight).
 */
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { bytesPerElement } from "../dataType.js";
import { WORKER_MIN_BYTES, zlibInWorker } from "./zlib-workers.js";
import { type BytesToBytesCodec, type CodecContext, CodecConfigurationError, registerCodec } from "./registry.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const DEFAULT_GZIP_LEVEL = 5;

function createGzipCodec(configuration: Record<string, unknown> | undefined, context: CodecContext): BytesToBytesCodec {
  const level = configuration?.level ?? DEFAULT_GZIP_LEVEL;
  if (typeof level !== "number" || !Number.isInteger(level) || level < 0 || level > 9) {
    throw new CodecConfigurationError(`level must be an integer from 0 to 9, got ${JSON.stringify(level)}`);
  }
  // Output in one piece of the chunk's size instead of 16 KiB pieces joined at the end:
  // gunzip of 4 MiB of float32 went from ~140 to ~390 MB/s.
  const chunkSize = Math.max(64 * 1024, context.chunkShape.reduce((a, b) => a * b, bytesPerElement(context.dataType)));
  return {
    kind: "bytes_to_bytes",
    async encode(bytes: Uint8Array): Promise<Uint8Array> {
      if (bytes.byteLength >= WORKER_MIN_BYTES) return zlibInWorker("gzip", bytes, { level });
      return toUint8Array(await gzipAsync(bytes, { level }));
    },
    async decode(bytes: Uint8Array, owned = false): Promise<Uint8Array> {
      if (chunkSize >= WORKER_MIN_BYTES) return zlibInWorker("gunzip", bytes, { chunkSize }, { transfer: owned });
      return toUint8Array(await gunzipAsync(bytes, { chunkSize }));
    },
  };
}

function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

registerCodec({ name: "gzip", kind: "bytes_to_bytes", create: createGzipCodec });
