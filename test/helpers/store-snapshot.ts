/** Every key of a store with its bytes, to prove that a failed operation changed nothing. */
import { expect } from "vitest";
import type { Store } from "../../src/index.js";

export type StoreSnapshot = Map<string, string>;

export async function snapshotStore(store: Store, prefix = ""): Promise<StoreSnapshot> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  keys.sort();
  const snapshot: StoreSnapshot = new Map();
  for (const key of keys) {
    const bytes = await store.get(key);
    snapshot.set(key, bytes === undefined ? "<vanished>" : Buffer.from(bytes).toString("base64"));
  }
  return snapshot;
}

/** Assert `store` holds exactly the keys and bytes of `before`. */
export async function expectStoreUnchanged(store: Store, before: StoreSnapshot): Promise<void> {
  const after = await snapshotStore(store);
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [key, bytes] of before) expect(after.get(key), `bytes of ${key}`).toBe(bytes);
}
