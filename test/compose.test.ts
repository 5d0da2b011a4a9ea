/**
 * docker-compose.yml (MinIO for users). There is no Docker engine in CI, so this checks the file
 * itself: it parses (our strict subset parser, cross-checked with PyYAML when python3 has it), the
 * services, ports bound to 127.0.0.1, the healthcheck the bucket creation waits for, and that the
 * env vars documented in its comments match its credentials and configure a valid dosna Cluster.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as dn from "../src/index.js";
import { configFromEnvironment } from "../src/core/config-sources.js";
import { parseYamlSubset, YamlSubsetError, type YamlValue } from "./helpers/mini-yaml.js";

const PATH = new URL("../docker-compose.yml", import.meta.url);
const TEXT = readFileSync(PATH, "utf8");

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
const env = documentedEnv(TEXT);

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

  it("has exactly the MinIO server and the one-shot bucket creator", () => {
    expect(Object.keys(services).sort()).toEqual(["create-bucket", "minio"]);
    expect(minio.image).toMatch(/^minio\/minio(:|$)/);
    expect(createBucket.image).toMatch(/^minio\/mc(:|$)/);
    expect(asList(minio.command, "minio.command").slice(0, 2)).toEqual(["server", "/data"]);
    expect(asMap(doc.volumes, "volumes")).toHaveProperty("minio-data");
    expect(asList(minio.volumes, "minio.volumes")).toEqual(["minio-data:/data"]);
  });

  it("publishes the S3 API (and the console) on 127.0.0.1 only", () => {
    const ports = asList(minio.ports, "minio.ports").map(String);
    expect(ports).toContain("127.0.0.1:9000:9000");
    for (const port of ports) expect(port, "every published port is bound to loopback").toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    for (const service of Object.values(services)) {
      if (service !== minio) expect(asMap(service, "service")).not.toHaveProperty("ports");
    }
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
