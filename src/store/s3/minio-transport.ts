/**
 * S3Transport on the `minio` client. Plain GET/PUT/DELETE go through its signed low-level request
 * so that byte ranges and conditional headers are sent exactly; batch delete, listing and buckets
 * use its API.
 *
 * The client takes no AbortSignal and retries 5xx itself (once, then throws an error without a
 * code). So its own retries are off (request.ts retries), and every call runs inside a request
 * context that the client's HTTP transport reads: it passes the signal to http.request (an abort
 * or timeout really ends the socket), reports the response's arrival as progress, and records the
 * response status for `classify`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
import { Client } from "minio";
import { readBody, uploadBody } from "./body.js";
import {
  type Attempt,
  classifyMinioError,
  type ClassifiedError,
  conditionHeaders,
  copySource,
  type GetRequest,
  type ListPage,
  type ObjectBytes,
  type PutRequest,
  type S3Transport,
  unquoteETag,
  WRITE_ID_HEADER,
} from "./transport.js";
import type { S3ConnectionConfig } from "./config.js";

interface RequestContext {
  attempt: Attempt;
  status?: number;
  /** The answer can carry no body (HEAD, Content-Length 0): an error code the client reports was made up. */
  noBody?: boolean;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** The `transport` the minio client calls http(s).request on, wired to the current request context. */
function contextualTransport(module: typeof http | typeof https): Pick<typeof http, "request"> {
  const request = (options: http.RequestOptions, callback: (response: IncomingMessage) => void): http.ClientRequest => {
    const context = requestContext.getStore();
    return module.request({ ...options, signal: context?.attempt.signal }, (response) => {
      if (context) {
        context.status = response.statusCode;
        context.noBody = options.method === "HEAD" || response.headers["content-length"] === "0";
        context.attempt.progress();
      }
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
  private async call<T>(attempt: Attempt, run: (client: Client) => Promise<T>): Promise<T> {
    const context: RequestContext = { attempt };
    try {
      return await requestContext.run(context, () => run(this.#client));
    } catch (error) {
      if (context.status !== undefined && error !== null && typeof error === "object") {
        Object.assign(error, { httpStatusCode: context.status, responseHadNoBody: context.noBody === true });
      }
      throw error;
    }
  }

  async getObject(bucket: string, key: string, { range, ifMatch, into }: GetRequest, attempt: Attempt): Promise<ObjectBytes> {
    const headers: Record<string, string> = {};
    if (range) headers.range = "suffix" in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end === undefined ? "" : range.end - 1}`;
    if (ifMatch !== undefined) headers["if-match"] = ifMatch;
    return this.call(attempt, async (client) => {
      const response = await client.makeRequestAsync({ method: "GET", bucketName: bucket, objectName: key, headers }, "", [200, 206]);
      const length = response.headers["content-length"];
      const bytes = await readBody(response, length === undefined ? undefined : Number(length), attempt.progress, attempt.signal, into);
      const writeId = response.headers[WRITE_ID_HEADER];
      return { bytes, etag: unquoteETag(response.headers.etag), writeId: typeof writeId === "string" ? writeId : undefined };
    });
  }

  async putObject(bucket: string, key: string, body: Uint8Array, put: PutRequest, attempt: Attempt): Promise<string> {
    const headers: Record<string, string> = { ...conditionHeaders(put.condition), "content-length": String(body.byteLength) };
    if (put.writeId !== undefined) headers[WRITE_ID_HEADER] = put.writeId;
    const response = await this.call(attempt, (client) => {
      // What makeRequestAsync does for a Buffer, with a body that reports its progress instead.
      const sha256 = client.enableSHA256 ? createHash("sha256").update(body).digest("hex") : "";
      const payload = uploadBody(body, attempt.progress);
      return client.makeRequestStreamAsync({ method: "PUT", bucketName: bucket, objectName: key, headers }, payload, sha256, [200], "");
    });
    response.resume();
    return unquoteETag(response.headers.etag);
  }

  async copyObject(sourceBucket: string, sourceKey: string, bucket: string, key: string, attempt: Attempt): Promise<string> {
    const headers = { "x-amz-copy-source": copySource(sourceBucket, sourceKey) };
    return this.call(attempt, async (client) => {
      const response = await client.makeRequestAsync({ method: "PUT", bucketName: bucket, objectName: key, headers }, "", [200]);
      const text = new TextDecoder().decode(await readBody(response, undefined, attempt.progress, attempt.signal));
      // A copy can fail after the 200 status line: the error is then in the body.
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
      if (code) throw Object.assign(new Error(`CopyObject failed: ${code}`), { code });
      return unquoteETag(/<ETag>([^<]*)<\/ETag>/.exec(text)?.[1]?.replace(/&quot;/g, '"'));
    });
  }

  async deleteObject(bucket: string, key: string, ifMatch: string | undefined, attempt: Attempt): Promise<void> {
    const headers: Record<string, string> = ifMatch === undefined ? {} : { "if-match": ifMatch };
    const response = await this.call(attempt, (client) =>
      client.makeRequestAsync({ method: "DELETE", bucketName: bucket, objectName: key, headers }, "", [200, 204]),
    );
    response.resume();
  }

  async deleteObjects(bucket: string, keys: string[], attempt: Attempt): Promise<Array<{ key: string; code: string }>> {
    const results = await this.call(attempt, (client) => client.removeObjects(bucket, keys));
    const failures: Array<{ key: string; code: string }> = [];
    for (const result of results ?? []) {
      const error = result?.Error;
      if (error && error.Code !== "NoSuchKey") failures.push({ key: error.Key ?? "?", code: error.Code ?? "unknown" });
    }
    return failures;
  }

  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, attempt: Attempt): Promise<ListPage> {
    const page = await this.call(attempt, (client) => client.listObjectsV2Query(bucket, prefix, continuation ?? "", delimiter ?? "", 1000, ""));
    const keys: string[] = [];
    const sizes: number[] = [];
    const prefixes: string[] = [];
    for (const item of page.objects) {
      if (item.name) {
        keys.push(item.name);
        sizes.push(item.size ?? 0);
      } else if (item.prefix) prefixes.push(item.prefix);
    }
    return { keys, sizes, prefixes, next: page.isTruncated ? page.nextContinuationToken : undefined };
  }

  async headBucket(bucket: string, attempt: Attempt): Promise<void> {
    if (!(await this.call(attempt, (client) => client.bucketExists(bucket)))) {
      throw Object.assign(new Error("NoSuchBucket"), { code: "NoSuchBucket" });
    }
  }

  async createBucket(bucket: string, attempt: Attempt): Promise<void> {
    await this.call(attempt, (client) => client.makeBucket(bucket));
  }

  async deleteBucket(bucket: string, attempt: Attempt): Promise<void> {
    await this.call(attempt, (client) => client.removeBucket(bucket));
  }

  async listBuckets(attempt: Attempt): Promise<string[]> {
    return (await this.call(attempt, (client) => client.listBuckets())).map((b) => b.name);
  }

  classify(error: unknown): ClassifiedError {
    return classifyMinioError(error);
  }

  close(): void {
    this.agent.destroy();
  }
}
