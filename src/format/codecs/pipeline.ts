/** The codec chain of an array: typed array ⇄ stored chunk bytes. */
import { CorruptChunkError, DtypeError, ShapeError, ValidationError } from "../../errors.js";
import { dataTypeOfTypedArray, type DataType, elementLanes, type TypedArray, typedArrayMatches } from "../dataType.js";
import "./blosc.js";
import "./bytes.js";
import "./crc32c.js";
import "./gzip.js";
import "./numcodecs-compressors.js";
import "./numcodecs-filters.js";
import "./shuffle.js";
import "./transpose.js";
import "./vlen-bytes.js";
import "./vlen-utf8.js";
import "./zstd.js";
import {
  type ArrayToArrayCodec,
  type ArrayToBytesCodec,
  type BytesToBytesCodec,
  type CodecContext,
  CodecConfigurationError,
  type CodecSpec,
  codecDefinition,
  supportedCodecNames,
} from "./registry.js";

export interface ChunkCodec {
  /**
   * The stored bytes of a whole chunk (product(chunkShape) elements, C order). New memory unless
   * `consume` says the caller gives the chunk up: then an uncompressed encoding may view it.
   */
  encode(chunk: TypedArray, options?: { consume?: boolean }): Promise<Uint8Array>;
  /**
   * The typed array of the chunk stored at `key`; CorruptChunkError naming `key` if it cannot be
   * decoded. With `owned` (the caller hands over `bytes`) an uncompressed chunk may view them
   * instead of being copied.
   */
  decode(bytes: Uint8Array, key: string, options?: { owned?: boolean }): Promise<TypedArray>;
}

interface Named<T> {
  name: string;
  codec: T;
}

export interface CodecChain {
  arrayToArray: Named<ArrayToArrayCodec>[];
  arrayToBytes: Named<ArrayToBytesCodec>;
  bytesToBytes: Named<BytesToBytesCodec>[];
}

/**
 * Builds the codecs of `specs` in order, checking names, configurations and the order the spec
 * requires (array→array codecs, then one array→bytes codec, then bytes→bytes codecs).
 * Throws CodecConfigurationError; callers say which key or argument was at fault.
 */
export function buildCodecChain(specs: readonly CodecSpec[], context: CodecContext): CodecChain {
  const arrayToArray: Named<ArrayToArrayCodec>[] = [];
  const bytesToBytes: Named<BytesToBytesCodec>[] = [];
  let arrayToBytes: Named<ArrayToBytesCodec> | undefined;
  let current = context;
  for (const spec of specs) {
    const definition = codecDefinition(spec.name);
    if (definition === undefined) {
      throw new CodecConfigurationError(
        `codec ${JSON.stringify(spec.name)} is not supported; supported codecs: ${supportedCodecNames().join(", ")}`,
      );
    }
    let codec;
    try {
      codec = definition.create(spec.configuration, current);
    } catch (error) {
      if (error instanceof CodecConfigurationError) {
        throw new CodecConfigurationError(`codec ${JSON.stringify(spec.name)}: ${error.message}`);
      }
      throw error;
    }
    if (codec.kind === "array_to_array") {
      if (arrayToBytes !== undefined) {
        throw new CodecConfigurationError(`array→array codec ${JSON.stringify(spec.name)} must come before the array→bytes codec`);
      }
      arrayToArray.push({ name: spec.name, codec });
      current = codec.encodedContext?.(current) ?? current;
    } else if (codec.kind === "array_to_bytes") {
      if (arrayToBytes !== undefined) {
        throw new CodecConfigurationError(
          `codecs ${JSON.stringify(arrayToBytes.name)} and ${JSON.stringify(spec.name)} are both array→bytes codecs; exactly one is allowed`,
        );
      }
      arrayToBytes = { name: spec.name, codec };
    } else {
      if (arrayToBytes === undefined) {
        throw new CodecConfigurationError(`bytes→bytes codec ${JSON.stringify(spec.name)} must come after an array→bytes codec such as "bytes"`);
      }
      bytesToBytes.push({ name: spec.name, codec });
    }
  }
  if (arrayToBytes === undefined) {
    throw new CodecConfigurationError(`the codec list has no array→bytes codec (such as "bytes")`);
  }
  return { arrayToArray, arrayToBytes, bytesToBytes };
}

/** The encoder/decoder for the chunks of an array. Throws ValidationError for an unusable codec list. */
export function createChunkCodec(info: { dataType: DataType; chunkShape: readonly number[]; codecs: readonly CodecSpec[] }): ChunkCodec {
  let chain: CodecChain;
  try {
    chain = buildCodecChain(info.codecs, { dataType: info.dataType, chunkShape: info.chunkShape });
  } catch (error) {
    if (error instanceof CodecConfigurationError) throw new ValidationError(`invalid codecs: ${error.message}`);
    throw error;
  }
  const { arrayToArray, arrayToBytes, bytesToBytes } = chain;
  const length = info.chunkShape.reduce((a, b) => a * b, 1) * elementLanes(info.dataType);
  return {
    async encode(chunk: TypedArray, options: { consume?: boolean } = {}): Promise<Uint8Array> {
      if (!typedArrayMatches(chunk, info.dataType)) {
        throw new DtypeError(`cannot encode a ${dataTypeOfTypedArray(chunk)} chunk (${chunk.constructor.name}) for data type ${info.dataType}`);
      }
      if (chunk.length !== length) {
        throw new ShapeError(
          `cannot encode a chunk of ${chunk.length} elements; chunk shape [${info.chunkShape.join(", ")}] holds ${length}`,
        );
      }
      let array = chunk;
      for (const { codec } of arrayToArray) array = await codec.encode(array);
      let bytes = arrayToBytes.codec.encode(array);
      // Never hand back a view of the caller's chunk: the store may keep the bytes.
      if (bytesToBytes.length === 0) return bytes.buffer === array.buffer && !options.consume ? bytes.slice() : bytes;
      for (const { codec } of bytesToBytes) bytes = await codec.encode(bytes);
      return bytes;
    },
    async decode(bytes: Uint8Array, key: string, options: { owned?: boolean } = {}): Promise<TypedArray> {
      let stage = "";
      try {
        let owned = options.owned ?? false;
        for (let i = bytesToBytes.length - 1; i >= 0; i--) {
          stage = bytesToBytes[i].name;
          const input = bytes;
          bytes = await bytesToBytes[i].codec.decode(bytes, owned);
          // A decompressor's output is new memory; a stage that hands back (a view of) its input passes ownership on unchanged.
          owned ||= bytes.buffer !== input.buffer;
        }
        stage = arrayToBytes.name;
        // A decompressor's output may be one piece of a larger allocation: viewed only when it is all of it.
        const viewable = owned && (bytesToBytes.length === 0 || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength));
        let array = arrayToBytes.codec.decode(bytes, viewable);
        for (let i = arrayToArray.length - 1; i >= 0; i--) {
          stage = arrayToArray[i].name;
          array = await arrayToArray[i].codec.decode(array);
        }
        return array;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new CorruptChunkError(`chunk "${key}" cannot be decoded (codec "${stage}"): ${reason}`, { cause: error });
      }
    },
  };
}
