/**
 * The sharding_indexed layout as pure functions: CRC-32C against published check values, the index
 * byte layout against a hand-built DataView encoding of the spec, shard assembly, range coalescing
 * against a brute-force reference, and the configuration checks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptChunkError } from "../../src/errors.js";
import { CodecConfigurationError, crc32c, type CodecSpec } from "../../src/format/index.js";
import {
  assembleShard,
  coalesceRanges,
  CorruptShardError,
  decodeShardIndex,
  decodeShardIndexOfObject,
  EMPTY_ENTRY,
  encodeShardIndex,
  entryCoordinates,
  innerGridIndexOf,
  locateInnerChunk,
  parseShardLayout,
  shardingCodecSpec,
  type ShardLayout,
} from "../../src/format/sharding.js";

const BYTES: CodecSpec = { name: "bytes", configuration: { endian: "little" } };
const ascii = (text: string) => new TextEncoder().encode(text);

function layoutOf(shard: number[], inner: number[], extra: Record<string, unknown> = {}): ShardLayout {
  const spec = shardingCodecSpec({ innerChunkShape: inner, codecs: [BYTES] });
  return parseShardLayout([{ ...spec, configuration: { ...spec.configuration, ...extra } }], { dataType: "int16", chunkShape: shard });
}

describe("crc32c", () => {
  it("matches the published check values", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e); // RFC 3720 B.4: incrementing
  });
});

describe("layout", () => {
  it("counts entries and index bytes (16 per entry, +4 with crc32c)", () => {
    const withCrc = layoutOf([8, 6], [2, 3]);
    expect(withCrc.chunksPerShard).toEqual([4, 2]);
    expect(withCrc.entryCount).toBe(8);
    expect(withCrc.indexByteLength).toBe(8 * 16 + 4);
    expect(withCrc.indexLocation).toBe("end");
    const noCrc = layoutOf([8, 6], [2, 3], { index_codecs: [BYTES], index_location: "start" });
    expect(noCrc.indexByteLength).toBe(8 * 16);
    expect(noCrc.indexLocation).toBe("start");
  });

  it("maps inner chunks to shards and entries in C order, and back", () => {
    const per = [3, 2, 4];
    for (let a = 0; a < 7; a++) for (let b = 0; b < 5; b++) for (let c = 0; c < 9; c++) {
      const { shardGridIndex, entry } = locateInnerChunk([a, b, c], per);
      expect(shardGridIndex).toEqual([Math.floor(a / 3), Math.floor(b / 2), Math.floor(c / 4)]);
      expect(entry).toBe(((a % 3) * 2 + (b % 2)) * 4 + (c % 4));
      expect(entryCoordinates(entry, per)).toEqual([a % 3, b % 2, c % 4]);
      expect(innerGridIndexOf(shardGridIndex, entry, per)).toEqual([a, b, c]);
    }
    expect(locateInnerChunk([], [])).toEqual({ shardGridIndex: [], entry: 0 });
  });
});

describe("shard index encoding", () => {
  /** The spec's layout written out by hand: uint64 (offset, nbytes) pairs, then crc32c little endian. */
  function referenceIndex(entries: Array<[bigint, bigint]>, littleEndian: boolean, checksum: boolean): Uint8Array {
    const out = new Uint8Array(entries.length * 16 + (checksum ? 4 : 0));
    const view = new DataView(out.buffer);
    entries.forEach(([offset, nbytes], i) => {
      view.setBigUint64(i * 16, offset, littleEndian);
      view.setBigUint64(i * 16 + 8, nbytes, littleEndian);
    });
    if (checksum) view.setUint32(entries.length * 16, crc32c(out.subarray(0, entries.length * 16)), true);
    return out;
  }
  const MAX = 2n ** 64n - 1n;

  for (const [endian, checksum] of [["little", true], ["big", true], ["little", false], ["big", false]] as const) {
    it(`${endian} endian${checksum ? " with crc32c" : ""}: encodes as the spec lays it out and decodes back`, () => {
      const index_codecs = checksum ? [{ name: "bytes", configuration: { endian } }, { name: "crc32c" }] : [{ name: "bytes", configuration: { endian } }];
      const layout = layoutOf([4, 4], [2, 2], { index_codecs });
      const index = Float64Array.from([0, 10, EMPTY_ENTRY, EMPTY_ENTRY, 10, 7, 2 ** 40, 1]);
      const expected = referenceIndex([[0n, 10n], [MAX, MAX], [10n, 7n], [2n ** 40n, 1n]], endian === "little", checksum);
      expect(encodeShardIndex(index, layout)).toEqual(expected);
      expect(Array.from(decodeShardIndex(expected, layout, "k"))).toEqual(Array.from(index));
    });
  }

  it("rejects a wrong length, a bad checksum, half-empty entries and entries outside the object", () => {
    const layout = layoutOf([2], [1]);
    const good = referenceIndex([[0n, 4n], [4n, 4n]], true, true);
    const cases: Array<[Uint8Array, number | undefined, string]> = [
      [good.subarray(1), undefined, "index should be 36 bytes, got 35"],
      [(() => { const b = good.slice(); b[3] ^= 1; return b; })(), undefined, "crc32c checksum"],
      [referenceIndex([[0n, MAX], [4n, 4n]], true, true), undefined, "only one marks it empty"],
      [referenceIndex([[0n, 4n], [4n, 4n]], true, true), 7, "bytes 4–8 lies outside the shard (the shard is 7 bytes)"],
      [referenceIndex([[2n ** 60n, 4n], [4n, 4n]], true, true), undefined, "lies outside the shard"],
    ];
    for (const [bytes, objectLength, fragment] of cases) {
      let error: unknown;
      try {
        decodeShardIndex(bytes, layout, "arr/c/3", objectLength);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CorruptShardError);
      expect(error).toBeInstanceOf(CorruptChunkError);
      expect((error as Error).message).toContain('shard "arr/c/3"');
      expect((error as Error).message).toContain(fragment);
    }
  });
});

describe("assembleShard", () => {
  const chunks = [ascii("aaa"), undefined, ascii("bbbbb"), ascii("c")];

  it("index at the end: chunks in entry order from byte 0, then the index", () => {
    const layout = layoutOf([4], [1]);
    const shard = assembleShard(chunks, layout)!;
    expect(shard.byteLength).toBe(9 + layout.indexByteLength);
    expect(new TextDecoder().decode(shard.subarray(0, 9))).toBe("aaabbbbbc");
    const index = decodeShardIndexOfObject(shard, layout, "k");
    expect(Array.from(index)).toEqual([0, 3, -1, -1, 3, 5, 8, 1]);
  });

  it("index at the start: offsets count the index bytes", () => {
    const layout = layoutOf([4], [1], { index_location: "start" });
    const shard = assembleShard(chunks, layout)!;
    const n = layout.indexByteLength;
    expect(new TextDecoder().decode(shard.subarray(n))).toBe("aaabbbbbc");
    expect(Array.from(decodeShardIndexOfObject(shard, layout, "k"))).toEqual([n, 3, -1, -1, n + 3, 5, n + 8, 1]);
  });

  it("nothing stored: no shard", () => {
    expect(assembleShard([undefined, undefined, undefined, undefined], layoutOf([4], [1]))).toBeUndefined();
  });

  it("an object smaller than its index is reported as truncated", () => {
    expect(() => decodeShardIndexOfObject(new Uint8Array(10), layoutOf([4], [1]), "x/c/0")).toThrow(/shard "x\/c\/0" is truncated.*10 bytes/);
  });
});

describe("coalesceRanges", () => {
  it("matches a brute-force merge: every byte of every range is covered, requests are disjoint and gaps between them exceed maxGap", () => {
    const rangeArb = fc.array(fc.record({ offset: fc.nat(500), length: fc.integer({ min: 0, max: 60 }) }), { maxLength: 20 });
    fc.assert(
      fc.property(rangeArb, fc.nat(40), (ranges, maxGap) => {
        const requests = coalesceRanges(ranges.map((r, item) => ({ ...r, item })), maxGap);
        const seen = new Set<number>();
        for (const request of requests) {
          for (const m of request.members) {
            const original = ranges[m.item];
            seen.add(m.item);
            expect(request.offset + m.start).toBe(original.offset);
            expect(m.length).toBe(original.length);
            expect(m.start + m.length).toBeLessThanOrEqual(request.length);
          }
        }
        expect(seen.size).toBe(ranges.length);
        const sorted = [...requests].sort((a, b) => a.offset - b.offset);
        for (let i = 1; i < sorted.length; i++) {
          expect(sorted[i].offset - (sorted[i - 1].offset + sorted[i - 1].length)).toBeGreaterThan(maxGap);
        }
        // Brute force: the number of requests is the number of groups in a sweep over sorted ranges.
        const byOffset = [...ranges].sort((a, b) => a.offset - b.offset);
        let groups = 0;
        let end = -Infinity;
        for (const r of byOffset) {
          if (r.offset - end > maxGap) groups++;
          end = Math.max(end, r.offset + r.length);
        }
        expect(requests.length).toBe(groups);
      }),
      { numRuns: 500 },
    );
  });
});

describe("coalesceRanges with a length cap", () => {
  it("back-to-back ranges join until the cap; a range larger than the cap stays alone", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ gap: fc.nat(10), length: fc.integer({ min: 1, max: 50 }) }), { maxLength: 30 }), fc.integer({ min: 1, max: 120 }), (specs, cap) => {
        let offset = 0;
        const ranges = specs.map((r, item) => {
          offset += r.gap;
          const range = { offset, length: r.length, item };
          offset += r.length;
          return range;
        });
        const requests = coalesceRanges(ranges, 10, cap);
        expect(requests.flatMap((r) => r.members.map((m) => m.item))).toEqual(ranges.map((r) => r.item));
        for (const request of requests) {
          if (request.members.length > 1) expect(request.length).toBeLessThanOrEqual(cap);
        }
        // Greedy: the next request's first range would not have fitted into the previous one.
        for (let i = 1; i < requests.length; i++) {
          const first = ranges[requests[i].members[0].item];
          expect(first.offset + first.length - requests[i - 1].offset).toBeGreaterThan(cap);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseShardLayout errors", () => {
  const context = { dataType: "float32" as const, chunkShape: [8, 8] };
  const spec = (configuration: Record<string, unknown>): CodecSpec[] => [
    { name: "sharding_indexed", configuration: { chunk_shape: [4, 4], codecs: [BYTES], index_codecs: [BYTES, { name: "crc32c" }], ...configuration } },
  ];
  const cases: Array<[string, CodecSpec[], string]> = [
    ["inner shape not dividing", spec({ chunk_shape: [3, 4] }), "inner chunk shape [3, 4] does not divide the shard shape [8, 8] (axis 0: 8 is not a multiple of 3)"],
    ["inner rank", spec({ chunk_shape: [4] }), "has 1 dimensions but the shard shape [8, 8] has 2"],
    ["bad chunk_shape", spec({ chunk_shape: [0, 4] }), "chunk_shape must be a list of positive integers"],
    ["index codecs", spec({ index_codecs: [BYTES, { name: "gzip" }] }), 'index_codecs must be ["bytes"] or ["bytes", "crc32c"], got ["bytes", "gzip"]'],
    ["index location", spec({ index_location: "middle" }), 'index_location must be "start" or "end", got "middle"'],
    ["unknown inner codec", spec({ codecs: [BYTES, { name: "lz5" }] }), 'codec "lz5" is not supported'],
    ["nested", spec({ codecs: [{ name: "sharding_indexed", configuration: {} }] }), "nested sharding"],
    ["missing codecs", spec({ codecs: undefined }), "codecs must be a list of codecs"],
    ["other codecs around it", [{ name: "bytes" }, ...spec({})], 'must be the array\'s only codec'],
  ];
  for (const [label, codecs, fragment] of cases) {
    it(label, () => {
      expect(() => parseShardLayout(codecs, context)).toThrow(CodecConfigurationError);
      expect(() => parseShardLayout(codecs, context)).toThrow(fragment);
    });
  }
});
