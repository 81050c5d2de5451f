/**
 * Per-image occlusion ratio (the paper's Fig. 7 x axis), computed exactly from an image's ground-truth boxes.
 *
 * The paper says "total overlap area / total instance area" without a formula. COCO masks are modal (visible
 * pixels only), so masks of different instances hardly overlap and the ratio has to come from boxes. tiedet's
 * default, `'box'`:
 *
 *     r = Σ_i area(B_i ∩ ∪_{j≠i} B_j) / Σ_i area(B_i)
 *
 * over the image's non-crowd GT boxes: the share of box area that at least one *other* instance covers. It is in
 * [0, 1]; 0 with fewer than two boxes (or when all boxes have zero area). Variant `'pairwise'`: Σ_{i<j} area(B_i ∩
 * B_j) / Σ_i area(B_i), capped at 1 (counts an area covered by k boxes k−1 times… per pair). Both are computed
 * exactly in continuous coordinates (COCO boxes are float [x, y, w, h]); no sampling, no rasterisation.
 *
 * Boxes are passed as a flat array of COCO [x, y, w, h] quadruples; a negative width or height counts as an empty
 * box (area 0).
 */

/** Area of the union of axis-aligned rectangles [x1, y1, x2, y2] (flat array, n = length / 4), exactly. */
export function unionArea(rects: ArrayLike<number>, n = Math.floor(rects.length / 4)): number {
  if (n === 0) return 0;
  if (n === 1) return Math.max(0, rects[2]! - rects[0]!) * Math.max(0, rects[3]! - rects[1]!);
  // Coordinate compression on x; in each x slab, merge the y intervals of the rectangles that span it.
  const xs: number[] = [];
  for (let k = 0; k < n; k++) {
    const x1 = rects[4 * k]!;
    const x2 = rects[4 * k + 2]!;
    if (x2 > x1 && rects[4 * k + 3]! > rects[4 * k + 1]!) xs.push(x1, x2);
  }
  if (xs.length === 0) return 0;
  xs.sort((a, b) => a - b);
  // Rectangles sorted by y1 once: each slab's interval list is then already in y1 order.
  const order: number[] = [];
  for (let k = 0; k < n; k++) if (rects[4 * k + 2]! > rects[4 * k]! && rects[4 * k + 3]! > rects[4 * k + 1]!) order.push(k);
  order.sort((a, b) => rects[4 * a + 1]! - rects[4 * b + 1]!);
  let total = 0;
  for (let s = 0; s + 1 < xs.length; s++) {
    const xa = xs[s]!;
    const xb = xs[s + 1]!;
    if (xb <= xa) continue;
    let covered = 0;
    let curLo = 0;
    let curHi = -Infinity;
    let open = false;
    for (const k of order) {
      if (rects[4 * k]! > xa || rects[4 * k + 2]! < xb) continue; // does not span the slab
      const lo = rects[4 * k + 1]!;
      const hi = rects[4 * k + 3]!;
      if (!open) {
        curLo = lo;
        curHi = hi;
        open = true;
      } else if (lo > curHi) {
        covered += curHi - curLo;
        curLo = lo;
        curHi = hi;
      } else if (hi > curHi) {
        curHi = hi;
      }
    }
    if (open) covered += curHi - curLo;
    total += covered * (xb - xa);
  }
  return total;
}

/** Σ_i area(B_i) of COCO [x, y, w, h] boxes (negative sizes count 0). */
function totalBoxArea(xywh: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.max(0, xywh[4 * i + 2]!) * Math.max(0, xywh[4 * i + 3]!);
  return s;
}

/**
 * The default occlusion ratio r = Σ_i area(B_i ∩ ∪_{j≠i} B_j) / Σ_i area(B_i) of one image's (non-crowd) boxes,
 * given as COCO [x, y, w, h] quadruples. Exact; O(n³ log n) worst case, about 1 ms for 100 heavily overlapping boxes.
 */
export function boxOcclusionRatio(xywh: ArrayLike<number>): number {
  const n = Math.floor(xywh.length / 4);
  if (n < 2) return 0;
  const denom = totalBoxArea(xywh, n);
  if (!(denom > 0)) return 0;
  const clipped = new Float64Array(4 * (n - 1));
  let covered = 0;
  for (let i = 0; i < n; i++) {
    const ax1 = xywh[4 * i]!;
    const ay1 = xywh[4 * i + 1]!;
    const ax2 = ax1 + xywh[4 * i + 2]!;
    const ay2 = ay1 + xywh[4 * i + 3]!;
    if (!(ax2 > ax1 && ay2 > ay1)) continue;
    let m = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const bx1 = Math.max(ax1, xywh[4 * j]!);
      const by1 = Math.max(ay1, xywh[4 * j + 1]!);
      const bx2 = Math.min(ax2, xywh[4 * j]! + xywh[4 * j + 2]!);
      const by2 = Math.min(ay2, xywh[4 * j + 1]! + xywh[4 * j + 3]!);
      if (bx2 > bx1 && by2 > by1) {
        clipped[4 * m] = bx1;
        clipped[4 * m + 1] = by1;
        clipped[4 * m + 2] = bx2;
        clipped[4 * m + 3] = by2;
        m++;
      }
    }
    if (m > 0) covered += unionArea(clipped, m);
  }
  return Math.min(1, covered / denom);
}

/** The pairwise variant: Σ_{i<j} area(B_i ∩ B_j) / Σ_i area(B_i), capped at 1. */
export function pairwiseOcclusionRatio(xywh: ArrayLike<number>): number {
  const n = Math.floor(xywh.length / 4);
  if (n < 2) return 0;
  const denom = totalBoxArea(xywh, n);
  if (!(denom > 0)) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const ax1 = xywh[4 * i]!;
    const ay1 = xywh[4 * i + 1]!;
    const ax2 = ax1 + xywh[4 * i + 2]!;
    const ay2 = ay1 + xywh[4 * i + 3]!;
    for (let j = i + 1; j < n; j++) {
      const w = Math.min(ax2, xywh[4 * j]! + xywh[4 * j + 2]!) - Math.max(ax1, xywh[4 * j]!);
      const h = Math.min(ay2, xywh[4 * j + 1]! + xywh[4 * j + 3]!) - Math.max(ay1, xywh[4 * j + 1]!);
      if (w > 0 && h > 0) s += w * h;
    }
  }
  return Math.min(1, s / denom);
}
