/**
 * S3 connection settings, validated once at the boundary (Cluster config, env, config file).
 */
import { z } from "zod";

/** "X is required" when absent, "X must be a string" otherwise; never echoes the value (it may be a secret). */
function requiredString(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `${what} is required` : `${what} must be a string`);
}

export const s3ConnectionSchema = z.object({
  endpoint: z
    .url({ protocol: /^https?$/, error: "expected an http(s) URL such as http://127.0.0.1:7480" })
    // Credentials in the URL would be printed wherever the endpoint is (messages, toString).
    .refine((url) => !/^https?:\/\/[^/?#]*@/i.test(url), "must not contain credentials (user:password@); set accessKeyId and secretAccessKey"),
  region: z.string().min(1).default("us-east-1"),
  accessKeyId: z.string({ error: requiredString("access key id") }).min(1, "access key id is required"),
  secretAccessKey: z.string({ error: requiredString("secret access key") }).min(1, "secret access key is required"),
  forcePathStyle: z.boolean().default(true),
  /**
   * Idle timeout of one attempt: it fails when no byte has been sent or received for this long (a
   * large transfer that keeps moving is never cut off). 0 disables it.
   */
  timeoutMs: z.number().int().min(0).default(30_000),
  /**
   * Transient failures (5xx, SlowDown, timeouts, connection refused or reset, DNS failures) are
   * retried until maxRetries retries are used AND retryWindowMs has passed since the first attempt,
   * so a gateway restart of a few seconds fails nothing while an endpoint that stays down still
   * fails in bounded time.
   */
  maxRetries: z.number().int().min(0).max(20).default(5),
  retryWindowMs: z.number().int().min(0).max(600_000).default(10_000),
  transport: z.enum(["aws", "minio"]).default("minio"),
  /**
   * "many" (the default): conditional writes must really be enforced; the endpoint is probed once per
   * bucket and a conditional set on an endpoint that ignores If-Match / If-None-Match fails rather
   * than risk lost updates. "one": only one process writes, so conditions are sent as they are and
   * nothing is probed.
   */
  writers: z.enum(["one", "many"]).default("many"),
});

export type S3ConnectionInput = z.input<typeof s3ConnectionSchema>;
export type S3ConnectionConfig = z.output<typeof s3ConnectionSchema>;

/** Bucket naming rules of S3 (and RGW): 3–63 of [a-z0-9.-], starting and ending alphanumeric, not an IP address. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long";
  if (!/^[a-z0-9.-]+$/.test(name)) return "may contain only lowercase letters, digits, dots and hyphens";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return "must start and end with a letter or digit";
  if (name.includes("..")) return "must not contain two adjacent dots";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not be formatted as an IP address";
  return undefined;
}
