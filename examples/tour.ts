/**
 * DosNa's README tour, in dosna: a 100×100×100 random array in chunks of 32 on the embedded local
 * store, a few numpy-style slices, a partial write and its read-back.
 *
 *   npx tsx examples/tour.ts [root-directory]      (default: ./dosna-data)
 */
import ndarray from "ndarray";
import * as dn from "../src/index.js";

const root = process.argv[2] ?? "./dosna-data";
const cluster = new dn.Cluster({ backend: "fs", root, njobs: 8 });
await cluster.connect();

if (await cluster.hasPool("tutorial")) await cluster.deletePool("tutorial", { force: true });
const pool = await cluster.createPool("tutorial");

// 100³ random integers in [-10000, 10000), stored as 4×4×4 chunk objects of 32³.
const data = new Int32Array(100 * 100 * 100).map(() => Math.floor(Math.random() * 20000) - 10000);
const ds = await pool.createDataset("data", { data: ndarray(data, [100, 100, 100]), chunks: 32 });
console.log(`created ${ds.describe}: shape [${ds.shape}], dtype ${ds.dtype}, chunks [${ds.chunks}], chunk grid [${ds.chunkGrid}]`);

// Slicing reads only the chunks a selection touches.
const first = await ds.get("0, 0, :10");
console.log(`ds.get("0, 0, :10") → shape [${first.shape}]:`, Array.from(first.data as Int32Array));
console.log(`matches the source: ${first.data.every((v, i) => v === data[i])}`);
console.log(`":, :66, 50:96" touches ${ds.chunksTouchedBy(":, :66, 50:96").length} chunks`);

const reversed = await ds.get([5, dn.slice(null, null, -25), -1]);
console.log(`ds.get([5, slice(null, null, -25), -1]) → [${Array.from(reversed.data as Int32Array)}]`);

// A partial write: chunks fully covered are written without being read, the rest read-modify-write.
const patch = ndarray(new Int32Array(44 * 11 * 56).fill(7), [44, 11, 56]);
await ds.set("36:80, 89:, :56", patch);
const back = await ds.get("36:80, 89:, :56");
console.log(`wrote 7 into "36:80, 89:, :56"; read back ${back.size} values, all 7: ${back.data.every((v) => v === 7)}`);
console.log(`outside the patch still the source: ${(await ds.get("35, 89, 0")).data[0] === data[35 * 10000 + 89 * 100]}`);

// Attributes persist in the array's zarr.json.
await ds.attrs.set("units", "counts");
const reopened = await (await cluster.getPool("tutorial")).getDataset("data");
console.log(`reopened: attrs ${JSON.stringify(reopened.attrs.toJSON())}, shape [${reopened.shape}]`);

await cluster.disconnect();
console.log(`done: the pool lives in ${root}/tutorial as a Zarr v3 hierarchy`);
