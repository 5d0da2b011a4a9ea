/**
 * Ids of the repository's immutable objects (snapshots, manifests, chunks): 12 hex digits of the
 * creation time in milliseconds, then 12 random hex digits. The time prefix lets `gc` spare
 * objects younger than its grace period without asking the store for modification times (which
 * the Store contract does not have), and sorts ids by age.
 */
import { randomBytes } from "node:crypto";

let lastTime = -1;
let lastSuffix = 0n;

/**
 * A new id. Ids made by this process in the same millisecond still sort in the order they were
 * made: the random part of each later one is the previous one's plus a random step.
 */
export function newObjectId(now = Date.now()): string {
  let suffix = BigInt("0x" + randomBytes(6).toString("hex"));
  if (now === lastTime) {
    suffix = lastSuffix + 1n + (suffix % 0x1000000n);
    if (suffix > 0xffffffffffffn) {
      now += 1; // the millisecond's ids are used up: borrow the next one
      suffix %= 0x1000000000n;
    }
  }
  lastTime = now;
  lastSuffix = suffix;
  return now.toString(16).padStart(12, "0") + suffix.toString(16).padStart(12, "0");
}

/** The creation time an id records, or undefined for a string that is not an id. */
export function timeOfId(id: string): number | undefined {
  if (!/^[0-9a-f]{24}$/.test(id)) return undefined;
  return parseInt(id.slice(0, 12), 16);
}

export function isObjectId(id: string): boolean {
  return /^[0-9a-f]{24}$/.test(id);
}
