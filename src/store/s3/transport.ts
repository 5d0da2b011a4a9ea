/**
 * The few S3 operations dosna needs, behind one small interface so that two client libraries
 * (the AWS SDK and the MinIO client) can be measured against each other and swapped.
 * Transports throw their client's raw errors; `classify` turns them into one vocabulary.
 */
import { STATUS_CODES } from "node:http";

export type TransportRange = { start: number; end?: number } | { suffix: number };

export interface ListPage {
  keys: string[];
  /** Common prefixes, with their trailing delimiter. */
  prefixes: string[];
  next?: string;
}

export type ErrorKind =
  | "no-such-key"
  | "no-such-bucket"
  | "bucket-exists"
  | "bucket-not-empty"
  | "precondition-failed"
  | "invalid-range"
  | "credentials"
  | "connection"
  | "retryable"
  | "other";

export interface ClassifiedError {
  kind: ErrorKind;
  /** The server's error code or the socket error code, for messages. */
  code: string;
  status?: number;
}

export interface S3Transport {
  readonly name: "aws" | "minio";
  getObject(bucket: string, key: string, range: TransportRange | undefined, signal: AbortSignal): Promise<Uint8Array>;
  putObject(bucket: string, key: string, body: Uint8Array, ifNoneMatch: boolean, signal: AbortSignal): Promise<void>;
  deleteObject(bucket: string, key: string, signal: AbortSignal): Promise<void>;
  /** At most 1000 keys; returns the keys the server failed to delete with their error codes. */
  deleteObjects(bucket: string, keys: string[], signal: AbortSignal): Promise<Array<{ key: string; code: string }>>;
  listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, signal: AbortSignal): Promise<ListPage>;
  headBucket(bucket: string, signal: AbortSignal): Promise<void>;
  createBucket(bucket: string, signal: AbortSignal): Promise<void>;
  deleteBucket(bucket: string, signal: AbortSignal): Promise<void>;
  listBuckets(signal: AbortSignal): Promise<string[]>;
  classify(error: unknown): ClassifiedError;
  close(): void;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const RETRYABLE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "UND_ERR_SOCKET", "TimeoutError", "RequestTimeout"]);
const RETRYABLE_S3_CODES = new Set(["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed", "Throttling"]);
const CREDENTIAL_CODES = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken"]);

/** Shared by both transports once they have pulled out a code and an HTTP status. */
export function classifyCode(code: string, status: number | undefined): ClassifiedError {
  const c = { code, status };
  if (code === "NoSuchKey" || (status === 404 && code === "NotFound")) return { kind: "no-such-key", ...c };
  if (code === "NoSuchBucket") return { kind: "no-such-bucket", ...c };
  if (code === "BucketAlreadyOwnedByYou" || code === "BucketAlreadyExists") return { kind: "bucket-exists", ...c };
  if (code === "BucketNotEmpty") return { kind: "bucket-not-empty", ...c };
  if (code === "PreconditionFailed" || status === 412) return { kind: "precondition-failed", ...c };
  if (code === "InvalidRange" || status === 416) return { kind: "invalid-range", ...c };
  if (CREDENTIAL_CODES.has(code) || status === 403) return { kind: "credentials", ...c };
  if (CONNECTION_CODES.has(code)) return { kind: "connection", ...c };
  if (RETRYABLE_SOCKET_CODES.has(code) || RETRYABLE_S3_CODES.has(code) || status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    return { kind: "retryable", ...c };
  }
  return { kind: "other", ...c };
}

/** The socket-level code of an error or of any error in its cause chain. */
export function socketCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return code;
    const errors = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.length) {
      const inner = socketCode(errors[0]);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A code for an error response without one (HEAD, empty 5xx bodies): the status's name, "ServiceUnavailable". */
export function statusCodeName(status: number): string {
  return (STATUS_CODES[status] ?? `HTTP${status}`).replace(/[^A-Za-z0-9]/g, "");
}

/** The AWS SDK's errors: a Code or name, and $metadata.httpStatusCode. */
export function classifyAwsError(error: unknown): ClassifiedError {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const socket = socketCode(error);
  if (socket && status === undefined) return classifyCode(socket, undefined);
  const code = e?.Code ?? e?.name ?? "UnknownError";
  // HEAD responses have no body, so the SDK can only report the status.
  if (status === 404 && (code === "NotFound" || code === "Unknown")) return classifyCode("NotFound", status);
  if (code === "Unknown" && status !== undefined) return classifyCode(statusCodeName(status), status);
  return classifyCode(code, status);
}

/** The minio client's errors: an S3 code or a socket code, and the status the transport recorded. */
export function classifyMinioError(error: unknown): ClassifiedError {
  const e = error as { code?: unknown; httpStatusCode?: unknown } | undefined;
  const status = typeof e?.httpStatusCode === "number" ? e.httpStatusCode : undefined;
  const code = e?.code;
  // S3 error codes are CamelCase ("SlowDown"); socket codes are upper case ("ECONNRESET").
  if (typeof code === "string" && code !== "" && !/^[A-Z_]+$/.test(code)) return classifyCode(code, status);
  const socket = socketCode(error);
  if (socket) return classifyCode(socket, status);
  // The client drops the body of 5xx answers (and HEAD answers have none): only the status is known.
  return classifyCode(status === undefined ? "UnknownError" : statusCodeName(status), status);
}
