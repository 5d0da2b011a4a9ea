/**
 * A committing process for the many-process versioning tests (test/versioning/processes.test.ts).
 * It opens the repository in a pool with its own Cluster: `{ backend: "fs", root: DOSNA_ROOT }` when
 * DOSNA_BACKEND=fs, else the S3 endpoint the DOSNA_* variables configure (Cluster.fromEnv).
 *
 *   commit-worker.ts commit <pool> <dataset> <worker> <value> <rebase: 0|1> <barrier> <selection>...
 *       checks out branch main writable, sets every selection of the dataset to `value`, waits at
 *       the file barrier (DOSNA_TEST_PARTIES processes), then commits with message "worker <worker>"
 *       and metadata { worker, value }, with or without `rebase`. Prints one JSON line: { worker,
 *       base, id } when the commit landed, or { worker, base, error, message, conflicts } when it
 *       failed with a DosnaError (error is the class name: ConflictError, MergeConflictError, ...).
 *   commit-worker.ts loop <pool> <dataset> <selection> <first value>
 *       for v = first, first + 1, ...: checks out main writable, prints "SET v", sets the selection
 *       to v, prints "COMMIT v", commits "value v" with metadata { value: v }, prints
 *       "COMMITTED v <id> <ms the commit took>". It runs until the test kills it (SIGKILL) in the
 *       middle of a commit;
 *       after 200 commits it stops and prints { committed }.
 */
import { join } from "node:path";
import * as dn from "../../src/index.js";
import { waitAtBarrier } from "../helpers/node-processes.js";

const parties = Number(process.env.DOSNA_TEST_PARTIES ?? "1");

function clusterFromEnvironment(): dn.Cluster {
  const env = process.env;
  if (env.DOSNA_BACKEND === "fs") return new dn.Cluster({ backend: "fs", root: env.DOSNA_ROOT! });
  return dn.Cluster.fromEnv();
}

async function openRepository(poolName: string): Promise<{ repo: dn.Repository; cluster: dn.Cluster }> {
  const cluster = await clusterFromEnvironment().connect();
  const pool = await cluster.getPool(poolName);
  return { repo: await dn.Repository.open(pool), cluster };
}

async function commit(poolName: string, dataset: string, worker: number, value: number, rebase: boolean, barrier: string, selections: string[]): Promise<void> {
  const { repo, cluster } = await openRepository(poolName);
  const session = await repo.checkout({ branch: "main", write: true });
  const base = session.snapshotId;
  const ds = await session.getDataset(dataset);
  for (const selection of selections) await ds.set(selection, value);
  await waitAtBarrier(barrier, `worker-${worker}`, parties);
  try {
    const id = await session.commit(`worker ${worker}`, { rebase, metadata: { worker, value } });
    console.log(JSON.stringify({ worker, base, id }));
  } catch (error) {
    if (!(error instanceof dn.DosnaError)) throw error;
    const conflicts = error instanceof dn.MergeConflictError ? error.conflicts : undefined;
    console.log(JSON.stringify({ worker, base, error: error.name, message: error.message, conflicts }));
  }
  await cluster.disconnect();
}

async function loop(poolName: string, dataset: string, selection: string, first: number): Promise<void> {
  const { repo, cluster } = await openRepository(poolName);
  let committed = 0;
  for (let value = first; committed < 200; value++) {
    const session = await repo.checkout({ branch: "main", write: true });
    const ds = await session.getDataset(dataset);
    console.log(`SET ${value}`);
    await ds.set(selection, value);
    console.log(`COMMIT ${value}`);
    const started = performance.now();
    const id = await session.commit(`value ${value}`, { metadata: { value } });
    console.log(`COMMITTED ${value} ${id} ${Math.ceil(performance.now() - started)}`);
    committed++;
  }
  console.log(JSON.stringify({ committed }));
  await cluster.disconnect();
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case "commit":
    await commit(args[0], args[1], Number(args[2]), Number(args[3]), args[4] === "1", args[5], args.slice(6));
    break;
  case "loop":
    await loop(args[0], args[1], args[2], Number(args[3]));
    break;
  default:
    throw new Error(`unknown command ${JSON.stringify(command)} (expected commit or loop) in ${join(import.meta.dirname, "commit-worker.ts")}`);
}
