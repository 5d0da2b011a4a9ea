/**
 * The subset of Python literal syntax a .npy header dict uses: dicts, tuples, lists, strings,
 * integers (Python 2's `3L` too), True, False and None. numpy reads the header with
 * `ast.literal_eval`; this is the same grammar minus what cannot occur in a header.
 */

export type PyValue =
  | string
  | bigint
  | boolean
  | null
  | { kind: "tuple"; items: PyValue[] }
  | { kind: "list"; items: PyValue[] }
  | { kind: "dict"; entries: Array<[PyValue, PyValue]> };

/** Thrown with a message saying what was expected where; callers prefix the file name. */
export class PythonLiteralError extends Error {}

export function parsePythonLiteral(text: string): PyValue {
  const parser = new Parser(text);
  const value = parser.value();
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail("unexpected text after the literal");
  return value;
}

/** Python's repr of a literal: what a header would contain for it (used for error messages). */
export function formatPythonLiteral(value: PyValue): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (value.kind === "dict") return `{${value.entries.map(([k, v]) => `${formatPythonLiteral(k)}: ${formatPythonLiteral(v)}`).join(", ")}}`;
  const inner = value.items.map(formatPythonLiteral).join(", ");
  if (value.kind === "list") return `[${inner}]`;
  return value.items.length === 1 ? `(${inner},)` : `(${inner})`;
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  fail(message: string): never {
    const near = this.text.slice(this.pos, this.pos + 20);
    throw new PythonLiteralError(`${message} at character ${this.pos}${near ? ` (near ${JSON.stringify(near)})` : ""}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  value(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) this.fail("unexpected end of the header");
    if (c === "{") return this.dict();
    if (c === "(") return this.sequence("(", ")", "tuple");
    if (c === "[") return this.sequence("[", "]", "list");
    if (c === "'" || c === '"') return this.string();
    if (/[-+0-9]/.test(c)) return this.integer();
    if (/[A-Za-z_]/.test(c)) return this.name();
    return this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== char) this.fail(`expected ${JSON.stringify(char)}`);
    this.pos++;
  }

  /** After an item: true when the closing bracket follows (a trailing comma is allowed). */
  private endOfItem(close: string): boolean {
    this.skipSpace();
    if (this.text[this.pos] === ",") {
      this.pos++;
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return true;
      }
      return false;
    }
    if (this.text[this.pos] === close) {
      this.pos++;
      return true;
    }
    return this.fail(`expected "," or ${JSON.stringify(close)}`);
  }

  private dict(): PyValue {
    this.expect("{");
    const entries: Array<[PyValue, PyValue]> = [];
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return { kind: "dict", entries };
    }
    for (;;) {
      const key = this.value();
      this.expect(":");
      entries.push([key, this.value()]);
      if (this.endOfItem("}")) return { kind: "dict", entries };
    }
  }

  private sequence(open: string, close: string, kind: "tuple" | "list"): PyValue {
    this.expect(open);
    const items: PyValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === close) {
      this.pos++;
      return { kind, items };
    }
    let sawComma = false;
    for (;;) {
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ",") sawComma = true;
      if (this.endOfItem(close)) break;
    }
    // "(3)" is just 3 in Python: a parenthesised expression, not a tuple.
    if (kind === "tuple" && items.length === 1 && !sawComma) return items[0];
    return { kind, items };
  }

  private string(): string {
    const quote = this.text[this.pos++];
    let out = "";
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined || c === "\n") this.fail("unterminated string");
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0" };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === "x" || e === "u") {
        const digits = this.text.slice(this.pos, this.pos + (e === "x" ? 2 : 4));
        if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== (e === "x" ? 2 : 4)) this.fail("invalid escape in string");
        out += String.fromCharCode(parseInt(digits, 16));
        this.pos += digits.length;
      } else this.fail("invalid escape in string");
    }
  }

  private integer(): bigint {
    const match = /^[-+]?\d+[lL]?/.exec(this.text.slice(this.pos));
    if (!match) return this.fail("expected an integer");
    this.pos += match[0].length;
    if (/^[.eEjJ]/.test(this.text[this.pos] ?? "")) this.fail("expected an integer, not a float or complex number");
    return BigInt(match[0].replace(/[lL]$/, "").replace(/^\+/, ""));
  }

  private name(): boolean | null {
    const match = /^[A-Za-z_][A-Za-z_0-9]*/.exec(this.text.slice(this.pos));
    const word = match ? match[0] : "";
    this.pos += word.length;
    if (word === "True") return true;
    if (word === "False") return false;
    if (word === "None") return null;
    this.pos -= word.length;
    return this.fail(`unexpected name ${JSON.stringify(word)}`);
  }
}
