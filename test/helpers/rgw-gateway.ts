/**
 * Control of the local Ceph RADOS Gateway under test, given the state dir scripts/rgw-start.sh
 * brought it up in: find radosgw's pid, kill it, fence the dead instance, restart it.
 *
 * Fencing: a radosgw killed with SIGKILL leaves its watches on the control objects registered at
 * the OSD until they time out (30 s). Until then every bucket metadata change (CreateBucket,
 * DeleteBucket) waits on the dead watcher: ~10–25 s each. Blocklisting the dead client's address,
 * as a Ceph operator fences a dead client, drops its watches at once.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const REPO_ROOT = join(import.meta.dirname, "..", "..");
const CONTROL_POOL = "default.rgw.control";

/** radosgw's pid from STATE_DIR/run/client.rgw.pid, checked to be a radosgw of this state dir. */
export function gatewayPid(stateDir: string): number {
  const pid = Number(readFileSync(join(stateDir, "run", "client.rgw.pid"), "utf8").trim());
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    // not running: reported below
  }
  if (!cmdline.includes("radosgw") || !cmdline.includes(stateDir)) {
    throw new Error(`pid ${pid} in ${stateDir}/run/client.rgw.pid is not a running radosgw of that state dir`);
  }
  return pid;
}

function confArgs(stateDir: string): string[] {
  return ["-c", join(stateDir, "ceph.conf")];
}

/** Addresses of the clients watching the gateway's control objects (the running radosgw). */
export async function gatewayWatchers(stateDir: string): Promise<string[]> {
  const { stdout: objects } = await run("rados", [...confArgs(stateDir), "-p", CONTROL_POOL, "ls"], { timeout: 30_000 });
  const listings = await Promise.all(
    objects
      .split("\n")
      .filter(Boolean)
      .map((object) => run("rados", [...confArgs(stateDir), "-p", CONTROL_POOL, "listwatchers", object], { timeout: 30_000 })),
  );
  const addresses = new Set<string>();
  for (const { stdout } of listings) {
    for (const match of stdout.matchAll(/^watcher=(\S+)/gm)) addresses.add(match[1]);
  }
  return [...addresses];
}

/** Blocklist dead clients so that the OSD drops their watches now rather than in 30 s. */
export async function fenceClients(stateDir: string, addresses: readonly string[]): Promise<void> {
  for (const address of addresses) {
    await run("ceph", [...confArgs(stateDir), "--connect-timeout", "20", "osd", "blocklist", "add", address, "600"], { timeout: 30_000 });
  }
}

/** scripts/rgw-start.sh --gateway-only: start radosgw again on the same cluster and port. */
export async function restartGateway(stateDir: string): Promise<void> {
  // The script prints the endpoint's exports, test secret included, on stdout: not echoed.
  await run("bash", [join(REPO_ROOT, "scripts", "rgw-start.sh"), "--gateway-only", stateDir], { cwd: REPO_ROOT, timeout: 90_000 });
}
