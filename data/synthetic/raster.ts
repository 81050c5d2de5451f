/**
 * Scanline rasteriser for the synthetic dataset: a shape (polygons and ellipses combined with the even-odd rule)
 * → the pixel spans it covers, without anti-aliasing, so masks are exact ground truth.
 *
 * Sampling rule (the usual one of scanline polygon filling, as in pycocotools' `frPoly` and most 2-D renderers):
 * pixel (x, y) is inside when its centre (x + 0.5, y + 0.5) is; a polygon edge crosses row y when its endpoints
 * straddle y + 0.5 half-openly (y0 ≤ yc < y1 or y1 ≤ yc < y0), so shared vertices are counted once; a span
 * [a, b) covers the pixels whose centre lies in [a, b). Each primitive contributes an even number of crossings per
 * row, so sorting all crossings and filling between pairs gives the even-odd combination (a ring is an outer and an
 * inner ellipse). Pure TypeScript on typed arrays.
 */

/** A closed polygon (vertices x0, y0, x1, y1, …) or a rotated ellipse, in pixel coordinates relative to the shape. */
export type Primitive =
  | { kind: 'polygon'; xy: Float64Array }
  | { kind: 'ellipse'; cx: number; cy: number; rx: number; ry: number; angle: number };

/** Primitives combined with the even-odd rule, relative to an origin; `bounds` [x1, y1, x2, y2] encloses them. */
export interface Shape {
  primitives: Primitive[];
  bounds: [number, number, number, number];
}

/** Continuous bounds [x1, y1, x2, y2] of a primitive. */
export function primitiveBounds(p: Primitive): [number, number, number, number] {
  if (p.kind === 'ellipse') {
    const c = Math.cos(p.angle);
    const s = Math.sin(p.angle);
    const ex = Math.sqrt(p.rx * p.rx * c * c + p.ry * p.ry * s * s);
    const ey = Math.sqrt(p.rx * p.rx * s * s + p.ry * p.ry * c * c);
    return [p.cx - ex, p.cy - ey, p.cx + ex, p.cy + ey];
  }
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (let i = 0; i < p.xy.length; i += 2) {
    x1 = Math.min(x1, p.xy[i]!);
    x2 = Math.max(x2, p.xy[i]!);
    y1 = Math.min(y1, p.xy[i + 1]!);
    y2 = Math.max(y2, p.xy[i + 1]!);
  }
  return [x1, y1, x2, y2];
}

/** A shape from primitives, with its bounds computed. */
export function makeShape(primitives: Primitive[]): Shape {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of primitives) {
    const q = primitiveBounds(p);
    b[0] = Math.min(b[0], q[0]);
    b[1] = Math.min(b[1], q[1]);
    b[2] = Math.max(b[2], q[2]);
    b[3] = Math.max(b[3], q[3]);
  }
  return { primitives, bounds: b };
}

/** Adds to `out` the x coordinates where the primitive's boundary crosses the horizontal line y = yc. */
function crossings(p: Primitive, yc: number, out: number[]): void {
  if (p.kind === 'polygon') {
    const xy = p.xy;
    const n = xy.length >> 1;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = xy[2 * i]!;
      const yi = xy[2 * i + 1]!;
      const xj = xy[2 * j]!;
      const yj = xy[2 * j + 1]!;
      if (yi <= yc !== yj <= yc) out.push(xj + ((yc - yj) * (xi - xj)) / (yi - yj));
    }
    return;
  }
  // Rotated ellipse: u = dx·c + dy·s, v = −dx·s + dy·c, u²/rx² + v²/ry² = 1 → A dx² + B dx + C = 0.
  const c = Math.cos(p.angle);
  const s = Math.sin(p.angle);
  const irx = 1 / (p.rx * p.rx);
  const iry = 1 / (p.ry * p.ry);
  const dy = yc - p.cy;
  const A = c * c * irx + s * s * iry;
  const B = 2 * dy * c * s * (irx - iry);
  const C = dy * dy * (s * s * irx + c * c * iry) - 1;
  const disc = B * B - 4 * A * C;
  if (disc <= 0) return;
  const root = Math.sqrt(disc);
  out.push(p.cx + (-B - root) / (2 * A), p.cx + (-B + root) / (2 * A));
}

/** A growable list of pixel spans (y, x0, x1) — row y, pixels x0 ≤ x < x1 — filled by {@link rasterizeSpans}. */
export class Spans {
  data = new Int32Array(3 * 256);
  count = 0;

  push(y: number, x0: number, x1: number): void {
    if (3 * this.count + 3 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const o = 3 * this.count++;
    this.data[o] = y;
    this.data[o + 1] = x0;
    this.data[o + 2] = x1;
  }
}

const crossingScratch: number[] = [];

/**
 * Replaces the content of `out` with the runs of covered pixels of a width × height image, the shape translated
 * by (ox, oy): rows top to bottom, spans left to right, clipped to the image. Returns `out`.
 */
export function rasterizeSpans(shape: Shape, ox: number, oy: number, width: number, height: number, out: Spans): Spans {
  out.count = 0;
  const yStart = Math.max(0, Math.floor(shape.bounds[1] + oy - 0.5));
  const yEnd = Math.min(height - 1, Math.ceil(shape.bounds[3] + oy));
  const xs = crossingScratch;
  for (let y = yStart; y <= yEnd; y++) {
    const yc = y + 0.5 - oy;
    xs.length = 0;
    for (const p of shape.primitives) crossings(p, yc, xs);
    if (xs.length < 2) continue;
    if (xs.length === 2) {
      if (xs[0]! > xs[1]!) xs.reverse();
    } else {
      xs.sort((a, b) => a - b);
    }
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [a, b): x from ceil(a − 0.5) to ceil(b − 0.5) − 1.
      const x0 = Math.max(0, Math.ceil(xs[k]! + ox - 0.5));
      const x1 = Math.min(width, Math.ceil(xs[k + 1]! + ox - 0.5));
      if (x1 > x0) out.push(y, x0, x1);
    }
  }
  return out;
}

/** The shape as a row-major 0/1 bitmap of width × height bytes (for tests and inspection). */
export function rasterizeToMask(shape: Shape, ox: number, oy: number, width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  const spans = rasterizeSpans(shape, ox, oy, width, height, new Spans());
  for (let k = 0; k < spans.count; k++) {
    const y = spans.data[3 * k]!;
    mask.fill(1, y * width + spans.data[3 * k + 1]!, y * width + spans.data[3 * k + 2]!);
  }
  return mask;
}
