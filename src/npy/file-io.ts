/**
 * Streaming .npy files on node:fs: NpyReader reads any range of elements of an existing file,
 * NpyWriter appends elements in order to a new one. Neither holds more than the caller asks for,
 * so arrays larger than memory pass through slab by slab.
 */
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AlreadyExistsError, StorageError, ValidationError } from "../errors.js";
import { bytesPerElement, type DataType, elementLanes, type TypedArray } from "../format/index.js";
import { elementsFromBytes, littleEndianBytes } from "./elements.js";
import { encodeNpyHeader, NPY_PREAMBLE_BYTES, parseNpyHeader, parseNpyPreamble, type NpyHeader } from "./header.js";

const USER_ERROR_CODES = new Set(["ENOENT", "EISDIR", "ENOTDIR", "EACCES", "EPERM", "EEXIST", "ENAMETOOLONG"]);

/** A local file problem: the user's (exit 1) for a missing/unreadable path, the system's (StorageError) otherwise. */
export function fileError(action: string, path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const reason = code === "ENOENT" ? "no such file or directory" : code === "EISDIR" ? "it is a directory" : code || (error as Error).message;
  const message = `cannot ${action} "${path}": ${reason}`;
  if (code === "EEXIST") return new AlreadyExistsError(message, { cause: error });
  return USER_ERROR_CODES.has(code) ? new ValidationError(message, { cause: error }) : new StorageError(message, { cause: error });
}

async function readFully(handle: FileHandle, buffer: Uint8Array, position: number, path: string): Promise<number> {
  let done = 0;
  while (done < buffer.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done));
    } catch (error) {
      throw fileError("read", path, error);
    }
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

export class NpyReader {
  private constructor(
    readonly path: string,
    readonly header: NpyHeader,
    private readonly handle: FileHandle,
  ) {}

  /** Open `path` and validate its header and length against the shape (nothing else is read). */
  static async open(path: string): Promise<NpyReader> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      throw fileError("read", path, error);
    }
    try {
      const what = `"${path}"`;
      const stats = await handle.stat();
      if (!stats.isFile()) throw new ValidationError(`cannot read "${path}": it is not a regular file`);
      const size = stats.size;
      const start = new Uint8Array(Math.min(NPY_PREAMBLE_BYTES, size));
      await readFully(handle, start, 0, path);
      const { dataOffset } = parseNpyPreamble(start, what);
      const head = new Uint8Array(Math.min(dataOffset, size));
      await readFully(handle, head, 0, path);
      return new NpyReader(path, parseNpyHeader(head, what, size), handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get dtype(): DataType {
    return this.header.dtype;
  }
  get shape(): number[] {
    return [...this.header.shape];
  }
  get fortranOrder(): boolean {
    return this.header.fortranOrder;
  }
  get size(): number {
    return this.header.shape.reduce((a, b) => a * b, 1);
  }

  /** `count` elements from element `start`, in file order (C or Fortran), as dosna's in-memory typed array (complex: 2 entries each). */
  async readElements(start: number, count: number): Promise<TypedArray> {
    const itemSize = bytesPerElement(this.header.dtype);
    if (start < 0 || count < 0 || start + count > this.size) {
      throw new ValidationError(`elements ${start}..${start + count} are outside "${this.path}" (${this.size} elements)`);
    }
    const bytes = new Uint8Array(count * itemSize);
    const got = await readFully(this.handle, bytes, this.header.dataOffset + start * itemSize, this.path);
    if (got < bytes.length) throw new ValidationError(`"${this.path}" is not a valid .npy file: truncated (it shrank while being read)`);
    return elementsFromBytes(bytes, this.header.dtype, this.header.littleEndian, true);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Writes a C-order little-endian .npy file element by element. The data goes to a temporary file
 * next to `path`, renamed into place by `close` once every element is written, so an interrupted
 * export never leaves a truncated .npy behind.
 */
export class NpyWriter {
  private written = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly temporary: string,
    private readonly handle: FileHandle,
    readonly dtype: DataType,
    readonly shape: number[],
    private position: number,
  ) {}

  static async create(path: string, options: { dtype: DataType; shape: readonly number[]; overwrite?: boolean }): Promise<NpyWriter> {
    if (!options.overwrite) {
      const existing = await open(path, "r").catch(() => undefined);
      if (existing) {
        await existing.close();
        throw new AlreadyExistsError(`"${path}" already exists; pass overwrite to replace it`);
      }
    }
    const header = encodeNpyHeader({ dtype: options.dtype, shape: options.shape });
    const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    let handle: FileHandle;
    try {
      handle = await open(temporary, "w");
    } catch (error) {
      throw fileError("write", path, error);
    }
    const writer = new NpyWriter(path, temporary, handle, options.dtype, [...options.shape], 0);
    await writer.writeBytes(header);
    return writer;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /**
   * Append the next elements (C order), in dosna's in-memory typed array of the writer's dtype
   * (complex: interleaved [re, im] parts, two entries per element).
   */
  async append(elements: TypedArray): Promise<void> {
    const count = elements.length / elementLanes(this.dtype);
    if (this.written + count > this.size) {
      throw new ValidationError(`too many elements written to "${this.path}": shape [${this.shape.join(", ")}] holds ${this.size}`);
    }
    await this.writeBytes(littleEndianBytes(elements, this.dtype));
    this.written += count;
  }

  /** Finish: checks that every element was written and moves the file into place. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.written !== this.size) {
      await this.abort();
      throw new ValidationError(`"${this.path}" was closed after ${this.written} of ${this.size} elements; nothing was written`);
    }
    this.closed = true;
    try {
      await this.handle.close();
      await rename(this.temporary, this.path);
    } catch (error) {
      await rm(this.temporary, { force: true });
      throw fileError("write", this.path, error);
    }
  }

  /** Give up: remove the temporary file. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
    await rm(this.temporary, { force: true });
  }

  private async writeBytes(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      try {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.position + done);
        done += bytesWritten;
      } catch (error) {
        await this.abort();
        throw fileError("write", this.path, error);
      }
    }
    this.position += bytes.length;
  }
}
