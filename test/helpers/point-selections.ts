/**
 * Random pointwise selections (integer arrays, integers, slices, null, "...") for the vindex tests,
 * and numpy's answer to them: `a[sel]` on an array of the given values, computed by
 * /usr/bin/python3 in one run for a whole batch.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { slice } from "../../src/index.js";
import { python } from "../npy/numpy-oracle.js";
import { seededRandom } from "./random.js";

/** A selection as numpy is given it: {slice: [start, stop, step]}, null (":"), "...", an integer or a list. */
export type NumpyItem = number | number[] | number[][] | null | "..." | { slice: [number | null, number | null, number | null] };

/** `count` random mixed selections on `shape`, each with at least one integer array, from `seed`. */
export function randomMixedSelections(shape: readonly number[], count: number, seed: number): NumpyItem[][] {
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const out: NumpyItem[][] = [];
  while (out.length < count) {
    const length = int(0, 5);
    const rows = int(1, 3);
    const items: NumpyItem[] = shape.map((n) => {
      const r = random();
      const index = () => int(-n, n - 1);
      if (r < 0.35) return Array.from({ length }, index);
      if (r < 0.45) return [index()];
      // A column of `rows` (shape [rows, 1]): broadcast against the 1-d arrays, a 2-d result.
      if (r < 0.5) return Array.from({ length: rows }, () => [index()]);
      if (r < 0.6) return index();
      if (r < 0.7) return null;
      const bound = () => (random() < 0.3 ? null : int(-n - 2, n + 2));
      const step = random() < 0.4 ? null : [-3, -2, -1, 1, 2, 3][int(0, 5)];
      return { slice: [bound(), bound(), step] };
    });
    if (!items.some((item) => Array.isArray(item))) continue;
    // Now and then replace a run of whole axes by "...".
    const firstNull = items.indexOf(null);
    if (firstNull >= 0 && random() < 0.3) items.splice(firstNull, 1, "...");
    out.push(items);
  }
  return out;
}

/** A numpy-spelled item as a dosna selection item. */
export function toDosnaItem(item: NumpyItem): unknown {
  if (item !== null && typeof item === "object" && !Array.isArray(item)) return slice(...item.slice);
  return item;
}

/** numpy's `a[sel]` (shape and flat values) for each selection, `a` holding `values` in C order. */
export async function numpyPointReads(values: ArrayLike<number>, shape: readonly number[], selections: NumpyItem[][]): Promise<{ shape: number[]; values: number[] }[]> {
  const script = `
spec = json.loads(open(sys.argv[1]).read())
a = np.array(spec["values"], dtype=np.float64).reshape(spec["shape"])
def item(x):
    if x is None: return slice(None)
    if x == "...": return Ellipsis
    if isinstance(x, dict): return slice(*x["slice"])
    if isinstance(x, list): return np.array(x, dtype=np.int64)
    return x
out = []
for sel in spec["selections"]:
    r = np.asarray(a[tuple(item(x) for x in sel)])
    out.append({"shape": list(r.shape), "values": r.ravel().tolist()})
print(json.dumps(out))
`;
  const dir = await mkdtemp(join(tmpdir(), "dosna-points-"));
  try {
    const file = join(dir, "spec.json");
    await writeFile(file, JSON.stringify({ values: Array.from(values), shape, selections }));
    return JSON.parse(await python(script, [file]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
