/**
 * What consolidated metadata costs and saves, counted in store calls: listings of a consolidated
 * v2 hierarchy come from one GET of `.zmetadata` (no LIST); deleting a subtree updates the
 * consolidated object twice (the subtree, then the group itself), not once per node; a v2 hierarchy without `.zmetadata` asks for it once,
 * not on every write; a v2 node's metadata is read without asking for the other kind's object.
 */
import { describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A v2 pool with a, g/b, g/c, g/d and, when `consolidate`, a `.zmetadata` describing them all (as zarr.consolidate_metadata writes). */
async function v2Pool(consolidate: boolean): Promise<dn.MemoryStore> {
  const store = new dn.MemoryStore();
  const pool = await dn.Pool.initialise(store, { name: "v2", zarrFormat: 2 });
  await pool.createDataset("a", { shape: [4], dtype: "int16", chunks: [2] });
  for (const name of ["g/b", "g/c", "g/d"]) await pool.createDataset(name, { shape: [3, 2], dtype: "float32", chunks: [3, 1] });
  await (await pool.getGroup("g")).attrs.set("level", 1);
  if (consolidate) {
    const metadata: Record<string, unknown> = {};
    for await (const key of store.list("")) if (/(^|\/)\.z(array|group|attrs)$/.test(key)) metadata[key] = JSON.parse(text(await store.get(key)));
    await store.set(".zmetadata", json({ zarr_consolidated_format: 1, metadata }));
  }
  return store;
}

function consolidatedNames(bytes: Uint8Array | undefined): string[] {
  return Object.keys((JSON.parse(text(bytes)) as { metadata: Record<string, unknown> }).metadata).sort();
}

describe("consolidated v2 hierarchies, counted", () => {
  it("listings come from one GET of .zmetadata; a node written behind its back opens by name but is not listed", async () => {
    const memory = await v2Pool(true);
    const store = new InstrumentedStore(memory);
    const pool = await dn.Pool.open(store, { name: "v2" });
    store.reset();
    expect(await pool.keys()).toEqual(["a", "g"]);
    expect(await pool.listDatasets()).toEqual(["a"]);
    const g = await pool.getGroup("g");
    expect(g.attrs.get("level")).toBe(1);
    store.reset();
    expect(await g.keys()).toEqual(["b", "c", "d"]);
    expect(store.count("list") + store.count("listDir")).toBe(0);
    expect(store.keysOf("get")).toEqual([".zmetadata"]);
    const visited: string[] = [];
    for await (const node of pool.visit()) visited.push(node.path);
    expect(visited).toEqual(["a", "g", "g/b", "g/c", "g/d"]);

    await memory.set("hidden/.zgroup", json({ zarr_format: 2 }));
    expect(await pool.keys()).toEqual(["a", "g"]);
    expect(await pool.hasGroup("hidden")).toBe(true);
  });

  // A group delete removes what is under it first and its own metadata last (so an interrupted
  // delete leaves a readable group): two updates however many nodes the subtree holds.
  it("deleting a group of 3 arrays updates .zmetadata twice (subtree, then the group) and drops all 4 nodes", async () => {
    const memory = await v2Pool(true);
    const store = new InstrumentedStore(memory);
    const pool = await dn.Pool.open(store, { name: "v2" });
    store.reset();
    await pool.delete("g");
    expect(store.count("set", ".zmetadata")).toBe(2);
    expect(consolidatedNames(await memory.get(".zmetadata"))).toEqual([".zgroup", "a/.zarray"]);
    expect(await pool.keys()).toEqual(["a"]);
    const left: string[] = [];
    for await (const key of memory.list("")) left.push(key);
    expect(left.sort()).toEqual([".zgroup", ".zmetadata", "a/.zarray"]);
  });

  it("without .zmetadata: asked for once in all, listings LIST, and node reads skip the other kind's object", async () => {
    const memory = await v2Pool(false);
    const store = new InstrumentedStore(memory);
    const pool = await dn.Pool.open(store, { name: "v2" });
    const a = await pool.getDataset("a");
    store.reset();
    for (let i = 0; i < 5; i++) await a.attrs.set(`k${i}`, i);
    await a.resize([6]);
    expect(store.count("get", ".zmetadata")).toBeLessThanOrEqual(1);
    expect(store.count("set", ".zmetadata")).toBe(0);
    expect(await memory.get(".zmetadata")).toBeUndefined();
    store.reset();
    expect(await pool.keys()).toEqual(["a", "g"]);
    expect(store.count("listDir")).toBe(1);
    store.reset();
    const again = await pool.getDataset("a");
    expect(again.shape).toEqual([6]);
    expect(store.count("get", "a/.zgroup")).toBe(0);
    expect(store.count("get", "a/.zarray")).toBe(1);
    expect(store.count("get", "a/.zattrs")).toBe(1);
  });
});

describe("consolidated v3 hierarchies, counted", () => {
  it("deleting a group of 3 arrays rewrites the root zarr.json twice (subtree, then the group) and drops all 4 members", async () => {
    const memory = new dn.MemoryStore();
    const pool0 = await dn.Pool.initialise(memory, { name: "c3" });
    for (const name of ["x", "g/b", "g/c", "g/d"]) await pool0.createDataset(name, { shape: [4], dtype: "uint8", chunks: [2] });
    const members: Record<string, unknown> = {};
    for (const path of ["x", "g", "g/b", "g/c", "g/d"]) members[path] = JSON.parse(text(await memory.get(`${path}/zarr.json`)));
    const rootDoc = JSON.parse(text(await memory.get("zarr.json"))) as Record<string, unknown>;
    await memory.set("zarr.json", json({ ...rootDoc, consolidated_metadata: { kind: "inline", must_understand: false, metadata: members } }));

    const store = new InstrumentedStore(memory);
    const pool = await dn.Pool.open(store, { name: "c3" });
    store.reset();
    await pool.delete("g");
    expect(store.count("set", "zarr.json")).toBe(2);
    const root = JSON.parse(text(await memory.get("zarr.json"))) as { consolidated_metadata: { metadata: Record<string, unknown> } };
    expect(Object.keys(root.consolidated_metadata.metadata)).toEqual(["x"]);
    expect(await pool.keys()).toEqual(["x"]);
  });
});
