/**
 * The .npy format without numpy: files built here by hand, element by element with DataView, in
 * every dtype (float16 from known bit patterns, complex as two parts), order, byte order and
 * header version, against decodeNpy; encodeNpy against a
 * hand-written parser; the header's bad-input cases; and the slab planner.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DtypeError, ValidationError, decodeNpy, encodeNpy, type DataType } from "../../src/index.js";
import { encodeNpyHeader, parseNpyHeader } from "../../src/npy/header.js";
import { parsePythonLiteral, PythonLiteralError } from "../../src/npy/python-literal.js";
import { slabRanges } from "../../src/npy/transfer.js";

const DTYPES: Array<{ dtype: DataType; kind: string; size: number }> = [
  { dtype: "bool", kind: "b", size: 1 },
  { dtype: "int8", kind: "i", size: 1 },
  { dtype: "int16", kind: "i", size: 2 },
  { dtype: "int32", kind: "i", size: 4 },
  { dtype: "int64", kind: "i", size: 8 },
  { dtype: "uint8", kind: "u", size: 1 },
  { dtype: "uint16", kind: "u", size: 2 },
  { dtype: "uint32", kind: "u", size: 4 },
  { dtype: "uint64", kind: "u", size: 8 },
  { dtype: "float32", kind: "f", size: 4 },
  { dtype: "float64", kind: "f", size: 8 },
  { dtype: "float16", kind: "f", size: 2 },
  { dtype: "complex64", kind: "c", size: 8 },
  { dtype: "complex128", kind: "c", size: 16 },
];

/** float16 bit patterns and their exact values: ±0, ±Infinity, NaN, subnormals, the largest, ordinary numbers. */
const HALVES: Array<[number, number]> = [
  [0x3c00, 1], [0xc000, -2], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0x0001, 2 ** -24],
  [0x83ff, -1023 * 2 ** -24], [0x8000, -0], [0x7bff, 65504], [0x3555, 0.333251953125], [0x0400, 2 ** -14], [0x0000, 0],
];

type Element = number | bigint | [number, number];

/** A value for element `i` of a dtype, reproducible, covering negative numbers and 64-bit extremes. */
function valueFor(dtype: DataType, i: number): Element {
  switch (dtype) {
    case "bool":
      return i % 3 === 0 ? 1 : 0;
    case "int8":
      return ((i * 37) % 256) - 128;
    case "uint8":
      return (i * 37) % 256;
    case "int16":
      return ((i * 7919) % 65536) - 32768;
    case "uint16":
      return (i * 7919) % 65536;
    case "int32":
      return ((i * 2654435761) % 4294967296) - 2147483648;
    case "uint32":
      return (i * 2654435761) % 4294967296;
    case "int64":
      return BigInt.asIntN(64, BigInt(i) * 0x9e3779b97f4a7c15n);
    case "uint64":
      return BigInt.asUintN(64, BigInt(i) * 0x9e3779b97f4a7c15n);
    case "float32":
      return Math.fround(i === 1 ? NaN : i === 2 ? -Infinity : (i - 3.25) * 1.5e3);
    case "float64":
      return i === 1 ? NaN : i === 2 ? Infinity : (i - 3.25) / 7;
    case "float16":
      return HALVES[(i * 5) % HALVES.length][1];
    case "complex64":
      return [Math.fround(i === 1 ? NaN : (i - 3.25) * 1.5e3), Math.fround(i === 2 ? -Infinity : -i / 3)];
    case "complex128":
      return [i === 2 ? Infinity : (i - 3.25) / 7, i === 1 ? NaN : i === 3 ? -0 : i * 1e300];
    default:
      throw new Error(`no values for ${dtype} in .npy tests`);
  }
}

function writeElement(view: DataView, offset: number, dtype: DataType, value: Element, little: boolean): void {
  switch (dtype) {
    case "float16":
      return view.setUint16(offset, HALVES.find(([, v]) => Object.is(v, value))![0], little);
    case "complex64":
      view.setFloat32(offset, (value as [number, number])[0], little);
      return view.setFloat32(offset + 4, (value as [number, number])[1], little);
    case "complex128":
      view.setFloat64(offset, (value as [number, number])[0], little);
      return view.setFloat64(offset + 8, (value as [number, number])[1], little);
    case "bool":
    case "uint8":
      return view.setUint8(offset, Number(value));
    case "int8":
      return view.setInt8(offset, Number(value));
    case "int16":
      return view.setInt16(offset, Number(value), little);
    case "uint16":
      return view.setUint16(offset, Number(value), little);
    case "int32":
      return view.setInt32(offset, Number(value), little);
    case "uint32":
      return view.setUint32(offset, Number(value), little);
    case "int64":
      return view.setBigInt64(offset, value as bigint, little);
    case "uint64":
      return view.setBigUint64(offset, value as bigint, little);
    case "float32":
      return view.setFloat32(offset, Number(value), little);
    case "float64":
      return view.setFloat64(offset, Number(value), little);
  }
}

/** A .npy file built independently of src/npy: the logical element at C-order index k is valueFor(dtype, k). */
function handMadeNpy(options: { dtype: DataType; shape: number[]; fortran: boolean; little: boolean; version: 1 | 2 | 3; style: number }): Uint8Array {
  const info = DTYPES.find((d) => d.dtype === options.dtype)!;
  const order = info.size === 1 ? "|" : options.little ? "<" : ">";
  const shapeText = options.shape.length === 1 ? `(${options.shape[0]},)` : `(${options.shape.join(",")})`;
  const fortranText = options.fortran ? "True" : "False";
  // Key order, quoting and spacing vary: numpy's reader accepts any dict literal.
  const dicts = [
    `{'descr': '${order}${info.kind}${info.size}', 'fortran_order': ${fortranText}, 'shape': ${shapeText}, }`,
    `{"shape": ${shapeText}, "fortran_order": ${fortranText}, "descr": "${order}${info.kind}${info.size}"}`,
    `{ 'fortran_order' : ${fortranText} ,'descr':'${order}${info.kind}${info.size}','shape':${shapeText.replace(/,/g, " , ")}}`,
  ];
  const header = `${dicts[options.style % dicts.length]}   \n`;
  const lengthBytes = options.version === 1 ? 2 : 4;
  const count = options.shape.reduce((a, b) => a * b, 1);
  const dataOffset = 8 + lengthBytes + header.length;
  const out = new Uint8Array(dataOffset + count * info.size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, options.version, 0]);
  const view = new DataView(out.buffer);
  if (options.version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[8 + lengthBytes + i] = header.charCodeAt(i);
  // Element with C-order index k sits at file position k (C) or at its column-major rank (F).
  for (let k = 0; k < count; k++) {
    const index = unravel(k, options.shape);
    let position = 0;
    if (options.fortran) for (let a = options.shape.length - 1; a >= 0; a--) position = position * options.shape[a] + index[a];
    else position = k;
    writeElement(view, dataOffset + position * info.size, options.dtype, valueFor(options.dtype, k), options.little);
  }
  return out;
}

function unravel(k: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let a = shape.length - 1; a >= 0; a--) {
    index[a] = k % shape[a];
    k = Math.floor(k / shape[a]);
  }
  return index;
}

function same(a: Element, b: Element): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return same(a[0], b[0]) && same(a[1], b[1]);
  return Object.is(a, b) || a === b;
}

describe("decodeNpy reads hand-made files of every dtype, order, byte order and version", () => {
  it("matches the element values at every index (property over shapes and variants)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DTYPES.map((d) => d.dtype)),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(1 as const, 2 as const, 3 as const),
        fc.nat(5),
        (dtype, shape, fortran, little, version, style) => {
          const decoded = decodeNpy(handMadeNpy({ dtype, shape, fortran, little, version, style }));
          expect(decoded.dtype).toBe(dtype);
          expect(decoded.shape).toEqual(shape);
          expect(decoded.fortranOrder).toBe(fortran);
          const count = shape.reduce((a, b) => a * b, 1);
          for (let k = 0; k < count; k++) {
            const array = decoded.array as unknown as { get(...i: number[]): number | bigint };
            const index = unravel(k, shape);
            const got: Element = dtype.startsWith("complex") ? [array.get(...index, 0) as number, array.get(...index, 1) as number] : array.get(...index);
            const want = valueFor(dtype, k);
            if (!same(got, want)) throw new Error(`element ${k} of ${dtype} ${shape}: got ${got}, want ${want}`);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** A second reader of encodeNpy's output, sharing no code with src/npy. */
function parseByHand(bytes: Uint8Array): { descr: string; fortran: string; shape: string; dataOffset: number } {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const length = bytes[8] | (bytes[9] << 8);
  const text = String.fromCharCode(...bytes.subarray(10, 10 + length));
  expect((10 + length) % 64).toBe(0);
  expect(text.endsWith("\n")).toBe(true);
  const m = /^\{'descr': '([^']+)', 'fortran_order': (True|False), 'shape': \(([^)]*)\), \} *\n$/.exec(text);
  expect(m, text).not.toBeNull();
  return { descr: m![1], fortran: m![2], shape: m![3], dataOffset: 10 + length };
}

describe("encodeNpy", () => {
  it("writes numpy's header layout and little-endian C-order data (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...DTYPES), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }), ({ dtype, kind, size }, shape) => {
        const count = shape.reduce((a, b) => a * b, 1);
        const file = handMadeNpy({ dtype, shape, fortran: true, little: false, version: 2, style: 1 });
        const encoded = encodeNpy(decodeNpy(file));
        const parsed = parseByHand(encoded);
        expect(parsed.descr).toBe(`${size === 1 ? "|" : "<"}${kind}${size}`);
        expect(parsed.fortran).toBe("False");
        expect(parsed.shape).toBe(shape.length === 1 ? `${shape[0]},` : shape.join(", "));
        expect(encoded.length).toBe(parsed.dataOffset + count * size);
        const expected = handMadeNpy({ dtype, shape, fortran: false, little: true, version: 1, style: 0 });
        const expectedData = expected.subarray(expected.length - count * size);
        expect(Buffer.compare(encoded.subarray(parsed.dataOffset), expectedData)).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it("stores a Uint8Array as bool when asked, normalising non-zero bytes to 1", () => {
    const decoded = decodeNpy(encodeNpy(Uint8Array.from([0, 2, 1, 255]), { dtype: "bool", shape: [2, 2] }));
    expect(decoded.dtype).toBe("bool");
    expect(Array.from(decoded.array.data as Uint8Array)).toEqual([0, 1, 1, 1]);
  });

  it("stores [re, im] parts as complex and float32 values as float16 when asked", () => {
    const complex = decodeNpy(encodeNpy(new Float64Array([1, -2, NaN, Infinity, -0, 5e-324]), { dtype: "complex128", shape: [3] }));
    expect(complex.dtype).toBe("complex128");
    expect(complex.shape).toEqual([3]);
    expect(complex.array.shape).toEqual([3, 2]);
    expect(Array.from(complex.array.data as Float64Array)).toEqual([1, -2, NaN, Infinity, -0, 5e-324]);
    const parsed = parseByHand(encodeNpy(complex));
    expect([parsed.descr, parsed.shape]).toEqual(["<c16", "3,"]);
    // float32 values round to float16 as numpy's astype does: ties to even, overflow to Infinity
    const half = decodeNpy(encodeNpy(new Float32Array([0.1, 65520, 2049, 2 ** -25, -1e-8]), { dtype: "float16" }));
    expect(half.dtype).toBe("float16");
    expect(Array.from(half.array.data as Float32Array)).toEqual([0.0999755859375, Infinity, 2048, 0, -0]);
    expect(parseByHand(encodeNpy(half)).descr).toBe("<f2");
    expect(() => encodeNpy(new Float32Array(3), { dtype: "complex64" })).toThrow(/length 3 cannot have shape \[1\] of complex64 elements/);
    expect(() => encodeNpy({ data: new Float32Array(6), shape: [2, 3], stride: [3, 1], offset: 0 }, { dtype: "complex64" })).toThrow(/last axis of length 2/);
    expect(() => encodeNpy(new Float64Array(4), { dtype: "complex64" })).toThrow(/cannot write float64 data \(Float64Array\) as dtype complex64/);
    expect(() => encodeNpy(new Float64Array(4), { dtype: "float16" })).toThrow(/cannot write float64 data/);
  });

  it("refuses string and bytes data types (no fixed-size elements) before writing anything", () => {
    expect(() => encodeNpyHeader({ dtype: "string", shape: [2] })).toThrow(DtypeError);
    expect(() => encodeNpyHeader({ dtype: "string", shape: [2] })).toThrow(/\.npy files of data type string are not supported yet \(its elements have no fixed size\)/);
    expect(() => encodeNpyHeader({ dtype: "bytes", shape: [2] })).toThrow(/\.npy files of data type bytes are not supported yet/);
  });

  it("refuses to reinterpret data as another dtype", () => {
    expect(() => encodeNpy(new Float32Array(3), { dtype: "int32" })).toThrow(DtypeError);
    expect(() => encodeNpy(new Float32Array(3), { shape: [2, 2] })).toThrow(/length 3 cannot have shape \[2, 2\]/);
  });

  it("switches to a version 2.0 header when the header would not fit in 65535 bytes", () => {
    const shape = new Array<number>(30000).fill(1);
    const bytes = encodeNpyHeader({ dtype: "float64", shape });
    expect(bytes[6]).toBe(2);
    expect(bytes.length % 64).toBe(0);
    const parsed = parseNpyHeader(Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]), "x", bytes.length + 8);
    expect(parsed.version).toEqual([2, 0]);
    expect(parsed.shape).toEqual(shape);
    expect(parsed.dataOffset).toBe(bytes.length);
  });
});

describe("bad .npy input", () => {
  const good = handMadeNpy({ dtype: "int16", shape: [3, 4], fortran: false, little: true, version: 1, style: 0 });
  const header = (text: string) => {
    const out = new Uint8Array(10 + text.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
    for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
    return out;
  };
  const cases: Array<[string, Uint8Array, new (...args: never[]) => Error, RegExp]> = [
    ["empty file", new Uint8Array(0), ValidationError, /only 0 bytes long/],
    ["bad magic", Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]), ValidationError, /bad magic .*found 50 4b 03 04 00 00/],
    ["unknown version", Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0]), ValidationError, /unsupported format version 4\.0/],
    ["truncated header", good.subarray(0, 30), ValidationError, /truncated inside the header/],
    ["truncated data", good.subarray(0, good.length - 1), ValidationError, /truncated: shape \(3, 4\) of <i2 needs 24 data bytes, the file has 23/],
    ["trailing bytes", Uint8Array.from([...good, 0]), ValidationError, /1 unexpected bytes after the 24 data bytes/],
    ["not a dict", header("[1, 2]\n"), ValidationError, /the header is \[1, 2\], not a dict/],
    ["not a literal", header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': os.system('rm')}\n"), ValidationError, /not a Python dict literal/],
    ["missing key", header("{'descr': '<f8', 'shape': (2,)}\n"), ValidationError, /header keys are \['descr', 'shape'\]/],
    ["bad shape", header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -1)}\n"), ValidationError, /'shape' is \(2, -1\)/],
    ["bad fortran_order", header("{'descr': '<f8', 'fortran_order': 1, 'shape': (2,)}\n"), ValidationError, /'fortran_order' is 1/],
    ["object dtype", header("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /dtype '\|O' \(object\) is not supported/],
    ["unicode dtype", header("{'descr': '<U5', 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /'<U5' \(unicode string\)/],
    ["float128", header("{'descr': '<f16', 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /'<f16' \(float128\) is not supported; dosna stores .*float16, float32, float64, complex64 and complex128 arrays/],
    ["complex256", header("{'descr': '<c32', 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /'<c32' \(complex256\)/],
    ["bytes", header("{'descr': '|S4', 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /'\|S4' \(byte string\)/],
    ["datetime", header("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /'<M8\[ns\]' \(datetime\)/],
    ["structured", header("{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, 'shape': (2,)}\n"), DtypeError, /structured dtype \[\('a', '<i4'\), \('b', '<f8'\)\] is not supported/],
  ];
  it.each(cases)("%s: a one-line error naming the file", (_name, bytes, cls, pattern) => {
    let error: unknown;
    try {
      decodeNpy(bytes, '"data/x.npy"');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(cls);
    const message = (error as Error).message;
    expect(message).toMatch(pattern);
    expect(message.startsWith('"data/x.npy"')).toBe(true);
    expect(message).not.toContain("\n");
  });

  it("accepts Python 2 long integers and either quote style in the header", () => {
    const parsed = parseNpyHeader(header(`{"descr": "<f8", "fortran_order": False, "shape": (2L, 3L), }\n`), "x", undefined);
    expect(parsed.shape).toEqual([2, 3]);
  });
});

describe("parsePythonLiteral", () => {
  it("parses nested literals", () => {
    expect(parsePythonLiteral(`{'a': (1,), "b": [True, None, -3], 'c': ('x' , 'y\\'z')}`)).toEqual({
      kind: "dict",
      entries: [
        ["a", { kind: "tuple", items: [1n] }],
        ["b", { kind: "list", items: [true, null, -3n] }],
        ["c", { kind: "tuple", items: ["x", "y'z"] }],
      ],
    });
    expect(parsePythonLiteral("(7)")).toBe(7n);
    expect(parsePythonLiteral("()")).toEqual({ kind: "tuple", items: [] });
  });
  it.each(["{'a': 1", "{'a' 1}", "(1, 2.5)", "'open", "foo", "{'a': 1} x", "(1,,)"])("rejects %s", (text) => {
    expect(() => parsePythonLiteral(text)).toThrow(PythonLiteralError);
  });
});

describe("slabRanges", () => {
  it("tiles the rows, cuts at chunk boundaries once the target is reached, and never exceeds 4× the target (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 500 }), (n, chunk, rowBytes, target) => {
        const slabs = slabRanges(n, (r) => Math.floor(r / chunk), rowBytes, target);
        let next = 0;
        for (const [start, end] of slabs) {
          expect(start).toBe(next);
          expect(end).toBeGreaterThan(start);
          const bytes = (end - start) * rowBytes;
          if (end - start > 1) expect(bytes - rowBytes).toBeLessThan(4 * target);
          if (end < n) {
            // Cut early only at a chunk boundary after reaching the target, or at the 4× cap.
            const atBoundary = end % chunk === 0 && bytes >= target;
            expect(atBoundary || bytes >= 4 * target).toBe(true);
          }
          next = end;
        }
        expect(next).toBe(n);
      }),
      { numRuns: 500 },
    );
  });

  it("makes slabs of whole chunk rows when chunk rows are below the target", () => {
    expect(slabRanges(10, (r) => Math.floor(r / 3), 10, 25)).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 10],
    ]);
  });
});
