/**
 * What a URL on the dosna command line names: a backend, a pool in it (or none: the backend's
 * root, where pools are listed) and a node path inside the pool ("" for the pool's root group).
 *
 *   s3://BUCKET/PATH            pool = the bucket, node = PATH
 *   s3://BUCKET/PREFIX::PATH    pool = BUCKET/PREFIX (a pool under a key prefix), node = PATH
 *   memory:POOL/PATH            pool = POOL in a scratch in-memory store (gone when the command exits)
 *   file:///DIR/PATH, DIR/PATH  a local path: the pool is the highest directory of the unbroken
 *                               run of directories holding a zarr.json that ends at (or just
 *                               above) the path; node = the rest of the path
 *   DIR::PATH                   (any scheme) "::" splits pool and node explicitly; no lookup
 *
 * Only the local-path rule looks at storage; it runs in resolveLocation.
 */
import { stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { localPathOfFileUrl, schemeOf, ValidationError } from "../index.js";

export type BackendKind = "fs" | "s3" | "memory";

export interface ParsedUrl {
  backend: BackendKind;
  /** The URL as given, for messages. */
  text: string;
  /** fs: an absolute path; s3/memory: what follows the scheme, without leading or trailing slashes. */
  location: string;
  /** The node path after "::", when the split is explicit. */
  node?: string;
}

export interface Location {
  backend: BackendKind;
  text: string;
  /** undefined: the backend's root (fs: a directory whose sub-directories are pools). */
  pool?: string;
  /** fs: the directory the URL names when no pool was found (the root to list pools in). */
  directory?: string;
  node: string;
  /** True when the pool was named outright (by "::", a bucket or memory:), so it may be created. */
  poolIsExplicit: boolean;
}

const SEPARATOR = "::";

export function parseUrl(text: string): ParsedUrl {
  if (text === "") throw new ValidationError("empty URL: expected s3://BUCKET/PATH, memory:POOL/PATH, file:///DIR or a local path");
  const split = text.indexOf(SEPARATOR);
  const head = split < 0 ? text : text.slice(0, split);
  const node = split < 0 ? undefined : cleanNodePath(text.slice(split + SEPARATOR.length), text);
  switch (schemeOf(head)) {
    case "s3":
      return { backend: "s3", text, location: trimSlashes(head.slice(5)), node };
    case "memory":
      return { backend: "memory", text, location: trimSlashes(head.slice(7)), node };
    case "file":
      return { backend: "fs", text, location: resolve(localPathOfFileUrl(head)), node };
  }
  return { backend: "fs", text, location: resolve(head === "" ? "." : head), node };
}

/** Find the pool of a URL: by its form for s3/memory/"::", by looking at the directories for local paths. */
export async function resolveLocation(url: ParsedUrl): Promise<Location> {
  const base = { backend: url.backend, text: url.text };
  if (url.node !== undefined) {
    if (url.location === "") throw new ValidationError(`${JSON.stringify(url.text)} names no pool before "::"`);
    return { ...base, pool: url.location, node: url.node, poolIsExplicit: true };
  }
  if (url.backend !== "fs") {
    if (url.location === "") return { ...base, node: "", poolIsExplicit: false };
    const [pool, ...rest] = url.location.split("/");
    return { ...base, pool, node: cleanNodePath(rest.join("/"), url.text), poolIsExplicit: true };
  }
  const pool = await findPoolDirectory(url.location);
  if (pool === undefined) return { ...base, directory: url.location, node: "", poolIsExplicit: false };
  return { ...base, pool, node: relative(pool, url.location).split(sep).join("/"), poolIsExplicit: false };
}

/**
 * The pool directory of a local path: start at the deepest existing directory at or above the
 * path; if it holds a zarr.json (or v2's .zgroup / .zarray), walk up while the parent holds one too.
 */
async function findPoolDirectory(path: string): Promise<string | undefined> {
  let current = path;
  while (!(await isDirectory(current))) {
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
  if (!(await holdsNodeMetadata(current))) return undefined;
  for (;;) {
    const parent = dirname(current);
    if (parent === current || !(await holdsNodeMetadata(parent))) return current;
    current = parent;
  }
}

/** A node of a Zarr v3 (zarr.json) or v2 (.zgroup, .zarray) hierarchy. */
async function holdsNodeMetadata(directory: string): Promise<boolean> {
  for (const name of ["zarr.json", ".zgroup", ".zarray"]) if (await exists(join(directory, name))) return true;
  return false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+/, "").replace(/\/+$/, "");
}

function cleanNodePath(path: string, url: string): string {
  const trimmed = trimSlashes(path);
  if (trimmed === "") return "";
  const parts = trimmed.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new ValidationError(`invalid node path ${JSON.stringify(path)} in ${JSON.stringify(url)}: empty, "." and ".." segments are not allowed`);
  }
  return parts.join("/");
}

/** A URL for a node of a location, in the explicit form (used in messages and listings). */
export function describeLocation(location: Location, node = location.node): string {
  if (location.pool === undefined) return location.text;
  const scheme = location.backend === "s3" ? "s3://" : location.backend === "memory" ? "memory:" : "";
  return `${scheme}${location.pool}${SEPARATOR}${node}`;
}
