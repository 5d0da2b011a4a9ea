/**
 * The contract every Store and Backend must meet, as reusable vitest suites. A backend's test
 * file calls `runStoreConformance` / `runBackendConformance` with a factory; nothing here knows
 * which backend it is testing.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import pLimit from "p-limit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortedError, AlreadyExistsError, NotFoundError, PreconditionFailedError, StorageError, ValidationError } from "../../src/errors.js";
import type { Backend, ByteRange, DirectoryListing, Store } from "../../src/store/store.js";

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;
export type BackendFactory = () => Promise<{ backend: Backend; cleanup: () => Promise<void> }>;

/** Generous: the same suite runs against remote S3 servers. */
const SLOW_TEST_MS = 120_000;

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const key of keys) all.push(key);
  return all;
}

export function randomData(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Byte-for-byte equality with a short failure message (a 3 MiB diff helps nobody). */
export function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  const bytes = actual as Uint8Array;
  expect(bytes.length).toBe(expected.length);
  const firstDifference = bytes.findIndex((value, index) => value !== expected[index]);
  expect(firstDifference, "index of the first differing byte").toBe(-1);
}

/** Expects `promise` to reject with `errorClass` and a message containing every one of `mentions`. */
export async function expectRejection(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => Error,
  ...mentions: string[]
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, "the promise should have rejected").toBeInstanceOf(errorClass);
  for (const mention of mentions) expect((error as Error).message).toContain(mention);
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

/** The bytes `range` selects, by the S3/HTTP rules, computed with Uint8Array.slice's own clamping. */
function referenceRange(data: Uint8Array, byteRange: ByteRange): Uint8Array {
  if ("suffixLength" in byteRange) return data.slice(Math.max(0, data.length - byteRange.suffixLength));
  const end = byteRange.length === undefined ? data.length : byteRange.offset + byteRange.length;
  return data.slice(byteRange.offset, end);
}

/** listDir computed by brute force from the full set of keys. */
function referenceListDir(keys: Iterable<string>, prefix: string): DirectoryListing {
  const direct = new Set<string>();
  const prefixes = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length).split("/");
    if (rest.length === 1) direct.add(key);
    else prefixes.add(prefix + rest[0]);
  }
  return { keys: sorted(direct), prefixes: sorted(prefixes) };
}

function normalisedListing(listing: DirectoryListing): DirectoryListing {
  return { keys: sorted(listing.keys), prefixes: sorted(listing.prefixes) };
}

async function setAll(store: Store, entries: [string, Uint8Array][], concurrency = 32): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(entries.map(([key, value]) => limit(() => store.set(key, value))));
}

/** Keys of one fixture that exercise prefixes sharing leading characters ("a/" vs "ab/" vs "abc"). */
const NESTED_KEYS = ["a/x", "a/b/y", "a/b/c/z", "ab/x", "abc", "b/x", "zarr.json", "a/.zattrs"];

const INVALID_KEYS = ["", "/a", "a/", "a//b", "a/../b", "..", "../x", "./a", "a/.", "a\\b", "a\0b"];

export function runStoreConformance(name: string, makeStore: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    it("has a description", () => {
      expect(typeof store.description).toBe("string");
      expect(store.description.length).toBeGreaterThan(0);
    });

    describe("get and set", () => {
      it("gets undefined for a missing key, flat or nested", async () => {
        expect(await store.get("missing")).toBeUndefined();
        expect(await store.get("no/such/nested/key")).toBeUndefined();
      });

      it.each([
        ["0 bytes", 0],
        ["1 byte", 1],
        ["3 MiB", 3 * 1024 * 1024],
      ])("round-trips %s", async (_label, length) => {
        const data = randomData(length);
        await store.set("round/trip", data);
        expectSameBytes(await store.get("round/trip"), data);
      }, SLOW_TEST_MS);

      it("overwrites, including with shorter data", async () => {
        await store.set("k", randomData(1000));
        const replacement = randomData(10);
        await store.set("k", replacement);
        expectSameBytes(await store.get("k"), replacement);
      });

      it("stores only the bytes of a Uint8Array view, not its whole buffer", async () => {
        const backing = randomData(64);
        const view = new Uint8Array(backing.buffer, 3, 5);
        await store.set("view", view);
        expectSameBytes(await store.get("view"), backing.slice(3, 8));
      });

      it("does not alias the caller's buffers, on set or on get", async () => {
        const data = bytesOf(1, 2, 3, 4);
        await store.set("alias", data);
        data[0] = 99;
        expectSameBytes(await store.get("alias"), bytesOf(1, 2, 3, 4));
        const fetched = (await store.get("alias")) as Uint8Array;
        fetched[1] = 99;
        expectSameBytes(await store.get("alias"), bytesOf(1, 2, 3, 4));
        const ranged = (await store.get("alias", { offset: 1, length: 2 })) as Uint8Array;
        ranged[0] = 99;
        expectSameBytes(await store.get("alias"), bytesOf(1, 2, 3, 4));
      });

      it("accepts dot-names and zarr chunk keys", async () => {
        await store.set("group/.zattrs", bytesOf(1));
        await store.set("group/array/c/0/1/2", bytesOf(2));
        expectSameBytes(await store.get("group/.zattrs"), bytesOf(1));
        expectSameBytes(await store.get("group/array/c/0/1/2"), bytesOf(2));
      });
    });

    describe("byte ranges", () => {
      const data = Uint8Array.from(range(100));
      beforeEach(async () => {
        await store.set("ranged", data);
        await store.set("empty", new Uint8Array(0));
      });

      it.each<[string, ByteRange, number[]]>([
        ["offset only", { offset: 90 }, range(10).map((i) => 90 + i)],
        ["offset and length", { offset: 10, length: 5 }, [10, 11, 12, 13, 14]],
        ["suffix", { suffixLength: 3 }, [97, 98, 99]],
        ["length past the end, truncated", { offset: 97, length: 10 }, [97, 98, 99]],
        ["suffix longer than the object, whole object", { suffixLength: 1000 }, range(100)],
        ["offset at the end, empty", { offset: 100 }, []],
        ["offset past the end, empty", { offset: 150, length: 3 }, []],
        ["length 0, empty", { offset: 5, length: 0 }, []],
        ["suffix 0, empty", { suffixLength: 0 }, []],
      ])("%s", async (_label, byteRange, expected) => {
        expectSameBytes(await store.get("ranged", byteRange), Uint8Array.from(expected));
      });

      it("reads ranges of an empty object as empty", async () => {
        expectSameBytes(await store.get("empty", { offset: 0 }), new Uint8Array(0));
        expectSameBytes(await store.get("empty", { suffixLength: 4 }), new Uint8Array(0));
      });

      it("gets undefined for a range of a missing key", async () => {
        expect(await store.get("missing", { offset: 0, length: 4 })).toBeUndefined();
        expect(await store.get("missing", { suffixLength: 4 })).toBeUndefined();
      });

      it("rejects negative and fractional range numbers", async () => {
        const invalid: ByteRange[] = [
          { offset: -1 },
          { offset: 1.5 },
          { offset: 0, length: -2 },
          { suffixLength: -1 },
          { offset: Number.NaN },
        ];
        for (const byteRange of invalid) {
          await expectRejection(store.get("ranged", byteRange), ValidationError, '"ranged"');
        }
      });

      it("matches a reference on random ranges", async () => {
        const short = randomData(37);
        await store.set("short", short);
        const byteRangeArbitrary: fc.Arbitrary<ByteRange> = fc.oneof(
          fc.record({ offset: fc.nat(45) }),
          fc.record({ offset: fc.nat(45), length: fc.nat(45) }),
          fc.record({ suffixLength: fc.nat(45) }),
        );
        await fc.assert(
          fc.asyncProperty(byteRangeArbitrary, async (byteRange) => {
            expectSameBytes(await store.get("short", byteRange), referenceRange(short, byteRange));
          }),
          { numRuns: 60 },
        );
      }, SLOW_TEST_MS);
    });

    describe("ifNoneMatch", () => {
      it("creates once, then fails with PreconditionFailedError naming the key and keeps the first value", async () => {
        await store.set("once/key", bytesOf(1), { ifNoneMatch: true });
        await expectRejection(store.set("once/key", bytesOf(2), { ifNoneMatch: "*" }), PreconditionFailedError, "once/key", "already exists");
        expectSameBytes(await store.get("once/key"), bytesOf(1));
      });

      it("lets exactly one of 16 concurrent creators win, and stores the winner's bytes", async () => {
        // Several rounds, because a check-then-write implementation can get lucky once.
        for (let round = 0; round < 10; round++) {
          const key = `contested/${round}/key`;
          const payloads = range(16).map((i) => randomData(1024 + i));
          const outcomes = await Promise.allSettled(
            payloads.map((payload) => store.set(key, payload, { ifNoneMatch: true })),
          );
          const winners = outcomes.flatMap((outcome, index) => (outcome.status === "fulfilled" ? [index] : []));
          expect(winners, `winners of round ${round}`).toHaveLength(1);
          for (const outcome of outcomes) {
            if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
          }
          expectSameBytes(await store.get(key), payloads[winners[0]]);
        }
      }, SLOW_TEST_MS);

      it("creates again after the key was deleted", async () => {
        await store.set("recreate", bytesOf(1), { ifNoneMatch: true });
        await store.delete("recreate");
        await store.set("recreate", bytesOf(2), { ifNoneMatch: true });
        expectSameBytes(await store.get("recreate"), bytesOf(2));
      });
    });

    describe("versions and conditional requests", () => {
      it("getVersioned returns the bytes with a token, and undefined for a missing key", async () => {
        const value = randomData(300);
        const written = await store.set("v/key", value);
        const got = await store.getVersioned("v/key");
        expectSameBytes(got?.bytes, value);
        expect(typeof got?.version).toBe("string");
        expect(got!.version.length).toBeGreaterThan(0);
        expect(got!.version, "set returns the version getVersioned then reports").toBe(written);
        expect(await store.getVersioned("v/missing")).toBeUndefined();
        expect(await store.getVersioned("v/no/such/nested")).toBeUndefined();
      });

      it("getVersioned of a byte range gives those bytes and the whole object's version", async () => {
        const value = randomData(1000);
        const version = await store.set("v/ranged", value);
        const head = await store.getVersioned("v/ranged", { range: { offset: 10, length: 20 } });
        expectSameBytes(head?.bytes, value.slice(10, 30));
        expect(head?.version).toBe(version);
        const tail = await store.getVersioned("v/ranged", { range: { suffixLength: 16 } });
        expectSameBytes(tail?.bytes, value.slice(984));
        expect(tail?.version).toBe(version);
        expect(await store.getVersioned("v/ranged-missing", { range: { offset: 0, length: 4 } })).toBeUndefined();
      });

      it("get with ifMatch reads the version asked for, and refuses a changed or deleted object", async () => {
        const value = randomData(500);
        const version = await store.set("v/pinned", value);
        expectSameBytes(await store.get("v/pinned", { offset: 100, length: 50 }, { ifMatch: version }), value.slice(100, 150));
        await store.set("v/pinned", randomData(500));
        await expectRejection(store.get("v/pinned", { offset: 100, length: 50 }, { ifMatch: version }), PreconditionFailedError, "v/pinned");
        await store.delete("v/pinned");
        await expectRejection(store.get("v/pinned", undefined, { ifMatch: version }), PreconditionFailedError, "v/pinned");
      });

      it("the token changes on every replace with other bytes", async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          await store.set("v/changing", randomData(64 + (i % 2)));
          seen.add((await store.getVersioned("v/changing"))!.version);
        }
        expect(seen.size).toBe(6);
      });

      it("ifMatch replaces when the version is current, and returns the new version", async () => {
        const first = await store.set("v/cas", bytesOf(1));
        const second = await store.set("v/cas", bytesOf(2), { ifMatch: first });
        expect(second).not.toBe(first);
        expectSameBytes(await store.get("v/cas"), bytesOf(2));
        expect((await store.getVersioned("v/cas"))!.version).toBe(second);
        await store.set("v/cas", bytesOf(3), { ifMatch: second });
        expectSameBytes(await store.get("v/cas"), bytesOf(3));
      });

      it("ifMatch with a stale version fails with PreconditionFailedError naming the key and writes nothing", async () => {
        const first = await store.set("v/stale", bytesOf(1));
        await store.set("v/stale", bytesOf(2));
        await expectRejection(store.set("v/stale", bytesOf(9), { ifMatch: first }), PreconditionFailedError, "v/stale");
        expectSameBytes(await store.get("v/stale"), bytesOf(2));
      });

      it("ifMatch on a missing or deleted key fails and creates nothing", async () => {
        const first = await store.set("v/gone", bytesOf(1));
        await store.delete("v/gone");
        await expectRejection(store.set("v/gone", bytesOf(2), { ifMatch: first }), PreconditionFailedError, "v/gone");
        expect(await store.get("v/gone")).toBeUndefined();
        await expectRejection(store.set("v/never", bytesOf(2), { ifMatch: first }), PreconditionFailedError, "v/never");
        expect(await store.get("v/never")).toBeUndefined();
      });

      it("refuses an empty ifMatch token and ifMatch combined with ifNoneMatch", async () => {
        await expectRejection(store.set("v/bad", bytesOf(1), { ifMatch: "" }), ValidationError, "ifMatch", "v/bad");
        await expectRejection(store.set("v/bad", bytesOf(1), { ifMatch: "x", ifNoneMatch: "*" }), ValidationError, "v/bad");
        expect(await store.get("v/bad")).toBeUndefined();
      });

      it("delete with ifMatch deletes the current version and refuses a stale one (where the backend enforces it)", async () => {
        const support = (await store.conditionalSupport?.()) ?? { write: true, delete: true };
        expect(support.write).toBe(true);
        const first = await store.set("v/del", bytesOf(1));
        const second = await store.set("v/del", bytesOf(2));
        if (!support.delete) {
          // The backend would delete regardless of the condition: the store refuses rather than pretend.
          await expectRejection(store.delete("v/del", { ifMatch: first }), StorageError, "v/del", "DELETE");
          expectSameBytes(await store.get("v/del"), bytesOf(2));
          return;
        }
        await expectRejection(store.delete("v/del", { ifMatch: first }), PreconditionFailedError, "v/del");
        expectSameBytes(await store.get("v/del"), bytesOf(2));
        await store.delete("v/del", { ifMatch: second });
        expect(await store.get("v/del")).toBeUndefined();
        await expectRejection(store.delete("v/del", { ifMatch: second }), PreconditionFailedError, "v/del");
      });

      it("of 16 concurrent ifMatch writers of one version exactly one wins, round after round", async () => {
        const key = "v/contested";
        let version = await store.set(key, randomData(16));
        for (let round = 0; round < 8; round++) {
          const payloads = range(16).map((i) => randomData(512 + i));
          const outcomes = await Promise.allSettled(payloads.map((payload) => store.set(key, payload, { ifMatch: version })));
          const winners = outcomes.flatMap((outcome, index) => (outcome.status === "fulfilled" ? [index] : []));
          expect(winners, `winners of round ${round}`).toHaveLength(1);
          for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
          const stored = await store.getVersioned(key);
          expectSameBytes(stored?.bytes, payloads[winners[0]]);
          version = stored!.version;
          expect((outcomes[winners[0]] as PromiseFulfilledResult<string>).value).toBe(version);
        }
      }, SLOW_TEST_MS);

      it("16 concurrent read-modify-write loops on one counter lose no increment", async () => {
        const key = "v/counter";
        await store.set(key, new TextEncoder().encode("0"));
        const perWriter = 3;
        const increment = async () => {
          for (let done = 0; done < perWriter; ) {
            const current = (await store.getVersioned(key))!;
            const next = Number(new TextDecoder().decode(current.bytes)) + 1;
            try {
              await store.set(key, new TextEncoder().encode(String(next)), { ifMatch: current.version });
              done++;
            } catch (error) {
              if (!(error instanceof PreconditionFailedError)) throw error;
            }
          }
        };
        await Promise.all(range(16).map(increment));
        expect(new TextDecoder().decode(await store.get(key))).toBe(String(16 * perWriter));
      }, SLOW_TEST_MS);
    });

    describe("delete", () => {
      it("deletes an existing key and leaves its siblings", async () => {
        await store.set("d/one", bytesOf(1));
        await store.set("d/two", bytesOf(2));
        await store.delete("d/one");
        expect(await store.get("d/one")).toBeUndefined();
        expectSameBytes(await store.get("d/two"), bytesOf(2));
        expect(await collect(store.list("d/"))).toEqual(["d/two"]);
      });

      it("deleting a missing key is not an error", async () => {
        await expect(store.delete("never/was")).resolves.toBeUndefined();
      });

      it("leaves no empty directory behind in listings", async () => {
        await store.set("deep/er/est/key", bytesOf(1));
        await store.set("kept", bytesOf(2));
        await store.delete("deep/er/est/key");
        expect(normalisedListing(await store.listDir(""))).toEqual({ keys: ["kept"], prefixes: [] });
        expect(await store.listDir("deep/")).toEqual({ keys: [], prefixes: [] });
      });

      it("deleteMany removes 1500 keys, tolerates missing ones, and keeps the rest", async () => {
        const doomed = range(1500).map((i) => `many/${i % 7}/k${i}`);
        const kept = ["many/kept", "other/kept", "top"];
        await setAll(store, [...doomed, ...kept].map((key) => [key, bytesOf(key.length % 256)]));
        await store.deleteMany([...doomed, "many/never/existed"]);
        expect(sorted(await collect(store.list("")))).toEqual(sorted(kept));
        await store.deleteMany([]);
        expect(sorted(await collect(store.list("")))).toEqual(sorted(kept));
      }, SLOW_TEST_MS);

      it("deleteMany validates every key before deleting any", async () => {
        await store.set("survivor", bytesOf(1));
        await expectRejection(store.deleteMany(["survivor", "bad//key"]), ValidationError, "bad//key");
        expectSameBytes(await store.get("survivor"), bytesOf(1));
      });
    });

    describe("list and listDir", () => {
      beforeEach(async () => {
        await setAll(store, NESTED_KEYS.map((key) => [key, bytesOf(1)]));
      });

      it.each<[string, string[]]>([
        ["", NESTED_KEYS],
        ["a/", ["a/x", "a/b/y", "a/b/c/z", "a/.zattrs"]],
        ["a", ["a/x", "a/b/y", "a/b/c/z", "a/.zattrs", "ab/x", "abc"]],
        ["ab", ["ab/x", "abc"]],
        ["a/b", ["a/b/y", "a/b/c/z"]],
        ["a/b/c/z", ["a/b/c/z"]],
        ["a/.", ["a/.zattrs"]],
        ["z", ["zarr.json"]],
        ["nothing/", []],
        ["a/b/c/z/", []],
      ])("list(%j) gives exactly the matching keys", async (prefix, expected) => {
        const listed = await collect(store.list(prefix));
        expect(listed.length, "no key is listed twice").toBe(new Set(listed).size);
        expect(sorted(listed)).toEqual(sorted(expected));
      });

      it.each(["", "a/", "a/b/", "a/b/c/", "ab/", "nothing/"])("listDir(%j) matches a brute-force reference", async (prefix) => {
        expect(normalisedListing(await store.listDir(prefix))).toEqual(referenceListDir(NESTED_KEYS, prefix));
      });

      it("listDir separates keys from sub-directories", async () => {
        expect(normalisedListing(await store.listDir("a/"))).toEqual({
          keys: ["a/.zattrs", "a/x"],
          prefixes: ["a/b"],
        });
      });

      it("rejects a listDir prefix without a trailing slash", async () => {
        await expectRejection(store.listDir("a"), ValidationError, '"a"');
      });

      it("lists more than 1000 keys (one S3 page)", async () => {
        const keys = range(1200).map((i) => `big/${String(i).padStart(4, "0")}`);
        await setAll(store, keys.map((key) => [key, new Uint8Array(0)]));
        const listed = await collect(store.list("big/"));
        expect(listed).toHaveLength(1200);
        expect(sorted(listed)).toEqual(keys);
        expect(normalisedListing(await store.listDir("big/")).keys).toEqual(keys);
      }, SLOW_TEST_MS);
    });

    describe("key validation", () => {
      it.each(INVALID_KEYS)("rejects key %j in get, set, delete and deleteMany", async (key) => {
        const shown = JSON.stringify(key);
        await expectRejection(store.get(key), ValidationError, shown);
        await expectRejection(store.set(key, bytesOf(1)), ValidationError, shown);
        await expectRejection(store.set(key, bytesOf(1), { ifNoneMatch: true }), ValidationError, shown);
        await expectRejection(store.delete(key), ValidationError, shown);
        await expectRejection(store.deleteMany([key]), ValidationError, shown);
      });

      it.each(["/a", "../", "a/../", "a//", "a\\b", "\0"])("rejects list prefix %j", async (prefix) => {
        await expectRejection(collect(store.list(prefix)), ValidationError, JSON.stringify(prefix));
      });

      it("nothing was stored by the rejected calls", async () => {
        for (const key of INVALID_KEYS) await store.set(key, bytesOf(1)).catch(() => undefined);
        expect(await collect(store.list(""))).toEqual([]);
      });
    });

    describe("cancellation", () => {
      it("fails with AbortedError when the signal has fired", async () => {
        await store.set("present", bytesOf(1));
        const controller = new AbortController();
        controller.abort();
        const signal = controller.signal;
        await expectRejection(store.get("present", undefined, { signal }), AbortedError, "present");
        await expectRejection(store.set("present", bytesOf(2), { signal }), AbortedError, "present");
        await expectRejection(store.delete("present", { signal }), AbortedError, "present");
        expectSameBytes(await store.get("present"), bytesOf(1));
      });
    });

    describe("concurrency", () => {
      it("64 concurrent sets into the same new directory all land", async () => {
        const entries = range(64).map((i): [string, Uint8Array] => [`fresh/dir/sub/k${i}`, randomData(100 + i)]);
        await Promise.all(entries.map(([key, value]) => store.set(key, value)));
        expect(sorted(await collect(store.list("fresh/")))).toEqual(sorted(entries.map(([key]) => key)));
        for (const [key, value] of entries) expectSameBytes(await store.get(key), value);
      }, SLOW_TEST_MS);

      it("sets and deletes racing in the same directories never fail", async () => {
        // Churning keys sit in directories of their own that share parents, so each delete prunes
        // directories that other writers are about to write into.
        const churnKeys = range(8).map((i) => `race/a/b${i % 2}/c${i}/churn`);
        const stayEntries = range(8).map((i): [string, Uint8Array] => [
          i % 2 === 0 ? `race/a/b${i % 4}/stay${i}` : `race/a/stay${i}`,
          randomData(50 + i),
        ]);
        const churn = async (key: string) => {
          for (let cycle = 0; cycle < 10; cycle++) {
            await store.set(key, randomData(64), { ifNoneMatch: cycle % 2 === 0 });
            await store.delete(key);
          }
        };
        const stay = async ([key, value]: [string, Uint8Array], index: number) => {
          for (let cycle = 0; cycle < 4; cycle++) {
            await store.set(key, randomData(10));
            await store.delete(key);
          }
          await store.set(key, value, { ifNoneMatch: index % 2 === 1 });
        };
        await Promise.all([...churnKeys.map(churn), ...stayEntries.map(stay)]);
        expect(sorted(await collect(store.list("race/")))).toEqual(sorted(stayEntries.map(([key]) => key)));
        for (const [key, value] of stayEntries) expectSameBytes(await store.get(key), value);
      }, SLOW_TEST_MS);
    });

    describe("against a Map model", () => {
      // Leaf names never double as directory names, so every backend (files included) can hold all of them.
      const modelKeys = ["k0", "x/k1", "x/k2", "x/y/k3", "z/k4", "x/y/z/k5"];
      const listPrefixes = ["", "x", "x/", "x/y/", "x/k", "z/", "k", "q/"];
      const dirPrefixes = ["", "x/", "x/y/", "x/y/z/", "z/", "q/"];
      const keyArbitrary = fc.constantFrom(...modelKeys);
      const valueArbitrary = fc.uint8Array({ maxLength: 24 });
      type Operation =
        | { kind: "set" | "create" | "replace"; key: string; value: Uint8Array }
        | { kind: "delete" | "get"; key: string }
        | { kind: "deleteMany"; keys: string[] }
        | { kind: "list" | "listDir"; prefix: string };
      const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
        fc.record({ kind: fc.constant("set" as const), key: keyArbitrary, value: valueArbitrary }),
        fc.record({ kind: fc.constant("create" as const), key: keyArbitrary, value: valueArbitrary }),
        fc.record({ kind: fc.constant("replace" as const), key: keyArbitrary, value: valueArbitrary }),
        fc.record({ kind: fc.constant("delete" as const), key: keyArbitrary }),
        fc.record({ kind: fc.constant("get" as const), key: keyArbitrary }),
        fc.record({ kind: fc.constant("deleteMany" as const), keys: fc.subarray(modelKeys) }),
        fc.record({ kind: fc.constant("list" as const), prefix: fc.constantFrom(...listPrefixes) }),
        fc.record({ kind: fc.constant("listDir" as const), prefix: fc.constantFrom(...dirPrefixes) }),
      );

      async function applyAndCompare(model: Map<string, Uint8Array>, operation: Operation): Promise<void> {
        switch (operation.kind) {
          case "set":
            await store.set(operation.key, operation.value);
            model.set(operation.key, operation.value);
            break;
          case "create":
            if (model.has(operation.key)) {
              await expectRejection(store.set(operation.key, operation.value, { ifNoneMatch: true }), PreconditionFailedError);
            } else {
              await store.set(operation.key, operation.value, { ifNoneMatch: true });
              model.set(operation.key, operation.value);
            }
            break;
          case "replace": {
            // A compare-and-swap from the version just read succeeds; one from a stale token never does.
            const current = await store.getVersioned(operation.key);
            expect(current === undefined).toBe(!model.has(operation.key));
            if (current === undefined) {
              await expectRejection(store.set(operation.key, operation.value, { ifMatch: "not-a-version" }), PreconditionFailedError);
              break;
            }
            await store.set(operation.key, operation.value, { ifMatch: current.version });
            await expectRejection(store.set(operation.key, operation.value, { ifMatch: current.version + "0" }), PreconditionFailedError);
            model.set(operation.key, operation.value);
            break;
          }
          case "delete":
            await store.delete(operation.key);
            model.delete(operation.key);
            break;
          case "deleteMany":
            await store.deleteMany(operation.keys);
            for (const key of operation.keys) model.delete(key);
            break;
          case "get": {
            const expected = model.get(operation.key);
            const actual = await store.get(operation.key);
            if (expected === undefined) expect(actual).toBeUndefined();
            else expectSameBytes(actual, expected);
            break;
          }
          case "list":
            expect(sorted(await collect(store.list(operation.prefix)))).toEqual(
              sorted([...model.keys()].filter((key) => key.startsWith(operation.prefix))),
            );
            break;
          case "listDir":
            expect(normalisedListing(await store.listDir(operation.prefix))).toEqual(
              referenceListDir(model.keys(), operation.prefix),
            );
            break;
        }
      }

      it("random sequences of operations agree with the model", async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(operationArbitrary, { maxLength: 25 }), async (operations) => {
            await store.deleteMany(await collect(store.list("")));
            const model = new Map<string, Uint8Array>();
            for (const operation of operations) await applyAndCompare(model, operation);
          }),
          { numRuns: 30 },
        );
      }, SLOW_TEST_MS);
    });
  });
}

function uniquePoolName(): string {
  // Lowercase letters, digits and "-" only, so the same names are valid S3 bucket names.
  return `dosna-conformance-${randomBytes(5).toString("hex")}`;
}

export function runBackendConformance(name: string, makeBackend: BackendFactory): void {
  describe(`Backend conformance: ${name}`, () => {
    let backend: Backend;
    let cleanup: () => Promise<void>;
    let created: string[];

    async function createPool(): Promise<string> {
      const poolName = uniquePoolName();
      await backend.createPool(poolName);
      created.push(poolName);
      return poolName;
    }

    async function emptyAndDelete(poolName: string): Promise<void> {
      const store = backend.openPool(poolName);
      await store.deleteMany(await collect(store.list("")));
      await backend.deletePool(poolName);
    }

    beforeEach(async () => {
      ({ backend, cleanup } = await makeBackend());
      created = [];
    });
    afterEach(async () => {
      for (const poolName of created) {
        if (await backend.hasPool(poolName)) await emptyAndDelete(poolName);
      }
      await cleanup();
    });

    it("has a description", () => {
      expect(typeof backend.description).toBe("string");
      expect(backend.description.length).toBeGreaterThan(0);
    });

    it("creates a pool that then exists and is listed", async () => {
      const poolName = uniquePoolName();
      expect(await backend.hasPool(poolName)).toBe(false);
      expect(await backend.listPools()).not.toContain(poolName);
      await backend.createPool(poolName);
      created.push(poolName);
      expect(await backend.hasPool(poolName)).toBe(true);
      expect(await backend.listPools()).toContain(poolName);
    });

    it("refuses to create a pool twice, naming it", async () => {
      const poolName = await createPool();
      await expectRejection(backend.createPool(poolName), AlreadyExistsError, poolName);
    });

    it("deletes an emptied pool", async () => {
      const poolName = await createPool();
      await backend.openPool(poolName).set("k", bytesOf(1));
      await emptyAndDelete(poolName);
      expect(await backend.hasPool(poolName)).toBe(false);
      expect(await backend.listPools()).not.toContain(poolName);
    });

    it("fails with NotFoundError naming a missing pool on delete", async () => {
      const poolName = uniquePoolName();
      await expectRejection(backend.deletePool(poolName), NotFoundError, poolName);
    });

    it("opens stores that round-trip data and are isolated from each other", async () => {
      const first = await createPool();
      const second = await createPool();
      const firstStore = backend.openPool(first);
      const secondStore = backend.openPool(second);
      await firstStore.set("shared/key", bytesOf(1));
      await secondStore.set("shared/key", bytesOf(2));
      await firstStore.set("only/first", bytesOf(3));
      expectSameBytes(await firstStore.get("shared/key"), bytesOf(1));
      expectSameBytes(await secondStore.get("shared/key"), bytesOf(2));
      expect(await secondStore.get("only/first")).toBeUndefined();
      expect(sorted(await collect(secondStore.list("")))).toEqual(["shared/key"]);
      expectSameBytes(await backend.openPool(first).get("only/first"), bytesOf(3));
    });

    // Names every backend refuses, S3 included (its first segment is the bucket name).
    it.each(["", "/a", "a//b", ".hidden", "a\\b"])("rejects pool name %j", async (poolName) => {
      const shown = JSON.stringify(poolName);
      await expectRejection(backend.createPool(poolName), ValidationError, shown);
      await expectRejection(backend.hasPool(poolName), ValidationError, shown);
      await expectRejection(backend.deletePool(poolName), ValidationError, shown);
      expect(() => backend.openPool(poolName)).toThrow(ValidationError);
    });
  });
}

/**
 * Pool names that are malformed on every backend: empty, empty segments (leading, trailing or
 * doubled "/"), "." and ".." segments, segments starting with "." (the backends' own dot-names),
 * backslashes and NULs.
 */
export const INVALID_POOL_NAMES = [
  "",
  "/",
  "/a",
  "a/",
  "a/b/",
  "a//b",
  ".",
  "..",
  "../x",
  "a/..",
  "a/./b",
  "a/../b",
  ".hidden",
  "a/.hidden",
  "a/b/.deleting-c-0123456789ab",
  "a\\b",
  "a/b\\c",
  "a\0b",
];

/**
 * Pools with nested names ("a/b/c"), for the backends whose nested pools are plain pools:
 * created, listed by name, deleted and validated like top-level ones. (S3Backend's "bucket/prefix"
 * pools follow S3's own rules, tested with it: such a pool exists once its root zarr.json does.)
 */
export function runNestedPoolConformance(name: string, makeBackend: BackendFactory): void {
  describe(`Nested pool names: ${name}`, () => {
    let backend: Backend;
    let cleanup: () => Promise<void>;

    async function emptyAndDelete(poolName: string): Promise<void> {
      const store = backend.openPool(poolName);
      await store.deleteMany(await collect(store.list("")));
      await backend.deletePool(poolName);
    }

    beforeEach(async () => {
      ({ backend, cleanup } = await makeBackend());
    });
    afterEach(async () => {
      await cleanup();
    });

    it("creates a nested pool that then exists and round-trips data through its store", async () => {
      expect(await backend.hasPool("a/b/c")).toBe(false);
      await backend.createPool("a/b/c");
      expect(await backend.hasPool("a/b/c")).toBe(true);
      expect(await backend.hasPool("a/b/x")).toBe(false);
      expect(await backend.hasPool("a/b/c/d")).toBe(false);
      const store = backend.openPool("a/b/c");
      await store.set("group/zarr.json", bytesOf(1, 2, 3));
      expectSameBytes(await store.get("group/zarr.json"), bytesOf(1, 2, 3));
      expectSameBytes(await backend.openPool("a/b/c").get("group/zarr.json"), bytesOf(1, 2, 3));
      expect(await collect(store.list(""))).toEqual(["group/zarr.json"]);
    });

    it("creates the pool a path like a file name maps to", async () => {
      await backend.createPool("tmp/data.h5");
      await backend.openPool("tmp/data.h5").set("zarr.json", bytesOf(9));
      expect(await backend.hasPool("tmp/data.h5")).toBe(true);
      expectSameBytes(await backend.openPool("tmp/data.h5").get("zarr.json"), bytesOf(9));
    });

    it("refuses to create a nested pool twice, naming it", async () => {
      await backend.createPool("a/b/c");
      await expectRejection(backend.createPool("a/b/c"), AlreadyExistsError, '"a/b/c"');
    });

    it("keeps sibling nested pools apart and deletes only the one asked for", async () => {
      await backend.createPool("a/b/c");
      await backend.createPool("a/b/d");
      await backend.openPool("a/b/c").set("k", bytesOf(1));
      await backend.openPool("a/b/d").set("k", bytesOf(2));
      await backend.openPool("a/b/d").set("only/d", bytesOf(3));
      expect(sorted(await collect(backend.openPool("a/b/c").list("")))).toEqual(["k"]);

      await emptyAndDelete("a/b/c");
      expect(await backend.hasPool("a/b/c")).toBe(false);
      expect(await backend.hasPool("a/b/d")).toBe(true);
      expect(await backend.openPool("a/b/c").get("k")).toBeUndefined();
      expectSameBytes(await backend.openPool("a/b/d").get("k"), bytesOf(2));
      expectSameBytes(await backend.openPool("a/b/d").get("only/d"), bytesOf(3));
      expect(sorted(await collect(backend.openPool("a/b/d").list("")))).toEqual(["k", "only/d"]);
    });

    it("recreates a deleted nested pool empty", async () => {
      await backend.createPool("a/b/c");
      await backend.openPool("a/b/c").set("k", bytesOf(1));
      await emptyAndDelete("a/b/c");
      await backend.createPool("a/b/c");
      expect(await backend.openPool("a/b/c").get("k")).toBeUndefined();
    });

    it("fails with NotFoundError naming a missing nested pool on delete", async () => {
      await expectRejection(backend.deletePool("a/b/c"), NotFoundError, '"a/b/c"');
      await backend.createPool("a/b/d");
      await expectRejection(backend.deletePool("a/b/c"), NotFoundError, '"a/b/c"');
    });

    it.each(INVALID_POOL_NAMES)("rejects pool name %j with a ValidationError naming it", async (poolName) => {
      const shown = `invalid pool name ${JSON.stringify(poolName)}: `;
      await expectRejection(backend.createPool(poolName), ValidationError, shown);
      await expectRejection(backend.hasPool(poolName), ValidationError, shown);
      await expectRejection(backend.deletePool(poolName), ValidationError, shown);
      expect(() => backend.openPool(poolName)).toThrow(ValidationError);
      expect(() => backend.openPool(poolName)).toThrow(shown);
      expect(await backend.listPools()).toEqual([]);
    });
  });
}
