/**
 * A dataset's HDF5 fill value, read from its object header in the file. h5wasm 0.10 exposes no
 * H5Pget_fill_value, but it gives an object's header address (an H5R_OBJECT reference is that
 * address), and the fill value message is a few bytes in a documented place: the superblock gives
 * the base address and the size of offsets and lengths; the header (version 1, or version 2
 * "OHDR") lists its messages, continued in further blocks; message 0x0005 (versions 1–3) or the
 * old 0x0004 holds the value in the dataset's element type (HDF5 File Format Specification IV.A).
 * Only a few kilobytes are read, through ordinary positioned reads.
 */
import { open, type FileHandle } from "node:fs/promises";

const SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const FILL_VALUE = 0x0005;
const FILL_VALUE_OLD = 0x0004;
const CONTINUATION = 0x0010;
const MESSAGE_SHARED = 0x02;
/** A header's blocks are bounded; a corrupt length must not make us read gigabytes. */
const MAX_BLOCK_BYTES = 1 << 24;

interface Superblock {
  base: bigint;
  offsetSize: number;
  lengthSize: number;
}

/** Reads fill values of several datasets of one file, parsing its superblock once. */
export class FillValueReader {
  private constructor(
    private readonly handle: FileHandle,
    private readonly superblock: Superblock | undefined,
  ) {}

  static async open(path: string): Promise<FillValueReader> {
    const handle = await open(path, "r");
    try {
      return new FillValueReader(handle, await readSuperblock(handle));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * The raw bytes of the fill value the dataset whose object header is at `address` defines, or
   * undefined when it defines none (HDF5's default, zero) or the header cannot be understood.
   */
  async fillValueBytes(address: bigint): Promise<Uint8Array | undefined> {
    if (this.superblock === undefined) return undefined;
    try {
      const found = await this.findFillMessage(this.superblock.base + address);
      return found === undefined ? undefined : decodeFillMessage(found.type, found.body);
    } catch {
      return undefined;
    }
  }

  /** Whether the file has an HDF5 superblock. */
  get isHdf5(): boolean {
    return this.superblock !== undefined;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async findFillMessage(position: bigint): Promise<{ type: number; body: Uint8Array } | undefined> {
    const head = await readAt(this.handle, position, 16);
    const messages = isOhdr(head) ? await this.version2Messages(position) : head[0] === 1 ? await this.version1Messages(position, head) : [];
    const current = messages.find((m) => m.type === FILL_VALUE && (m.flags & MESSAGE_SHARED) === 0);
    const old = messages.find((m) => m.type === FILL_VALUE_OLD && (m.flags & MESSAGE_SHARED) === 0);
    return current ?? old;
  }

  private async version1Messages(position: bigint, head: Uint8Array): Promise<RawMessage[]> {
    const view = dataView(head);
    const size = view.getUint32(8, true);
    const blocks: Array<{ at: bigint; length: number }> = [{ at: position + 16n, length: size }];
    const messages: RawMessage[] = [];
    for (let i = 0; i < blocks.length && i < 64; i++) {
      const bytes = await readAt(this.handle, blocks[i].at, checkedLength(blocks[i].length));
      const v = dataView(bytes);
      for (let p = 0; p + 8 <= bytes.length; ) {
        const type = v.getUint16(p, true);
        const length = v.getUint16(p + 2, true);
        const flags = bytes[p + 4];
        const body = bytes.subarray(p + 8, p + 8 + length);
        messages.push({ type, flags, body });
        if (type === CONTINUATION) blocks.push(this.continuation(body));
        p += 8 + length;
      }
    }
    return messages;
  }

  private async version2Messages(position: bigint): Promise<RawMessage[]> {
    const prefix = await readAt(this.handle, position, 40);
    const flags = prefix[5];
    let p = 6;
    if (flags & 0x20) p += 16; // access, modification, change and birth times
    if (flags & 0x10) p += 4; // attribute storage phase change values
    const sizeBytes = 1 << (flags & 0x03);
    const chunkSize = Number(readUnsigned(prefix, p, sizeBytes));
    p += sizeBytes;
    const creationOrder = (flags & 0x04) !== 0;
    const blocks: Array<{ at: bigint; length: number }> = [{ at: position + BigInt(p), length: chunkSize }];
    const messages: RawMessage[] = [];
    for (let i = 0; i < blocks.length && i < 64; i++) {
      const bytes = await readAt(this.handle, blocks[i].at, checkedLength(blocks[i].length));
      const v = dataView(bytes);
      const headerBytes = 4 + (creationOrder ? 2 : 0);
      for (let q = 0; q + headerBytes <= bytes.length; ) {
        const type = bytes[q];
        const length = v.getUint16(q + 1, true);
        const messageFlags = bytes[q + 3];
        const body = bytes.subarray(q + headerBytes, q + headerBytes + length);
        messages.push({ type, flags: messageFlags, body });
        if (type === CONTINUATION) {
          // a continuation block is "OCHK", messages, checksum
          const next = this.continuation(body);
          blocks.push({ at: next.at + 4n, length: next.length - 8 });
        }
        q += headerBytes + length;
      }
    }
    return messages;
  }

  private continuation(body: Uint8Array): { at: bigint; length: number } {
    const { offsetSize, lengthSize, base } = this.superblock!;
    return { at: base + readUnsigned(body, 0, offsetSize), length: Number(readUnsigned(body, offsetSize, lengthSize)) };
  }
}

interface RawMessage {
  type: number;
  flags: number;
  body: Uint8Array;
}

/** The value bytes of a fill value message, or undefined when it defines no value. */
export function decodeFillMessage(type: number, body: Uint8Array): Uint8Array | undefined {
  const view = dataView(body);
  if (type === FILL_VALUE_OLD) {
    const size = view.getUint32(0, true);
    return size > 0 ? body.slice(4, 4 + size) : undefined;
  }
  const version = body[0];
  if (version === 1 || version === 2) {
    if (body[3] === 0) return undefined;
    const size = view.getUint32(4, true);
    return size > 0 ? body.slice(8, 8 + size) : undefined;
  }
  if (version === 3) {
    const flags = body[1];
    if ((flags & 0x20) === 0) return undefined;
    const size = view.getUint32(2, true);
    return size > 0 ? body.slice(6, 6 + size) : undefined;
  }
  return undefined;
}

async function readSuperblock(handle: FileHandle): Promise<Superblock | undefined> {
  // the superblock is at 0 or, after a user block, at 512, 1024, 2048, ...
  const { size } = await handle.stat();
  for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
    const bytes = await readAt(handle, BigInt(at), 64);
    if (!SIGNATURE.every((b, i) => bytes[i] === b)) continue;
    const version = bytes[8];
    if (version === 0 || version === 1) {
      const offsetSize = bytes[13];
      const lengthSize = bytes[14];
      return { base: readUnsigned(bytes, version === 0 ? 24 : 28, offsetSize), offsetSize, lengthSize };
    }
    const offsetSize = bytes[9];
    const lengthSize = bytes[10];
    return { base: readUnsigned(bytes, 12, offsetSize), offsetSize, lengthSize };
  }
  return undefined;
}

function isOhdr(bytes: Uint8Array): boolean {
  return bytes[0] === 0x4f && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x52;
}

function checkedLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_BLOCK_BYTES) throw new RangeError(`object header block of ${length} bytes`);
  return length;
}

async function readAt(handle: FileHandle, position: bigint, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  const { bytesRead } = await handle.read(buffer, 0, length, Number(position));
  return buffer.subarray(0, bytesRead);
}

function readUnsigned(bytes: Uint8Array, at: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i] ?? 0);
  return value;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The object header address an H5R_OBJECT reference holds (little endian haddr_t). */
export function addressOfReference(ref: Uint8Array): bigint {
  return readUnsigned(ref, 0, ref.length);
}
