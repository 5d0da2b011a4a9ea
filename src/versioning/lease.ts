/**
 * A writer lease for stores that cannot write conditionally (Hangar's writer lock, made safe to
 * crash): one object `.dosna/repo/lease.json` naming its holder and an expiry. A holder renews it
 * while it writes; a holder that dies simply stops renewing, and the lease is free once it has
 * expired, so nobody ever removes a lock by hand. Taking it is write, wait, read back: of writers
 * racing for a free lease, the last one to write keeps it and the others see that they lost.
 *
 * Stores with conditional writes (all of dosna's, including Ceph RGW) never need it: there a
 * branch moves by compare-and-swap and any number of writers commit concurrently.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import { ConflictError } from "../errors.js";
import type { Store } from "../store/store.js";
import { REPO_PREFIX } from "./layout.js";
import { decodeObject, encodeObject } from "./objects.js";

export const LEASE_KEY = `${REPO_PREFIX}lease.json`;

const leaseSchema = z.object({ holder: z.string(), host: z.string(), pid: z.number(), expires: z.string() }).strict();
type LeaseRecord = z.infer<typeof leaseSchema>;

export interface LeaseOptions {
  /** How long a lease lives without renewal (default 30 s). */
  ttlMs?: number;
  /** How long to wait before reading back a freshly written lease (default 200 ms). */
  settleMs?: number;
}

export class WriterLease {
  #timer: NodeJS.Timeout | undefined;
  #released = false;

  private constructor(
    private readonly store: Store,
    private readonly record: LeaseRecord,
    private readonly ttlMs: number,
  ) {}

  static async acquire(store: Store, what: string, options: LeaseOptions = {}): Promise<WriterLease> {
    const ttlMs = options.ttlMs ?? 30_000;
    const settleMs = options.settleMs ?? 200;
    const current = await readLease(store, what);
    if (current && Date.parse(current.expires) > Date.now()) throw heldBy(current, what);
    const record: LeaseRecord = { holder: randomBytes(12).toString("hex"), host: hostname(), pid: process.pid, expires: new Date(Date.now() + ttlMs).toISOString() };
    await store.set(LEASE_KEY, encodeObject(record));
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const after = await readLease(store, what);
    if (after?.holder !== record.holder) throw heldBy(after ?? record, what);
    const lease = new WriterLease(store, record, ttlMs);
    lease.#timer = setInterval(() => void lease.renew().catch(() => undefined), Math.max(50, ttlMs / 3));
    lease.#timer.unref();
    return lease;
  }

  /** Push the expiry forward; ConflictError if the lease was lost (it expired and another writer took it). */
  async renew(): Promise<void> {
    if (this.#released) return;
    await this.check();
    this.record.expires = new Date(Date.now() + this.ttlMs).toISOString();
    await this.store.set(LEASE_KEY, encodeObject(this.record));
  }

  /** ConflictError unless this writer still holds the lease. */
  async check(): Promise<void> {
    const current = await readLease(this.store, "the repository");
    if (current?.holder !== this.record.holder) {
      throw new ConflictError(`the writer lease of the repository was lost${current ? ` to ${current.host} (pid ${current.pid})` : ""}: it expired before it was renewed`);
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    const current = await readLease(this.store, "the repository").catch(() => undefined);
    if (current?.holder === this.record.holder) await this.store.delete(LEASE_KEY);
  }
}

async function readLease(store: Store, what: string): Promise<LeaseRecord | undefined> {
  const bytes = await store.get(LEASE_KEY);
  return bytes === undefined ? undefined : decodeObject(leaseSchema, bytes, "writer lease", what);
}

function heldBy(record: LeaseRecord, what: string): ConflictError {
  return new ConflictError(
    `${what} is being written by ${record.host} (pid ${record.pid}) under a writer lease until ${record.expires}: ` +
      `this store has no conditional writes, so one writer at a time; the lease frees itself when it expires`,
  );
}
