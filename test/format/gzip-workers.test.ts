/** Large gzip chunks take the worker_threads path: they must round-trip and fail cleanly. */
import { describe, expect, it } from "vitest";
import { CorruptChunkError } from "../../src/errors.js";
import { createChunkCodec } from "../../src/format/index.js";
import { WORKER_MIN_BYTES } from "../../src/format/codecs/zlib-workers.js";

const chunkShape = [256, 256];
const codec = createChunkCodec({
  dataType: "float32",
  chunkShape,
  codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "gzip", configuration: { level: 5 } }],
});

describe("gzip in the worker pool", () => {
  it("is used for chunks of this size", () => {
    expect(256 * 256 * 4).toBeGreaterThanOrEqual(WORKER_MIN_BYTES);
  });

  it("round-trips many chunks at once", async () => {
    const chunks = Array.from({ length: 12 }, (_, k) => Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i / 100 + k)));
    const encoded = await Promise.all(chunks.map((c) => codec.encode(c)));
    const decoded = await Promise.all(encoded.map((b, k) => codec.decode(b, `c/${k}`)));
    decoded.forEach((d, k) => expect(d).toEqual(chunks[k]));
  });

  it("turns undecodable bytes into CorruptChunkError naming the key", async () => {
    const good = await codec.encode(new Float32Array(256 * 256).fill(1.5));
    const truncated = good.subarray(0, good.byteLength - 9);
    await expect(codec.decode(truncated, "a/c/1/2")).rejects.toThrow(CorruptChunkError);
    await expect(codec.decode(Uint8Array.from([1, 2, 3, 4, 5]), "a/c/3/4")).rejects.toThrow(/a\/c\/3\/4/);
  });
});
