/**
 * Connections to the queue engine's Redis. A URL is shown only with its password masked; the first
 * connection is probed so that an unreachable server or a wrong password fails at once with a clear
 * error instead of BullMQ retrying forever.
 */
import type { Redis, RedisOptions } from "ioredis";
import { queueLibraries } from "./queue-libraries.js";
import { QueueError, ValidationError } from "../errors.js";

/** The URL with any password (and user) masked, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    if (parsed.username && parsed.password === "") parsed.username = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}

export function checkRedisUrl(url: unknown, what = "queue"): string {
  if (typeof url !== "string" || !/^rediss?:\/\/[^/]/.test(url)) {
    throw new ValidationError(`${what}: expected a Redis URL redis://[:password@]host:port[/db] (or rediss:// for TLS), got ${typeof url === "string" ? JSON.stringify(redactRedisUrl(url)) : typeof url}`);
  }
  try {
    new URL(url);
  } catch {
    throw new ValidationError(`${what}: ${JSON.stringify(redactRedisUrl(url))} is not a valid URL`);
  }
  return url;
}

/** A long-lived connection for BullMQ (commands wait through reconnects). */
export async function redisConnection(url: string, options: RedisOptions = {}): Promise<Redis> {
  const { Redis } = (await queueLibraries()).ioredis;
  const client = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
  // Errors are reported through the operations that fail; without a listener ioredis prints them (with the host).
  client.on("error", () => undefined);
  return client;
}

/** Connect once without retries and PING: QueueError naming the (masked) URL when Redis cannot be used. */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  const shown = redactRedisUrl(url);
  const { Redis } = (await queueLibraries()).ioredis;
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, enableOfflineQueue: false });
  // connect() rejects with "Connection is closed." when retries are off; the socket's own error (ECONNREFUSED, ...) says why.
  let socketError: unknown;
  client.on("error", (error) => (socketError ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw describeRedisError(socketError ?? error, shown);
  } finally {
    client.disconnect();
  }
}

export function describeRedisError(error: unknown, shownUrl: string): QueueError {
  const message = String((error as Error)?.message ?? error);
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) return new QueueError(`Redis at ${shownUrl} refused the password (WRONGPASS)`);
  if (/NOAUTH/i.test(message)) return new QueueError(`Redis at ${shownUrl} needs a password (NOAUTH): put it in the URL as redis://:PASSWORD@host:port`);
  const code = (error as NodeJS.ErrnoException)?.code;
  const reason = code ? `${code}` : message.replace(/\s+/g, " ").slice(0, 200);
  return new QueueError(`cannot reach Redis at ${shownUrl}: ${reason}`);
}
