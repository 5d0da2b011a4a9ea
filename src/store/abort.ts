import { AbortedError } from "../errors.js";

/** Throws AbortedError (not the DOMException `signal.throwIfAborted` would) once `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    throw new AbortedError(`${operation} was aborted`, { cause: signal.reason });
  }
}
