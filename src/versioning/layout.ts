/**
 * Where a repository's objects live in its pool (docs/versioning.md is the specification):
 *
 *   .dosna/repo/repo.json                 the repository's marker (format, creation time)
 *   .dosna/repo/refs/branches/NAME.json   {"snapshot": ID}, moved only by conditional writes
 *   .dosna/repo/refs/tags/NAME.json       {"snapshot": ID}, created once, never changed
 *   .dosna/repo/snapshots/ID.json         one commit: parents, message, author, time, nodes
 *   .dosna/repo/manifests/ID.json         chunk key → chunk object, for one block of one array's grid
 *   .dosna/repo/chunks/ID                 one chunk's stored bytes (as Zarr stores them), immutable
 */
import { ValidationError } from "../errors.js";

export const REPO_PREFIX = ".dosna/repo/";
export const REPO_MARKER_KEY = `${REPO_PREFIX}repo.json`;
export const BRANCHES_PREFIX = `${REPO_PREFIX}refs/branches/`;
export const TAGS_PREFIX = `${REPO_PREFIX}refs/tags/`;
export const SNAPSHOTS_PREFIX = `${REPO_PREFIX}snapshots/`;
export const MANIFESTS_PREFIX = `${REPO_PREFIX}manifests/`;
export const CHUNKS_PREFIX = `${REPO_PREFIX}chunks/`;

export type RefKind = "branch" | "tag";

export function refKey(kind: RefKind, name: string): string {
  return `${kind === "branch" ? BRANCHES_PREFIX : TAGS_PREFIX}${name}.json`;
}

export const snapshotKey = (id: string): string => `${SNAPSHOTS_PREFIX}${id}.json`;
export const manifestKey = (id: string): string => `${MANIFESTS_PREFIX}${id}.json`;
export const chunkObjectKey = (id: string): string => `${CHUNKS_PREFIX}${id}`;

/**
 * Branch and tag names: segments of letters, digits, "-", "_" and "." separated by "/" (as git
 * allows "feature/x"), no segment "." or ".." or starting with ".", at most 200 characters.
 */
export function validateRefName(name: unknown, kind: RefKind): string {
  const problem = refNameProblem(name);
  if (problem) throw new ValidationError(`invalid ${kind} name ${JSON.stringify(name)}: ${problem}`);
  return name as string;
}

function refNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `expected a string, got ${typeof name}`;
  if (name === "") return "it is empty";
  if (name.length > 200) return "it is longer than 200 characters";
  if (/[\u0000-\u001f\u007f]/.test(name)) return "it contains a control character";
  if (/\s/.test(name)) return "it contains whitespace";
  for (const segment of name.split("/")) {
    if (segment === "") return 'it has an empty segment (a leading, trailing or doubled "/")';
    if (segment === "." || segment === "..") return `it has a "${segment}" segment`;
    if (segment.startsWith(".")) return `its segment "${segment}" starts with "."`;
    if (!/^[A-Za-z0-9._-]+$/.test(segment)) return `its segment "${segment}" has characters other than letters, digits, ".", "-" and "_"`;
  }
  return undefined;
}
