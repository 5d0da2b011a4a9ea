/**
 * A provenance-recording process for test/provenance/processes.test.ts, on the store that the
 * DOSNA_* environment configures (Cluster.fromEnv: DOSNA_BACKEND=fs + DOSNA_ROOT, or an S3
 * endpoint). Workers wait at a file barrier so that they really record at the same moment.
 *
 *   record-worker.ts record <pool> <worker> <count> <shared id> <collector id> <barrier> <parties>
 *       for i < count: records a run "worker <worker> step <i>" with inputs [shared, its previous
 *       run], tags { worker, step } (and, every fifth step, the collector among its outputs, which
 *       adds the run to the collector's inputs), then updates the shared record by adding the tag
 *       "w<worker>-<i>" = the new run's id. Prints {worker, ids, linked} (linked: the runs that
 *       named the collector as output).
 */
import * as dn from "../../src/index.js";
import { waitAtBarrier } from "../helpers/node-processes.js";

async function record(poolName: string, worker: number, count: number, shared: string, collector: string, barrier: string, parties: number): Promise<void> {
  const cluster = await dn.Cluster.fromEnv().connect();
  const pool = await cluster.getPool(poolName);
  const prov = dn.provenance(pool);
  const ids: string[] = [];
  const linked: string[] = [];
  await waitAtBarrier(barrier, `worker-${worker}`, parties);
  let previous: string | undefined;
  for (let step = 0; step < count; step++) {
    const links = step % 5 === 0;
    const run = await prov.record({
      kind: "run",
      name: `worker ${worker} step ${step}`,
      inputs: [shared, ...(previous ? [previous] : [])],
      outputs: links ? [collector] : [],
      parameters: { worker, step, pid: process.pid },
      tags: { worker, step },
    });
    ids.push(run.id);
    if (links) linked.push(run.id);
    previous = run.id;
    await prov.records.update(shared, (current) => ({ ...current, tags: { ...current.tags, [`w${worker}-${step}`]: { type: "string", value: run.id } } }));
  }
  console.log(JSON.stringify({ worker, ids, linked }));
  await cluster.disconnect();
}

const [command, ...args] = process.argv.slice(2);
if (command !== "record") throw new Error(`unknown command ${JSON.stringify(command)} (expected record) in test/provenance/record-worker.ts`);
await record(args[0], Number(args[1]), Number(args[2]), args[3], args[4], args[5], Number(args[6]));
