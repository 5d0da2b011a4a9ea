/**
 * Which manifest a chunk is listed in. An array's chunk grid is cut into blocks of about 1024
 * chunks (2^floor(10 / ndim) chunks along each axis: 1024 for 1-d, 32×32, 8×8×8, 4×4×4×4, …), one
 * manifest per block that holds any chunk. Changing one chunk rewrites one manifest of at most
 * ~1024 entries, however many chunks the array has; opening an array reads only the manifests of
 * the blocks a selection touches. The block of a chunk key comes from the integers in it, so any
 * chunk key encoding ("c/1/2", "1.2", "c" for 0-d) works.
 */
const MANIFEST_CHUNKS_LOG2 = 10;

export function blockOfChunkKey(chunkKey: string): string {
  const coordinates = chunkKey.match(/\d+/g)?.map(Number) ?? [];
  if (coordinates.length === 0) return "0";
  const side = 2 ** Math.floor(MANIFEST_CHUNKS_LOG2 / coordinates.length);
  return coordinates.map((c) => Math.floor(c / side)).join(".");
}
