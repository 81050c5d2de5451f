/**
 * Polygons and boxes to COCO RLE (pycocotools `rleFrPoly`, `rleFrBbox`).
 * Integer arithmetic follows the C code (32-bit unsigned / signed wrap where maskApi relies on it, C's truncating
 * double→int conversion), and every floating-point expression is evaluated in the same order as in C, so results
 * are bit-identical to pycocotools (IEEE double, no FMA contraction — as in pycocotools' x86-64 builds).
 * Pure TypeScript: no TF.js, no Node APIs.
 */
import type { Rle } from './rle.js';
import { checkSize, slabCommit, slabReserve } from './rle-memory.js';

/** C's `(int)d` on x86-64 (cvttsd2si): truncation toward zero; NaN and out-of-range give INT_MIN. */
function cInt(d: number): number {
  return d > -2147483649 && d < 2147483648 ? Math.trunc(d) : -2147483648;
}

let polyX = new Int32Array(64);
let polyY = new Int32Array(64);
let polyPos = new Uint32Array(4096);
let radixTmp = new Uint32Array(4096);
const radixCount = new Int32Array(256);

/** Ascending sort of a[0..n) (LSD radix sort on bytes; insertion sort for short inputs). */
function sortU32(a: Uint32Array, n: number): void {
  if (n < 48) {
    for (let i = 1; i < n; i++) {
      const v = a[i]!;
      let j = i - 1;
      while (j >= 0 && a[j]! > v) {
        a[j + 1] = a[j]!;
        j--;
      }
      a[j + 1] = v;
    }
    return;
  }
  let max = 0;
  for (let i = 0; i < n; i++) if (a[i]! > max) max = a[i]!;
  if (radixTmp.length < n) radixTmp = new Uint32Array(Math.max(n, radixTmp.length * 2));
  let src: Uint32Array = a;
  let dst: Uint32Array = radixTmp;
  const count = radixCount;
  for (let shift = 0; shift < 32 && max >>> shift !== 0; shift += 8) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(src[i]! >>> shift) & 255]++;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      dst[count[(v >>> shift) & 255]++] = v;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== a) a.set(src.subarray(0, n));
}

let sortTmp = new Uint32Array(4096);
let sortKey = new Int32Array(4096);
let sortCount = new Int32Array(1024);

/**
 * Ascending sort of the crossing positions a[0..n) (values x*h + y, y in [0, h]): bucket by column
 * floor(v / h) (counting sort), then insertion sort, which only has the few in-column inversions left to fix.
 */
function sortCrossings(a: Uint32Array, n: number, h: number): void {
  if (n < 32) {
    sortU32(a, n);
    return;
  }
  if (sortKey.length < n) {
    sortKey = new Int32Array(Math.max(n, sortKey.length * 2));
    sortTmp = new Uint32Array(sortKey.length);
  }
  const key = sortKey;
  let kmin = 2147483647;
  let kmax = -1;
  for (let i = 0; i < n; i++) {
    const k = Math.floor(a[i]! / h);
    key[i] = k;
    if (k < kmin) kmin = k;
    if (k > kmax) kmax = k;
  }
  const nk = kmax - kmin + 1;
  if (nk > 4 * n + 1024) {
    sortU32(a, n); // sparse columns: radix sort is cheaper
    return;
  }
  if (sortCount.length < nk + 1) sortCount = new Int32Array(Math.max(nk + 1, sortCount.length * 2));
  const count = sortCount;
  count.fill(0, 0, nk + 1);
  for (let i = 0; i < n; i++) count[key[i]! - kmin + 1]++;
  for (let b = 1; b <= nk; b++) count[b] += count[b - 1]!;
  const tmp = sortTmp;
  for (let i = 0; i < n; i++) tmp[count[key[i]! - kmin]++] = a[i]!;
  for (let i = 0; i < n; i++) {
    const v = tmp[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/**
 * One step (uPrev, vPrev) → (u, v) of the outline walk on the 5× grid, u ≠ uPrev: if it crosses the centre line
 * of a pixel column inside the image, the column-major position x*h + y of the first pixel below the crossing;
 * otherwise -1. (maskApi's "get points along y-boundary and downsample" step, same double arithmetic.)
 */
function crossing(u: number, v: number, uPrev: number, vPrev: number, h: number, wMinus1: number): number {
  let xd = u < uPrev ? u : u - 1;
  xd = (xd + 0.5) / 5 - 0.5;
  if (Math.floor(xd) !== xd || xd < 0 || xd > wMinus1) return -1;
  let yd = v < vPrev ? v : vPrev;
  yd = (yd + 0.5) / 5 - 0.5;
  if (yd < 0) yd = 0;
  else if (yd > h) yd = h;
  yd = Math.ceil(yd);
  return (Math.imul(xd, h) + yd) >>> 0;
}

/** Most outline points frPoly will walk (pycocotools would allocate two int arrays of this length). */
const MAX_POLY_POINTS = 1 << 28;

/**
 * Rasterises one polygon `[x0, y0, x1, y1, …]` (pixel coordinates, COCO convention) exactly like maskApi
 * `rleFrPoly`: the outline is walked on a 5× upsampled integer grid (coordinates rounded with C's
 * `(int)(5*v + .5)`), crossings of pixel-column centres are collected, downsampled and turned into runs.
 * An odd trailing coordinate is ignored (as pycocotools' `int(len(p)/2)`); fewer than two points give an empty
 * mask. Coordinates must be finite with |5·v| < 2^31.
 *
 * Implementation: the walk and the crossing test are fused (no array of outline points), and the crossing
 * positions are radix-sorted; the output is identical to maskApi's.
 */
export function frPoly(xy: ArrayLike<number>, h: number, w: number): Rle {
  checkSize(h, w, 'frPoly');
  const k = Math.floor(xy.length / 2);
  const hw = (h * w) >>> 0;
  if (k === 0) return { h, w, counts: Uint32Array.of(hw) };
  if (polyX.length < k + 1) {
    polyX = new Int32Array(Math.max(k + 1, polyX.length * 2));
    polyY = new Int32Array(polyX.length);
  }
  const x = polyX;
  const y = polyY;
  for (let j = 0; j < k; j++) {
    const vx = 5 * xy[j * 2]! + 0.5;
    const vy = 5 * xy[j * 2 + 1]! + 0.5;
    if (!(Math.abs(vx) < 2147483648) || !(Math.abs(vy) < 2147483648)) {
      throw new RangeError(
        `frPoly: point ${j} (${String(xy[j * 2])}, ${String(xy[j * 2 + 1])}) is not finite or too far out (|5v| must be < 2^31)`,
      );
    }
    x[j] = Math.trunc(vx);
    y[j] = Math.trunc(vy);
  }
  x[k] = x[0]!;
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1;
  if (m > MAX_POLY_POINTS) throw new RangeError(`frPoly: polygon outline too long to rasterise (${m} points on the 5x grid)`);
  if (polyPos.length < m + 1) polyPos = new Uint32Array(Math.max(m + 1, polyPos.length * 2));
  const pos = polyPos;
  let np = 0;
  const wMinus1 = w === 0 ? 18446744073709551615 : w - 1; // size_t w-1 in C
  // walk the outline segment by segment (same points, same order as maskApi) and test each step for a crossing
  let pu = 0;
  let pv = 0;
  let started = false;
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    if (dx >= dy) {
      // Shallow segment: u moves by exactly 1 per step, so a step crosses a column centre only when the
      // column index it tests, (uPrev|u)-ish, is ≡ 2 (mod 5) — maskApi's `floor(xd) == xd` with
      // xd = (xi + .5)/5 - .5, which is exact for those xi and never integral for others (|xi| < 2^31).
      // Visit only those steps (every 5th); the first point is compared with the previous segment's end.
      const s = (ye - ys) / dx;
      const t0 = flip ? dx : 0;
      const u0 = t0 + xs;
      const v0 = cInt(ys + s * t0 + 0.5);
      if (started && u0 !== pu) {
        const c = crossing(u0, v0, pu, pv, h, wMinus1);
        if (c >= 0) pos[np++] = c;
      }
      started = true;
      if (dx > 0) {
        // step d-1 → d tests column xi = u_d - 1 going right (u_d = xs + d), xi = u_d going left (u_d = xs + dx - d)
        const u1 = flip ? xs + dx - 1 : xs + 1;
        const skip = flip ? (((u1 - 2) % 5) + 5) % 5 : (((3 - u1) % 5) + 5) % 5;
        for (let d = 1 + skip; d <= dx; d += 5) {
          const t = flip ? dx - d : d;
          const xd = flip ? (t + xs - 2) / 5 : (t + xs - 3) / 5;
          if (xd < 0 || xd > wMinus1) continue;
          const vv = cInt(ys + s * t + 0.5);
          const tp = flip ? t + 1 : t - 1;
          const vp = cInt(ys + s * tp + 0.5);
          let yd = vv < vp ? vv : vp;
          yd = (yd + 0.5) / 5 - 0.5;
          if (yd < 0) yd = 0;
          else if (yd > h) yd = h;
          yd = Math.ceil(yd);
          pos[np++] = (Math.imul(xd, h) + yd) >>> 0;
        }
        const tEnd = flip ? 0 : dx;
        pu = tEnd + xs;
        pv = cInt(ys + s * tEnd + 0.5);
      } else {
        pu = u0;
        pv = v0;
      }
    } else {
      const s = (xe - xs) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        const vv = t + ys;
        const uu = cInt(xs + s * t + 0.5);
        if (started && uu !== pu) {
          const c = crossing(uu, vv, pu, pv, h, wMinus1);
          if (c >= 0) pos[np++] = c;
        }
        pu = uu;
        pv = vv;
        started = true;
      }
    }
  }
  // sorted boundary positions → run lengths; coinciding positions cancel
  if (h > 0 && w > 0) {
    sortCrossings(pos, np, h); // every crossing is <= h*w: the end goes last
    pos[np++] = hw;
  } else {
    pos[np++] = hw;
    sortU32(pos, np);
  }
  const { buf: out, base } = slabReserve(np);
  let nb = 1;
  out[base] = pos[0]!;
  let j = 1;
  while (j < np) {
    const delta = pos[j]! - pos[j - 1]!;
    j++;
    if (delta > 0) out[base + nb++] = delta;
    else if (j < np) {
      // two toggles at one position cancel: the next run continues the previous one
      out[base + nb - 1] += pos[j]! - pos[j - 1]!;
      j++;
    }
  }
  return { h, w, counts: slabCommit(nb) };
}

/** Rasterises the box `[x, y, w, h]` as the polygon (x,y)→(x,y+h)→(x+w,y+h)→(x+w,y), as maskApi `rleFrBbox`. */
export function frBbox(bb: ArrayLike<number>, h: number, w: number): Rle {
  if (bb.length < 4) throw new RangeError(`frBbox: a box needs 4 numbers [x, y, w, h], got ${bb.length}`);
  const xs = bb[0]!;
  const xe = xs + bb[2]!;
  const ys = bb[1]!;
  const ye = ys + bb[3]!;
  return frPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}
