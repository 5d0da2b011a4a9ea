import { ValidationError } from "../errors.js";

/** How chunk grid indices become the last part of a chunk key (zarr.json `chunk_key_encoding`). */
export interface ChunkKeyEncoding {
  name: "default" | "v2";
  separator: "/" | ".";
}

export const DEFAULT_CHUNK_KEY_ENCODING: ChunkKeyEncoding = { name: "default", separator: "/" };

/**
 * The store key of one chunk. This is the ONLY place that maps (array path, grid index) to a key:
 * a versioning layer can redirect chunk keys by replacing it.
 *
 * default encoding: "c/0/1" ("c" for a 0-d array); v2 encoding: "0.1" ("0" for a 0-d array);
 * both prefixed by "<arrayPath>/" unless the array is the root.
 */
export function chunkKey(arrayPath: string, gridIndex: readonly number[], enc: ChunkKeyEncoding): string {
  let last: string;
  if (enc.name === "default") {
    last = gridIndex.length === 0 ? "c" : `c${enc.separator}${gridIndex.join(enc.separator)}`;
  } else {
    last = gridIndex.length === 0 ? "0" : gridIndex.join(enc.separator);
  }
  return arrayPath === "" ? last : `${arrayPath}/${last}`;
}

/**
 * The prefix every chunk key of the array starts with: "a/b/c/" for the default encoding with "/"
 * ("a/b/c." with "."), "a/b/" for the v2 encoding (which shares it with "a/b/zarr.json").
 * The single chunk of a 0-d array has the key "a/b/c", outside "a/b/c/": pass `ndim` 0 to get
 * that key itself as the prefix.
 */
export function chunkPrefix(arrayPath: string, enc: ChunkKeyEncoding = DEFAULT_CHUNK_KEY_ENCODING, ndim?: number): string {
  if (ndim === 0) return chunkKey(arrayPath, [], enc);
  const base = arrayPath === "" ? "" : `${arrayPath}/`;
  return enc.name === "default" ? `${base}c${enc.separator}` : base;
}

/** "" → "zarr.json", "a/b" → "a/b/zarr.json". */
export function metadataKey(nodePath: string): string {
  return nodePath === "" ? "zarr.json" : `${nodePath}/zarr.json`;
}

/** The path of the parent node ("" for children of the root); undefined for the root itself. */
export function parentPath(nodePath: string): string | undefined {
  if (nodePath === "") return undefined;
  const slash = nodePath.lastIndexOf("/");
  return slash < 0 ? "" : nodePath.slice(0, slash);
}

/** The last segment of a node path ("" for the root). */
export function baseName(nodePath: string): string {
  return nodePath.slice(nodePath.lastIndexOf("/") + 1);
}

/**
 * A node path in canonical form: no leading or trailing "/" ("" is the root). Rejects what would
 * escape or confuse the key space: empty segments ("a//b"), "." and "..", NUL and backslash,
 * and a segment named "zarr.json".
 */
export function normaliseNodePath(path: string, what = "path"): string {
  if (typeof path !== "string") {
    throw new ValidationError(`${what} must be a string, got ${typeof path}`);
  }
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "") return "";
  for (const segment of trimmed.split("/")) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) {
      throw new ValidationError(`${what} ${JSON.stringify(path)} is not a valid node path: ${problem}`);
    }
  }
  return trimmed;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "it has an empty segment (\"//\")";
  if (segment === "." || segment === "..") return `segment "${segment}" is not allowed`;
  if (segment.includes("\0")) return "it contains a NUL character";
  if (segment.includes("\\")) return "it contains a backslash (use \"/\" to separate segments)";
  if (segment === "zarr.json") return "segment \"zarr.json\" would collide with Zarr metadata";
  return undefined;
}
