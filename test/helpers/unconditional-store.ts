/**
 * A real local-directory store that behaves like an S3 endpoint without conditional writes: it
 * reports { write: false, delete: false } and refuses If-Match / If-None-Match, as dosna's S3 store
 * does on such an endpoint. Used to exercise the repository's writer lease, which only such stores need.
 */
import * as dn from "../../src/index.js";
import type { ConditionalSupport, DeleteOptions, SetOptions } from "../../src/index.js";

export class UnconditionalStore extends dn.FileSystemStore {
  override async set(key: string, value: Uint8Array, options: SetOptions = {}): Promise<string> {
    if (options.ifMatch !== undefined || options.ifNoneMatch) {
      throw new dn.ValidationError(`conditional set of ${JSON.stringify(key)} refused: this store has no conditional writes`);
    }
    return super.set(key, value, options);
  }

  override async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    if (options.ifMatch !== undefined) throw new dn.ValidationError(`conditional delete of ${JSON.stringify(key)} refused: this store has no conditional deletes`);
    return super.delete(key, options);
  }

  async conditionalSupport(): Promise<ConditionalSupport> {
    return { write: false, delete: false };
  }
}

/** A pool on an UnconditionalStore rooted at `directory` (created by the first call). */
export async function unconditionalPool(directory: string): Promise<dn.Pool> {
  const store = new UnconditionalStore(directory);
  if ((await store.get("zarr.json")) === undefined) {
    await store.set("zarr.json", new TextEncoder().encode(JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} })));
  }
  return dn.Pool.open(store, { name: directory });
}
