/**
 * The codec registry: codec name → definition. A codec module registers itself here; adding
 * zstd, blosc, crc32c or transpose later means one new module and one `registerCodec` call.
 */
import type { DataType, TypedArray } from "../dataType.js";

/** A codec as zarr.json names it: `{ "name": "gzip", "configuration": { "level": 5 } }`. */
export interface CodecSpec {
  name: string;
  configuration?: Record<string, unknown>;
}

/** What a codec knows about the chunks it will see. */
export interface CodecContext {
  dataType: DataType;
  chunkShape: readonly number[];
}

export interface ArrayToArrayCodec {
  kind: "array_to_array";
  encode(chunk: TypedArray): TypedArray | Promise<TypedArray>;
  decode(chunk: TypedArray): TypedArray | Promise<TypedArray>;
  /** The context the next codec sees (a transpose changes the shape); unchanged when absent. */
  encodedContext?(context: CodecContext): CodecContext;
}

export interface ArrayToBytesCodec {
  kind: "array_to_bytes";
  /** May return a view of the chunk's memory. */
  encode(chunk: TypedArray): Uint8Array;
  /**
   * A fresh typed array of the chunk's elements. `owned` says that `bytes` is a buffer nobody
   * else holds (the output of a decompressor), so it may be used without copying.
   */
  decode(bytes: Uint8Array, owned: boolean): TypedArray;
}

export interface BytesToBytesCodec {
  kind: "bytes_to_bytes";
  /** Must return new memory, never a view of the input. */
  encode(bytes: Uint8Array): Promise<Uint8Array>;
  /** `owned`: nobody else holds `bytes`, so the codec may keep, change or transfer their memory. */
  decode(bytes: Uint8Array, owned?: boolean): Promise<Uint8Array>;
}

export type Codec = ArrayToArrayCodec | ArrayToBytesCodec | BytesToBytesCodec;
export type CodecKind = Codec["kind"];

export interface CodecDefinition {
  name: string;
  kind: CodecKind;
  /** Builds the codec; throws CodecConfigurationError for a configuration it cannot use. */
  create(configuration: Record<string, unknown> | undefined, context: CodecContext): Codec;
}

/** A codec configuration that is invalid; callers rewrap it with the key or argument at fault. */
export class CodecConfigurationError extends Error {}

const registry = new Map<string, CodecDefinition>();

export function registerCodec(definition: CodecDefinition): void {
  registry.set(definition.name, definition);
}

export function codecDefinition(name: string): CodecDefinition | undefined {
  return registry.get(name);
}

export function supportedCodecNames(): string[] {
  return [...registry.keys()].sort();
}

/** True when this machine stores typed arrays big endian (practically never; handled for correctness). */
export const HOST_IS_BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
