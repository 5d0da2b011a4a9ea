#!/usr/bin/env node
/**
 * cli/: the `dosna` command. main.ts declares the commands and their options (commander) and turns
 * failures into one line and an exit code; commands/ holds what each command does, written
 * against the public API (../index.js) only.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { AbortedError } from "../index.js";
import { Cli, type GlobalOptions } from "./context.js";
import { cp } from "./commands/cp.js";
import { get } from "./commands/get.js";
import { info, ls } from "./commands/inspect.js";
import { attrs, create, rm } from "./commands/modify.js";
import { exportCommand, importCommand } from "./commands/npy.js";
import { exportHdf5Command, importHdf5Command, isHdf5File, isHdf5Name } from "./commands/hdf5.js";
import { invalidate, lineage, record } from "./commands/lineage.js";
import { branch, checkout, diff, gc, log, merge, repoInit, tag } from "./commands/repo.js";
import { apply, deriveList, deriveRefresh, jobs, map, worker } from "./commands/compute.js";
import { serveCommand } from "./commands/serve.js";
import { describeFailure, EXIT_INTERRUPTED, EXIT_OK, EXIT_USER_ERROR, exitCodeOf } from "./exit.js";

const URL_HELP = `
URLs
  s3://BUCKET/PATH             PATH inside the pool BUCKET
  s3://BUCKET/PREFIX::PATH     PATH inside the pool stored under PREFIX in BUCKET
  memory:POOL/PATH             a scratch pool in memory (gone when the command exits)
  DIR/PATH, file:///DIR/PATH   a local pool: walking up from PATH, the pool is the outermost
                               directory of the unbroken chain of directories holding a zarr.json
  DIR::PATH                    a local pool named explicitly (DIR is the pool directory); needed
                               to create a pool implicitly, e.g. dosna import a.npy ./new::a
  "::" always splits pool and path; PATH "" (or none) is the pool itself.

  S3 endpoint and keys: DOSNA_ENDPOINT, DOSNA_ACCESS_KEY_ID, DOSNA_SECRET_ACCESS_KEY (and
  DOSNA_REGION, DOSNA_NJOBS, ...), or a config file (--config FILE or DOSNA_CONFIG; see
  ceph.sample.conf). Variables override the file.

Versions
  A pool can hold a repository (dosna repo init POOL): commits, branches, tags. POOL is the pool's
  own URL (./data/tutorial, s3://BUCKET, s3://BUCKET/PREFIX::); REF is a branch, a tag or a
  snapshot id (from dosna log). ls, info, get, export and cp read the version REF with --ref REF;
  without it they read the pool's plain contents. Commits are made through the library
  (repo.checkout({ branch, write: true }) ... session.commit(message)).

Provenance
  dosna's own operations (map, apply, clone, load, resize, commits) record what each dataset was
  made from; dosna record adds what dosna did not see (a model, a run, a file). Records live in
  the pool (under .dosna/provenance/). dosna lineage shows where a dataset came from (or with
  --downstream what was made from it); dosna invalidate marks it and everything made from it stale
  (readers of a flagged dataset are warned). A record ID is 24 hex digits, as dosna record prints.

Exit codes: 0 ok, 1 bad input or usage (one line on stderr), 2 storage error or conflict (a merge
that conflicts lists the conflicts on stderr first), 3 an HDF5 import that skipped datasets or
attributes dosna cannot store (each listed on stderr; the rest was imported), 130 interrupted.
Progress goes to stderr: a bar on a terminal, a line every 2 s otherwise, none with --quiet.`;

function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function buildProgram(run: (action: (cli: Cli) => Promise<void>, command: Command) => Promise<void>): Command {
  const program = new Command("dosna")
    .description("Inspect, create, import, export and copy dosna / Zarr v3 arrays on S3 (Ceph RGW, MinIO, AWS), local directories or memory.")
    .version(version(), "-V, --version")
    .option("--config <file>", "dosna config file for s3:// URLs (endpoint, keys; see ceph.sample.conf)")
    .option("-j, --njobs <n>", "chunks transferred concurrently (default: DOSNA_NJOBS or 8)", positiveInteger("--njobs"))
    .option("-q, --quiet", "no progress and no summary lines")
    .option("-v, --verbose", "print the stack trace of errors")
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`dosna: ${text.replace(/^error: /, "")}`) })
    .addHelpText("after", URL_HELP);

  const compression = () => new Option("--compression <name>", "chunk compression: gzip, none, or any other the library supports");
  const ref = () => new Option("--ref <ref>", "read this version (branch, tag or snapshot id) of the repository the pool holds");
  const level = () => new Option("--compression-level <n>", "gzip level 0-9").argParser(positiveIntegerOrZero);
  const functions = () => new Option("--functions <module>", "a module that registers chunk functions (dn.registerFunction); repeat for several").argParser(collect);
  const engine = () => new Option("--engine <engine>", 'where chunks are computed: "local" (default), "threads", "threads:N", or redis://HOST:PORT (dosna worker processes)');
  const params = () => new Option("--params <json>", "parameters of the function, as JSON");

  program
    .command("ls")
    .description("list pools (at a directory or s3:// root), or the groups and datasets of a pool or group")
    .argument("[url]", "a pool, group or dataset, or a directory / s3:// holding pools", ".")
    .option("-r, --recursive", "list nested groups too")
    .addOption(ref())
    .option("--json", "machine-readable output")
    .action((url: string, opts, cmd: Command) => run((cli) => ls(cli, url, opts), cmd));

  program
    .command("info")
    .description("metadata, attributes and storage of a dataset, group or pool (chunks written vs possible, compression ratio)")
    .argument("<url>")
    .addOption(ref())
    .option("--json", "machine-readable output")
    .action((url: string, opts, cmd: Command) => run((cli) => info(cli, url, opts), cmd));

  program
    .command("get")
    .description('print a selection of a dataset as numpy prints it, e.g. dosna get ./pool/data "0, :, 10:20"')
    .argument("<url>", "a dataset")
    .argument("[selection]", "numpy index syntax: integers, start:stop:step, ..., [1, 5, 7] (default: everything)")
    .addOption(ref())
    .option("--json", 'print {"shape", "dtype", "data"} as JSON (NaN/Infinity as strings)')
    .action((url: string, selection: string | undefined, opts, cmd: Command) => run((cli) => get(cli, url, selection, opts), cmd));

  program
    .command("create")
    .description("create a dataset (--shape and --dtype), a group (--group) or a pool (--pool)")
    .argument("<url>")
    .option("--shape <dims>", 'e.g. "100,200" ("" or "()" for 0-d)')
    .option("--dtype <type>", "bool, int8..int64, uint8..uint64, float32, float64 (numpy spellings too)")
    .option("--chunks <dims>", "chunk shape, or one number for every axis (default: about 1 MiB chunks)")
    .option("--fill-value <value>", "value of unwritten elements: a number, nan, inf, true, false")
    .addOption(compression())
    .addOption(level())
    .option("--attrs <json>", 'attributes as a JSON object, e.g. \'{"units": "m"}\'')
    .option("--dimension-names <names>", "comma-separated axis names")
    .option("--group", "create a group")
    .option("--pool", "create a pool: the whole URL is the pool (a directory, BUCKET or BUCKET/PREFIX, memory:NAME)")
    .action((url: string, opts, cmd: Command) => run((cli) => create(cli, url, opts), cmd));

  program
    .command("rm")
    .description("delete a dataset, a group (with its contents) or a pool (with its contents); asks first")
    .argument("<url>")
    .option("-y, --yes", "do not ask (required when stdin is not a terminal)")
    .action((url: string, opts, cmd: Command) => run((cli) => rm(cli, url, opts), cmd));

  program
    .command("attrs")
    .description("show all attributes (JSON), show one (NAME), set one (NAME VALUE; VALUE is JSON, else a string), or --delete NAME")
    .argument("<url>", "a dataset, group or pool")
    .argument("[name]")
    .argument("[value]")
    .option("--delete <name>", "delete an attribute (repeatable)", collect)
    .action((url: string, name: string | undefined, value: string | undefined, opts, cmd: Command) => run((cli) => attrs(cli, url, name, value, opts), cmd));

  program
    .command("import")
    .description(
      "create a dataset from a .npy file (streamed chunk row by chunk row; any size), or import an HDF5 file's groups, datasets and attributes " +
        "into a pool or group (slab by slab; HDF5 chunks, fill values and gzip kept); what dosna cannot store is listed on stderr (exit 3)",
    )
    .argument("<file>", ".npy file (v1/v2/v3, C or Fortran order, either byte order), or an HDF5 file")
    .argument("<url>", "the dataset to create (.npy), or the pool or group to import into (HDF5; created if missing)")
    .option("--chunks <dims>", "chunk shape, or one number for every axis")
    .addOption(compression())
    .addOption(level())
    .option("--fill-value <value>", "fill value of the new dataset")
    .option("--overwrite", "replace an existing dataset or group at URL")
    .addOption(new Option("--engine <engine>", "redis://HOST:PORT: dosna worker processes write the slabs (the file must be at the same path for them)"))
    .action((file: string, url: string, opts, cmd: Command) =>
      run(async (cli) => ((await isHdf5File(file)) ? importHdf5Command(cli, file, url, opts) : importCommand(cli, file, url, opts)), cmd),
    );

  program
    .command("export")
    .description("write a dataset (or --slice of it) to a .npy file (C order, little endian; streamed), or a dataset or group (recursively) to a new HDF5 file (FILE ending .h5, .hdf5, .he5 or .hdf)")
    .argument("<url>", "a dataset (.npy), or a dataset, group or pool (HDF5)")
    .argument("<file>", "the .npy or HDF5 file to write")
    .option("--slice <selection>", 'numpy index syntax, e.g. "::2, 10:20"')
    .addOption(ref())
    .option("--overwrite", "replace an existing file")
    .action((url: string, file: string, opts, cmd: Command) => run((cli) => (isHdf5Name(file) ? exportHdf5Command(cli, url, file, opts) : exportCommand(cli, url, file, opts)), cmd));

  program
    .command("cp")
    .description(
      "copy a dataset, group or pool to another place or store; stored chunks are copied as they are when the layout matches; " +
        "rerunning after an interruption skips chunks already copied",
    )
    .argument("<src>")
    .argument("<dst>", "the path the copy gets (a pool URL to copy a pool or group into a pool's root)")
    .option("--overwrite", "replace destination nodes of another kind, shape or dtype")
    .addOption(new Option("--ref <ref>", "copy the source as it is in this version (branch, tag or snapshot id) of its pool's repository"))
    .option("--chunks <dims>", "re-chunk datasets created by the copy")
    .addOption(compression())
    .addOption(level())
    .addOption(new Option("--engine <engine>", "redis://HOST:PORT: dosna worker processes copy the datasets' chunks (both pools on S3 or a shared directory)"))
    .addOption(new Option("--zarr-format <n>", "the Zarr format of a destination pool the copy creates (an existing pool keeps its own)").choices(["2", "3"]).default("3"))
    .action((src: string, dst: string, opts, cmd: Command) => run((cli) => cp(cli, src, dst, opts), cmd));

  const repo = program.command("repo").description("repositories of versions in a pool: dosna repo init POOL (see Versions in dosna --help)");
  repo
    .command("init")
    .description("make a pool a repository with branch main; a pool with data is imported as the first commit (a missing local directory or bucket is created)")
    .argument("<pool>")
    .option("--author <author>", 'author of the first commit, "Name <email>" (default: the user name)')
    .option("--message <text>", "message of the first commit")
    .action((url: string, opts, cmd: Command) => run((cli) => repoInit(cli, url, opts), cmd));

  program
    .command("log")
    .description("the commits of a branch, tag or snapshot and all its ancestors, newest first: snapshot id, time, author, message")
    .argument("<pool>")
    .option("--ref <ref>", "where to start (default: main)")
    .option("-n, --limit <n>", "at most this many commits", positiveInteger("--limit"))
    .option("--json", "machine-readable output")
    .action((url: string, opts, cmd: Command) => run((cli) => log(cli, url, opts), cmd));

  program
    .command("branch")
    .description("list branches with the snapshot each points at; or create NAME (--from REF, default main), --delete it, or --reset it to REF")
    .argument("<pool>")
    .argument("[name]")
    .option("--from <ref>", "create the branch at this branch, tag or snapshot (default: main)")
    .option("--delete", "delete the branch (main cannot be deleted; its snapshots stay until gc)")
    .option("--reset <ref>", "point the branch at this branch, tag or snapshot")
    .option("--json", "machine-readable listing")
    .action((url: string, name: string | undefined, opts, cmd: Command) => run((cli) => branch(cli, url, name, opts), cmd));

  program
    .command("tag")
    .description("list tags; or create tag NAME at REF (default main); tags never move")
    .argument("<pool>")
    .argument("[name]")
    .argument("[ref]")
    .option("--json", "machine-readable listing")
    .action((url: string, name: string | undefined, at: string | undefined, opts, cmd: Command) => run((cli) => tag(cli, url, name, at, opts), cmd));

  program
    .command("diff")
    .description("what changed from one version to another: nodes added and removed; per dataset metadata, attributes and chunk indices added, changed, removed")
    .argument("<pool>")
    .argument("<from>", "branch, tag or snapshot id")
    .argument("<to>", "branch, tag or snapshot id")
    .option("--json", "machine-readable output, every chunk index")
    .action((url: string, from: string, to: string, opts, cmd: Command) => run((cli) => diff(cli, url, from, to, opts), cmd));

  program
    .command("merge")
    .description("merge a branch, tag or snapshot into a branch: a fast-forward, or a merge snapshot when the two sides changed different chunks and nodes; conflicts change nothing and are listed on stderr (exit 2)")
    .argument("<pool>")
    .argument("<source>", "branch, tag or snapshot id")
    .option("--into <branch>", "the branch to merge into", "main")
    .option("-m, --message <text>", "message of a merge snapshot")
    .option("--author <author>", 'author of a merge snapshot, "Name <email>"')
    .option("--json", "machine-readable output (the conflicts too)")
    .action((url: string, source: string, opts, cmd: Command) => run((cli) => merge(cli, url, source, opts), cmd));

  program
    .command("checkout")
    .description("write a version as a plain Zarr v3 hierarchy into a pool or group (created if missing, refused if not empty unless --overwrite)")
    .argument("<pool>")
    .argument("<ref>", "branch, tag or snapshot id")
    .requiredOption("--export <url>", "the pool or group to write the version into, e.g. ./v1::, s3://bucket/out")
    .option("--overwrite", "replace what the destination holds")
    .action((url: string, at: string, opts, cmd: Command) => run((cli) => checkout(cli, url, at, opts), cmd));

  program
    .command("gc")
    .description("delete snapshots, manifests and chunks no branch or tag reaches, made before --older-than; prints counts deleted and kept")
    .argument("<pool>")
    .option("--older-than <age>", "an age (30m, 1h, 2d, 1w) or an ISO date/time; default 1h, so sessions writing now keep their chunks")
    .option("--expire <age>", "first drop history made before this age or date that no branch or tag points at (repo.expire)")
    .option("--json", "machine-readable output")
    .action((url: string, opts, cmd: Command) => run((cli) => gc(cli, url, opts), cmd));

  program
    .command("lineage")
    .description("the provenance of a dataset: the records it was made from (or with --downstream, those made from it), as a tree with kind, time and stale marks")
    .argument("<url>", "a dataset")
    .option("--depth <n>", "follow at most this many steps", positiveInteger("--depth"))
    .option("--downstream", "what was made from the dataset, instead of what it was made from")
    .addOption(new Option("--json", "the graph as JSON: { root, records: { ID: record }, edges: [{ from, to }], problems }").conflicts(["prov", "mermaid"]))
    .addOption(new Option("--prov", "the graph as W3C PROV-JSON").conflicts(["json", "mermaid"]))
    .addOption(new Option("--mermaid", "the graph as a Mermaid flowchart").conflicts(["json", "prov"]))
    .action((url: string, opts, cmd: Command) => run((cli) => lineage(cli, url, opts), cmd));

  program
    .command("record")
    .description("add a provenance record (a model, run, file, config, dataset, or a kind of your own) to a pool; prints its ID")
    .argument("<pool>")
    .requiredOption("--kind <kind>", "dataset, model, file, run, config, or your own")
    .requiredOption("--name <name>", "what it is called")
    .option("--input <id|path>", "a record ID or a dataset path it was made from (repeatable)", collect)
    .option("--output <id|path>", "a record ID or a dataset path it made: that record gets this one as an input (repeatable)", collect)
    .option("--uri <uri>", "where the thing is, outside dosna (repeatable)", collect)
    .option("--tag <name=value>", "a tag: true/false and numbers are typed, the rest strings; NAME:TYPE=VALUE with TYPE string, integer, float, boolean or time (repeatable)", collect)
    .option("--param <json>", 'parameters as JSON, e.g. \'{"threshold": 0.5}\'')
    .option("--json", "print the whole record, not only its ID")
    .action((url: string, opts, cmd: Command) => run((cli) => record(cli, url, opts), cmd));

  program
    .command("invalidate")
    .description("mark a dataset and every record downstream of it stale (who, when, why); lists the records marked")
    .argument("<url>", "a dataset")
    .requiredOption("--reason <text>", "why it is no longer valid")
    .option("--action <name>", "what should be done about it, e.g. recompute")
    .option("--json", "the records marked, as JSON")
    .action((url: string, opts, cmd: Command) => run((cli) => invalidate(cli, url, opts), cmd));


  program
    .command("map")
    .description("run a registered chunk function over a dataset into a new dataset OUT beside it")
    .argument("<url>", "a dataset")
    .argument("<function>", "the registered function's name")
    .argument("<out>", "name of the output dataset (in the same group)")
    .addOption(functions())
    .addOption(engine())
    .addOption(params())
    .action((url: string, fn: string, out: string, opts, cmd: Command) => run((cli) => map(cli, url, fn, out, opts), cmd));

  program
    .command("apply")
    .description("run a registered chunk function over a dataset in place")
    .argument("<url>", "a dataset")
    .argument("<function>", "the registered function's name")
    .addOption(functions())
    .addOption(engine())
    .addOption(params())
    .action((url: string, fn: string, opts, cmd: Command) => run((cli) => apply(cli, url, fn, opts), cmd));

  program
    .command("serve")
    .description("serve pools read-only over HTTP: the viewer page, a JSON API, selections as .npy, JSON or PNG, and each pool as Zarr v3 at /zarr/POOL/ (Ctrl-C stops)")
    .argument("<urls...>", "one or more pools")
    .option("--port <n>", "TCP port (default 8080; 0 picks a free one)", positiveIntegerOrZero)
    .option("--host <address>", "address to listen on (default 127.0.0.1; any other needs --token)")
    .option("--token <token>", "required on every request (Authorization: Bearer TOKEN or ?token=); default DOSNA_SERVE_TOKEN")
    .option("--max-bytes <n>", "largest selection returned, in bytes (default 64 MiB)", positiveInteger("--max-bytes"))
    .option("--ref <ref>", "serve this branch, tag or snapshot of the pool's repository")
    .action((urls: string[], opts, cmd: Command) => run((cli) => serveCommand(cli, urls, opts), cmd));

  const derive = program.command("derive").description("datasets derived from others and kept current (pool.derive in the API)");
  derive
    .command("ls")
    .description("list the derivations of the datasets under URL, with how many blocks are stale")
    .argument("<url>", "a pool, group or dataset")
    .option("--json", "machine-readable output")
    .action((url: string, opts, cmd: Command) => run((cli) => deriveList(cli, url, opts), cmd));
  derive
    .command("refresh")
    .description("recompute the stale blocks of what is derived from the datasets under URL (left by writers that died)")
    .argument("<url>", "a pool, group or dataset")
    .addOption(functions())
    .addOption(engine())
    .action((url: string, opts, cmd: Command) => run((cli) => deriveRefresh(cli, url, opts), cmd));

  program
    .command("worker")
    .description("take chunk tasks from a queue on Redis and run them (store credentials from this process's DOSNA_* environment or --config; Ctrl-C or SIGTERM stops after the running tasks)")
    .requiredOption("--queue <url>", "redis://[:PASSWORD@]HOST:PORT of the queue")
    .addOption(functions())
    .option("--concurrency <n>", "tasks run at once (default 1)", positiveInteger("--concurrency"))
    .option("--stall-timeout <seconds>", "a task whose worker died is taken over after this long (default 30)", positiveInteger("--stall-timeout"))
    .option("--name <queue>", 'queue name (default "dosna")')
    .action((opts, cmd: Command) => run((cli) => worker(cli, opts), cmd));

  program
    .command("jobs")
    .description("list the queue's jobs (running and finished, with progress) and its workers")
    .requiredOption("--queue <url>", "redis://[:PASSWORD@]HOST:PORT of the queue")
    .option("--name <queue>", 'queue name (default "dosna")')
    .option("--limit <n>", "at most this many jobs, newest first (default 50)", positiveInteger("--limit"))
    .option("--json", "machine-readable output")
    .action((opts, cmd: Command) => run((cli) => jobs(cli, opts), cmd));

  return program;
}

function positiveIntegerOrZero(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("must be an integer");
  return n;
}

/**
 * The AWS SDK warns on every run under Node 20 that its future versions will need Node 22: noise on
 * a command line, and it would break the one-line error contract. It has a switch for that.
 */
function silenceSdkNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

/**
 * dosna's own warnings (a read of a dataset flagged stale, a provenance record that could not be
 * written) as one line "dosna: warning: ...", not Node's two-line default; others as Node prints them.
 */
function printDosnaWarningsOnOneLine(): void {
  const defaults = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error & { code?: string }) => {
    if (warning.code?.startsWith("DOSNA_")) process.stderr.write(`dosna: warning: ${warning.message.replace(/\s*\n\s*/g, " ")}\n`);
    else for (const listener of defaults) listener(warning);
  });
}

export async function main(argv: string[]): Promise<number> {
  silenceSdkNodeVersionNotice();
  printDosnaWarningsOnOneLine();
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    process.stderr.write("\ndosna: interrupting (Ctrl-C again to quit at once)\n");
    controller.abort(new AbortedError("interrupted"));
  };
  process.on("SIGINT", onSigint);

  let cli: Cli | undefined;
  let globals: GlobalOptions = { verbose: argv.includes("-v") || argv.includes("--verbose") };
  const program = buildProgram(async (action, command) => {
    globals = command.optsWithGlobals<GlobalOptions>();
    cli = new Cli(globals, controller.signal);
    await action(cli);
  });
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT_OK : EXIT_USER_ERROR;
    }
    const failure = controller.signal.aborted && !(error instanceof AbortedError) ? new AbortedError("interrupted", { cause: error }) : error;
    process.stderr.write(describeFailure(failure, { verbose: globals.verbose ?? false, secrets: cli?.connections.secrets() ?? [] }) + "\n");
    return exitCodeOf(failure);
  } finally {
    await cli?.connections.close().catch(() => undefined);
    process.off("SIGINT", onSigint);
  }
}

main(process.argv).then((code) => process.exit(code));
