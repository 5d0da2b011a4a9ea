/**
 * Ids of the repository's immutable objects (snapshots, manifests, chunks): 12 hex digits of the
 * creation time in milliseconds, then 12 random hex digits. The time prefix lets `gc` spare
 * objects younger than its grace period without asking the store for modification times (which
 * the Store contract does not have), and sorts ids by age.
 */
import { randomBytes } from "node:crypto";

export function newObjectId(now = Date.now()): string {
  return now.toString(16).padStart(12, "0") + randomBytes(6).toString("hex");
}

/** The creation time an id records, or undefined for a string that is not an id. */
export function timeOfId(id: string): number | undefined {
  if (!/^[0-9a-f]{24}$/.test(id)) return undefined;
  return parseInt(id.slice(0, 12), 16);
}

export function isObjectId(id: string): boolean {
  return /^[0-9a-f]{24}$/.test(id);
}
