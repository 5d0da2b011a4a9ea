/** What every command gets: connections, output, progress, cancellation, and node lookup by URL. */
import { createInterface } from "node:readline/promises";
import { Dataset, Group, NotFoundError, Repository, ValidationError, type Pool } from "../index.js";
import { Connections } from "./connections.js";
import { describeLocation, parseUrl, resolveLocation, type Location } from "./locations.js";
import { createProgress, progressMode, type Progress, type ProgressUnit } from "./progress.js";

export interface GlobalOptions {
  config?: string;
  njobs?: number;
  quiet?: boolean;
  verbose?: boolean;
}

/** A version opened with --ref. */
export interface OpenVersion {
  repository: Repository;
  ref: string;
  snapshot: string;
}

export class Cli {
  readonly connections: Connections;
  readonly #versions = new WeakMap<Pool, OpenVersion>();

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

  /** A diagnostic line on stderr that goes with a failure (printed before the failure's own line). */
  warn(text: string): void {
    this.io.stderr.write(text.endsWith("\n") ? text : text + "\n");
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

  async openPool(location: Location, options: { create?: boolean; readOnly?: boolean; zarrFormat?: 2 | 3 } = {}): Promise<Pool> {
    return this.connections.openPool(location, options);
  }

  /**
   * The pool a location names, or with `ref` (a branch, tag or snapshot id) that version of the
   * repository the pool holds, read-only: a Session, which the commands use as any Pool.
   */
  async openPoolAt(location: Location, options: { readOnly?: boolean; ref?: string } = {}): Promise<Pool> {
    if (options.ref === undefined) {
      const pool = await this.openPool(location, options);
      if (location.pool === undefined || !(await Repository.exists(pool))) return pool;
      // A repository pool's plain contents are only what it held at `repo init`: read main instead,
      // and refuse plain writes that no version would ever show.
      if (!options.readOnly) {
        const url = describeLocation(location, "");
        throw new ValidationError(`${url} holds a repository: write through a session and commit (dn.Repository.open(pool).checkout({ branch, write: true })); the CLI reads versions with --ref`);
      }
      return this.openVersion(location, pool, "main");
    }
    if (location.pool === undefined) throw new ValidationError(`--ref needs a pool, and ${JSON.stringify(location.text)} names none`);
    return this.openVersion(location, await this.openPool(location, { readOnly: true }), options.ref);
  }

  private async openVersion(location: Location, pool: Pool, ref: string): Promise<Pool> {
    const repo = await this.openRepository(location, pool, `--ref ${ref}`);
    const options = { ref };
    const snapshot = await repo.resolve(options.ref);
    const session = await repo.checkout({ snapshot });
    this.#versions.set(session, { repository: repo, ref: options.ref, snapshot });
    return session;
  }

  /** The repository, ref and snapshot a pool opened by openPoolAt with a ref reads; undefined for plain pools. */
  versionOf(pool: Pool): OpenVersion | undefined {
    return this.#versions.get(pool);
  }

  /** The repository in an open pool; a plain pool is a NotFoundError saying how to make it one. */
  async openRepository(location: Location, pool: Pool, what: string): Promise<Repository> {
    if (!(await Repository.exists(pool))) {
      const url = describeLocation(location, "");
      throw new NotFoundError(`${url} is a plain pool that holds no repository, which ${what} needs (make it one with \`dosna repo init ${url}\`)`);
    }
    return Repository.open(pool);
  }

  /** The pool, group or dataset a URL names (in the version `ref`, when given). */
  async openNode(url: string, options: { readOnly?: boolean; ref?: string } = {}): Promise<{ location: Location; pool: Pool; node: Group | Dataset }> {
    const location = await this.locate(url);
    const pool = await this.openPoolAt(location, options);
    const node = location.node === "" ? pool : await pool.get(location.node);
    return { location, pool, node };
  }

  async openDataset(url: string, options: { readOnly?: boolean; ref?: string } = {}): Promise<{ location: Location; pool: Pool; dataset: Dataset }> {
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
