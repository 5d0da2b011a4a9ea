/**
 * Loads a transport's client library on first use, so that programs that never touch S3 do not
 * pay for importing @aws-sdk/client-s3 or minio (~40 MiB of RSS and a noticeable start-up time).
 */
import type { S3ConnectionConfig } from "./config.js";
import type { Attempt, ClassifiedError, GetRequest, ListPage, ObjectBytes, PutRequest, S3Transport } from "./transport.js";
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

  async getObject(bucket: string, key: string, get: GetRequest, attempt: Attempt): Promise<ObjectBytes> {
    return (this.#loaded ?? (await this.#transport())).getObject(bucket, key, get, attempt);
  }
  async putObject(bucket: string, key: string, body: Uint8Array, put: PutRequest, attempt: Attempt): Promise<string> {
    return (this.#loaded ?? (await this.#transport())).putObject(bucket, key, body, put, attempt);
  }
  async copyObject(sourceBucket: string, sourceKey: string, bucket: string, key: string, attempt: Attempt): Promise<string> {
    return (this.#loaded ?? (await this.#transport())).copyObject(sourceBucket, sourceKey, bucket, key, attempt);
  }
  async deleteObject(bucket: string, key: string, ifMatch: string | undefined, attempt: Attempt): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).deleteObject(bucket, key, ifMatch, attempt);
  }
  async deleteObjects(bucket: string, keys: string[], attempt: Attempt): Promise<Array<{ key: string; code: string }>> {
    return (this.#loaded ?? (await this.#transport())).deleteObjects(bucket, keys, attempt);
  }
  async listPage(bucket: string, prefix: string, delimiter: string | undefined, continuation: string | undefined, attempt: Attempt): Promise<ListPage> {
    return (this.#loaded ?? (await this.#transport())).listPage(bucket, prefix, delimiter, continuation, attempt);
  }
  async headBucket(bucket: string, attempt: Attempt): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).headBucket(bucket, attempt);
  }
  async createBucket(bucket: string, attempt: Attempt): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).createBucket(bucket, attempt);
  }
  async deleteBucket(bucket: string, attempt: Attempt): Promise<void> {
    return (this.#loaded ?? (await this.#transport())).deleteBucket(bucket, attempt);
  }
  async listBuckets(attempt: Attempt): Promise<string[]> {
    return (this.#loaded ?? (await this.#transport())).listBuckets(attempt);
  }
  classify(error: unknown): ClassifiedError {
    return this.name === "minio" ? classifyMinioError(error) : classifyAwsError(error);
  }
  close(): void {
    this.#loaded?.close();
  }
}
