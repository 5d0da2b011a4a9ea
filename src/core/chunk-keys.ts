import type { ArrayInfo } from "../format/index.js";

/**
 * The inverse of format's chunkKey: the grid index of a stored chunk key, or undefined when the
 * key is not a chunk of this array (its zarr.json, a stray object).
 */
export function parseChunkGridIndex(
  key: string,
  arrayPath: string,
  encoding: ArrayInfo["chunkKeyEncoding"],
  ndim: number,
): number[] | undefined {
  const base = arrayPath === "" ? "" : `${arrayPath}/`;
  if (!key.startsWith(base)) return undefined;
  let rest = key.slice(base.length);
  if (encoding.name === "default") {
    if (rest === "c" && ndim === 0) return [];
    if (!rest.startsWith("c" + encoding.separator)) return undefined;
    rest = rest.slice(2);
  } else if (ndim === 0) {
    return rest === "0" ? [] : undefined;
  }
  const parts = rest.split(encoding.separator);
  if (parts.length !== ndim || !parts.every((p) => /^\d+$/.test(p))) return undefined;
  return parts.map(Number);
}
