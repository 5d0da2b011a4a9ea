/**
 * `dosna serve`: a read-only HTTP API over one or more pools (node:http, no framework).
 *
 *   GET /                                       the viewer page (viewer-page.ts)
 *   GET /api/pools                              ["name", ...]
 *   GET /api/meta/POOL[/PATH][?stored=1]        a group: its attributes and children; a dataset:
 *                                               shape, dtype, chunks, shards, fill value, codecs, attributes
 *                                               (stored=1: chunks stored of all, and their bytes where
 *                                               the store tells them cheaply: fs, memory)
 *   GET /api/data/POOL/PATH?sel=SEL&format=F    a selection in numpy syntax ("0, :, 10:20"; default all)
 *                                               as .npy (F = npy, default) or JSON ({ shape, dtype, data })
 *   GET /api/data/…&format=png&min=&max=&colormap=   a 2-D selection as an image (limits default
 *                                               to the 2nd/98th percentiles; header x-dosna-limits)
 *   GET /api/repo/POOL                          a repository's branches, tags and log ({ repository: false } else)
 *   GET /api/lineage/POOL/PATH                  the dataset's provenance graph (records and edges)
 *   GET /api/nearest/POOL/PATH?q=x,y,..|row=N&k=&metric=&exact=   nearest rows of a 2-D dataset
 *   (meta, data, lineage and nearest take ?ref=BRANCH|TAG|SNAPSHOT on a repository pool)
 *   GET /zarr/POOL/KEY                          the pool's own store keys (zarr.json, chunks): Zarr v3
 *                                               over HTTP for zarrita.js's FetchStore, neuroglancer,
 *                                               vizarr; HEAD, and Range (offset-end and suffix)
 *
 * Errors are JSON `{ error: { type, message } }`: 400 malformed path or selection, 401 no or a
 * wrong token, 404 missing, 405 a method other than GET/HEAD, 413 a selection over maxBytes
 * (refused before anything is read). Every storage request of every HTTP request goes through
 * one limit of `njobs` in flight (LimitedReadOnlyStore). Credentials never reach a response: only
 * pool names and store keys are shown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DosnaError, NotFoundError, ReadOnlyError, SelectionError, ShapeError, ValidationError } from "../errors.js";
import { Dataset, encodeNpy, Group, normaliseSelection, parseSelection, Pool, provenance, Repository, storedSummary } from "../index.js";
import { encodePng, pngLimits } from "./png.js";
import { tokenChecker } from "./auth.js";
import { LimitedReadOnlyStore } from "./limited-store.js";
import { BadPathError, pathSegments, restOf } from "./paths.js";
import { VIEWER_PAGE } from "./viewer-page.js";

export interface ServeOptions {
  /** The pools to serve, by the name they have in URLs. A pool holding a repository is served at a version (`?ref=`, default `refs` or "main"). */
  pools: ReadonlyMap<string, Pool>;
  /** The version served by default, per repository pool (a branch, tag or snapshot id). */
  refs?: ReadonlyMap<string, string>;
  host?: string;
  port?: number;
  /** Required (and then checked on every request) when host is not a loopback address. */
  token?: string;
  /** Largest selection returned (bytes, default 64 MiB). */
  maxBytes?: number;
  /** Storage requests in flight across all HTTP requests (default 16). */
  njobs?: number;
  /** One line per request (method, path without query, status, ms); never tokens or credentials. */
  log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "HttpError",
  ) {
    super(message);
  }
}

function statusOf(error: unknown): { status: number; type: string; message: string } {
  if (error instanceof HttpError) return { status: error.status, type: error.type, message: error.message };
  if (error instanceof BadPathError) return { status: 400, type: "BadPath", message: error.message };
  if (error instanceof NotFoundError) return { status: 404, type: error.name, message: error.message };
  if (error instanceof ReadOnlyError) return { status: 405, type: error.name, message: error.message };
  if (error instanceof SelectionError || error instanceof ShapeError || error instanceof ValidationError) return { status: 400, type: error.name, message: error.message };
  if (error instanceof DosnaError) return { status: 500, type: error.name, message: error.message };
  return { status: 500, type: "InternalError", message: "internal error (see the server's log)" };
}

function sendJson(response: ServerResponse, status: number, body: unknown, head = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  response.end(head ? undefined : text);
}

function sendBytes(response: ServerResponse, status: number, bytes: Uint8Array, type: string, extra: Record<string, string> = {}, head = false): void {
  response.writeHead(status, { "content-type": type, "content-length": bytes.byteLength, "cache-control": "no-store", ...extra });
  response.end(head ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** A served pool: its read-only, limited view, and its repository when it holds one. */
interface Served {
  name: string;
  /** The pool as given: stored sizes are read through it (a local directory can stat its files). */
  original: Pool;
  base: Pool;
  repo?: Repository;
  defaultRef: string;
  versions: Map<string, Promise<Pool>>;
}

async function servedPools(pools: ReadonlyMap<string, Pool>, refs: ReadonlyMap<string, string> | undefined, njobs: number): Promise<Map<string, Served>> {
  const limit = LimitedReadOnlyStore.limiter(njobs);
  const served = new Map<string, Served>();
  for (const [name, pool] of pools) {
    const base = await Pool.open(new LimitedReadOnlyStore(pool.context.store, limit), { name: pool.context.poolName, readOnly: true, provenance: false });
    const repo = (await Repository.exists(base)) ? await Repository.open(base) : undefined;
    const defaultRef = refs?.get(name) ?? "main";
    if (repo) await repo.resolve(defaultRef);
    else if (refs?.has(name)) throw new ValidationError(`pool "${name}" holds no repository, so it has no version ${JSON.stringify(refs.get(name))} to serve`);
    served.set(name, { name, original: pool, base, repo, defaultRef, versions: new Map() });
  }
  return served;
}

function servedOf(pools: ReadonlyMap<string, Served>, name: string | undefined): Served {
  if (name === undefined) throw new HttpError(404, "name a pool: /api/meta/POOL", "NotFound");
  const served = pools.get(name);
  if (!served) throw new HttpError(404, `no pool ${JSON.stringify(name)} is served (served: ${[...pools.keys()].join(", ")})`, "NotFound");
  return served;
}

/** The pool to read: the plain pool, or for a repository the version `ref` names (default: the served one). */
async function poolAt(served: Served, ref: string | null): Promise<Pool> {
  if (!served.repo) {
    if (ref) throw new HttpError(400, `pool "${served.name}" holds no repository: ?ref= does not apply`, "NoRepository");
    return served.base;
  }
  const snapshot = await served.repo.resolve(ref || served.defaultRef);
  let version = served.versions.get(snapshot);
  if (!version) {
    version = served.repo.checkout({ snapshot });
    served.versions.set(snapshot, version);
    version.catch(() => served.versions.delete(snapshot));
  }
  return version;
}

async function repoInfo(served: Served, ref: string | null): Promise<unknown> {
  if (!served.repo) return { repository: false };
  const shown = ref || served.defaultRef;
  const log = await served.repo.log(shown, { limit: 50 });
  return {
    repository: true,
    ref: shown,
    defaultRef: served.defaultRef,
    branches: await served.repo.listBranches(),
    tags: await served.repo.listTags(),
    log: log.map((e) => ({ id: e.id, parents: e.parents, message: e.message, author: e.author, time: e.time.toISOString() })),
  };
}

async function nodeAt(pool: Pool, path: string[]): Promise<Group | Dataset> {
  return path.length === 0 ? pool : pool.get(path.join("/"));
}

function datasetFacts(ds: Dataset): Record<string, unknown> {
  const meta = ds.metadata as unknown as Record<string, unknown>;
  return {
    kind: "dataset",
    path: `/${ds.path}`,
    shape: ds.shape,
    dtype: ds.dtype,
    chunks: ds.chunks,
    ...(ds.shards ? { shards: ds.shards } : {}),
    fillValue: typeof ds.fillValue === "bigint" ? String(ds.fillValue) : Number.isNaN(ds.fillValue as number) ? "NaN" : ds.fillValue,
    codecs: meta.codecs ?? [],
    nbytes: ds.nbytes,
    attrs: Object.fromEntries([...ds.attrs.keys()].map((k) => [k, ds.attrs.get(k)])),
  };
}

/**
 * What `stored=1` adds: chunks stored of all, and their bytes where the store can tell without
 * reading them (a local directory, memory; not S3 or a repository version yet).
 */
async function storedFacts(served: Served, pool: Pool, ds: Dataset, signal: AbortSignal): Promise<Record<string, unknown>> {
  const sized = pool === served.base ? await served.original.getDataset(ds.path) : ds;
  const summary = await storedSummary(sized, signal);
  return { chunks: summary.storedChunks, of: summary.possibleChunks, ...(summary.storedBytes !== undefined ? { bytes: summary.storedBytes } : {}) };
}

async function meta(served: Served, pool: Pool, path: string[], url: URL, signal: AbortSignal): Promise<unknown> {
  const node = await nodeAt(pool, path);
  if (node instanceof Dataset) {
    const facts = datasetFacts(node);
    if (url.searchParams.get("stored") === "1") facts.stored = await storedFacts(served, pool, node, signal);
    return facts;
  }
  const children = [];
  for (const name of await node.listGroups()) children.push({ name, kind: "group" });
  for (const name of await node.listDatasets()) {
    const ds = await node.getDataset(name);
    children.push({ name, kind: "dataset", shape: ds.shape, dtype: ds.dtype });
  }
  return { kind: "group", path: `/${node.path}`, attrs: Object.fromEntries([...node.attrs.keys()].map((k) => [k, node.attrs.get(k)])), children };
}

async function data(pool: Pool, path: string[], url: URL, maxBytes: number, response: ServerResponse, head: boolean, signal: AbortSignal): Promise<void> {
  const node = await nodeAt(pool, path);
  if (!(node instanceof Dataset)) throw new HttpError(400, `/${path.join("/")} is a group: /api/data needs a dataset`, "NotADataset");
  const text = url.searchParams.get("sel") ?? "";
  const selection = text.trim() === "" ? undefined : parseSelection(text);
  const { outputShape } = normaliseSelection(selection, node.shape, node.describe);
  const bytes = outputShape.reduce((a, b) => a * b, 1) * (node.size === 0 ? 0 : node.nbytes / node.size);
  if (bytes > maxBytes) {
    throw new HttpError(413, `the selection [${text}] of ${node.describe} is ${bytes} bytes (shape [${outputShape}]), over the server's limit of ${maxBytes} bytes (--max-bytes)`, "TooLarge");
  }
  const format = url.searchParams.get("format") ?? "npy";
  if (format !== "npy" && format !== "json" && format !== "png") throw new HttpError(400, `format must be "npy", "json" or "png", got ${JSON.stringify(format)}`, "BadFormat");
  if (format === "png" && outputShape.length !== 2) throw new HttpError(400, `format=png needs a 2-D selection, and [${text}] of ${node.describe} has shape [${outputShape}]`, "BadFormat");
  const values = await node.get(selection, { signal });
  if (format === "png") {
    const limits = pngLimits(values.data as ArrayLike<number | bigint | boolean>, url.searchParams.get("min"), url.searchParams.get("max"));
    const png = encodePng(values.data as ArrayLike<number | bigint | boolean>, outputShape[0], outputShape[1], limits, url.searchParams.get("colormap") ?? "viridis");
    sendBytes(response, 200, png, "image/png", { "x-dosna-limits": `${limits[0]},${limits[1]}` }, head);
    return;
  }
  if (format === "npy") {
    sendBytes(response, 200, encodeNpy(values, { dtype: node.dtype }), "application/octet-stream", { "content-disposition": `attachment; filename="${node.name || "data"}.npy"` }, head);
    return;
  }
  const list = Array.from(values.data as ArrayLike<number | bigint | boolean>, (v) => (typeof v === "bigint" ? String(v) : typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
  sendJson(response, 200, { shape: values.shape, dtype: node.dtype, data: list }, head);
}

async function lineage(pool: Pool, path: string[]): Promise<unknown> {
  const node = await nodeAt(pool, path);
  if (!(node instanceof Dataset)) throw new HttpError(400, `/${path.join("/")} is a group: lineage is of datasets`, "NotADataset");
  const records = provenance(node).records;
  const record = await records.recordOfDataset(node.path);
  if (!record) return { root: null, records: {}, edges: [] };
  const graph = await records.lineage(record.id, { depth: 20 });
  return { root: graph.root, records: Object.fromEntries(Object.entries(graph.records).map(([id, r]) => [id, r.data])), edges: graph.edges, problems: graph.problems };
}

async function nearestRows(pool: Pool, path: string[], url: URL, signal: AbortSignal): Promise<unknown> {
  const node = await nodeAt(pool, path);
  if (!(node instanceof Dataset)) throw new HttpError(400, `/${path.join("/")} is a group: nearest is over the rows of a 2-D dataset`, "NotADataset");
  const q = url.searchParams.get("q");
  const row = url.searchParams.get("row");
  let query: number[];
  if (q !== null) query = q.split(",").map((x) => Number(x.trim()));
  else if (row !== null && /^\d+$/.test(row)) query = Array.from((await node.get([Number(row)], { signal })).data as ArrayLike<number>, Number);
  else throw new HttpError(400, "give the query as q=x1,x2,... or row=N (a row of the dataset)", "BadQuery");
  if (query.some((x) => !Number.isFinite(x))) throw new HttpError(400, `q must be finite numbers, got ${JSON.stringify(q)}`, "BadQuery");
  const k = Number(url.searchParams.get("k") ?? "10");
  const metric = (url.searchParams.get("metric") ?? "l2") as "l2" | "cosine" | "ip";
  const exact = url.searchParams.get("exact") === "1" || url.searchParams.get("exact") === "true";
  const found = await node.nearest([query], k, { metric, exact, signal });
  return { method: found.method, k, metric, indices: Array.from(found.indices), distances: Array.from(found.distances, (d) => (Number.isFinite(d) ? d : String(d))) };
}

/** Parses `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` (one range only). */
function rangeOf(header: string | undefined): { offset: number; length?: number } | { suffixLength: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) throw new HttpError(416, `unsupported Range ${JSON.stringify(header)} (one range: bytes=a-b, bytes=a- or bytes=-n)`, "BadRange");
  if (m[1] === "") return { suffixLength: Number(m[2]) };
  const offset = Number(m[1]);
  if (m[2] === "") return { offset };
  const end = Number(m[2]);
  if (end < offset) throw new HttpError(416, `Range ${JSON.stringify(header)} ends before it starts`, "BadRange");
  return { offset, length: end - offset + 1 };
}

async function zarrKey(pool: Pool, key: string[], request: IncomingMessage, response: ServerResponse, head: boolean): Promise<void> {
  const name = key.length === 0 ? "zarr.json" : key.join("/");
  const range = rangeOf(request.headers.range);
  const bytes = await pool.context.store.get(name, range);
  if (bytes === undefined) throw new HttpError(404, `no key ${JSON.stringify(name)} in pool "${pool.context.poolName}"`, "NotFound");
  const type = name.endsWith("zarr.json") ? "application/json" : "application/octet-stream";
  sendBytes(response, range ? 206 : 200, bytes, type, range ? { "accept-ranges": "bytes" } : { "accept-ranges": "bytes" }, head);
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host) && !options.token) {
    throw new ValidationError(`dosna serve on ${host} (not a loopback address) needs a token: --token or DOSNA_SERVE_TOKEN, which every request must then send`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw new ValidationError(`maxBytes must be a positive integer, got ${maxBytes}`);
  const pools = await servedPools(options.pools, options.refs, options.njobs ?? 16);
  const authorised = tokenChecker(options.token);
  const log = options.log;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(request.url ?? "/", "http://dosna.invalid");
    const controller = new AbortController();
    response.once("close", () => controller.abort());
    try {
      if (!authorised(request, url)) throw new HttpError(401, "a valid token is required (Authorization: Bearer TOKEN, or ?token=)", "Unauthorized");
      const method = request.method ?? "GET";
      if (method !== "GET" && method !== "HEAD") throw new HttpError(405, `dosna serve is read-only: ${method} is not allowed`, "MethodNotAllowed");
      const head = method === "HEAD";
      const path = url.pathname;
      if (path.includes("\0")) throw new BadPathError("the path holds NUL");
      if (path === "/" || path === "/index.html") {
        const page = Buffer.from(VIEWER_PAGE);
        response.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "content-length": page.byteLength,
          "cache-control": "no-store",
          // Only this server: no script, style or image from anywhere else.
          "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
          "x-content-type-options": "nosniff",
        });
        response.end(head ? undefined : page);
        return;
      }
      if (path === "/api/pools") return sendJson(response, 200, [...pools.keys()], head);
      const ref = url.searchParams.get("ref");
      const route = (prefix: string) => (path === prefix.slice(0, -1) || path.startsWith(prefix) ? pathSegments(restOf(path, prefix)) : undefined);
      let segments: string[] | undefined;
      if ((segments = route("/api/meta/"))) {
        const [pool, ...rest] = segments;
        const served = servedOf(pools, pool);
        return sendJson(response, 200, await meta(served, await poolAt(served, ref), rest, url, controller.signal), head);
      }
      if ((segments = route("/api/repo/"))) {
        const [pool] = segments;
        return sendJson(response, 200, await repoInfo(servedOf(pools, pool), ref), head);
      }
      if ((segments = route("/api/lineage/"))) {
        const [pool, ...rest] = segments;
        return sendJson(response, 200, await lineage(await poolAt(servedOf(pools, pool), ref), rest), head);
      }
      if ((segments = route("/api/nearest/"))) {
        const [pool, ...rest] = segments;
        return sendJson(response, 200, await nearestRows(await poolAt(servedOf(pools, pool), ref), rest, url, controller.signal), head);
      }
      if ((segments = route("/api/data/"))) {
        const [pool, ...rest] = segments;
        return await data(await poolAt(servedOf(pools, pool), ref), rest, url, maxBytes, response, head, controller.signal);
      }
      if (path.startsWith("/zarr/")) {
        const rest = path.slice("/zarr/".length);
        const [pool, ...key] = pathSegments(rest.endsWith("/") ? rest.slice(0, -1) : rest);
        return await zarrKey(await poolAt(servedOf(pools, pool), null), key, request, response, head);
      }
      throw new HttpError(404, `no route ${JSON.stringify(path)} (routes: /, /api/pools, /api/meta/POOL/PATH, /api/data/POOL/PATH?sel=, /api/repo/POOL, /api/lineage/POOL/PATH, /api/nearest/POOL/PATH?q=, /zarr/POOL/KEY)`, "NotFound");
    } catch (error) {
      const { status, type, message } = statusOf(error);
      if (status === 500) log?.(`error: ${(error as Error)?.stack ?? String(error)}`);
      if (!response.headersSent) sendJson(response, status, { error: { type, message } });
      else response.destroy();
    } finally {
      log?.(`${request.method} ${url.pathname} ${response.statusCode} ${(performance.now() - started).toFixed(1)} ms`);
    }
  };

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
