/** The value the many-process tests store at (row, column): distinct per element and never the fill value 0. */
export function rowValue(row: number, column: number): number {
  return ((row * 7919 + column) * 2654435761) % 2147483629 + 1;
}
