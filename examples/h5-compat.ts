/**
 * One script, two libraries: runs unchanged with h5wasm (a real HDF5 file) or with dosna (a Zarr v3
 * directory) and prints the same output. Every call is awaited, which is harmless for h5wasm's
 * synchronous API.
 *
 *   npx tsx examples/h5-compat.ts dosna  /tmp/compat.zarr
 *   npx tsx examples/h5-compat.ts h5wasm /tmp/compat.h5
 */
import * as dosna from "../src/index.js";

const [which = "dosna", path = which === "h5wasm" ? "compat.h5" : "compat.zarr"] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const h5: any = which === "h5wasm" ? (await import("h5wasm/node")).default : dosna;
await h5.ready;

const f = new h5.File(path, "w");
const values = new Float32Array(3 * 4 * 5).map((_, i) => i * 0.5);
const ds = await f.create_dataset({ name: "volume", data: values, shape: [3, 4, 5], dtype: "<f4", chunks: [2, 2, 5] });
await ds.create_attribute("units", "mm");
const group = await f.create_group("detector");
await group.create_dataset({ name: "counts", data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], chunks: [1, 3] });
await f.close();

const r = new h5.File(path, "r");
console.log("keys:", await r.keys());
const volume = await r.get("volume");
console.log("shape:", volume.shape, "dtype:", volume.dtype);
console.log("slice [1:3, 0:4:2, :]:", Array.from(await volume.slice([[1, 3], [0, 4, 2], []])));
console.log("units:", (await volume.attrs)["units"].value);
const counts = await r.get("detector/counts");
console.log("counts:", counts.shape, Array.from(await counts.value));
console.log("missing:", await r.get("nothing/here"));
await r.close();

const a = new h5.File(path, "a");
const v = await a.get("volume");
await v.write_slice([[0, 1], [1, 3], [0, 5, 2]], new Float32Array([-1, -2, -3, -4, -5, -6]));
console.log("after write_slice:", Array.from(await v.slice([[0, 1], [], []])));
await a.close();
