/**
 * The store's own files left behind by writers that were killed: a temp file whose writer ran on
 * this host and has exited, or that is older than an hour; a lock that is stale (see fs-lock.ts);
 * a reap name older than the stale timeout. Listings remove the ones they come across, and
 * FileSystemStore.removeOrphans sweeps the whole root.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { removeLockIfStale, removeReapNameIfAbandoned } from "./fs-lock.js";
import { reservedKind, tempOwner } from "./fs-names.js";
import { isDeadOwner } from "./fs-owner.js";

/** A temp file this old is abandoned even when nothing is known about its writer (another host, older name format). */
export const ORPHAN_TEMP_AGE_MS = 60 * 60 * 1000;

/** Removes the reserved file `name` in `directory` if it is orphaned; true if it did. Never throws. */
export async function removeIfOrphan(directory: string, name: string, lockStaleMs: number): Promise<boolean> {
  const filePath = path.join(directory, name);
  try {
    switch (reservedKind(name)) {
      case "temp":
        return await removeTempIfOrphan(filePath, name);
      case "lock":
        return await removeLockIfStale(filePath, lockStaleMs);
      case "reap":
        return await removeReapNameIfAbandoned(filePath, lockStaleMs);
      default:
        return false;
    }
  } catch {
    return false; // whatever went wrong, a later sweep can try again
  }
}

/** Removes the orphans among `names` (reserved names in `directory`); how many it removed. */
export async function removeOrphansIn(directory: string, names: string[], lockStaleMs: number): Promise<number> {
  const removed = await Promise.all(names.map((name) => removeIfOrphan(directory, name, lockStaleMs)));
  return removed.filter(Boolean).length;
}

async function removeTempIfOrphan(filePath: string, name: string): Promise<boolean> {
  if (!isDeadOwner(tempOwner(name))) {
    const stats = await fs.lstat(filePath);
    if (Date.now() - stats.mtimeMs <= ORPHAN_TEMP_AGE_MS) return false;
  }
  await fs.unlink(filePath);
  return true;
}
