/** Small text helpers of the command line: sizes, durations, tables, and parsing option values. */
import { ValidationError, type DataType, type Scalar } from "../index.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "1 chunk", "3 chunks". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Left-aligned columns separated by two spaces; trailing blanks trimmed. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd()).join("\n");
}

/** "bytes", "bytes+gzip(5)", ...: the codec chain at a glance. */
export function codecSummary(codecs: ReadonlyArray<{ name: string; configuration?: Record<string, unknown> }>): string {
  return codecs
    .map((c) => {
      const level = c.configuration?.level;
      const endian = c.configuration?.endian;
      if (c.name === "bytes") return endian === "big" ? "bytes(big)" : "bytes";
      return level !== undefined ? `${c.name}(${String(level)})` : c.name;
    })
    .join("+");
}

/** "100,200", "100x200", "[100, 200]", "()" → numbers (an empty list for a 0-d shape). */
export function parseIntegerList(text: string, what: string, options: { allowEmpty?: boolean; min?: number } = {}): number[] {
  const inner = text.trim().replace(/^[[(]/, "").replace(/[\])]$/, "").trim();
  const parts = inner === "" ? [] : inner.split(/\s*[,x×]\s*|\s+/).filter((p) => p !== "");
  const min = options.min ?? 0;
  const values = parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n) || n < min) {
      throw new ValidationError(`${what} must be a list of integers ≥ ${min} such as "100,200", got ${JSON.stringify(text)}`);
    }
    return n;
  });
  if (values.length === 0 && !options.allowEmpty) throw new ValidationError(`${what} must not be empty, got ${JSON.stringify(text)}`);
  return values;
}

/** A --chunks value: one integer for every axis, or one per axis. */
export function parseChunks(text: string | undefined): number | number[] | undefined {
  if (text === undefined) return undefined;
  const values = parseIntegerList(text, "--chunks", { min: 1 });
  return values.length === 1 && !/[,x×[(]/.test(text) ? values[0] : values;
}

/** A fill value as typed on the command line, for `dtype`: nan, inf, -inf, true, false, or a number. */
export function parseScalar(text: string, dtype: DataType, what: string): Scalar {
  const t = text.trim().toLowerCase();
  if (dtype === "bool") {
    if (t === "true" || t === "1") return true;
    if (t === "false" || t === "0") return false;
    throw new ValidationError(`${what} for a bool dataset must be true or false, got ${JSON.stringify(text)}`);
  }
  if (t === "nan") return NaN;
  if (t === "inf" || t === "+inf" || t === "infinity") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  if ((dtype === "int64" || dtype === "uint64") && /^[-+]?\d+$/.test(t)) return BigInt(t);
  const n = Number(t);
  if (t === "" || !Number.isFinite(n)) throw new ValidationError(`${what} must be a number, nan or inf, got ${JSON.stringify(text)}`);
  return n;
}

/** A JSON value as typed; text that is not JSON is taken as a string. */
export function parseJsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** JSON with bigints as exact numbers and non-finite floats as the strings "NaN", "Infinity", "-Infinity". */
export function toJson(value: unknown, indent?: number): string {
  const marker = "\u0000bigint:";
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === "bigint") return `${marker}${v}`;
      if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
      return v;
    },
    indent,
  );
  return text.replace(new RegExp(`"\\\\u0000bigint:(-?\\d+)"`, "g"), "$1");
}
