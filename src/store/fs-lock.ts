/**
 * Per-key lock files, so that a conditional replace is atomic between processes: whoever creates
 * `.<name>.dosna-lock` holds the key until it unlinks that file. Writers in one process queue on an
 * in-process mutex first, so they never poll each other's lock files.
 *
 * A lock file says who holds it (pid, host id, creation time, a random nonce). It is taken with
 * link() from a "claim" file holding that content, written beforehand next to it (under a temp
 * name), so a lock never exists without its content, even when its holder is killed the instant
 * it took it, and taking it is a single call. link() also sets the file's ctime, which is
 * therefore the moment the lock was taken (mtime is when the claim was written, which can be long
 * before if the writer had to wait).
 *
 * A waiting writer recovers a lock at once when its holder ran on this host and has exited, and
 * otherwise once it was taken longer ago than the stale timeout (the critical section takes
 * microseconds to milliseconds). Recovery is race-free between recoverers: a recoverer first gives
 * the stale lock a second name derived from its identity (`.<lock id>.dosna-reap`) with link(),
 * which only one recoverer of that lock can do. Through that name it checks that the file it linked
 * is still the stale lock (and not a newer lock taken meanwhile); only then does it unlink the
 * lock. While the reap name exists no other recoverer can touch the lock, and a dead holder cannot
 * either, so the unlink removes exactly the stale lock. A live lock is never removed before it is
 * stale; the one case this cannot cover is a holder on another host that is paused for longer than
 * the stale timeout inside its critical section, which is what the timeout assumes does not happen.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { throwIfAborted } from "./abort.js";
import { errorCode, isMissing } from "./fs-errors.js";
import { newTempName, reapNameOf } from "./fs-names.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { type FileOwner, hostId, isDeadOwner, isHostId, isPid } from "./fs-owner.js";

export const DEFAULT_LOCK_STALE_MS = 10_000;
const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 20;
const READ_NO_FOLLOW = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

export interface LockOptions {
  /** Age (ms) after which a lock whose holder cannot be checked counts as abandoned. */
  staleMs: number;
  signal?: AbortSignal;
  /** Names the request in an AbortedError ("set of key "k" in fs:/data"). */
  operation: string;
}

/** What a lock file's content says, when it parses. */
interface LockContent extends FileOwner {
  hostname?: string;
  created?: number;
  nonce: string;
}

/** A claim file: the content of a lock to be taken, under a temp name. */
export interface ClaimFile {
  path: string;
  /** The nonce in its content. */
  nonce: string;
}

/** A lock file as seen once: enough to recognise the same file later, and whether it may be recovered. */
interface LockSighting {
  id: string;
  stale: boolean;
}

// Module-wide, so that every FileSystemStore of this process on the same directory shares it.
const inProcess = new KeyedMutex();

/** What a lock file holds (exported so tests can plant the locks of other hosts and dead processes). */
export function lockContent(owner: FileOwner, nonce = randomBytes(8).toString("hex")): string {
  const content: LockContent = { ...owner, hostname: hostname(), created: Date.now(), nonce };
  return JSON.stringify(content);
}

/**
 * The lock of one key, ready to be taken: its claim file is written. Either `hold` it (once) or
 * `discard` it; both remove the claim file.
 */
export class LockClaim {
  readonly lockPath: string;
  readonly #claim: ClaimFile;

  private constructor(lockPath: string, claim: ClaimFile) {
    this.lockPath = lockPath;
    this.#claim = claim;
  }

  /** Writes the claim file beside `lockPath`; fails with the fs error (ENOENT when the directory is gone). */
  static async prepare(lockPath: string): Promise<LockClaim> {
    const claim = { path: path.join(path.dirname(lockPath), newTempName()), nonce: randomBytes(8).toString("hex") };
    try {
      await fs.writeFile(claim.path, lockContent({ host: hostId(), pid: process.pid }, claim.nonce), { flag: "wx" });
    } catch (error) {
      await fs.unlink(claim.path).catch(() => undefined);
      throw error;
    }
    return new LockClaim(lockPath, claim);
  }

  /**
   * Runs `critical` holding the lock. Fails with the fs error if the lock cannot be made, with
   * AbortedError if the signal fires while another holder is waited for.
   */
  hold<R>(options: LockOptions, critical: () => Promise<R>): Promise<R> {
    return inProcess.run(this.lockPath, async () => {
      try {
        await takeLock(this.lockPath, this.#claim, options);
      } catch (error) {
        await this.discard();
        throw error;
      }
      // The lock has its own name now: the claim's goes beside the critical section.
      const dropClaim = this.discard();
      try {
        return await critical();
      } finally {
        await dropClaim;
        // ENOENT only if it was recovered as stale while held, which the stale timeout should rule out.
        await fs.unlink(this.lockPath).catch(() => undefined);
      }
    });
  }

  async discard(): Promise<void> {
    await fs.unlink(this.#claim.path).catch(() => undefined);
  }
}

/**
 * Links the claim file as the lock at `lockPath`, waiting (polling with a short capped backoff) while
 * another holder has it, and recovering it when it is stale. Without the in-process queue: for
 * LockClaim.hold, and for tests of recovery races.
 */
export async function takeLock(lockPath: string, claim: ClaimFile, options: LockOptions): Promise<void> {
  for (let delay = FIRST_POLL_MS; ; ) {
    throwIfAborted(options.signal, options.operation);
    try {
      await fs.link(claim.path, lockPath);
      return;
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    const sighting = await inspectLock(lockPath, options.staleMs);
    if (sighting === undefined) continue; // released meanwhile: try again at once
    // On NFS a retransmitted link() can report EEXIST for the link it made itself.
    if (sighting.id === claim.nonce) return;
    if (sighting.stale && (await removeStaleLock(lockPath, sighting, options.staleMs)) !== "busy") continue;
    await sleep(delay * (0.5 + Math.random() / 2));
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
}

/** Removes the lock file at `lockPath` if it is stale (for sweeps of orphaned files); true if it did. */
export async function removeLockIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  const sighting = await inspectLock(lockPath, staleMs);
  return sighting !== undefined && sighting.stale && (await removeStaleLock(lockPath, sighting, staleMs)) === "removed";
}

/** Removes a reap name left by a recoverer that died within its few microseconds of work. */
export async function removeReapNameIfAbandoned(reapPath: string, staleMs: number): Promise<boolean> {
  try {
    // ctime, not mtime: link() set it when the name was made, while mtime is the old claim's.
    const stats = await fs.lstat(reapPath);
    if (Date.now() - stats.ctimeMs <= staleMs) return false;
    await fs.unlink(reapPath);
    return true;
  } catch {
    return false;
  }
}

function parseLockContent(text: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockContent> | null;
    if (parsed === null || typeof parsed !== "object") return undefined;
    const { host, pid, nonce } = parsed;
    if (!isHostId(host) || !isPid(pid) || typeof nonce !== "string" || !/^[0-9a-f]{16}$/.test(nonce)) return undefined;
    return { host, pid, nonce };
  } catch {
    return undefined;
  }
}

/**
 * Reads the lock at `lockPath` through one handle (so content and stats belong to the same file);
 * undefined when there is none. A lock whose content does not parse (not made by this store) is
 * known by inode and mtime, which a second name does not change, and recovered only by age.
 */
async function inspectLock(lockPath: string, staleMs: number): Promise<LockSighting | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(lockPath, READ_NO_FOLLOW);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    const content = parseLockContent(await handle.readFile("utf8"));
    const id = content?.nonce ?? `i${stats.ino.toString(36)}m${stats.mtimeNs.toString(36)}`;
    const ageMs = Date.now() - Number(stats.ctimeMs);
    return { id, stale: isDeadOwner(content) || ageMs > staleMs };
  } finally {
    await handle.close();
  }
}

/**
 * Unlinks the stale lock `sighting` if `lockPath` still is that lock: "removed" if it did, "gone"
 * when that lock is no longer there (removed by someone else; the caller may try again at once),
 * "busy" when another recoverer is at work (the caller should wait).
 */
async function removeStaleLock(lockPath: string, sighting: LockSighting, staleMs: number): Promise<"removed" | "gone" | "busy"> {
  const reapPath = path.join(path.dirname(lockPath), reapNameOf(sighting.id));
  try {
    await fs.link(lockPath, reapPath);
  } catch (error) {
    if (isMissing(error)) return "gone";
    if (errorCode(error) === "EEXIST") return (await removeReapNameIfAbandoned(reapPath, staleMs)) ? "gone" : "busy";
    throw error;
  }
  try {
    const linked = await inspectLock(reapPath, staleMs);
    // Another recoverer removed the stale lock and someone took a new one before our link: leave it.
    if (linked?.id !== sighting.id) return "gone";
    await fs.unlink(lockPath).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
    return "removed";
  } finally {
    await fs.unlink(reapPath).catch(() => undefined);
  }
}
