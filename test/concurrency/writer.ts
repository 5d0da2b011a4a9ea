/**
 * A writer process for the many-process tests (test/concurrency/*.test.ts), on the store that the
 * DOSNA_* environment configures (Cluster.fromEnv: DOSNA_BACKEND=fs + DOSNA_ROOT, or an S3 endpoint).
 * Workers wait at a file barrier so that they really write at the same moment.
 *
 *   writer.ts rows  <pool> <dataset> <writer> <writers> <barrier>
 *       writes every row r with r % writers == writer, one `set` per row (a partial write of
 *       chunks shared with every other writer), values rowValue(r, column); prints {writer, rows}.
 *   writer.ts attrs <pool> <dataset> <writer> <count> <barrier>
 *       sets attribute "w<writer>-<i>" = i for i < count; writer 0 also grows axis 0 by one row per
 *       attribute; prints {writer, attrs, resizes}.
 *   writer.ts hold  <pool> <dataset> <row>
 *       a partial write of one row that stops for good between reading the chunk and its
 *       conditional write, after printing "READ <key>" (the test then kills it with SIGKILL).
 *   writer.ts soak  <pool> <dataset> <writer> <writers> <durationMs>
 *       for durationMs: sets each own row (r % writers == writer) to its next version v (the
 *       whole row = v), printing "ACK <row> <v>" once each set resolved, and every few writes reads
 *       the whole array and checks that within every chunk each row holds one version (no chunk read
 *       torn) and every own row is at least at its acknowledged version; prints {writer, writes,
 *       reads, failures} at the end.
 */
import { join } from "node:path";
import * as dn from "../../src/index.js";
import { s3ConnectionSchema } from "../../src/store/s3/index.js";
import type { RequestOptions, VersionedBytes } from "../../src/store/store.js";
import { waitAtBarrier } from "../helpers/node-processes.js";
import { rowValue } from "./values.js";

const parties = Number(process.env.DOSNA_TEST_PARTIES ?? "1");

async function openDataset(pool: string, name: string): Promise<{ ds: dn.Dataset; cluster: dn.Cluster }> {
  const cluster = await dn.Cluster.fromEnv().connect();
  return { ds: await (await cluster.getPool(pool)).getDataset(name), cluster };
}

async function rows(pool: string, name: string, writer: number, writers: number, barrier: string): Promise<void> {
  const { ds, cluster } = await openDataset(pool, name);
  const [n, columns] = ds.shape;
  await waitAtBarrier(barrier, `rows-${writer}`, parties);
  let written = 0;
  for (let r = writer; r < n; r += writers) {
    await ds.set(`${r}, :`, Int32Array.from({ length: columns }, (_, c) => rowValue(r, c)));
    written++;
  }
  console.log(JSON.stringify({ writer, rows: written }));
  await cluster.disconnect();
}

async function attrs(pool: string, name: string, writer: number, count: number, barrier: string): Promise<void> {
  const { ds, cluster } = await openDataset(pool, name);
  await waitAtBarrier(barrier, `attrs-${writer}`, parties);
  let resizes = 0;
  for (let i = 0; i < count; i++) {
    await ds.attrs.set(`w${writer}-${i}`, i);
    if (writer === 0) {
      await ds.refresh();
      await ds.resize([ds.shape[0] + 1, ...ds.shape.slice(1)]);
      resizes++;
    }
  }
  console.log(JSON.stringify({ writer, attrs: count, resizes }));
  await cluster.disconnect();
}

/** The pool's store, wrapped so that the first versioned read of a chunk never returns control. */
function stoppingStore(store: dn.Store): dn.Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "getVersioned") {
        return async (key: string, options?: RequestOptions): Promise<VersionedBytes | undefined> => {
          const got = await target.getVersioned(key, options);
          if (key.includes("/c/")) {
            console.log(`READ ${key}`);
            await new Promise(() => {}); // never resolves: the process is killed here
          }
          return got;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function poolStore(pool: string): dn.Store {
  const env = process.env;
  if (env.DOSNA_BACKEND === "fs") return new dn.FileSystemBackend(env.DOSNA_ROOT!).openPool(pool);
  const config = s3ConnectionSchema.parse({
    endpoint: env.DOSNA_ENDPOINT,
    accessKeyId: env.DOSNA_ACCESS_KEY_ID,
    secretAccessKey: env.DOSNA_SECRET_ACCESS_KEY,
    region: env.DOSNA_REGION,
  });
  return new dn.S3Backend(config).openPool(pool);
}

async function hold(pool: string, name: string, row: number): Promise<void> {
  const opened = await dn.Pool.open(stoppingStore(poolStore(pool)), { name: pool });
  const ds = await opened.getDataset(name);
  await ds.set(`${row}, :`, 42);
  throw new Error("the write was expected to stop before its conditional write");
}

async function soak(pool: string, name: string, writer: number, writers: number, durationMs: number): Promise<void> {
  const { ds, cluster } = await openDataset(pool, name);
  const [n, columns] = ds.shape;
  const own: number[] = [];
  for (let r = writer; r < n; r += writers) own.push(r);
  const acknowledged = new Map<number, number>();
  const deadline = Date.now() + durationMs;
  let writes = 0;
  let reads = 0;
  const failures: string[] = [];
  while (Date.now() < deadline && failures.length === 0) {
    const row = own[writes % own.length];
    const version = (acknowledged.get(row) ?? 0) + 1;
    try {
      await ds.set(`${row}, :`, version);
      acknowledged.set(row, version);
      console.log(`ACK ${row} ${version}`);
      writes++;
      if (writes % 5 === 0) {
        const all = (await ds.get(":")).data as Int32Array;
        reads++;
        // A write of several chunks is not atomic across them (as in every Zarr store), but each
        // chunk is replaced whole: within one chunk, a row holds one version.
        const width = ds.chunks[1];
        for (let r = 0; r < n; r++) {
          for (let c0 = 0; c0 < columns; c0 += width) {
            const first = all[r * columns + c0];
            for (let c = c0 + 1; c < Math.min(columns, c0 + width); c++) {
              if (all[r * columns + c] !== first) failures.push(`row ${r} read torn inside a chunk: ${first} at column ${c0}, ${all[r * columns + c]} at column ${c}`);
            }
            const mine = acknowledged.get(r);
            if (mine !== undefined && first < mine) failures.push(`row ${r} read as version ${first} at column ${c0} after version ${mine} was acknowledged`);
          }
        }
      }
    } catch (error) {
      failures.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  console.log(JSON.stringify({ writer, writes, reads, failures: failures.slice(0, 5) }));
  await cluster.disconnect();
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case "rows":
    await rows(args[0], args[1], Number(args[2]), Number(args[3]), args[4]);
    break;
  case "attrs":
    await attrs(args[0], args[1], Number(args[2]), Number(args[3]), args[4]);
    break;
  case "hold":
    await hold(args[0], args[1], Number(args[2]));
    break;
  case "soak":
    await soak(args[0], args[1], Number(args[2]), Number(args[3]), Number(args[4]));
    break;
  default:
    throw new Error(`unknown command ${JSON.stringify(command)} (expected rows, attrs, hold or soak) in ${join(import.meta.dirname, "writer.ts")}`);
}
