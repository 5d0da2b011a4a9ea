/**
 * The `blosc` bytes→bytes codec (`{"cname", "clevel", "shuffle", "typesize", "blocksize"}`),
 * chiefly to read arrays zarr-python wrote with it. The Blosc 1 format is decoded here in
 * TypeScript (blosc/frame.ts), so every compressor reads: lz4 and lz4hc, blosclz and snappy
 * (decoders in blosc/), zlib (node:zlib) and zstd (zstd-backend.ts).
 *
 * Writing works too, with the element size as the shuffle's type size: zstd, zlib, lz4 and lz4hc
 * compress; blosclz and snappy streams are stored uncompressed (valid Blosc that every reader
 * takes, but no smaller), since no compressor for them is available here.
 */
import { promisify } from "node:util";
import { deflate, inflateSync } from "node:zlib";
import { bytesPerElement } from "../dataType.js";
import {
  BLOSC_CNAMES,
  BLOSC_SHUFFLES,
  type BloscCname,
  type BloscEncodeOptions,
  type BloscShuffle,
  type BloscStreamFormat,
  decodeBloscFrame,
  encodeBloscFrame,
  readBloscHeader,
  type StreamDecoder,
} from "./blosc/frame.js";
import { decodeBloscLz } from "./blosc/blosclz.js";
import { decodeLz4Block, encodeLz4Block } from "./blosc/lz4-block.js";
import { decodeSnappy } from "./blosc/snappy.js";
import { type BytesToBytesCodec, type CodecContext, CodecConfigurationError, registerCodec } from "./registry.js";
import { type ZstdBackend, ZSTD_MAX_LEVEL, zstdBackend } from "./zstd-backend.js";

const deflateAsync = promisify(deflate);

export { BLOSC_CNAMES, BLOSC_SHUFFLES, type BloscCname, type BloscShuffle };

export const DEFAULT_BLOSC_LEVEL = 5;

function createBloscCodec(configuration: Record<string, unknown> | undefined, context: CodecContext): BytesToBytesCodec {
  const options = parseBloscConfiguration(configuration, bytesPerElement(context.dataType));
  const decodedSize = context.chunkShape.reduce((a, b) => a * b, bytesPerElement(context.dataType));
  // room for a bytes→bytes codec before this one that adds a little (a crc32c, say)
  const maxBytes = decodedSize + 1024;
  return {
    kind: "bytes_to_bytes",
    async encode(bytes: Uint8Array): Promise<Uint8Array> {
      const zstd = options.cname === "zstd" ? await zstdBackend() : undefined;
      return encodeBloscFrame(bytes, options, streamEncoder(options, zstd));
    },
    async decode(bytes: Uint8Array): Promise<Uint8Array> {
      const zstd = readBloscHeader(bytes).format === "zstd" ? await zstdBackend() : undefined;
      return decodeBloscFrame(bytes, (format) => streamDecoder(format, zstd), maxBytes);
    },
  };
}

export function parseBloscConfiguration(configuration: Record<string, unknown> | undefined, itemSize: number): BloscEncodeOptions {
  const { cname = "zstd", clevel = DEFAULT_BLOSC_LEVEL, shuffle = "noshuffle", typesize = itemSize, blocksize = 0 } = configuration ?? {};
  if (!BLOSC_CNAMES.includes(cname as BloscCname)) {
    throw new CodecConfigurationError(`cname must be one of ${BLOSC_CNAMES.map((c) => `"${c}"`).join(", ")}, got ${JSON.stringify(cname)}`);
  }
  if (typeof clevel !== "number" || !Number.isInteger(clevel) || clevel < 0 || clevel > 9) {
    throw new CodecConfigurationError(`clevel must be an integer from 0 to 9, got ${JSON.stringify(clevel)}`);
  }
  if (!BLOSC_SHUFFLES.includes(shuffle as BloscShuffle)) {
    throw new CodecConfigurationError(`shuffle must be one of ${BLOSC_SHUFFLES.map((s) => `"${s}"`).join(", ")}, got ${JSON.stringify(shuffle)}`);
  }
  if (typeof typesize !== "number" || !Number.isInteger(typesize) || typesize < 1 || typesize > 255) {
    throw new CodecConfigurationError(`typesize must be an integer from 1 to 255 (the element size in bytes, ${itemSize} here), got ${JSON.stringify(typesize)}`);
  }
  if (typeof blocksize !== "number" || !Number.isInteger(blocksize) || blocksize < 0) {
    throw new CodecConfigurationError(`blocksize must be a non-negative integer (0 lets Blosc choose), got ${JSON.stringify(blocksize)}`);
  }
  return { cname: cname as BloscCname, clevel, shuffle: shuffle as BloscShuffle, typesize, blocksize };
}

function streamDecoder(format: BloscStreamFormat, zstd: ZstdBackend | undefined): StreamDecoder {
  switch (format) {
    case "blosclz":
      return decodeBloscLz;
    case "lz4":
      return decodeLz4Block;
    case "snappy":
      return decodeSnappy;
    case "zlib":
      return (src, dst) => copyExact(inflateSync(src, { maxOutputLength: Math.max(dst.length, 1) }), dst);
    case "zstd":
      return (src, dst) => copyExact((zstd as ZstdBackend).decompressSync(src, dst.length), dst);
  }
}

function copyExact(decoded: Uint8Array, dst: Uint8Array): void {
  if (decoded.length !== dst.length) throw new Error(`stream decodes to ${decoded.length} bytes, expected ${dst.length}`);
  dst.set(decoded);
}

/** Blosc's mapping of its 0–9 clevel onto zstd levels. */
const zstdLevelOf = (clevel: number): number => (clevel < 9 ? clevel * 2 - 1 : ZSTD_MAX_LEVEL);

function streamEncoder(options: BloscEncodeOptions, zstd: ZstdBackend | undefined) {
  switch (options.cname) {
    case "zstd":
      return (src: Uint8Array) => (zstd as ZstdBackend).compress(src, zstdLevelOf(options.clevel), false);
    case "zlib":
      return async (src: Uint8Array) => new Uint8Array(await deflateAsync(src, { level: options.clevel }));
    case "lz4":
    case "lz4hc":
      return encodeLz4Block;
    case "blosclz":
    case "snappy":
      return () => undefined;
  }
}

registerCodec({ name: "blosc", kind: "bytes_to_bytes", create: createBloscCodec });
