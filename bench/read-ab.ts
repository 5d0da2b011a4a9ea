/**
 * Before/after of whole-array reads in ONE process, alternating, so that the machine's load (a
 * shared 2-core box) hits both sides alike: the datasets of an fs pool read by this tree's compiled
 * code and by another tree's (compiled with compileBench, e.g. a copy of the code before a change).
 * Prints the median wall and CPU (user+system, all threads) ms per read of each side.
 *
 *   npx tsx bench/read-ab.ts OLD_TREE FS_ROOT POOL DATASET [DATASET ...]
 * (prepare the datasets first, e.g. with bench/case.ts's "prepare" case)
 */
import { join } from "node:path";
import { compileBench } from "./harness.js";

const [oldTree, root, poolName, ...datasets] = process.argv.slice(2);
const trees = { after: join(import.meta.dirname, ".."), before: oldTree };
type Ds = { read(): Promise<unknown> };

async function open(tree: string, name: string): Promise<Ds> {
  compileBench(tree);
  const dn = await import(join(tree, ".bench-build", "src", "index.js"));
  const cluster = new dn.Cluster({ backend: "fs", root, njobs: 16 });
  await cluster.connect();
  return (await cluster.getPool(poolName)).getDataset(name);
}

async function timedRead(ds: Ds): Promise<[number, number]> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await ds.read();
  const used = process.cpuUsage(cpu);
  return [performance.now() - start, (used.user + used.system) / 1000];
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const name of datasets) {
  const after = await open(trees.after, name);
  const before = await open(trees.before, name);
  await timedRead(after);
  await timedRead(before);
  const runs = { after: [] as [number, number][], before: [] as [number, number][] };
  for (let i = 0; i < 11; i++) {
    const order = i % 2 ? (["after", "before"] as const) : (["before", "after"] as const);
    for (const side of order) runs[side].push(await timedRead(side === "after" ? after : before));
  }
  const summary = (side: "after" | "before") => `wall ${median(runs[side].map((r) => r[0])).toFixed(0)} ms, cpu ${median(runs[side].map((r) => r[1])).toFixed(0)} ms`;
  console.log(`${name.padEnd(10)} after: ${summary("after")} | before: ${summary("before")}`);
}
