/**
 * JSON text with exact 64-bit integers. JSON.stringify cannot write a bigint and JSON.parse rounds
 * integers beyond 2^53, so zarr.json fill values of int64/uint64 arrays need these two helpers.
 */

/**
 * Pretty JSON (2-space indent) with JSON.stringify's value rules (toJSON, undefined members dropped,
 * non-finite numbers as null), except that bigints are written as integer literals.
 */
export function stringifyJson(value: unknown): string {
  const text = write(value, "", "");
  return text ?? "null";
}

function write(value: unknown, key: string, indent: string): string | undefined {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON: (k: string) => unknown }).toJSON(key);
  }
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    // Lists of plain values (shapes, chunk shapes) stay on one line.
    if (value.every((item) => item === null || (typeof item !== "object" && typeof item !== "function"))) {
      return `[${value.map((item) => write(item, "", "") ?? "null").join(", ")}]`;
    }
    const items = value.map((item, i) => `${inner}${write(item, String(i), inner) ?? "null"}`);
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  const members: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const text = write(v, k, inner);
    if (text !== undefined) members.push(`${inner}${JSON.stringify(k)}: ${text}`);
  }
  if (members.length === 0) return "{}";
  return `{\n${members.join(",\n")}\n${indent}}`;
}

/**
 * The source text of member `name` of the top-level object in `text` (which must be valid JSON,
 * already checked by JSON.parse), or undefined when the object has no such member.
 */
export function rawTopLevelMember(text: string, name: string): string | undefined {
  let depth = 0;
  let i = 0;
  let lastString: string | undefined;
  let found: string | undefined; // the last occurrence wins, as in JSON.parse
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = endOfString(text, i);
      lastString = text.slice(i, end);
      i = end;
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === ":" && depth === 1 && lastString !== undefined && JSON.parse(lastString) === name) {
      found = text.slice(i + 1, endOfValue(text, i + 1)).trim();
    }
    if (c !== " " && c !== "\n" && c !== "\r" && c !== "\t") lastString = undefined;
    i++;
  }
  return found;
}

/** Index just past the closing quote of the string starting at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i + 1;
}

/** Index of the "," or "}" that ends the value starting at `start` (a member value at depth 1). */
function endOfValue(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) return i;
      depth--;
    } else if (c === "," && depth === 0) return i;
    i++;
  }
  return i;
}
