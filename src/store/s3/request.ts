/**
 * One S3 request with dosna's policy: an idle timeout per attempt, capped exponential backoff with
 * full jitter on transient failures (within a retry budget of attempts AND time), prompt
 * cancellation through the caller's AbortSignal, and errors translated to the DosnaError
 * hierarchy. Credentials never appear in a message.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AbortedError, NotFoundError, StorageError } from "../../errors.js";
import type { Attempt, ClassifiedError, S3Transport } from "./transport.js";

export interface RequestPolicy {
  endpoint: string;
  /** Idle timeout of one attempt (no byte sent or received for this long); 0: none. */
  timeoutMs: number;
  maxRetries: number;
  /** Transient failures are retried until maxRetries are used and this much time has passed. */
  retryWindowMs?: number;
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
  constructor(
    readonly classified: ClassifiedError,
    /** How many attempts were made: more than 1 means an earlier one may have succeeded unseen. */
    readonly attempts: number,
  ) {
    super(classified.code);
  }
}

export async function s3Request<T>(
  transport: S3Transport,
  policy: RequestPolicy,
  what: string,
  signal: AbortSignal | undefined,
  attempt: (attempt: Attempt) => Promise<T>,
  expected: Expected = new Set(),
): Promise<T> {
  const started = Date.now();
  for (let retry = 0; ; retry++) {
    if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
    const idle = new IdleTimeout(policy.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    try {
      return await raceAbort(attempt({ signal: combined, progress: idle.touch }), combined);
    } catch (error) {
      if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
      const classified = idle.fired ? { kind: "retryable" as const, code: "TimeoutError" } : transport.classify(error);
      if (expected.has(classified.kind)) throw new ExpectedOutcome(classified, retry + 1);
      const elapsed = Date.now() - started;
      const windowLeft = (policy.retryWindowMs ?? 0) - elapsed;
      if (isTransient(classified) && (retry < policy.maxRetries || windowLeft > 0)) {
        let delayMs = backoffDelayMs(retry, policy.baseDelayMs, policy.maxDelayMs);
        // Past maxRetries only the window keeps us going: its end is the last attempt's time.
        if (retry >= policy.maxRetries) delayMs = Math.min(delayMs, windowLeft);
        policy.onRetry?.({ what, retry: retry + 1, code: classified.code, delayMs });
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      throw translate(classified, what, policy, { attempts: retry + 1, elapsedMs: elapsed, progressed: idle.progressed }, error);
    } finally {
      idle.stop();
    }
  }
}

function isTransient(c: ClassifiedError): boolean {
  return c.kind === "retryable" || c.kind === "connection";
}

/**
 * An attempt's timeout that restarts whenever its bytes move (`touch`), so it fires only after
 * `ms` without a byte sent or received, never in the middle of a transfer that is progressing.
 */
class IdleTimeout {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Whether any byte moved (for the message: "no response" or "stalled"). */
  progressed = false;

  constructor(readonly ms: number) {
    if (ms <= 0) return;
    this.#timer = setTimeout(() => {
      this.#controller.abort(new DOMException(`no byte sent or received for ${ms} ms`, "TimeoutError"));
    }, ms);
    // Like AbortSignal.timeout: a pending request, not this timer, keeps the process alive.
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get fired(): boolean {
    return this.#controller.signal.aborted;
  }

  readonly touch = (): void => {
    this.progressed = true;
    // refresh() would re-arm a timer that has fired or been cleared.
    if (!this.#stopped && !this.fired) this.#timer?.refresh();
  };

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
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

/** `promise`, or AbortedError("<what> was aborted") as soon as `signal` fires (the promise runs on). */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  try {
    return await raceAbort(promise, signal);
  } catch (error) {
    if (signal.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason });
    throw error;
  }
}

export function noSuchBucketError(bucket: string, endpoint: string): NotFoundError {
  return new NotFoundError(`bucket "${bucket}" does not exist at the S3 endpoint ${endpoint}`);
}

interface Budget {
  attempts: number;
  elapsedMs: number;
  progressed: boolean;
}

/** The StorageError for a failure that is not retried (or no longer): what failed, where, and why. */
export function translate(
  c: ClassifiedError,
  what: string,
  policy: RequestPolicy,
  budget: Budget = { attempts: 1, elapsedMs: 0, progressed: false },
  error?: unknown,
): StorageError {
  const status = c.status === undefined ? "" : `, HTTP ${c.status}`;
  const where = `the S3 endpoint ${policy.endpoint}`;
  const tries = `after ${budget.attempts} attempt${budget.attempts === 1 ? "" : "s"} over ${(budget.elapsedMs / 1000).toFixed(1)} s`;
  switch (c.kind) {
    case "credentials":
      return new StorageError(`${what} failed: ${where} rejected the credentials (${c.code}${status}); check the access key id and secret`);
    case "access-denied":
      return new StorageError(
        `${what} failed: ${where} accepted the credentials, but a bucket or user policy denies this request (${c.code}${status}); ` +
          `check the bucket policy and the user's permissions`,
      );
    case "forbidden":
      return new StorageError(
        `${what} failed: ${where} refused it (${c.code}${status}) without saying why, as answers to HEAD do: either it rejected ` +
          `the credentials (check the access key id and secret) or a bucket or user policy denies this request`,
      );
    case "clock-skew":
      return new StorageError(
        `${what} failed: ${where} refused the request because this machine's clock differs too much from the server's ` +
          `(${c.code}${status}); synchronise the clock (NTP) and try again`,
      );
    case "connection":
      return new StorageError(`${what} failed: cannot connect to ${where} (${c.code}), ${tries}`);
    case "retryable": {
      const timedOut =
        c.code !== "TimeoutError"
          ? ""
          : budget.progressed
            ? ` (stalled: no byte sent or received for ${policy.timeoutMs} ms)`
            : ` (no response within ${policy.timeoutMs} ms)`;
      return new StorageError(`${what} failed at ${where} ${tries}: ${c.code}${status}${timedOut}`);
    }
    default:
      return new StorageError(`${what} failed at ${where}: ${c.code}${status}`, { cause: redact(error) });
  }
}

/** Only the parts of a client error worth keeping; client errors can carry request objects. */
function redact(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}
