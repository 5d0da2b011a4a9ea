/**
 * Icechunk (`@earthmover/icechunk` 2.2.x) for the versioning benchmark: loading it, and an Icechunk
 * Storage on an S3 endpoint (the local Ceph RGW) through `Storage.newCustom` over the AWS SDK.
 *
 * Only the wasm32-wasi build loads on this machine (the native linux-x64 one needs glibc ≥ 2.38), and
 * that build has no S3 or local-filesystem storage of its own: in memory, or custom callbacks. Each
 * callback is called NAPI-style as `(err, args)`; a callback error whose message contains
 * "ObjectNotFound" is read by Icechunk as a missing object. Conditional PUTs send `If-Match` with the
 * unquoted ETag (the RGW answers 412 to the quoted form) or `If-None-Match: *`, and a 412 is reported
 * as `{ kind: "not_on_latest_version" }`.
 *
 * The package is typed here by the few members the benchmark uses, so that bench/ compiles (and the
 * Icechunk cases skip with the reason) when it is not installed or does not load.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";

export interface IcechunkStore {
  get(key: string): Promise<Uint8Array | null | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
}

export interface IcechunkSession {
  readonly store: IcechunkStore;
  commit(message: string): Promise<string>;
}

export interface IcechunkSnapshotInfo {
  id: string;
  parentId?: string;
  message: string;
}

export interface IcechunkDiff {
  updatedChunks: Record<string, number[][]>;
  [other: string]: unknown;
}

export interface IcechunkRepository {
  writableSession(branch: string): Promise<IcechunkSession>;
  readonlySession(options?: { branch?: string; tag?: string; snapshotId?: string }): Promise<IcechunkSession>;
  ancestry(options: { branch?: string; snapshotId?: string }): Promise<IcechunkSnapshotInfo[]>;
  diff(options: { fromSnapshotId?: string; toSnapshotId?: string }): Promise<IcechunkDiff>;
}

type Callback<A, R> = (err: unknown, args: A) => Promise<R>;

export interface IcechunkModule {
  Storage: {
    newInMemory(): Promise<unknown>;
    newCustom(backend: Record<string, Callback<never, unknown>>): unknown;
  };
  Repository: { create(storage: unknown): Promise<IcechunkRepository>; open(storage: unknown): Promise<IcechunkRepository> };
}

/** The Icechunk module, or why it cannot be used here. */
export async function loadIcechunk(): Promise<{ module: IcechunkModule } | { reason: string }> {
  // A variable specifier: this file compiles without the package.
  const name = "@earthmover/icechunk";
  try {
    const module = (await import(name)) as IcechunkModule & { default?: IcechunkModule };
    const api = module.Storage ? module : module.default!;
    // The wasm build can load and still fail at its first call: make one.
    await api.Repository.create(await api.Storage.newInMemory());
    return { module: api };
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return { reason: `@earthmover/icechunk does not load: ${message}${cause ? ` (${cause})` : ""}` };
  }
}

export interface S3Settings {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** An AWS SDK client with the settings Ceph RGW needs (path style, checksums only when required). */
export function s3Client(s3: S3Settings): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

const unquote = (etag: string | undefined) => etag?.replace(/^"(.*)"$/, "$1");
const status = (error: unknown) => (error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined);

function notFoundAware(path: string, error: unknown): never {
  const code = status(error);
  const name = (error as { name?: string }).name;
  if (code === 404 || name === "NoSuchKey" || name === "NotFound") throw new Error(`ObjectNotFound: ${path}`);
  throw error;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const part of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** An Icechunk Storage on `bucket`/`prefix` of an S3 endpoint, every call through `client`. */
export function icechunkS3Storage(ic: IcechunkModule, client: S3Client, bucket: string, prefix: string): unknown {
  const key = (path: string) => `${prefix}/${path}`;
  const backend = {
    canWrite: async () => true,
    getObjectRange: async (_err: unknown, { path, rangeStart, rangeEnd }: { path: string; rangeStart?: number; rangeEnd?: number }) => {
      const range = rangeStart != null && rangeEnd != null ? `bytes=${rangeStart}-${rangeEnd - 1}` : rangeStart != null ? `bytes=${rangeStart}-` : undefined;
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(path), Range: range }));
        return { data: await bodyBytes(r.Body), version: { etag: unquote(r.ETag) } };
      } catch (error) {
        notFoundAware(path, error);
      }
    },
    putObject: async (
      _err: unknown,
      { path, data, contentType, metadata, previousVersion }: { path: string; data: Buffer; contentType?: string; metadata: Array<{ key: string; value: string }>; previousVersion?: { etag?: string } },
    ) => {
      try {
        const r = await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key(path),
            Body: data,
            ContentType: contentType,
            Metadata: metadata.length ? Object.fromEntries(metadata.map((m) => [m.key, m.value])) : undefined,
            IfMatch: previousVersion?.etag ? unquote(previousVersion.etag) : undefined,
            IfNoneMatch: previousVersion && !previousVersion.etag ? "*" : undefined,
          }),
        );
        return { kind: "updated", newVersion: { etag: unquote(r.ETag) } };
      } catch (error) {
        if (status(error) === 412 || status(error) === 409) return { kind: "not_on_latest_version" };
        throw error;
      }
    },
    copyObject: async (_err: unknown, { from, to, contentType, version }: { from: string; to: string; contentType?: string; version: { etag?: string } }) => {
      try {
        const r = await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key(to),
            CopySource: `${bucket}/${key(from)}`,
            ContentType: contentType,
            MetadataDirective: contentType ? "REPLACE" : undefined,
            CopySourceIfMatch: version.etag ? unquote(version.etag) : undefined,
          }),
        );
        return { kind: "updated", newVersion: { etag: unquote(r.CopyObjectResult?.ETag) } };
      } catch (error) {
        if (status(error) === 412) return { kind: "not_on_latest_version" };
        notFoundAware(from, error);
      }
    },
    listObjects: async (_err: unknown, listPrefix: string) => {
      const full = key(listPrefix).replace(/\/?$/, "/");
      const out: Array<{ id: string; createdAt: Date; sizeBytes: number }> = [];
      let token: string | undefined;
      do {
        const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: full, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push({ id: o.Key!.slice(full.length), createdAt: o.LastModified ?? new Date(0), sizeBytes: o.Size ?? 0 });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    deleteBatch: async (_err: unknown, { prefix: batchPrefix, batch }: { prefix: string; batch: Array<{ id: string; size: number }> }) => {
      const base = key(batchPrefix).replace(/\/?$/, "/");
      let deletedObjects = 0;
      let deletedBytes = 0;
      for (let i = 0; i < batch.length; i += 1000) {
        const part = batch.slice(i, i + 1000);
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: part.map((b) => ({ Key: base + b.id })), Quiet: true } }));
        deletedObjects += part.length;
        deletedBytes += part.reduce((s, b) => s + b.size, 0);
      }
      return { deletedObjects, deletedBytes };
    },
    getObjectLastModified: async (_err: unknown, path: string) => {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(path) }));
        return r.LastModified ?? new Date(0);
      } catch (error) {
        notFoundAware(path, error);
      }
    },
    getObjectConditional: async (_err: unknown, { path, previousVersion }: { path: string; previousVersion?: { etag?: string } }) => {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(path), IfNoneMatch: previousVersion?.etag ? `"${unquote(previousVersion.etag)}"` : undefined }));
        return { kind: "modified", data: await bodyBytes(r.Body), newVersion: { etag: unquote(r.ETag) } };
      } catch (error) {
        if (status(error) === 304) return { kind: "on_latest_version" };
        notFoundAware(path, error);
      }
    },
  };
  return ic.Storage.newCustom(backend as unknown as Record<string, Callback<never, unknown>>);
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Delete every object of `bucket`, then the bucket. */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const keys = (r.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
