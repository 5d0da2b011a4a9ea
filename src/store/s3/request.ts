/**
 * One S3 request with dosna's policy: a timeout per attempt, capped exponential backoff with full
 * jitter on transient failures, prompt cancellation through the caller's AbortSignal, and errors
 * translated to the DosnaError hierarchy. Credentials never appear in a message.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AbortedError, StorageError } from "../../errors.js";
import type { ClassifiedError, S3Transport } from "./transport.js";

export interface RequestPolicy {
  endpoint: string;
  timeoutMs: number;
  maxRetries: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each retry's backoff wait (for logging and tests). */
  onRetry?: (retry: RetryEvent) => void;
}

export interface RetryEvent {
  what: string;
  /** 1 for the first retry. */
  retry: number;
  code: string;
  delayMs: number;
}

/** Full jitter: a uniform wait in [0, min(cap, base * 2^retry)) before retry number `retry + 1`. */
export function backoffDelayMs(retry: number, baseDelayMs = 100, maxDelayMs = 5_000, random: () => number = Math.random): number {
  return random() * Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
}

/** Outcomes a caller handles itself (a missing key is not an error for `get`). */
export type Expected = ReadonlySet<ClassifiedError["kind"]>;

export class ExpectedOutcome extends Error {
  constructor(readonly classified: ClassifiedError) {
    super(classified.code);
  }
}

export async function s3Request<T>(
  transport: S3Transport,
  policy: RequestPolicy,
  what: string,
  signal: AbortSignal | undefined,
  attempt: (signal: AbortSignal) => Promise<T>,
  expected: Expected = new Set(),
): Promise<T> {
  for (let retry = 0; ; retry++) {
    if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
    const timeout = policy.timeoutMs > 0 ? AbortSignal.timeout(policy.timeoutMs) : new AbortController().signal;
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await raceAbort(attempt(combined), combined);
    } catch (error) {
      if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
      const classified = timeout.aborted ? { kind: "retryable" as const, code: "TimeoutError" } : transport.classify(error);
      if (expected.has(classified.kind)) throw new ExpectedOutcome(classified);
      if (classified.kind === "retryable" && retry < policy.maxRetries) {
        const delayMs = backoffDelayMs(retry, policy.baseDelayMs, policy.maxDelayMs);
        policy.onRetry?.({ what, retry: retry + 1, code: classified.code, delayMs });
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      throw translate(classified, what, policy, retry, error);
    }
  }
}

/** Settle as soon as the signal fires even if the client library ignores it. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function translate(c: ClassifiedError, what: string, policy: RequestPolicy, retries: number, error: unknown): StorageError {
  const status = c.status === undefined ? "" : ` (HTTP ${c.status})`;
  switch (c.kind) {
    case "credentials":
      return new StorageError(`${what} failed: the S3 endpoint ${policy.endpoint} rejected the credentials (${c.code}${status}); check the access key id and secret`);
    case "connection":
      return new StorageError(`${what} failed: cannot connect to the S3 endpoint ${policy.endpoint} (${c.code})`);
    case "retryable": {
      const timedOut = c.code === "TimeoutError" ? ` (no response within ${policy.timeoutMs} ms)` : "";
      return new StorageError(
        `${what} failed at the S3 endpoint ${policy.endpoint} after ${retries + 1} attempt${retries ? "s" : ""}: ${c.code}${status}${timedOut}`,
      );
    }
    default:
      return new StorageError(`${what} failed at the S3 endpoint ${policy.endpoint}: ${c.code}${status}`, { cause: redact(error) });
  }
}

/** Only the parts of a client error worth keeping; client errors can carry request objects. */
function redact(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}
