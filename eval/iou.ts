/**
 * IoU of detections against ground truth, boxes or COCO RLE masks, with pycocotools' crowd rule (`maskApi.c`
 * `bbIou`, `rleIou`): what COCO evaluation (cocoeval/) and the occlusion statistics use. The RLE codec itself is a
 * structure (src/structures/rle.ts).
 * Integer arithmetic follows the C code (32-bit unsigned / signed wrap where maskApi relies on it, C's truncating
 * double→int conversion), and every floating-point expression is evaluated in the same order as in C, so results
 * are bit-identical to pycocotools (IEEE double, no FMA contraction — as in pycocotools' x86-64 builds).
 * Pure TypeScript: no TF.js, no Node APIs.
 */
import { area, toBbox, type Rle } from '../src/structures/rle.js';

/** C's fmin/fmax (NaN loses against a number). */
function fmin(a: number, b: number): number {
  return a < b || b !== b ? a : b;
}
function fmax(a: number, b: number): number {
  return a > b || b !== b ? a : b;
}

function crowdFlags(iscrowd: ArrayLike<number | boolean>, n: number, fn: string): Uint8Array {
  if (iscrowd.length !== n) {
    throw new RangeError(`${fn}: iscrowd has ${iscrowd.length} entries but there are ${n} ground-truth objects`);
  }
  const f = new Uint8Array(n);
  for (let i = 0; i < n; i++) f[i] = iscrowd[i] ? 1 : 0;
  return f;
}

/** maskApi bbIou on packed boxes; writes o[d*n + g]. */
function bbIouInto(
  dt: ArrayLike<number>,
  gt: ArrayLike<number>,
  m: number,
  n: number,
  crowd: Uint8Array,
  o: Float64Array,
): void {
  for (let g = 0; g < n; g++) {
    const g0 = gt[g * 4]!;
    const g1 = gt[g * 4 + 1]!;
    const g2 = gt[g * 4 + 2]!;
    const g3 = gt[g * 4 + 3]!;
    const ga = g2 * g3;
    const gx2 = g2 + g0;
    const gy2 = g3 + g1;
    const isCrowd = crowd[g] === 1;
    for (let d = 0; d < m; d++) {
      const d0 = dt[d * 4]!;
      const d1 = dt[d * 4 + 1]!;
      const d2 = dt[d * 4 + 2]!;
      const d3 = dt[d * 4 + 3]!;
      const da = d2 * d3;
      const idx = d * n + g;
      o[idx] = 0;
      const iw = fmin(d2 + d0, gx2) - fmax(d0, g0);
      if (iw <= 0) continue;
      const ih = fmin(d3 + d1, gy2) - fmax(d1, g1);
      if (ih <= 0) continue;
      const i = iw * ih;
      const u = isCrowd ? da : da + ga - i;
      o[idx] = i / u;
    }
  }
}

/**
 * IoU of boxes packed as `[x, y, w, h]` × n (no +1), as maskApi `bbIou`. Result `[dt.length/4 × gt.length/4]`,
 * row-major (`o[d * nGt + g]`). For a crowd ground truth the union is the detection's area.
 */
export function bboxIou(dt: ArrayLike<number>, gt: ArrayLike<number>, iscrowd: ArrayLike<number | boolean>): Float64Array {
  if (dt.length % 4 !== 0 || gt.length % 4 !== 0) {
    throw new RangeError(`bboxIou: boxes must be packed [x, y, w, h]*n, got ${dt.length} and ${gt.length} numbers`);
  }
  const m = dt.length / 4;
  const n = gt.length / 4;
  const crowd = crowdFlags(iscrowd, n, 'bboxIou');
  const o = new Float64Array(m * n);
  if (m === 0 || n === 0) return o;
  bbIouInto(dt, gt, m, n, crowd, o);
  return o;
}

/**
 * Mask IoU as maskApi `rleIou`: `intersection / union`, or `intersection / area(dt)` for crowd ground truth.
 * Result `[dt.length × gt.length]`, row-major (`o[d * gt.length + g]`). As in maskApi the exact run walk is done
 * only where the boxes from {@link toBbox} overlap (box IoU > 0); pairs of different sizes that do overlap give −1.
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd: ArrayLike<number | boolean>): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const crowd = crowdFlags(iscrowd, n, 'rleIou');
  const o = new Float64Array(m * n);
  if (m === 0 || n === 0) return o;
  const db = new Float64Array(m * 4);
  const gb = new Float64Array(n * 4);
  for (let d = 0; d < m; d++) db.set(toBbox(dt[d]!), d * 4);
  for (let g = 0; g < n; g++) gb.set(toBbox(gt[g]!), g * 4);
  bbIouInto(db, gb, m, n, crowd, o);
  for (let g = 0; g < n; g++) {
    const G = gt[g]!;
    const gc = G.counts;
    const kb = gc.length;
    const isCrowd = crowd[g] === 1;
    for (let d = 0; d < m; d++) {
      const idx = d * n + g;
      if (!(o[idx]! > 0)) continue;
      const D = dt[d]!;
      if (D.h !== G.h || D.w !== G.w) {
        o[idx] = -1;
        continue;
      }
      const dc = D.counts;
      const ka = dc.length;
      let ca = ka > 0 ? dc[0]! : 0;
      let cb = kb > 0 ? gc[0]! : 0;
      let va = false;
      let vb = false;
      let a = 1;
      let b = 1;
      let inter = 0;
      let uni = 0;
      let ct = 1;
      while (ct > 0) {
        const c = ca < cb ? ca : cb;
        if (va || vb) {
          uni += c;
          if (va && vb) inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < ka) {
          ca = dc[a++]!;
          va = !va;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < kb) {
          cb = gc[b++]!;
          vb = !vb;
        }
        ct += cb;
      }
      if (inter === 0) uni = 1;
      else if (isCrowd) uni = area(D);
      o[idx] = inter / uni;
    }
  }
  return o;
}
