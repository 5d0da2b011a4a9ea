/** dosna create, rm and attrs. */
import {
  AlreadyExistsError,
  Dataset,
  NotFoundError,
  parseDataType,
  ValidationError,
  type CreateDatasetOptions,
} from "../../index.js";
import type { Cli } from "../context.js";
import { describeLocation, parseUrl, type Location } from "../locations.js";
import { parseChunks, parseIntegerList, parseJsonOrString, parseScalar, toJson } from "../text.js";

export interface CreateOptions {
  shape?: string;
  dtype?: string;
  chunks?: string;
  fillValue?: string;
  compression?: string;
  compressionLevel?: number;
  attrs?: string;
  dimensionNames?: string;
  group?: boolean;
  pool?: boolean;
}

export async function create(cli: Cli, url: string, options: CreateOptions): Promise<void> {
  const attrs = options.attrs === undefined ? undefined : parseAttributes(options.attrs);
  if (options.pool && options.group) throw new ValidationError("--pool and --group cannot be combined");
  if (options.pool) return createPool(cli, url, attrs);
  const location = await cli.locate(url);
  const path = cli.requireNodePath(location, options.group ? "group" : "dataset");
  if (options.group) {
    for (const flag of ["shape", "dtype", "chunks", "fillValue", "compression"] as const) {
      if (options[flag] !== undefined) throw new ValidationError(`--${flag.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} does not apply to --group`);
    }
    const pool = await cli.openPool(location, { create: true });
    await pool.createGroup(path, { attrs });
    cli.report(`created group ${describeLocation(location)}`);
    return;
  }
  if (options.shape === undefined || options.dtype === undefined) {
    throw new ValidationError("creating a dataset needs --shape and --dtype (or --group / --pool to create those)");
  }
  const dtype = parseDataType(options.dtype, "--dtype");
  const spec: CreateDatasetOptions = {
    shape: parseIntegerList(options.shape, "--shape", { allowEmpty: true }),
    dtype,
    chunks: parseChunks(options.chunks),
    ...(options.fillValue !== undefined ? { fillValue: parseScalar(options.fillValue, dtype, "--fill-value") } : {}),
    ...(options.compression !== undefined ? { compression: options.compression as CreateDatasetOptions["compression"] } : {}),
    ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}),
    ...(attrs ? { attrs } : {}),
    ...(options.dimensionNames !== undefined ? { dimensionNames: options.dimensionNames.split(",").map((n) => n.trim()) } : {}),
  };
  const pool = await cli.openPool(location, { create: true });
  const dataset = await pool.createDataset(path, spec);
  cli.report(`created dataset ${describeLocation(location)}: shape [${dataset.shape.join(", ")}] ${dataset.dtype}, chunks [${dataset.chunks.join(", ")}]`);
}

/** --pool: the whole URL is the pool (a directory, a bucket or bucket/prefix, a memory pool). */
async function createPool(cli: Cli, url: string, attrs: Record<string, unknown> | undefined): Promise<void> {
  const parsed = parseUrl(url);
  if (parsed.node !== undefined && parsed.node !== "") throw new ValidationError(`--pool takes the pool's own URL, without a path after "::" (got ${JSON.stringify(url)})`);
  if (parsed.location === "") throw new ValidationError(`${JSON.stringify(url)} names no pool`);
  const location: Location = { backend: parsed.backend, text: url, pool: parsed.location, node: "", poolIsExplicit: true };
  const existing = await cli.openPool(location, { readOnly: true }).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  if (existing) throw new AlreadyExistsError(`pool ${describeLocation(location)} already exists`);
  const pool = await cli.openPool(location, { create: true });
  if (attrs) await pool.attrs.update(attrs);
  cli.report(`created pool ${describeLocation(location)}`);
}

function parseAttributes(text: string): Record<string, unknown> {
  const value = parseJsonOrString(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ValidationError(`--attrs must be a JSON object such as '{"units": "m"}', got ${JSON.stringify(text)}`);
  }
  return value as Record<string, unknown>;
}

export async function rm(cli: Cli, url: string, options: { yes?: boolean }): Promise<void> {
  const location = await cli.locate(url);
  // A whole pool (with any repository in it) can go; a node inside a repository pool cannot be removed plainly.
  const pool = location.node === "" ? await cli.openPool(location) : await cli.openPoolAt(location);
  const node = location.node === "" ? pool : await pool.get(location.node);
  const what =
    location.node === ""
      ? `pool ${describeLocation(location)} and everything in it`
      : node instanceof Dataset
        ? `dataset ${describeLocation(location)} (shape [${node.shape.join(", ")}] ${node.dtype})`
        : `group ${describeLocation(location)} and everything in it`;
  if (!options.yes) {
    if (!cli.interactive) throw new ValidationError(`refusing to delete ${what} without confirmation: stdin is not a terminal; pass --yes`);
    if (!(await cli.confirm(`delete ${what}?`))) {
      cli.print("nothing deleted");
      return;
    }
  }
  if (location.node === "") await cli.connections.deletePool(location);
  else await pool.delete(location.node);
  cli.report(`deleted ${what}`);
}

export async function attrs(cli: Cli, url: string, name: string | undefined, value: string | undefined, options: { delete?: string[] }): Promise<void> {
  const readOnly = value === undefined && !options.delete?.length;
  const { location, node } = await cli.openNode(url, { readOnly });
  if (options.delete?.length) {
    if (name !== undefined) throw new ValidationError("--delete cannot be combined with NAME/VALUE arguments");
    for (const key of options.delete) await node.attrs.delete(key);
    cli.report(`deleted attribute${options.delete.length > 1 ? "s" : ""} ${options.delete.join(", ")} of ${describeLocation(location)}`);
    return;
  }
  if (name === undefined) {
    cli.print(toJson(node.attrs.toJSON(), 2));
    return;
  }
  if (value === undefined) {
    if (!node.attrs.has(name)) throw new NotFoundError(`attribute "${name}" is not set on ${describeLocation(location)}`);
    cli.print(toJson(node.attrs.get(name), 2));
    return;
  }
  await node.attrs.set(name, parseJsonOrString(value));
}
