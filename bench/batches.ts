/**
 * What training batches cost (src/compute/batches.ts): samples per second of `batches(ds, ...)`
 * over one epoch against reading the same rows with `ds.get`, one batch at a time, as a training
 * loop without it would:
 *
 *   batches shuffled     batches(ds, { shuffle: true, prefetch })     chunk-aligned blocks, shuffle buffer
 *   batches sequential   batches(ds, { shuffle: false, prefetch })
 *   get shuffled         ds.get([rowsOfBatch, null]) per batch        rows of a seeded permutation (sorted in
 *                                                                      the batch): each batch touches most chunks
 *   get sequential       ds.get([slice(i, i + b), null]) per batch    a chunk straddled by two batches is read twice
 *
 * on the fs store (a temporary directory) and on S3 (the local Ceph RGW) when
 * DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _REGION) is set. The dataset is rows × 256
 * float32 (100,000 rows, --quick 20,000) in chunks of 1,000 rows (1 MiB), uncompressed. GETs go
 * through a counting Store decorator: "GETs/chunk" is the chunk objects' reads per epoch. A case
 * that needs more than --budget seconds (default 20, quick 5) is stopped there and its rate taken
 * from the samples done (marked "partial"). Each case runs --repeats times (default 3, quick 1) and
 * the median is reported.
 *
 *   npx tsx bench/batches.ts [--quick] [--rows N] [--width N] [--chunk-rows N] [--batch N]
 *                            [--prefetch N] [--budget S] [--repeats N] [--stores fs,s3] [--json [FILE]]
 * `benchBatches(options)` returns the numbers for bench/run.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as dn from "../src/index.js";
import { batches } from "../src/compute/batches.js";
import type { GetOptions, GetVersionedOptions, DirectoryListing } from "../src/store/store.js";
import { commandLine, seededRandom } from "./harness.js";

export interface BatchesBenchOptions {
  quick?: boolean;
  /** Rows of the dataset (default 100,000; quick 20,000). */
  rows?: number;
  /** Elements per row (default 256). */
  width?: number;
  /** Rows per chunk (default 1,000). */
  chunkRows?: number;
  batchSize?: number;
  prefetch?: number;
  /** Seconds a case may run before it is stopped and its rate taken from what it did (default 20; quick 5). */
  budgetSeconds?: number;
  /** Stores to run on (default fs and, when configured, s3). */
  stores?: string[];
  njobs?: number;
  /** Runs of each case, the median reported (default 3; quick 1); a case stopped by the budget runs once. */
  repeats?: number;
  seed?: number;
}

export interface BatchesRow {
  store: string;
  case: string;
  samplesPerSecond: number;
  seconds: number;
  samples: number;
  gets: number;
  /** GETs per chunk object, scaled to a whole epoch for a partial case. */
  getsPerChunk: number;
  /** samplesPerSecond over that of "get shuffled" on the same store. */
  speedupOverShuffledGet: number;
  partial: boolean;
}

export interface BatchesReport {
  date: string;
  settings: Required<Omit<BatchesBenchOptions, "stores">> & { stores: string[]; chunks: number; datasetMiB: number };
  rows: BatchesRow[];
  skipped: string[];
}

/** A Store that counts GETs (getVersioned included) and passes everything through. */
class GetCountingStore implements dn.Store {
  gets = 0;
  readonly conditionalSupport?: dn.Store["conditionalSupport"];
  constructor(private readonly inner: dn.Store) {
    if (inner.conditionalSupport) this.conditionalSupport = (options) => inner.conditionalSupport!(options);
  }
  get description(): string {
    return this.inner.description;
  }
  get(key: string, range?: dn.ByteRange, options?: GetOptions): Promise<Uint8Array | undefined> {
    this.gets++;
    return this.inner.get(key, range, options);
  }
  getVersioned(key: string, options?: GetVersionedOptions): Promise<dn.VersionedBytes | undefined> {
    this.gets++;
    return this.inner.getVersioned(key, options);
  }
  set(key: string, value: Uint8Array, options?: dn.SetOptions): Promise<string> {
    return this.inner.set(key, value, options);
  }
  delete(key: string, options?: dn.DeleteOptions): Promise<void> {
    return this.inner.delete(key, options);
  }
  deleteMany(keys: string[], options?: dn.RequestOptions): Promise<void> {
    return this.inner.deleteMany(keys, options);
  }
  list(prefix: string, options?: dn.RequestOptions): AsyncIterable<string> {
    return this.inner.list(prefix, options);
  }
  listDir(prefix: string, options?: dn.RequestOptions): Promise<DirectoryListing> {
    return this.inner.listDir(prefix, options);
  }
}


function storeConfigs(wanted: string[], workDir: string, skipped: string[]): Array<{ name: string; config: dn.ClusterConfig }> {
  const out: Array<{ name: string; config: dn.ClusterConfig }> = [];
  if (wanted.includes("fs")) out.push({ name: "fs", config: { backend: "fs", root: join(workDir, "fs") } as dn.ClusterConfig });
  if (wanted.includes("s3")) {
    const endpoint = process.env.DOSNA_TEST_S3_ENDPOINT;
    if (endpoint) {
      out.push({
        name: "s3",
        config: {
          backend: "s3",
          endpoint,
          accessKeyId: process.env.DOSNA_TEST_S3_ACCESS_KEY ?? "",
          secretAccessKey: process.env.DOSNA_TEST_S3_SECRET_KEY ?? "",
          region: process.env.DOSNA_TEST_S3_REGION ?? "us-east-1",
        } as dn.ClusterConfig,
      });
    } else skipped.push('s3: set DOSNA_TEST_S3_ENDPOINT, e.g. eval "$(bash scripts/rgw-start.sh)"');
  }
  return out;
}

export async function benchBatches(options: BatchesBenchOptions = {}): Promise<BatchesReport> {
  const quick = options.quick ?? false;
  const settings = {
    quick,
    rows: options.rows ?? (quick ? 20_000 : 100_000),
    width: options.width ?? 256,
    chunkRows: options.chunkRows ?? 1000,
    batchSize: options.batchSize ?? 256,
    prefetch: options.prefetch ?? 4,
    budgetSeconds: options.budgetSeconds ?? (quick ? 5 : 20),
    njobs: options.njobs ?? 8,
    repeats: options.repeats ?? (quick ? 1 : 3),
    seed: options.seed ?? 42,
  };
  const skipped: string[] = [];
  const workDir = mkdtempSync(join(tmpdir(), "dosna-bench-batches-"));
  const stores = storeConfigs(options.stores ?? ["fs", "s3"], workDir, skipped);
  const { rows: nRows, width, chunkRows, batchSize } = settings;
  const chunks = Math.ceil(nRows / chunkRows);
  const rows: BatchesRow[] = [];
  try {
    for (const { name: storeName, config } of stores) {
      const cluster = new dn.Cluster(config);
      await cluster.connect();
      const poolName = `dosna-bench-batches-${process.pid}-${Date.now().toString(36)}`;
      try {
        const created = await cluster.createPool(poolName);
        const store = new GetCountingStore(created.store);
        const pool = await dn.Pool.open(store, { name: poolName, provenance: false, njobs: () => settings.njobs });
        console.log(`== ${storeName}: writing [${nRows}, ${width}] float32 (${((nRows * width * 4) / 2 ** 20).toFixed(0)} MiB) in chunks of ${chunkRows} rows`);
        const ds = await pool.createDataset("samples", { shape: [nRows, width], dtype: "float32", chunks: [chunkRows, width] });
        const slab = chunkRows * 16;
        for (let r = 0; r < nRows; r += slab) {
          const n = Math.min(slab, nRows - r);
          const values = new Float32Array(n * width);
          for (let i = 0; i < n; i++) values.fill(r + i, i * width, (i + 1) * width);
          await ds.set([dn.slice(r, r + n), null], values);
        }

        /** `repeats` runs (one when the first hits the budget); the median by samples/s. */
        const measure = async (name: string, run: (deadline: number) => Promise<{ samples: number; check: number }>) => {
          const runs: BatchesRow[] = [];
          for (let r = 0; r < settings.repeats; r++) {
            store.gets = 0;
            const started = performance.now();
            const deadline = started + settings.budgetSeconds * 1000;
            const { samples, check } = await run(deadline);
            const seconds = (performance.now() - started) / 1000;
            const partial = samples < nRows;
            // Every sample's values are its row number: the first column adds up to the sum of the rows read.
            if (!partial && check !== (nRows * (nRows - 1)) / 2) throw new Error(`${name} on ${storeName}: rows read do not add up (${check})`);
            const scale = partial ? nRows / Math.max(1, samples) : 1;
            runs.push({ store: storeName, case: name, samplesPerSecond: samples / seconds, seconds, samples, gets: store.gets, getsPerChunk: (store.gets * scale) / chunks, speedupOverShuffledGet: NaN, partial });
            if (partial) break;
          }
          const chosen = [...runs].sort((a, b) => a.samplesPerSecond - b.samplesPerSecond)[Math.floor(runs.length / 2)];
          rows.push(chosen);
          console.log(`   ${name.padEnd(20)} ${Math.round(chosen.samplesPerSecond).toLocaleString("en").padStart(11)} samples/s${chosen.partial ? " (partial)" : ""} (median of ${runs.length})`);
        };

        const viaBatches = (shuffle: boolean) => async () => {
          let samples = 0;
          let check = 0;
          for await (const batch of batches(ds, { batchSize, shuffle, seed: settings.seed, prefetch: settings.prefetch })) {
            samples += batch.indices.length;
            for (let k = 0; k < batch.indices.length; k++) check += batch.data.data[k * width] as number;
          }
          return { samples, check };
        };
        const viaGet = (shuffle: boolean) => async (deadline: number) => {
          const order = Int32Array.from({ length: nRows }, (_, i) => i);
          if (shuffle) {
            const random = seededRandom(settings.seed);
            for (let i = nRows - 1; i > 0; i--) {
              const j = Math.floor(random() * (i + 1));
              [order[i], order[j]] = [order[j], order[i]];
            }
          }
          let samples = 0;
          let check = 0;
          for (let b = 0; b < nRows && performance.now() < deadline; b += batchSize) {
            const n = Math.min(batchSize, nRows - b);
            const data = shuffle ? await ds.get([order.slice(b, b + n).sort(), null]) : await ds.get([dn.slice(b, b + n), null]);
            samples += n;
            for (let k = 0; k < n; k++) check += data.data[k * width] as number;
          }
          return { samples, check };
        };

        await measure("batches shuffled", viaBatches(true));
        await measure("batches sequential", viaBatches(false));
        await measure("get shuffled", viaGet(true));
        await measure("get sequential", viaGet(false));
        const base = rows.find((r) => r.store === storeName && r.case === "get shuffled")!.samplesPerSecond;
        for (const row of rows) if (row.store === storeName) row.speedupOverShuffledGet = row.samplesPerSecond / base;
      } finally {
        await cluster.deletePool(poolName, { force: true }).catch(() => {});
        await cluster.disconnect();
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return {
    date: new Date().toISOString(),
    settings: { ...settings, stores: stores.map((s) => s.name), chunks, datasetMiB: (nRows * width * 4) / 2 ** 20 },
    rows,
    skipped,
  };
}

export function printBatchesTable(report: BatchesReport): void {
  const s = report.settings;
  console.log(
    `\nTraining batches: [${s.rows}, ${s.width}] float32 (${s.datasetMiB.toFixed(0)} MiB, ${s.chunks} chunks of ${s.chunkRows} rows), batch ${s.batchSize}, prefetch ${s.prefetch}, njobs ${s.njobs}, one epoch, median of ${s.repeats} runs`,
  );
  const header = ["store", "case", "samples/s", "s", "GETs", "GETs/chunk", "× get shuffled"];
  const body = report.rows.map((r) => [
    r.store,
    r.case,
    Math.round(r.samplesPerSecond).toLocaleString("en"),
    r.seconds.toFixed(2) + (r.partial ? "*" : ""),
    String(r.gets),
    r.getsPerChunk.toFixed(2),
    r.speedupOverShuffledGet.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of body) console.log(line(row));
  if (report.rows.some((r) => r.partial)) console.log(`* stopped after the ${s.budgetSeconds} s budget; GETs/chunk scaled to the whole epoch`);
  for (const skip of report.skipped) console.log(`(skipped ${skip})`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { flag, option } = commandLine(args);
  const number = (name: string) => (args.includes(`--${name}`) ? Number(option(name, "")) : undefined);
  const report = await benchBatches({
    quick: flag("quick"),
    rows: number("rows"),
    width: number("width"),
    chunkRows: number("chunk-rows"),
    batchSize: number("batch"),
    prefetch: number("prefetch"),
    budgetSeconds: number("budget"),
    repeats: number("repeats"),
    stores: args.includes("--stores") ? option("stores", "fs,s3").split(",") : undefined,
  });
  printBatchesTable(report);
  if (flag("json")) {
    const given = option("json", "");
    const out = given && !given.startsWith("--") ? given : join(import.meta.dirname, "results", `batches-${report.date.replace(/[:.]/g, "-")}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2));
    console.log(`results: ${out}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
