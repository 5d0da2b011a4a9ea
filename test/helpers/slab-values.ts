/** The value every multi-process writer stores at a flat C-order index: distinct, and never the fill value 0. */
export function slabValue(flatIndex: number): number {
  return ((flatIndex * 2654435761) % 2147483629) + 1;
}
