/**
 * Fill patterns of the synthetic objects: solid, stripes (any angle), checker (rotated), dots (rotated lattice) and
 * smooth noise, each a two-colour pattern in image coordinates. A texture is a plain record drawn from the RNG
 * (`sampleTexture`); `paintTexture` paints it into an object's visible pixels, each pixel's colour a function of
 * its (x, y) only. Pattern periods scale with the object (a 10-pixel object still shows its pattern, a large one
 * is not a blur of fine stripes).
 */
import type { Rng } from '../../src/nn/rng.js';
import type { Rgb } from './colour.js';
import { fractalNoise } from './noise.js';

export const TEXTURE_KINDS = ['solid', 'stripes', 'checker', 'dots', 'noise'] as const;
export type TextureKind = (typeof TEXTURE_KINDS)[number];

export interface Texture {
  kind: TextureKind;
  /** Main colour. */
  a: Rgb;
  /** Pattern colour. */
  b: Rgb;
  /** Pattern period in pixels. */
  period: number;
  /** Pattern rotation in radians. */
  angle: number;
  /** Noise seed (noise only). */
  seed: number;
}

/**
 * A texture of a random kind for an object of circumscribed radius `radius` with colours a and b (the same
 * sequence of draws whatever the kind).
 */
export function sampleTexture(rng: Rng, a: Rgb, b: Rgb, radius: number): Texture {
  const kind = TEXTURE_KINDS[rng.int(TEXTURE_KINDS.length)]!;
  const period = rng.uniformIn(3, Math.max(4, radius * 0.7));
  const angle = rng.uniform() * Math.PI;
  const seed = rng.nextUint32();
  const minPeriod = kind === 'dots' ? 5 : kind === 'noise' ? 4 : 3;
  return { kind, a, b, period: Math.max(minPeriod, period), angle, seed };
}

/**
 * Paints texture `t` into the pixels p of the box [x, y, w, h] whose `labels[p] === id` (`data` is HWC RGB of a
 * `width`-wide image, `labels` its row-major label map). Pixel (x, y) is sampled at its centre; the colour of a
 * pixel depends only on (x, y) and the texture.
 */
export function paintTexture(
  t: Texture,
  data: Uint8Array,
  labels: Uint8Array,
  width: number,
  id: number,
  box: readonly [number, number, number, number],
): void {
  const [bx, by, bw, bh] = box;
  const { a, b, period: p } = t;
  const c = Math.cos(t.angle) / p;
  const s = Math.sin(t.angle) / p;
  const noise = t.kind === 'noise' ? fractalNoise(bx, by, bw, bh, p, t.seed) : undefined;
  for (let y = by; y < by + bh; y++) {
    const yc = y + 0.5;
    for (let x = bx, q = y * width + bx; x < bx + bw; x++, q++) {
      if (labels[q] !== id) continue;
      const xc = x + 0.5;
      let w: number; // 0 → colour a, 1 → colour b, in between for noise
      switch (t.kind) {
        case 'solid':
          w = 0;
          break;
        case 'stripes': {
          const u = xc * c + yc * s;
          w = u - Math.floor(u) < 0.5 ? 0 : 1;
          break;
        }
        case 'checker':
          w = (Math.floor(xc * c + yc * s) + Math.floor(yc * c - xc * s)) & 1;
          break;
        case 'dots': {
          const u = xc * c + yc * s;
          const v = yc * c - xc * s;
          const du = u - Math.floor(u) - 0.5;
          const dv = v - Math.floor(v) - 0.5;
          w = du * du + dv * dv < 0.09 ? 1 : 0;
          break;
        }
        case 'noise':
          w = noise![(y - by) * bw + (x - bx)]!;
          break;
      }
      const o = 3 * q;
      data[o] = Math.round(a[0] + (b[0] - a[0]) * w);
      data[o + 1] = Math.round(a[1] + (b[1] - a[1]) * w);
      data[o + 2] = Math.round(a[2] + (b[2] - a[2]) * w);
    }
  }
}
