/**
 * Version tokens of the filesystem store: (inode, mtime in ns, size) of the object file. Inode
 * numbers are reused as soon as a rename frees one, and two quick writes of the same size can get
 * the same coarse mtime, so that triple alone could repeat. Every replace therefore happens under
 * the key's lock with a file whose mtime is strictly later than the one it replaces: along a key's
 * history mtimes only grow, and a token never comes back.
 */
import type { BigIntStats } from "node:fs";
import * as fs from "node:fs/promises";

/** How far past the replaced object's mtime a bumped mtime is aimed: utimes keeps only microseconds, through a double. */
const FIRST_BUMP_NS = 2_000n;

export function versionOf(stats: BigIntStats): string {
  return `${stats.ino.toString(36)}.${stats.mtimeNs.toString(36)}.${stats.size.toString(36)}`;
}

/**
 * The stats of the temp file at `tempPath` once its mtime is later than `replaced`'s, setting it
 * with utimes when the clock has not moved past it (same clock tick, or a clock set back).
 */
export async function ensureLaterMtime(tempPath: string, temp: BigIntStats, replaced: BigIntStats | undefined): Promise<BigIntStats> {
  let stats = temp;
  for (let bump = FIRST_BUMP_NS; replaced !== undefined && stats.mtimeNs <= replaced.mtimeNs; bump *= 2n) {
    const seconds = Number(replaced.mtimeNs + bump) / 1e9;
    await fs.utimes(tempPath, seconds, seconds);
    stats = await fs.stat(tempPath, { bigint: true });
  }
  return stats;
}
