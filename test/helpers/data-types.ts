/**
 * The data types whose in-memory typed array holds one entry per element exactly as stored: what
 * suites with a one-typed-array-entry-per-element reference model iterate over. float16 (held as
 * float32), complex ([re, im] pairs), string and bytes (JS arrays of strings / Uint8Arrays) have their own suites: test/format/dtypes-extended.test.ts
 * and test/core/dtypes-extended.test.ts.
 */
import { DATA_TYPES, type DataType } from "../../src/format/index.js";

const EXTENDED: readonly DataType[] = ["float16", "complex64", "complex128", "string", "bytes"];

export const PLAIN_DATA_TYPES: readonly DataType[] = DATA_TYPES.filter((dt) => !EXTENDED.includes(dt));
