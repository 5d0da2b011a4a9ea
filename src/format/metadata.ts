/** zarr.json: building it from an ArrayInfo, and parsing and validating what a store holds. */
import { z } from "zod";
import { CorruptMetadataError } from "../errors.js";
import { buildCodecChain } from "./codecs/pipeline.js";
import { CodecConfigurationError, codecDefinition, type CodecSpec } from "./codecs/registry.js";
import { DATA_TYPES, type DataType, dataTypeOfZarrName, describe, type FillValue, isBigIntType } from "./dataType.js";
import { fillValueFromJson, fillValueToJson } from "./fillValue.js";
import { rawTopLevelMember, stringifyJson } from "./json.js";
import type { ChunkKeyEncoding } from "./keys.js";
import { parseShardLayout, SHARDING_CODEC_NAME, usesSharding } from "./sharding.js";

export type { CodecSpec };

export interface ArrayInfo {
  shape: number[];
  dataType: DataType;
  chunkShape: number[];
  /** Canonical form: boolean for bool, bigint for int64/uint64, number otherwise. */
  fillValue: FillValue;
  codecs: CodecSpec[];
  attributes: Record<string, unknown>;
  chunkKeyEncoding: ChunkKeyEncoding;
  dimensionNames?: (string | null)[];
  /** Members of other tools dosna does not interpret (`"must_understand": false`), kept when it rewrites zarr.json. */
  extensions?: Record<string, unknown>;
}

export type NodeMetadata =
  | { kind: "group"; attributes: Record<string, unknown>; extensions?: Record<string, unknown> }
  | { kind: "array"; info: ArrayInfo };

/** The zarr.json object of an array. */
export function arrayMetadataJson(info: ArrayInfo): Record<string, unknown> {
  const json: Record<string, unknown> = {
    zarr_format: 3,
    node_type: "array",
    shape: [...info.shape],
    data_type: info.dataType,
    chunk_grid: { name: "regular", configuration: { chunk_shape: [...info.chunkShape] } },
    chunk_key_encoding: { name: info.chunkKeyEncoding.name, configuration: { separator: info.chunkKeyEncoding.separator } },
    fill_value: fillValueToJson(info.dataType, info.fillValue),
    codecs: info.codecs.map((c) => (c.configuration === undefined ? { name: c.name } : { name: c.name, configuration: c.configuration })),
    attributes: info.attributes,
  };
  if (info.dimensionNames !== undefined) json.dimension_names = [...info.dimensionNames];
  return { ...json, ...info.extensions };
}

/** The zarr.json object of a group (with the extension members of other tools it had). */
export function groupMetadataJson(attributes: Record<string, unknown> = {}, extensions?: Record<string, unknown>): Record<string, unknown> {
  return { zarr_format: 3, node_type: "group", attributes, ...extensions };
}

/** zarr.json bytes: pretty-printed UTF-8 JSON, with exact 64-bit integers. */
export function encodeMetadata(json: object): Uint8Array {
  return new TextEncoder().encode(stringifyJson(json));
}

const attributesSchema = z.record(z.string(), z.unknown());
const extent = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const namedConfiguration = z.union([
  z.string(),
  z.object({ name: z.string(), configuration: z.record(z.string(), z.unknown()).optional() }),
]);

const arraySchema = z.object({
  shape: z.array(extent),
  data_type: z.unknown(),
  chunk_grid: z.object({
    name: z.string(),
    configuration: z.object({ chunk_shape: z.array(extent.min(1)) }),
  }),
  chunk_key_encoding: z.object({
    name: z.string(),
    configuration: z.object({ separator: z.string().optional() }).optional(),
  }),
  fill_value: z.unknown(),
  codecs: z.array(namedConfiguration),
  attributes: attributesSchema.optional(),
  // zarr-python writes `"dimension_names": null` for an array without names.
  dimension_names: z.array(z.string().nullable()).nullable().optional(),
  storage_transformers: z.array(z.unknown()).optional(),
});

const groupSchema = z.object({ attributes: attributesSchema.optional() });

const ARRAY_MEMBERS = new Set(["zarr_format", "node_type", ...Object.keys(arraySchema.shape)]);
// zarr-python writes "consolidated_metadata" (often null) into group metadata.
const GROUP_MEMBERS = new Set(["zarr_format", "node_type", "attributes", "consolidated_metadata"]);

/**
 * The node described by the zarr.json `bytes` stored at `key`. Anything dosna cannot read
 * correctly gives a CorruptMetadataError naming `key` and the problem.
 *
 * Lenient where other writers are: `fill_value: null` reads as the default fill value, and a codec
 * list without an array→bytes codec gets `bytes` (little endian) added, as zarrita does.
 */
export function parseNodeMetadata(bytes: Uint8Array, key: string, location?: string): NodeMetadata {
  const where = location === undefined ? `"${key}"` : `"${key}" in ${location}`;
  const fail = (problem: string, cause?: unknown) =>
    new CorruptMetadataError(`invalid metadata at ${where}: ${problem}`, cause === undefined ? undefined : { cause });
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw fail("not valid UTF-8", cause);
  }
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw fail(`not valid JSON (${(cause as Error).message})`, cause);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw fail(`expected a JSON object, got ${Array.isArray(json) ? "an array" : describe(json)}`);
  }
  const doc = json as Record<string, unknown>;
  if (doc.zarr_format !== 3) {
    throw fail(doc.zarr_format === undefined ? "no zarr_format member; expected zarr_format 3" : `zarr_format is ${describe(doc.zarr_format)}, expected 3`);
  }
  if (doc.node_type !== "array" && doc.node_type !== "group") {
    throw fail(`node_type is ${describe(doc.node_type)}, expected "array" or "group"`);
  }
  const known = doc.node_type === "array" ? ARRAY_MEMBERS : GROUP_MEMBERS;
  const extensions: Record<string, unknown> = {};
  for (const [member, value] of Object.entries(doc)) {
    if (member === "consolidated_metadata" && value !== null) extensions[member] = value;
    if (known.has(member)) continue;
    if (!isOptionalExtension(value)) throw fail(`unknown member ${JSON.stringify(member)} (an extension dosna does not understand)`);
    extensions[member] = value;
  }
  const withExtensions = <T extends object>(node: T): T & { extensions?: Record<string, unknown> } =>
    Object.keys(extensions).length === 0 ? node : { ...node, extensions };
  const schema = doc.node_type === "array" ? arraySchema : groupSchema;
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const value = valueAt(doc, issue.path);
    if (value === undefined) throw fail(`${formatPath(issue.path)} is missing`);
    throw fail(`${formatPath(issue.path)}: ${issue.message} (got ${describe(value)})`);
  }
  if (doc.node_type === "group") {
    return withExtensions({ kind: "group" as const, attributes: (doc.attributes as Record<string, unknown> | undefined) ?? {} });
  }
  return { kind: "array", info: withExtensions(arrayInfoFrom(parsed.data as z.infer<typeof arraySchema>, text, key, fail)) };
}

function arrayInfoFrom(
  doc: z.infer<typeof arraySchema>,
  text: string,
  key: string,
  fail: (problem: string, cause?: unknown) => CorruptMetadataError,
): ArrayInfo {
  const dataType = dataTypeOfZarrName(doc.data_type);
  if (dataType === undefined) {
    throw fail(`data_type ${describe(doc.data_type)} is not supported; supported: ${DATA_TYPES.join(", ")}`);
  }
  const ndim = doc.shape.length;
  if (doc.chunk_grid.name !== "regular") {
    throw fail(`chunk_grid ${JSON.stringify(doc.chunk_grid.name)} is not supported; supported: "regular"`);
  }
  const chunkShape = doc.chunk_grid.configuration.chunk_shape;
  if (chunkShape.length !== ndim) {
    throw fail(`chunk_shape [${chunkShape.join(", ")}] has ${chunkShape.length} dimensions but shape [${doc.shape.join(", ")}] has ${ndim}`);
  }
  if (doc.dimension_names !== undefined && doc.dimension_names !== null && doc.dimension_names.length !== ndim) {
    throw fail(`dimension_names has ${doc.dimension_names.length} entries but the array has ${ndim} dimensions`);
  }
  if (doc.storage_transformers !== undefined && doc.storage_transformers.length > 0) {
    throw fail("storage_transformers are not supported");
  }
  const chunkKeyEncoding = parseChunkKeyEncoding(doc.chunk_key_encoding, fail);
  const codecs = withImplicitBytesCodec(doc.codecs.map((c) => (typeof c === "string" ? { name: c } : c)));
  try {
    if (usesSharding(codecs)) parseShardLayout(codecs, { dataType, chunkShape });
    else buildCodecChain(codecs, { dataType, chunkShape });
  } catch (error) {
    if (error instanceof CodecConfigurationError) throw fail(error.message, error);
    throw error;
  }
  let fillJson = doc.fill_value;
  if (isBigIntType(dataType) && typeof fillJson === "number" && !Number.isSafeInteger(fillJson)) {
    // JSON.parse rounded it; take the exact digits from the text.
    const raw = rawTopLevelMember(text, "fill_value");
    if (raw !== undefined && /^-?\d+$/.test(raw)) fillJson = BigInt(raw);
  }
  const info: ArrayInfo = {
    shape: doc.shape,
    dataType,
    chunkShape,
    fillValue: fillValueFromJson(dataType, fillJson, key),
    codecs,
    attributes: doc.attributes ?? {},
    chunkKeyEncoding,
  };
  if (doc.dimension_names !== undefined && doc.dimension_names !== null) info.dimensionNames = doc.dimension_names;
  return info;
}

function parseChunkKeyEncoding(
  encoding: { name: string; configuration?: { separator?: string } },
  fail: (problem: string) => CorruptMetadataError,
): ChunkKeyEncoding {
  if (encoding.name !== "default" && encoding.name !== "v2") {
    throw fail(`chunk_key_encoding ${JSON.stringify(encoding.name)} is not supported; supported: "default", "v2"`);
  }
  const separator = encoding.configuration?.separator ?? (encoding.name === "default" ? "/" : ".");
  if (separator !== "/" && separator !== ".") {
    throw fail(`chunk_key_encoding separator ${JSON.stringify(separator)} is not supported; expected "/" or "."`);
  }
  return { name: encoding.name, separator };
}

/**
 * The codec list with `bytes` (little endian) inserted after the array→array codecs when it has no
 * array→bytes codec; for a sharded array, the same for the inner chunks' codecs.
 */
function withImplicitBytesCodec(codecs: CodecSpec[]): CodecSpec[] {
  if (codecs.length === 1 && codecs[0].name === SHARDING_CODEC_NAME && Array.isArray(codecs[0].configuration?.codecs)) {
    const inner = (codecs[0].configuration.codecs as unknown[]).map((c) => (typeof c === "string" ? { name: c } : c));
    if (!inner.every((c): c is CodecSpec => c !== null && typeof c === "object" && typeof (c as CodecSpec).name === "string")) return codecs;
    return [{ ...codecs[0], configuration: { ...codecs[0].configuration, codecs: withImplicitBytesCodec(inner) } }];
  }
  const kinds = codecs.map((c) => codecDefinition(c.name)?.kind);
  if (kinds.includes("array_to_bytes") || kinds.includes(undefined)) return codecs;
  const at = kinds.findIndex((kind) => kind !== "array_to_array");
  const position = at < 0 ? codecs.length : at;
  return [...codecs.slice(0, position), { name: "bytes", configuration: { endian: "little" } }, ...codecs.slice(position)];
}

/** Per the spec, an unknown member may be ignored only when it says `"must_understand": false`. */
function isOptionalExtension(value: unknown): boolean {
  return value !== null && typeof value === "object" && (value as { must_understand?: unknown }).must_understand === false;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  return out === "" ? "document" : out;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let value = doc;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
