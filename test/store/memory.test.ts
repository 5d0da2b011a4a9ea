import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../src/errors.js";
import { MemoryBackend, MemoryStore } from "../../src/store/index.js";
import { expectRejection, expectSameBytes, runBackendConformance, runNestedPoolConformance, runStoreConformance } from "./conformance.js";

runStoreConformance("MemoryStore", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

runStoreConformance("MemoryBackend pool", async () => {
  const backend = new MemoryBackend();
  await backend.createPool("pool");
  return { store: backend.openPool("pool"), cleanup: async () => {} };
});

runBackendConformance("MemoryBackend", async () => ({ backend: new MemoryBackend(), cleanup: async () => {} }));

runNestedPoolConformance("MemoryBackend", async () => ({ backend: new MemoryBackend(), cleanup: async () => {} }));

describe("MemoryBackend pools", () => {
  it("a store opened before its pool is created sees the pool once it exists", async () => {
    const backend = new MemoryBackend();
    const early = backend.openPool("later");
    expect(await early.get("k")).toBeUndefined();
    await backend.createPool("later");
    await early.set("k", Uint8Array.of(7));
    expectSameBytes(await backend.openPool("later").get("k"), Uint8Array.of(7));
  });

  it("the store of a deleted pool reads nothing and refuses writes with NotFoundError", async () => {
    const backend = new MemoryBackend();
    await backend.createPool("gone");
    const store = backend.openPool("gone");
    await store.set("k", Uint8Array.of(1));
    await backend.deletePool("gone");
    expect(await store.get("k")).toBeUndefined();
    expect(await store.listDir("")).toEqual({ keys: [], prefixes: [] });
    await expectRejection(store.set("k", Uint8Array.of(2)), NotFoundError, '"k"', "memory:gone");
    expect(await backend.hasPool("gone")).toBe(false);
  });

  it("a recreated pool starts empty", async () => {
    const backend = new MemoryBackend();
    await backend.createPool("p");
    await backend.openPool("p").set("k", Uint8Array.of(1));
    await backend.deletePool("p");
    await backend.createPool("p");
    expect(await backend.openPool("p").get("k")).toBeUndefined();
  });

  it("lists pools sorted", async () => {
    const backend = new MemoryBackend();
    for (const name of ["b", "a", "c"]) await backend.createPool(name);
    expect(await backend.listPools()).toEqual(["a", "b", "c"]);
  });

  it("lists nested pools by their full names, and a nested name shares nothing with its parent name", async () => {
    const backend = new MemoryBackend();
    for (const name of ["a/b/d", "a/b/c", "a"]) await backend.createPool(name);
    expect(await backend.listPools()).toEqual(["a", "a/b/c", "a/b/d"]);
    expect(await backend.hasPool("a/b")).toBe(false);
    await backend.openPool("a/b/c").set("k", Uint8Array.of(1));
    expect(await backend.openPool("a").get("b/c/k")).toBeUndefined();
    await backend.deletePool("a");
    expect(await backend.listPools()).toEqual(["a/b/c", "a/b/d"]);
    expectSameBytes(await backend.openPool("a/b/c").get("k"), Uint8Array.of(1));
  });
});
