/**
 * `dosna serve`'s HTTP API (src/server/) on every backend (memory, fs, and the S3 endpoint under
 * test), started in process on a free port and spoken to with fetch:
 * - metadata and listings as JSON; selections in numpy syntax as .npy (decoded here) and JSON,
 *   equal to `ds.get` of the same selection;
 * - Zarr v3 over HTTP: zarrita.js's FetchStore opens plain and sharded (Range requests) datasets by
 *   URL and reads what dosna reads;
 * - safety: read-only (PUT/DELETE 405, nothing changes), 413 over --max-bytes before any chunk is
 *   read, at most njobs storage requests in flight across 12 concurrent clients, traversal attempts
 *   ("..", %2e%2e, %2F, absolute, NUL, backslash) answered 400/404 and never with a file outside
 *   the pool, a token when one is set (401 for none and a wrong one), a non-loopback host refused
 *   without a token, store credentials absent from every answer.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { inflateSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FetchStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { serve, type RunningServer } from "../../src/server/server.js";
import { backendKinds, s3TestConfig, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { expectError } from "../helpers/expect-error.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";
import { snapshotStore, expectStoreUnchanged } from "../helpers/store-snapshot.js";

/** A raw GET (fetch normalises "..", "%2e%2e" and "//" away; the server must see them as sent). */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const values = Float32Array.from({ length: 6 * 10 * 8 }, (_, i) => i * 0.5 - 7);

for (const kind of backendKinds) {
  describe(`dosna serve on ${kind.name}`, () => {
    let fixture: ClusterFixture;
    let pool: dn.Pool;
    let watched: InstrumentedStore;
    let server: RunningServer;
    const name = "lab";

    beforeAll(async () => {
      fixture = await kind.make();
      const real = await fixture.cluster.createPool(uniquePoolName("serve"));
      const vol = await real.createDataset("scans/vol", { shape: [6, 10, 8], dtype: "float32", chunks: [2, 4, 4] });
      await vol.set(undefined, values);
      await vol.attrs.set("units", "counts");
      const sharded = await real.createDataset("scans/sharded", { shape: [6, 10, 8], dtype: "float32", chunks: [2, 4, 4], shards: [2, 8, 8] });
      await sharded.set(undefined, values);
      await real.createDataset("big", { shape: [4096, 4096], dtype: "float64", chunks: [512, 512] });
      watched = new InstrumentedStore(real.context.store, { delayMs: 2 });
      pool = await dn.Pool.open(watched, { name: real.context.poolName });
      server = await serve({ pools: new Map([[name, pool]]), port: 0, njobs: 3, maxBytes: 1 << 20 });
    });
    afterAll(async () => {
      await server?.close();
      await fixture?.cleanup();
    });

    it("lists pools, groups and datasets with their metadata as JSON", async () => {
      expect(await (await fetch(`${server.url}/api/pools`)).json()).toEqual([name]);
      const root = (await (await fetch(`${server.url}/api/meta/${name}`)).json()) as { kind: string; children: unknown[] };
      expect(root.kind).toBe("group");
      expect(root.children).toEqual(expect.arrayContaining([{ name: "scans", kind: "group" }, { name: "big", kind: "dataset", shape: [4096, 4096], dtype: "float64" }]));
      const vol = await (await fetch(`${server.url}/api/meta/${name}/scans/vol`)).json();
      expect(vol).toMatchObject({ kind: "dataset", path: "/scans/vol", shape: [6, 10, 8], dtype: "float32", chunks: [2, 4, 4], fillValue: 0, attrs: { units: "counts" } });
      const sharded = await (await fetch(`${server.url}/api/meta/${name}/scans/sharded?stored=1`)).json();
      // 3 × 3 × 2 inner chunks of 2×4×4 (the last row of chunks along axis 1 is ragged), all stored.
      expect(sharded).toMatchObject({ chunks: [2, 4, 4], shards: [2, 8, 8], stored: { chunks: 18, of: 18 } });
      const plain = (await (await fetch(`${server.url}/api/meta/${name}/scans/vol?stored=1`)).json()) as { stored: { chunks: number; of: number; bytes?: number } };
      expect(plain.stored).toMatchObject({ chunks: 18, of: 18 });
      // This pool's store is an instrumented wrapper: it cannot tell sizes without reading, so no bytes.
      expect(plain.stored.bytes).toBeUndefined();
      // "big" was created and never written: nothing stored.
      expect(await (await fetch(`${server.url}/api/meta/${name}/big?stored=1`)).json()).toMatchObject({ stored: { chunks: 0, of: 64 } });
    });

    it("returns a selection in numpy syntax as .npy and as JSON, equal to ds.get", async () => {
      const ds = await pool.getDataset("scans/vol");
      for (const sel of ["", "1", "1:5, ::3, -1", "..., 2:4", "0, 0, 0"]) {
        const response = await fetch(`${server.url}/api/data/${name}/scans/vol?sel=${encodeURIComponent(sel)}`);
        expect(response.status, sel).toBe(200);
        const npy = dn.decodeNpy(new Uint8Array(await response.arrayBuffer()));
        const want = await ds.get(sel === "" ? undefined : sel);
        expect(npy.shape, sel).toEqual(want.shape);
        expect(Array.from(npy.array.data as Float32Array), sel).toEqual(Array.from(want.data as Float32Array));
        const json = (await (await fetch(`${server.url}/api/data/${name}/scans/vol?format=json&sel=${encodeURIComponent(sel)}`)).json()) as { shape: number[]; dtype: string; data: number[] };
        expect(json.shape).toEqual(want.shape);
        expect(json.dtype).toBe("float32");
        expect(json.data).toEqual(Array.from(want.data as Float32Array));
      }
    });

    it("serves the pool as Zarr v3: zarrita's FetchStore reads plain and sharded datasets by URL", async () => {
      const store = new FetchStore(`${server.url}/zarr/${name}`);
      for (const path of ["scans/vol", "scans/sharded"]) {
        const array = await zarr.open(zarr.root(store).resolve(path), { kind: "array" });
        expect(array.shape).toEqual([6, 10, 8]);
        const whole = await zarr.get(array);
        expect(Array.from(whole.data as Float32Array), path).toEqual(Array.from(values));
        const part = await zarr.get(array, [zarr.slice(1, 4), 3, null]);
        const want = await (await pool.getDataset(path)).get("1:4, 3, :");
        expect(Array.from(part.data as Float32Array), path).toEqual(Array.from(want.data as Float32Array));
      }
      const group = await zarr.open(zarr.root(store).resolve("scans"), { kind: "group" });
      expect(group.path).toBe("/scans");
      const head = await fetch(`${server.url}/zarr/${name}/scans/vol/zarr.json`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get("content-length"))).toBeGreaterThan(0);
      const range = await fetch(`${server.url}/zarr/${name}/scans/vol/zarr.json`, { headers: { range: "bytes=0-9" } });
      expect(range.status).toBe(206);
      expect((await range.text()).length).toBe(10);
    });

    it("answers bad requests with JSON errors: 404 missing, 400 malformed selection, 413 over --max-bytes before any chunk is read", async () => {
      const missing = await fetch(`${server.url}/api/meta/${name}/nope`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { message: string } }).error.message).toContain("/nope");
      expect((await fetch(`${server.url}/api/meta/other`)).status).toBe(404);
      expect((await fetch(`${server.url}/zarr/${name}/scans/nope/zarr.json`)).status).toBe(404);
      const bad = await fetch(`${server.url}/api/data/${name}/scans/vol?sel=${encodeURIComponent("1:2:0")}`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { type: string } }).error.type).toBe("SelectionError");
      const outOfRange = await fetch(`${server.url}/api/data/${name}/scans/vol?sel=9`);
      expect(outOfRange.status).toBe(400);
      watched.reset();
      const tooBig = await fetch(`${server.url}/api/data/${name}/big`);
      expect(tooBig.status).toBe(413);
      expect(((await tooBig.json()) as { error: { message: string } }).error.message).toContain("1048576 bytes");
      expect(watched.keysOf("get").filter((k) => k.includes("/c/"))).toEqual([]);
      expect((await fetch(`${server.url}/api/data/${name}/scans?sel=0`)).status).toBe(400);
      expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
    });

    it("is read-only: PUT, POST and DELETE are 405 and change nothing", async () => {
      const before = await snapshotStore(watched.inner);
      for (const method of ["PUT", "POST", "DELETE"]) {
        const response = await fetch(`${server.url}/zarr/${name}/scans/vol/zarr.json`, { method, body: method === "DELETE" ? undefined : "{}" });
        expect(response.status, method).toBe(405);
      }
      await expectStoreUnchanged(watched.inner, before);
    });

    it("keeps at most njobs storage requests in flight across 12 concurrent clients", async () => {
      watched.reset();
      await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${server.url}/api/data/${name}/scans/vol?sel=${i % 6}`).then((r) => r.arrayBuffer())));
      expect(watched.count("get")).toBeGreaterThan(12);
      expect(watched.maxInFlight).toBeLessThanOrEqual(3);
    });

    it("never reaches outside the pool: traversal, encoded slashes, absolute paths, NUL", async () => {
      for (const path of [
        `/zarr/${name}/../zarr.json`,
        `/zarr/${name}/%2e%2e/zarr.json`,
        `/zarr/${name}/scans%2Fvol/zarr.json`,
        `/zarr/${name}/scans/..%2F..%2Fzarr.json`,
        `/zarr/${name}//etc/passwd`,
        `/zarr/${name}/%2Fetc%2Fpasswd`,
        `/zarr/${name}/scans%5C..%5Czarr.json`,
        `/zarr/${name}/zarr.json%00`,
        `/api/meta/${name}/..`,
        `/api/data/${name}/%2e%2e%2fbig`,
        `/zarr/..%2F..%2F..%2Fetc%2Fpasswd`,
      ]) {
        const { status, body } = await rawGet(server.url, path);
        expect([400, 404], path).toContain(status);
        expect(body, path).not.toContain("root:");
        expect(() => JSON.parse(body), path).not.toThrow();
      }
    });

    if (kind.name === "s3") {
      it("never shows the store's credentials", async () => {
        const secret = s3TestConfig()!.secretAccessKey;
        for (const path of [`/api/meta/${name}`, `/api/meta/${name}/scans/vol`, `/api/meta/${name}/nope`, `/zarr/${name}/nope`, "/api/pools"]) {
          const { body } = await rawGet(server.url, path);
          expect(body).not.toContain(secret);
        }
      });
    }
  });
}

/** Pixels of an 8-bit RGB PNG without filters (what encodePng writes): [height, width, rgb bytes]. */
function decodePng(bytes: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = new TextDecoder().decode(bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = new DataView(data.buffer, data.byteOffset).getUint32(0);
      height = new DataView(data.buffer, data.byteOffset).getUint32(4);
      expect([data[8], data[9]]).toEqual([8, 2]);
    }
    if (type === "IDAT") idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < height; i++) {
    expect(raw[i * (1 + width * 3)]).toBe(0);
    rgb.set(raw.subarray(i * (1 + width * 3) + 1, (i + 1) * (1 + width * 3)), i * width * 3);
  }
  return { width, height, rgb };
}

describe("dosna serve: images, repositories, lineage and nearest rows", () => {
  let dir: string;
  let server: RunningServer;
  let first: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dosna-serve-more-"));
    const plain = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "plain")), { name: "plain" });
    const img = await plain.createDataset("img", { shape: [2, 3], dtype: "float32", chunks: [2, 3] });
    await img.set(undefined, new Float32Array([0, 5, 10, NaN, 2.5, 7.5]));
    const raw = await plain.createDataset("raw", { shape: [6, 2], dtype: "float32", chunks: [3, 2] });
    await raw.set(undefined, new Float32Array([0, 0, 1, 0, 0, 1, 5, 5, 1, 1, 9, 9]));
    await raw.map((c) => c, "smooth");
    const repoPool = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "versioned")), { name: "versioned" });
    const repo = await dn.Repository.init(repoPool);
    const s1 = await repo.checkout({ branch: "main", write: true });
    await (await s1.createDataset("v", { shape: [3], dtype: "int32", chunks: [3] })).set(undefined, new Int32Array([1, 2, 3]));
    first = await s1.commit("first");
    await repo.createTag("v1", first);
    const s2 = await repo.checkout({ branch: "main", write: true });
    await (await s2.getDataset("v")).set(undefined, new Int32Array([7, 8, 9]));
    await s2.commit("second");
    server = await serve({ pools: new Map([["plain", plain], ["versioned", repoPool]]), port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stored=1 on a local directory gives the stored chunks and their bytes", async () => {
    const facts = (await (await fetch(`${server.url}/api/meta/plain/raw?stored=1`)).json()) as { stored: unknown };
    // Two uncompressed float32 chunks of 3 × 2.
    expect(facts.stored).toEqual({ chunks: 2, of: 2, bytes: 2 * 3 * 2 * 4 });
  });

  it("format=png maps a 2-D selection through the colormap between the limits, NaN magenta", async () => {
    const response = await fetch(`${server.url}/api/data/plain/img?format=png&colormap=gray&min=0&max=10`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    const { width, height, rgb } = decodePng(new Uint8Array(await response.arrayBuffer()));
    expect([height, width]).toEqual([2, 3]);
    expect(Array.from(rgb)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 0, 255, 64, 64, 64, 191, 191, 191]);
    const auto = await fetch(`${server.url}/api/data/plain/img?format=png`);
    expect(auto.headers.get("x-dosna-limits")).toBe("0,10");
    expect((await fetch(`${server.url}/api/data/plain/img?format=png&sel=0`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/data/plain/img?format=png&colormap=rainbow`)).status).toBe(400);
  });

  it("a repository pool: branches, tags and log; ?ref= reads a version; the default is main", async () => {
    const info = (await (await fetch(`${server.url}/api/repo/versioned`)).json()) as { repository: boolean; branches: string[]; tags: string[]; log: { message: string }[] };
    expect(info).toMatchObject({ repository: true, branches: ["main"], tags: ["v1"] });
    expect(info.log.map((e) => e.message)).toEqual(["second", "first", expect.any(String)].slice(0, info.log.length));
    const data = async (ref?: string) => ((await (await fetch(`${server.url}/api/data/versioned/v?format=json${ref ? `&ref=${ref}` : ""}`)).json()) as { data: number[] }).data;
    expect(await data()).toEqual([7, 8, 9]);
    expect(await data("v1")).toEqual([1, 2, 3]);
    expect(await data(first)).toEqual([1, 2, 3]);
    expect((await fetch(`${server.url}/api/data/versioned/v?ref=nope`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/api/repo/plain`)).json()).toEqual({ repository: false });
    expect((await fetch(`${server.url}/api/meta/plain?ref=main`)).status).toBe(400);
    // Zarr over HTTP serves the default version.
    const store = new FetchStore(`${server.url}/zarr/versioned`);
    const array = await zarr.open(zarr.root(store).resolve("v"), { kind: "array" });
    expect(Array.from((await zarr.get(array)).data as Int32Array)).toEqual([7, 8, 9]);
  });

  it("lineage: the provenance graph of a dataset; nearest: rows of a 2-D dataset", async () => {
    const graph = (await (await fetch(`${server.url}/api/lineage/plain/smooth`)).json()) as { root: string; records: Record<string, { name: string; activity?: { operation?: string } }>; edges: { from: string; to: string }[] };
    expect(graph.records[graph.root]).toMatchObject({ name: "smooth", activity: { operation: "map" } });
    expect(graph.edges).toEqual([{ from: expect.any(String), to: graph.root }]);
    expect(graph.records[graph.edges[0].from].name).toBe("raw");
    const found = (await (await fetch(`${server.url}/api/nearest/plain/raw?row=4&k=2&metric=l2`)).json()) as { indices: number[]; distances: number[]; method: string };
    expect(found).toEqual({ method: "exact", k: 2, metric: "l2", indices: [4, 1], distances: [0, 1] });
    const byVector = (await (await fetch(`${server.url}/api/nearest/plain/raw?q=9,9&k=1`)).json()) as { indices: number[] };
    expect(byVector.indices).toEqual([5]);
    const bad = await fetch(`${server.url}/api/nearest/plain/raw?q=1,2,3&k=1`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("dimension");
  });
});

describe("dosna serve's token and host rules", () => {
  let dir: string;
  let pool: dn.Pool;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dosna-serve-"));
    await writeFile(join(dir, "secret.txt"), "root:x:0:0");
    pool = await dn.Pool.initialise(new dn.FileSystemStore(join(dir, "pool")), { name: "pool" });
    await pool.createDataset("a", { shape: [4], dtype: "int16", chunks: [2] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("with a token, every request needs it: 401 for none and for a wrong one, 200 with Bearer or ?token=", async () => {
    const server = await serve({ pools: new Map([["p", pool]]), port: 0, token: "s3cret-token" });
    try {
      const none = await fetch(`${server.url}/api/pools`);
      expect(none.status).toBe(401);
      const wrong = await fetch(`${server.url}/api/pools`, { headers: { authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      const text = await wrong.text();
      expect(text).not.toContain("s3cret-token");
      expect((await fetch(`${server.url}/api/pools`, { headers: { authorization: "Bearer s3cret-token" } })).status).toBe(200);
      expect((await fetch(`${server.url}/api/meta/p/a?token=s3cret-token`)).status).toBe(200);
      expect((await fetch(`${server.url}/zarr/p/zarr.json`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it("refuses a non-loopback host without a token, before listening", async () => {
    await expectError(() => serve({ pools: new Map([["p", pool]]), host: "0.0.0.0", port: 0 }), dn.ValidationError, ["0.0.0.0", "--token", "DOSNA_SERVE_TOKEN"]);
  });

  it("a file beside the pool's directory is not reachable", async () => {
    const server = await serve({ pools: new Map([["p", pool]]), port: 0 });
    try {
      for (const path of ["/zarr/p/../secret.txt", "/zarr/p/%2e%2e/secret.txt", "/zarr/p/..%2Fsecret.txt", "/zarr/p/%2e%2e%2fsecret.txt"]) {
        const { status, body } = await rawGet(server.url, path);
        expect([400, 404], path).toContain(status);
        expect(body).not.toContain("root:x");
      }
    } finally {
      await server.close();
    }
  });
});
