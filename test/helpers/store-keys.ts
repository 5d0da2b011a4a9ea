/** What a pool actually holds, read straight from its store (independent of core/'s own listings). */
import type { Pool } from "../../src/index.js";

/** Every key under `prefix`, sorted. */
export async function storeKeys(pool: Pool, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of pool.store.list(prefix)) keys.push(key);
  return keys.sort();
}

/** The chunk keys (not zarr.json) stored for the array at `path`, sorted. */
export async function chunkKeysOf(pool: Pool, path: string): Promise<string[]> {
  return (await storeKeys(pool, `${path}/c/`)).sort();
}
