/**
 * format/: the Zarr v3 on-disk format as pure functions, with no I/O.
 *
 * - dataType: data type names (Zarr and numpy spellings), typed array constructors
 * - scalar, fillValue: checked conversion of values and fill values (and their zarr.json form)
 * - metadata: zarr.json for arrays and groups, built and parsed (zod-validated)
 * - keys: node paths, metadata keys, and the one function mapping a chunk to its store key
 * - arrayOptions: shape / chunks / compression checks and defaults for creating arrays
 * - codecs/: the chunk codec pipeline over a registry: bytes, transpose, numcodecs.shuffle, gzip,
 *   zstd (node:zlib, zstd-napi or wasm, see zstd-backend.ts), blosc (Blosc 1 read and written in
 *   TypeScript), crc32c, and numcodecs' filters and compressors as numcodecs.<id> (docs/codecs.md);
 *   add more by registering
 * - sharding: the sharding_indexed layout (shard index, inner chunk positions, range coalescing)
 */
export {
  allocateTypedArray,
  bytesPerElement,
  decodedBytesPerElement,
  complexPartType,
  type ComplexScalar,
  elementLanes,
  type FillValue,
  isComplexType,
  isVariableLengthType,
  allElementsEqual,
  BytesArray,
  StringArray,
  sameBytes,
  dataTypeOfZarrName,
  DATA_TYPES,
  type DataType,
  dataTypeOfNumpyTypestr,
  dataTypeOfTypedArray,
  integerRange,
  isBigIntType,
  isDataType,
  isFloatType,
  isIntegerType,
  numpyTypestrOf,
  parseDataType,
  type Scalar,
  type TypedArray,
  type TypedArrayLike,
  type TypedArrayConstructor,
  typedArrayConstructorFor,
  typedArrayMatches,
} from "./dataType.js";
export {
  canonicalFillValue,
  canonicalScalar,
  coerceScalar,
  copyBytes,
  convertArray,
  defaultFillValue,
  fillElements,
  isZeroFillValue,
  scalarFromElement,
} from "./scalar.js";
export { float16ArrayConstructor, float16BitsToFloat32, float32ToFloat16Bits, hasNativeFloat16, isFloat16Array, roundToFloat16 } from "./float16.js";
export { fillValueFromJson, fillValueToJson, normaliseFillValue } from "./fillValue.js";
export {
  type ArrayInfo,
  arrayMetadataJson,
  type CodecSpec,
  encodeMetadata,
  groupMetadataJson,
  type NodeMetadata,
  parseNodeMetadata,
} from "./metadata.js";
export {
  baseName,
  type ChunkKeyEncoding,
  chunkKey,
  chunkPrefix,
  DEFAULT_CHUNK_KEY_ENCODING,
  metadataKey,
  normaliseNodePath,
  parentPath,
} from "./keys.js";
export {
  codecsFor,
  COMPRESSIONS,
  type Compression,
  type CompressionOptions,
  DEFAULT_CHUNK_BYTES,
  resolveChunkShape,
  validateShape,
} from "./arrayOptions.js";
export { type ChunkCodec, createChunkCodec } from "./codecs/pipeline.js";
export { DEFAULT_GZIP_LEVEL } from "./codecs/gzip.js";
export { DEFAULT_ZSTD_LEVEL } from "./codecs/zstd.js";
export { DEFAULT_BLOSC_LEVEL, BLOSC_CNAMES, BLOSC_SHUFFLES, type BloscCname, type BloscShuffle } from "./codecs/blosc.js";
export {
  availableZstdBackends,
  type ZstdBackend,
  type ZstdBackendName,
  useZstdBackend,
  zstdBackend,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
} from "./codecs/zstd-backend.js";
export {
  type CodecContext,
  type CodecDefinition,
  CodecConfigurationError,
  registerCodec,
  supportedCodecNames,
} from "./codecs/registry.js";
export {
  assembleShard,
  CorruptShardError,
  DEFAULT_INDEX_CODECS,
  parseShardLayout,
  SHARD_INDEX_LOCATIONS,
  type ShardIndexLocation,
  type ShardLayout,
  shardingCodecSpec,
  shardShapeProblem,
  usesSharding,
} from "./sharding.js";
export { crc32c } from "./codecs/crc32c.js";
