/**
 * The repository's JSON objects (docs/versioning.md), validated with zod when read: a missing or
 * malformed object is a CorruptMetadataError naming the object and the snapshot it belongs to.
 */
import { z } from "zod";
import { CorruptMetadataError } from "../errors.js";

export const authorSchema = z.object({ name: z.string(), email: z.string().optional() }).strict();
export type Author = z.infer<typeof authorSchema>;

/** One manifest reference: the block of the chunk grid it covers, how many chunks and bytes it lists. */
const manifestRefSchema = z.object({ id: z.string(), chunks: z.number().int().min(0), bytes: z.number().int().min(0) }).strict();
export type ManifestRef = z.infer<typeof manifestRefSchema>;

const nodeEntrySchema = z
  .object({
    /** The node's zarr.json, as the exact text stored. */
    zarr: z.string(),
    /** Array nodes: manifest per block of the chunk grid ("0.0.1"). */
    manifests: z.record(z.string(), manifestRefSchema).optional(),
  })
  .strict();
export type NodeEntry = z.infer<typeof nodeEntrySchema>;

export const snapshotSchema = z
  .object({
    format: z.literal("dosna-snapshot"),
    version: z.literal(1),
    id: z.string(),
    parents: z.array(z.string()),
    message: z.string(),
    author: authorSchema,
    time: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    /** Up to 100 first-parent ancestors, nearest first (lets `log` fetch history in parallel). */
    history: z.array(z.string()).optional(),
    nodes: z.record(z.string(), nodeEntrySchema),
  })
  .strict();
export type Snapshot = z.infer<typeof snapshotSchema>;

/** A chunk's entry in a manifest: its object id and stored size in bytes. */
export type ChunkRef = [id: string, bytes: number];

export const manifestSchema = z
  .object({
    format: z.literal("dosna-manifest"),
    version: z.literal(1),
    node: z.string(),
    block: z.string(),
    /** Chunk key relative to the array ("c/0/1/2") → [chunk object id, bytes]. */
    chunks: z.record(z.string(), z.tuple([z.string(), z.number().int().min(0)])),
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;

export const refSchema = z.object({ snapshot: z.string() }).strict();

export const markerSchema = z.object({ format: z.literal("dosna-repository"), version: z.literal(1), created: z.string() }).strict();

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeObject(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parse and validate one repository object; `what` names it ("snapshot X", "manifest Y of snapshot X"). */
export function decodeObject<S extends z.ZodType>(schema: S, bytes: Uint8Array | undefined, what: string, where: string): z.infer<S> {
  if (bytes === undefined) throw new CorruptMetadataError(`${what} is missing from ${where}`);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new CorruptMetadataError(`${what} in ${where} is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".") || "(object)"}: ${issue.message}`);
    throw new CorruptMetadataError(`${what} in ${where} is malformed: ${problems.join("; ")}`);
  }
  return result.data;
}
