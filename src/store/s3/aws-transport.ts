/**
 * S3Transport on @aws-sdk/client-s3: path-style addressing and checksums only "when required",
 * the settings Ceph RGW and MinIO need (see shared notes). Retries are dosna's own (retry.ts), so
 * the SDK makes one attempt per call.
 */
import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
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
import { classifyAwsError, type ClassifiedError, type ListPage, type S3Transport, type TransportRange } from "./transport.js";
import type { S3ConnectionConfig } from "./config.js";

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
        requestTimeout: config.timeoutMs,
        httpAgent: new Agent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      },
    });
  }

  async getObject(bucket: string, key: string, range: TransportRange | undefined, signal: AbortSignal): Promise<Uint8Array> {
    const response = await this.client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: range === undefined ? undefined : rangeHeader(range) }),
      { abortSignal: signal },
    );
    if (!response.Body) return new Uint8Array(0);
    return response.Body.transformToByteArray();
  }

  async putObject(bucket: string, key: string, body: Uint8Array, ifNoneMatch: boolean, signal: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.byteLength, IfNoneMatch: ifNoneMatch ? "*" : undefined }),
      { abortSignal: signal },
    );
  }

  async deleteObject(bucket: string, key: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  }

  async deleteObjects(bucket: string, keys: string[], signal: AbortSignal): Promise<Array<{ key: string; code: string }>> {
    const response = await this.client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      { abortSignal: signal },
    );
    return (response.Errors ?? [])
      .filter((e) => e.Code !== "NoSuchKey")
      .map((e) => ({ key: e.Key ?? "?", code: e.Code ?? "unknown" }));
  }

  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, signal: AbortSignal): Promise<ListPage> {
    const response = await this.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: continuation }),
      { abortSignal: signal },
    );
    return {
      keys: (response.Contents ?? []).map((o) => o.Key ?? "").filter((k) => k !== ""),
      prefixes: (response.CommonPrefixes ?? []).map((p) => p.Prefix ?? "").filter((p) => p !== ""),
      next: response.IsTruncated ? response.NextContinuationToken : undefined,
    };
  }

  async headBucket(bucket: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  }

  async createBucket(bucket: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  }

  async deleteBucket(bucket: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new DeleteBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  }

  async listBuckets(signal: AbortSignal): Promise<string[]> {
    const response = await this.client.send(new ListBucketsCommand({}), { abortSignal: signal });
    return (response.Buckets ?? []).map((b) => b.Name ?? "").filter((n) => n !== "");
  }

  classify(error: unknown): ClassifiedError {
    return classifyAwsError(error);
  }

  close(): void {
    this.client.destroy();
  }
}

function rangeHeader(range: TransportRange): string {
  if ("suffix" in range) return `bytes=-${range.suffix}`;
  return range.end === undefined ? `bytes=${range.start}-` : `bytes=${range.start}-${range.end - 1}`;
}
