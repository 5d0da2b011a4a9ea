/**
 * The plan of an import: every group and dataset of an HDF5 file (or of one group or dataset of
 * it) that dosna can store, parents before children, with its attributes as JSON and, for a
 * dataset, its dosna dtype and fill value. What dosna cannot store goes to `skipped` instead.
 * Only metadata is read, and each dataset's first element (to prove its filters can be decoded).
 */
import type { Attribute, Dataset as H5Dataset, Filter, Group as H5Group, Metadata } from "h5wasm/node";
import { NotFoundError } from "../errors.js";
import type { DataType, FillValue } from "../format/index.js";
import { baseName } from "../format/keys.js";
import { attributeToJson } from "./attributes.js";
import { decodeFillValue, describeHdf5Type, dosnaTypeOf, type ElementForm } from "./dtypes.js";
import { readSlabValues } from "./elements.js";
import { addressOfReference, type FillValueReader } from "./fill-value.js";
import { summariseHdf5Error, type H5Module } from "./h5wasm-loader.js";

export interface SkippedItem {
  /** The HDF5 path of the dataset or of the object holding the attribute. */
  path: string;
  /** Set when an attribute was skipped. */
  attribute?: string;
  reason: string;
}

export interface PlannedGroup {
  kind: "group";
  /** The HDF5 path. */
  path: string;
  /** The path below the import's target ("" for the target itself). */
  relative: string;
  attributes: Record<string, unknown>;
}

export interface PlannedDataset {
  kind: "dataset";
  path: string;
  relative: string;
  attributes: Record<string, unknown>;
  node: H5Dataset;
  metadata: Metadata & { shape: number[] };
  dtype: DataType;
  /** How its elements are read (dtypes.ts). */
  form: ElementForm;
  fillValue?: FillValue;
}

export type Planned = PlannedGroup | PlannedDataset;

/**
 * Everything to import, parents before children, with what dosna cannot store already moved to
 * `skipped`. Reads metadata and attributes only; each dataset's first element is read to prove
 * its filters can be decoded.
 */
export async function planImport(h5: H5Module, file: InstanceType<H5Module["File"]>, source: string, fills: FillValueReader, skipped: SkippedItem[]): Promise<Planned[]> {
  const start = source === "/" || source === "" ? file : openChild(file, source, source);
  if (typeof start === "string" || start === null || !(start instanceof h5.Group || start instanceof h5.Dataset)) {
    throw new NotFoundError(`"${source}" is not a group or dataset of "${file.filename}"`);
  }
  const out: Planned[] = [];
  const seen = new Map<bigint, string>();
  const visit = async (node: H5Group | H5Dataset, relative: string): Promise<void> => {
    const address = objectAddress(node);
    if (address !== undefined) {
      const first = seen.get(address);
      if (first !== undefined) {
        skipped.push({ path: node.path, reason: `another link to ${first}, which is imported there` });
        return;
      }
      seen.set(address, node.path);
    }
    if (node instanceof h5.Dataset) {
      const dataset = await planDataset(h5, node, relative, address, fills, skipped);
      if (dataset) out.push(dataset);
      return;
    }
    out.push({ kind: "group", path: node.path, relative, attributes: readAttributes(h5, node, skipped) });
    for (const name of node.keys()) {
      const path = joinHdf5(node.path, name);
      const child = openChild(node, name, path);
      if (typeof child === "string") {
        skipped.push({ path, reason: child });
        continue;
      }
      const childRelative = relative === "" ? name : `${relative}/${name}`;
      if (child instanceof h5.Group || child instanceof h5.Dataset) await visit(child, childRelative);
      else if (child instanceof h5.ExternalLink) skipped.push({ path, reason: `external link to ${child.filename}:${child.obj_path} (not followed)` });
      else if (child instanceof h5.BrokenSoftLink) skipped.push({ path, reason: `soft link to ${child.target}, which does not exist` });
      else if (child instanceof h5.Datatype) skipped.push({ path, reason: `named datatype ${describeHdf5Type(child.metadata)} (not data)` });
      else skipped.push({ path, reason: "an object of an unknown kind" });
    }
  };
  await visit(start, start instanceof h5.Dataset ? baseName(start.path) : "");
  return out;
}

/** A member of a group, or why it cannot be opened (with throwing errors, a dangling soft link throws). */
function openChild(group: H5Group, name: string, path: string): ReturnType<H5Group["get"]> | string {
  try {
    return group.get(name);
  } catch (error) {
    let target: string | undefined;
    try {
      target = group.get_link(path);
    } catch {
      target = undefined;
    }
    return typeof target === "string" ? `soft link to ${target}, which does not exist` : `it cannot be opened (${summariseHdf5Error(error)})`;
  }
}

async function planDataset(h5: H5Module, node: H5Dataset, relative: string, address: bigint | undefined, fills: FillValueReader, skipped: SkippedItem[]): Promise<PlannedDataset | undefined> {
  const metadata = node.metadata;
  if (metadata.shape === null) {
    skipped.push({ path: node.path, reason: "an empty dataset (null dataspace: no shape, no elements)" });
    return undefined;
  }
  const verdict = dosnaTypeOf(metadata);
  if ("unsupported" in verdict) {
    skipped.push({ path: node.path, reason: verdict.unsupported });
    return undefined;
  }
  const shape = metadata.shape;
  if (shape.length > 0 && shape.every((n) => n > 0)) {
    try {
      readSlabValues(h5, node, verdict.form, shape.map(() => [0, 1]));
    } catch (error) {
      skipped.push({ path: node.path, reason: `its data cannot be read (${describeFilters(node.filters)}: ${summariseHdf5Error(error)})` });
      return undefined;
    }
  }
  const fillBytes = address === undefined ? undefined : await fills.fillValueBytes(address);
  const fillValue = fillBytes === undefined ? undefined : decodeFillValue(fillBytes, metadata, verdict);
  return {
    kind: "dataset",
    path: node.path,
    relative,
    attributes: readAttributes(h5, node, skipped),
    node,
    metadata: { ...metadata, shape },
    dtype: verdict.dtype,
    form: verdict.form,
    ...(fillValue !== undefined ? { fillValue } : {}),
  };
}

function readAttributes(h5: H5Module, node: H5Group | H5Dataset, skipped: SkippedItem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(node.attrs) as Array<[string, Attribute]>) {
    let verdict;
    try {
      verdict = attributeToJson(h5, attribute);
    } catch (error) {
      verdict = { unsupported: `it cannot be read (${summariseHdf5Error(error)})` };
    }
    if ("unsupported" in verdict) skipped.push({ path: node.path, attribute: name, reason: verdict.unsupported });
    else out[name] = verdict.value;
  }
  return out;
}

function objectAddress(node: H5Group | H5Dataset): bigint | undefined {
  try {
    return addressOfReference(node.create_reference().ref_data);
  } catch {
    return undefined;
  }
}

function describeFilters(filters: Filter[]): string {
  return filters.length === 0 ? "no filters" : `filters ${filters.map((f) => `${f.name || "unnamed"} (${f.id})`).join(", ")}`;
}

function joinHdf5(parent: string, name: string): string {
  return parent.endsWith("/") ? `${parent}${name}` : `${parent}/${name}`;
}
