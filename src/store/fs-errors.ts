/** How the filesystem store reads node:fs errors and reports them (one home for fs-*.ts and filesystem.ts). */
import { StorageError } from "../errors.js";

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** ENOTDIR: some parent of the path is a file, so the path cannot exist either. */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

export function storageError(operation: string, filePath: string, cause: unknown): StorageError {
  const code = errorCode(cause) ?? "error";
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageError(`${operation} failed with ${code} at ${filePath}: ${detail}`, { cause });
}
