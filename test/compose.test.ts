/**
 * docker-compose.yml (MinIO, Redis and dosna workers for users). There is no Docker engine in CI, so
 * this checks the file itself: it parses (our strict subset parser, cross-checked with PyYAML when
 * python3 has it), the services, ports bound to 127.0.0.1, the healthchecks the bucket creation and
 * the workers wait for, the worker's command (with Dockerfile.worker's ENTRYPOINT) and credentials,
 * and that the env vars documented in its comments match its credentials and configure a valid
 * dosna Cluster.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as dn from "../src/index.js";
import { configFromEnvironment } from "../src/core/config-sources.js";
import { parseYamlSubset, YamlSubsetError, type YamlValue } from "./helpers/mini-yaml.js";

const PATH = new URL("../docker-compose.yml", import.meta.url);
const TEXT = readFileSync(PATH, "utf8");
const DOCKERFILE = readFileSync(new URL("../Dockerfile.worker", import.meta.url), "utf8");
const DOCKERIGNORE = readFileSync(new URL("../.dockerignore", import.meta.url), "utf8");

type Doc = { [key: string]: YamlValue };
const asMap = (v: YamlValue | undefined, what: string): Doc => {
  expect(v !== null && typeof v === "object" && !Array.isArray(v), `${what} is a mapping`).toBe(true);
  return v as Doc;
};
const asList = (v: YamlValue | undefined, what: string): YamlValue[] => {
  expect(Array.isArray(v), `${what} is a list`).toBe(true);
  return v as YamlValue[];
};

/** Whether python3 with PyYAML is on this machine. */
function hasPyYaml(): boolean {
  try {
    execFileSync("python3", ["-c", "import yaml"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** PyYAML's reading of the text, as JSON (throws with PyYAML's message when the text is not YAML). */
function pyYamlLoad(text: string): unknown {
  const out = execFileSync("python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], {
    input: text,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
  });
  return JSON.parse(out);
}

/** `export NAME=value` lines of the file's comments. */
function documentedEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of text.matchAll(/^#\s+export\s+([A-Z0-9_]+)=(\S+)\s*$/gm)) env[match[1]] = match[2];
  return env;
}

const doc = asMap(parseYamlSubset(TEXT), "the file");
const services = asMap(doc.services, "services");
const minio = asMap(services.minio, "services.minio");
const createBucket = asMap(services["create-bucket"], "services.create-bucket");
const minioEnv = asMap(minio.environment, "minio.environment");
const redis = asMap(services.redis, "services.redis");
const worker = asMap(services.worker, "services.worker");
const workerEnv = asMap(worker.environment, "worker.environment");
const env = documentedEnv(TEXT);

/** The exec-form (JSON array) ENTRYPOINT of a Dockerfile. */
function dockerEntrypoint(text: string): string[] {
  const lines = text.split("\n").filter((line) => /^\s*ENTRYPOINT\b/i.test(line));
  expect(lines, "exactly one ENTRYPOINT").toHaveLength(1);
  const entrypoint: unknown = JSON.parse(lines[0].replace(/^\s*ENTRYPOINT\s+/i, ""));
  expect(Array.isArray(entrypoint) && entrypoint.every((a) => typeof a === "string"), "ENTRYPOINT is exec form").toBe(true);
  return entrypoint as string[];
}

describe("docker-compose.yml", () => {
  it("parses as YAML, and PyYAML (when present) reads the same document", () => {
    expect(TEXT).not.toMatch(/\t/);
    if (!hasPyYaml()) {
      console.warn("compose.test: python3 with PyYAML not found; docker-compose.yml checked with the subset parser only");
      return;
    }
    expect(pyYamlLoad(TEXT)).toEqual(doc);
    expect(() => pyYamlLoad("a: [1, 2\nb: 3")).toThrow(); // and PyYAML does reject broken YAML
  });

  it("the subset parser rejects what it does not understand, so the check above means something", () => {
    for (const bad of ["a: 1\n\tb: 2", "a: &x 1", "a: |\n  text", "a:\n  - b: 1", "a: 1\na: 2", "a: [1, [2]]", 'a: "open', "key value"]) {
      expect(() => parseYamlSubset(bad), bad).toThrow(YamlSubsetError);
    }
    expect(parseYamlSubset('a:\n  b: [x, "y z"] # c\n  c:\n    - 1\n    - "no"\n  d: no\n  e:\n')).toEqual({ a: { b: ["x", "y z"], c: [1, "no"], d: false, e: null } });
  });

  it("has exactly the MinIO server, the one-shot bucket creator, Redis and the worker", () => {
    expect(Object.keys(services).sort()).toEqual(["create-bucket", "minio", "redis", "worker"]);
    expect(minio.image).toMatch(/^minio\/minio(:|$)/);
    expect(createBucket.image).toMatch(/^minio\/mc(:|$)/);
    expect(asList(minio.command, "minio.command").slice(0, 2)).toEqual(["server", "/data"]);
    expect(asMap(doc.volumes, "volumes")).toHaveProperty("minio-data");
    expect(asList(minio.volumes, "minio.volumes")).toEqual(["minio-data:/data"]);
  });

  it("publishes the S3 API (and the console) and Redis on 127.0.0.1 only, and nothing else", () => {
    const ports = asList(minio.ports, "minio.ports").map(String);
    expect(ports).toContain("127.0.0.1:9000:9000");
    expect(asList(redis.ports, "redis.ports").map(String)).toEqual(["127.0.0.1:6379:6379"]);
    for (const [name, service] of Object.entries(services)) {
      if (name === "minio" || name === "redis") {
        for (const port of asList(asMap(service, name).ports, `${name}.ports`).map(String)) {
          expect(port, `every port ${name} publishes is bound to loopback`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
        }
      } else {
        expect(asMap(service, name), `${name} publishes no ports`).not.toHaveProperty("ports");
      }
    }
    expect(worker).not.toHaveProperty("network_mode"); // host networking would bypass all of the above
    expect(worker).not.toHaveProperty("container_name"); // would make --scale worker=N impossible
  });

  it("runs Redis 7.2 with the append-only file on, a named volume and a redis-cli ping healthcheck", () => {
    expect(redis.image).toBe("redis:7.2-alpine");
    const command = asList(redis.command, "redis.command");
    expect(command[0]).toBe("redis-server");
    expect(command[command.indexOf("--appendonly") + 1]).toBe("yes");
    expect(asMap(doc.volumes, "volumes")).toHaveProperty("redis-data");
    expect(asList(redis.volumes, "redis.volumes")).toEqual(["redis-data:/data"]);
    const health = asMap(redis.healthcheck, "redis.healthcheck");
    expect(asList(health.test, "redis.healthcheck.test")).toEqual(["CMD", "redis-cli", "ping"]);
    expect(health.retries).toBeGreaterThan(0);
  });

  it("runs `dosna worker --queue redis://redis:6379` from Dockerfile.worker once Redis and MinIO are healthy", () => {
    expect(asMap(worker.build, "worker.build")).toEqual({ context: ".", dockerfile: "Dockerfile.worker" });
    expect(DOCKERFILE).toMatch(/^FROM node:20-slim$/m);
    expect(DOCKERFILE).toMatch(/^RUN npm ci && npm run build$/m);
    const entrypoint = dockerEntrypoint(DOCKERFILE);
    expect(entrypoint).toEqual(["node", "/app/dist/cli/main.js", "worker"]);
    const argv = [...entrypoint, ...asList(worker.command, "worker.command").map(String)];
    expect(argv).toContain("worker");
    const queue = argv[argv.indexOf("--queue") + 1];
    expect(queue).toBe("redis://redis:6379");
    // The queue URL names the redis service and its container port.
    expect(new URL(queue).hostname in services).toBe(true);
    expect(asList(redis.ports, "redis.ports").map(String).some((p) => p.endsWith(`:${new URL(queue).port}`))).toBe(true);
    // The functions file is inside the read-only mount of ./functions.
    expect(asList(worker.volumes, "worker.volumes")).toEqual(["./functions:/app/functions:ro"]);
    expect(argv[argv.indexOf("--functions") + 1]).toMatch(/^\/app\/functions\/[^/]+\.js$/);

    const dependsOn = asMap(worker.depends_on, "worker.depends_on");
    expect(asMap(dependsOn.redis, "depends_on.redis")).toEqual({ condition: "service_healthy" });
    expect(asMap(dependsOn.minio, "depends_on.minio")).toEqual({ condition: "service_healthy" });
    expect(asMap(dependsOn["create-bucket"], "depends_on.create-bucket")).toEqual({ condition: "service_completed_successfully" });
    // The image gets the source, not the host's node_modules/dist (built for another machine) or .git.
    expect(DOCKERIGNORE.split("\n").map((l) => l.trim())).toEqual(expect.arrayContaining(["node_modules", "dist", ".git"]));
  });

  it("gives the worker the store from the environment, with no literal secret but the documented test keys", () => {
    expect(workerEnv).toMatchObject({
      DOSNA_ENDPOINT: "http://minio:9000", // the minio service, container port of its S3 API
      DOSNA_ACCESS_KEY_ID: env.DOSNA_ACCESS_KEY_ID,
      DOSNA_SECRET_ACCESS_KEY: env.DOSNA_SECRET_ACCESS_KEY,
      DOSNA_REGION: env.DOSNA_REGION,
    });
    const testKeys = new Set([env.DOSNA_ACCESS_KEY_ID, env.DOSNA_SECRET_ACCESS_KEY]);
    for (const [name, value] of Object.entries(workerEnv)) {
      expect(typeof value, `${name} is a string`).toBe("string");
      const text = String(value);
      // Compose interpolation from the user's environment (${VAR}, ${VAR:-default}) is fine; the
      // default, if any, must itself be a documented test key.
      const interpolated = /^\$\{[A-Z0-9_]+(?::?-(.*))?\}$/.exec(text);
      const literal = interpolated ? (interpolated[1] ?? "") : text;
      if (/SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL|AUTH/i.test(name) && literal !== "") {
        expect(testKeys.has(literal), `${name} holds only a documented test key`).toBe(true);
      }
      // No credentials hidden in URLs either (http://user:pass@host, redis://:pass@host).
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(literal)) expect(new URL(literal).password, `${name} has no password in it`).toBe("");
    }
    for (const arg of asList(worker.command, "worker.command").map(String)) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) expect(new URL(arg).password, `${arg} has no password in it`).toBe("");
    }
    const config = configFromEnvironment(Object.fromEntries(Object.entries(workerEnv).map(([k, v]) => [k, String(v)])));
    expect(config).toMatchObject({ backend: "s3", endpoint: "http://minio:9000", region: env.DOSNA_REGION });
  });

  it("creates the bucket once MinIO is healthy, with MinIO's own credentials", () => {
    const health = asMap(minio.healthcheck, "minio.healthcheck");
    expect(asList(health.test, "healthcheck.test")[0]).toBe("CMD");
    expect(asList(health.test, "healthcheck.test").slice(1)).toEqual(["mc", "ready", "local"]);
    expect(health.retries).toBeGreaterThan(0);
    expect(asMap(asMap(createBucket.depends_on, "depends_on").minio, "depends_on.minio")).toEqual({ condition: "service_healthy" });
    expect(createBucket.restart).toBe("no");

    // mc reads the alias from MC_HOST_<alias>=http://KEY:SECRET@host:port; the command uses that alias.
    const mcEnv = asMap(createBucket.environment, "create-bucket.environment");
    const [aliasVar, url] = Object.entries(mcEnv).find(([k]) => k.startsWith("MC_HOST_"))! as [string, string];
    const alias = aliasVar.slice("MC_HOST_".length);
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.username)).toBe(minioEnv.MINIO_ROOT_USER);
    expect(decodeURIComponent(parsed.password)).toBe(minioEnv.MINIO_ROOT_PASSWORD);
    expect(parsed.host).toBe("minio:9000"); // the service name and the container port
    const command = asList(createBucket.command, "create-bucket.command");
    expect(command.slice(0, 2)).toEqual(["mb", "--ignore-existing"]);
    expect(command[2]).toBe(`${alias}/${env.DOSNA_POOL}`);
    // MinIO refuses root passwords shorter than 8 characters.
    expect(String(minioEnv.MINIO_ROOT_PASSWORD).length).toBeGreaterThanOrEqual(8);
  });

  it("documents env vars that match its port, credentials and bucket", () => {
    const api = asList(minio.ports, "ports").map(String).find((p) => p.endsWith(":9000"))!;
    const endpoint = `http://127.0.0.1:${api.split(":")[1]}`;
    expect(env).toMatchObject({
      DOSNA_ENDPOINT: endpoint,
      DOSNA_ACCESS_KEY_ID: minioEnv.MINIO_ROOT_USER,
      DOSNA_SECRET_ACCESS_KEY: minioEnv.MINIO_ROOT_PASSWORD,
      DOSNA_TEST_S3_ENDPOINT: endpoint,
      DOSNA_TEST_S3_ACCESS_KEY: minioEnv.MINIO_ROOT_USER,
      DOSNA_TEST_S3_SECRET_KEY: minioEnv.MINIO_ROOT_PASSWORD,
      DOSNA_TEST_S3_REGION: "us-east-1",
    });
  });

  it("the documented user env vars configure a valid S3 Cluster whose default pool is the bucket", () => {
    const config = configFromEnvironment(env);
    expect(config).toMatchObject({ backend: "s3", endpoint: env.DOSNA_ENDPOINT, region: "us-east-1", defaultPool: env.DOSNA_POOL });
    const cluster = dn.Cluster.fromEnv(env);
    expect(cluster.backendName).toBe("s3");
    expect(cluster.defaultPool).toBe(env.DOSNA_POOL);
    expect(String(cluster)).not.toContain(env.DOSNA_SECRET_ACCESS_KEY);
  });

  it("the documented test env vars are the ones the test suite reads", () => {
    const helper = readFileSync(new URL("./helpers/clusters.ts", import.meta.url), "utf8");
    for (const name of Object.keys(env).filter((n) => n.startsWith("DOSNA_TEST_"))) expect(helper).toContain(`process.env.${name}`);
  });
});
