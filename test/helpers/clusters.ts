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
  /** `new Cluster(options)` in another process reaches the same storage (not for memory). */
  clusterOptions?: Record<string, string>;
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
        clusterOptions: { backend: "fs", root },
      };
    },
  },
];

/** Connection settings of the S3 endpoint under test, when one is configured. */
export function s3TestConfig(): { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string } | undefined {
  const endpoint = process.env.DOSNA_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    accessKeyId: process.env.DOSNA_TEST_S3_ACCESS_KEY ?? "",
    secretAccessKey: process.env.DOSNA_TEST_S3_SECRET_KEY ?? "",
    region: process.env.DOSNA_TEST_S3_REGION ?? "us-east-1",
  };
}

const s3 = s3TestConfig();
if (s3) {
  backendKinds.push({
    name: "s3",
    make: async () => {
      const cluster = new Cluster({ backend: "s3", ...s3 });
      await cluster.connect();
      return { cluster, cleanup: () => cluster.disconnect(), clusterOptions: { backend: "s3", ...s3 } };
    },
  });
}

/** A pool name unique within this test process. */
export function uniquePoolName(prefix = "pool"): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/**
 * The Redis under test (the queue engine's tests), when one is configured: DOSNA_TEST_REDIS_URL,
 * with DOSNA_TEST_REDIS_PASSWORD put into it when that is set and the URL has none.
 */
export function redisTestUrl(): string | undefined {
  const url = process.env.DOSNA_TEST_REDIS_URL;
  if (!url) return undefined;
  const password = process.env.DOSNA_TEST_REDIS_PASSWORD;
  if (!password) return url;
  const parsed = new URL(url);
  if (parsed.password) return url;
  parsed.password = password;
  return parsed.toString().replace(/\/$/, "");
}
