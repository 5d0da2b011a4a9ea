/**
 * A dataset's HDF5 fill value, read from its object header in the file. h5wasm 0.10 exposes no
 * H5Pget_fill_value, but it gives an object's header address (an H5R_OBJECT reference is that
 * address), and the fill value message is a few bytes in a documented place: the superblock gives
 * the base address and the size of offsets and lengths; the header (version 1, or version 2
 * "OHDR") lists its messages, continued in further blocks; message 0x0005 (versions 1–3) or the
 * old 0x0004 holds the value in the dataset's element type (HDF5 File Format Specification IV.A).
 * Only a few kilobytes are read (object-header.ts).
 */
import { open, type FileHandle } from "node:fs/promises";
import { MESSAGE_SHARED, readObjectHeader, readSuperblock, readUnsigned, dataView, type Superblock } from "./object-header.js";

const FILL_VALUE = 0x0005;
const FILL_VALUE_OLD = 0x0004;

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
      const header = await readObjectHeader(this.handle, this.superblock, address);
      const unshared = (type: number) => header?.messages.find((m) => m.type === type && (m.flags & MESSAGE_SHARED) === 0);
      const found = unshared(FILL_VALUE) ?? unshared(FILL_VALUE_OLD);
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

/** The object header address an H5R_OBJECT reference holds (little endian haddr_t). */
export function addressOfReference(ref: Uint8Array): bigint {
  return readUnsigned(ref, 0, ref.length);
}
