/**
 * dn.File on every store (s3://, memory:, file://, local paths, pool names on a default cluster),
 * dn.autoInit, dn.Pool.open by name, and `await using` on Cluster, Pool and File. Modes are
 * checked on memory and on a real Ceph RGW with the same rules as on a directory; refusals are
 * checked to create nothing.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { S3Backend } from "../../src/store/s3/index.js";
import { expectError } from "../helpers/expect-error.js";
import { valuesOf } from "../helpers/reference.js";
import { dropBucket, s3ConnectionConfig, uniqueBucketName } from "../helpers/s3-fixtures.js";
import { expectStoreUnchanged, snapshotStore } from "../helpers/store-snapshot.js";

let root: string;
let counter = 0;
const fresh = (name = "f") => `${name}-${process.pid}-${counter++}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dosna-file-stores-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(async () => {
  await dn.resetDefaultCluster();
});

/** Write one small dataset and an attribute through a File, and close it. */
async function fill(f: dn.File, values = [1, 2, 3, 4, 5, 6]): Promise<void> {
  await f.create_dataset({ name: "values", data: new Int32Array(values), shape: [2, 3], chunks: [1, 2] });
  await f.create_attribute("title", "original");
  await f.close();
}

async function valuesIn(f: dn.File): Promise<number[]> {
  const ds = await f.get("values");
  expect(ds).toBeInstanceOf(dn.H5Dataset);
  return valuesOf((await (ds as dn.H5Dataset).value) as Int32Array).map(Number);
}

/** The h5py mode rules, identical on every store: `url` names a pool that does not exist yet. */
async function checkModes(url: () => string, options: dn.FileOptions = {}): Promise<void> {
  // r and r+ need an existing pool
  for (const mode of ["r", "r+"] as const) {
    const missing = url();
    await expectError(() => dn.File.open(missing, mode, options), dn.NotFoundError, [missing.replace(/^[a-z0-9]+:\/*/, ""), `mode "${mode}"`]);
  }
  // w creates; w- and x refuse what exists; a opens it keeping its contents
  const name = url();
  await fill(new dn.File(name, "w", options));
  for (const mode of ["w-", "x"] as const) await expect(dn.File.open(name, mode, options)).rejects.toThrow(dn.AlreadyExistsError);
  const appended = await dn.File.open(name, "a", options);
  expect(await valuesIn(appended)).toEqual([1, 2, 3, 4, 5, 6]);
  await appended.create_group("added");
  await appended.close();
  // r reads, and refuses every write
  const reader = await dn.File.open(name, "r", options);
  expect(await reader.keys()).toEqual(["added", "values"]);
  await expect(reader.create_group("g")).rejects.toThrow(dn.ReadOnlyError);
  await expect(reader.create_attribute("x", 1)).rejects.toThrow(dn.ReadOnlyError);
  await reader.close();
  // r+ writes
  const writer = await dn.File.open(name, "r+", options);
  await (await writer.get("values") as dn.H5Dataset).write_slice([[0, 1], [0, 1]], [-9]);
  await writer.close();
  expect(await valuesIn(await dn.File.open(name, "r", options))).toEqual([-9, 2, 3, 4, 5, 6]);
  // w truncates
  const truncated = await dn.File.open(name, "w", options);
  expect(await truncated.keys()).toEqual([]);
  expect(await truncated.attrs).toEqual({});
  await truncated.close();
  // x creates a new one
  const created = url();
  await fill(new dn.File(created, "x", options));
  expect(await valuesIn(await dn.File.open(created, "r", options))).toEqual([1, 2, 3, 4, 5, 6]);
}

describe("File URLs: what is refused, before anything is created", () => {
  it("unknown schemes and scheme-like local names are refused, listing the known schemes; nothing is created", async () => {
    const cwd = process.cwd();
    const scratch = await mkdtemp(join(root, "cwd-"));
    process.chdir(scratch);
    try {
      for (const text of ["gs://bucket/x", "s3:/bucket/prefix", "s3:bucket", "ftp://host/x", "https://example.org/x.zarr", "azure:container", "C:/data"]) {
        for (const mode of ["r", "w", "a"] as const) {
          const error = await expectError(() => new dn.File(text, mode), dn.ValidationError, ["unsupported URL scheme", JSON.stringify(text), "s3://BUCKET/PREFIX", "memory:NAME", "file:///PATH"]);
          expect(error.message).not.toContain("\n");
        }
        await expectError(() => dn.Pool.open(text), dn.ValidationError, ["unsupported URL scheme"]);
      }
      await expectError(() => new dn.File("s3:/bucket/prefix", "w"), dn.ValidationError, ["an S3 URL is written s3://BUCKET/PREFIX"]);
      expect(await readdir(scratch)).toEqual([]);
      // a directory with ":" in its name is reachable as a path
      const f = new dn.File("./odd:name", "w");
      await fill(f);
      expect(existsSync(join(scratch, "odd:name", "zarr.json"))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('"::" (a node inside a pool) and empty pool names are refused', () => {
    expect(() => new dn.File("s3://bucket::group", "r")).toThrow(/names a node inside a pool/);
    expect(() => new dn.File("", "r")).toThrow(dn.ValidationError);
    expect(() => new dn.File("s3://", "w")).toThrow(/names no pool: expected s3:\/\/BUCKET\/PREFIX/);
    expect(() => new dn.File("memory:", "w")).toThrow(/names no pool: expected memory:NAME/);
  });

  it("a bare pool name before dn.autoInit says what to do; a path or file:// URL is a local directory", async () => {
    const error = await expectError(() => new dn.File("tutorial", "w"), dn.ValidationError, ['"tutorial" is a pool name', "dn.autoInit", '"./tutorial"', "s3://BUCKET/PREFIX"]);
    expect(error.message).not.toContain("\n");
    await expectError(() => dn.Pool.open("tutorial"), dn.ValidationError, ["dn.autoInit"]);
    expect(existsSync("tutorial")).toBe(false);
    const path = join(root, fresh("local.zarr"));
    await fill(new dn.File(pathToFileURL(path).href, "w"));
    expect(await valuesIn(new dn.File(path, "r"))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("s3:// with no endpoint or keys anywhere: one line naming the variables and the config file", async () => {
    for (const mode of ["r", "w"] as const) {
      const error = await expectError(() => new dn.File("s3://bucket/prefix", mode, { env: {} }), dn.ValidationError, [
        '"s3://bucket/prefix"',
        "DOSNA_ENDPOINT",
        "DOSNA_ACCESS_KEY_ID",
        "DOSNA_SECRET_ACCESS_KEY",
        "DOSNA_CONFIG",
        "ceph.sample.conf",
      ]);
      expect(error.message).not.toContain("\n");
    }
    // partly configured: names only what is missing, never echoes what is set
    const secret = "a-secret-that-must-not-show-1234";
    const partial = await expectError(() => new dn.File("s3://bucket", "r", { env: { DOSNA_SECRET_ACCESS_KEY: secret, DOSNA_ACCESS_KEY_ID: "AKIA-visible-not" } }), dn.ValidationError, [
      "has no endpoint",
      "set DOSNA_ENDPOINT",
    ]);
    expect(partial.message).not.toContain(secret);
    expect(partial.message).not.toContain("AKIA-visible-not");
    // a config file that lacks the keys is named
    const conf = join(root, fresh("partial.conf"));
    await writeFile(conf, "[dosna]\nendpoint = http://127.0.0.1:9\n");
    await expectError(() => new dn.File("s3://bucket", "r", { env: {}, configFile: conf }), dn.ValidationError, [conf, "accessKeyId", "secretAccessKey"]);
    await expectError(() => new dn.File("s3://bucket", "r", { env: { DOSNA_CONFIG: conf } }), dn.ValidationError, [conf]);
  });

  it("an s3:// URL with a cluster that is not S3 is refused", () => {
    const cluster = new dn.Cluster({ backend: "memory" });
    expect(() => new dn.File("s3://bucket", "r", { cluster })).toThrow(/not an S3 cluster/);
  });
});

describe("File on memory: (one pool per name for the whole process)", () => {
  it("h5py's modes behave exactly as on a directory", async () => {
    await checkModes(() => `memory:${fresh("modes")}`);
  });

  it("two Files on the same memory: name see the same pool; another name is another pool", async () => {
    const name = `memory:${fresh("shared")}`;
    await fill(new dn.File(name, "w"));
    expect(await valuesIn(new dn.File(name, "r"))).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(new dn.File(`memory:${fresh("other")}`, "r").keys()).rejects.toThrow(dn.NotFoundError);
  });
});

describe("dn.autoInit: a default cluster for File and Pool.open", () => {
  it("on a directory cluster: a name or a path is a pool under its root; Pool.open opens and creates by name", async () => {
    const clusterRoot = join(root, fresh("cluster"));
    const cluster = dn.autoInit({ backend: "fs", root: clusterRoot });
    expect(dn.defaultCluster()).toBe(cluster);
    await fill(new dn.File("/tmp/data.h5", "w"));
    expect(existsSync(join(clusterRoot, "tmp", "data.h5", "zarr.json"))).toBe(true);
    expect(existsSync("/tmp/data.h5/zarr.json")).toBe(false);
    expect(await valuesIn(new dn.File("tmp/data.h5", "r"))).toEqual([1, 2, 3, 4, 5, 6]);
    await fill(new dn.File("scan", "w"), [6, 5, 4, 3, 2, 1]);
    expect(await cluster.listPools()).toEqual(["scan", "tmp"]);
    // file:// still means the local path itself
    const outside = join(root, fresh("outside"));
    await fill(new dn.File(pathToFileURL(outside).href, "w"));
    expect(existsSync(join(outside, "zarr.json"))).toBe(true);

    await expectError(() => dn.Pool.open("missing"), dn.NotFoundError, ['"missing"']);
    expect(existsSync(join(clusterRoot, "missing"))).toBe(false);
    const created = await dn.Pool.open("made", { create: true });
    await created.createDataset("d", { shape: [4], dtype: "uint8" });
    const reopened = await dn.Pool.open("made", { readOnly: true });
    expect(await reopened.keys()).toEqual(["d"]);
    await expect(reopened.createGroup("g")).rejects.toThrow(dn.ReadOnlyError);
    expect(await (await dn.Pool.open("scan")).keys()).toEqual(["values"]);
  });

  it("names that cannot map to a pool are refused with the name and the rule, creating nothing", async () => {
    const clusterRoot = join(root, fresh("cluster"));
    dn.autoInit({ backend: "fs", root: clusterRoot });
    for (const name of ["a/../b", "/x/./y", "/.hidden/pool"]) {
      await expectError(() => new dn.File(name, "w"), dn.ValidationError, [JSON.stringify(name), "cannot name a pool", "each segment is a directory name"]);
    }
    expect(existsSync(clusterRoot)).toBe(false);
    // On S3 the first segment is the bucket: checked without contacting the endpoint.
    dn.autoInit({ backend: "s3", endpoint: "http://127.0.0.1:9", accessKeyId: "k", secretAccessKey: "s", maxRetries: 0 });
    for (const name of ["/Home/scan.h5", "/x/data.h5", "Tutorial", "/my_bucket/x.h5"]) {
      await expectError(() => new dn.File(name, "w"), dn.ValidationError, [JSON.stringify(name), "cannot name a pool", "its first segment is the bucket"]);
    }
  });

  it("takes its configuration from an object, a config file, a Cluster or the environment", async () => {
    const fileRoot = join(root, fresh("from-file"));
    const conf = join(root, fresh("local.conf"));
    await writeFile(conf, `[dosna]\nbackend = fs\nroot = ${fileRoot}\nnjobs = 3\n`);
    expect(dn.autoInit(conf).njobs).toBe(3);
    await fill(new dn.File("p", "w"));
    expect(existsSync(join(fileRoot, "p", "zarr.json"))).toBe(true);

    const envRoot = join(root, fresh("from-env"));
    expect(dn.autoInit(undefined, { DOSNA_ROOT: envRoot, DOSNA_NJOBS: "5" }).njobs).toBe(5);
    await fill(new dn.File("q", "w"));
    expect(existsSync(join(envRoot, "q", "zarr.json"))).toBe(true);

    const cluster = new dn.Cluster({ backend: "memory" });
    expect(dn.autoInit(cluster)).toBe(cluster);
    await fill(new dn.File("m", "w"));
    expect(await cluster.listPools()).toEqual(["m"]);
    // an explicit { cluster } wins over the default
    const other = new dn.Cluster({ backend: "memory" });
    await fill(new dn.File("m", "w", { cluster: other }), [0, 0, 0, 0, 0, 7]);
    expect(await valuesIn(new dn.File("m", "r"))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await valuesIn(new dn.File("m", "r", { cluster: other }))).toEqual([0, 0, 0, 0, 0, 7]);

    await dn.resetDefaultCluster();
    expect(() => dn.defaultCluster()).toThrow(/dn.autoInit/);
  });
});

describe("await using (Symbol.asyncDispose), as DosNa's context managers", () => {
  it("Cluster: connect() returns the cluster, and the block's end disconnects it", async () => {
    let outer: dn.Cluster | undefined;
    {
      await using cluster = await new dn.Cluster({ backend: "memory" }).connect();
      expect(cluster).toBeInstanceOf(dn.Cluster);
      expect(await cluster.connect()).toBe(cluster);
      expect(cluster.connected).toBe(true);
      outer = cluster;
    }
    expect(outer.connected).toBe(false);
  });

  it("Pool and File: the block's end closes them, also when the block throws", async () => {
    dn.autoInit({ backend: "memory" });
    const closed: string[] = [];
    const watch = <T extends { close(): Promise<void> }>(object: T, label: string): T => {
      const close = object.close.bind(object);
      object.close = async () => {
        closed.push(label);
        await close();
      };
      return object;
    };
    {
      await using pool = watch(await dn.Pool.open("ctx", { create: true }), "pool");
      await pool.createDataset("d", { shape: [2], dtype: "int8" });
    }
    await expect(async () => {
      await using f = watch(new dn.File("ctx", "a"), "file");
      expect(await f.keys()).toEqual(["d"]);
      throw new Error("inside the block");
    }).rejects.toThrow("inside the block");
    expect(closed).toEqual(["pool", "file"]);
    // a File whose opening failed disposes without a second error
    await expect(async () => {
      await using f = new dn.File("nothing-here", "r");
      await f.keys();
    }).rejects.toThrow(dn.NotFoundError);
  });
});

const s3 = s3ConnectionConfig();

describe.skipIf(!s3)("File on a real Ceph RGW (s3://)", () => {
  const buckets: string[] = [];
  const bucket = (prefix = "file") => {
    const name = uniqueBucketName(prefix);
    buckets.push(name);
    return name;
  };
  const s3Env = (): NodeJS.ProcessEnv => ({
    DOSNA_ENDPOINT: s3!.endpoint,
    DOSNA_ACCESS_KEY_ID: s3!.accessKeyId,
    DOSNA_SECRET_ACCESS_KEY: s3!.secretAccessKey,
    DOSNA_REGION: s3!.region,
  });
  const backend = () => new S3Backend(s3!);

  afterAll(async () => {
    for (const name of buckets) await dropBucket(s3!, name);
  });

  it("h5py's modes on bucket pools and on prefix pools, with settings from the environment", async () => {
    await checkModes(() => `s3://${bucket("modes")}`, { env: s3Env() });
    const shared = bucket("prefixes");
    await checkModes(() => `s3://${shared}/${fresh("p")}`, { env: s3Env() });
  });

  it('"r" writes nothing: no bucket for a missing pool, no object changed for an existing one', async () => {
    const missing = bucket("missing");
    await expect(dn.File.open(`s3://${missing}`, "r", { env: s3Env() })).rejects.toThrow(dn.NotFoundError);
    await expect(dn.File.open(`s3://${missing}/deep/prefix`, "r", { env: s3Env() })).rejects.toThrow(dn.NotFoundError);
    const b = backend();
    expect(await b.hasPool(missing)).toBe(false);
    const name = bucket("readonly");
    await fill(new dn.File(`s3://${name}`, "w", { env: s3Env() }));
    const before = await snapshotStore(b.openPool(name));
    const f = await dn.File.open(`s3://${name}`, "r", { env: s3Env() });
    expect(await valuesIn(f)).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(f.create_dataset({ name: "x", data: new Int8Array(2) })).rejects.toThrow(dn.ReadOnlyError);
    await expect((await f.get("values") as dn.H5Dataset).write_slice([[0, 1]], 0)).rejects.toThrow(dn.ReadOnlyError);
    await f.close();
    await expectStoreUnchanged(b.openPool(name), before);
    await b.close();
  });

  it('"w" truncates only what the pool holds: sibling prefixes survive', async () => {
    const name = bucket("truncate");
    await fill(new dn.File(`s3://${name}/one`, "w", { env: s3Env() }));
    await fill(new dn.File(`s3://${name}/two`, "w", { env: s3Env() }), [7, 7, 7, 7, 7, 7]);
    await fill(new dn.File(`s3://${name}/one-more`, "w", { env: s3Env() }), [8, 8, 8, 8, 8, 8]);
    const b = backend();
    const siblings = await snapshotStore(b.openPool(`${name}/two`));
    const lookalike = await snapshotStore(b.openPool(`${name}/one-more`));
    const f = await dn.File.open(`s3://${name}/one`, "w", { env: s3Env() });
    expect(await f.keys()).toEqual([]);
    const left: string[] = [];
    for await (const key of b.openPool(`${name}/one`).list("")) left.push(key);
    expect(left).toEqual(["zarr.json"]);
    await expectStoreUnchanged(b.openPool(`${name}/two`), siblings);
    await expectStoreUnchanged(b.openPool(`${name}/one-more`), lookalike);
    await b.close();
  });

  it("objects that are not a pool are refused by w, w-, a and r, and left alone", async () => {
    const name = bucket("foreign");
    const b = backend();
    await b.createPool(name);
    await b.openPool(name).set("notes/readme.txt", new TextEncoder().encode("not zarr"));
    const before = await snapshotStore(b.openPool(name));
    for (const url of [`s3://${name}`, `s3://${name}/notes`]) {
      await expect(dn.File.open(url, "w", { env: s3Env() })).rejects.toThrow(/not a dosna\/Zarr pool; refusing to truncate/);
      await expect(dn.File.open(url, "a", { env: s3Env() })).rejects.toThrow(/not a dosna\/Zarr pool; refusing to use/);
      await expect(dn.File.open(url, "w-", { env: s3Env() })).rejects.toThrow(dn.AlreadyExistsError);
      await expect(dn.File.open(url, "r", { env: s3Env() })).rejects.toThrow(/not a dosna\/Zarr pool/);
    }
    await expectStoreUnchanged(b.openPool(name), before);
    await b.close();
  });

  it("S3 settings from { s3 }, { cluster }, a config file, and the default cluster of dn.autoInit", async () => {
    const name = bucket("settings");
    await fill(new dn.File(`s3://${name}/a`, "w", { s3: s3!, env: {} }));
    const cluster = new dn.Cluster({ backend: "s3", ...s3! });
    expect(await valuesIn(await dn.File.open(`s3://${name}/a`, "r", { cluster, env: {} }))).toEqual([1, 2, 3, 4, 5, 6]);
    await cluster.disconnect();
    const conf = join(root, fresh("rgw.conf"));
    await writeFile(conf, `[dosna]\nendpoint = ${s3!.endpoint}\naccess_key_id = ${s3!.accessKeyId}\nsecret_access_key = ${s3!.secretAccessKey}\nregion = ${s3!.region}\n`);
    expect(await valuesIn(await dn.File.open(`s3://${name}/a`, "r", { configFile: conf, env: {} }))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await valuesIn(await dn.File.open(`s3://${name}/a`, "r", { env: { DOSNA_CONFIG: conf } }))).toEqual([1, 2, 3, 4, 5, 6]);

    // After autoInit on the RGW, a path names bucket/prefix: "/BUCKET/data.h5" is bucket BUCKET, prefix data.h5.
    const defaultCluster = dn.autoInit(conf);
    await fill(new dn.File(`/${name}/data.h5`, "w"), [3, 1, 4, 1, 5, 9]);
    const b = backend();
    expect(await b.openPool(name).get("data.h5/zarr.json")).toBeDefined();
    expect(await valuesIn(await dn.File.open(`s3://${name}/data.h5`, "r"))).toEqual([3, 1, 4, 1, 5, 9]);
    const pool = await dn.Pool.open(`${name}/data.h5`);
    expect(await pool.keys()).toEqual(["values"]);
    // a bucket that does not exist yet is created by "w", as createPool does
    const newBucket = bucket("made");
    await fill(new dn.File(`/${newBucket}/x.h5`, "w"));
    expect(await b.hasPool(newBucket)).toBe(true);
    expect(await defaultCluster.hasPool(`${newBucket}/x.h5`)).toBe(true);
    await b.close();
  });
});
