/**
 * The float16 export's retyping (float16-datatype.ts over object-header.ts): the lookup3
 * checksum against Bob Jenkins' published values and against every checksum HDF5 wrote in a
 * libver-latest file; the placeholder's Datatype message rewritten in version 2 headers (h5wasm's
 * default) and version 1 headers (libver earliest), read back by h5py as float16 with every
 * value; and a type that is not the placeholder refused, the file left as it was.
 */
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { float16BitsToFloat32 } from "../../src/format/index.js";
import { addressOfReference } from "../../src/hdf5/fill-value.js";
import { FLOAT16_PLACEHOLDER, FLOAT16_PLACEHOLDER_MEMBER, retypeFloat16Datasets } from "../../src/hdf5/float16-datatype.js";
import { useH5wasm } from "../../src/hdf5/h5wasm-loader.js";
import { blockChecksumMatches, lookup3, readObjectHeader, readSuperblock } from "../../src/hdf5/object-header.js";
import { dumpedValues, dumpHdf5, writeTestFiles } from "./oracle.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dosna-hdf5-float16-"));
  await writeTestFiles(dir);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every float16 class: zeros, normals, the largest, subnormals, infinities and a NaN. */
const BITS = [0x0000, 0x8000, 0x3c00, 0xc100, 0x2e66, 0x7bff, 0xfbff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00];

describe("lookup3", () => {
  it("gives Bob Jenkins' published hashlittle values", () => {
    const text = new TextEncoder().encode("Four score and seven years ago");
    expect(lookup3(new Uint8Array(0))).toBe(0xdeadbeef);
    expect(lookup3(text)).toBe(0x17770551);
    expect(lookup3(text, 1)).toBe(0xcd628161);
  });

  it("matches the checksum of every object header block of a libver-latest file h5py wrote", async () => {
    const file = join(dir, "scan-latest.h5");
    const { h5, release } = await useH5wasm();
    const h5file = new h5.File(file, "r");
    const addresses: bigint[] = [];
    try {
      // every group and dataset but those of /unsupported (whose dangling soft link cannot be opened)
      const visit = (group: InstanceType<typeof h5.Group>): void => {
        addresses.push(addressOfReference(group.create_reference().ref_data));
        for (const name of group.keys()) {
          const node = group.get(name);
          if (node instanceof h5.Dataset) addresses.push(addressOfReference(node.create_reference().ref_data));
          else if (node instanceof h5.Group && node.path !== "/unsupported") visit(node);
        }
      };
      visit(h5file);
    } finally {
      h5file.close();
      release();
    }
    const handle = await open(file, "r");
    try {
      const superblock = (await readSuperblock(handle))!;
      let blocks = 0;
      for (const address of addresses) {
        const header = await readObjectHeader(handle, superblock, address);
        expect(header?.version, `header at ${address}`).toBe(2);
        for (const block of new Set(header!.messages.map((m) => m.block))) {
          expect(blockChecksumMatches(block), `block at ${block.at}`).toBe(true);
          blocks++;
        }
      }
      expect(blocks).toBeGreaterThan(30);
    } finally {
      await handle.close();
    }
  });
});

describe("retypeFloat16Datasets", () => {
  async function writePlaceholder(file: string, libver: "default" | "earliest", dtype = FLOAT16_PLACEHOLDER as unknown): Promise<bigint> {
    const { h5, release } = await useH5wasm();
    const h5file = new h5.File(file, "w", libver === "earliest" ? { libver: ["earliest", "latest"] } : {});
    try {
      const data = Array.isArray(dtype) ? new Map([[FLOAT16_PLACEHOLDER_MEMBER, Uint16Array.from(BITS)]]) : Uint16Array.from(BITS);
      const created = h5file.create_dataset({ name: "half", data: data as never, shape: [BITS.length], dtype: dtype as never, chunks: [4], compression: "gzip" });
      created.create_attribute("units", "m");
      return addressOfReference(created.create_reference().ref_data);
    } finally {
      h5file.close();
      release();
    }
  }

  it.each(["default", "earliest"] as const)("rewrites the placeholder in libver %s headers; h5py reads float16, every value", async (libver) => {
    const file = join(dir, `retype-${libver}.h5`);
    const address = await writePlaceholder(file, libver);
    const handle = await open(file, "r");
    const version = (await readObjectHeader(handle, (await readSuperblock(handle))!, address))?.version;
    await handle.close();
    expect(version).toBe(libver === "default" ? 2 : 1);
    await retypeFloat16Datasets(file, [{ path: "/half", address }]);
    const dump = await dumpHdf5(file, `${file}.dump`);
    expect(dump.datasets["/half"]).toMatchObject({ dtype: "<f2", shape: [BITS.length], chunks: [4], compression: "gzip", attrs: { units: "m" } });
    expect(await dumpedValues(dump, dump.datasets["/half"])).toEqual(Array.from(float16BitsToFloat32(Uint16Array.from(BITS))));
  });

  it("refuses a dataset whose type is not the placeholder, and leaves the file as it was", async () => {
    const file = join(dir, "retype-uint16.h5");
    const address = await writePlaceholder(file, "default", "<H");
    const before = await readFile(file);
    await expect(retypeFloat16Datasets(file, [{ path: "/half", address }])).rejects.toThrow("cannot make /half float16: its datatype is not dosna's 2-byte placeholder");
    expect((await readFile(file)).equals(before)).toBe(true);
  });
});
