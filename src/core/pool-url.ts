/**
 * What a string naming a pool means, before anything is looked up: the URL grammar shared by
 * `dn.File`, `dn.Pool.open` and the CLI.
 *
 *   s3://BUCKET[/PREFIX]   a pool on an S3 endpoint (a bucket, or a key prefix in one)
 *   memory:NAME            a pool in this process's memory
 *   file:///PATH           a local directory
 *   anything else          plain: a local path, or a pool name on the default cluster
 *
 * Any other `scheme:` is refused, so that "gs://b/x" or "s3:/b/x" never becomes a local directory
 * named "gs:" or "s3:".
 */
import { fileURLToPath } from "node:url";
import { ValidationError } from "../errors.js";

export type PoolUrl =
  | { kind: "s3"; pool: string; text: string }
  | { kind: "memory"; pool: string; text: string }
  | { kind: "file"; path: string; text: string }
  | { kind: "plain"; text: string };

export type UrlScheme = "s3" | "memory" | "file";

export const KNOWN_SCHEMES = "s3://BUCKET/PREFIX, memory:NAME, file:///PATH, or a plain local path";

/**
 * The scheme of `text`, or undefined for a plain path. A leading `word:` that is not a known
 * scheme is refused: it is a typo of one (s3:/x) or a store dosna does not have (gs://x).
 */
export function schemeOf(text: string): UrlScheme | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  const rest = text.slice(match[0].length);
  if (scheme === "s3" && rest.startsWith("//")) return "s3";
  if (scheme === "memory" || scheme === "file") return scheme;
  const hint = scheme === "s3" ? ` (an S3 URL is written s3://BUCKET/PREFIX)` : "";
  throw new ValidationError(
    `unsupported URL scheme "${match[1]}:" in ${JSON.stringify(text)}${hint}: expected ${KNOWN_SCHEMES}; ` +
      `a local directory whose name contains ":" must be written as a path, e.g. "./${text}"`,
  );
}

/** Parse a pool URL. Nothing is created or contacted. */
export function parsePoolUrl(text: string): PoolUrl {
  if (typeof text !== "string" || text === "") {
    throw new ValidationError(`empty pool name or URL: expected ${KNOWN_SCHEMES}`);
  }
  if (text.includes("::")) {
    throw new ValidationError(`${JSON.stringify(text)} names a node inside a pool ("::"); a File or Pool is a whole pool: drop "::" and what follows`);
  }
  switch (schemeOf(text)) {
    case "s3":
      return { kind: "s3", pool: requirePool(trimSlashes(text.slice(5)), text, "s3://BUCKET/PREFIX"), text };
    case "memory":
      return { kind: "memory", pool: requirePool(trimSlashes(text.slice(7)), text, "memory:NAME"), text };
    case "file":
      return { kind: "file", path: localPathOfFileUrl(text), text };
    default:
      return { kind: "plain", text };
  }
}

/**
 * Whether a plain string reads as a local path rather than a pool name: it has a "/" or a "."
 * ("./scans", "/tmp/x.zarr", "data.h5"). A bare word ("tutorial") is a pool name.
 */
export function looksLikePath(text: string): boolean {
  return text.includes("/") || text.includes(".");
}

/**
 * The pool name a plain string gives on a cluster: "/tmp/data.h5" → "tmp/data.h5" (on S3, bucket
 * "tmp" and prefix "data.h5"; on a directory cluster, ROOT/tmp/data.h5).
 */
export function poolNameOfPlain(text: string): string {
  return trimSlashes(text);
}

export function localPathOfFileUrl(text: string): string {
  try {
    return fileURLToPath(text);
  } catch (error) {
    throw new ValidationError(`invalid file URL ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
}

function requirePool(pool: string, text: string, form: string): string {
  if (pool === "") throw new ValidationError(`${JSON.stringify(text)} names no pool: expected ${form}`);
  return pool;
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+/, "").replace(/\/+$/, "");
}
