/**
 * The .npy header (numpy's NEP 1 format, versions 1.0, 2.0 and 3.0) as pure functions: the
 * preamble (magic, version, header length), the header dict, and the mapping between numpy's
 * `descr` strings and dosna data types. No I/O.
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32 LE in 2.0/3.0), then a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with spaces and
 * a newline so the data starts at a multiple of 64 bytes. 3.0 only changes the header to UTF-8.
 */
import { DtypeError, ValidationError } from "../errors.js";
import { bytesPerElement, dataTypeOfNumpyTypestr, type DataType, isVariableLengthType, numpyTypestrOf } from "../format/index.js";
import { formatPythonLiteral, parsePythonLiteral, PythonLiteralError, type PyValue } from "./python-literal.js";

export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
/** Bytes needed to read the magic, version and header length of any version. */
export const NPY_PREAMBLE_BYTES = 12;
const ALIGNMENT = 64;

export interface NpyHeader {
  version: [number, number];
  /** numpy's descr string as stored, e.g. "<f4", ">i8", "|b1". */
  descr: string;
  dtype: DataType;
  /** Byte order of the stored elements (true for one-byte types). */
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Where the element bytes begin. */
  dataOffset: number;
  /** Bytes of element data the shape implies. */
  dataBytes: number;
}

export interface NpyPreamble {
  version: [number, number];
  /** Length of the header dict text. */
  headerLength: number;
  dataOffset: number;
}

const SUPPORTED = "bool, int8–int64, uint8–uint64, float16, float32, float64, complex64 and complex128";

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function invalid(what: string, problem: string): ValidationError {
  return new ValidationError(`${what} is not a valid .npy file: ${problem}`);
}

/** Magic, version and header length from the first bytes (at least NPY_PREAMBLE_BYTES, or the whole file if shorter). */
export function parseNpyPreamble(bytes: Uint8Array, what: string): NpyPreamble {
  if (bytes.length < 8 || !NPY_MAGIC.every((b, i) => bytes[i] === b)) {
    const start = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw invalid(what, bytes.length < 6 ? `it is only ${bytes.length} bytes long` : `bad magic (expected 93 4e 55 4d 50 59 "\\x93NUMPY", found ${start})`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw invalid(what, `unsupported format version ${major}.${minor} (dosna reads 1.0, 2.0 and 3.0)`);
  }
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw invalid(what, `truncated inside the header length (file is ${bytes.length} bytes long)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  return { version: [major, 0], headerLength, dataOffset: 8 + lengthBytes + headerLength };
}

/**
 * The full header from the file's first bytes (at least `dataOffset` of them when the file is
 * that long). `fileSize`, when known, is checked against what the shape needs.
 */
export function parseNpyHeader(bytes: Uint8Array, what: string, fileSize?: number): NpyHeader {
  const preamble = parseNpyPreamble(bytes, what);
  const { version, headerLength, dataOffset } = preamble;
  const available = fileSize ?? bytes.length;
  if (bytes.length < dataOffset || available < dataOffset) {
    throw invalid(what, `truncated inside the header (header needs ${dataOffset} bytes, file has ${Math.min(available, bytes.length)})`);
  }
  const raw = bytes.subarray(dataOffset - headerLength, dataOffset);
  const text = version[0] === 3 ? new TextDecoder("utf-8", { fatal: false }).decode(raw) : latin1(raw);
  let literal: PyValue;
  try {
    literal = parsePythonLiteral(text);
  } catch (error) {
    if (error instanceof PythonLiteralError) throw invalid(what, `the header is not a Python dict literal (${error.message})`);
    throw error;
  }
  const fields = headerFields(literal, what);
  const { dtype, littleEndian } = dtypeOfDescr(fields.descr, what);
  const shape = fields.shape;
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * bytesPerElement(dtype);
  if (!Number.isSafeInteger(dataBytes)) throw invalid(what, `shape (${shape.join(", ")}) is too large`);
  if (fileSize !== undefined) {
    const found = fileSize - dataOffset;
    if (found < dataBytes) {
      throw invalid(what, `truncated: shape (${shape.join(", ")}) of ${fields.descr} needs ${dataBytes} data bytes, the file has ${found}`);
    }
    if (found > dataBytes) {
      throw invalid(what, `${found - dataBytes} unexpected bytes after the ${dataBytes} data bytes of shape (${shape.join(", ")}) ${fields.descr}`);
    }
  }
  return { version, descr: fields.descr, dtype, littleEndian, fortranOrder: fields.fortranOrder, shape, dataOffset, dataBytes };
}

function headerFields(literal: PyValue, what: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  if (literal === null || typeof literal !== "object" || literal.kind !== "dict") {
    throw invalid(what, `the header is ${formatPythonLiteral(literal)}, not a dict`);
  }
  const fields = new Map<string, PyValue>();
  for (const [key, value] of literal.entries) {
    if (typeof key !== "string") throw invalid(what, `header key ${formatPythonLiteral(key)} is not a string`);
    fields.set(key, value);
  }
  const keys = [...fields.keys()].sort();
  if (keys.join(",") !== "descr,fortran_order,shape") {
    throw invalid(what, `header keys are [${keys.map((k) => `'${k}'`).join(", ")}], expected exactly 'descr', 'fortran_order' and 'shape'`);
  }
  const descr = fields.get("descr")!;
  if (typeof descr !== "string") {
    const shown = formatPythonLiteral(descr);
    throw new DtypeError(`${what}: structured dtype ${shown.length > 80 ? shown.slice(0, 77) + "..." : shown} is not supported; dosna stores ${SUPPORTED} arrays`);
  }
  const fortran = fields.get("fortran_order");
  if (typeof fortran !== "boolean") throw invalid(what, `'fortran_order' is ${formatPythonLiteral(fortran!)}, expected True or False`);
  const shapeValue = fields.get("shape")!;
  if (shapeValue === null || typeof shapeValue !== "object" || shapeValue.kind !== "tuple") {
    throw invalid(what, `'shape' is ${formatPythonLiteral(shapeValue)}, expected a tuple of non-negative integers`);
  }
  const shape = shapeValue.items.map((item) => {
    if (typeof item !== "bigint" || item < 0n || item > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalid(what, `'shape' is ${formatPythonLiteral(shapeValue)}, expected a tuple of non-negative integers`);
    }
    return Number(item);
  });
  return { descr, fortranOrder: fortran, shape };
}

/** The dosna data type and byte order of a numpy descr string; DtypeError for anything dosna cannot store. */
export function dtypeOfDescr(descr: string, what: string): { dtype: DataType; littleEndian: boolean } {
  const match = /^([<>=|]?)([a-zA-Z?])(\d*)(.*)$/.exec(descr);
  const order = match?.[1] ?? "";
  const kindSize = match ? `${match[2]}${match[3]}` : descr;
  const dtype = match && match[4] === "" ? dataTypeOfNumpyTypestr(kindSize) : undefined;
  if (dtype === undefined) {
    throw new DtypeError(`${what}: dtype '${descr}'${describeUnsupported(match?.[2], match?.[3])} is not supported; dosna stores ${SUPPORTED} arrays`);
  }
  const littleEndian = order === ">" ? bytesPerElement(dtype) === 1 : order === "=" ? HOST_IS_LITTLE_ENDIAN : true;
  return { dtype, littleEndian };
}

function describeUnsupported(kind: string | undefined, size: string | undefined): string {
  const names: Record<string, string> = {
    O: "object",
    U: "unicode string",
    S: "byte string",
    a: "byte string",
    V: "void/structured",
    c: "complex",
    M: "datetime",
    m: "timedelta",
  };
  if (kind === "f" && size && !["2", "4", "8"].includes(size)) return ` (float${Number(size) * 8})`;
  if (kind === "c" && size && !["8", "16"].includes(size)) return ` (complex${Number(size) * 8})`;
  if (kind && names[kind]) return ` (${names[kind]})`;
  return "";
}

/** numpy's descr for a dosna data type, little endian ("|" for one-byte types): "<f2", "<c8", "|b1". */
export function descrOf(dtype: DataType): string {
  if (isVariableLengthType(dtype)) {
    throw new DtypeError(`.npy files of data type ${dtype} are not supported yet (its elements have no fixed size); dosna writes .npy for ${SUPPORTED}`);
  }
  return `${bytesPerElement(dtype) === 1 ? "|" : "<"}${numpyTypestrOf(dtype)}`;
}

/**
 * The preamble and header of a little-endian .npy file of `dtype` and `shape`: version 1.0 when
 * the header fits in 65535 bytes, 2.0 otherwise; padded so the data starts at a multiple of 64.
 */
export function encodeNpyHeader(options: { dtype: DataType; shape: readonly number[]; fortranOrder?: boolean }): Uint8Array {
  const shape = options.shape;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descrOf(options.dtype)}', 'fortran_order': ${options.fortranOrder ? "True" : "False"}, 'shape': ${shapeText}, }`;
  for (const [major, lengthBytes] of [[1, 2], [2, 4]] as const) {
    const unpadded = 8 + lengthBytes + dict.length + 1;
    const total = Math.ceil(unpadded / ALIGNMENT) * ALIGNMENT;
    const headerLength = total - 8 - lengthBytes;
    if (major === 1 && headerLength > 0xffff) continue;
    const out = new Uint8Array(total);
    out.set(NPY_MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, headerLength, true);
    else view.setUint32(8, headerLength, true);
    const text = dict.padEnd(headerLength - 1, " ") + "\n";
    for (let i = 0; i < text.length; i++) out[8 + lengthBytes + i] = text.charCodeAt(i);
    return out;
  }
  throw new ValidationError(`shape [${shape.join(", ")}] makes a .npy header too long`);
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}
