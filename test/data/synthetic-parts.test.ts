/**
 * The synthetic generator's parts: the scanline rasteriser against a brute-force point-in-shape test at pixel
 * centres (every class, rotated, clipped at the image border), shape areas against the analytic ones, region
 * noise against per-pixel noise, the per-image RNG and the bin schedule, and placements (ratio in the target bin,
 * visibility thresholds, label map consistent with the modal boxes and visible counts).
 */
import { describe, expect, it } from 'vitest';
import { boxOcclusionRatio } from '../../eval/occlusion.js';
import { Rng } from '../../src/nn/rng.js';
import { fractalNoise, valueNoise } from '../../data/synthetic/noise.js';
import { modalBoxesOf, occlusionBin, Placer } from '../../data/synthetic/placement.js';
import { resolveConfig, SyntheticOptionError } from '../../data/synthetic/presets.js';
import { rasterizeToMask, type Primitive, type Shape } from '../../data/synthetic/raster.js';
import { binSchedule, imageRng } from '../../data/synthetic/schedule.js';
import { sampleShape, SHAPE_CLASSES } from '../../data/synthetic/shapes.js';

/** Even-odd inside test of one point against a shape's primitives (ray casting / ellipse equation). */
function insideShape(shape: Shape, px: number, py: number): boolean {
  let inside = false;
  const inPrim = (p: Primitive): boolean => {
    if (p.kind === 'ellipse') {
      const c = Math.cos(p.angle);
      const s = Math.sin(p.angle);
      const dx = px - p.cx;
      const dy = py - p.cy;
      const u = dx * c + dy * s;
      const v = -dx * s + dy * c;
      return (u * u) / (p.rx * p.rx) + (v * v) / (p.ry * p.ry) < 1;
    }
    let odd = false;
    const n = p.xy.length / 2;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = p.xy[2 * i]!;
      const yi = p.xy[2 * i + 1]!;
      const xj = p.xy[2 * j]!;
      const yj = p.xy[2 * j + 1]!;
      if (yi <= py !== yj <= py && px < xj + ((py - yj) * (xi - xj)) / (yi - yj)) odd = !odd;
    }
    return odd;
  };
  for (const p of shape.primitives) if (inPrim(p)) inside = !inside;
  return inside;
}

describe('rasteriser and shapes', () => {
  it('every class rasterises to exactly the pixels whose centre is inside (rotated, clipped at the border)', () => {
    const rng = new Rng(3);
    const W = 64;
    const H = 48;
    for (const cls of SHAPE_CLASSES) {
      for (let t = 0; t < 6; t++) {
        const R = rng.uniformIn(3, 30);
        const shape = sampleShape(cls, R, rng);
        const ox = rng.uniformIn(-10, W + 10);
        const oy = rng.uniformIn(-10, H + 10);
        const mask = rasterizeToMask(shape, ox, oy, W, H);
        let diff = 0;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            if ((mask[y * W + x] === 1) !== insideShape(shape, x + 0.5 - ox, y + 0.5 - oy)) diff++;
          }
        }
        expect(diff, `${cls} R=${R.toFixed(2)} at (${ox.toFixed(2)}, ${oy.toFixed(2)})`).toBe(0);
      }
    }
  });

  it('pixel areas approach the analytic areas (R = 40)', () => {
    const rng = new Rng(5);
    const R = 40;
    const count = (s: Shape) => rasterizeToMask(s, 50.3, 50.7, 101, 101).reduce((a, b) => a + b, 0);
    const rel = (got: number, want: number) => Math.abs(got - want) / want;
    expect(rel(count(sampleShape('circle', R, rng)), Math.PI * R * R)).toBeLessThan(0.01);
    expect(rel(count(sampleShape('square', R, rng)), 2 * R * R)).toBeLessThan(0.01);
    expect(rel(count(sampleShape('triangle', R, rng)), ((3 * Math.sqrt(3)) / 4) * R * R)).toBeLessThan(0.015);
    expect(rel(count(sampleShape('hexagon', R, rng)), ((3 * Math.sqrt(3)) / 2) * R * R)).toBeLessThan(0.01);
    const ring = sampleShape('ring', R, rng);
    const inner = ring.primitives[1] as Extract<Primitive, { kind: 'ellipse' }>;
    expect(rel(count(ring), Math.PI * (R * R - inner.rx * inner.rx))).toBeLessThan(0.015);
    const ell = sampleShape('ellipse', R, rng);
    const e = ell.primitives[0] as Extract<Primitive, { kind: 'ellipse' }>;
    expect(e.ry / e.rx).toBeLessThanOrEqual(0.65);
    expect(rel(count(ell), Math.PI * e.rx * e.ry)).toBeLessThan(0.015);
  });

  it('every covered pixel centre lies inside the shape bounds, and the bounds are tight', () => {
    const rng = new Rng(9);
    for (const cls of SHAPE_CLASSES) {
      const s = sampleShape(cls, 20, rng);
      const [x1, y1, x2, y2] = s.bounds;
      const mask = rasterizeToMask(s, 30, 30, 60, 60);
      let minX = Infinity;
      let maxX = -Infinity;
      let minY = Infinity;
      let maxY = -Infinity;
      for (let p = 0; p < mask.length; p++) {
        if (!mask[p]) continue;
        const cx = (p % 60) + 0.5 - 30;
        const cy = Math.floor(p / 60) + 0.5 - 30;
        minX = Math.min(minX, cx);
        maxX = Math.max(maxX, cx);
        minY = Math.min(minY, cy);
        maxY = Math.max(maxY, cy);
      }
      expect(minX >= x1 && maxX <= x2 && minY >= y1 && maxY <= y2, cls).toBe(true);
      expect(Math.max(minX - x1, x2 - maxX, minY - y1, y2 - maxY), cls).toBeLessThan(1.5);
      expect(Math.max(x2 - x1, y2 - y1), cls).toBeLessThanOrEqual(40 + 1e-9);
    }
  });
});

describe('noise, seeding and schedule', () => {
  it('region noise equals per-pixel noise (painting order does not matter)', () => {
    const region = fractalNoise(5, 7, 20, 9, 6.5, 1234);
    for (const [x, y] of [[5, 7], [13, 9], [24, 15], [10, 12]] as const) {
      const single = (2 / 3) * valueNoise(x, y, 6.5, 1234) + (1 / 3) * valueNoise(x, y, 3.25, (1234 ^ 0x5bd1e995) >>> 0);
      expect(region[(y - 7) * 20 + (x - 5)]!).toBeCloseTo(single, 6);
    }
    for (const v of region) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });

  it('image RNG depends on (seed, split, index) only', () => {
    const a = imageRng(7, 'train', 12).uniformArray(4);
    expect(Array.from(imageRng(7, 'train', 12).uniformArray(4))).toEqual(Array.from(a));
    expect(Array.from(imageRng(8, 'train', 12).uniformArray(4))).not.toEqual(Array.from(a));
    expect(Array.from(imageRng(7, 'val', 12).uniformArray(4))).not.toEqual(Array.from(a));
    expect(Array.from(imageRng(7, 'train', 13).uniformArray(4))).not.toEqual(Array.from(a));
  });

  it('the bin schedule is balanced, seeded and a subset for small splits', () => {
    const t = binSchedule(0, 'train', 95);
    const counts = new Array(10).fill(0);
    for (const b of t) counts[b]++;
    expect(Math.min(...counts)).toBe(9);
    expect(Math.max(...counts)).toBe(10);
    expect(binSchedule(0, 'train', 95)).toEqual(t);
    expect(binSchedule(1, 'train', 95)).not.toEqual(t);
    expect(new Set(binSchedule(0, 'val', 7)).size).toBe(7);
  });

  it('occlusionBin puts 1 in the last bin', () => {
    expect([0, 0.0999, 0.1, 0.7999, 0.8, 0.95, 1].map((r) => occlusionBin(r))).toEqual([0, 0, 1, 7, 8, 9, 9]);
  });

  it('options are validated with the option named', () => {
    expect(() => resolveConfig({ preset: 'huge' })).toThrow(SyntheticOptionError);
    expect(() => resolveConfig({ preset: 'huge' })).toThrow(/preset: unknown preset 'huge'/);
    expect(() => resolveConfig({ preset: 'tiny', images: 0 })).toThrow(/images: expected an integer from 2/);
    expect(() => resolveConfig({ preset: 'tiny', images: 2.5 })).toThrow(/images/);
    expect(() => resolveConfig({ preset: 'tiny', size: 16 })).toThrow(/size: expected an integer from 32/);
    expect(() => resolveConfig({ preset: 'tiny', seed: -1 })).toThrow(/seed/);
    const c = resolveConfig({ preset: 'small', images: 100, size: 200, seed: 3 });
    expect([c.train, c.val, c.size, c.seed, c.classes.length]).toEqual([86, 14, 200, 3, 8]);
    expect(c.maxRadius).toBeCloseTo(90);
  });
});

describe('placement', () => {
  const placer = new Placer({
    width: 128,
    height: 128,
    classes: ['circle', 'square', 'triangle'],
    minRadius: 4,
    maxRadius: 57.6,
    maxObjects: 6,
  });

  it('lands in every target bin with every object visible enough, and the label map agrees', () => {
    for (let bin = 0; bin < 10; bin++) {
      for (let k = 0; k < 3; k++) {
        const p = placer.place(new Rng(`place/${bin}/${k}`), bin);
        expect(p.hit, `bin ${bin} #${k}: r = ${p.ratio}`).toBe(true);
        expect(occlusionBin(p.ratio)).toBe(bin);
        expect(p.ratio).toBe(boxOcclusionRatio(p.modalBoxes));
        expect(Array.from(modalBoxesOf(p.labels, 128, p.objects.length))).toEqual(Array.from(p.modalBoxes));
        const counts = new Array(p.objects.length + 1).fill(0);
        for (const l of p.labels) counts[l]++;
        p.objects.forEach((o, i) => {
          expect(counts[i + 1]).toBe(p.visible[i]);
          expect(p.visible[i]).toBeGreaterThanOrEqual(Math.max(16, 0.2 * o.fullArea));
          const [ax, ay, aw, ah] = o.amodal;
          const [mx, my, mw, mh] = Array.from(p.modalBoxes.subarray(4 * i, 4 * i + 4));
          expect(mx! >= ax && my! >= ay && mx! + mw! <= ax + aw && my! + mh! <= ay + ah).toBe(true);
          expect(ax >= 0 && ay >= 0 && ax + aw <= 128 && ay + ah <= 128).toBe(true);
        });
      }
    }
  });

  it('is deterministic in its RNG', () => {
    const a = placer.place(new Rng(77), 6);
    const b = placer.place(new Rng(77), 6);
    expect(b.ratio).toBe(a.ratio);
    expect(Buffer.from(b.labels).equals(Buffer.from(a.labels))).toBe(true);
  });
});
