/**
 * Change sets: what turns one snapshot's hierarchy into another's, as node metadata changes and
 * chunk changes. A session records its writes as one; rebase, merge and diff compute one between
 * two snapshots by comparing manifests block by block, so their cost follows what changed (blocks
 * whose manifest id is equal are never read), not the size of the arrays.
 */
import type { ChunkRef, ManifestRef, NodeEntry, Snapshot } from "./objects.js";

/** A node set in a change: its zarr.json text, and which chunks it starts from. */
export interface NodeChange {
  zarr: string;
  /**
   * "inherit": the chunks of the same path in the base snapshot (a metadata edit); "fresh": none
   * (a node created, or deleted and created again); or these manifests (a node taken whole from
   * another snapshot).
   */
  chunksFrom: "inherit" | "fresh" | Record<string, ManifestRef>;
}

/** The manifests a changed node starts from, given the same path's entry in the base snapshot. */
export function manifestsFrom(change: NodeChange, base: NodeEntry | undefined): Record<string, ManifestRef> | undefined {
  return change.chunksFrom === "inherit" ? base?.manifests : change.chunksFrom === "fresh" ? undefined : change.chunksFrom;
}

export interface ChangeSet {
  /** Node path → its new metadata, or null when the node is removed (with everything in it). */
  nodes: Map<string, NodeChange | null>;
  /** Array path → chunk key relative to the array ("c/0/1") → new chunk, or null when removed. */
  chunks: Map<string, Map<string, ChunkRef | null>>;
}

export function emptyChangeSet(): ChangeSet {
  return { nodes: new Map(), chunks: new Map() };
}

export function isEmptyChangeSet(changes: ChangeSet): boolean {
  return changes.nodes.size === 0 && [...changes.chunks.values()].every((m) => m.size === 0);
}

/** Loads a manifest's chunk table by id (cached by the caller: manifests are immutable). */
export type ManifestLoader = (id: string, node: string) => Promise<Map<string, ChunkRef>>;

/** The changes from snapshot `from` to snapshot `to`. */
export async function changesBetween(from: Snapshot, to: Snapshot, load: ManifestLoader): Promise<ChangeSet> {
  const changes = emptyChangeSet();
  for (const path of Object.keys(from.nodes)) if (!(path in to.nodes)) changes.nodes.set(path, null);
  const compared: Array<Promise<void>> = [];
  for (const [path, entry] of Object.entries(to.nodes)) {
    const before = from.nodes[path];
    if (!before) {
      changes.nodes.set(path, { zarr: entry.zarr, chunksFrom: entry.manifests ?? {} });
      continue;
    }
    if (before.zarr !== entry.zarr) changes.nodes.set(path, { zarr: entry.zarr, chunksFrom: "inherit" });
    compared.push(
      chunkChangesBetween(path, before, entry, load).then((chunkChanges) => {
        if (chunkChanges.size > 0) changes.chunks.set(path, chunkChanges);
      }),
    );
  }
  await Promise.all(compared);
  return changes;
}

async function chunkChangesBetween(path: string, before: NodeEntry, after: NodeEntry, load: ManifestLoader): Promise<Map<string, ChunkRef | null>> {
  const out = new Map<string, ChunkRef | null>();
  const a = before.manifests ?? {};
  const b = after.manifests ?? {};
  const blocks = new Set([...Object.keys(a), ...Object.keys(b)]);
  await Promise.all(
    [...blocks].map(async (block) => {
      if (a[block]?.id === b[block]?.id) return;
      const [left, right] = await Promise.all([a[block] ? load(a[block].id, path) : new Map(), b[block] ? load(b[block].id, path) : new Map()]);
      for (const [key, ref] of right) {
        const old = left.get(key);
        if (!old || old[0] !== ref[0]) out.set(key, ref);
      }
      for (const key of left.keys()) if (!right.has(key)) out.set(key, null);
    }),
  );
  return out;
}

export interface Conflict {
  /** The node path ("" is the root group). */
  path: string;
  /** Both sides changed the node's metadata (or one removed it while the other changed it). */
  metadata: boolean;
  /** Chunk keys relative to the array that both sides changed. */
  chunks: string[];
}

/** Where two change sets from the same base touch the same thing differently. */
export function findConflicts(ours: ChangeSet, theirs: ChangeSet): Conflict[] {
  const conflicts = new Map<string, Conflict>();
  const at = (path: string) => {
    let conflict = conflicts.get(path);
    if (!conflict) conflicts.set(path, (conflict = { path, metadata: false, chunks: [] }));
    return conflict;
  };
  for (const [path, change] of ours.nodes) {
    if (!theirs.nodes.has(path)) {
      // A removal on one side conflicts with any chunk change on the other.
      if (change === null && theirs.chunks.get(path)?.size) at(path).metadata = true;
      continue;
    }
    const other = theirs.nodes.get(path)!;
    if (change === null && other === null) continue;
    if (change !== null && other !== null && change.zarr === other.zarr && change.chunksFrom === "inherit" && other.chunksFrom === "inherit") continue;
    at(path).metadata = true;
  }
  for (const [path, change] of theirs.nodes) {
    if (change === null && !ours.nodes.has(path) && ours.chunks.get(path)?.size) at(path).metadata = true;
  }
  for (const [path, chunks] of ours.chunks) {
    const other = theirs.chunks.get(path);
    if (!other) continue;
    for (const [key, ref] of chunks) {
      if (!other.has(key)) continue;
      const theirsRef = other.get(key);
      if ((ref === null && theirsRef === null) || (ref !== null && theirsRef != null && ref[0] === theirsRef[0])) continue;
      at(path).chunks.push(key);
    }
  }
  for (const conflict of conflicts.values()) conflict.chunks.sort();
  return [...conflicts.values()].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** Conflicts as one line each, for error messages: `"/scans/vol": chunks c/0/0, c/0/1` */
export function describeConflicts(conflicts: Conflict[], limit = 20): string {
  const lines = conflicts.slice(0, limit).map((c) => {
    const parts: string[] = [];
    if (c.metadata) parts.push("metadata");
    if (c.chunks.length) parts.push(`chunks ${c.chunks.slice(0, 10).join(", ")}${c.chunks.length > 10 ? `, … (${c.chunks.length} in all)` : ""}`);
    return `"/${c.path}": ${parts.join("; ")}`;
  });
  if (conflicts.length > limit) lines.push(`… and ${conflicts.length - limit} more nodes`);
  return lines.join("; ");
}
