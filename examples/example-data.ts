/**
 * What the examples share: seeded data (DosNa's examples used `np.random.randn`; a seeded
 * generator makes every run print the same numbers, so a test can recompute them), numpy's
 * `allclose`, and one stable `label = JSON` line format for what the examples print.
 *
 * Not an example itself: examples/walkthrough.ts, examples/context-managers.ts and
 * examples/h5py-compat.ts import it.
 */

/** DosNa's README array: `np.random.randn(100, 100, 100)`. */
export const TUTORIAL_SHAPE: readonly number[] = [100, 100, 100];
/** The seed of the tutorial array (any fixed number: the point is that it is fixed). */
export const TUTORIAL_SEED = 20_171_107;

/** mulberry32: a tiny, fast 32-bit PRNG; uniform floats in [0, 1), the same sequence for the same seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` standard-normal float64 values (Box–Muller over mulberry32), like `np.random.randn`. */
export function randn(count: number, seed: number): Float64Array<ArrayBuffer> {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - next())); // 1 - u is in (0, 1]: no log(0)
    const angle = 2 * Math.PI * next();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** The tutorial array, flat in C order (element [i, j, k] at i·100² + j·100 + k). */
export function tutorialData(): Float64Array<ArrayBuffer> {
  return randn(product(TUTORIAL_SHAPE), TUTORIAL_SEED);
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A strided view of numbers (an ndarray, or anything shaped like one). */
export interface StridedNumbers {
  data: ArrayLike<number | bigint>;
  shape: number[];
  stride: number[];
  offset: number;
}

/** numpy's `allclose(a, b)`: same shape, and |a − b| ≤ atol + rtol·|b| everywhere (NaN never close). */
export function allclose(a: StridedNumbers, b: StridedNumbers, rtol = 1e-5, atol = 1e-8): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((n, axis) => n !== b.shape[axis])) return false;
  const count = product(a.shape);
  const index = new Array<number>(a.shape.length).fill(0);
  for (let n = 0; n < count; n++) {
    let ia = a.offset;
    let ib = b.offset;
    for (let axis = 0; axis < index.length; axis++) {
      ia += index[axis] * a.stride[axis];
      ib += index[axis] * b.stride[axis];
    }
    const x = Number(a.data[ia]);
    const y = Number(b.data[ib]);
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return false;
    for (let axis = index.length - 1; axis >= 0; axis--) {
      if (++index[axis] < a.shape[axis]) break;
      index[axis] = 0;
    }
  }
  return true;
}

/** Flat C-order values as nested lists of `shape` (numpy's `tolist()`), for printing. */
export function nested(values: ArrayLike<number | bigint>, shape: readonly number[]): unknown {
  const flat = Array.from(values, Number);
  const build = (axis: number, start: number): unknown => {
    if (axis === shape.length) return flat[start];
    const step = product(shape.slice(axis + 1));
    return Array.from({ length: shape[axis] }, (_, i) => build(axis + 1, start + i * step));
  };
  return build(0, 0);
}

/**
 * Print one result as `label = JSON` (one line; numbers in JavaScript's shortest round-trip form),
 * so that a reader sees numpy-like output and a test can parse it back exactly.
 */
export function report(label: string, value: unknown): void {
  console.log(`${label} = ${JSON.stringify(value)}`);
}

/** Print a check as `label = true|false`; a false one makes the process exit non-zero. */
export function check(label: string, ok: boolean): void {
  report(label, ok);
  if (!ok) {
    console.error(`check failed: ${label}`);
    process.exitCode = 1;
  }
}
