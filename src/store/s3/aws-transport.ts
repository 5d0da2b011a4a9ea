/**
 * S3Transport on @aws-sdk/client-s3: path-style addressing and checksums only "when required",
 * the settings Ceph RGW and MinIO need (see shared notes). Retries are dosna's own (request.ts), so
 * the SDK makes one attempt per call. Its socketTimeout (idle) guards each socket; request.ts's
 * idle timeout guards the whole attempt, fed by the progress this transport reports.
 */
import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { readBody, uploadBody } from "./body.js";
import {
  type Attempt,
  classifyAwsError,
  type ClassifiedError,
  copySource,
  type GetRequest,
  type ListPage,
  type ObjectBytes,
  type PutRequest,
  type S3Transport,
  type TransportRange,
  unquoteETag,
  WRITE_ID_METADATA,
} from "./transport.js";
import type { S3ConnectionConfig } from "./config.js";

/** The one middleware-stack call withProgress makes, typed loosely (the SDK types each command's stack apart). */
interface DeserializeStack {
  add(
    middleware: (next: (args: { request: unknown }) => Promise<unknown>) => (args: { request: unknown }) => Promise<unknown>,
    options: { step: "deserialize"; name: string },
  ): void;
}

export class AwsTransport implements S3Transport {
  readonly name = "aws" as const;
  private readonly client: S3Client;

  constructor(config: S3ConnectionConfig) {
    const agentOptions = { keepAlive: true, maxSockets: 256 };
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: config.timeoutMs,
        // Not requestTimeout: in this SDK it is a whole-request deadline that only logs a warning.
        socketTimeout: config.timeoutMs,
        httpAgent: new Agent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      },
    });
  }

  async getObject(bucket: string, key: string, { range, ifMatch, into }: GetRequest, attempt: Attempt): Promise<ObjectBytes> {
    const response = await this.client.send(
      withProgress(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range === undefined ? undefined : rangeHeader(range), IfMatch: ifMatch }), attempt),
      { abortSignal: attempt.signal },
    );
    const etag = unquoteETag(response.ETag);
    const writeId = response.Metadata?.[WRITE_ID_METADATA];
    if (!response.Body) return { bytes: new Uint8Array(0), etag, writeId };
    // Read here rather than with transformToByteArray, so that every chunk restarts the idle timeout.
    const body = response.Body as unknown as AsyncIterable<Uint8Array> & { destroy?: (error?: Error) => void };
    return { bytes: await readBody(body, response.ContentLength, attempt.progress, attempt.signal, into), etag, writeId };
  }

  async putObject(bucket: string, key: string, body: Uint8Array, { condition, writeId }: PutRequest, attempt: Attempt): Promise<string> {
    const response = await this.client.send(
      withProgress(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          IfNoneMatch: condition.kind === "absent" ? "*" : undefined,
          // Unquoted: see conditionHeaders in transport.ts.
          IfMatch: condition.kind === "version" ? condition.version : undefined,
          Metadata: writeId === undefined ? undefined : { [WRITE_ID_METADATA]: writeId },
        }),
        attempt,
      ),
      { abortSignal: attempt.signal },
    );
    return unquoteETag(response.ETag);
  }

  async copyObject(sourceBucket: string, sourceKey: string, bucket: string, key: string, attempt: Attempt): Promise<string> {
    const response = await this.client.send(
      withProgress(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: copySource(sourceBucket, sourceKey).slice(1) }), attempt),
      { abortSignal: attempt.signal },
    );
    return unquoteETag(response.CopyObjectResult?.ETag);
  }

  async deleteObject(bucket: string, key: string, ifMatch: string | undefined, attempt: Attempt): Promise<void> {
    await this.client.send(withProgress(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: ifMatch }), attempt), { abortSignal: attempt.signal });
  }

  async deleteObjects(bucket: string, keys: string[], attempt: Attempt): Promise<Array<{ key: string; code: string }>> {
    const response = await this.client.send(
      withProgress(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }), attempt),
      { abortSignal: attempt.signal },
    );
    return (response.Errors ?? [])
      .filter((e) => e.Code !== "NoSuchKey")
      .map((e) => ({ key: e.Key ?? "?", code: e.Code ?? "unknown" }));
  }

  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, attempt: Attempt): Promise<ListPage> {
    const response = await this.client.send(
      withProgress(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: continuation }), attempt),
      { abortSignal: attempt.signal },
    );
    const objects = (response.Contents ?? []).filter((o) => (o.Key ?? "") !== "");
    return {
      keys: objects.map((o) => o.Key!),
      sizes: objects.map((o) => o.Size ?? 0),
      prefixes: (response.CommonPrefixes ?? []).map((p) => p.Prefix ?? "").filter((p) => p !== ""),
      next: response.IsTruncated ? response.NextContinuationToken : undefined,
    };
  }

  async headBucket(bucket: string, attempt: Attempt): Promise<void> {
    await this.client.send(withProgress(new HeadBucketCommand({ Bucket: bucket }), attempt), { abortSignal: attempt.signal });
  }

  async createBucket(bucket: string, attempt: Attempt): Promise<void> {
    await this.client.send(withProgress(new CreateBucketCommand({ Bucket: bucket }), attempt), { abortSignal: attempt.signal });
  }

  async deleteBucket(bucket: string, attempt: Attempt): Promise<void> {
    await this.client.send(withProgress(new DeleteBucketCommand({ Bucket: bucket }), attempt), { abortSignal: attempt.signal });
  }

  async listBuckets(attempt: Attempt): Promise<string[]> {
    const response = await this.client.send(withProgress(new ListBucketsCommand({}), attempt), { abortSignal: attempt.signal });
    return (response.Buckets ?? []).map((b) => b.Name ?? "").filter((n) => n !== "");
  }

  classify(error: unknown): ClassifiedError {
    return classifyAwsError(error);
  }

  close(): void {
    this.client.destroy();
  }
}

/**
 * `command`, reporting progress to `attempt`: its request body (after signing, which hashed the
 * whole buffer) goes out as a stream of slices, and the arrival of the response counts as progress.
 */
function withProgress<C extends { middlewareStack: object }>(command: C, attempt: Attempt): C {
  (command.middlewareStack as DeserializeStack).add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown };
      if (request.body instanceof Uint8Array) request.body = uploadBody(request.body, attempt.progress);
      const result = await next(args);
      attempt.progress();
      return result;
    },
    { step: "deserialize", name: "dosnaProgress" },
  );
  return command;
}

function rangeHeader(range: TransportRange): string {
  if ("suffix" in range) return `bytes=-${range.suffix}`;
  return range.end === undefined ? `bytes=${range.start}-` : `bytes=${range.start}-${range.end - 1}`;
}
