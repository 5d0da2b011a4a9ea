/** What the orchestrator (run.ts) tells one case process (case.ts), and what it answers. */

export type StoreSpec =
  | { kind: "fs"; root: string }
  | { kind: "s3"; s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string } };

export interface CaseSpec {
  case: string;
  store: StoreSpec;
  pool: string;
  dataset: string;
  shape: number[];
  chunks: number[];
  njobs: number;
  transport?: "aws" | "minio";
  /** S3 only: zarrita.js reads through a store over dosna's S3 client (default), or over the AWS SDK as a zarrita user would write one. */
  zarritaStore?: "dosna" | "aws-sdk";
  /** fs only: options for FileSystemBackend, e.g. { durable: false } (bench/concurrency.ts). */
  fsOptions?: { durable?: boolean };
  createOptions?: Record<string, unknown>;
  selection?: string;
  repeats?: number;
  h5Dir?: string;
}

export interface CaseResult {
  seconds: number;
  bytes: number;
  mbPerSecond: number;
  maxRssBytes: number;
  [extra: string]: number | string;
}

/** Smooth float32 data (what tomography volumes and simulations look like), deterministic. */
export function smoothFloat32(shape: number[]): Float32Array {
  const [nz, ny, nx] = shape;
  const out = new Float32Array(nz * ny * nx);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const base = Math.sin(z / 17) * Math.cos(y / 23);
      for (let x = 0; x < nx; x++) out[i++] = base + Math.sin(x / 31) * 0.5 + ((x * 7 + y * 13 + z) % 11) * 1e-4;
    }
  }
  return out;
}
