/**
 * How a failed command ends: one line on stderr and an exit code (1: the user's input, 2: storage
 * or anything unexpected, 3: an import that skipped what dosna cannot store, 130: interrupted),
 * the stack only with --verbose, and no secret ever.
 */
import { AbortedError, ConflictError, CorruptChunkError, CorruptMetadataError, DosnaError, StorageError } from "../index.js";

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_STORAGE_ERROR = 2;
export const EXIT_INCOMPLETE = 3;
export const EXIT_INTERRUPTED = 130;

/** A command that did its work except for the items it listed on stderr (an HDF5 import's skipped datasets). */
export class IncompleteError extends DosnaError {}

export function exitCodeOf(error: unknown): number {
  if (error instanceof AbortedError) return EXIT_INTERRUPTED;
  if (error instanceof IncompleteError) return EXIT_INCOMPLETE;
  if (error instanceof StorageError || error instanceof ConflictError || error instanceof CorruptChunkError || error instanceof CorruptMetadataError) {
    return EXIT_STORAGE_ERROR;
  }
  if (error instanceof DosnaError) return EXIT_USER_ERROR;
  return EXIT_STORAGE_ERROR;
}

/** Replace every secret in `text` by "***". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("***");
  return out;
}

/** The line (or, with verbose, the stack and its causes) to print for `error`. */
export function describeFailure(error: unknown, options: { verbose: boolean; secrets: readonly string[] }): string {
  const message = error instanceof Error ? error.message : String(error);
  const unexpected = !(error instanceof DosnaError);
  const oneLine = message.replace(/\s*\n\s*/g, " ").trim();
  const prefix = error instanceof AbortedError ? "interrupted: " : unexpected ? "unexpected error: " : "";
  let text = `dosna: ${prefix}${oneLine}`;
  if (unexpected && !options.verbose) text += " (run with --verbose for details)";
  if (options.verbose) {
    const parts: string[] = [];
    let current: unknown = error;
    for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
      parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
      current = current instanceof Error ? current.cause : undefined;
    }
    text += "\n" + parts.join("\ncaused by: ");
  }
  return redact(text, options.secrets);
}
