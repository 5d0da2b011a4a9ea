/**
 * selection/: numpy-style selections, from text or values to per-chunk copy plans. Pure, no I/O.
 *
 * - parse.ts      numpy index syntax ("1:5, ::-2, ..., [0, 3]") to selection items
 * - normalise.ts  items against an array shape: per-axis int / slice / points (numpy rules,
 *                 orthogonal index arrays as zarr `oindex`)
 * - plan.ts       which chunks of a regular grid a selection touches, with in-chunk and
 *                 in-selection positions per axis and whether a write covers the chunk
 * - copy.ts       the copy kernels between a decoded chunk and a strided selection-shaped view
 * - strides.ts    C-order strides, numpy broadcasting of written values, view helpers
 * - points.ts     pointwise (coordinate / mask) selection as zarr `vindex`: normalise, group the
 *                 points by chunk, copy between a chunk and the points' flat buffer
 *
 * A read: normaliseSelection → planChunks → per chunk copyChunkToSelection into one output buffer
 * (outputView). A write: broadcastStrides of the value onto outputShape → selectionStridesFromOutput
 * → per chunk copySelectionToChunk (skipping the read when coversChunk).
 */
export type {
  AxisSelection,
  IndexArray,
  NormalisedSelection,
  Selection,
  SelectionItem,
  Slice,
  TypedArray,
} from "./types.js";
export { slice, sliceIndices } from "./slice.js";
export { parseSelection } from "./parse.js";
export { formatSelection } from "./format.js";
export { axisCount, normaliseSelection } from "./normalise.js";
export { chunkGridShape, planChunks, type AxisProjection, type ChunkProjection } from "./plan.js";
export { copyChunkToSelection, copySelectionToChunk, fillSelectionFromElement } from "./copy.js";
export {
  copyChunkToPoints,
  copyPointsToChunk,
  normalisePoints,
  planPointChunks,
  type NestedPointArray,
  type NormalisedPoints,
  type PointChunk,
  type PointCoordinate,
  type PointItem,
  type PointSelection,
  type StridedArrayLike,
} from "./points.js";
export {
  broadcastStrides,
  cOrderStrides,
  outputView,
  pyShape,
  selectionStridesFromOutput,
  type StridedView,
} from "./strides.js";
