/**
 * The few S3 operations dosna needs, behind one small interface so that two client libraries
 * (the AWS SDK and the MinIO client) can be measured against each other and swapped.
 * Transports throw their client's raw errors; `classify` turns them into one vocabulary.
 */
import { STATUS_CODES } from "node:http";
import type { WriteCondition } from "../store.js";

export type TransportRange = { start: number; end?: number } | { suffix: number };

export interface ListPage {
  keys: string[];
  /** Each key's object size in bytes (parallel to keys). */
  sizes: number[];
  /** Common prefixes, with their trailing delimiter. */
  prefixes: string[];
  next?: string;
}

/** What request.ts gives every transport call: the attempt's signal, and where to report progress. */
export interface Attempt {
  readonly signal: AbortSignal;
  /** Bytes of this request were sent or received: restarts the attempt's idle timeout. */
  progress(): void;
}

/** An object's bytes and its ETag (without quotes; "" when the server sent none). */
export interface ObjectBytes {
  bytes: Uint8Array;
  etag: string;
  /** The write id it was stored with, if any (see PutRequest). */
  writeId?: string;
}

export interface GetRequest {
  range?: TransportRange;
  /** If-Match: <etag>: the server answers 412 if the object is at another version. */
  ifMatch?: string;
  /** A buffer to read the body into (GetOptions.into). */
  into?: (length: number) => Uint8Array;
}

export interface PutRequest {
  condition: WriteCondition;
  /**
   * Stored as user metadata (WRITE_ID_HEADER) and read back by getObject: how a conditional write
   * whose answer was lost recognises its own write afterwards (the bytes alone cannot tell: two
   * writers may store identical bytes).
   */
  writeId?: string;
}

/** The user-metadata header carrying a PutRequest's writeId. */
export const WRITE_ID_HEADER = "x-amz-meta-dosna-write-id";
/** The same as the SDK's Metadata key (it adds the x-amz-meta- prefix). */
export const WRITE_ID_METADATA = "dosna-write-id";

export type ErrorKind =
  | "no-such-key"
  | "no-such-bucket"
  | "bucket-exists"
  | "bucket-not-empty"
  | "precondition-failed"
  | "invalid-range"
  /** The credentials themselves were rejected (unknown key id, wrong secret, expired token). */
  | "credentials"
  /** The credentials were accepted, and a bucket or user policy denies the request. */
  | "access-denied"
  /** 403 without a code that says which (HEAD answers have no body): credentials or policy. */
  | "forbidden"
  /** This machine's clock is too far from the server's for the signature to be accepted. */
  | "clock-skew"
  /** Refused, unreachable or unresolvable endpoint: transient, retried within the retry window. */
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
  getObject(bucket: string, key: string, get: GetRequest, attempt: Attempt): Promise<ObjectBytes>;
  /** PUT under `put.condition` (If-None-Match: * or If-Match: <etag>); resolves to the new ETag, unquoted ("" if none was sent). */
  putObject(bucket: string, key: string, body: Uint8Array, put: PutRequest, attempt: Attempt): Promise<string>;
  /** Server-side copy (PUT with x-amz-copy-source): the bytes never pass through the client. Resolves to the new ETag. */
  copyObject(sourceBucket: string, sourceKey: string, bucket: string, key: string, attempt: Attempt): Promise<string>;
  /** DELETE, with If-Match: <etag> when `ifMatch` is given (which not every server enforces). */
  deleteObject(bucket: string, key: string, ifMatch: string | undefined, attempt: Attempt): Promise<void>;
  /** At most 1000 keys; returns the keys the server failed to delete with their error codes. */
  deleteObjects(bucket: string, keys: string[], attempt: Attempt): Promise<Array<{ key: string; code: string }>>;
  listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, attempt: Attempt): Promise<ListPage>;
  headBucket(bucket: string, attempt: Attempt): Promise<void>;
  createBucket(bucket: string, attempt: Attempt): Promise<void>;
  deleteBucket(bucket: string, attempt: Attempt): Promise<void>;
  listBuckets(attempt: Attempt): Promise<string[]>;
  classify(error: unknown): ClassifiedError;
  close(): void;
}

/**
 * The conditional headers of a PUT. The ETag goes unquoted: Ceph RGW 16 compares If-Match against
 * the bare ETag and answers 412 to the quoted form (measured). MinIO strips quotes before comparing;
 * AWS S3 is not measured here.
 */
export function conditionHeaders(condition: WriteCondition): Record<string, string> {
  if (condition.kind === "absent") return { "if-none-match": "*" };
  if (condition.kind === "version") return { "if-match": condition.version };
  return {};
}

/** The x-amz-copy-source value of an object: "/bucket/key" with each key segment URL-encoded. */
export function copySource(bucket: string, key: string): string {
  return `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** `"abc"` or `W/"abc"` → `abc`; undefined → "". */
export function unquoteETag(etag: string | undefined): string {
  if (!etag) return "";
  return etag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EADDRNOTAVAIL"]);
const RETRYABLE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "UND_ERR_SOCKET", "TimeoutError", "RequestTimeout"]);
const RETRYABLE_S3_CODES = new Set(["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling"]);
/** The credentials themselves are wrong. AccessDenied is not among them: it is a policy's answer. */
const CREDENTIAL_CODES = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired"]);

/** Shared by both transports once they have pulled out a code and an HTTP status. */
export function classifyCode(code: string, status: number | undefined): ClassifiedError {
  const c = { code, status };
  if (code === "NoSuchKey" || (status === 404 && code === "NotFound")) return { kind: "no-such-key", ...c };
  if (code === "NoSuchBucket") return { kind: "no-such-bucket", ...c };
  if (code === "BucketAlreadyOwnedByYou" || code === "BucketAlreadyExists") return { kind: "bucket-exists", ...c };
  if (code === "BucketNotEmpty") return { kind: "bucket-not-empty", ...c };
  // AWS S3 answers 409 ConditionalRequestConflict to a conditional write racing another: as 412, the caller re-reads.
  if (code === "PreconditionFailed" || code === "ConditionalRequestConflict" || status === 412) return { kind: "precondition-failed", ...c };
  if (code === "InvalidRange" || status === 416) return { kind: "invalid-range", ...c };
  if (CREDENTIAL_CODES.has(code)) return { kind: "credentials", ...c };
  if (code === "AccessDenied") return { kind: "access-denied", ...c };
  if (code === "RequestTimeTooSkewed") return { kind: "clock-skew", ...c };
  if (status === 403) return { kind: "forbidden", ...c };
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
  const e = error as { code?: unknown; httpStatusCode?: unknown; responseHadNoBody?: unknown } | undefined;
  const status = typeof e?.httpStatusCode === "number" ? e.httpStatusCode : undefined;
  // For an answer without a body the client makes a code up from the status (403 → "AccessDenied"):
  // only the status is known, and an invented AccessDenied must not read as a policy denial.
  if (e?.responseHadNoBody === true && status !== undefined) return classifyCode(statusCodeName(status), status);
  const code = e?.code;
  // S3 error codes are CamelCase ("SlowDown"); socket codes are upper case ("ECONNRESET").
  if (typeof code === "string" && code !== "" && !/^[A-Z_]+$/.test(code)) return classifyCode(code, status);
  const socket = socketCode(error);
  if (socket) return classifyCode(socket, status);
  // The client drops the body of 5xx answers (and HEAD answers have none): only the status is known.
  return classifyCode(status === undefined ? "UnknownError" : statusCodeName(status), status);
}
