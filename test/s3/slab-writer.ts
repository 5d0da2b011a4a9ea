/**
 * A worker process for the multi-process S3 tests, configured by DOSNA_* environment variables
 * (Cluster.fromEnv). It waits at a file barrier so all workers act at the same moment, then:
 *
 *   slab-writer.ts write  <pool> <dataset> <slab> <slabRows> <barrierDir>
 *       writes rows [slab*slabRows, (slab+1)*slabRows) of the dataset with slabValue(), one
 *       chunk-row at a time, and prints {"slab", "writes"}.
 *   slab-writer.ts create <pool> <dataset> <id> <barrierDir>
 *       creates the dataset and prints {"created": true} or {"created": false, "error", "message"}.
 */
import { Cluster, DosnaError } from "../../src/index.js";
import { waitAtBarrier } from "../helpers/node-processes.js";
import { slabValue } from "../helpers/slab-values.js";

async function write(pool: string, name: string, slab: number, slabRows: number, barrier: string, parties: number): Promise<void> {
  const cluster = await Cluster.fromEnv().connect();
  try {
    const ds = await (await cluster.getPool(pool)).getDataset(name);
    const [, ny, nz] = ds.shape;
    const step = ds.chunks[0];
    await waitAtBarrier(barrier, `slab-${slab}`, parties);
    let writes = 0;
    for (let row = slab * slabRows; row < (slab + 1) * slabRows; row += step) {
      const values = new Int32Array(step * ny * nz);
      for (let i = 0; i < values.length; i++) values[i] = slabValue(row * ny * nz + i);
      await ds.set(`${row}:${row + step}`, values);
      writes++;
    }
    console.log(JSON.stringify({ slab, writes }));
  } finally {
    await cluster.disconnect();
  }
}

async function create(pool: string, name: string, id: string, barrier: string, parties: number): Promise<void> {
  const cluster = await Cluster.fromEnv().connect();
  try {
    const p = await cluster.getPool(pool);
    await waitAtBarrier(barrier, id, parties);
    try {
      await p.createDataset(name, { shape: [8, 8], dtype: "int32", chunks: [4, 4], fillValue: Number(id.replace(/\D/g, "")) });
      console.log(JSON.stringify({ id, created: true }));
    } catch (error) {
      if (!(error instanceof DosnaError)) throw error;
      console.log(JSON.stringify({ id, created: false, error: error.name, message: error.message }));
    }
  } finally {
    await cluster.disconnect();
  }
}

const [command, ...args] = process.argv.slice(2);
const parties = Number(process.env.DOSNA_TEST_PARTIES ?? "1");
if (command === "write") await write(args[0], args[1], Number(args[2]), Number(args[3]), args[4], parties);
else if (command === "create") await create(args[0], args[1], args[2], args[3], parties);
else throw new Error(`unknown command ${JSON.stringify(command)} (expected write or create)`);
