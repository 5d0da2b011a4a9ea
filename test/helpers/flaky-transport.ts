/**
 * Fault injection at the transport seam: wraps a real S3Transport so that chosen calls throw the
 * errors its client library throws for throttling, server errors, resets and timeouts, before the
 * call reaches the server, or (`loseAnswers`) after the server has carried it out, as when an
 * answer is lost on the way back. Everything else goes to the real transport (and the real server).
 */
import { S3ServiceException } from "@aws-sdk/client-s3";
import { S3Error } from "minio";
import type { S3Transport } from "../../src/store/s3/index.js";

type Operation = Exclude<keyof S3Transport, "name" | "classify" | "close">;

const OPERATIONS: ReadonlySet<string> = new Set<Operation>([
  "getObject",
  "putObject",
  "deleteObject",
  "deleteObjects",
  "listPage",
  "headBucket",
  "createBucket",
  "deleteBucket",
  "listBuckets",
]);

export interface FlakyTransport {
  readonly transport: S3Transport;
  /** Operation calls seen (failed or passed through) since the last `failNext`. */
  readonly calls: number;
  readonly failures: number;
  /** Make the next `count` calls of `operations` (all when omitted) throw `makeError()`. */
  failNext(count: number, makeError: () => unknown, operations?: readonly Operation[]): void;
  /** As failNext, but each failing call first reaches the server: it happens, and its answer is lost. */
  loseAnswers(count: number, makeError: () => unknown, operations?: readonly Operation[]): void;
}

export function flakyTransport(inner: S3Transport): FlakyTransport {
  let remaining = 0;
  let makeError: () => unknown = () => new Error("no fault configured");
  let only: ReadonlySet<string> | undefined;
  let calls = 0;
  let failures = 0;
  let afterCall = false;

  const transport = new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (typeof property !== "string" || !OPERATIONS.has(property)) return value.bind(target);
      return async (...args: unknown[]) => {
        if (only && !only.has(property)) return value.apply(target, args);
        calls++;
        if (remaining > 0) {
          remaining--;
          failures++;
          if (afterCall) await value.apply(target, args);
          throw makeError();
        }
        return value.apply(target, args);
      };
    },
  });

  return {
    transport,
    get calls() {
      return calls;
    },
    get failures() {
      return failures;
    },
    failNext(count, make, operations) {
      remaining = count;
      makeError = make;
      only = operations ? new Set(operations) : undefined;
      calls = 0;
      failures = 0;
      afterCall = false;
    },
    loseAnswers(count, make, operations) {
      this.failNext(count, make, operations);
      afterCall = true;
    },
  };
}

export interface ClientErrors {
  /** 503 SlowDown. */
  slowDown(): unknown;
  /** 500 InternalError. */
  internalError(): unknown;
  /** The socket was reset mid-request. */
  connectionReset(): unknown;
  /** 403 AccessDenied: not transient, never retried. */
  accessDenied(): unknown;
  /** Connection refused: the endpoint is down (or restarting); transient. */
  connectionRefused(): unknown;
}

function socketError(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, errno: -104, syscall: "read", ...extra });
}

/** As @aws-sdk/client-s3 throws them (the SDK labels socket errors "TimeoutError" for its own retry logic). */
export const awsErrors: ClientErrors = {
  slowDown: () => awsServiceError("SlowDown", 503, "Please reduce your request rate."),
  internalError: () => awsServiceError("InternalError", 500, "We encountered an internal error. Please try again."),
  connectionReset: () => socketError("read ECONNRESET", "ECONNRESET", { name: "TimeoutError", $metadata: { attempts: 1, totalRetryDelay: 0 } }),
  accessDenied: () => awsServiceError("AccessDenied", 403, "Access Denied"),
  connectionRefused: () => socketError("connect ECONNREFUSED 127.0.0.1:7480", "ECONNREFUSED", { errno: -111, syscall: "connect" }),
};

function awsServiceError(code: string, status: number, message: string): S3ServiceException {
  const error = new S3ServiceException({
    name: code,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status, requestId: "flaky-transport", attempts: 1, totalRetryDelay: 0 },
    message,
  });
  return Object.assign(error, { Code: code });
}

/**
 * As the minio transport throws them: for 5xx the client drops the body and throws a bare Error
 * (the transport adds the HTTP status); parsed S3 errors are S3Error with a `code`.
 */
export const minioErrors: ClientErrors = {
  slowDown: () => Object.assign(new Error("Request failed after 0 retries: Error: Retryable HTTP status: 503"), { httpStatusCode: 503 }),
  internalError: () => Object.assign(new Error("Request failed after 0 retries: Error: Retryable HTTP status: 500"), { httpStatusCode: 500 }),
  connectionReset: () => socketError("read ECONNRESET", "ECONNRESET"),
  accessDenied: () => Object.assign(new S3Error("Access Denied"), { code: "AccessDenied", httpStatusCode: 403 }),
  connectionRefused: () => socketError("connect ECONNREFUSED 127.0.0.1:7480", "ECONNREFUSED", { errno: -111, syscall: "connect" }),
};

export const clientErrors: Record<S3Transport["name"], ClientErrors> = { aws: awsErrors, minio: minioErrors };
