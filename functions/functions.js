// Chunk functions for `dosna worker` (docker compose's worker service mounts this directory at
// /app/functions). Each runs on one chunk: the in-bounds part of it as an ndarray in C order, the
// call's JSON params and where the chunk sits; it returns a chunk of the same shape and dtype.
import { registerFunction } from "dosna";

/** x * factor + offset. */
registerFunction("scale", (chunk, params) => {
  const { factor = 1, offset = 0 } = params ?? {};
  return chunk.data.map((v) => v * factor + offset);
});

/** Mean over each element's 3×3×3 neighbourhood inside the chunk: a 3-D smoothing filter. */
registerFunction("box3d", (chunk) => {
  const [nx, ny, nz] = chunk.shape;
  const src = chunk.data;
  const out = new src.constructor(chunk.size);
  const sx = ny * nz;
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) {
        let sum = 0;
        let n = 0;
        for (let i = Math.max(0, x - 1); i <= Math.min(nx - 1, x + 1); i++)
          for (let j = Math.max(0, y - 1); j <= Math.min(ny - 1, y + 1); j++)
            for (let k = Math.max(0, z - 1); k <= Math.min(nz - 1, z + 1); k++) {
              sum += src[i * sx + j * nz + k];
              n++;
            }
        out[x * sx + y * nz + z] = sum / n;
      }
  return out;
});
