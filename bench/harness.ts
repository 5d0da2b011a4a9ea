/**
 * What the benchmark orchestrators (run.ts, concurrency.ts) share: command-line options, the
 * stores under test, compiling a tree's bench, running one case process, medians.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { StoreSpec } from "./spec.js";

export function commandLine(args: string[]) {
  return {
    flag: (name: string) => args.includes(`--${name}`),
    option: (name: string, fallback: string) => {
      const i = args.indexOf(`--${name}`);
      return i >= 0 ? args[i + 1] : fallback;
    },
  };
}

/** fs under `workDir`, and S3 when DOSNA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _REGION) is set. */
export function benchStores(wanted: string[], workDir: string): Array<{ name: string; spec: StoreSpec }> {
  const stores: Array<{ name: string; spec: StoreSpec }> = [];
  if (wanted.includes("fs")) stores.push({ name: "fs", spec: { kind: "fs", root: join(workDir, "fs") } });
  if (wanted.includes("s3")) {
    const endpoint = process.env.DOSNA_TEST_S3_ENDPOINT;
    if (endpoint) {
      stores.push({
        name: "s3",
        spec: {
          kind: "s3",
          s3: {
            endpoint,
            accessKeyId: process.env.DOSNA_TEST_S3_ACCESS_KEY ?? "",
            secretAccessKey: process.env.DOSNA_TEST_S3_SECRET_KEY ?? "",
            region: process.env.DOSNA_TEST_S3_REGION ?? "us-east-1",
          },
        },
      });
    } else {
      console.log("(S3 skipped: set DOSNA_TEST_S3_ENDPOINT, e.g. eval \"$(bash scripts/rgw-start.sh)\")");
    }
  }
  return stores;
}

/**
 * Compile `tree`'s src/ and bench/ with its tsconfig.bench.json into <tree>/.bench-build (cases run
 * as compiled JavaScript, so that their peak RSS is not inflated by the TypeScript loader).
 */
export function compileBench(tree: string, tsc = join(tree, "node_modules/typescript/bin/tsc")): string {
  const result = spawnSync(process.execPath, [tsc, "-p", join(tree, "tsconfig.bench.json")], { stdio: "inherit" });
  // tsc emits despite type errors (exit 2); what it could not emit (exit 1, or killed) is fatal.
  if (result.status === 2) console.warn(`(bench: ${tree} has type errors; running what tsc emitted)`);
  else if (result.status !== 0) throw new Error(`compiling ${tree}'s bench failed (tsc exit ${result.status ?? result.signal})`);
  return join(tree, ".bench-build", "bench");
}

/** Run one compiled case script with a JSON spec; its last stdout line, parsed. */
export function runCase<T>(script: string, spec: object): T {
  const out = execFileSync(process.execPath, [script, JSON.stringify(spec)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: caseEnvironment(),
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as T;
}

export function caseEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Seeded uniform numbers in [0, 1) (mulberry32), so every run of a bench sees the same data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
