/**
 * dosna: N-dimensional arrays stored as one object per chunk (Zarr v3 layout) on object storage
 * or a local directory, with numpy slicing and parallel chunk I/O.
 *
 *   import * as dn from "dosna";
 *   const cluster = new dn.Cluster({ backend: "fs", root: "./data" });
 *   const pool = await cluster.createPool("tutorial");
 *   const ds = await pool.createDataset("data", { shape: [100, 100], dtype: "float32", chunks: 32 });
 *   await ds.set("10:20, :", 1); const a = await ds.get("0, :10");
 */
export * from "./errors.js";
export { Cluster, type ClusterConfig } from "./core/cluster.js";
export { Pool, type OpenNamedPoolOptions, type ZarrFormat } from "./core/pool.js";
export { ZarrV2Store } from "./core/zarr-v2-store.js";
export { withV2ChunkKeys } from "./format/zarr-v2.js";
export { autoInit, defaultCluster, resetDefaultCluster, s3ClusterFromSettings, type S3Settings } from "./core/default-cluster.js";
export { parsePoolUrl, schemeOf, localPathOfFileUrl, type PoolUrl } from "./core/pool-url.js";
export { FILE_MODES } from "./core/pool-modes.js";
export { Group, type Node } from "./core/group.js";
export { Dataset, DataChunk, type ChunkFunction, type OperationOptions } from "./core/dataset.js";
export { Attributes } from "./core/attributes.js";
export { storedSummary, type StoredSummary } from "./core/stored-summary.js";
export { registerUserCodec as registerCodec } from "./format/codecs/user-codecs.js";
export type { CodecDefinition, CodecContext, CodecSpec, Codec, ArrayToArrayCodec, ArrayToBytesCodec, BytesToBytesCodec } from "./format/codecs/registry.js";
export type { CreateDatasetOptions } from "./core/create-options.js";
export type { WritableValue, ArrayInput, NestedArray } from "./core/values.js";
export { slice, parseSelection, type Selection, type SelectionItem, type Slice } from "./selection/index.js";
export { parseDataType, type ComplexScalar, type DataType, type FillValue, type Scalar, type TypedArray } from "./format/index.js";
export { MemoryStore, MemoryBackend, FileSystemStore, FileSystemBackend } from "./store/index.js";
export type {
  Store,
  Backend,
  ByteRange,
  ConditionalSupport,
  DeleteOptions,
  RequestOptions,
  SetOptions,
  VersionedBytes,
} from "./store/store.js";
export { File, H5Group, H5Dataset, ready, type FileMode, type FileOptions, type CreateDatasetArgs } from "./h5/file.js";
export { normaliseSelection, type NormalisedSelection, type AxisSelection } from "./selection/index.js";
export { normalisePoints, type PointSelection, type PointCoordinate, type PointItem, type NormalisedPoints } from "./selection/index.js";
export type { PointIndexer } from "./core/vindex.js";
export {
  readNpy,
  writeNpy,
  decodeNpy,
  encodeNpy,
  NpyReader,
  NpyWriter,
  type NpyArray,
  type NpyInput,
  type EncodeNpyOptions,
  type ImportNpyOptions,
  type ExportNpyOptions,
  type TransferProgress,
} from "./npy/index.js";
export {
  importHdf5,
  exportHdf5,
  type ImportHdf5Options,
  type ExportHdf5Options,
  type Hdf5ImportSummary,
  type Hdf5ExportSummary,
  type ImportedItem,
  type SkippedItem,
  type Hdf5Progress,
} from "./hdf5/index.js";
export { S3Store, S3Backend, type S3ConnectionInput } from "./store/s3/index.js";
export {
  provenance,
  withProvenance,
  copyProvenance,
  Provenance,
  PoolProvenance,
  ProvenanceRecord,
  type ProvenanceGraph,
  type RecordInput,
  type RecordQuery,
  type RecordTarget,
  type ProvenanceRecordData,
  type TagInput,
  type TagValue,
  toProvJson,
  toMermaid,
  TAG_TYPES,
  KNOWN_KINDS,
} from "./provenance/index.js";
// The .npy transfers that record their provenance; an import may run on queue workers (compute/).
export { exportNpy } from "./provenance/capture-files.js";
export { importNpy, copyDataset, type EngineImportOptions } from "./compute/transfers.js";
// Compute: functions by name, engines (local, threads, a BullMQ queue of `dosna worker`s).
export {
  registerFunction,
  unregisterFunction,
  registeredFunctionNames,
  loadFunctions,
  QueueWorker,
  listJobs,
  redactRedisUrl,
  type RegisteredFunction,
  type ChunkContext,
  type RegisterOptions,
  type QueueWorkerOptions,
  type JobSummary,
} from "./compute/index.js";
export { parseEngineText, type EngineSpec, type QueueEngineSpec } from "./core/engine-spec.js";
export type { ComputeOptions, ChunkTransform } from "./core/dataset.js";
export { batches, zipBatches, foldOf, type Batch, type BatchOptions, type ZippedBatch, type Fold, type FoldOptions, type SplitOptions } from "./compute/batches.js";
export { onnxFunction, type OnnxFunctionOptions } from "./compute/onnx.js";
export type { DeriveOptions, DerivationInfo, DerivedFrom } from "./compute/derive.js";
export type { NearestOptions, NearestResult, VectorQueries, VectorMetric } from "./compute/vector-search.js";
export type { CreateVectorIndexOptions, UpdateVectorIndexOptions, VectorIndexInfo, VectorIndexUpdate, VectorIndexParams } from "./compute/vector-index.js";
import { installBatches } from "./compute/batches.js";
import { installDeriveHooks } from "./compute/derive-hooks.js";
import { installVectorMethods } from "./compute/vector-methods.js";
import { installCompute } from "./compute/index.js";
import { installProvenance, installVersionCapture } from "./provenance/index.js";
// Explicit wiring of the layers above core/: compute lets map/apply/clear run named functions on
// engines; provenance capture then wraps Dataset's operations (so a distributed map is recorded
// once, as a local one) and repository commits and merges.
installCompute();
installBatches();
installVectorMethods();
installDeriveHooks();
installProvenance();
installVersionCapture();
export {
  Repository,
  Session,
  VersionStore,
  MergeConflictError,
  MAIN_BRANCH,
  type CheckoutOptions,
  type CommitOptions,
  type Conflict,
  type Author,
  type LogEntry,
  type RepositoryDiff,
  type DatasetDiff,
  type RepositorySummary,
  type GcResult,
} from "./versioning/index.js";
export { CorruptShardError } from "./format/sharding.js";
