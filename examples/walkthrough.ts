/**
 * DosNa's README walk-through, in dosna: a 100×100×100 float64 array of normal random numbers
 * (seeded, so every run prints the same) stored in chunks of 32³ in pool "tutorial", one slice read
 * back next to the source, a whole-array `allclose` check, then the pool removed.
 *
 *   npx tsx examples/walkthrough.ts                              the embedded local store, ./dosna-data
 *   DOSNA_CONFIG=my-ceph.conf npx tsx examples/walkthrough.ts    a Ceph RADOS Gateway (see ceph.sample.conf)
 *
 * The configuration comes only from dn.autoInit(): DOSNA_* variables and the DOSNA_CONFIG file, or
 * the local store when nothing is set. A pool "tutorial" that exists already is used and kept (only
 * the dataset made here is deleted); one that already holds a dataset "data" is left untouched.
 * Prints `label = JSON` lines; exits non-zero when a check fails.
 */
import ndarray from "ndarray";
import * as dn from "../src/index.js";
import { allclose, check, report, TUTORIAL_SHAPE, tutorialData } from "./example-data.js";

// data = np.random.randn(100, 100, 100)
const data = tutorialData();
const array = ndarray(data, [...TUTORIAL_SHAPE]);

// cn = dn.Connection(...); cn.connect()
const cluster = await dn.autoInit().connect();
report("cluster", String(cluster));

// pool = cn.create_pool('tutorial')
const poolExisted = await cluster.hasPool("tutorial");
const pool = poolExisted ? await cluster.getPool("tutorial") : await cluster.createPool("tutorial");
report("pool", { name: "tutorial", created: !poolExisted });
if (poolExisted && (await pool.hasDataset("data"))) {
  console.error('pool "tutorial" already holds a dataset "data"; not touching it (delete it, or the pool, to run this walk-through)');
  await dn.resetDefaultCluster();
  process.exit(2);
}

try {
  // ds = pool.create_dataset('data', data=data, chunks=32)
  const ds = await pool.createDataset("data", { data: array, chunks: 32 });
  report("ds.shape", ds.shape);
  report("ds.dtype", ds.dtype);
  report("ds.chunks", ds.chunks);

  // print(ds[0, 0, :10]); print(data[0, 0, :10])
  const first = await ds.get("0, 0, :10");
  report("ds[0, 0, :10]", Array.from(first.data as Float64Array));
  report("data[0, 0, :10]", Array.from(data.subarray(0, 10)));

  // assert np.allclose(ds[...], data)
  check("allclose(ds[...], data)", allclose(await ds.get("..."), array));
  await pool.deleteDataset("data");
} finally {
  // pool.remove(); cn.disconnect()
  await pool.close();
  if (!poolExisted) {
    await cluster.deletePool("tutorial", { force: true });
    report("removed pool", "tutorial");
  }
  await dn.resetDefaultCluster();
}
