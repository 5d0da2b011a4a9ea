/**
 * Who left a temp or lock file behind: a host id and a pid. On this host a writer whose pid no
 * longer runs is certainly gone; about a writer on another host nothing can be known, so only the
 * file's age tells.
 *
 * The host id is a hash of the hostname, the kernel's boot id and the pid namespace, so containers
 * on one kernel (separate pid namespaces) and a rebooted machine (new boot id) count as other
 * hosts: for them a pid proves nothing.
 */
import { createHash } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { errorCode } from "./fs-errors.js";

export interface FileOwner {
  host: string;
  pid: number;
}

let cachedHostId: string | undefined;

function readOrEmpty(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return "";
  }
}

/** Twelve hex digits naming this host (and pid namespace); the same in every process on it. */
export function hostId(): string {
  cachedHostId ??= createHash("sha256")
    .update(hostname())
    .update("\0")
    .update(readOrEmpty(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")))
    .update("\0")
    .update(readOrEmpty(() => readlinkSync("/proc/self/ns/pid")))
    .digest("hex")
    .slice(0, 12);
  return cachedHostId;
}

export function isHostId(text: unknown): text is string {
  return typeof text === "string" && /^[0-9a-f]{12}$/.test(text);
}

export function isPid(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** False only when the process certainly does not run: no such pid, or (on Linux) a zombie waiting to be reaped. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errorCode(error) !== "ESRCH"; // EPERM: it runs, as another user
  }
  if (process.platform !== "linux") return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch (error) {
    return errorCode(error) !== "ENOENT"; // exited between the two looks
  }
}

/** True when `owner` ran on this host and has exited. */
export function isDeadOwner(owner: FileOwner | undefined): boolean {
  return owner !== undefined && owner.host === hostId() && !isProcessAlive(owner.pid);
}
