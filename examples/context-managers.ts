/**
 * DosNa's context-manager walk-through (`with dn.Cluster(...) as C: with C['tutorial'] as P:`), in
 * dosna with `await using`: the cluster disconnects and the pool closes at the end of their block,
 * even when something in it throws. Reads ds[0, 0, :10], writes the region "36:80, 89:, :56" from
 * the source array and checks it reads back the same.
 *
 *   npx tsx examples/context-managers.ts                              the embedded local store, ./dosna-data
 *   DOSNA_CONFIG=my-ceph.conf npx tsx examples/context-managers.ts    a Ceph RADOS Gateway (see ceph.sample.conf)
 *
 * Self-contained: when pool "tutorial" or its dataset "data" is missing (examples/walkthrough.ts
 * removes both), they are made first from the same seeded 100×100×100 array, and removed at the
 * end; what existed before is kept. Prints `label = JSON` lines; exits non-zero when a check fails.
 */
import ndarray from "ndarray";
import * as dn from "../src/index.js";
import { allclose, check, report, TUTORIAL_SHAPE, tutorialData } from "./example-data.js";

const data = ndarray(tutorialData(), [...TUTORIAL_SHAPE]);

{
  // with dn.Cluster(...) as C:
  await using cluster = await dn.autoInit().connect();
  report("cluster", String(cluster));
  const poolExisted = await cluster.hasPool("tutorial");
  let madeDataset = false;

  // Disposed after the pool closes and before the cluster disconnects: removes what this script made.
  await using _cleanup = {
    async [Symbol.asyncDispose]() {
      if (!poolExisted) {
        if (await cluster.hasPool("tutorial")) {
          await cluster.deletePool("tutorial", { force: true });
          report("removed pool", "tutorial");
        }
      } else if (madeDataset) {
        await (await cluster.getPool("tutorial")).deleteDataset("data");
        report("removed dataset", "tutorial/data");
      }
    },
  };

  // with C['tutorial'] as P:
  await using pool = await dn.Pool.open("tutorial", { create: true });
  if (!(await pool.hasDataset("data"))) {
    await pool.createDataset("data", { data, chunks: 32 });
    madeDataset = true;
  }
  report("pool", { name: "tutorial", created: !poolExisted, datasetCreated: madeDataset });

  // ds = P['data']; print(ds[0, 0, :10])
  const ds = await pool.getDataset("data");
  report("ds[0, 0, :10]", Array.from((await ds.get("0, 0, :10")).data as Float64Array));
  report("data[0, 0, :10]", Array.from((data.data as Float64Array).subarray(0, 10)));

  // ds[36:80, 89:, :56] = data[36:80, 89:, :56]
  const region = data.hi(80, 100, 56).lo(36, 89, 0);
  await ds.set("36:80, 89:, :56", region);

  // assert np.allclose(ds[36:80, 89:, :56], data[36:80, 89:, :56])
  check("allclose(ds[36:80, 89:, :56], data[36:80, 89:, :56])", allclose(await ds.get("36:80, 89:, :56"), region));
}
await dn.resetDefaultCluster();
