/**
 * S3Transport on the `minio` client. Plain GET/PUT go through its signed low-level request so that
 * byte ranges and If-None-Match are sent exactly; batch delete, listing and buckets use its API.
 *
 * The client takes no AbortSignal and retries 5xx itself (once, then throws an error without a
 * code). So its own retries are off (request.ts retries), and every call runs inside a request
 * context that the client's HTTP transport reads: it passes the signal to http.request (an abort
 * or timeout really ends the socket) and records the response status for `classify`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as http from "node:http";
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
import { Client } from "minio";
import { classifyMinioError, type ClassifiedError, type ListPage, type S3Transport, type TransportRange } from "./transport.js";
import type { S3ConnectionConfig } from "./config.js";

interface RequestContext {
  signal: AbortSignal;
  status?: number;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** The `transport` the minio client calls http(s).request on, wired to the current request context. */
function contextualTransport(module: typeof http | typeof https): Pick<typeof http, "request"> {
  const request = (options: http.RequestOptions, callback: (response: IncomingMessage) => void): http.ClientRequest => {
    const context = requestContext.getStore();
    return module.request({ ...options, signal: context?.signal }, (response) => {
      if (context) context.status = response.statusCode;
      callback(response);
    });
  };
  // The client only ever calls request(options, callback), not the other overloads.
  return { request: request as typeof http.request };
}

export class MinioTransport implements S3Transport {
  readonly name = "minio" as const;
  // A #private field: util.inspect of a store or pool must not show the client (it holds the secret).
  readonly #client: Client;
  private readonly agent: http.Agent;

  constructor(config: S3ConnectionConfig) {
    const url = new URL(config.endpoint);
    const useSSL = url.protocol === "https:";
    this.agent = useSSL ? new https.Agent({ keepAlive: true, maxSockets: 256 }) : new http.Agent({ keepAlive: true, maxSockets: 256 });
    this.#client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: config.accessKeyId,
      secretKey: config.secretAccessKey,
      region: config.region,
      pathStyle: config.forcePathStyle,
      transportAgent: this.agent,
      transport: contextualTransport(useSSL ? https : http),
      retryOptions: { disableRetry: true },
    });
  }

  /** Run one client call inside a request context; its errors carry the HTTP status, if any. */
  private async call<T>(signal: AbortSignal, run: (client: Client) => Promise<T>): Promise<T> {
    const context: RequestContext = { signal };
    try {
      return await requestContext.run(context, () => run(this.#client));
    } catch (error) {
      if (context.status !== undefined && error !== null && typeof error === "object") {
        Object.assign(error, { httpStatusCode: context.status });
      }
      throw error;
    }
  }

  async getObject(bucket: string, key: string, range: TransportRange | undefined, signal: AbortSignal): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    if (range) headers.range = "suffix" in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end === undefined ? "" : range.end - 1}`;
    return this.call(signal, async (client) =>
      readBody(await client.makeRequestAsync({ method: "GET", bucketName: bucket, objectName: key, headers }, "", [200, 206])),
    );
  }

  async putObject(bucket: string, key: string, body: Uint8Array, ifNoneMatch: boolean, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {};
    if (ifNoneMatch) headers["if-none-match"] = "*";
    const payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const response = await this.call(signal, (client) =>
      client.makeRequestAsync({ method: "PUT", bucketName: bucket, objectName: key, headers }, payload, [200]),
    );
    response.resume();
  }

  async deleteObject(bucket: string, key: string, signal: AbortSignal): Promise<void> {
    await this.call(signal, (client) => client.removeObject(bucket, key));
  }

  async deleteObjects(bucket: string, keys: string[], signal: AbortSignal): Promise<Array<{ key: string; code: string }>> {
    const results = await this.call(signal, (client) => client.removeObjects(bucket, keys));
    const failures: Array<{ key: string; code: string }> = [];
    for (const result of results ?? []) {
      const error = result?.Error;
      if (error && error.Code !== "NoSuchKey") failures.push({ key: error.Key ?? "?", code: error.Code ?? "unknown" });
    }
    return failures;
  }

  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, signal: AbortSignal): Promise<ListPage> {
    const page = await this.call(signal, (client) => client.listObjectsV2Query(bucket, prefix, continuation ?? "", delimiter ?? "", 1000, ""));
    const keys: string[] = [];
    const prefixes: string[] = [];
    for (const item of page.objects) {
      if (item.name) keys.push(item.name);
      else if (item.prefix) prefixes.push(item.prefix);
    }
    return { keys, prefixes, next: page.isTruncated ? page.nextContinuationToken : undefined };
  }

  async headBucket(bucket: string, signal: AbortSignal): Promise<void> {
    if (!(await this.call(signal, (client) => client.bucketExists(bucket)))) {
      throw Object.assign(new Error("NoSuchBucket"), { code: "NoSuchBucket" });
    }
  }

  async createBucket(bucket: string, signal: AbortSignal): Promise<void> {
    await this.call(signal, (client) => client.makeBucket(bucket));
  }

  async deleteBucket(bucket: string, signal: AbortSignal): Promise<void> {
    await this.call(signal, (client) => client.removeBucket(bucket));
  }

  async listBuckets(signal: AbortSignal): Promise<string[]> {
    return (await this.call(signal, (client) => client.listBuckets())).map((b) => b.name);
  }

  classify(error: unknown): ClassifiedError {
    return classifyMinioError(error);
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
