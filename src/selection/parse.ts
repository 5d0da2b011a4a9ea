import { SelectionError } from "../errors.js";
import type { Slice, SelectionItem } from "./types.js";

/**
 * Parse numpy index syntax (what goes between the brackets of `a[...]`):
 * `"1:5, ::-2, ..., 3"`, `"-1"`, `":"`, `""` (everything), `"[0, 4, 2]"` (index array),
 * `"[true, false, true]"` (mask; Python's True/False also accepted), `None` as an omitted slice
 * bound (`"None:5"`). Whitespace is ignored between tokens; one trailing comma is allowed.
 */
export function parseSelection(text: string): SelectionItem[] {
  return new SelectionParser(text).parseAll();
}

class SelectionParser {
  private pos = 0;
  /** Whether the last parseBound consumed a literal `None` (numpy.newaxis when it stands alone). */
  private lastBoundWasNone = false;

  constructor(private readonly text: string) {}

  parseAll(): SelectionItem[] {
    const items: SelectionItem[] = [];
    this.skipSpace();
    if (this.atEnd()) return items;
    for (;;) {
      items.push(this.parseItem());
      this.skipSpace();
      if (this.atEnd()) return items;
      this.expect(",", `"," or the end of the selection`);
      this.skipSpace();
      if (this.atEnd()) return items; // trailing comma, as in a[1,]
    }
  }

  private parseItem(): SelectionItem {
    if (this.text.startsWith("...", this.pos)) {
      this.pos += 3;
      return "...";
    }
    if (this.peek() === "[") return this.parseIndexList();
    const at = this.pos;
    const start = this.parseBound();
    this.skipSpace();
    if (this.peek() !== ":") {
      if (this.lastBoundWasNone) this.fail(`None (numpy.newaxis) is not supported as an index; ":" selects a whole axis`, at);
      if (start === null) this.fail(`expected an integer, a slice, "..." or "["`);
      return start;
    }
    this.pos++;
    this.skipSpace();
    const stop = this.parseBound();
    this.skipSpace();
    let step: number | null = null;
    if (this.peek() === ":") {
      this.pos++;
      this.skipSpace();
      step = this.parseBound();
    }
    return { kind: "slice", start, stop, step } satisfies Slice;
  }

  /** An optional integer or `None`; returns null when neither is there. */
  private parseBound(): number | null {
    this.lastBoundWasNone = false;
    if (this.text.startsWith("None", this.pos) && !isWordChar(this.text[this.pos + 4])) {
      this.pos += 4;
      this.lastBoundWasNone = true;
      return null;
    }
    const c = this.peek();
    if (c === "-" || c === "+" || isDigit(c)) return this.parseInteger();
    return null;
  }

  private parseInteger(): number {
    const begin = this.pos;
    let sign = 1;
    const c = this.peek();
    if (c === "-" || c === "+") {
      if (c === "-") sign = -1;
      this.pos++;
      this.skipSpace();
    }
    const digitsStart = this.pos;
    while (isDigit(this.peek())) this.pos++;
    if (this.pos === digitsStart) this.fail("expected digits");
    if (isWordChar(this.peek())) this.fail("expected an integer");
    const value = sign * Number(this.text.slice(digitsStart, this.pos));
    if (!Number.isSafeInteger(value)) this.fail(`integer ${this.text.slice(begin, this.pos)} is too large`, begin);
    return value === 0 ? 0 : value; // no -0
  }

  private parseIndexList(): number[] | boolean[] {
    this.pos++; // "["
    const ints: number[] = [];
    const bools: boolean[] = [];
    this.skipSpace();
    while (this.peek() !== "]") {
      const b = this.parseBoolean();
      if (b !== null) {
        if (ints.length > 0) this.fail("cannot mix booleans and integers in one index array", this.pos - (b ? 4 : 5));
        bools.push(b);
      } else {
        const c = this.peek();
        if (!(c === "-" || c === "+" || isDigit(c))) this.fail(`expected an integer, true, false or "]"`);
        const at = this.pos;
        const n = this.parseInteger();
        if (bools.length > 0) this.fail("cannot mix booleans and integers in one index array", at);
        ints.push(n);
      }
      this.skipSpace();
      if (this.peek() === ",") {
        this.pos++;
        this.skipSpace();
      } else if (this.peek() !== "]") {
        this.fail(`expected "," or "]"`);
      }
    }
    this.pos++; // "]"
    return bools.length > 0 ? bools : ints;
  }

  private parseBoolean(): boolean | null {
    for (const [word, value] of BOOLEAN_WORDS) {
      if (this.text.startsWith(word, this.pos) && !isWordChar(this.text[this.pos + word.length])) {
        this.pos += word.length;
        return value;
      }
    }
    return null;
  }

  private expect(token: string, what: string): void {
    if (!this.text.startsWith(token, this.pos)) this.fail(`expected ${what}`);
    this.pos += token.length;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Throw naming the text and position; a problem phrased "expected ..." also says what was found. */
  private fail(problem: string, at = this.pos): never {
    const found = !problem.startsWith("expected")
      ? ""
      : at < this.text.length
        ? `, found ${JSON.stringify(this.text[at])}`
        : ", found the end of the text";
    throw new SelectionError(`invalid selection ${JSON.stringify(this.text)} at position ${at}: ${problem}${found}`);
  }
}

const BOOLEAN_WORDS: ReadonlyArray<[string, boolean]> = [
  ["true", true],
  ["True", true],
  ["false", false],
  ["False", false],
];

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_.]/.test(c);
}
