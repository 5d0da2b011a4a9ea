/**
 * The filesystem store's own files beside the objects, all dot-names with a reserved suffix, so
 * listings skip them and keys that look like them are refused:
 *
 * - `.<host>.<pid>.<random>.dosna-tmp`: a write in progress (renamed onto the key when done), or
 *   the claim of a lock about to be taken (its content, linked as the lock file);
 * - `.<key name>.dosna-lock`: held while a key is replaced or deleted;
 * - `.<lock id>.dosna-reap`: a second name a recovering writer gives a stale lock, for a moment.
 */
import { createHash, randomBytes } from "node:crypto";
import { type FileOwner, hostId } from "./fs-owner.js";

export const TEMP_SUFFIX = ".dosna-tmp";
export const LOCK_SUFFIX = ".dosna-lock";
export const REAP_SUFFIX = ".dosna-reap";
const MAX_NAME_BYTES = 255;

export type ReservedKind = "temp" | "lock" | "reap";

export function reservedKind(name: string): ReservedKind | undefined {
  if (!name.startsWith(".")) return undefined;
  if (name.endsWith(TEMP_SUFFIX)) return "temp";
  if (name.endsWith(LOCK_SUFFIX)) return "lock";
  if (name.endsWith(REAP_SUFFIX)) return "reap";
  return undefined;
}

export function newTempName(): string {
  return `.${hostId()}.${process.pid}.${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`;
}

/** The writer a temp name records; undefined for the older ".<pid>.<random>.dosna-tmp" names, which do not say the host. */
export function tempOwner(name: string): FileOwner | undefined {
  const match = /^\.([0-9a-f]{12})\.(\d{1,10})\.[0-9a-f]+\.dosna-tmp$/.exec(name);
  return match ? { host: match[1], pid: Number(match[2]) } : undefined;
}

/**
 * The lock file name of the object `name` in the same directory. A name too long to take the
 * affixes is hashed: two keys sharing a lock only serialise their writes, which is harmless.
 */
export function lockNameOf(name: string): string {
  const plain = `.${name}${LOCK_SUFFIX}`;
  if (Buffer.byteLength(plain) <= MAX_NAME_BYTES) return plain;
  return `.${createHash("sha256").update(name).digest("hex")}.long${LOCK_SUFFIX}`;
}

/** `lockId` is made of [0-9a-z] only (see fs-lock.ts). */
export function reapNameOf(lockId: string): string {
  return `.${lockId}${REAP_SUFFIX}`;
}
