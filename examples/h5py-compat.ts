/**
 * DosNa's examples/basic_h5py_compat.py, in dosna: an h5py script that runs unchanged apart from
 * `await` (and `await using` for h5py's `with`). After `autoInit()`, "/tmp/data.h5" is not a local
 * HDF5 file but a pool on the default cluster: pool "tmp/data.h5", i.e. the directory
 * ./dosna-data/tmp/data.h5 on the local store, or bucket "tmp" with key prefix "data.h5" on S3.
 *
 *   npx tsx examples/h5py-compat.ts                              the embedded local store, ./dosna-data
 *   DOSNA_CONFIG=my-ceph.conf npx tsx examples/h5py-compat.ts    a Ceph RADOS Gateway (see ceph.sample.conf)
 *
 * It writes the seeded 100×100×100 float64 array (mode "w"), adds a 16³ int32 arange and a 4×6
 * dataset created by shape with fillvalue -1 and partly written (mode "a"), reads them back
 * (mode "r", without a context), then deletes the datasets (mode "a") and, when they did not
 * exist before, the pool and the bucket or directory "tmp" that holds it. Prints `label = JSON`
 * lines; exits non-zero when a check fails.
 */
import ndarray from "ndarray";
import * as h5 from "../src/index.js";
import { allclose, check, nested, report, TUTORIAL_SHAPE, tutorialData } from "./example-data.js";

// import dosna as dn; dn.auto_init()
const cluster = await h5.autoInit().connect();
report("cluster", String(cluster));
const POOL = "tmp/data.h5"; // the pool the name "/tmp/data.h5" maps to on the default cluster
const CONTAINER = "tmp"; // what holds it: bucket "tmp" on S3, directory ./dosna-data/tmp on the local store
const poolExisted = await cluster.hasPool(POOL);
const containerExisted = await cluster.hasPool(CONTAINER);

const npdata = tutorialData(); // np.random.randn(100, 100, 100)

try {
  // with h5py.File('/tmp/data.h5', 'w') as f:
  {
    await using f = new h5.File("/tmp/data.h5", "w");
    const ds = await f.create_dataset({ name: "data", data: npdata, shape: [...TUTORIAL_SHAPE], chunks: [32, 32, 32] });
    report("data.shape", ds.shape);
  }

  // with h5py.File('/tmp/data.h5', 'a') as f:
  {
    await using f = new h5.File("/tmp/data.h5", "a");
    // np.arange(16**3).reshape(16, 16, 16)
    const arange = new Int32Array(16 ** 3).map((_, i) => i);
    await f.create_dataset({ name: "data2", data: arange, shape: [16, 16, 16], chunks: [4, 4, 4] });
    // f.create_dataset('filled', shape=(4, 6), dtype='<i4', chunks=(2, 3), fillvalue=-1)
    const filled = await f.create_dataset({ name: "filled", shape: [4, 6], dtype: "<i4", chunks: [2, 3], fillvalue: -1 });
    // filled[1:3, 2:5] = [[10, 11, 12], [20, 21, 22]]: the rest keeps the fill value
    await filled.write_slice([[1, 3], [2, 5]], [10, 11, 12, 20, 21, 22]);
    report("keys", await f.keys());
  }

  // f = h5py.File('/tmp/data.h5', 'r')
  const f = new h5.File("/tmp/data.h5", "r");
  const ds = (await f.get("data2")) as h5.H5Dataset;
  report("data2.shape", ds.shape);
  report("data2.dtype", ds.dtype);
  report("data2.ndim", ds.ndim);
  // print(ds[:6, :6, :6])
  report("data2[:6, :6, :6]", nested((await ds.slice([[0, 6], [0, 6], [0, 6]])) as Int32Array, [6, 6, 6]));
  const filled = (await f.get("filled")) as h5.H5Dataset;
  report("filled.dtype", filled.dtype);
  report("filled[...]", nested((await filled.value) as Int32Array, filled.shape));
  const data = (await f.get("data")) as h5.H5Dataset;
  report("data.dtype", data.dtype);
  const stored = ndarray((await data.value) as Float64Array, data.shape);
  check("allclose(f['data'][...], npdata)", allclose(stored, ndarray(npdata, [...TUTORIAL_SHAPE])));
  await f.close();

  // with h5py.File('/tmp/data.h5', 'a') as f: del f['data']; del f['data2']
  {
    await using f = new h5.File("/tmp/data.h5", "a");
    await f.delete("data");
    await f.delete("data2");
    await f.delete("filled");
    report("keys after delete", await f.keys());
  }
} finally {
  if (!poolExisted && (await cluster.hasPool(POOL))) {
    await cluster.deletePool(POOL, { force: true });
    report("removed pool", POOL);
  }
  // File(..., "w") made the bucket or directory too; remove it if it is ours and empty (no force:
  // anything put there meanwhile stays)
  if (!containerExisted && (await cluster.hasPool(CONTAINER))) {
    await cluster.deletePool(CONTAINER);
    report("removed container", CONTAINER);
  }
  await h5.resetDefaultCluster();
}
