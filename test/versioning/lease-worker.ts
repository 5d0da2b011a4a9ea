/**
 * Takes the writer lease of the repository in DIRECTORY (a store without conditional writes),
 * writes a chunk, prints "leased", and waits to be killed: a crashed writer.
 *   node --import tsx lease-worker.ts DIRECTORY TTL_MS
 */
import * as dn from "../../src/index.js";
import { unconditionalPool } from "../helpers/unconditional-store.js";

const [directory, ttl] = process.argv.slice(2);
const repo = await dn.Repository.open(await unconditionalPool(directory), { lease: { ttlMs: Number(ttl), settleMs: 20 } });
const session = await repo.checkout({ branch: "main", write: true });
await (await session.getDataset("vol")).set("0, 0", 99);
console.log("leased");
setInterval(() => undefined, 60_000);
