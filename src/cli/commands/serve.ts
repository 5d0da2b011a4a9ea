/**
 * dosna serve URL...: the viewer page, the read-only HTTP API and Zarr over HTTP (src/server/) for
 * the pools the URLs name (named by their last path part; --ref: the version of each repository
 * served by default), until Ctrl-C or SIGTERM.
 */
import { basename } from "node:path";
import { ValidationError, type Pool } from "../../index.js";
import { serve } from "../../server/server.js";
import type { Cli } from "../context.js";
import { describeLocation } from "../locations.js";

export interface ServeCommandOptions {
  port?: number;
  host?: string;
  token?: string;
  maxBytes?: number;
  ref?: string;
}

export async function serveCommand(cli: Cli, urls: string[], options: ServeCommandOptions): Promise<void> {
  const pools = new Map<string, Pool>();
  const shown: string[] = [];
  for (const url of urls) {
    const location = await cli.locate(url);
    if (location.pool === undefined) throw new ValidationError(`dosna serve needs pools, and ${JSON.stringify(url)} names none (\`dosna ls ${url}\` lists the pools there)`);
    // The plain pool: the server serves a repository's versions itself (?ref=, and --ref by default).
    const pool = await cli.openPool(location, { readOnly: true });
    let name = basename(location.pool);
    for (let n = 2; pools.has(name); n++) name = `${basename(location.pool)}-${n}`;
    pools.set(name, pool);
    shown.push(`${describeLocation(location, "")} as "${name}"`);
  }
  const token = options.token ?? (process.env.DOSNA_SERVE_TOKEN || undefined);
  const refs = options.ref === undefined ? undefined : new Map([...pools.keys()].map((name) => [name, options.ref!]));
  const running = await serve({
    pools,
    refs,
    host: options.host,
    port: options.port,
    token,
    maxBytes: options.maxBytes,
    njobs: cli.connections.njobs,
    log: cli.options.quiet ? undefined : (line) => cli.warn(line),
  });
  cli.warn(`dosna serve: ${shown.join(", ")}${options.ref ? ` at ${options.ref}` : ""} on ${running.url} (the viewer at ${running.url}/, Zarr at ${running.url}/zarr/POOL/)${token ? "; a token is required" : ""}`);
  await new Promise<void>((resolve) => {
    if (cli.signal.aborted) return resolve();
    cli.signal.addEventListener("abort", () => resolve(), { once: true });
    process.once("SIGTERM", () => resolve());
  });
  await running.close();
}
