/**
 * S3Transport on the `minio` client. Plain GET/PUT go through its signed low-level request so that
 * byte ranges and If-None-Match are sent exactly; batch delete, listing and buckets use its API.
 * The client cannot cancel a request: request.ts settles the promise on abort/timeout regardless.
 */
import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { IncomingMessage } from "node:http";
import { Client } from "minio";
import { classifyCode, socketCode, type ClassifiedError, type ListPage, type S3Transport, type TransportRange } from "./transport.js";
import type { S3ConnectionConfig } from "./config.js";

export class MinioTransport implements S3Transport {
  readonly name = "minio" as const;
  private readonly client: Client;
  private readonly agent: Agent;

  constructor(config: S3ConnectionConfig) {
    const url = new URL(config.endpoint);
    const useSSL = url.protocol === "https:";
    this.agent = useSSL ? new HttpsAgent({ keepAlive: true, maxSockets: 256 }) : new Agent({ keepAlive: true, maxSockets: 256 });
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: config.accessKeyId,
      secretKey: config.secretAccessKey,
      region: config.region,
      pathStyle: config.forcePathStyle,
      transportAgent: this.agent,
    });
  }

  async getObject(bucket: string, key: string, range: TransportRange | undefined, _signal: AbortSignal): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    if (range) headers.range = "suffix" in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end === undefined ? "" : range.end - 1}`;
    const response = await this.client.makeRequestAsync({ method: "GET", bucketName: bucket, objectName: key, headers }, "", [200, 206]);
    return readBody(response);
  }

  async putObject(bucket: string, key: string, body: Uint8Array, ifNoneMatch: boolean, _signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {};
    if (ifNoneMatch) headers["if-none-match"] = "*";
    const payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const response = await this.client.makeRequestAsync({ method: "PUT", bucketName: bucket, objectName: key, headers }, payload, [200]);
    response.resume();
  }

  async deleteObject(bucket: string, key: string, _signal: AbortSignal): Promise<void> {
    await this.client.removeObject(bucket, key);
  }

  async deleteObjects(bucket: string, keys: string[], _signal: AbortSignal): Promise<Array<{ key: string; code: string }>> {
    const results = await this.client.removeObjects(bucket, keys);
    const failures: Array<{ key: string; code: string }> = [];
    for (const result of results ?? []) {
      const error = result?.Error;
      if (error && error.Code !== "NoSuchKey") failures.push({ key: error.Key ?? "?", code: error.Code ?? "unknown" });
    }
    return failures;
  }

  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, _signal: AbortSignal): Promise<ListPage> {
    const page = await this.client.listObjectsV2Query(bucket, prefix, continuation ?? "", delimiter ?? "", 1000, "");
    const keys: string[] = [];
    const prefixes: string[] = [];
    for (const item of page.objects) {
      if (item.name) keys.push(item.name);
      else if (item.prefix) prefixes.push(item.prefix);
    }
    return { keys, prefixes, next: page.isTruncated ? page.nextContinuationToken : undefined };
  }

  async headBucket(bucket: string, _signal: AbortSignal): Promise<void> {
    if (!(await this.client.bucketExists(bucket))) throw Object.assign(new Error("NoSuchBucket"), { code: "NoSuchBucket" });
  }

  async createBucket(bucket: string, _signal: AbortSignal): Promise<void> {
    await this.client.makeBucket(bucket);
  }

  async deleteBucket(bucket: string, _signal: AbortSignal): Promise<void> {
    await this.client.removeBucket(bucket);
  }

  async listBuckets(_signal: AbortSignal): Promise<string[]> {
    return (await this.client.listBuckets()).map((b) => b.name);
  }

  classify(error: unknown): ClassifiedError {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === "string" && !/^[A-Z_]+$/.test(code)) return classifyCode(code, undefined);
    return classifyCode(socketCode(error) ?? (typeof code === "string" ? code : "UnknownError"), undefined);
  }

  close(): void {
    this.agent.destroy();
  }
}

async function readBody(response: IncomingMessage): Promise<Uint8Array> {
  const length = Number(response.headers["content-length"]);
  if (Number.isSafeInteger(length) && length >= 0) {
    const out = new Uint8Array(length);
    let offset = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (offset + chunk.length > length) return Buffer.concat([out.subarray(0, offset), chunk]);
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return offset === length ? out : out.subarray(0, offset);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
