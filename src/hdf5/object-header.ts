/**
 * The few pieces of the HDF5 file format dosna reads and writes itself, where h5wasm 0.10 has no
 * call (HDF5 File Format Specification, sections II–IV): the superblock (base address, sizes of
 * offsets and lengths) and an object header's messages, version 1 or version 2 ("OHDR", continued
 * in "OCHK" blocks), with where each message lies so that it can be rewritten in place, and the
 * Jenkins lookup3 checksum that closes every version 2 block. Plain positioned reads and writes.
 */
import type { FileHandle } from "node:fs/promises";

const SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
export const CONTINUATION = 0x0010;
export const MESSAGE_SHARED = 0x02;
/** A header's blocks are bounded; a corrupt length must not make us read gigabytes. */
const MAX_BLOCK_BYTES = 1 << 24;
const MAX_BLOCKS = 64;

export interface Superblock {
  base: bigint;
  offsetSize: number;
  lengthSize: number;
}

/** One block of an object header, as read from the file. */
export interface HeaderBlock {
  /** File position of `bytes[0]`. */
  at: bigint;
  bytes: Uint8Array;
  /** Version 2 blocks end in a lookup3 checksum of everything before it, from the signature on. */
  checksummed: boolean;
}

export interface HeaderMessage {
  type: number;
  flags: number;
  block: HeaderBlock;
  /** Where the message's own header starts in `block.bytes`, and how long that header is. */
  start: number;
  headerBytes: number;
  body: Uint8Array;
}

export interface ObjectHeader {
  version: 1 | 2;
  messages: HeaderMessage[];
}

/** The superblock, which is at 0 or, after a user block, at 512, 1024, 2048, ...; undefined when there is none. */
export async function readSuperblock(handle: FileHandle): Promise<Superblock | undefined> {
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

/** The messages of the object header at `address` (relative to the base address), or undefined when it is neither version. */
export async function readObjectHeader(handle: FileHandle, superblock: Superblock, address: bigint): Promise<ObjectHeader | undefined> {
  const position = superblock.base + address;
  const head = await readAt(handle, position, 16);
  if (isOhdr(head)) return { version: 2, messages: await version2Messages(handle, superblock, position) };
  if (head[0] === 1) return { version: 1, messages: await version1Messages(handle, superblock, position, head) };
  return undefined;
}

async function version1Messages(handle: FileHandle, superblock: Superblock, position: bigint, head: Uint8Array): Promise<HeaderMessage[]> {
  const size = dataView(head).getUint32(8, true);
  const pending: Array<{ at: bigint; length: number }> = [{ at: position + 16n, length: size }];
  const messages: HeaderMessage[] = [];
  for (let i = 0; i < pending.length && i < MAX_BLOCKS; i++) {
    const block: HeaderBlock = { at: pending[i].at, bytes: await readAt(handle, pending[i].at, checkedLength(pending[i].length)), checksummed: false };
    const v = dataView(block.bytes);
    for (let p = 0; p + 8 <= block.bytes.length; ) {
      const type = v.getUint16(p, true);
      const length = v.getUint16(p + 2, true);
      const body = block.bytes.subarray(p + 8, p + 8 + length);
      messages.push({ type, flags: block.bytes[p + 4], block, start: p, headerBytes: 8, body });
      if (type === CONTINUATION) pending.push(continuation(superblock, body));
      p += 8 + length;
    }
  }
  return messages;
}

async function version2Messages(handle: FileHandle, superblock: Superblock, position: bigint): Promise<HeaderMessage[]> {
  const prefix = await readAt(handle, position, 40);
  const flags = prefix[5];
  let p = 6;
  if (flags & 0x20) p += 16; // access, modification, change and birth times
  if (flags & 0x10) p += 4; // attribute storage phase change values
  const sizeBytes = 1 << (flags & 0x03);
  const chunkSize = Number(readUnsigned(prefix, p, sizeBytes));
  p += sizeBytes;
  const headerBytes = 4 + ((flags & 0x04) !== 0 ? 2 : 0);
  // each block is read whole, signature to checksum; messages lie between `first` and `end`
  const pending: Array<{ at: bigint; length: number; first: number }> = [{ at: position, length: p + chunkSize + 4, first: p }];
  const messages: HeaderMessage[] = [];
  for (let i = 0; i < pending.length && i < MAX_BLOCKS; i++) {
    const block: HeaderBlock = { at: pending[i].at, bytes: await readAt(handle, pending[i].at, checkedLength(pending[i].length)), checksummed: true };
    const v = dataView(block.bytes);
    const end = block.bytes.length - 4;
    for (let q = pending[i].first; q + headerBytes <= end; ) {
      const type = block.bytes[q];
      const length = v.getUint16(q + 1, true);
      const body = block.bytes.subarray(q + headerBytes, q + headerBytes + length);
      messages.push({ type, flags: block.bytes[q + 3], block, start: q, headerBytes, body });
      // a continuation block is "OCHK", messages, checksum
      if (type === CONTINUATION) pending.push({ ...continuation(superblock, body), first: 4 });
      q += headerBytes + length;
    }
  }
  return messages;
}

function continuation(superblock: Superblock, body: Uint8Array): { at: bigint; length: number } {
  const { offsetSize, lengthSize, base } = superblock;
  return { at: base + readUnsigned(body, 0, offsetSize), length: Number(readUnsigned(body, offsetSize, lengthSize)) };
}

/** Whether a version 2 block's stored checksum is the lookup3 of its bytes (version 1 blocks have none). */
export function blockChecksumMatches(block: HeaderBlock): boolean {
  if (!block.checksummed) return true;
  const end = block.bytes.length - 4;
  return dataView(block.bytes).getUint32(end, true) === lookup3(block.bytes.subarray(0, end));
}

/** Store a version 2 block's checksum after its bytes were changed. */
export function sealBlock(block: HeaderBlock): void {
  if (!block.checksummed) return;
  const end = block.bytes.length - 4;
  dataView(block.bytes).setUint32(end, lookup3(block.bytes.subarray(0, end)), true);
}

export async function writeBlock(handle: FileHandle, block: HeaderBlock): Promise<void> {
  const { bytesWritten } = await handle.write(block.bytes, 0, block.bytes.length, Number(block.at));
  if (bytesWritten !== block.bytes.length) throw new RangeError(`wrote ${bytesWritten} of the ${block.bytes.length} bytes of an object header block`);
}

/**
 * Bob Jenkins' lookup3 `hashlittle` with initial value 0, byte by byte: HDF5's H5_checksum_lookup3,
 * which closes every version 2 object header block.
 */
export function lookup3(key: Uint8Array, initial = 0): number {
  let a = (0xdeadbeef + key.length + initial) | 0;
  let b = a;
  let c = a;
  let k = 0;
  let length = key.length;
  const word = (at: number, count: number) => {
    let w = 0;
    for (let i = 0; i < count; i++) w |= key[at + i] << (8 * i);
    return w;
  };
  while (length > 12) {
    a = (a + word(k, 4)) | 0;
    b = (b + word(k + 4, 4)) | 0;
    c = (c + word(k + 8, 4)) | 0;
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  a = (a + word(k, Math.min(4, length))) | 0;
  if (length > 4) b = (b + word(k + 4, Math.min(4, length - 4))) | 0;
  if (length > 8) c = (c + word(k + 8, length - 8)) | 0;
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function isOhdr(bytes: Uint8Array): boolean {
  return bytes[0] === 0x4f && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x52;
}

function checkedLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_BLOCK_BYTES) throw new RangeError(`object header block of ${length} bytes`);
  return length;
}

export async function readAt(handle: FileHandle, position: bigint, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  const { bytesRead } = await handle.read(buffer, 0, length, Number(position));
  return buffer.subarray(0, bytesRead);
}

export function readUnsigned(bytes: Uint8Array, at: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i] ?? 0);
  return value;
}

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
