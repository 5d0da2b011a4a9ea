/**
 * S3Store: the Store contract over an S3 bucket (or a prefix inside one), and S3Backend, where
 * each pool is a bucket ("name") or a prefix in a bucket ("bucket/some/prefix").
 */
import { AlreadyExistsError, NotFoundError, StorageError, ValidationError } from "../../errors.js";
import { validateByteRange } from "../ranges.js";
import { validateDirectoryPrefix, validateKey, validateListPrefix } from "../keys.js";
import type { Backend, ByteRange, DirectoryListing, RequestOptions, SetOptions, Store } from "../store.js";
import { bucketNameProblem, type S3ConnectionConfig } from "./config.js";
import { LazyTransport } from "./lazy-transport.js";
import { ExpectedOutcome, s3Request, type RequestPolicy } from "./request.js";
import type { S3Transport, TransportRange } from "./transport.js";

const DELETE_BATCH = 1000;

/** The configured transport; its client library loads on the first request. */
export function createTransport(config: S3ConnectionConfig): S3Transport {
  return new LazyTransport(config);
}

export function policyOf(config: S3ConnectionConfig): RequestPolicy {
  return { endpoint: config.endpoint, timeoutMs: config.timeoutMs, maxRetries: config.maxRetries };
}

/** Split a pool name into bucket and prefix, validating the bucket name. */
export function parsePoolLocation(name: string): { bucket: string; prefix: string } {
  const slash = name.indexOf("/");
  const bucket = slash < 0 ? name : name.slice(0, slash);
  const prefix = slash < 0 ? "" : name.slice(slash + 1).replace(/\/+$/, "");
  const problem = bucketNameProblem(bucket);
  if (problem) throw new ValidationError(`invalid bucket name ${JSON.stringify(bucket)} in pool "${name}": it ${problem}`);
  if (prefix !== "") validateKey(prefix);
  return { bucket, prefix };
}

export class S3Store implements Store {
  readonly description: string;
  private readonly base: string;

  constructor(
    private readonly transport: S3Transport,
    private readonly policy: RequestPolicy,
    readonly bucket: string,
    readonly prefix = "",
  ) {
    this.base = prefix === "" ? "" : `${prefix}/`;
    this.description = `s3://${bucket}${prefix ? "/" + prefix : ""} at ${policy.endpoint}`;
  }

  async get(key: string, range?: ByteRange, options: RequestOptions = {}): Promise<Uint8Array | undefined> {
    validateKey(key);
    if (range) validateByteRange(range, key);
    const transportRange = toTransportRange(range);
    if (transportRange === "empty") return (await this.get(key, undefined, options)) === undefined ? undefined : new Uint8Array(0);
    try {
      return await s3Request(
        this.transport,
        this.policy,
        `GET ${this.describeKey(key)}`,
        options.signal,
        (signal) => this.transport.getObject(this.bucket, this.base + key, transportRange, signal),
        new Set(["no-such-key", "invalid-range", "no-such-bucket"]),
      );
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (error.classified.kind === "no-such-key") return undefined;
      if (error.classified.kind === "no-such-bucket") throw this.noSuchBucket();
      // 416: the range starts at or past the end (or the object is empty): zero bytes, as the contract says.
      return new Uint8Array(0);
    }
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<void> {
    validateKey(key);
    try {
      await s3Request(
        this.transport,
        this.policy,
        `PUT ${this.describeKey(key)}`,
        options.signal,
        (signal) => this.transport.putObject(this.bucket, this.base + key, value, options.ifNoneMatch ?? false, signal),
        new Set(["precondition-failed", "no-such-bucket"]),
      );
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (error.classified.kind === "no-such-bucket") throw this.noSuchBucket();
      throw new AlreadyExistsError(`key ${JSON.stringify(key)} already exists in ${this.description}`);
    }
  }

  async delete(key: string, options: RequestOptions = {}): Promise<void> {
    validateKey(key);
    await this.mapBucket(() =>
      s3Request(this.transport, this.policy, `DELETE ${this.describeKey(key)}`, options.signal, (signal) =>
        this.transport.deleteObject(this.bucket, this.base + key, signal), new Set(["no-such-bucket"])),
    );
  }

  async deleteMany(keys: string[], options: RequestOptions = {}): Promise<void> {
    keys.forEach(validateKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH).map((k) => this.base + k);
      const failures = await this.mapBucket(() =>
        s3Request(this.transport, this.policy, `DeleteObjects (${batch.length} keys) in ${this.description}`, options.signal, (signal) =>
          this.transport.deleteObjects(this.bucket, batch, signal), new Set(["no-such-bucket"])),
      );
      if (failures.length) {
        const shown = failures.slice(0, 3).map((f) => `${f.key}: ${f.code}`).join(", ");
        throw new StorageError(`could not delete ${failures.length} objects in ${this.description} (${shown})`);
      }
    }
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    validateListPrefix(prefix);
    for await (const page of this.pages(prefix, undefined, options.signal)) {
      for (const key of page.keys) yield key.slice(this.base.length);
    }
  }

  async listDir(prefix: string, options: RequestOptions = {}): Promise<DirectoryListing> {
    validateDirectoryPrefix(prefix);
    const keys: string[] = [];
    const prefixes: string[] = [];
    for await (const page of this.pages(prefix, "/", options.signal)) {
      for (const key of page.keys) keys.push(key.slice(this.base.length));
      for (const p of page.prefixes) prefixes.push(p.slice(this.base.length, -1));
    }
    return { keys: keys.sort(), prefixes: prefixes.sort() };
  }

  private async *pages(prefix: string, delimiter: string | undefined, signal: AbortSignal | undefined) {
    let continuation: string | undefined;
    do {
      const token = continuation;
      const page = await this.mapBucket(() =>
        s3Request(this.transport, this.policy, `LIST ${this.describeKey(prefix)}`, signal, (s) =>
          this.transport.listPage(this.bucket, this.base + prefix, delimiter, token, s), new Set(["no-such-bucket"])),
      );
      yield page;
      continuation = page.next;
    } while (continuation);
  }

  private async mapBucket<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ExpectedOutcome && error.classified.kind === "no-such-bucket") throw this.noSuchBucket();
      throw error;
    }
  }

  private noSuchBucket(): NotFoundError {
    return new NotFoundError(`bucket "${this.bucket}" does not exist at the S3 endpoint ${this.policy.endpoint}`);
  }

  private describeKey(key: string): string {
    return `s3://${this.bucket}/${this.base}${key} at ${this.policy.endpoint}`;
  }
}

export class S3Backend implements Backend {
  readonly description: string;
  private readonly transport: S3Transport;
  private readonly policy: RequestPolicy;

  constructor(config: S3ConnectionConfig) {
    this.transport = createTransport(config);
    this.policy = policyOf(config);
    this.description = `S3 endpoint ${config.endpoint}`;
  }

  get transportName(): S3Transport["name"] {
    return this.transport.name;
  }

  async listPools(options: RequestOptions = {}): Promise<string[]> {
    return s3Request(this.transport, this.policy, `ListBuckets at ${this.policy.endpoint}`, options.signal, (s) => this.transport.listBuckets(s));
  }

  /** A bucket pool exists when the bucket does; a bucket/prefix pool when its root zarr.json does. */
  async hasPool(name: string, options: RequestOptions = {}): Promise<boolean> {
    const { bucket, prefix } = parsePoolLocation(name);
    if (prefix !== "") {
      try {
        return (await this.openPool(name).get("zarr.json", { offset: 0, length: 1 }, options)) !== undefined;
      } catch (error) {
        if (error instanceof NotFoundError) return false;
        throw error;
      }
    }
    try {
      await s3Request(this.transport, this.policy, `HEAD bucket "${bucket}" at ${this.policy.endpoint}`, options.signal, (s) =>
        this.transport.headBucket(bucket, s), new Set(["no-such-key", "no-such-bucket"]));
      return true;
    } catch (error) {
      if (error instanceof ExpectedOutcome) return false;
      throw error;
    }
  }

  /**
   * Create the bucket (RGW and us-east-1 answer 200 to re-creating one's own bucket, so existence is
   * checked first). The atomic guard against two creators is the root zarr.json written with
   * If-None-Match by the Cluster afterwards.
   */
  async createPool(name: string, options: RequestOptions = {}): Promise<void> {
    const { bucket, prefix } = parsePoolLocation(name);
    if (await this.hasPool(name, options)) {
      throw new AlreadyExistsError(`pool "${name}" already exists at the S3 endpoint ${this.policy.endpoint}`);
    }
    if (prefix !== "" && (await this.hasPool(bucket, options))) return;
    try {
      await s3Request(this.transport, this.policy, `CreateBucket "${bucket}" at ${this.policy.endpoint}`, options.signal, (s) =>
        this.transport.createBucket(bucket, s), new Set(["bucket-exists"]));
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (prefix === "") throw new AlreadyExistsError(`bucket "${bucket}" already exists at the S3 endpoint ${this.policy.endpoint}`);
    }
  }

  async deletePool(name: string, options: RequestOptions = {}): Promise<void> {
    const { bucket, prefix } = parsePoolLocation(name);
    if (prefix !== "") return;
    try {
      await s3Request(this.transport, this.policy, `DeleteBucket "${bucket}" at ${this.policy.endpoint}`, options.signal, (s) =>
        this.transport.deleteBucket(bucket, s), new Set(["no-such-bucket"]));
    } catch (error) {
      if (error instanceof ExpectedOutcome) throw new NotFoundError(`bucket "${bucket}" does not exist at the S3 endpoint ${this.policy.endpoint}`);
      throw error;
    }
  }

  openPool(name: string): Store {
    const { bucket, prefix } = parsePoolLocation(name);
    return new S3Store(this.transport, this.policy, bucket, prefix);
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** Ranges in transport form; "empty" for ranges that select nothing (S3 cannot express them). */
function toTransportRange(range: ByteRange | undefined): TransportRange | undefined | "empty" {
  if (range === undefined) return undefined;
  if ("suffixLength" in range) return range.suffixLength === 0 ? "empty" : { suffix: range.suffixLength };
  if (range.length === 0) return "empty";
  return { start: range.offset, end: range.length === undefined ? undefined : range.offset + range.length };
}
