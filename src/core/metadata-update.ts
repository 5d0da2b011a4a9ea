/**
 * Changing a node's zarr.json without undoing anyone else's change: every update starts from the
 * latest stored metadata (read with its version token) and is stored only if nobody changed it
 * since, else read and applied again (optimistic.ts). A second handle's `attrs.set` therefore
 * keeps another handle's `resize`, in this process or any other.
 */
import { NotFoundError } from "../errors.js";
import { arrayMetadataJson, encodeMetadata, groupMetadataJson, metadataKey, parseNodeMetadata, type NodeMetadata } from "../format/index.js";
import type { RequestOptions } from "../store/store.js";
import type { PoolContext } from "./context.js";
import { retryOnConflict } from "./optimistic.js";

type NodeOf<K extends NodeMetadata["kind"]> = Extract<NodeMetadata, { kind: K }>;

/** The node's stored metadata with its version; NotFoundError (naming `what`) when it is gone or of the other kind. */
export async function readNodeVersioned<K extends NodeMetadata["kind"]>(
  context: PoolContext,
  path: string,
  kind: K,
  what: string,
  options: RequestOptions = {},
): Promise<{ node: NodeOf<K>; version: string }> {
  const key = metadataKey(path);
  const stored = await context.store.getVersioned(key, options);
  if (stored === undefined) throw new NotFoundError(`${what} no longer exists (its ${key} is gone)`);
  const node = parseNodeMetadata(stored.bytes, key, context.store.description);
  if (node.kind !== kind) throw new NotFoundError(`${what} no longer exists: "/${path}" is now ${node.kind === "array" ? "a dataset" : "a group"}`);
  return { node: node as NodeOf<K>, version: stored.version };
}

/** Apply `change` to the latest stored metadata of the node and store it; returns what was stored. */
export async function updateNodeMetadata<K extends NodeMetadata["kind"]>(
  context: PoolContext,
  path: string,
  kind: K,
  what: string,
  change: (latest: NodeOf<K>) => NodeOf<K>,
  options: RequestOptions = {},
): Promise<NodeOf<K>> {
  const key = metadataKey(path);
  return retryOnConflict(`metadata update of ${what}`, key, context.conflicts, options.signal, async () => {
    const { node, version } = await readNodeVersioned(context, path, kind, what, options);
    const next = change(node);
    const stored: NodeMetadata = next;
    const json = stored.kind === "array" ? arrayMetadataJson(stored.info) : groupMetadataJson(stored.attributes, stored.extensions);
    await context.store.set(key, encodeMetadata(json), { ifMatch: version, signal: options.signal });
    return next;
  });
}
