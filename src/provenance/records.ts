/**
 * Provenance records (Braid's records): what a dataset, model, file, run or config is, what it
 * was derived from (`inputs`), by which activity, with URIs of things outside dosna and typed tags.
 * Validated at the boundary: tags must match their declared type, parameters must be JSON.
 */
import { z } from "zod";
import { ValidationError } from "../errors.js";

export const TAG_TYPES = ["string", "integer", "float", "boolean", "time"] as const;
export type TagType = (typeof TAG_TYPES)[number];
export type TagValue = { type: TagType; value: string | number | boolean };

const tagSchema = z.object({ type: z.enum(TAG_TYPES), value: z.union([z.string(), z.number(), z.boolean()]) }).strict();
const agentSchema = z.object({ user: z.string(), host: z.string() }).strict();

export const recordSchema = z
  .object({
    format: z.literal("dosna-provenance"),
    version: z.literal(1),
    id: z.string(),
    revision: z.number().int().min(1),
    kind: z.string(),
    name: z.string(),
    dataset: z.string().optional(),
    datasetVersion: z.string().optional(),
    time: z.string(),
    updated: z.string(),
    agent: agentSchema,
    software: z.object({ dosna: z.string(), node: z.string() }).strict(),
    inputs: z.array(z.string()),
    outputs: z.array(z.string()),
    activity: z
      .object({
        operation: z.string().optional(),
        function: z.string().optional(),
        sourceHash: z.string().optional(),
        parameters: z.unknown().optional(),
        /** The function was run by its registered name (compute/). */
        registered: z.boolean().optional(),
        /** Where compute/ ran it: "local", "threads" or "queue", with the "host:pid" of each process that ran chunks, and the queue's job id. */
        engine: z.enum(["local", "threads", "queue"]).optional(),
        hosts: z.array(z.string()).optional(),
        job: z.string().optional(),
        /** A derivation (compute/derive.ts): how many blocks (axis-0 chunk rows of the input) this refresh computed. */
        blocks: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
    uris: z.array(z.string()),
    tags: z.record(z.string(), tagSchema),
    stale: z.object({ reason: z.string(), at: z.string(), by: agentSchema, source: z.string(), action: z.string().optional() }).strict().optional(),
  })
  .strict();

export type ProvenanceRecordData = z.infer<typeof recordSchema>;

/** A tag as users give it: a typed value, or a plain string/number/boolean/Date whose type is inferred. */
export type TagInput = TagValue | string | number | boolean | Date;

export function normaliseTags(tags: Record<string, TagInput> | undefined, what: string): Record<string, TagValue> {
  const out: Record<string, TagValue> = {};
  for (const [name, raw] of Object.entries(tags ?? {})) {
    if (name === "" || /[\u0000-\u001f]/.test(name)) throw new ValidationError(`tag name ${JSON.stringify(name)} of ${what} is empty or has control characters`);
    out[name] = normaliseTag(name, raw, what);
  }
  return out;
}

function normaliseTag(name: string, raw: TagInput, what: string): TagValue {
  const bad = (expected: string) => new ValidationError(`tag "${name}" of ${what}: ${expected}, got ${JSON.stringify(raw)}`);
  if (raw instanceof Date) {
    if (Number.isNaN(raw.getTime())) throw bad("a valid time");
    return { type: "time", value: raw.toISOString() };
  }
  if (typeof raw === "string") return { type: "string", value: raw };
  if (typeof raw === "boolean") return { type: "boolean", value: raw };
  if (typeof raw === "number") {
    if (!Number.isFinite(raw)) throw bad("a finite number");
    return { type: Number.isInteger(raw) ? "integer" : "float", value: raw };
  }
  if (raw === null || typeof raw !== "object" || !TAG_TYPES.includes(raw.type)) throw bad(`a value or { type: ${TAG_TYPES.join(" | ")}, value }`);
  const { type, value } = raw;
  switch (type) {
    case "string":
      if (typeof value !== "string") throw bad("declared string: a string");
      break;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) throw bad("declared integer: a whole number");
      break;
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value)) throw bad("declared float: a finite number");
      break;
    case "boolean":
      if (typeof value !== "boolean") throw bad("declared boolean: true or false");
      break;
    case "time":
      if (typeof value !== "string" || Number.isNaN(Date.parse(value))) throw bad("declared time: an ISO-8601 date/time");
      return { type, value: new Date(value).toISOString() };
  }
  return { type, value };
}

/** A JSON value, checked: no functions, undefined, NaN, Infinity, BigInt, cycles or class instances. */
export function requireJson(value: unknown, what: string, path = "", seen = new Set<unknown>()): void {
  const where = `${what}${path}`;
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError(`${where} is ${value}, which JSON cannot hold`);
    return;
  }
  if (typeof value !== "object") throw new ValidationError(`${where} is a ${typeof value}, not a JSON value`);
  if (seen.has(value)) throw new ValidationError(`${where} refers to itself (a cycle), which JSON cannot hold`);
  seen.add(value);
  if (Array.isArray(value)) value.forEach((item, i) => requireJson(item, what, `${path}[${i}]`, seen));
  else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new ValidationError(`${where} is a ${proto?.constructor?.name ?? "object"}, not a plain JSON object`);
    for (const [key, item] of Object.entries(value)) requireJson(item, what, `${path}.${key}`, seen);
  }
  seen.delete(value);
}
