import { isSlice } from "./slice.js";
import type { Selection, SelectionItem } from "./types.js";

/** Spell a selection in the numpy syntax parseSelection reads ("1:5, ::-2, ..., [0, 3]"); for messages and round trips. */
export function formatSelection(sel: Selection): string {
  if (sel === undefined) return "...";
  if (typeof sel === "string") return sel;
  const items: SelectionItem[] = Array.isArray(sel) && !sel.every((x) => typeof x === "boolean") ? (sel as SelectionItem[]) : [sel as SelectionItem];
  if (Array.isArray(sel) && sel.length === 0) return "";
  return items.map(formatItem).join(", ");
}

function formatItem(item: SelectionItem): string {
  if (item === null) return ":";
  if (item === "...") return "...";
  if (typeof item === "number" || typeof item === "bigint") return String(item);
  if (isSlice(item)) {
    const part = (v: number | null) => (v === null ? "" : String(v));
    return `${part(item.start)}:${part(item.stop)}${item.step === null ? "" : `:${item.step}`}`;
  }
  return `[${Array.from(item as ArrayLike<unknown>, String).join(", ")}]`;
}
