/**
 * A writer process for test/concurrency/vindex-processes.test.ts, on the store the DOSNA_*
 * environment configures (Cluster.fromEnv). After a file barrier it writes its own points, those
 * with (row * columns + column) % writers == writer, in `rounds` vindex.set calls that each touch
 * every chunk (so every call races the other writers' calls on the same chunks); prints
 * {writer, points}.
 *
 *   vindex-writer.ts <pool> <dataset> <writer> <writers> <rounds> <barrier>
 */
import * as dn from "../../src/index.js";
import { waitAtBarrier } from "../helpers/node-processes.js";
import { rowValue } from "./values.js";

const [pool, name, writerText, writersText, roundsText, barrier] = process.argv.slice(2);
const writer = Number(writerText);
const writers = Number(writersText);
const rounds = Number(roundsText);

const cluster = await dn.Cluster.fromEnv().connect();
const ds = await (await cluster.getPool(pool)).getDataset(name);
const [rowCount, columns] = ds.shape;
const mine: [number, number][] = [];
for (let r = 0; r < rowCount; r++) for (let c = 0; c < columns; c++) if ((r * columns + c) % writers === writer) mine.push([r, c]);
await waitAtBarrier(barrier, `vindex-${writer}`, writers);
let points = 0;
for (let round = 0; round < rounds; round++) {
  // Round k takes every rounds-th own point from k: spread over all rows, so over every chunk.
  const batch = mine.filter((_, i) => i % rounds === round);
  await ds.vindex.set([batch.map(([r]) => r), batch.map(([, c]) => c)], Int32Array.from(batch, ([r, c]) => rowValue(r, c)));
  points += batch.length;
}
console.log(JSON.stringify({ writer, points }));
await cluster.disconnect();
