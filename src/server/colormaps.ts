/**
 * Colormaps of the viewer page and of PNG selections: anchors interpolated linearly (viridis and
 * magma sampled from matplotlib's tables; viridis, perceptually uniform, is the default).
 */
export const COLORMAPS: Record<string, readonly (readonly [number, number, number])[]> = {
  viridis: [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
  magma: [[0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122], [229, 80, 100], [251, 135, 97], [254, 194, 135], [252, 253, 191]],
  gray: [[0, 0, 0], [255, 255, 255]],
};

/** NaN is drawn in this colour. */
export const NAN_COLOUR: readonly [number, number, number] = [255, 0, 255];

export function colourAt(map: string, t: number): readonly [number, number, number] {
  const anchors = COLORMAPS[map];
  const x = Math.min(1, Math.max(0, t)) * (anchors.length - 1);
  const i = Math.min(anchors.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((k) => Math.round(anchors[i][k] + (anchors[i + 1][k] - anchors[i][k]) * f)) as unknown as [number, number, number];
}
