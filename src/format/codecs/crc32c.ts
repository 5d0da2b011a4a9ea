/**
 * The `crc32c` bytes→bytes codec: appends the CRC-32C (Castagnoli) of the bytes as 4 bytes, little
 * endian, and checks it on decode. Computed slicing-by-8 in plain JavaScript (~1 GB/s), which is
 * fast enough next to compression that a native package is not worth its install.
 */
import { type BytesToBytesCodec, CodecConfigurationError, registerCodec } from "./registry.js";

const POLYNOMIAL = 0x82f63b78; // reflected Castagnoli polynomial

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes, for slicing-by-8. */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    tables[0][b] = crc >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    for (let k = 1; k < 8; k++) tables[k][b] = (tables[k - 1][b] >>> 8) ^ tables[0][tables[k - 1][b] & 0xff];
  }
  return tables;
})();

/** The CRC-32C of `bytes` (as an unsigned 32-bit number). */
export function crc32c(bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let crc = 0xffffffff;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  for (; i < end8; i += 8) {
    const lo = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    crc =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) crc = (crc >>> 8) ^ t0[(crc ^ bytes[i]) & 0xff];
  return (crc ^ 0xffffffff) >>> 0;
}

function createCrc32cCodec(configuration: Record<string, unknown> | undefined): BytesToBytesCodec {
  if (configuration !== undefined && Object.keys(configuration).length > 0) {
    throw new CodecConfigurationError(`takes no configuration, got ${JSON.stringify(configuration)}`);
  }
  return {
    kind: "bytes_to_bytes",
    async encode(bytes: Uint8Array): Promise<Uint8Array> {
      const out = new Uint8Array(bytes.length + 4);
      out.set(bytes);
      new DataView(out.buffer).setUint32(bytes.length, crc32c(bytes), true);
      return out;
    },
    async decode(bytes: Uint8Array): Promise<Uint8Array> {
      if (bytes.length < 4) throw new Error(`${bytes.length} bytes is too short to hold a 4-byte crc32c checksum`);
      const payload = bytes.subarray(0, bytes.length - 4);
      const stored = new DataView(bytes.buffer, bytes.byteOffset + payload.length, 4).getUint32(0, true);
      const actual = crc32c(payload);
      if (stored !== actual) {
        throw new Error(`crc32c checksum mismatch: stored 0x${hex(stored)}, computed 0x${hex(actual)} (the chunk was altered or truncated)`);
      }
      return payload;
    },
  };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

registerCodec({ name: "crc32c", kind: "bytes_to_bytes", create: createCrc32cCodec });
