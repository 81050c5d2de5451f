/**
 * Colours for the synthetic dataset: HSV → 8-bit RGB, random colours within saturation / value ranges, the
 * Euclidean RGB distance used to keep objects distinguishable from the background and from each other, and a
 * linear mix.
 */
import type { Rng } from '../../src/nn/rng.js';

export type Rgb = readonly [number, number, number];

/** HSV (h in [0, 1), s and v in [0, 1]) → RGB bytes (the standard hexcone model). */
export function hsvToRgb(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i]!;
  return [Math.round(r! * 255), Math.round(g! * 255), Math.round(b! * 255)];
}

export interface ColourRange {
  sMin: number;
  sMax: number;
  vMin: number;
  vMax: number;
}

/** A colour with uniform hue and saturation / value uniform in the given ranges (three draws). */
export function randomColour(rng: Rng, range: ColourRange): Rgb {
  const h = rng.uniform();
  const s = rng.uniformIn(range.sMin, range.sMax);
  const v = rng.uniformIn(range.vMin, range.vMax);
  return hsvToRgb(h, s, v);
}

/** Euclidean distance in RGB bytes (0 … 441). */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** (1 − t)·a + t·b, rounded to bytes. */
export function mixColour(a: Rgb, b: Rgb, t: number): Rgb {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}
