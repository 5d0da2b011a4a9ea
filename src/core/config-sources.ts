/**
 * Where a Cluster's configuration can come from besides an object: DOSNA_* environment variables
 * and an INI-style config file (keys documented in ceph.sample.conf). Both produce the same plain
 * object, validated by the Cluster's schema.
 */
import { readFileSync } from "node:fs";
import { ValidationError } from "../errors.js";

/** File/env key → config field, and how to read its value. */
const FIELDS: Record<string, { field: string; kind: "string" | "number" | "boolean" }> = {
  backend: { field: "backend", kind: "string" },
  root: { field: "root", kind: "string" },
  endpoint: { field: "endpoint", kind: "string" },
  region: { field: "region", kind: "string" },
  access_key_id: { field: "accessKeyId", kind: "string" },
  secret_access_key: { field: "secretAccessKey", kind: "string" },
  force_path_style: { field: "forcePathStyle", kind: "boolean" },
  njobs: { field: "njobs", kind: "number" },
  pool: { field: "defaultPool", kind: "string" },
  timeout_ms: { field: "timeoutMs", kind: "number" },
  max_retries: { field: "maxRetries", kind: "number" },
  transport: { field: "transport", kind: "string" },
  writers: { field: "writers", kind: "string" },
  retry_window_ms: { field: "retryWindowMs", kind: "number" },
  conflict_retries: { field: "conflictRetries", kind: "number" },
  durable: { field: "durable", kind: "boolean" },
  lock_stale_ms: { field: "lockStaleMs", kind: "number" },
  provenance: { field: "provenance", kind: "boolean" },
  on_stale: { field: "onStale", kind: "string" },
  engine: { field: "engine", kind: "string" },
};

function convert(key: string, raw: string, source: string): [string, unknown] {
  const spec = Object.hasOwn(FIELDS, key) ? FIELDS[key] : undefined;
  if (!spec) throw new ValidationError(`${source}: unknown setting "${key}" (known: ${Object.keys(FIELDS).join(", ")})`);
  const value = raw.trim();
  if (spec.kind === "number") {
    const n = Number(value);
    if (value === "" || !Number.isFinite(n)) throw new ValidationError(`${source}: ${key} must be a number, got ${JSON.stringify(value)}`);
    return [spec.field, n];
  }
  if (spec.kind === "boolean") {
    if (!/^(true|false|1|0|yes|no)$/i.test(value)) throw new ValidationError(`${source}: ${key} must be true or false, got ${JSON.stringify(value)}`);
    return [spec.field, /^(true|1|yes)$/i.test(value)];
  }
  return [spec.field, value];
}

/** What a line without "=" looks like, without echoing it: it may hold a secret ("secret_access_key: ..."). */
function describeBadLine(line: string): string {
  const head = /^[A-Za-z_]+/.exec(line)?.[0];
  const known = head !== undefined && Object.hasOwn(FIELDS, head.toLowerCase());
  return `got a line without "="${known ? ` starting with "${head}"` : ""} (its value is not shown, it may be a secret)`;
}

/** Settings of the [dosna] section (or of a file without sections). */
export function parseConfigText(text: string, source: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let section = "dosna";
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      section = header[1].trim();
      return;
    }
    if (section !== "dosna") return;
    const eq = trimmed.indexOf("=");
    if (eq < 0) throw new ValidationError(`${source} line ${index + 1}: expected "key = value", ${describeBadLine(trimmed)}`);
    const [field, value] = convert(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1), `${source} line ${index + 1}`);
    out[field] = value;
  });
  return out;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError(`cannot read dosna config file "${path}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return withBackendDefault(parseConfigText(text, `config file "${path}"`));
}

/** The backend defaults to s3 when an endpoint is given, to fs (./dosna-data) otherwise. */
function withBackendDefault(config: Record<string, unknown>): Record<string, unknown> {
  config.backend ??= config.endpoint ? "s3" : "fs";
  if (config.backend === "fs") config.root ??= "./dosna-data";
  return config;
}

/**
 * Settings from DOSNA_* variables (DOSNA_ENDPOINT, DOSNA_ACCESS_KEY_ID, DOSNA_SECRET_ACCESS_KEY,
 * DOSNA_REGION, DOSNA_NJOBS, DOSNA_BACKEND, DOSNA_ROOT, ...), on top of DOSNA_CONFIG's file if set.
 * The backend defaults to s3 when an endpoint is given, to fs otherwise.
 */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out: Record<string, unknown> = env.DOSNA_CONFIG ? readConfigFile(env.DOSNA_CONFIG) : {};
  for (const key of Object.keys(FIELDS)) {
    const raw = env[`DOSNA_${key.toUpperCase()}`];
    if (raw !== undefined && raw !== "") {
      const [field, value] = convert(key, raw, `environment variable DOSNA_${key.toUpperCase()}`);
      out[field] = value;
    }
  }
  return withBackendDefault(out);
}
