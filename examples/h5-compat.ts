/**
 * One script, two libraries: runs unchanged with h5wasm (a real HDF5 file) or with dosna (a Zarr v3
 * directory) and prints the same output. Every call is awaited, which is harmless for h5wasm's
 * synchronous API. Only the two lines choosing the library know which one is in use.
 *
 *   npx tsx examples/h5-compat.ts dosna  /tmp/compat.zarr
 *   npx tsx examples/h5-compat.ts h5wasm /tmp/compat.h5
 */
import * as dosna from "../src/index.js";

const [which = "dosna", path = which === "h5wasm" ? "compat.h5" : "compat.zarr"] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const h5: any = which === "h5wasm" ? (await import("h5wasm/node")).default : dosna;
await h5.ready;

/** A dataset or group's attributes as [name, JSON value] pairs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const attributesOf = async (node: any) => Object.entries(await node.attrs).map(([name, attr]) => [name, (attr as { json_value: unknown }).json_value]);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const show = (data: any) => (ArrayBuffer.isView(data) ? `${data.constructor.name}[${Array.from(data as unknown as ArrayLike<unknown>).join(", ")}]` : String(data));

// --- write a small file -------------------------------------------------------------------
const f = new h5.File(path, "w");
await f.create_attribute("title", "compat demo");
await f.create_attribute("version", 2);
const values = new Float32Array(3 * 4 * 5).map((_, i) => i * 0.5);
const ds = await f.create_dataset({ name: "volume", data: values, shape: [3, 4, 5], dtype: "<f4", chunks: [2, 2, 5] });
await ds.create_attribute("units", "mm");
await ds.create_attribute("spacing", [0.5, 0.5, 1]);
const detector = await f.create_group("detector");
await detector.create_attribute("gain", 1.5);
await detector.create_dataset({ name: "counts", data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], chunks: [1, 3] });
const raw = await detector.create_group("raw");
await raw.create_dataset({
  name: "frames", data: new Uint16Array(24).map((_, i) => 100 + i), shape: [4, 6], chunks: [3, 4],
  maxshape: [null, 6], compression: "gzip", compression_opts: 6,
});
await raw.create_dataset({ name: "ids", data: new BigInt64Array([1n, -2n, 3n ** 30n]) });
await f.create_dataset({ name: "grid", data: [1, 2, 3, 4, 5, 6], shape: [2, 3] });
await f.create_dataset({ name: "ratios", data: [0.25, 1.5, -3] });
await f.create_dataset({ name: "answer", data: 42 });
await f.create_dataset({ name: "small", data: new Int8Array([-1, 2, -3, 4]), chunks: [2], compression: 4 });
await f.close();

// --- read it back -------------------------------------------------------------------------
const r = new h5.File(path, "r");
console.log("keys:", await r.keys());
console.log("detector keys:", await (await r.get("detector")).keys(), "raw keys:", await (await r.get("detector/raw")).keys());
console.log("file attrs:", await attributesOf(r));
for (const name of ["volume", "detector/counts", "detector/raw/frames", "detector/raw/ids", "grid", "ratios", "answer", "small"]) {
  const d = await r.get(name);
  console.log(`${d.path}: shape [${d.shape}] dtype ${d.dtype} value ${show(await d.value)}`);
}
const volume = await r.get("volume");
console.log("volume attrs:", await attributesOf(volume));
console.log("detector attrs:", await attributesOf(await r.get("detector")));
console.log("slice [1:3, 0:4:2, :]:", show(await volume.slice([[1, 3], [0, 4, 2], []])));
console.log("slice [2:, 1, 3:]:", show(await volume.slice([[2], [1, 2], [3, null]])));
console.log("slice clamped [1:100, :2]:", show(await (await r.get("detector/counts")).slice([[1, 100], [null, 2]])));
console.log("missing:", await r.get("nothing/here"), await r.get("detector/nothing"));
await r.close();

// --- modify it ----------------------------------------------------------------------------
const a = new h5.File(path, "a");
const v = await a.get("volume");
await v.write_slice([[0, 1], [1, 3], [0, 5, 2]], new Float32Array([-1, -2, -3, -4, -5, -6]));
console.log("after write_slice:", show(await v.slice([[0, 1], [], []])));
const frames = await a.get("detector/raw/frames");
await frames.write_slice([[1, 3], [2, 5]], [7, 8, 9, 10, 11, 12]);
await frames.resize([6, 6]);
console.log("frames grown:", frames.shape, show(await frames.value));
await frames.resize([2, 6]);
await frames.resize([5, 6]);
console.log("frames shrunk and regrown:", frames.shape, show(await frames.value));
await v.delete_attribute("units");
await v.create_attribute("note", "edited");
await a.close();

const last = new h5.File(path, "r");
console.log("final volume attrs:", await attributesOf(await last.get("volume")));
console.log("final frames:", (await last.get("detector/raw/frames")).shape);
await last.close();
