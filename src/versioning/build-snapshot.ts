/**
 * A new snapshot from a base snapshot and a change set: the node table with the changes applied,
 * and a new manifest for every block whose chunks changed (the others are shared with the base).
 */
import { blockOfChunkKey } from "./blocks.js";
import { type ChangeSet, type ManifestLoader, manifestsFrom } from "./changes.js";
import type { Author, ChunkRef, Manifest, ManifestRef, NodeEntry, Snapshot } from "./objects.js";

export interface CommitInfo {
  id: string;
  parents: string[];
  message: string;
  author: Author;
  time: string;
  metadata: Record<string, unknown>;
  history?: string[];
}

export type ManifestWriter = (manifest: Omit<Manifest, "format" | "version">) => Promise<string>;

export async function buildSnapshot(base: Snapshot, changes: ChangeSet, load: ManifestLoader, write: ManifestWriter, info: CommitInfo): Promise<Snapshot> {
  const nodes: Record<string, NodeEntry> = { ...base.nodes };
  for (const [path, change] of changes.nodes) {
    if (change === null) {
      delete nodes[path];
      continue;
    }
    const manifests = manifestsFrom(change, base.nodes[path]);
    nodes[path] = manifests && Object.keys(manifests).length > 0 ? { zarr: change.zarr, manifests: { ...manifests } } : { zarr: change.zarr };
  }
  await Promise.all(
    [...changes.chunks].map(async ([path, chunkChanges]) => {
      const entry = nodes[path];
      if (!entry || chunkChanges.size === 0) return;
      const byBlock = new Map<string, Array<[string, ChunkRef | null]>>();
      for (const change of chunkChanges) {
        const block = blockOfChunkKey(change[0]);
        const list = byBlock.get(block) ?? [];
        list.push(change);
        byBlock.set(block, list);
      }
      const manifests: Record<string, ManifestRef> = { ...(entry.manifests ?? {}) };
      await Promise.all(
        [...byBlock].map(async ([block, blockChanges]) => {
          const chunks = manifests[block] ? new Map(await load(manifests[block].id, path)) : new Map<string, ChunkRef>();
          for (const [key, ref] of blockChanges) {
            if (ref === null) chunks.delete(key);
            else chunks.set(key, ref);
          }
          if (chunks.size === 0) {
            delete manifests[block];
            return;
          }
          const sorted = Object.fromEntries([...chunks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
          const id = await write({ node: path, block, chunks: sorted });
          let bytes = 0;
          for (const ref of chunks.values()) bytes += ref[1];
          manifests[block] = { id, chunks: chunks.size, bytes };
        }),
      );
      nodes[path] = Object.keys(manifests).length > 0 ? { zarr: entry.zarr, manifests } : { zarr: entry.zarr };
    }),
  );
  return { format: "dosna-snapshot", version: 1, ...info, nodes };
}
