/**
 * Byte ranges, resolved the way S3 and HTTP resolve them: a range that runs past the end of the
 * object is cut at the end, an offset at or past the end gives zero bytes, and a suffix longer
 * than the object gives the whole object.
 */
import { ValidationError } from "../errors.js";
import type { ByteRange } from "./store.js";

function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Throws ValidationError unless every number in `range` is a non-negative integer. */
export function validateByteRange(range: ByteRange, key: string): void {
  const fields: [string, unknown][] =
    "suffixLength" in range
      ? [["suffixLength", range.suffixLength]]
      : [
          ["offset", range.offset],
          ["length", range.length ?? 0],
        ];
  for (const [field, value] of fields) {
    if (!isByteCount(value)) {
      throw new ValidationError(
        `invalid byte range for key ${JSON.stringify(key)}: ${field} must be a non-negative integer, got ${String(value)}`,
      );
    }
  }
}

/** The half-open interval [start, end) of an object of `size` bytes that `range` selects (all of it when undefined). */
export function resolveByteRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size };
  if ("suffixLength" in range) return { start: Math.max(0, size - range.suffixLength), end: size };
  const start = Math.min(range.offset, size);
  const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
  return { start, end: Math.max(start, end) };
}
