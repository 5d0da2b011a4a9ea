/**
 * Cluster configuration: from an object (each backend), from DOSNA_* environment variables, from
 * a config file (and the shipped ceph.sample.conf); validation errors that list every bad field;
 * pool management (buckets and bucket/prefix pools on S3); and secrets that never show.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format, inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { clusterConfigSchema } from "../../src/core/cluster.js";
import { configFromEnvironment, readConfigFile } from "../../src/core/config-sources.js";
import { backendKinds, s3TestConfig, uniquePoolName } from "../helpers/clusters.js";
import { expectError } from "../helpers/expect-error.js";
import { dropPool, s3Cluster, uniqueBucketName } from "../helpers/s3-fixtures.js";

const SAMPLE = new URL("../../ceph.sample.conf", import.meta.url);
const SECRET = "Sup3r/Secret+Key0123456789";
const s3Object = { backend: "s3", endpoint: "http://127.0.0.1:9", accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET } as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("Cluster from an object", () => {
  it("memory: defaults and a round trip", async () => {
    const cluster = new dn.Cluster({ backend: "memory" });
    expect(cluster.backendName).toBe("memory");
    expect(cluster.toJSON()).toEqual({ backend: "memory", endpoint: "memory", njobs: 8 });
    const pool = await cluster.createPool("p");
    await (await pool.createDataset("d", { shape: [3], dtype: "uint8" })).set(":", [1, 2, 3]);
    expect(Array.from((await (await cluster.getPool("p")).getDataset("d")).shape)).toEqual([3]);
    await cluster.disconnect();
  });

  it("fs: the root is resolved, njobs and the default pool are kept", async () => {
    const root = join(dir, "fs-root");
    const cluster = new dn.Cluster({ backend: "fs", root, njobs: 3, defaultPool: "main" });
    expect(cluster.backendName).toBe("fs");
    expect(cluster.njobs).toBe(3);
    expect(cluster.defaultPool).toBe("main");
    expect(String(cluster)).toBe(`Cluster(fs:${root})`);
    const pool = await cluster.createPool("main");
    expect(pool.njobs).toBe(3);
    expect(await cluster.listPools()).toEqual(["main"]);
    await cluster.disconnect();
  });

  it("s3: every connection setting is accepted; nothing is contacted before the first request", async () => {
    const cluster = new dn.Cluster({ ...s3Object, region: "eu-west-1", njobs: 32, timeoutMs: 500, maxRetries: 0, transport: "minio", forcePathStyle: true });
    expect(cluster.backendName).toBe("s3");
    expect(cluster.njobs).toBe(32);
    expect(cluster.toJSON()).toEqual({ backend: "s3", endpoint: "s3:http://127.0.0.1:9", njobs: 32 });
    await cluster.connect();
    expect(cluster.connected).toBe(true);
    await cluster.disconnect();
  });

  it.skipIf(!s3TestConfig())("s3: a round trip on the endpoint under test", async () => {
    const cluster = await s3Cluster();
    const name = uniqueBucketName("cfg-object");
    try {
      const pool = await cluster.createPool(name);
      await (await pool.createDataset("d", { shape: [4], dtype: "int32" })).set(":", [5, 6, 7, 8]);
      const back = await (await cluster.getPool(name)).getDataset("d");
      expect(Array.from((await back.get()).data as Int32Array)).toEqual([5, 6, 7, 8]);
    } finally {
      await dropPool(cluster, name);
      await cluster.disconnect();
    }
  });
});

describe("Cluster from DOSNA_* environment variables", () => {
  const env = {
    DOSNA_ENDPOINT: "http://127.0.0.1:9000",
    DOSNA_ACCESS_KEY_ID: "AKIDEXAMPLE",
    DOSNA_SECRET_ACCESS_KEY: SECRET,
    DOSNA_REGION: "eu-central-1",
    DOSNA_NJOBS: "12",
    DOSNA_POOL: "tutorial",
    DOSNA_TIMEOUT_MS: "2500",
    DOSNA_MAX_RETRIES: "2",
    DOSNA_FORCE_PATH_STYLE: "yes",
    DOSNA_TRANSPORT: "minio",
    // Not settings: other DOSNA_* variables (the test suite's own) are ignored.
    DOSNA_TEST_S3_ENDPOINT: "http://elsewhere:1",
    PATH: "/usr/bin",
  };

  it("reads every setting, typed, and defaults the backend to s3 when an endpoint is given", () => {
    expect(configFromEnvironment(env)).toEqual({
      backend: "s3",
      endpoint: "http://127.0.0.1:9000",
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: SECRET,
      region: "eu-central-1",
      njobs: 12,
      defaultPool: "tutorial",
      timeoutMs: 2500,
      maxRetries: 2,
      forcePathStyle: true,
      transport: "minio",
    });
    const cluster = dn.Cluster.fromEnv(env);
    expect(cluster.toJSON()).toEqual({ backend: "s3", endpoint: "s3:http://127.0.0.1:9000", njobs: 12 });
    expect(cluster.defaultPool).toBe("tutorial");
  });

  it("without an endpoint the backend is fs at ./dosna-data; DOSNA_BACKEND and overrides win", () => {
    expect(configFromEnvironment({})).toEqual({ backend: "fs", root: "./dosna-data" });
    expect(dn.Cluster.fromEnv({ DOSNA_BACKEND: "memory" }).backendName).toBe("memory");
    expect(dn.Cluster.fromEnv({ DOSNA_ROOT: join(dir, "r") }).toJSON().endpoint).toBe(`fs:${join(dir, "r")}`);
    expect(dn.Cluster.fromEnv(env, { njobs: 2 }).njobs).toBe(2);
  });

  it("DOSNA_CONFIG names a file; variables override what it says", async () => {
    const path = await configFile("env.conf", "[dosna]\nendpoint = http://10.0.0.1:7480\naccess_key_id = A\nsecret_access_key = S\nnjobs = 4\n");
    expect(dn.Cluster.fromEnv({ DOSNA_CONFIG: path }).toJSON()).toEqual({ backend: "s3", endpoint: "s3:http://10.0.0.1:7480", njobs: 4 });
    expect(dn.Cluster.fromEnv({ DOSNA_CONFIG: path, DOSNA_NJOBS: "9" }).njobs).toBe(9);
  });

  it("a malformed value names the variable and what was expected", async () => {
    await expectError(() => dn.Cluster.fromEnv({ ...env, DOSNA_NJOBS: "many" }), dn.ValidationError, ["DOSNA_NJOBS", "must be a number", '"many"']);
    await expectError(() => dn.Cluster.fromEnv({ ...env, DOSNA_FORCE_PATH_STYLE: "maybe" }), dn.ValidationError, ["DOSNA_FORCE_PATH_STYLE", "true or false"]);
    await expectError(() => dn.Cluster.fromEnv({ ...env, DOSNA_NJOBS: "-4" }), dn.ValidationError, ["njobs", ">=1"]);
    await expectError(() => dn.Cluster.fromEnv({ DOSNA_ENDPOINT: "localhost:9000" }), dn.ValidationError, [
      "endpoint: expected an http(s) URL",
      "accessKeyId: access key id is required",
      "secretAccessKey: secret access key is required",
    ]);
    await expectError(() => dn.Cluster.fromEnv({ DOSNA_CONFIG: join(dir, "missing.conf") }), dn.ValidationError, ["missing.conf", "ENOENT"]);
  });
});

describe("Cluster from a config file", () => {
  it("reads the [dosna] section, ignoring comments and other sections", async () => {
    const path = await configFile(
      "full.conf",
      [
        "# a comment", "; another", "[global]", "endpoint = http://ignored:1", "", "[dosna]",
        "  endpoint   =   http://rgw.example.org:8080  ", "access_key_id=AKIDEXAMPLE", `secret_access_key = ${SECRET}`,
        "njobs = 6", "force_path_style = false", "pool = bucket/some/prefix", "[client.rgw]", "njobs = 99",
      ].join("\n"),
    );
    expect(readConfigFile(path)).toEqual({
      backend: "s3", endpoint: "http://rgw.example.org:8080", accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET,
      njobs: 6, forcePathStyle: false, defaultPool: "bucket/some/prefix",
    });
    const cluster = dn.Cluster.fromConfigFile(path);
    expect(cluster.toJSON()).toEqual({ backend: "s3", endpoint: "s3:http://rgw.example.org:8080", njobs: 6 });
    expect(cluster.defaultPool).toBe("bucket/some/prefix");
    expect(dn.Cluster.fromConfigFile(path, { njobs: 1 }).njobs).toBe(1);
  });

  it("a file without sections, for the fs backend", async () => {
    const path = await configFile("fs.conf", `backend = fs\nroot = ${join(dir, "data")}\n`);
    expect(dn.Cluster.fromConfigFile(path).toJSON()).toEqual({ backend: "fs", endpoint: `fs:${join(dir, "data")}`, njobs: 8 });
  });

  it("bad lines name the file, the line and the problem, never the value of a line it cannot parse", async () => {
    const unknown = await configFile("unknown.conf", "[dosna]\nendpoint = http://h:1\nenpdoint = http://h:2\n");
    await expectError(() => dn.Cluster.fromConfigFile(unknown), dn.ValidationError, ["unknown.conf", "line 3", 'unknown setting "enpdoint"', "known: "]);
    const noEquals = await configFile("colon.conf", `[dosna]\nsecret_access_key: ${SECRET}\n`);
    const error = await expectError(() => dn.Cluster.fromConfigFile(noEquals), dn.ValidationError, ["colon.conf", "line 2", 'expected "key = value"', '"secret_access_key"']);
    expect(error.message).not.toContain(SECRET);
    const bareSecret = await configFile("bare.conf", `[dosna]\n${SECRET}\n`);
    expect((await expectError(() => dn.Cluster.fromConfigFile(bareSecret), dn.ValidationError, ["line 2"])).message).not.toContain(SECRET);
    const number = await configFile("number.conf", "njobs = lots\n");
    await expectError(() => dn.Cluster.fromConfigFile(number), dn.ValidationError, ["number.conf", "line 1", "njobs must be a number", '"lots"']);
    const proto = await configFile("proto.conf", "constructor = x\n");
    await expectError(() => dn.Cluster.fromConfigFile(proto), dn.ValidationError, ['unknown setting "constructor"']);
    await expectError(() => dn.Cluster.fromConfigFile(join(dir, "nope.conf")), dn.ValidationError, ["nope.conf", "cannot read"]);
  });

  it("the shipped ceph.sample.conf yields a valid s3 config with every documented key", () => {
    const parsed = readConfigFile(SAMPLE.pathname);
    const config = clusterConfigSchema.parse(parsed);
    expect(config).toEqual({
      backend: "s3",
      endpoint: "http://127.0.0.1:7480",
      region: "us-east-1",
      accessKeyId: "dosna-test-access",
      secretAccessKey: "dosna-test-secret-key-0123456789",
      forcePathStyle: true,
      njobs: 16,
      defaultPool: "dosna",
      timeoutMs: 30_000,
      maxRetries: 3,
      retryWindowMs: 10_000,
      writers: "many",
      conflictRetries: 64,
      provenance: true,
      onStale: "warn",
      transport: "minio",
    });
    // Every setting line of the sample was read (none silently ignored) ...
    const settingLines = readFileSync(SAMPLE, "utf8").split("\n").filter((l) => /^\s*[a-z_]+\s*=/.test(l));
    expect(Object.keys(parsed).length).toBe(settingLines.length + 1); // + the derived backend
    // ... and the sample's credentials are the ones the local gateway script creates.
    const rgwEnv = readFileSync(new URL("../../scripts/rgw-env.sh", import.meta.url), "utf8");
    expect(rgwEnv).toContain(`RGW_ACCESS_KEY="${config.backend === "s3" ? config.accessKeyId : ""}"`);
    expect(rgwEnv).toContain(`RGW_SECRET_KEY="${config.backend === "s3" ? config.secretAccessKey : ""}"`);
    expect(dn.Cluster.fromConfigFile(SAMPLE.pathname).defaultPool).toBe("dosna");
  });
});

describe("validation errors list every bad field", () => {
  it("malformed endpoint and missing keys, all at once", async () => {
    const error = await expectError(() => new dn.Cluster({ backend: "s3", endpoint: "127.0.0.1:7480" } as dn.ClusterConfig), dn.ValidationError, [
      "invalid cluster configuration",
      "endpoint: expected an http(s) URL such as http://127.0.0.1:7480",
      "accessKeyId: access key id is required",
      "secretAccessKey: secret access key is required",
    ]);
    expect(error.message.split(";")).toHaveLength(3);
  });

  it("other malformed endpoints", async () => {
    for (const endpoint of ["ftp://127.0.0.1:21", "", "http//x", "not a url"]) {
      await expectError(() => new dn.Cluster({ ...s3Object, endpoint }), dn.ValidationError, ["endpoint: expected an http(s) URL"]);
    }
    const error = await expectError(
      () => new dn.Cluster({ ...s3Object, endpoint: `http://user:${encodeURIComponent(SECRET)}@127.0.0.1:9` }),
      dn.ValidationError,
      ["endpoint: must not contain credentials"],
    );
    expect(error.message).not.toContain(encodeURIComponent(SECRET));
  });

  it("negative njobs, bad numbers and enum values, an unknown key", async () => {
    await expectError(
      () => new dn.Cluster({ ...s3Object, njobs: -1, timeoutMs: -5, maxRetries: 1.5, transport: "curl", region: "" } as unknown as dn.ClusterConfig),
      dn.ValidationError,
      ["njobs: Too small", "timeoutMs: Too small", "maxRetries: Invalid input: expected int", "transport: Invalid option", "region: Too small"],
    );
    await expectError(() => new dn.Cluster({ backend: "memory", njobs: 0 }), dn.ValidationError, ["njobs"]);
    await expectError(() => new dn.Cluster({ ...s3Object, secretKey: "x" } as unknown as dn.ClusterConfig), dn.ValidationError, ['Unrecognized key: "secretKey"']);
    await expectError(() => new dn.Cluster({ backend: "fs", root: "x", endpoint: "http://h:1" } as unknown as dn.ClusterConfig), dn.ValidationError, ['"endpoint"']);
    await expectError(() => new dn.Cluster({ backend: "ceph" } as unknown as dn.ClusterConfig), dn.ValidationError, ["backend", "'memory' | 'fs' | 's3'"]);
    await expectError(() => new dn.Cluster({ backend: "fs" } as unknown as dn.ClusterConfig), dn.ValidationError, ["root"]);
  });
});

describe("secrets never show", () => {
  for (const transport of ["aws", "minio"] as const) {
    it(`not in toString, inspect, JSON or format of a Cluster (${transport})`, async () => {
      const cluster = new dn.Cluster({ ...s3Object, transport });
      await cluster.connect(); // the transport and its client exist now
      const texts = [
        String(cluster),
        `${cluster}`,
        inspect(cluster),
        inspect(cluster, { customInspect: false }),
        inspect(cluster, { customInspect: false, showHidden: true, depth: 8 }),
        JSON.stringify(cluster),
        JSON.stringify({ cluster }),
        format("%s %o %O %j", cluster, cluster, cluster, cluster),
      ];
      for (const text of texts) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(SECRET.slice(0, 10));
      }
      expect(String(cluster)).toBe("Cluster(s3:http://127.0.0.1:9)");
      await cluster.disconnect();
    });
  }

  it("not in validation errors of a config that holds them", async () => {
    const attempts = [
      () => new dn.Cluster({ ...s3Object, endpoint: "bad" }),
      () => new dn.Cluster({ ...s3Object, accessKeyId: SECRET as unknown as string, secretAccessKey: 42 as unknown as string }),
      () => new dn.Cluster({ ...s3Object, extra: SECRET } as unknown as dn.ClusterConfig),
      () => dn.Cluster.fromEnv({ DOSNA_ENDPOINT: "bad", DOSNA_SECRET_ACCESS_KEY: SECRET }),
    ];
    for (const attempt of attempts) {
      const error = await expectError(attempt, dn.ValidationError, []);
      expect(`${error.message} ${inspect(error)}`).not.toContain(SECRET);
    }
  });

  it.skipIf(!s3TestConfig())("not in the error when the endpoint rejects the credentials", async () => {
    const wrong = "Wr0ng/Secret+Value-0123456789";
    const cluster = new dn.Cluster({ backend: "s3", ...s3TestConfig()!, secretAccessKey: wrong, maxRetries: 0 });
    const error = await expectError(() => cluster.listPools(), dn.StorageError, ["rejected the credentials", s3TestConfig()!.endpoint]);
    expect(`${error.message} ${inspect(error)} ${JSON.stringify(error)}`).not.toContain(wrong);
    await cluster.disconnect();
  });
});

describe("invalid bucket names are refused before any request", () => {
  // Port 9 (discard) is never an S3 endpoint: reaching it would fail with a connection error instead.
  const cluster = new dn.Cluster({ ...s3Object, timeoutMs: 200, maxRetries: 0 });
  const cases: Array<[string, string]> = [
    ["ab", "must be 3 to 63 characters long"],
    ["a".repeat(64), "must be 3 to 63 characters long"],
    ["My_Bucket", "may contain only lowercase letters, digits, dots and hyphens"],
    ["-bucket", "must start and end with a letter or digit"],
    ["bucket.", "must start and end with a letter or digit"],
    ["my..bucket", "must not contain two adjacent dots"],
    ["192.168.1.10", "must not be formatted as an IP address"],
    ["UPPER/prefix", "may contain only lowercase letters"],
  ];
  for (const [name, rule] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}...` : name)}: ${rule}`, async () => {
      const bucket = name.split("/")[0];
      for (const action of [() => cluster.createPool(name), () => cluster.getPool(name), () => cluster.hasPool(name), () => cluster.deletePool(name)]) {
        await expectError(action, dn.ValidationError, [`invalid bucket name ${JSON.stringify(bucket)}`, rule]);
      }
    });
  }

  it("a bucket/prefix pool with a bad prefix", async () => {
    await expectError(() => cluster.createPool("good-bucket/../escape"), dn.ValidationError, [".."]);
  });
});

describe("pools: create, get, has, list, delete", () => {
  for (const kind of backendKinds) {
    it(`lifecycle on ${kind.name}; a non-empty pool needs force`, async () => {
      const { cluster, cleanup } = await kind.make();
      const name = uniquePoolName("cfg-life").toLowerCase();
      try {
        expect(await cluster.hasPool(name)).toBe(false);
        await expectError(() => cluster.getPool(name), dn.NotFoundError, [`pool "${name}" does not exist`]);
        const pool = await cluster.createPool(name, { attrs: { owner: "me" } });
        expect(await cluster.hasPool(name)).toBe(true);
        expect(await cluster.listPools()).toContain(name);
        await expectError(() => cluster.createPool(name), dn.AlreadyExistsError, [`pool "${name}" already exists`]);
        expect((await cluster.getPool(name)).attrs.get("owner")).toBe("me");
        expect((await cluster.pool(name)).attrs.get("owner")).toBe("me");

        await pool.createDataset("d", { shape: [2], dtype: "int8" });
        await (await pool.getDataset("d")).set(":", 1);
        await expectError(() => cluster.deletePool(name), dn.ValidationError, [`pool "${name}" is not empty`, "force: true"]);
        expect(await (await cluster.getPool(name)).hasDataset("d")).toBe(true);
        await cluster.deletePool(name, { force: true });
        expect(await cluster.hasPool(name)).toBe(false);
        expect(await cluster.listPools()).not.toContain(name);
        await expectError(() => cluster.deletePool(name), dn.NotFoundError, [`pool "${name}" does not exist`]);

        // An empty pool (only its root metadata) is deleted without force.
        await cluster.createPool(name);
        await cluster.deletePool(name);
        expect(await cluster.hasPool(name)).toBe(false);
      } finally {
        await dropPool(cluster, name);
        await cleanup();
      }
    });
  }

  it.skipIf(!s3TestConfig())("bucket/prefix pools on S3 live side by side in one bucket", async () => {
    const cluster = await s3Cluster();
    const bucket = uniqueBucketName("cfg-prefix");
    const [a, b] = [`${bucket}/team/a`, `${bucket}/team/b`];
    try {
      expect(await cluster.hasPool(a)).toBe(false);
      await expectError(() => cluster.getPool(a), dn.NotFoundError, [`pool "${a}" does not exist`, s3TestConfig()!.endpoint]);
      const poolA = await cluster.createPool(a); // creates the bucket too
      expect(await cluster.hasPool(bucket)).toBe(true);
      const poolB = await cluster.createPool(b); // in the existing bucket
      expect(await cluster.hasPool(a)).toBe(true);
      expect(await cluster.hasPool(b)).toBe(true);
      expect(await cluster.listPools()).toContain(bucket);
      await expectError(() => cluster.createPool(a), dn.AlreadyExistsError, [`pool "${a}" already exists`]);

      await poolA.createDataset("x", { data: [1, 2, 3], dtype: "int16" });
      await poolB.createDataset("x", { data: [4, 5, 6], dtype: "int16" });
      const keysA: string[] = [];
      for await (const key of poolA.store.list("")) keysA.push(key);
      expect(keysA.sort()).toEqual(["x/c/0", "x/zarr.json", "zarr.json"]);

      await expectError(() => cluster.deletePool(a), dn.ValidationError, ["is not empty"]);
      await cluster.deletePool(a, { force: true });
      expect(await cluster.hasPool(a)).toBe(false);
      // b and the bucket are untouched.
      expect(Array.from((await (await (await cluster.getPool(b)).getDataset("x")).get()).data as Int16Array)).toEqual([4, 5, 6]);
      expect(await cluster.hasPool(bucket)).toBe(true);
    } finally {
      await dropPool(cluster, b);
      await dropPool(cluster, a);
      await dropPool(cluster, bucket);
      await cluster.disconnect();
    }
  });
});
