/**
 * Validation of store keys, list prefixes and pool names, shared by every store so that all
 * backends accept and reject exactly the same names. A valid key is a relative "/"-separated path
 * that cannot climb out of the place a store is rooted at.
 */
import { ValidationError } from "../errors.js";

/** What is wrong with one "/"-separated segment of a key, or undefined when it is fine. */
function segmentProblem(segment: string): string | undefined {
  if (segment === "") return 'it has an empty path segment ("//" or a trailing "/")';
  if (segment === "." || segment === "..") return `it has a "${segment}" path segment`;
  return undefined;
}

/** What is wrong with `text` as the start of a key, whatever follows it. */
function pathProblem(text: string): string | undefined {
  if (typeof text !== "string") return `it is a ${typeof text}, not a string`;
  if (text.includes("\0")) return "it contains a NUL character";
  if (text.includes("\\")) return 'it contains a backslash (the separator is "/")';
  if (text.startsWith("/")) return 'it starts with "/" (keys are relative, like "group/zarr.json")';
  return undefined;
}

function keyProblem(key: string): string | undefined {
  const problem = pathProblem(key);
  if (problem !== undefined) return problem;
  if (key === "") return "it is empty";
  for (const segment of key.split("/")) {
    const segmentIssue = segmentProblem(segment);
    if (segmentIssue !== undefined) return segmentIssue;
  }
  return undefined;
}

/** Throws ValidationError unless `key` is a valid store key ("zarr.json", "data/c/0/1"). */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new ValidationError(`invalid store key ${JSON.stringify(key)}: ${problem}`);
  }
}

/**
 * Throws ValidationError unless `prefix` is a valid argument to `Store.list`: "" or the start of
 * a valid key. Every complete segment (those followed by "/") must be valid; the last, partial
 * segment is only a string filter ("a/b" matches "a/b/c" and "a/bc").
 */
export function validateListPrefix(prefix: string): void {
  let problem = pathProblem(prefix);
  if (problem === undefined) {
    const completeSegments = prefix.split("/").slice(0, -1);
    for (const segment of completeSegments) {
      problem = segmentProblem(segment);
      if (problem !== undefined) break;
    }
  }
  if (problem !== undefined) {
    throw new ValidationError(`invalid store list prefix ${JSON.stringify(prefix)}: ${problem}`);
  }
}

/** Throws ValidationError unless `prefix` is a valid argument to `Store.listDir`: "" or a valid key followed by "/". */
export function validateDirectoryPrefix(prefix: string): void {
  if (typeof prefix === "string" && prefix !== "" && !prefix.endsWith("/")) {
    throw new ValidationError(
      `invalid store directory prefix ${JSON.stringify(prefix)}: it must be "" or end with "/" (did you mean ${JSON.stringify(`${prefix}/`)}?)`,
    );
  }
  validateListPrefix(prefix);
}

function poolNameProblem(name: string): string | undefined {
  if (typeof name !== "string") return `it is a ${typeof name}, not a string`;
  if (name === "") return "it is empty";
  if (name.includes("\0")) return "it contains a NUL character";
  if (name.includes("\\")) return 'it contains a backslash (the separator is "/")';
  if (name.startsWith("/")) return 'it starts with "/" (pool names are relative, like "tmp/data.h5")';
  if (name.endsWith("/")) return 'it ends with "/"';
  for (const segment of name.split("/")) {
    const segmentIssue = segmentProblem(segment);
    if (segmentIssue !== undefined) return segmentIssue;
    if (segment.startsWith(".")) {
      return `its segment ${JSON.stringify(segment)} starts with "." (dot-names are reserved for the backends' own bookkeeping)`;
    }
  }
  return undefined;
}

/**
 * Throws ValidationError unless `name` is a valid pool name: one or more "/"-separated segments
 * ("pool", "tmp/data.h5"), none of them empty, "." or "..", or starting with "." (dot-names are
 * reserved for the backends' own bookkeeping: temp files, lock files, pools being deleted), and
 * no backslash or NUL anywhere.
 */
export function validatePoolName(name: string): void {
  const problem = poolNameProblem(name);
  if (problem !== undefined) {
    throw new ValidationError(`invalid pool name ${JSON.stringify(name)}: ${problem}`);
  }
}
