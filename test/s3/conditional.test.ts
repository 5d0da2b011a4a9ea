/**
 * Issue 8: conditional requests on S3. The endpoint is probed once per bucket for what it really
 * enforces; on RGW 16 that is If-Match / If-None-Match on PUT but not If-Match on DELETE. An
 * endpoint that accepts conditions and ignores them (played by a proxy in front of RGW that answers
 * conditional PUTs and DELETEs itself) makes every conditional set fail with one clear error,
 * unless the cluster says `writers: "one"`. 409 ConditionalRequestConflict and 404 on a conditional
 * PUT are precondition failures, as 412 is.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, PreconditionFailedError, StorageError } from "../../src/index.js";
import { createTransport, S3Backend, S3Store, s3ConnectionSchema, type S3ConnectionInput, type S3Transport } from "../../src/store/s3/index.js";
import { policyOf } from "../../src/store/s3/store.js";
import type { Store } from "../../src/store/store.js";
import { s3TestConfig, uniquePoolName } from "../helpers/clusters.js";
import { expectError, failureOf } from "../helpers/expect-error.js";
import { firstRequests, ignoringConditions, startFaultProxy, type FaultProxy, type ProxiedRequest } from "../helpers/fault-proxy.js";
import { deleteBucketThrough } from "../helpers/s3-fixtures.js";

const s3 = s3TestConfig();
const TRANSPORTS = ["aws", "minio"] as const;
const bytes = (...values: number[]) => Uint8Array.from(values);
const isProbe = (request: ProxiedRequest) => request.url.includes(".dosna/probe/") || request.url.includes(".dosna%2Fprobe%2F");

for (const transport of TRANSPORTS) {
  describe.skipIf(!s3)(`conditional requests through a proxy in front of RGW (${transport})`, () => {
    let proxy: FaultProxy;
    let admin: S3Backend;
    const bucket = uniquePoolName("cond");

    /** A backend through the proxy (so its requests are seen) with a fresh probe cache. */
    function backendWith(options: Partial<S3ConnectionInput> = {}): S3Backend {
      return new S3Backend(s3ConnectionSchema.parse({ ...s3, endpoint: proxy.url, transport, retryWindowMs: 0, ...options }));
    }

    beforeAll(async () => {
      proxy = await startFaultProxy(s3!.endpoint);
      admin = new S3Backend(s3ConnectionSchema.parse({ ...s3, transport }));
      await admin.createPool(bucket);
    });
    afterAll(async () => {
      if (admin) await deleteBucketThrough(admin, bucket);
      await admin?.close();
      await proxy?.close();
    });

    describe("on RGW as it is", () => {
      it("the probe finds conditional writes enforced and conditional deletes not, in 5 requests that leave nothing behind", async () => {
        const backend = backendWith();
        try {
          proxy.setPlan(() => undefined);
          const store = backend.openPool(bucket);
          expect(await store.conditionalSupport?.()).toEqual({ write: true, delete: false });
          expect(proxy.requests.map((r) => r.method)).toEqual(["PUT", "PUT", "PUT", "DELETE", "DELETE"]);
          expect(proxy.requests.every(isProbe)).toBe(true);
          expect(proxy.requests.map((r) => r.conditional)).toEqual([false, true, true, true, false]);
          const left: string[] = [];
          for await (const key of admin.openPool(bucket).list(".dosna/")) left.push(key);
          expect(left).toEqual([]);
        } finally {
          await backend.close();
        }
      });

      it("is probed once per bucket, shared by the stores of one backend and by concurrent first writers", async () => {
        const backend = backendWith();
        try {
          proxy.setPlan(() => undefined);
          const whole = backend.openPool(bucket);
          const inPrefix = backend.openPool(`${bucket}/some/prefix`);
          const sets = Array.from({ length: 8 }, (_, i) => (i % 2 ? whole : inPrefix).set(`shared/k${i}`, bytes(i), { ifNoneMatch: "*" }));
          await Promise.all(sets);
          await whole.conditionalSupport?.();
          await inPrefix.set("shared/again", bytes(9), { ifNoneMatch: "*" });
          expect(proxy.requests.filter(isProbe)).toHaveLength(5);
          expect(proxy.requests.filter((r) => !isProbe(r))).toHaveLength(9);
        } finally {
          await backend.close();
        }
      });

      it("a probe that fails is not remembered: the next conditional set probes again", async () => {
        const backend = backendWith({ maxRetries: 0 });
        try {
          const store = backend.openPool(bucket);
          proxy.setPlan(firstRequests(1, "reset"));
          await expectError(() => store.set("retry-probe/k", bytes(1), { ifNoneMatch: "*" }), StorageError, [".dosna/probe/", "ECONNRESET"]);
          expect(await admin.openPool(bucket).get("retry-probe/k")).toBeUndefined();
          proxy.setPlan(() => undefined);
          await store.set("retry-probe/k", bytes(2), { ifNoneMatch: "*" });
          expect(proxy.requests.filter(isProbe)).toHaveLength(5);
          expect(await admin.openPool(bucket).get("retry-probe/k")).toEqual(bytes(2));
        } finally {
          await backend.close();
        }
      });

      it("a caller's abort while the probe runs ends that caller only; the probe and the other callers carry on", async () => {
        const backend = backendWith();
        try {
          const store = backend.openPool(bucket);
          proxy.setPlan(() => undefined);
          const controller = new AbortController();
          const aborted = store.set("abort-probe/a", bytes(1), { ifNoneMatch: "*", signal: controller.signal });
          const patient = store.set("abort-probe/b", bytes(2), { ifNoneMatch: "*" });
          controller.abort();
          const error = await failureOf(() => aborted);
          expect(error).toBeInstanceOf(AbortedError);
          expect((error as Error).message).toContain("abort-probe/a");
          await patient;
          expect(await admin.openPool(bucket).get("abort-probe/b")).toEqual(bytes(2));
          expect(await admin.openPool(bucket).get("abort-probe/a")).toBeUndefined();
        } finally {
          await backend.close();
        }
      });

      it("a delete with ifMatch fails with a StorageError naming the key, the endpoint and DELETE, and deletes nothing", async () => {
        const backend = backendWith();
        try {
          const store = backend.openPool(bucket);
          const version = await store.set("no-cond-delete/k", bytes(1));
          proxy.setPlan(() => undefined);
          await store.conditionalSupport?.();
          const before = proxy.requests.length;
          const error = await expectError(() => store.delete("no-cond-delete/k", { ifMatch: version }), StorageError, [
            "no-cond-delete/k",
            `S3 endpoint ${proxy.url}`,
            "If-Match on DELETE",
            'writers: "one"',
          ]);
          expect(error).not.toBeInstanceOf(PreconditionFailedError);
          expect(proxy.requests.length, "no request was sent").toBe(before);
          expect(await store.get("no-cond-delete/k")).toEqual(bytes(1));
        } finally {
          await backend.close();
        }
      });

      it('with writers: "one" nothing is probed, and a conditional delete is sent as it is (RGW then deletes whatever the version)', async () => {
        const backend = backendWith({ writers: "one" });
        try {
          const store = backend.openPool(bucket);
          await store.set("one-writer/k", bytes(1));
          proxy.setPlan(() => undefined);
          expect(await store.conditionalSupport?.()).toEqual({ write: true, delete: true });
          await store.delete("one-writer/k", { ifMatch: "00000000000000000000000000000000" });
          expect(proxy.requests.map((r) => [r.method, r.conditional])).toEqual([["DELETE", true]]);
          expect(await store.get("one-writer/k")).toBeUndefined();
        } finally {
          await backend.close();
        }
      });

      it.each([
        ["409 ConditionalRequestConflict (AWS S3, racing writes)", "conditional-conflict"],
        ["404 NoSuchKey (some servers, If-Match on a missing key)", "no-such-key"],
      ] as const)("%s on a conditional PUT is a PreconditionFailedError naming the key", async (_label, fault) => {
        const backend = backendWith();
        try {
          const store = backend.openPool(bucket);
          const version = await store.set(`mapped/${fault}`, bytes(1));
          await store.conditionalSupport?.();
          proxy.setPlan((_n, req) => (req.method === "PUT" && req.headers["if-match"] !== undefined ? fault : undefined));
          await expectError(() => store.set(`mapped/${fault}`, bytes(2), { ifMatch: version }), PreconditionFailedError, [
            `mapped/${fault}`,
            `at version "${version}"`,
          ]);
          expect(proxy.requests).toHaveLength(1);
          proxy.setPlan(() => undefined);
          expect(await store.get(`mapped/${fault}`)).toEqual(bytes(1));
        } finally {
          await backend.close();
        }
      });
    });

    it("a read with ifMatch is checked against the answer's ETag too, for servers that ignore If-Match on GET", async () => {
      const config = s3ConnectionSchema.parse({ ...s3, transport, retryWindowMs: 0 });
      const inner = createTransport(config);
      // The transport of a server that ignores If-Match on GET: the header never reaches it.
      const getWithoutIfMatch: S3Transport["getObject"] = (b, k, get, a) => inner.getObject(b, k, { ...get, ifMatch: undefined }, a);
      const ignoring = new Proxy(inner, {
        get(target, property) {
          if (property === "getObject") return getWithoutIfMatch;
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      try {
        const store = new S3Store(ignoring, policyOf(config), bucket);
        const first = await store.set("read-check/k", bytes(1, 2, 3));
        expect(await store.get("read-check/k", { offset: 1, length: 1 }, { ifMatch: first })).toEqual(bytes(2));
        await store.set("read-check/k", bytes(4, 5, 6));
        await expectError(() => store.get("read-check/k", { offset: 1, length: 1 }, { ifMatch: first }), PreconditionFailedError, [
          "read-check/k",
          first,
        ]);
      } finally {
        inner.close();
      }
    });

    describe("on an endpoint that accepts conditions and ignores them", () => {
      let store: Store;
      let backend: S3Backend;
      beforeAll(() => {
        backend = backendWith();
        store = backend.openPool(bucket);
      });
      afterAll(async () => {
        proxy?.setPlan(() => undefined);
        await backend?.close();
      });

      it("the probe finds out", async () => {
        proxy.setPlan(ignoringConditions());
        expect(await store.conditionalSupport?.()).toEqual({ write: false, delete: false });
        expect(proxy.requests.filter((r) => r.fault === "accept-unforwarded")).toHaveLength(3);
      });

      it.each([
        ["ifMatch", "If-Match on PUT"],
        ["ifNoneMatch", "If-None-Match on PUT"],
      ] as const)("a set with %s fails with one clear StorageError, sends nothing, and stores nothing", async (condition, ignored) => {
        const version = await store.set(`ignored/${condition}`, bytes(1));
        proxy.setPlan(ignoringConditions());
        const options = condition === "ifMatch" ? { ifMatch: version } : { ifNoneMatch: "*" as const };
        const error = await expectError(() => store.set(`ignored/${condition}`, bytes(2), options), StorageError, [
          `ignored/${condition}`,
          `the S3 endpoint ${proxy.url} ignores`,
          ignored,
          "several writers could lose each other's updates",
          'writers: "one"',
        ]);
        expect(error).not.toBeInstanceOf(PreconditionFailedError);
        expect(proxy.requests).toEqual([]);
        expect(await admin.openPool(bucket).get(`ignored/${condition}`)).toEqual(bytes(1));
      });

      it("plain sets, gets and deletes work as ever", async () => {
        proxy.setPlan(ignoringConditions());
        await store.set("ignored/plain", bytes(5));
        expect(await store.get("ignored/plain")).toEqual(bytes(5));
        await store.delete("ignored/plain");
        expect(await store.get("ignored/plain")).toBeUndefined();
        expect(proxy.requests.every((r) => r.fault === undefined)).toBe(true);
      });

      it('with writers: "one" conditional sets are sent as they are, without a probe', async () => {
        const oneWriter = backendWith({ writers: "one" });
        try {
          const single = oneWriter.openPool(bucket);
          proxy.setPlan(ignoringConditions());
          await single.set("ignored/one-writer", bytes(1), { ifNoneMatch: "*" });
          await single.set("ignored/one-writer", bytes(2), { ifMatch: "whatever" });
          expect(proxy.requests.map((r) => [r.method, r.conditional, r.fault])).toEqual([
            ["PUT", true, "accept-unforwarded"],
            ["PUT", true, "accept-unforwarded"],
          ]);
          expect(proxy.requests.some(isProbe)).toBe(false);
        } finally {
          await oneWriter.close();
        }
      });
    });
  });
}
