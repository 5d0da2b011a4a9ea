/**
 * Whether an S3 endpoint really enforces conditional requests, found out once per bucket by asking
 * it to do what it must refuse. Some S3-compatible servers accept If-Match / If-None-Match and
 * ignore them (Ceph RGW 16 ignores If-Match on DELETE); a store that trusted them would let
 * writers overwrite each other's updates without anyone noticing.
 *
 * The probe is five requests on a reserved key: PUT it; PUT it again with a wrong If-Match (must be
 * refused); PUT with If-None-Match: * (must be refused); DELETE with a wrong If-Match (must be
 * refused); DELETE it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { ConditionalSupport } from "../store.js";
import { ExpectedOutcome, noSuchBucketError, s3Request, untilAborted, type Expected, type RequestPolicy } from "./request.js";
import type { Attempt, S3Transport } from "./transport.js";

/** Where probe objects live, below the store's prefix (where the store is known to write). */
export const PROBE_PREFIX = ".dosna/probe/";

/** An ETag no object has: ETags are MD5 digests of the content. */
const WRONG_ETAG = "00000000000000000000000000000000";

export interface ProbeResult extends ConditionalSupport {
  /** What the endpoint ignored, for messages: "If-Match on PUT", "If-Match on DELETE", ... */
  ignored: string[];
}

/** Probe results per bucket, shared by the stores of one backend. */
export class ConditionalProbes {
  readonly #results = new Map<string, Promise<ProbeResult>>();

  constructor(
    private readonly transport: S3Transport,
    private readonly policy: RequestPolicy,
  ) {}

  /**
   * The bucket's probe result. The first call runs the probe (under `base`, the asking store's
   * prefix) and later calls share it; a probe that failed is not remembered, so the next call runs
   * it again. The probe itself runs on whatever `signal` does: other callers may be waiting for it;
   * `waiting` names the caller's operation in its AbortedError.
   */
  of(bucket: string, base: string, signal?: AbortSignal, waiting = `probing whether the S3 endpoint ${this.policy.endpoint} enforces conditional requests`): Promise<ProbeResult> {
    let result = this.#results.get(bucket);
    if (result === undefined) {
      const running = probeConditionalSupport(this.transport, this.policy, bucket, base);
      this.#results.set(bucket, running);
      running.catch(() => {
        if (this.#results.get(bucket) === running) this.#results.delete(bucket);
      });
      result = running;
    }
    return untilAborted(result, signal, waiting);
  }
}

async function probeConditionalSupport(transport: S3Transport, policy: RequestPolicy, bucket: string, base: string): Promise<ProbeResult> {
  const key = `${base}${PROBE_PREFIX}${randomUUID()}`;
  const body = randomBytes(16);
  const send = <T>(method: string, run: (attempt: Attempt) => Promise<T>, expected?: Expected) =>
    s3Request(transport, policy, `${method} s3://${bucket}/${key} at ${policy.endpoint} (probing conditional requests)`, undefined, run, expected);
  /** Whether the server refused the request for its failed condition, as it must. */
  const refused = async (method: string, run: (attempt: Attempt) => Promise<unknown>, outcomes: Expected): Promise<boolean> => {
    try {
      await send(method, run, outcomes);
      return false;
    } catch (error) {
      if (error instanceof ExpectedOutcome) return error.classified.kind !== "other";
      throw error;
    }
  };

  try {
    await send("PUT", (a) => transport.putObject(bucket, key, body, { condition: { kind: "none" } }, a), new Set(["no-such-bucket"]));
  } catch (error) {
    if (error instanceof ExpectedOutcome) throw noSuchBucketError(bucket, policy.endpoint);
    throw error;
  }
  try {
    // Servers answer a failed If-Match with 412, 409 (a conflict) or, some, 404.
    const preconditions: Expected = new Set(["precondition-failed", "no-such-key"]);
    const ifMatch = await refused("PUT", (a) => transport.putObject(bucket, key, body, { condition: { kind: "version", version: WRONG_ETAG } }, a), preconditions);
    const ifNoneMatch = await refused("PUT", (a) => transport.putObject(bucket, key, body, { condition: { kind: "absent" } }, a), preconditions);
    // A server that rejects the conditional DELETE outright (400, 501) has no conditional delete either.
    const deleteIfMatch = await refused("DELETE", (a) => transport.deleteObject(bucket, key, WRONG_ETAG, a), new Set([...preconditions, "other"]));
    const ignored = [
      ...(ifMatch ? [] : ["If-Match on PUT"]),
      ...(ifNoneMatch ? [] : ["If-None-Match on PUT"]),
      ...(deleteIfMatch ? [] : ["If-Match on DELETE"]),
    ];
    return { write: ifMatch && ifNoneMatch, delete: deleteIfMatch, ignored };
  } finally {
    // A probe object left behind (the endpoint went away) is harmless: nothing reads .dosna/probe/.
    await send("DELETE", (a) => transport.deleteObject(bucket, key, undefined, a)).catch(() => undefined);
  }
}
