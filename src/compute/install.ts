/**
 * Wires compute/ into Dataset: `map`, `apply` and `clear` take a registered function's name,
 * `engine` and `params` (installed once by src/index.ts, before provenance wraps the same methods,
 * so a distributed map is recorded once, as a local one is).
 */
import { Dataset, type ChunkFunction, type ComputeOptions } from "../core/dataset.js";
import { computeApply, computeClear, computeMap } from "./engines.js";

let installed = false;

export function installCompute(): void {
  if (installed) return;
  installed = true;
  const map = Dataset.prototype.map;
  const apply = Dataset.prototype.apply;
  const clear = Dataset.prototype.clear;
  define("map", function (this: Dataset, fn: ChunkFunction | string, outName: string, options: ComputeOptions = {}) {
    return computeMap(this, fn, outName, options, () => map.call(this, fn, outName, options));
  });
  define("apply", function (this: Dataset, fn: ChunkFunction | string, options: ComputeOptions = {}) {
    return computeApply(this, fn, options, () => apply.call(this, fn, options));
  });
  define("clear", function (this: Dataset, options: ComputeOptions = {}) {
    return computeClear(this, options, () => clear.call(this, options));
  });
}

function define(name: "map" | "apply" | "clear", value: (...args: never[]) => unknown): void {
  Object.defineProperty(Dataset.prototype, name, { value, writable: true, configurable: true });
}
