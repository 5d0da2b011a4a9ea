/**
 * Issue 3, item 7 and issue 8: transient failures (5xx, resets, timeouts, refused connections) are
 * retried with capped exponential backoff and jitter until both maxRetries and a retry window are
 * used up, every attempt has an idle timeout (a transfer that keeps moving is never cut off, one
 * that stalls is), an AbortSignal cancels promptly, a conditional write whose answer was lost is
 * not mistaken for a conflict, and radosgw dying mid-write either leaves a dataset whose stored
 * chunks are intact and whose write can simply be run again, or, restarted within the retry
 * window, fails nothing at all.
 *
 * Faults come from three places, each in front of the REAL client libraries:
 * - flaky-transport: errors shaped like each client's, thrown at the transport seam;
 * - fault-proxy: an HTTP proxy in front of RGW answering 503/500/502/403, resetting, hanging, or
 *   trickling and stalling bodies;
 * - silent-server: a TCP server that accepts and never answers, and a port nothing listens on.
 * The kill tests run only when DOSNA_TEST_RGW_DIR names the state dir of the gateway under test.
 */
import ndarray from "ndarray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, Cluster, PreconditionFailedError, StorageError, type Dataset, type Pool } from "../../src/index.js";
import { createTransport, S3Backend, S3Store, s3ConnectionSchema, type S3ConnectionConfig } from "../../src/store/s3/index.js";
import { backoffDelayMs, type RequestPolicy, type RetryEvent } from "../../src/store/s3/request.js";
import { policyOf } from "../../src/store/s3/store.js";
import type { Store } from "../../src/store/store.js";
import { s3TestConfig, uniquePoolName } from "../helpers/clusters.js";
import { expectError, failureOf } from "../helpers/expect-error.js";
import { firstRequests, startFaultProxy, type Fault, type FaultProxy } from "../helpers/fault-proxy.js";
import { clientErrors, flakyTransport, type ClientErrors, type FlakyTransport } from "../helpers/flaky-transport.js";
import { fenceClients, gatewayPid, gatewayWatchers, restartGateway } from "../helpers/rgw-gateway.js";
import { closedPortUrl, startSilentServer, type SilentServer } from "../helpers/silent-server.js";
import { deleteBucketThrough } from "../helpers/s3-fixtures.js";

const s3 = s3TestConfig();
const rgwDir = process.env.DOSNA_TEST_RGW_DIR;
const TRANSPORTS = ["aws", "minio"] as const;

function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Byte equality without vitest's element-by-element deep equality (seconds for a MiB). */
function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.length).toBe(expected.length);
  expect(Buffer.from(actual!.buffer, actual!.byteOffset, actual!.byteLength).equals(expected), "same bytes").toBe(true);
}

/** Polls `condition` every 10 ms for up to `ms`; the last value it returned. */
async function eventually(condition: () => boolean, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return condition();
}

describe("backoff schedule", () => {
  it("is full jitter under an exponentially growing, capped bound", () => {
    for (let retry = 0; retry < 12; retry++) {
      const bound = Math.min(5_000, 100 * 2 ** retry);
      expect(backoffDelayMs(retry, 100, 5_000, () => 0)).toBe(0);
      expect(backoffDelayMs(retry, 100, 5_000, () => 0.5)).toBe(bound / 2);
      expect(backoffDelayMs(retry, 100, 5_000, () => 0.999999)).toBeLessThan(bound);
      expect(backoffDelayMs(retry, 100, 5_000, () => 0.999999)).toBeGreaterThan(bound * 0.999);
    }
    expect(backoffDelayMs(30, 100, 5_000, () => 0.5)).toBe(2_500);
  });
});

for (const transportName of TRANSPORTS) {
  const errors: ClientErrors = clientErrors[transportName];

  describe.skipIf(!s3)(`transient failures at the transport seam, on RGW (${transportName})`, () => {
    let config: S3ConnectionConfig;
    let backend: S3Backend;
    let plain: Store;
    let flaky: FlakyTransport;
    let store: S3Store;
    const bucket = uniquePoolName("faults-seam");
    const retries: RetryEvent[] = [];

    function storeWith(policy: Partial<RequestPolicy>): S3Store {
      return new S3Store(flaky.transport, { ...policyOf(config), ...policy }, bucket);
    }

    beforeAll(async () => {
      // No retry window: these tests count attempts, and their faults come back in microseconds.
      config = s3ConnectionSchema.parse({ ...s3, transport: transportName, maxRetries: 4, timeoutMs: 5_000, retryWindowMs: 0 });
      backend = new S3Backend(config);
      await backend.createPool(bucket);
      plain = backend.openPool(bucket);
      flaky = flakyTransport(createTransport(config));
      store = storeWith({ baseDelayMs: 1, maxDelayMs: 8, onRetry: (event) => retries.push(event) });
      // Probe now, so that the probe's own requests are not among the calls the tests count.
      await store.conditionalSupport();
    });
    afterAll(async () => {
      flaky?.transport.close();
      if (backend) await deleteBucketThrough(backend, bucket);
      await backend?.close();
    });

    const transient = [
      ["503 SlowDown", "slowDown", /SlowDown|ServiceUnavailable/],
      ["500 InternalError", "internalError", /InternalError|InternalServerError/],
      ["connection reset", "connectionReset", /ECONNRESET/],
      ["connection refused", "connectionRefused", /ECONNREFUSED/],
    ] as const;

    it.each(transient)("a PUT and a GET failing with %s 4 times succeed on the 5th attempt", async (_label, kind, code) => {
      const key = `seam/${kind}`;
      const bytes = randomBytes(3000, kind.length);
      retries.length = 0;
      flaky.failNext(4, errors[kind], ["putObject"]);
      await store.set(key, bytes);
      expect(flaky.calls).toBe(5);
      expect(await plain.get(key)).toEqual(bytes);

      flaky.failNext(4, errors[kind], ["getObject"]);
      expect(await store.get(key)).toEqual(bytes);
      expect(flaky.calls).toBe(5);
      expect(retries.map((r) => r.retry)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
      for (const event of retries) expect(event.code).toMatch(code);
    });

    it.each(transient)("%s beyond maxRetries: a StorageError naming the key, the endpoint, the code and the attempts", async (_label, kind, code) => {
      const key = `seam/never-${kind}`;
      flaky.failNext(1_000, errors[kind], ["putObject"]);
      const error = await expectError(() => store.set(key, new Uint8Array(10)), StorageError, [key, `the S3 endpoint ${config.endpoint}`, "after 5 attempts"]);
      expect(error.message).toMatch(code);
      expect(flaky.calls).toBe(5);
      expect(await plain.get(key)).toBeUndefined();
    });

    it("does not retry a failure that is not transient (403 AccessDenied: a policy denial)", async () => {
      flaky.failNext(1_000, errors.accessDenied, ["getObject"]);
      await expectError(() => store.get("seam/anything"), StorageError, ["accepted the credentials", "policy denies", config.endpoint]);
      expect(flaky.calls).toBe(1);
    });

    it("keeps retrying past maxRetries until the retry window has passed, then fails naming the endpoint", async () => {
      const events: RetryEvent[] = [];
      const windowed = storeWith({ maxRetries: 2, retryWindowMs: 400, baseDelayMs: 5, maxDelayMs: 40, onRetry: (e) => events.push(e) });
      flaky.failNext(100_000, errors.connectionRefused, ["getObject"]);
      const started = Date.now();
      const error = await expectError(() => windowed.get("seam/window"), StorageError, [
        `cannot connect to the S3 endpoint ${config.endpoint}`,
        "ECONNREFUSED",
        "seam/window",
      ]);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(400);
      // Past maxRetries no wait runs beyond the window's end: it overshoots by one attempt at most.
      expect(elapsed).toBeLessThan(400 + 1_000);
      expect(flaky.calls).toBeGreaterThan(3);
      expect(events).toHaveLength(flaky.calls - 1);
      expect(error.message).toContain(`after ${flaky.calls} attempts`);
    });

    it("a transient failure that ends within the window costs nothing but time, even past maxRetries", async () => {
      const windowed = storeWith({ maxRetries: 1, retryWindowMs: 5_000, baseDelayMs: 1, maxDelayMs: 4 });
      await plain.set("seam/comes-back", new Uint8Array([7]));
      flaky.failNext(6, errors.connectionRefused, ["getObject"]);
      expect(await windowed.get("seam/comes-back")).toEqual(new Uint8Array([7]));
      expect(flaky.calls).toBe(7);
    });

    describe("a conditional write whose answer is lost after the server carried it out", () => {
      it.each(["ifMatch", "ifNoneMatch"] as const)("%s: the retry's 412 is recognised as our own write, which succeeded", async (condition) => {
        const key = `seam/lost-${condition}`;
        const options = condition === "ifMatch" ? { ifMatch: await plain.set(key, new Uint8Array([1])) } : { ifNoneMatch: "*" as const };
        const bytes = randomBytes(2048, condition.length);
        flaky.loseAnswers(1, errors.connectionReset, ["putObject"]);
        const version = await store.set(key, bytes, options);
        expect(flaky.failures).toBe(1);
        const stored = await plain.getVersioned(key);
        expect(stored?.bytes).toEqual(bytes);
        expect(version).toBe(stored?.version);
      });

      it("but another writer's identical bytes are not mistaken for ours: still a PreconditionFailedError", async () => {
        const key = "seam/lost-identical";
        const first = await plain.set(key, new Uint8Array([1]));
        const bytes = new Uint8Array([2]);
        await plain.set(key, bytes); // another writer, from the same version, with the same result
        flaky.failNext(1, errors.connectionReset, ["putObject"]); // our attempt never reached the server
        await expectError(() => store.set(key, bytes, { ifMatch: first }), PreconditionFailedError, [key]);
      });
    });

    it("waits a jittered, exponentially growing, capped delay before each retry", async () => {
      const events: RetryEvent[] = [];
      const tuned = storeWith({ maxRetries: 8, baseDelayMs: 2, maxDelayMs: 16, onRetry: (e) => events.push(e) });
      await plain.set("seam/backoff", new Uint8Array([1, 2, 3]));
      flaky.failNext(8, errors.slowDown, ["getObject"]);
      expect(await tuned.get("seam/backoff")).toEqual(new Uint8Array([1, 2, 3]));
      const bounds = events.map((e) => Math.min(16, 2 * 2 ** (e.retry - 1)));
      expect(bounds).toEqual([2, 4, 8, 16, 16, 16, 16, 16]);
      events.forEach((e, i) => {
        expect(e.delayMs).toBeGreaterThanOrEqual(0);
        expect(e.delayMs).toBeLessThan(bounds[i]);
      });
      // Jitter: the waits are spread below their bounds, not the bounds themselves.
      expect(new Set(events.map((e) => e.delayMs)).size).toBeGreaterThan(1);
    });

    it("an abort during the backoff wait rejects with AbortedError without another attempt", async () => {
      const controller = new AbortController();
      // A wait of up to ~23 days (under setTimeout's limit): the abort 20 ms in certainly lands during it.
      const longest = 2_000_000_000;
      const patient = storeWith({ baseDelayMs: longest, maxDelayMs: longest, onRetry: () => setTimeout(() => controller.abort(), 20) });
      flaky.failNext(1, errors.slowDown, ["getObject"]);
      const error = await failureOf(() => patient.get("seam/backoff", undefined, { signal: controller.signal }));
      expect(error).toBeInstanceOf(AbortedError);
      expect((error as Error).message).toContain("seam/backoff");
      expect(flaky.calls).toBe(1);
    });
  });

  describe.skipIf(!s3)(`real error responses through a faulty proxy in front of RGW (${transportName})`, () => {
    let proxy: FaultProxy;
    let backend: S3Backend;
    let store: Store;
    const bucket = uniquePoolName("faults-proxy");

    beforeAll(async () => {
      proxy = await startFaultProxy(s3!.endpoint);
      backend = new S3Backend(s3ConnectionSchema.parse({ ...s3, endpoint: proxy.url, transport: transportName, maxRetries: 3, timeoutMs: 5_000, retryWindowMs: 0 }));
      await backend.createPool(bucket);
      store = backend.openPool(bucket);
    });

    /** A backend through the proxy with its own idle timeout, recording its retries. */
    async function withTimeout<T>(timeoutMs: number, run: (store: Store, retries: RetryEvent[]) => Promise<T>): Promise<T> {
      const config = s3ConnectionSchema.parse({ ...s3, endpoint: proxy.url, transport: transportName, maxRetries: 2, timeoutMs, retryWindowMs: 0 });
      const retries: RetryEvent[] = [];
      const transport = createTransport(config);
      try {
        return await run(new S3Store(transport, { ...policyOf(config), onRetry: (e) => retries.push(e) }, bucket), retries);
      } finally {
        transport.close();
      }
    }
    afterAll(async () => {
      proxy?.setPlan(() => undefined);
      if (backend) await deleteBucketThrough(backend, bucket);
      await backend?.close();
      await proxy?.close();
    });

    const faults = ["slow-down", "internal-error", "bad-gateway", "reset"] as const satisfies readonly Fault[];
    it.each(faults)("%s on the first 2 requests: a PUT and a GET succeed on the 3rd", async (fault) => {
      const key = `proxy/${fault}`;
      const bytes = randomBytes(5000, fault.length + 7);
      proxy.setPlan(firstRequests(2, fault));
      await store.set(key, bytes);
      expect([proxy.received, proxy.faulted]).toEqual([3, 2]);
      proxy.setPlan(firstRequests(2, fault));
      expect(await store.get(key)).toEqual(bytes);
      expect([proxy.received, proxy.faulted]).toEqual([3, 2]);
    });

    it("a request that gets no answer times out, and the next attempt succeeds", async () => {
      const impatient = new S3Backend(s3ConnectionSchema.parse({ ...s3, endpoint: proxy.url, transport: transportName, maxRetries: 2, timeoutMs: 300 }));
      try {
        const bytes = randomBytes(2000, 99);
        const tunedStore = impatient.openPool(bucket);
        proxy.setPlan(firstRequests(1, "hang"));
        await tunedStore.set("proxy/hang", bytes);
        expect([proxy.received, proxy.faulted]).toEqual([2, 1]);
        proxy.setPlan(firstRequests(1, "hang"));
        expect(await tunedStore.get("proxy/hang")).toEqual(bytes);
        expect([proxy.received, proxy.faulted]).toEqual([2, 1]);
      } finally {
        await impatient.close();
      }
    });

    describe("the timeout is an idle timeout: it never cuts off a transfer that keeps moving", () => {
      // Generous against the 100 ms gaps of the trickle: a loaded 2-core machine stalls event loops.
      const timeoutMs = 1_000;

      it("a 1 MiB download trickled over ~3.2 s (3x the timeout) in 32 KiB pieces every 100 ms succeeds at the first attempt", async () => {
        const bytes = randomBytes(1 << 20, 41);
        await store.set("proxy/trickle", bytes);
        await withTimeout(timeoutMs, async (tuned, retries) => {
          proxy.setPlan(firstRequests(1, { kind: "trickle", chunkBytes: 32 << 10, intervalMs: 100 }));
          const started = Date.now();
          expectSameBytes(await tuned.get("proxy/trickle"), bytes);
          expect(Date.now() - started).toBeGreaterThan(timeoutMs * 2.5);
          expect(retries).toEqual([]);
          expect(proxy.received).toBe(1);
        });
      });

      it("a 32 MiB upload read slowly by the server (~5 s, twice the timeout) succeeds at the first attempt", async () => {
        // An upload's progress is seen when the socket takes more bytes; the last few MiB wait in
        // kernel buffers unseen (~0.85 s here at ~6 MB/s), so this timeout is well over that.
        const uploadTimeoutMs = 2_500;
        const bytes = randomBytes(32 << 20, 43);
        await withTimeout(uploadTimeoutMs, async (tuned, retries) => {
          proxy.setPlan(firstRequests(1, { kind: "slow-upload", intervalMs: 10 }));
          const started = Date.now();
          await tuned.set("proxy/slow-upload", bytes);
          expect(Date.now() - started).toBeGreaterThan(uploadTimeoutMs * 1.5);
          expect(retries).toEqual([]);
          expect(proxy.received).toBe(1);
        });
        proxy.setPlan(() => undefined);
        expectSameBytes(await store.get("proxy/slow-upload"), bytes);
      });

      it("a download that stalls halfway for longer than the timeout is cut off and retried", async () => {
        const bytes = randomBytes(1 << 20, 47);
        await store.set("proxy/stall", bytes);
        await withTimeout(timeoutMs, async (tuned, retries) => {
          proxy.setPlan(firstRequests(1, { kind: "stall", afterBytes: 256 << 10, stallMs: 8_000 }));
          const started = Date.now();
          expectSameBytes(await tuned.get("proxy/stall"), bytes);
          expect(Date.now() - started).toBeLessThan(8_000);
          expect(retries.map((r) => r.code)).toEqual(["TimeoutError"]);
          expect([proxy.received, proxy.faulted]).toEqual([2, 1]);
        });
      });

      it("a download that stalls on every attempt fails naming the stall", async () => {
        await store.set("proxy/stall-always", randomBytes(1 << 20, 53));
        await withTimeout(timeoutMs, async (tuned) => {
          proxy.setPlan(() => ({ kind: "stall", afterBytes: 64 << 10, stallMs: 8_000 }));
          await expectError(() => tuned.get("proxy/stall-always"), StorageError, [
            "proxy/stall-always",
            "after 3 attempts",
            `stalled: no byte sent or received for ${timeoutMs} ms`,
          ]);
        });
      });
    });

    it("403 RequestTimeTooSkewed: not retried, and the message says the clocks differ", async () => {
      proxy.setPlan(() => "clock-skew");
      const error = await expectError(() => store.get("proxy/skewed"), StorageError, [
        "proxy/skewed",
        `S3 endpoint ${proxy.url}`,
        "this machine's clock differs too much from the server's",
        "RequestTimeTooSkewed",
      ]);
      expect(error.message).not.toContain("rejected the credentials");
      expect(proxy.received).toBe(1);
    });

    it("a server that keeps answering 503: StorageError naming the endpoint, the status and the attempts", async () => {
      proxy.setPlan(() => "slow-down");
      const error = await expectError(() => store.get("proxy/x"), StorageError, [`at the S3 endpoint ${proxy.url}`, "HTTP 503", "after 4 attempts"]);
      expect(error.message).toMatch(/SlowDown|ServiceUnavailable/);
      expect(proxy.received).toBe(4);
    });

    it("a dataset written and read while every third request is throttled or reset comes back exactly", async () => {
      const cluster = new Cluster({ backend: "s3", ...s3!, endpoint: proxy.url, transport: transportName, njobs: 4, maxRetries: 6 });
      const poolName = uniquePoolName("faults-ds");
      proxy.setPlan(() => undefined);
      const pool = await cluster.createPool(poolName);
      try {
        const source = Float64Array.from({ length: 40 * 30 }, (_, i) => Math.sin(i) * 1e3);
        const ds = await pool.createDataset("data", { shape: [40, 30], dtype: "float64", chunks: [10, 10] });
        proxy.setPlan((n) => (n % 3 === 1 ? (n % 2 ? "slow-down" : "reset") : undefined));
        await ds.set(":", ndarray(source, [40, 30]));
        const back = await ds.get(":");
        expect(proxy.faulted).toBeGreaterThan(4);
        proxy.setPlan(() => undefined);
        expect(Array.from(back.data as Float64Array)).toEqual(Array.from(source));
      } finally {
        proxy.setPlan(() => undefined);
        await cluster.deletePool(poolName, { force: true });
        await cluster.disconnect();
      }
    });
  });

  describe(`timeouts and cancellation against a server that never answers (${transportName})`, () => {
    let server: SilentServer;
    beforeAll(async () => {
      server = await startSilentServer();
    });
    afterAll(async () => {
      await server?.close();
    });

    function silentStore(timeoutMs: number, maxRetries: number): { store: Store; backend: S3Backend } {
      const backend = new S3Backend(
        s3ConnectionSchema.parse({ endpoint: server.url, accessKeyId: "test-key", secretAccessKey: "test-secret", transport: transportName, timeoutMs, maxRetries, retryWindowMs: 0 }),
      );
      return { backend, store: backend.openPool("some-bucket") };
    }

    it.each(["GET", "PUT"] as const)("a %s times out on every attempt, then fails with a StorageError after maxRetries + 1 attempts", async (method) => {
      const { store, backend } = silentStore(150, 2);
      const before = server.connections;
      const started = Date.now();
      // 1 MiB: sent in slices, each reported as progress (a body up to 256 KiB goes in one write).
      const action = method === "GET" ? () => store.get("k") : () => store.set("k", new Uint8Array(1 << 20));
      const error = await expectError(action, StorageError, [`at the S3 endpoint ${server.url}`, "TimeoutError", "150 ms", "after 3 attempts"]);
      // A GET sends nothing after its headers; this PUT's body went out, so its timeout came after that progress.
      expect(error.message).toContain(method === "GET" ? "no response within 150 ms" : "no byte sent or received for 150 ms");
      // Bounded by timeout x attempts plus the backoff waits (at most 100 + 200 ms): not a hang.
      expect(Date.now() - started).toBeLessThan(150 * 3 + 300 + 5_000);
      expect(server.connections - before).toBe(3);
      // Each timed-out attempt really ended its request: no socket is left open.
      expect(await eventually(() => server.openConnections === 0)).toBe(true);
      await backend.close();
    });

    it.each(["GET", "PUT"] as const)("an AbortSignal ends a %s promptly (long before the timeout) and closes its connection", async (method) => {
      const { store, backend } = silentStore(60_000, 5);
      const controller = new AbortController();
      const before = server.connections;
      const started = Date.now();
      setTimeout(() => controller.abort(), 100);
      const options = { signal: controller.signal };
      const action = method === "GET" ? () => store.get("big", undefined, options) : () => store.set("big", new Uint8Array(4 << 20), options);
      await expectError(action, AbortedError, [method, "s3://some-bucket/big", "aborted"]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(server.connections - before).toBe(1);
      expect(await eventually(() => server.openConnections === 0)).toBe(true);
      await backend.close();
    });

    it("an already-aborted signal sends no request at all", async () => {
      const { store, backend } = silentStore(60_000, 5);
      const before = server.connections;
      await expectError(() => store.get("k", undefined, { signal: AbortSignal.abort() }), AbortedError, ["aborted"]);
      expect(server.connections).toBe(before);
      await backend.close();
    });
  });

  describe(`an endpoint that refuses connections (${transportName})`, () => {
    it("one that stays down fails with 'cannot connect' once maxRetries AND the retry window are used up, not sooner, not much later", async () => {
      const endpoint = await closedPortUrl();
      const retryWindowMs = 1_500;
      const backend = new S3Backend(
        s3ConnectionSchema.parse({ endpoint, accessKeyId: "k", secretAccessKey: "s", transport: transportName, maxRetries: 2, retryWindowMs }),
      );
      try {
        const started = Date.now();
        await expectError(() => backend.openPool("some-bucket").get("k"), StorageError, [`cannot connect to the S3 endpoint ${endpoint}`, "ECONNREFUSED", "attempts"]);
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(retryWindowMs);
        expect(elapsed).toBeLessThan(retryWindowMs + 1_000);
      } finally {
        await backend.close();
      }
    });

    it.skipIf(!s3)("one that comes back after 5 s (a gateway restart) fails nothing: a PUT and a GET sent while it is down succeed", async () => {
      let proxy = await startFaultProxy(s3!.endpoint);
      const port = Number(new URL(proxy.url).port);
      // The defaults: 5 retries, a 10 s retry window.
      const backend = new S3Backend(s3ConnectionSchema.parse({ ...s3, endpoint: proxy.url, transport: transportName }));
      const bucket = uniquePoolName("faults-restart");
      await backend.createPool(bucket);
      const store = backend.openPool(bucket);
      try {
        await store.set("restart/present", new Uint8Array([1, 2, 3]));
        await proxy.close();
        const started = Date.now();
        const bytes = randomBytes(100_000, 61);
        const put = store.set("restart/new", bytes);
        const get = store.get("restart/present");
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        proxy = await startFaultProxy(s3!.endpoint, port);
        await put;
        expect(await get).toEqual(new Uint8Array([1, 2, 3]));
        expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
        expect(await store.get("restart/new")).toEqual(bytes);
      } finally {
        await deleteBucketThrough(backend, bucket);
        await backend.close();
        await proxy.close();
      }
    });
  });

  describe.skipIf(!s3)(`cancelling a large dataset write on RGW (${transportName})`, () => {
    it("AbortSignal stops a 200-chunk write promptly; every chunk stored before it is intact", async () => {
      const cluster = new Cluster({ backend: "s3", ...s3!, transport: transportName, njobs: 4 });
      const poolName = uniquePoolName("faults-abort");
      const pool = await cluster.createPool(poolName);
      try {
        const { ds, source, shape } = await createRowDataset(pool, 200, 2048);
        const controller = new AbortController();
        let doneAtAbort = -1;
        const error = await failureOf(() =>
          ds.set(":", ndarray(source, shape), {
            signal: controller.signal,
            onProgress: ({ done }) => {
              if (done >= 10 && doneAtAbort < 0) {
                doneAtAbort = done;
                controller.abort();
              }
            },
          }),
        );
        expect(error).toBeInstanceOf(AbortedError);
        const stored = (await ds.storedChunkIndices()).length;
        expect(stored).toBeGreaterThanOrEqual(doneAtAbort);
        expect(stored).toBeLessThan(200);
        await expectRowsIntactOrFill(ds, source, shape, doneAtAbort);
      } finally {
        await cluster.deletePool(poolName, { force: true });
        await cluster.disconnect();
      }
    });
  });
}

/** A float32 dataset of `rows` one-row chunks whose source values are never the fill value 0. */
async function createRowDataset(pool: Pool, rows: number, columns: number): Promise<{ ds: Dataset; source: Float32Array; shape: number[] }> {
  const shape = [rows, columns];
  const source = Float32Array.from({ length: rows * columns }, (_, i) => 1 + ((i * 7919) % 100_003));
  const ds = await pool.createDataset("data", { shape, dtype: "float32", chunks: [1, columns], fillValue: 0 });
  return { ds, source, shape };
}

/**
 * Every row (= chunk) reads back either exactly as in `source` or entirely as the fill value: no
 * torn or corrupt chunk. At least `minimumIntact` rows are intact.
 */
async function expectRowsIntactOrFill(ds: Dataset, source: Float32Array, shape: number[], minimumIntact: number): Promise<void> {
  const [rows, columns] = shape;
  const data = (await ds.get(":", { njobs: 16 })).data as Float32Array;
  let intact = 0;
  for (let r = 0; r < rows; r++) {
    const got = data.subarray(r * columns, (r + 1) * columns);
    const want = source.subarray(r * columns, (r + 1) * columns);
    const isIntact = got.every((v, i) => v === want[i]);
    if (isIntact) intact++;
    else expect(got.every((v) => v === 0), `row ${r} is neither the source nor all fill value`).toBe(true);
  }
  expect(intact).toBeGreaterThanOrEqual(minimumIntact);
}

describe.skipIf(!s3 || !rgwDir)("radosgw killed with SIGKILL in the middle of a large write", () => {
  const stateDir = rgwDir ?? "";

  it("killed for good, with no retry window: the write rejects with a clear StorageError; after a restart the chunks stored before the fault are intact and re-running the write completes it", async () => {
    const timeoutMs = 2_000;
    const maxRetries = 2;
    const cluster = new Cluster({ backend: "s3", ...s3!, njobs: 4, timeoutMs, maxRetries, retryWindowMs: 0 });
    const poolName = uniquePoolName("faults-kill");
    const pool = await cluster.createPool(poolName);
    let killed = false;
    try {
      const { ds, source, shape } = await createRowDataset(pool, 200, 1024);
      const pid = gatewayPid(stateDir);
      const watchers = await gatewayWatchers(stateDir);
      let doneAtKill = -1;
      const started = Date.now();
      const error = await failureOf(() =>
        ds.set(":", ndarray(source, shape), {
          onProgress: ({ done }) => {
            if (done >= 20 && !killed) {
              doneAtKill = done;
              process.kill(pid, "SIGKILL");
              killed = true;
            }
          },
        }),
      );
      const elapsed = Date.now() - started;
      expect(killed).toBe(true);
      expect(error, String(error)).toBeInstanceOf(StorageError);
      const message = (error as Error).message;
      expect(message).toContain(`S3 endpoint ${s3!.endpoint}`);
      expect(message).toMatch(/PUT s3:\/\/.*data\/c\/\d+\/0/);
      expect(message).toMatch(/cannot connect|ECONNRESET|ECONNREFUSED|TimeoutError/);
      // Bounded by the policy (timeout x attempts per request, a few requests in a row), not a hang.
      expect(elapsed).toBeLessThan(timeoutMs * (maxRetries + 1) * 4 + 10_000);

      await fenceClients(stateDir, watchers);
      await restartGateway(stateDir);
      killed = false;

      const reopened = await (await cluster.getPool(poolName)).getDataset("data");
      expect(reopened.shape).toEqual(shape);
      const stored = (await reopened.storedChunkIndices()).length;
      expect(stored).toBeGreaterThanOrEqual(doneAtKill);
      expect(stored).toBeLessThan(200);
      await expectRowsIntactOrFill(reopened, source, shape, doneAtKill);

      await reopened.set(":", ndarray(source, shape), { njobs: 16 });
      expect(Array.from((await reopened.get(":", { njobs: 16 })).data as Float32Array)).toEqual(Array.from(source));
      expect((await reopened.storedChunkIndices()).length).toBe(200);
    } finally {
      if (killed) await restartGateway(stateDir);
      await cluster.deletePool(poolName, { force: true });
      await cluster.disconnect();
    }
  });

  it("restarted 2 s after the kill, within the retry window: the write completes, every chunk exact", async () => {
    const cluster = new Cluster({ backend: "s3", ...s3!, njobs: 4, timeoutMs: 5_000, retryWindowMs: 60_000 });
    const poolName = uniquePoolName("faults-restart");
    const pool = await cluster.createPool(poolName);
    let killed = false;
    let restarted: Promise<void> | undefined;
    try {
      const { ds, source, shape } = await createRowDataset(pool, 200, 1024);
      const pid = gatewayPid(stateDir);
      const watchers = await gatewayWatchers(stateDir);
      const started = Date.now();
      await ds.set(":", ndarray(source, shape), {
        onProgress: ({ done }) => {
          if (done < 20 || killed) return;
          process.kill(pid, "SIGKILL");
          killed = true;
          restarted = (async () => {
            await new Promise((resolve) => setTimeout(resolve, 2_000));
            await fenceClients(stateDir, watchers);
            await restartGateway(stateDir);
          })();
        },
      });
      await restarted;
      expect(killed).toBe(true);
      expect(Date.now() - started).toBeGreaterThan(2_000);
      expect((await ds.storedChunkIndices()).length).toBe(200);
      expect(Array.from((await ds.get(":", { njobs: 16 })).data as Float32Array)).toEqual(Array.from(source));
    } finally {
      if (killed) await restarted?.catch(() => restartGateway(stateDir));
      await cluster.deletePool(poolName, { force: true });
      await cluster.disconnect();
    }
  }, 120_000);
});
