/** Keeping a pool's hierarchy well-formed: every ancestor of a node is a group. */
import { AlreadyExistsError, PreconditionFailedError } from "../errors.js";
import { encodeMetadata, groupMetadataJson, metadataKey, parseNodeMetadata } from "../format/index.js";
import type { PoolContext } from "./context.js";

/**
 * Create the missing groups above `path`, below `from` (a group known to exist; "" for the root).
 * Refuses, naming both paths, when an ancestor is a dataset. Safe against concurrent creators.
 */
export async function ensureAncestorGroups(context: PoolContext, path: string, from = ""): Promise<void> {
  const parts = path.split("/");
  const start = from === "" ? 1 : from.split("/").length + 1;
  for (let depth = start; depth < parts.length; depth++) {
    const ancestor = parts.slice(0, depth).join("/");
    const key = metadataKey(ancestor);
    const bytes = await context.store.get(key);
    if (bytes === undefined) {
      await context.store.set(key, encodeMetadata(groupMetadataJson({})), { ifNoneMatch: "*" }).catch((error: unknown) => {
        if (!(error instanceof PreconditionFailedError)) throw error;
      });
    } else if (parseNodeMetadata(bytes, key, context.store.description).kind === "array") {
      throw new AlreadyExistsError(`cannot create "/${path}" in pool "${context.poolName}": "/${ancestor}" is a dataset`);
    }
  }
}
