// Chunk functions of the compute bench (bench/compute.ts), loaded alike by the bench process, the
// threads engine's worker threads and the `dosna worker` processes (through dosna's built entry
// point, as a user's module would import "dosna": run `npm run build` first).
import { registerFunction } from "../dist/index.js";

/** The chunk's elements as a dense C-order typed array (the chunk's own buffer when it is one already). */
function dense(chunk) {
  const { shape, stride, offset, data } = chunk;
  let expected = 1;
  let cOrder = offset === 0;
  for (let a = shape.length - 1; a >= 0 && cOrder; a--) {
    if (shape[a] > 1 && stride[a] !== expected) cOrder = false;
    expected *= shape[a];
  }
  if (cOrder && data.length === expected) return data;
  const out = new data.constructor(expected);
  const index = new Array(shape.length).fill(0);
  for (let i = 0; i < expected; i++) {
    out[i] = chunk.get(...index);
    for (let a = index.length - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
  return out;
}

/**
 * A 3-D box mean filter: each element becomes the mean of its (2r+1)³ neighbourhood inside the
 * chunk (r = params.radius, default 1: 3×3×3; at the chunk's faces the neighbourhood is cut to
 * what is inside). Written directly (27 loads and adds per element for r = 1), not as running
 * sums, so that it stays CPU-bound: ~35 ms per 64³ float32 chunk on one core of the bench machine.
 * Sums in double precision in a fixed order, so every engine gives the same bytes.
 */
registerFunction(
  "box3d",
  (chunk, params) => {
    if (chunk.shape.length !== 3) throw new Error(`box3d needs a 3-D array, got a chunk of shape [${chunk.shape}]`);
    const r = params?.radius ?? 1;
    if (!Number.isInteger(r) || r < 0) throw new Error(`box3d: params.radius must be a non-negative integer, got ${JSON.stringify(r)}`);
    const [n0, n1, n2] = chunk.shape;
    const src = dense(chunk);
    const out = new src.constructor(src.length);
    const s0 = n1 * n2;
    for (let i = 0; i < n0; i++) {
      const ia = Math.max(0, i - r);
      const ib = Math.min(n0 - 1, i + r);
      for (let j = 0; j < n1; j++) {
        const ja = Math.max(0, j - r);
        const jb = Math.min(n1 - 1, j + r);
        const base = i * s0 + j * n2;
        for (let k = 0; k < n2; k++) {
          const ka = Math.max(0, k - r);
          const kb = Math.min(n2 - 1, k + r);
          let sum = 0;
          for (let a = ia; a <= ib; a++) {
            for (let b = ja; b <= jb; b++) {
              const row = a * s0 + b * n2;
              for (let c = ka; c <= kb; c++) sum += src[row + c];
            }
          }
          out[base + k] = sum / ((ib - ia + 1) * (jb - ja + 1) * (kb - ka + 1));
        }
      }
    }
    return out;
  },
  { module: import.meta.url },
);

/** Returns the chunk unchanged: what an engine costs beyond the function. */
registerFunction("noop", (chunk) => chunk, { module: import.meta.url });
