/**
 * JSON attributes of a group or dataset, kept in its zarr.json. Reads come from the metadata
 * loaded at open (or at the last change or `refresh()`); every change is applied to the latest
 * stored zarr.json under a conditional write, so changes made by other handles, processes or
 * hosts (another attribute, a resize) are kept, never undone.
 */
import { ValidationError } from "../errors.js";

export type AttributeChange = (latest: Record<string, unknown>) => Record<string, unknown>;

export interface AttributeOwner {
  readonly describe: string;
  readAttributes(): Record<string, unknown>;
  /** Apply `change` to the latest stored attributes and store the result (retrying lost races). */
  updateAttributes(change: AttributeChange): Promise<void>;
}

export class Attributes {
  constructor(private readonly owner: AttributeOwner) {}

  get(name: string): unknown {
    return this.owner.readAttributes()[name];
  }

  has(name: string): boolean {
    return Object.hasOwn(this.owner.readAttributes(), name);
  }

  keys(): string[] {
    return Object.keys(this.owner.readAttributes());
  }

  /** A copy of all attributes. */
  toJSON(): Record<string, unknown> {
    return structuredClone(this.owner.readAttributes());
  }

  async set(name: string, value: unknown): Promise<void> {
    await this.update({ [name]: value });
  }

  /** Set several attributes with one metadata write. */
  async update(values: Record<string, unknown>): Promise<void> {
    const converted = toJsonAttributes(values, this.owner.describe);
    await this.owner.updateAttributes((latest) => ({ ...latest, ...converted }));
  }

  async delete(name: string): Promise<void> {
    await this.owner.updateAttributes((latest) => {
      const next = { ...latest };
      delete next[name];
      return next;
    });
  }
}

/** `values` as they will be stored (ValidationError naming the attribute and `owner` for what JSON cannot hold). */
export function toJsonAttributes(values: Record<string, unknown>, owner: string): Record<string, unknown> {
  const converted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) converted[name] = toJsonValue(value, `attribute "${name}" of ${owner}`);
  return converted;
}

/** Attributes must survive a JSON round trip; typed arrays become plain arrays, bigints numbers. */
function toJsonValue(value: unknown, what: string): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? Number(v) : v));
  }
  if (typeof value === "bigint") return Number(value);
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    throw new ValidationError(`${what}: value of type ${typeof value} cannot be stored as a JSON attribute`);
  }
  try {
    return JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new ValidationError(`${what}: value is not JSON-serialisable (${(error as Error).message})`);
  }
}
