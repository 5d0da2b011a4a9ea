/** Text of the version commands: authors, times, ages for gc, chunk indices, and lists cut short. */
import { ValidationError, type Author } from "../index.js";

/** "Ada Lovelace <ada@example.org>", or the name alone. */
export function formatAuthor(author: Author): string {
  return author.email ? `${author.name} <${author.email}>` : author.name;
}

/** "Name <email>" or "Name" as typed for --author. */
export function parseAuthor(text: string, what = "--author"): Author {
  const match = /^\s*([^<>]*?)\s*(?:<([^<>]*)>)?\s*$/.exec(text);
  const name = match?.[1] ?? "";
  if (!match || name === "") throw new ValidationError(`${what} must be "Name" or "Name <email>", got ${JSON.stringify(text)}`);
  const email = match[2]?.trim();
  return email ? { name, email } : { name };
}

/** The first line of a commit message (the rest shows in --json). */
export function firstLine(text: string): string {
  return text.split("\n")[0];
}

/** A time to the second, in UTC: 2025-06-01T12:00:00Z. */
export function formatTime(time: Date): string {
  return time.toISOString().replace(/\.\d+Z$/, "Z");
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A --older-than value: an age (90s, 30m, 1h, 2d, 1w: that long before `now`) or an ISO 8601
 * date or time (2025-06-01, 2025-06-01T12:00:00Z), not in the future.
 */
export function parseOlderThan(text: string, now = new Date()): Date {
  const age = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (age) return new Date(now.getTime() - Number(age[1]) * UNIT_MS[age[2].toLowerCase()]);
  const time = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? new Date(text.trim()) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) {
    throw new ValidationError(`--older-than must be an age such as 30m, 1h, 2d or 1w, or an ISO date such as 2025-06-01 or 2025-06-01T12:00:00Z, got ${JSON.stringify(text)}`);
  }
  if (time.getTime() > now.getTime()) {
    throw new ValidationError(`--older-than ${text} is in the future: objects that sessions are writing now could be deleted`);
  }
  return time;
}

/** [0, 1] */
export function formatIndex(index: readonly number[]): string {
  return `[${index.join(", ")}]`;
}

/** The chunk grid index of a chunk key relative to its array ("c/0/1" → [0, 1]). */
export function indexOfChunkKey(key: string): number[] {
  return (key.match(/\d+/g) ?? []).map(Number);
}

/** The first `limit` items joined by ", ", then "…" when there are more. */
export function listShort(items: readonly string[], limit: number): string {
  return items.length <= limit ? items.join(", ") : `${items.slice(0, limit).join(", ")}, …`;
}
