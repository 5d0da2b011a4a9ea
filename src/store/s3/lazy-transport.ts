/**
 * Loads a transport's client library on first use, so that programs that never touch S3 do not
 * pay for importing @aws-sdk/client-s3 or minio (~40 MiB of RSS and a noticeable start-up time).
 */
import type { S3ConnectionConfig } from "./config.js";
import type { ClassifiedError, ListPage, S3Transport, TransportRange } from "./transport.js";
import { classifyAwsError, classifyMinioError } from "./transport.js";

export class LazyTransport implements S3Transport {
  readonly name: S3Transport["name"];
  #loaded: S3Transport | undefined;
  #loading: Promise<S3Transport> | undefined;
  readonly #config: S3ConnectionConfig;

  constructor(config: S3ConnectionConfig) {
    this.name = config.transport;
    this.#config = config;
  }

  #transport(): Promise<S3Transport> {
    this.#loading ??= (async () => {
      const transport =
        this.name === "minio"
          ? new (await import("./minio-transport.js")).MinioTransport(this.#config)
          : new (await import("./aws-transport.js")).AwsTransport(this.#config);
      this.#loaded = transport;
      return transport;
    })();
    return this.#loading;
  }

  async getObject(bucket: string, key: string, range: TransportRange | undefined, signal: AbortSignal): Promise<Uint8Array> {
    return (this.#loaded ?? (await this.#transport())).getObject(bucket, key, range, signal);
  }
  async putObject(bucket: string, key: string, body: Uint8Array, ifNoneMatch: boolean, signal: AbortSignal): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).putObject(bucket, key, body, ifNoneMatch, signal);
  }
  async deleteObject(bucket: string, key: string, signal: AbortSignal): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).deleteObject(bucket, key, signal);
  }
  async deleteObjects(bucket: string, keys: string[], signal: AbortSignal): Promise<Array<{ key: string; code: string }>> {
    return (this.#loaded ?? (await this.#transport())).deleteObjects(bucket, keys, signal);
  }
  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, signal: AbortSignal): Promise<ListPage> {
    return (this.#loaded ?? (await this.#transport())).listPage(bucket, prefix, delimiter, continuation, signal);
  }
  async headBucket(bucket: string, signal: AbortSignal): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).headBucket(bucket, signal);
  }
  async createBucket(bucket: string, signal: AbortSignal): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).createBucket(bucket, signal);
  }
  async deleteBucket(bucket: string, signal: AbortSignal): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).deleteBucket(bucket, signal);
  }
  async listBuckets(signal: AbortSignal): Promise<string[]> {
    return (this.#loaded ?? (await this.#transport())).listBuckets(signal);
  }
  classify(error: unknown): ClassifiedError {
    return this.name === "minio" ? classifyMinioError(error) : classifyAwsError(error);
  }
  close(): void {
    this.#loaded?.close();
  }
}
