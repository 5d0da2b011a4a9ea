/** Assertions on failures: the error class, what the message names, and that storage is untouched. */
import { expect } from "vitest";
import type { Store } from "../../src/index.js";
import { expectStoreUnchanged, snapshotStore } from "./store-snapshot.js";

type ErrorClass = abstract new (...args: never[]) => Error;

/** What `action` threw or rejected with; fails the test if it succeeded. */
export async function failureOf(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error("expected the action to fail, but it succeeded");
}

/** `action` fails with an instance of `cls` whose message contains every fragment. */
export async function expectError<E extends Error>(
  action: () => unknown,
  cls: ErrorClass & (abstract new (...args: never[]) => E),
  fragments: readonly string[],
): Promise<E> {
  const error = await failureOf(action);
  expect(error, `expected a ${cls.name}, got ${String(error)}`).toBeInstanceOf(cls);
  const message = (error as Error).message;
  for (const fragment of fragments) expect(message, `message ${JSON.stringify(message)}`).toContain(fragment);
  return error as E;
}

/** As expectError, and every key and byte of `store` is the same afterwards. */
export async function expectErrorAndNoChange<E extends Error>(
  store: Store,
  action: () => unknown,
  cls: ErrorClass & (abstract new (...args: never[]) => E),
  fragments: readonly string[],
): Promise<E> {
  const before = await snapshotStore(store);
  const error = await expectError(action, cls, fragments);
  await expectStoreUnchanged(store, before);
  return error;
}
