/** What every command gets: connections, output, progress, cancellation, and node lookup by URL. */
import { createInterface } from "node:readline/promises";
import { Dataset, Group, NotFoundError, ValidationError, type Pool } from "../index.js";
import { Connections } from "./connections.js";
import { describeLocation, parseUrl, resolveLocation, type Location } from "./locations.js";
import { createProgress, progressMode, type Progress, type ProgressUnit } from "./progress.js";

export interface GlobalOptions {
  config?: string;
  njobs?: number;
  quiet?: boolean;
  verbose?: boolean;
}

export class Cli {
  readonly connections: Connections;

  constructor(
    readonly options: GlobalOptions,
    readonly signal: AbortSignal,
    private readonly io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream; stdin: NodeJS.ReadStream } = process,
  ) {
    this.connections = new Connections({ env: process.env, configFile: options.config, njobs: options.njobs });
  }

  /** A result line on stdout. */
  print(text: string): void {
    this.io.stdout.write(text.endsWith("\n") ? text : text + "\n");
  }

  /** A summary of what was done, on stdout; silent with --quiet. */
  report(text: string): void {
    if (!this.options.quiet) this.print(text);
  }

  progress(label: string, unit: ProgressUnit): Progress {
    return createProgress(progressMode(this.options, this.io.stderr), label, unit, this.io.stderr);
  }

  get interactive(): boolean {
    return this.io.stdin.isTTY === true;
  }

  /** Ask a yes/no question on the terminal; false unless the answer is y or yes. */
  async confirm(question: string): Promise<boolean> {
    const rl = createInterface({ input: this.io.stdin, output: this.io.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `, { signal: this.signal });
      return /^\s*y(es)?\s*$/i.test(answer);
    } finally {
      rl.close();
    }
  }

  async locate(url: string): Promise<Location> {
    return resolveLocation(parseUrl(url));
  }

  async openPool(location: Location, options: { create?: boolean; readOnly?: boolean } = {}): Promise<Pool> {
    return this.connections.openPool(location, options);
  }

  /** The pool, group or dataset a URL names. */
  async openNode(url: string, options: { readOnly?: boolean } = {}): Promise<{ location: Location; pool: Pool; node: Group | Dataset }> {
    const location = await this.locate(url);
    const pool = await this.openPool(location, options);
    const node = location.node === "" ? pool : await pool.get(location.node);
    return { location, pool, node };
  }

  async openDataset(url: string, options: { readOnly?: boolean } = {}): Promise<{ location: Location; pool: Pool; dataset: Dataset }> {
    const { location, pool, node } = await this.openNode(url, options);
    if (!(node instanceof Dataset)) {
      throw new NotFoundError(`${describeLocation(location)} is ${location.node === "" ? "a pool" : "a group"}, not a dataset (\`dosna ls\` lists what it holds)`);
    }
    return { location, pool, dataset: node };
  }

  /** A location whose node path names something to create inside a pool. */
  requireNodePath(location: Location, what: string): string {
    if (location.node === "") throw new ValidationError(`${JSON.stringify(location.text)} names a pool; add the ${what} path after it`);
    return location.node;
  }
}
