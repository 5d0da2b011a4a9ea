/**
 * Functions by name. Workers (threads, `dosna worker` processes) run only functions registered in
 * their own code, so nothing executable ever travels through a queue: a task names a function and
 * carries JSON parameters. The registry is shared by every copy of dosna loaded in one process or
 * thread (it hangs off globalThis), so a functions module that imports another copy of "dosna"
 * still registers where the worker looks.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { NdArray } from "ndarray";
import { NotFoundError, ValidationError } from "../errors.js";
import type { TypedArray } from "../format/index.js";
import type { WritableValue } from "../core/values.js";

/** Where a chunk sits, passed to every registered function. */
export interface ChunkContext {
  /** Index of the chunk on the array's chunk grid. */
  gridIndex: readonly number[];
  /** Index of its first element in the array. */
  origin: readonly number[];
  /** The whole array's shape. */
  shape: readonly number[];
  /** The array's data type ("float32", ...). */
  dtype: string;
}

/**
 * A chunk function: the in-bounds part of one chunk (an ndarray the function may change and return),
 * the call's JSON parameters and where the chunk sits. It returns the new chunk: an ndarray or typed
 * array of the chunk's shape and data type, or a scalar (broadcast). It must be pure: a task may run twice.
 */
export type RegisteredFunction = (chunk: NdArray<TypedArray>, params: unknown, context: ChunkContext) => WritableValue | Promise<WritableValue>;

export interface FunctionEntry {
  name: string;
  fn: RegisteredFunction;
  /** file: URL of the module that registered it (worker threads import it), when known. */
  module?: string;
}

export interface RegisterOptions {
  /** The registering module's URL (`import.meta.url`); found from the call stack when omitted. */
  module?: string;
}

interface SharedRegistry {
  functions: Map<string, FunctionEntry>;
  /** Modules loaded with loadFunctions, in order. */
  modules: string[];
}

const REGISTRY_KEY = Symbol.for("dosna.compute.functions");
const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

function registry(): SharedRegistry {
  const holder = globalThis as unknown as Record<symbol, SharedRegistry | undefined>;
  return (holder[REGISTRY_KEY] ??= { functions: new Map(), modules: [] });
}

/** Register `fn` under `name` (letters, digits, `_ . : -`). Registering the same function again is harmless; another function under a taken name is refused. */
export function registerFunction(name: string, fn: RegisteredFunction, options: RegisterOptions = {}): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ValidationError(`registerFunction: invalid name ${JSON.stringify(name)}: expected 1-128 letters, digits, "_", ".", ":" or "-", starting with a letter or "_"`);
  }
  if (typeof fn !== "function") throw new ValidationError(`registerFunction("${name}"): expected a function, got ${typeof fn}`);
  const functions = registry().functions;
  const existing = functions.get(name);
  if (existing && existing.fn !== fn && Function.prototype.toString.call(existing.fn) !== Function.prototype.toString.call(fn)) {
    throw new ValidationError(`registerFunction("${name}"): another function is already registered under that name (use unregisterFunction first)`);
  }
  functions.set(name, { name, fn, module: options.module ?? existing?.module ?? callerModule() });
}

export function unregisterFunction(name: string): boolean {
  return registry().functions.delete(name);
}

/** The entry registered under `name`, or NotFoundError listing what is registered. */
export function registeredFunction(name: string, where = "this process"): FunctionEntry {
  const entry = registry().functions.get(name);
  if (!entry) {
    throw new NotFoundError(`no function "${name}" is registered in ${where} (registered: ${describeNames(registeredFunctionNames())}); register it with dn.registerFunction in a module every worker loads`);
  }
  return entry;
}

export function findRegisteredFunction(name: string): FunctionEntry | undefined {
  return registry().functions.get(name);
}

/** The name a function value is registered under, if any. */
export function nameOfRegistered(fn: unknown): string | undefined {
  for (const entry of registry().functions.values()) if (entry.fn === fn) return entry.name;
  return undefined;
}

export function registeredFunctionNames(): string[] {
  return [...registry().functions.keys()].sort();
}

/** Modules that registered functions (and those loaded with loadFunctions), for worker threads to import. */
export function functionModules(): string[] {
  const modules = new Set(registry().modules);
  for (const entry of registry().functions.values()) if (entry.module) modules.add(entry.module);
  return [...modules];
}

/** Import modules that register functions (paths or file: URLs), as `dosna worker --functions` does. Returns the names registered. */
export async function loadFunctions(...modules: string[]): Promise<string[]> {
  for (const module of modules) {
    const url = module.startsWith("file:") ? module : pathToFileURL(resolve(module)).href;
    try {
      await import(url);
    } catch (error) {
      // Only the module itself missing is NotFound: one it imports missing names the module too ("imported from").
      if (!existsSync(fileURLToPath(url))) {
        throw new NotFoundError(`functions module "${module}" does not exist`, { cause: error });
      }
      throw new ValidationError(`functions module "${module}" failed to load: ${(error as Error).message}`, { cause: error });
    }
    if (!registry().modules.includes(url)) registry().modules.push(url);
  }
  return registeredFunctionNames();
}

export function describeNames(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.map((n) => `"${n}"`).join(", ");
}

/** The file: URL of the first stack frame outside dosna's own compute/ folder: the module calling registerFunction. */
function callerModule(): string | undefined {
  const here = import.meta.url.slice(0, import.meta.url.lastIndexOf("/") + 1);
  for (const file of callerFiles()) {
    const match = /^(file:\/\/.+|\/.+)$/.exec(file);
    if (!match) continue;
    const url = match[1].startsWith("file:") ? match[1] : pathToFileURL(match[1]).href;
    if (url.startsWith(here) || url.includes("/node_modules/dosna/") && url.includes("/compute/")) continue;
    if (url.startsWith("node:")) continue;
    return url;
  }
  return undefined;
}

/**
 * The files of the calling stack frames as the runtime loaded them. The raw call sites, not the
 * text of `Error().stack`: with source maps on (node --enable-source-maps, vitest) the text names
 * the .ts sources, which are not the modules that ran (and worker threads cannot import them).
 */
function callerFiles(): string[] {
  const original = Error.prepareStackTrace;
  let sites: unknown;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    sites = new Error().stack;
  } finally {
    Error.prepareStackTrace = original;
  }
  if (Array.isArray(sites)) return (sites as NodeJS.CallSite[]).slice(1).map((site) => site.getFileName() ?? "");
  return (new Error().stack ?? "").split("\n").slice(1).map((line) => /(file:\/\/[^\s)]+?|\/[^\s():]+?):\d+:\d+\)?$/.exec(line.trim())?.[1] ?? "");
}
