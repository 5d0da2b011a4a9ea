/**
 * float16 datasets in an exported file. h5wasm 0.10 cannot create a float16 type: its C side
 * builds float types from H5T_NATIVE_FLOAT or H5T_NATIVE_DOUBLE only ("Float size not
 * supported"), and the WebAssembly build exports no H5Tcopy / H5Dcreate to do it ourselves. So
 * the export creates each float16 dataset with a 2-byte placeholder type, a compound of one
 * uint16 member, and writes the binary16 bits into it; once the file is closed, the placeholder's
 * Datatype message (0x0003) in the dataset's object header is rewritten in place as
 * H5T_IEEE_F16LE, byte for byte what h5py writes for numpy's float16, and the bytes left over
 * become a NIL message (0x0000). Nothing else in the file depends on the type beyond its size (2
 * bytes in both): the chunk index, the filters (shuffle's element size) and the data stay valid.
 * A version 2 header block gets its lookup3 checksum recomputed, after its old one was checked.
 * (HDF5 File Format Specification IV.A.1 and IV.A.2.d.)
 */
import { open } from "node:fs/promises";
import { DosnaError } from "../errors.js";
import { blockChecksumMatches, dataView, readObjectHeader, readSuperblock, sealBlock, writeBlock, type HeaderMessage } from "./object-header.js";

const DATATYPE = 0x0003;
const COMPOUND = 6;
const MEMBER = "dosna float16 placeholder";

/** The h5wasm dtype a float16 dataset is created with, until `retypeFloat16Datasets`. */
export const FLOAT16_PLACEHOLDER: Array<[string, string]> = [[MEMBER, "<H"]];
export const FLOAT16_PLACEHOLDER_MEMBER = MEMBER;

/** H5T_IEEE_F16LE as a version 1 Datatype message body: little endian, sign at bit 15, 5 exponent bits at 10 (bias 15), 10 mantissa bits. */
export const IEEE_F16LE = Uint8Array.from([0x11, 0x20, 0x0f, 0x00, 2, 0, 0, 0, 0, 0, 16, 0, 10, 5, 0, 10, 15, 0, 0, 0]);

/** Rewrite the placeholder type of each dataset (by its object header address) as float16. */
export async function retypeFloat16Datasets(file: string, datasets: ReadonlyArray<{ path: string; address: bigint }>): Promise<void> {
  if (datasets.length === 0) return;
  const handle = await open(file, "r+");
  try {
    const superblock = await readSuperblock(handle);
    if (superblock === undefined) throw new DosnaError(`cannot write float16 datasets into "${file}": it has no HDF5 superblock`);
    for (const { path, address } of datasets) {
      const header = await readObjectHeader(handle, superblock, address);
      const types = header?.messages.filter((m) => m.type === DATATYPE) ?? [];
      if (header === undefined || types.length !== 1) {
        throw new DosnaError(`cannot make ${path} float16: its object header at ${address} has ${header === undefined ? "no known version" : `${types.length} datatype messages`}`);
      }
      rewriteAsFloat16(types[0], header.version, path);
      await writeBlock(handle, types[0].block);
    }
  } finally {
    await handle.close();
  }
}

/** Turn a placeholder Datatype message into H5T_IEEE_F16LE and a NIL message, in its block's bytes. */
export function rewriteAsFloat16(message: HeaderMessage, version: 1 | 2, path: string): void {
  const { block, body, start, headerBytes } = message;
  if (!isPlaceholder(body)) throw new DosnaError(`cannot make ${path} float16: its datatype is not dosna's 2-byte placeholder`);
  if (!blockChecksumMatches(block)) throw new DosnaError(`cannot make ${path} float16: the checksum of its object header block does not match`);
  // version 1 messages are padded to 8 bytes
  const typeBytes = version === 1 ? 24 : IEEE_F16LE.length;
  const rest = body.length - typeBytes - headerBytes;
  if (rest < 0) throw new DosnaError(`cannot make ${path} float16: its placeholder datatype message of ${body.length} bytes has no room for ${typeBytes + headerBytes}`);
  const bytes = block.bytes;
  const view = dataView(bytes);
  const bodyAt = start + headerBytes;
  const nilAt = bodyAt + typeBytes;
  bytes.fill(0, bodyAt, bodyAt + body.length);
  bytes.set(IEEE_F16LE, bodyAt);
  if (version === 1) {
    view.setUint16(start + 2, typeBytes, true);
    view.setUint16(nilAt + 2, rest, true); // type 0 (NIL), flags 0
  } else {
    view.setUint16(start + 1, typeBytes, true);
    view.setUint16(nilAt + 1, rest, true);
  }
  sealBlock(block);
}

/** A compound (any version) of size 2 with one member named MEMBER. */
function isPlaceholder(body: Uint8Array): boolean {
  if (body.length < 8 || (body[0] & 0x0f) !== COMPOUND || (body[1] | (body[2] << 8)) !== 1 || dataView(body).getUint32(4, true) !== 2) return false;
  const name = new TextEncoder().encode(`${MEMBER}\0`);
  for (let at = 8; at + name.length <= body.length; at++) {
    if (name.every((b, i) => body[at + i] === b)) return true;
  }
  return false;
}
