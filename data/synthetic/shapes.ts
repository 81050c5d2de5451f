/**
 * The shape classes of the synthetic occlusion dataset and their geometry: each class turns a circumscribed radius
 * R, a rotation and a few class-specific proportions (drawn from a seeded RNG) into a {@link Shape} of polygons and
 * ellipses centred at the origin, ready for the scanline rasteriser (raster.ts).
 *
 * Classes are told apart by outline only (colour and texture are drawn independently of the class):
 * circle, square, triangle (equilateral), star (five points), hexagon, ring (annulus), cross (plus sign) and
 * ellipse (aspect ≤ 0.65, so it is never mistaken for a circle).
 */
import type { Rng } from '../../src/nn/rng.js';
import { makeShape, type Primitive, type Shape } from './raster.js';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'star', 'hexagon', 'ring', 'cross', 'ellipse'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

export function isShapeClass(name: string): name is ShapeClass {
  return (SHAPE_CLASSES as readonly string[]).includes(name);
}

/** Vertices of a polygon with radii `radii[k % radii.length]` at angles angle + 2πk/n, k = 0…n−1. */
function radialPolygon(n: number, radii: readonly number[], angle: number): Primitive {
  const xy = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const t = angle + (2 * Math.PI * k) / n;
    const r = radii[k % radii.length]!;
    xy[2 * k] = r * Math.cos(t);
    xy[2 * k + 1] = r * Math.sin(t);
  }
  return { kind: 'polygon', xy };
}

/** A plus sign of half arm width t whose arm tips touch the circle of radius R, rotated by `angle`. */
function crossPolygon(R: number, t: number, angle: number): Primitive {
  const L = Math.sqrt(R * R - t * t);
  // Twelve corners, counter-clockwise, in the unrotated frame.
  const pts = [L, -t, L, t, t, t, t, L, -t, L, -t, t, -L, t, -L, -t, -t, -t, -t, -L, t, -L, t, -t];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const xy = new Float64Array(pts.length);
  for (let i = 0; i < pts.length; i += 2) {
    xy[i] = pts[i]! * c - pts[i + 1]! * s;
    xy[i + 1] = pts[i]! * s + pts[i + 1]! * c;
  }
  return { kind: 'polygon', xy };
}

/**
 * A shape of class `cls` with circumscribed radius `R` (pixels) centred at the origin; rotation and proportions
 * are drawn from `rng` (a fixed number of draws per class, so streams stay aligned).
 */
export function sampleShape(cls: ShapeClass, R: number, rng: Rng): Shape {
  const angle = rng.uniform() * 2 * Math.PI;
  switch (cls) {
    case 'circle':
      return makeShape([{ kind: 'ellipse', cx: 0, cy: 0, rx: R, ry: R, angle: 0 }]);
    case 'square':
      return makeShape([radialPolygon(4, [R], angle)]);
    case 'triangle':
      return makeShape([radialPolygon(3, [R], angle)]);
    case 'hexagon':
      return makeShape([radialPolygon(6, [R], angle)]);
    case 'star':
      return makeShape([radialPolygon(10, [R, R * rng.uniformIn(0.4, 0.5)], angle)]);
    case 'ring': {
      const inner = R * rng.uniformIn(0.45, 0.62);
      return makeShape([
        { kind: 'ellipse', cx: 0, cy: 0, rx: R, ry: R, angle: 0 },
        { kind: 'ellipse', cx: 0, cy: 0, rx: inner, ry: inner, angle: 0 },
      ]);
    }
    case 'cross':
      return makeShape([crossPolygon(R, R * rng.uniformIn(0.24, 0.34), angle)]);
    case 'ellipse':
      return makeShape([{ kind: 'ellipse', cx: 0, cy: 0, rx: R, ry: R * rng.uniformIn(0.4, 0.65), angle }]);
  }
}
