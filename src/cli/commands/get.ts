/**
 * dosna get: print a selection as numpy would, or as JSON. A large selection is printed summarised
 * (as numpy does), and only the elements the summary shows are fetched.
 */
import { normaliseSelection, type AxisSelection, type DataType, type SelectionItem, type TypedArray } from "../../index.js";
import type { Cli } from "../context.js";
import { formatNumpy, needsSummary, shownIndices } from "../numpy-print.js";
import { toJson } from "../text.js";

export async function get(cli: Cli, url: string, selection: string | undefined, options: { json?: boolean; ref?: string }): Promise<void> {
  const { dataset } = await cli.openDataset(url, { readOnly: true, ref: options.ref });
  const sel = normaliseSelection(selection, dataset.shape, dataset.describe);
  const shape = sel.outputShape;
  if (options.json) {
    const result = await dataset.get(selection, { signal: cli.signal });
    cli.print(toJson({ shape, dtype: dataset.dtype, data: nested(result.data, shape, dataset.dtype) }));
    return;
  }
  if (!needsSummary(shape)) {
    const result = await dataset.get(selection, { signal: cli.signal });
    cli.print(formatNumpy({ dtype: dataset.dtype, shape, get: (index) => elementAt(result.data, shape, index) }));
    return;
  }
  // Fetch only the edge rows/columns numpy's summary shows, then map full indices onto them.
  const shown = shownIndices(shape);
  let outputAxis = 0;
  const items: SelectionItem[] = sel.axes.map((axis) => (axis.kind === "int" ? axis.index : pick(axis, shown[outputAxis++])));
  const edges = await dataset.get(items, { signal: cli.signal });
  const edgeShape = shown.map((s) => s.length);
  const positions = shown.map((indices) => new Map(indices.map((full, i) => [full, i])));
  cli.print(
    formatNumpy({
      dtype: dataset.dtype,
      shape,
      get: (index) => elementAt(edges.data, edgeShape, index.map((i, axis) => positions[axis].get(i)!)),
    }),
  );
}

function pick(axis: Exclude<AxisSelection, { kind: "int" }>, rows: number[]): SelectionItem {
  return rows.map((r) => (axis.kind === "slice" ? axis.start + axis.step * r : axis.indices[r]));
}

function elementAt(data: TypedArray, shape: readonly number[], index: readonly number[]): number | bigint {
  let flat = 0;
  for (let a = 0; a < shape.length; a++) flat = flat * shape[a] + index[a];
  return data[flat];
}

/** C-order elements as nested JSON-able arrays (bool as true/false). */
function nested(data: TypedArray, shape: readonly number[], dtype: DataType): unknown {
  const convert = (v: number | bigint) => (dtype === "bool" ? v !== 0 : v);
  if (shape.length === 0) return convert(data[0]);
  let offset = 0;
  const build = (axis: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[axis]; i++) out.push(axis === shape.length - 1 ? convert(data[offset++]) : build(axis + 1));
    return out;
  };
  return build(0);
}
