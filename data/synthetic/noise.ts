/**
 * Order-independent procedural noise for textures and backgrounds: a 32-bit integer hash of (x, y, seed) and
 * smooth value noise on a square lattice (bilinear with smoothstep weights, as in classic "value noise").
 * The noise at a pixel is a pure function of its coordinates and one seed (drawn from the image's RNG), so it does
 * not depend on which region is filled or in which order. 32-bit integer arithmetic (`Math.imul`): identical
 * everywhere.
 */

/** A well-mixed unsigned 32-bit hash of integer coordinates and a seed (murmur3's finaliser on a combination). */
export function hash2(x: number, y: number, seed: number): number {
  let h = (Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash2 mapped to [0, 1). */
export function hashUnit(x: number, y: number, seed: number): number {
  return hash2(x, y, seed) / 4294967296;
}

/** Smooth value noise in [0, 1) at pixel (x, y) (sampled at the pixel centre) on a lattice of `cell` pixels. */
export function valueNoise(x: number, y: number, cell: number, seed: number): number {
  const out = new Float32Array(1);
  addValueNoise(out, x, y, 1, 1, cell, seed, 1);
  return out[0]!;
}

/**
 * Adds weight · valueNoise(x, y) for the pixels of the region [x0, x0 + w) × [y0, y0 + h) to `out` (row-major,
 * w × h). The lattice values of the region are hashed once, then interpolated row by row.
 */
export function addValueNoise(
  out: Float32Array,
  x0: number,
  y0: number,
  w: number,
  h: number,
  cell: number,
  seed: number,
  weight: number,
): void {
  const gx0 = Math.floor((x0 + 0.5) / cell);
  const gy0 = Math.floor((y0 + 0.5) / cell);
  const gw = Math.floor((x0 + w - 0.5) / cell) - gx0 + 2;
  const gh = Math.floor((y0 + h - 0.5) / cell) - gy0 + 2;
  const lattice = new Float64Array(gw * gh);
  for (let j = 0; j < gh; j++) for (let i = 0; i < gw; i++) lattice[j * gw + i] = hashUnit(gx0 + i, gy0 + j, seed);
  const colIndex = new Int32Array(w);
  const colWeight = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const g = (x0 + x + 0.5) / cell;
    const i = Math.floor(g);
    const f = g - i;
    colIndex[x] = i - gx0;
    colWeight[x] = f * f * (3 - 2 * f);
  }
  for (let y = 0; y < h; y++) {
    const g = (y0 + y + 0.5) / cell;
    const j = Math.floor(g);
    let fy = g - j;
    fy = fy * fy * (3 - 2 * fy);
    const r0 = (j - gy0) * gw;
    const r1 = r0 + gw;
    for (let x = 0, o = y * w; x < w; x++, o++) {
      const i = colIndex[x]!;
      const fx = colWeight[x]!;
      const a = lattice[r0 + i]!;
      const b = lattice[r0 + i + 1]!;
      const c = lattice[r1 + i]!;
      const d = lattice[r1 + i + 1]!;
      out[o]! += weight * (a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy);
    }
  }
}

/** Two octaves of value noise (cells `cell` and `cell / 2`, weights 2/3 and 1/3) over a region, in [0, 1). */
export function fractalNoise(x0: number, y0: number, w: number, h: number, cell: number, seed: number): Float32Array {
  const out = new Float32Array(w * h);
  addValueNoise(out, x0, y0, w, h, cell, seed, 2 / 3);
  addValueNoise(out, x0, y0, w, h, cell / 2, (seed ^ 0x5bd1e995) >>> 0, 1 / 3);
  return out;
}
