/**
 * Backgrounds of the synthetic images: a linear gradient, smooth two-octave value noise, or soft stripes, in muted
 * two-colour mixes (no per-pixel grain: it would triple the PNG size). `paintBackground` fills a whole RGB buffer and
 * returns the kind and the mean colour (used to keep objects distinguishable from their background).
 */
import type { Rng } from '../../src/nn/rng.js';
import { colourDistance, mixColour, randomColour, type ColourRange, type Rgb } from './colour.js';
import { fractalNoise } from './noise.js';

export const BACKGROUND_KINDS = ['gradient', 'noise', 'stripes'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

/** Muted colours: backgrounds never look like the saturated objects. */
export const BACKGROUND_COLOURS: ColourRange = { sMin: 0.05, sMax: 0.55, vMin: 0.25, vMax: 0.95 };

export interface Background {
  kind: BackgroundKind;
  mean: Rgb;
}

/** Fills `data` (width × height × 3, HWC RGB) with a random background. */
export function paintBackground(rng: Rng, data: Uint8Array, width: number, height: number): Background {
  const kind = BACKGROUND_KINDS[rng.int(BACKGROUND_KINDS.length)]!;
  const a = randomColour(rng, BACKGROUND_COLOURS);
  let b = randomColour(rng, BACKGROUND_COLOURS);
  if (colourDistance(a, b) < 40) b = mixColour(a, [255 - a[0], 255 - a[1], 255 - a[2]], 0.35);
  const angle = rng.uniform() * 2 * Math.PI;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const seed = rng.nextUint32();
  const scale = rng.uniformIn(Math.max(width, height) / 16, Math.max(width, height) / 4);
  // Weight of colour b per pixel, in [0, 1].
  let weight: Float32Array;
  if (kind === 'noise') {
    weight = fractalNoise(0, 0, width, height, scale, seed);
  } else {
    weight = new Float32Array(width * height);
    if (kind === 'gradient') {
      const extent = Math.abs(c) * width + Math.abs(s) * height;
      const dx = c / extent;
      for (let y = 0, o = 0; y < height; y++) {
        const base = ((0.5 - width / 2) * c + (y + 0.5 - height / 2) * s) / extent + 0.5;
        for (let x = 0; x < width; x++, o++) {
          const t = base + x * dx;
          weight[o] = t < 0 ? 0 : t > 1 ? 1 : t;
        }
      }
    } else {
      // Soft stripes: a raised cosine across the stripe direction (45 % contrast), tabulated over one period.
      const period = scale / 2;
      const table = new Float32Array(1024);
      for (let i = 0; i < 1024; i++) table[i] = 0.45 * (0.5 + 0.5 * Math.cos((2 * Math.PI * i) / 1024));
      const dx = c / period;
      for (let y = 0, o = 0; y < height; y++) {
        const base = (0.5 * c + (y + 0.5) * s) / period;
        for (let x = 0; x < width; x++, o++) {
          const phase = base + x * dx;
          weight[o] = table[Math.floor((phase - Math.floor(phase)) * 1024) & 1023]!;
        }
      }
    }
  }
  // Weights quantised to 1/1024 (finer than 8-bit colour) and looked up: one table per image.
  const lut = new Uint8Array(3 * 1025);
  for (let i = 0; i <= 1024; i++) {
    for (let k = 0; k < 3; k++) lut[3 * i + k] = Math.round(a[k]! + ((b[k]! - a[k]!) * i) / 1024);
  }
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (let p = 0, o = 0; p < weight.length; p++, o += 3) {
    const i = 3 * Math.round(weight[p]! * 1024);
    const r = lut[i]!;
    const g = lut[i + 1]!;
    const bl = lut[i + 2]!;
    data[o] = r;
    data[o + 1] = g;
    data[o + 2] = bl;
    s0 += r;
    s1 += g;
    s2 += bl;
  }
  const n = width * height;
  return { kind, mean: [Math.round(s0 / n), Math.round(s1 / n), Math.round(s2 / n)] };
}
