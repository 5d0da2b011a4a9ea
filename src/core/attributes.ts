/**
 * JSON attributes of a group or dataset, kept in its zarr.json. Reads come from the metadata
 * loaded at open; every change rewrites that zarr.json.
 */
import { ValidationError } from "../errors.js";

export interface AttributeOwner {
  readonly describe: string;
  readAttributes(): Record<string, unknown>;
  writeAttributes(attributes: Record<string, unknown>): Promise<void>;
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
    const next = { ...this.owner.readAttributes() };
    for (const [name, value] of Object.entries(values)) next[name] = toJsonValue(value, `attribute "${name}" of ${this.owner.describe}`);
    await this.owner.writeAttributes(next);
  }

  async delete(name: string): Promise<void> {
    const next = { ...this.owner.readAttributes() };
    delete next[name];
    await this.owner.writeAttributes(next);
  }
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
