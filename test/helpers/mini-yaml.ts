/**
 * A strict parser for the small YAML subset our config files use (docker-compose.yml): block
 * mappings, block sequences of scalars, flow sequences of scalars, quoted and plain scalars, and
 * comments. Anything else (anchors, block scalars, flow mappings, tabs) is an error, so the files
 * stay inside what this checks. Plain scalars follow YAML 1.1 as PyYAML reads them (ints, booleans
 * including yes/no/on/off, null), so the two parsers can be compared.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  number: number;
  indent: number;
  text: string;
}

export class YamlSubsetError extends Error {}

export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split("\n").forEach((raw, i) => {
    if (/^\s*\t|^\t/.test(raw)) throw new YamlSubsetError(`line ${i + 1}: tab in indentation`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === "") return;
    lines.push({ number: i + 1, indent: text.length - text.trimStart().length, text: text.trim() });
  });
  if (lines.length === 0) return null;
  const [value, next] = parseBlock(lines, 0, lines[0].indent);
  if (next !== lines.length) throw new YamlSubsetError(`line ${lines[next].number}: unexpected indentation`);
  return value;
}

function parseBlock(lines: Line[], start: number, indent: number): [YamlValue, number] {
  return lines[start].text.startsWith("- ") || lines[start].text === "-" ? parseSequence(lines, start, indent) : parseMapping(lines, start, indent);
}

function parseSequence(lines: Line[], start: number, indent: number): [YamlValue[], number] {
  const out: YamlValue[] = [];
  let i = start;
  while (i < lines.length && lines[i].indent === indent && lines[i].text.startsWith("-")) {
    const item = lines[i].text.slice(1).trim();
    if (item === "" || /^[^"'[]*:(\s|$)/.test(item)) throw new YamlSubsetError(`line ${lines[i].number}: only scalar sequence items are supported`);
    out.push(parseScalar(item, lines[i].number));
    i++;
  }
  return [out, i];
}

function parseMapping(lines: Line[], start: number, indent: number): [{ [key: string]: YamlValue }, number] {
  const out: { [key: string]: YamlValue } = {};
  let i = start;
  while (i < lines.length && lines[i].indent === indent) {
    const { number, text } = lines[i];
    const match = /^([A-Za-z0-9_.-]+|"[^"]*"):(?:\s+(.*))?$/.exec(text);
    if (!match) throw new YamlSubsetError(`line ${number}: expected "key: value", got ${JSON.stringify(text)}`);
    const key = match[1].startsWith('"') ? (JSON.parse(match[1]) as string) : match[1];
    if (Object.hasOwn(out, key)) throw new YamlSubsetError(`line ${number}: duplicate key ${JSON.stringify(key)}`);
    i++;
    if (match[2] !== undefined && match[2] !== "") {
      out[key] = parseScalar(match[2], number);
    } else if (i < lines.length && lines[i].indent > indent) {
      [out[key], i] = parseBlock(lines, i, lines[i].indent);
    } else if (i < lines.length && lines[i].indent === indent && lines[i].text.startsWith("- ")) {
      [out[key], i] = parseSequence(lines, i, indent); // "key:" followed by a sequence at the same indentation
    } else {
      out[key] = null;
    }
  }
  if (i < lines.length && lines[i].indent > indent) throw new YamlSubsetError(`line ${lines[i].number}: unexpected indentation`);
  return [out, i];
}

function parseScalar(text: string, line: number): YamlValue {
  if (text.startsWith("[")) {
    if (!text.endsWith("]")) throw new YamlSubsetError(`line ${line}: unterminated flow sequence`);
    const inner = text.slice(1, -1).trim();
    return inner === "" ? [] : splitFlow(inner, line).map((item) => parseScalar(item.trim(), line));
  }
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      throw new YamlSubsetError(`line ${line}: bad double-quoted string ${text}`);
    }
  }
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) throw new YamlSubsetError(`line ${line}: bad single-quoted string ${text}`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[&*!|>{%@`]/.test(text)) throw new YamlSubsetError(`line ${line}: unsupported YAML syntax ${JSON.stringify(text)}`);
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(text)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(text)) return false;
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new YamlSubsetError(`line ${line}: quote float-looking value ${text}`);
  if (/:\s|\s#/.test(text)) throw new YamlSubsetError(`line ${line}: plain scalar ${JSON.stringify(text)} needs quotes`);
  return text;
}

/** Split "a, "b, c", d" at top-level commas. */
function splitFlow(text: string, line: number): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\" && quote === '"') {
        current += c + text[++i];
        continue;
      }
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "[" || c === "{") {
      throw new YamlSubsetError(`line ${line}: nested flow collections are not supported`);
    } else if (c === ",") {
      parts.push(current);
      current = "";
      continue;
    }
    current += c;
  }
  if (quote) throw new YamlSubsetError(`line ${line}: unterminated quote`);
  parts.push(current);
  return parts;
}

/** The line without a trailing comment (a "#" at the start or after whitespace, outside quotes). */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}
