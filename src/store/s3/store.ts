/**
 * S3Store: the Store contract over an S3 bucket (or a prefix inside one), and S3Backend, where
 * each pool is a bucket ("name") or a prefix in a bucket ("bucket/some/prefix").
 *
 * Version tokens are ETags without their quotes. Conditional requests are only trusted where the
 * endpoint enforces them (conditional-probe.ts), unless the cluster says there is one writer.
 */
import { createHash, randomUUID } from "node:crypto";
import { AlreadyExistsError, NotFoundError, PreconditionFailedError, StorageError, ValidationError } from "../../errors.js";
import { throwIfAborted } from "../abort.js";
import { validateByteRange } from "../ranges.js";
import { validateDirectoryPrefix, validateKey, validateListPrefix } from "../keys.js";
import {
  type Backend,
  type ByteRange,
  type ConditionalSupport,
  type DeleteOptions,
  type DirectoryListing,
  type GetOptions,
  type GetVersionedOptions,
  preconditionMessage,
  type RequestOptions,
  type SetOptions,
  staleReadMessage,
  type Store,
  type VersionedBytes,
  type WriteCondition,
  writeConditionOf,
} from "../store.js";
import { bucketNameProblem, type S3ConnectionConfig } from "./config.js";
import { ConditionalProbes, type ProbeResult } from "./conditional-probe.js";
import { LazyTransport } from "./lazy-transport.js";
import { ExpectedOutcome, noSuchBucketError, s3Request, translate, type Expected, type RequestPolicy } from "./request.js";
import type { ObjectBytes, S3Transport, TransportRange } from "./transport.js";

const DELETE_BATCH = 1000;

/** The configured transport; its client library loads on the first request. */
export function createTransport(config: S3ConnectionConfig): S3Transport {
  return new LazyTransport(config);
}

export interface S3StorePolicy extends RequestPolicy {
  /** "many" (default): conditional requests are used only where the endpoint enforces them; "one": sent as they are. */
  writers?: S3ConnectionConfig["writers"];
}

export function policyOf(config: S3ConnectionConfig): S3StorePolicy {
  return {
    endpoint: config.endpoint,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    retryWindowMs: config.retryWindowMs,
    writers: config.writers,
  };
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

  /** `probes`: shared between the stores of one S3Backend, so that each bucket is probed once. */
  /** The endpoint URL (never with credentials). */
  get endpoint(): string {
    return this.policy.endpoint;
  }

  constructor(
    private readonly transport: S3Transport,
    private readonly policy: S3StorePolicy,
    readonly bucket: string,
    readonly prefix = "",
    private readonly probes = new ConditionalProbes(transport, policy),
  ) {
    this.base = prefix === "" ? "" : `${prefix}/`;
    this.description = `s3://${bucket}${prefix ? "/" + prefix : ""} at ${policy.endpoint}`;
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    validateKey(key);
    if (range) validateByteRange(range, key);
    if (options.ifMatch !== undefined) writeConditionOf(key, { ifMatch: options.ifMatch }); // validates the token
    return (await this.read(key, range, options.ifMatch, options.signal, options.into))?.bytes;
  }

  async getVersioned(key: string, options: GetVersionedOptions = {}): Promise<VersionedBytes | undefined> {
    validateKey(key);
    if (options.range) validateByteRange(options.range, key);
    const object = await this.read(key, options.range, undefined, options.signal);
    if (object === undefined) return undefined;
    // Servers send the ETag; without one the version is what S3 would have sent: the MD5 of the whole object.
    const version = object.etag || md5Hex(options.range === undefined ? object.bytes : ((await this.fetch(key, undefined, undefined, options.signal))?.bytes ?? object.bytes));
    return { bytes: object.bytes, version };
  }

  async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    validateKey(key);
    const condition = writeConditionOf(key, options);
    if (condition.kind !== "none") await this.requireConditional("write", key, options.signal);
    // A failed If-Match is 412, or 409 when it raced another write (AWS), or 404 from servers that say the version is missing.
    const expected: Expected = new Set([
      "no-such-bucket",
      ...(condition.kind === "none" ? [] : (["precondition-failed"] as const)),
      ...(condition.kind === "version" ? (["no-such-key"] as const) : []),
    ]);
    const writeId = condition.kind === "none" ? undefined : randomUUID();
    try {
      const etag = await s3Request(
        this.transport,
        this.policy,
        `PUT ${this.describeKey(key)}`,
        options.signal,
        (attempt) => this.transport.putObject(this.bucket, this.base + key, value, { condition, writeId }, attempt),
        expected,
      );
      return etag || md5Hex(value);
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (error.classified.kind === "no-such-bucket") throw this.noSuchBucket();
      // An earlier attempt may have stored the value with its answer lost (timeout, reset; RGW
      // also answers 500 to racing conditional writes): then this attempt's condition fails
      // against our own write, which is a success, not a conflict. The write id tells them apart.
      if (error.attempts > 1) {
        const current = await this.fetch(key, undefined, undefined, options.signal);
        if (current !== undefined && current.writeId === writeId) return current.etag || md5Hex(current.bytes);
      }
      throw new PreconditionFailedError(preconditionMessage(key, condition, this.description));
    }
  }

  async copyFrom(source: Store, sourceKey: string, key: string, options: RequestOptions = {}): Promise<boolean> {
    if (!(source instanceof S3Store) || source.policy.endpoint !== this.policy.endpoint) return false;
    validateKey(sourceKey);
    validateKey(key);
    await s3Request(this.transport, this.policy, `CopyObject ${source.describeKey(sourceKey)} to ${this.describeKey(key)}`, options.signal, (attempt) =>
      this.transport.copyObject(source.bucket, source.base + sourceKey, this.bucket, this.base + key, attempt),
    );
    return true;
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    validateKey(key);
    if (options.ifMatch !== undefined) {
      writeConditionOf(key, { ifMatch: options.ifMatch }); // validates the token
      return this.deleteIfMatch(key, options.ifMatch, options.signal);
    }
    await this.mapBucket(() =>
      s3Request(this.transport, this.policy, `DELETE ${this.describeKey(key)}`, options.signal, (attempt) =>
        this.transport.deleteObject(this.bucket, this.base + key, undefined, attempt), new Set(["no-such-bucket"])),
    );
  }

  /**
   * What the endpoint enforces, probed once per bucket. With writers: "one" nothing is probed and
   * both are reported as usable: the cluster has been told that no other process writes.
   */
  async conditionalSupport(options: RequestOptions = {}): Promise<ConditionalSupport> {
    if (this.policy.writers === "one") return { write: true, delete: true };
    const { write, delete: conditionalDelete } = await this.probes.of(this.bucket, this.base, options.signal);
    return { write, delete: conditionalDelete };
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

  /** Every key under `prefix` with its object's size, from the same LIST pages (no request per object). */
  async *listWithSizes(prefix: string, options: RequestOptions = {}): AsyncIterable<{ key: string; size: number }> {
    validateListPrefix(prefix);
    for await (const page of this.pages(prefix, undefined, options.signal)) {
      for (const [i, key] of page.keys.entries()) yield { key: key.slice(this.base.length), size: page.sizes[i] ?? 0 };
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

  private async deleteIfMatch(key: string, version: string, signal: AbortSignal | undefined): Promise<void> {
    const condition: WriteCondition = { kind: "version", version };
    await this.requireConditional("delete", key, signal);
    try {
      await s3Request(
        this.transport,
        this.policy,
        `DELETE ${this.describeKey(key)}`,
        signal,
        (attempt) => this.transport.deleteObject(this.bucket, this.base + key, version, attempt),
        new Set(["no-such-bucket", "precondition-failed", "no-such-key"]),
      );
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (error.classified.kind === "no-such-bucket") throw this.noSuchBucket();
      // As for set: after a lost answer the object being gone may be our own delete's doing.
      if (error.attempts > 1 && (await this.fetch(key, { start: 0, end: 1 }, undefined, signal)) === undefined) return;
      throw new PreconditionFailedError(preconditionMessage(key, condition, this.description, "delete"));
    }
  }

  /** Fails, before anything is sent, when the endpoint would ignore the condition of this request. */
  private async requireConditional(what: "write" | "delete", key: string, signal: AbortSignal | undefined): Promise<void> {
    const operation = what === "write" ? "set" : "delete";
    const description = `conditional ${operation} of key ${JSON.stringify(key)} in ${this.description}`;
    throwIfAborted(signal, description);
    if (this.policy.writers === "one") return;
    const probe = await this.probes.of(this.bucket, this.base, signal, description);
    if (what === "write" ? !probe.write : !probe.delete) throw this.conditionsIgnored(operation, key, probe);
  }

  private conditionsIgnored(operation: "set" | "delete", key: string, probe: ProbeResult): StorageError {
    const ignored = probe.ignored.filter((what) => (operation === "set" ? what.endsWith("PUT") : what.endsWith("DELETE")));
    const consequence =
      operation === "set"
        ? "so several writers could lose each other's updates"
        : "it would delete the object whatever its version, so the key was not deleted";
    return new StorageError(
      `conditional ${operation} of key ${JSON.stringify(key)} in ${this.description} refused: the S3 endpoint ${this.policy.endpoint} ` +
        `ignores ${ignored.join(" and ")} (a probe request with a wrong condition was carried out), ${consequence}; ` +
        `if only one process writes to this cluster, the cluster option writers: "one" accepts that risk and sends conditions as they are`,
    );
  }

  /** The object or a range of it, with the whole object's ETag; `ifMatch`: only at that version. */
  private async read(key: string, range: ByteRange | undefined, ifMatch: string | undefined, signal: AbortSignal | undefined, into?: (length: number) => Uint8Array): Promise<ObjectBytes | undefined> {
    const transportRange = toTransportRange(range);
    // S3 cannot ask for zero bytes: one byte says whether (and at which version) the object exists.
    if (transportRange === "empty") {
      const object = await this.fetch(key, { start: 0, end: 1 }, ifMatch, signal);
      return object && { ...object, bytes: new Uint8Array(0) };
    }
    return this.fetch(key, transportRange, ifMatch, signal, into);
  }

  /**
   * One GET: the object (or its range) with its ETag, or undefined when it does not exist. With
   * `ifMatch` the server is asked for that version (If-Match) and the answer's ETag is checked as
   * well, for servers that ignore the header: PreconditionFailedError if it changed or is gone.
   */
  private async fetch(key: string, range: TransportRange | undefined, ifMatch: string | undefined, signal: AbortSignal | undefined, into?: (length: number) => Uint8Array): Promise<ObjectBytes | undefined> {
    const stale = () => new PreconditionFailedError(staleReadMessage(key, ifMatch ?? "", this.description));
    let object: ObjectBytes | undefined;
    try {
      object = await s3Request(
        this.transport,
        this.policy,
        `GET ${this.describeKey(key)}`,
        signal,
        (attempt) => this.transport.getObject(this.bucket, this.base + key, { range, ifMatch, into }, attempt),
        new Set(["no-such-key", "invalid-range", "no-such-bucket", ...(ifMatch === undefined ? [] : (["precondition-failed"] as const))]),
      );
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (error.classified.kind === "no-such-bucket") throw this.noSuchBucket();
      if (error.classified.kind === "precondition-failed" || (error.classified.kind === "no-such-key" && ifMatch !== undefined)) throw stale();
      if (error.classified.kind === "no-such-key") return undefined;
      // 416: the range starts at or past the end, or the object is empty: zero bytes, as the contract
      // says, with the version of the object (fetched as its first byte, or whole when it is empty).
      const probe: TransportRange | undefined = range !== undefined && !("suffix" in range) && range.start > 0 ? { start: 0, end: 1 } : undefined;
      const whole = await this.fetch(key, probe, ifMatch, signal);
      return whole && { ...whole, bytes: new Uint8Array(0) };
    }
    if (ifMatch !== undefined && object.etag !== "" && object.etag !== ifMatch) throw stale();
    return object;
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
    return noSuchBucketError(this.bucket, this.policy.endpoint);
  }

  private describeKey(key: string): string {
    return `s3://${this.bucket}/${this.base}${key} at ${this.policy.endpoint}`;
  }
}

export class S3Backend implements Backend {
  readonly description: string;
  private readonly transport: S3Transport;
  private readonly policy: S3StorePolicy;
  private readonly probes: ConditionalProbes;

  constructor(config: S3ConnectionConfig) {
    this.transport = createTransport(config);
    this.policy = policyOf(config);
    this.probes = new ConditionalProbes(this.transport, this.policy);
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
    const what = `HEAD bucket "${bucket}" at ${this.policy.endpoint}`;
    try {
      await s3Request(this.transport, this.policy, what, options.signal, (s) =>
        this.transport.headBucket(bucket, s), new Set(["no-such-key", "no-such-bucket", "forbidden"]));
      return true;
    } catch (error) {
      if (!(error instanceof ExpectedOutcome)) throw error;
      if (error.classified.kind === "forbidden") throw await this.whyForbidden(bucket, what, error, options.signal);
      return false;
    }
  }

  /**
   * A 403 to HEAD has no body, so it cannot say whether the credentials or a policy refused it.
   * A LIST of the bucket needs the same permission (s3:ListBucket) and its answer has a code: its
   * error is the one to report. Only if the LIST is allowed does the HEAD's own 403 stand.
   */
  private async whyForbidden(bucket: string, what: string, head: ExpectedOutcome, signal: AbortSignal | undefined): Promise<Error> {
    try {
      await s3Request(this.transport, this.policy, `LIST s3://${bucket}/ at ${this.policy.endpoint} (after a 403 to ${what})`, signal, (s) =>
        this.transport.listPage(bucket, "", undefined, undefined, s));
    } catch (error) {
      return error as Error;
    }
    return translate(head.classified, what, this.policy);
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
      if (error instanceof ExpectedOutcome) throw noSuchBucketError(bucket, this.policy.endpoint);
      throw error;
    }
  }

  openPool(name: string): Store {
    const { bucket, prefix } = parsePoolLocation(name);
    return new S3Store(this.transport, this.policy, bucket, prefix, this.probes);
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** The version of an object whose server sent no ETag: what S3 would have sent for a single-part upload. */
function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** Ranges in transport form; "empty" for ranges that select nothing (S3 cannot express them). */
function toTransportRange(range: ByteRange | undefined): TransportRange | undefined | "empty" {
  if (range === undefined) return undefined;
  if ("suffixLength" in range) return range.suffixLength === 0 ? "empty" : { suffix: range.suffixLength };
  if (range.length === 0) return "empty";
  return { start: range.offset, end: range.length === undefined ? undefined : range.offset + range.length };
}
