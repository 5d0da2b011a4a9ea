/**
 * The backends every core test runs on. The S3 backend joins when DOSNA_TEST_S3_ENDPOINT is set.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "../../src/index.js";

export interface ClusterFixture {
  cluster: Cluster;
  cleanup: () => Promise<void>;
}

export interface BackendKind {
  name: string;
  make: () => Promise<ClusterFixture>;
}

let counter = 0;

export const backendKinds: BackendKind[] = [
  {
    name: "memory",
    make: async () => {
      const cluster = new Cluster({ backend: "memory" });
      await cluster.connect();
      return { cluster, cleanup: () => cluster.disconnect() };
    },
  },
  {
    name: "fs",
    make: async () => {
      const root = await mkdtemp(join(tmpdir(), "dosna-test-"));
      const cluster = new Cluster({ backend: "fs", root });
      await cluster.connect();
      return {
        cluster,
        cleanup: async () => {
          await cluster.disconnect();
          await rm(root, { recursive: true, force: true });
        },
      };
    },
  },
];

/** A pool name unique within this test process. */
export function uniquePoolName(prefix = "pool"): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}
