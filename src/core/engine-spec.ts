/**
 * Where chunk-wise work runs (compute/ runs it; core/ only carries the choice):
 *   "local"                      in this process, `njobs` chunks at a time (the default)
 *   "threads" | { threads: n }   a pool of worker threads on this machine (every core by default)
 *   { queue: "redis://..." }     `dosna worker` processes on any host, through BullMQ on Redis
 */
import { z } from "zod";
import { ValidationError } from "../errors.js";

export type EngineSpec = "local" | "threads" | { threads: number } | QueueEngineSpec;

export interface QueueEngineSpec {
  /** redis://[:password@]host:port[/db] (rediss:// for TLS). */
  queue: string;
  /** BullMQ queue name (default "dosna"); workers must listen on the same one. */
  name?: string;
  /** How long to wait for a worker to be listening before failing (ms, default 10000; Infinity waits). */
  waitForWorkers?: number;
  /** Bytes of chunk data per task (default 8 MiB): small chunks are grouped to amortise the queue's overhead. */
  taskBytes?: number;
  /** Attempts per task before the job fails (default 3), with exponential backoff. */
  attempts?: number;
}

/**
 * The text form used by config files, DOSNA_ENGINE and the CLI's --engine: "local", "threads",
 * "threads:N", or a redis:// / rediss:// URL (the queue engine; a "#NAME" suffix names the queue, default "dosna").
 */
export function parseEngineText(text: string, what = "engine"): EngineSpec {
  const value = text.trim();
  if (value === "local" || value === "threads") return value;
  const threads = /^threads:(\d+)$/.exec(value);
  if (threads && Number(threads[1]) >= 1) return { threads: Number(threads[1]) };
  if (/^rediss?:\/\//.test(value)) {
    // "#NAME" picks the BullMQ queue name (default "dosna"); the fragment never reaches Redis.
    const hash = value.indexOf("#");
    return hash < 0 ? { queue: value } : { queue: value.slice(0, hash), name: value.slice(hash + 1) };
  }
  throw new ValidationError(`${what}: expected "local", "threads", "threads:N" or a redis://host:port URL, got ${JSON.stringify(value.replace(/\/\/[^@/]*@/, "//***@"))}`);
}

export const engineSchema = z.union([
  z.string().transform((text) => parseEngineText(text)),
  z.object({ threads: z.number().int().min(1) }).strict(),
  z.object({ queue: z.string(), name: z.string().optional(), waitForWorkers: z.number().optional(), taskBytes: z.number().optional(), attempts: z.number().optional() }).strict(),
]);
