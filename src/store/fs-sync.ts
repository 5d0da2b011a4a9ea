/** fsync of a directory, which makes the renames, links and unlinks in it durable. */
import * as fs from "node:fs/promises";
import { errorCode, storageError } from "./fs-errors.js";

// Directory fsync is refused by some filesystems (EINVAL on some FUSE and SMB mounts): nothing more can be done there.
const UNSUPPORTED = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EISDIR", "EBADF"]);

/** Flushes `directory`'s entries to disk. A directory already gone (pruned by a concurrent delete) has nothing to flush. */
export async function syncDirectory(directory: string, operation: string): Promise<void> {
  if (process.platform === "win32") return; // directories cannot be opened for fsync there
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(directory, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw storageError(operation, directory, error);
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!UNSUPPORTED.has(errorCode(error) ?? "")) throw storageError(operation, directory, error);
  } finally {
    await handle.close();
  }
}
