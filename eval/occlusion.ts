/**
 * Per-image occlusion ratio (the paper's Fig. 7 x axis), computed exactly from an image's ground-truth instances.
 *
 * The paper says "total overlap area / total instance area" without a formula. COCO masks are modal (visible
 * pixels only), so masks of different instances hardly overlap and the ratio has to come from boxes. tiedet's
 * default, `'box'`:
 *
 *     r = Σ_i area(B_i ∩ ∪_{j≠i} B_j) / Σ_i area(B_i)
 *
 * over the image's non-crowd GT boxes: the share of box area that at least one *other* instance covers. It is in
 * [0, 1]; 0 with fewer than two boxes (or when all boxes have zero area). Variant `'pairwise'`: Σ_{i<j} area(B_i ∩
 * B_j) / Σ_i area(B_i), capped at 1 (an area covered by k boxes counts once per pair). Both are computed exactly in
 * continuous coordinates (COCO boxes are float [x, y, w, h]); no sampling, no rasterisation.
 *
 * Variant `'mask'`: how much of each instance's box the *visible pixels* of the other instances occupy,
 *
 *     r_mask = Σ_i |R(B_i) ∩ ∪_{j≠i} M_j| / Σ_i |R(B_i)|
 *
 * with R(B_i) the box rasterised as COCO does (`frBbox`, pixel centres inside the box) and M_j the instance's mask
 * (`annToRle` of its segmentation: polygons or RLE). An instance hidden behind another has a box that the
 * occluder's visible mask fills, so this counts occlusion where it is seen, and ignores box overlap that is
 * background on both sides (two diagonal objects whose boxes overlap only in a corner of empty space). Exact on
 * RLEs (src/structures/rle-merge.ts, rle.ts), in [0, 1]; 0 with fewer than two instances. Only masks whose pixel extent
 * (toBbox) meets a box's can cover it, so each box is intersected with the union of those few masks; in a crowded
 * image (more than 3n such pairs) the unions over j ≠ i come from prefix and suffix unions instead: O(n) merges.
 *
 * Boxes are passed as a flat array of COCO [x, y, w, h] quadruples; a negative width or height counts as an empty
 * box (area 0). `imageOcclusionRatios` computes r for every image of a dataset over its non-crowd annotations (all
 * categories). Pure TypeScript, no TF.js.
 */
import type { CocoAnnotation, CocoDataset } from './coco.js';
import { area as rleArea, toBbox, type Rle } from '../src/structures/rle.js';
import { frBbox } from '../src/structures/rle-polygon.js';
import { merge } from '../src/structures/rle-merge.js';

/** Which occlusion ratio: see the file comment. */
export type OcclusionDefinition = 'box' | 'pairwise' | 'mask';

export const OCCLUSION_DEFINITIONS: readonly OcclusionDefinition[] = ['box', 'pairwise', 'mask'];

/** The definitions in words, for reports. */
export const OCCLUSION_DEFINITION_TEXT: Record<OcclusionDefinition, { formula: string; text: string }> = {
  box: {
    formula: 'r = Σ_i area(B_i ∩ ∪_{j≠i} B_j) / Σ_i area(B_i)',
    text:
      "the share of the image's total ground-truth box area that is covered by at least one other instance's box " +
      '(non-crowd instances of all categories; 0 for an image with fewer than two). Computed exactly, in [0, 1].',
  },
  pairwise: {
    formula: 'r = min(1, Σ_{i<j} area(B_i ∩ B_j) / Σ_i area(B_i))',
    text:
      "the summed area of all pairwise intersections of the image's ground-truth boxes over their total area, capped " +
      'at 1 (an area covered by k boxes counts once per pair; non-crowd instances of all categories).',
  },
  mask: {
    formula: 'r = Σ_i |R(B_i) ∩ ∪_{j≠i} M_j| / Σ_i |R(B_i)|',
    text:
      "the share of the pixels of each instance's (rasterised) ground-truth box that the visible masks of the other " +
      'instances occupy, summed over instances (non-crowd instances of all categories; COCO masks are modal). ' +
      'Computed exactly on run-length masks, in [0, 1].',
  },
};

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

/**
 * The mask variant for one image: `boxes` are the instances' COCO [x, y, w, h] boxes (flat), `masks` their masks
 * (RLEs of the image's size h × w), in the same order.
 */
export function maskOcclusionRatio(boxes: ArrayLike<number>, masks: readonly Rle[], h: number, w: number): number {
  const n = masks.length;
  if (Math.floor(boxes.length / 4) !== n) {
    throw new RangeError(`maskOcclusionRatio: ${Math.floor(boxes.length / 4)} boxes but ${n} masks`);
  }
  for (let i = 0; i < n; i++) {
    const m = masks[i]!;
    if (m.h !== h || m.w !== w) throw new RangeError(`maskOcclusionRatio: mask ${i} is ${m.h}x${m.w}, the image ${h}x${w}`);
  }
  if (n < 2) return 0;
  const rect = masks.map((_, i) => frBbox([boxes[4 * i]!, boxes[4 * i + 1]!, Math.max(0, boxes[4 * i + 2]!), Math.max(0, boxes[4 * i + 3]!)], h, w));
  // pixel extents (toBbox: a superset of the pixels) — masks whose extent misses a box cannot cover any of its pixels
  const extent = (r: Rle) => toBbox(r);
  const mExt = masks.map(extent);
  const rExt = rect.map(extent);
  const meets = (a: number[], b: number[]) =>
    a[2]! > 0 && a[3]! > 0 && b[2]! > 0 && b[3]! > 0 && a[0]! < b[0]! + b[2]! && b[0]! < a[0]! + a[2]! && a[1]! < b[1]! + b[3]! && b[1]! < a[1]! + a[3]!;
  const near: number[][] = [];
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    const js: number[] = [];
    for (let j = 0; j < n; j++) if (j !== i && meets(rExt[i]!, mExt[j]!)) js.push(j);
    near.push(js);
    pairs += js.length;
  }
  let total = 0;
  for (const r of rect) total += rleArea(r);
  if (!(total > 0)) return 0;
  let covered = 0;
  if (pairs <= 3 * n) {
    // few neighbours (the usual case): per instance, the union of the masks that reach its box
    for (let i = 0; i < n; i++) {
      const js = near[i]!;
      if (js.length === 0) continue;
      const others = js.length === 1 ? masks[js[0]!]! : merge(js.map((j) => masks[j]!));
      covered += rleArea(merge([rect[i]!, others], true));
    }
  } else {
    // crowded: ∪_{j≠i} M_j = prefix_i ∪ suffix_{i+1}, O(n) merges in all
    const suffix = new Array<Rle | undefined>(n + 1);
    for (let i = n - 1; i >= 0; i--) {
      const next = suffix[i + 1];
      suffix[i] = next ? merge([masks[i]!, next]) : masks[i]!;
    }
    let prefix: Rle | undefined;
    for (let i = 0; i < n; i++) {
      const after = suffix[i + 1];
      if (near[i]!.length > 0) {
        const others = prefix && after ? merge([prefix, after]) : (prefix ?? after)!;
        covered += rleArea(merge([rect[i]!, others], true));
      }
      prefix = prefix ? merge([prefix, masks[i]!]) : masks[i]!;
    }
  }
  return Math.min(1, covered / total);
}

/** The non-crowd annotations of one image (the instances the occlusion ratio is about). */
export function occlusionInstances(gt: CocoDataset, imgId: number): CocoAnnotation[] {
  return gt.annsByImage(imgId).filter((a) => !a.iscrowd);
}

/** The occlusion ratio of one image of `gt` (non-crowd annotations of all categories). */
export function imageOcclusionRatio(gt: CocoDataset, imgId: number, definition: OcclusionDefinition = 'box'): number {
  const anns = occlusionInstances(gt, imgId);
  if (anns.length < 2) return 0;
  const boxes = new Float64Array(anns.length * 4);
  anns.forEach((a, i) => boxes.set(a.bbox, 4 * i));
  switch (definition) {
    case 'box':
      return boxOcclusionRatio(boxes);
    case 'pairwise':
      return pairwiseOcclusionRatio(boxes);
    case 'mask': {
      const img = gt.images.get(imgId)!;
      // gt.rle is annToRle with the image size, cached; a missing or malformed segmentation is a CocoFormatError
      // naming the file, the record and the field
      return maskOcclusionRatio(boxes, anns.map((a) => gt.rle(a)), img.height, img.width);
    }
    default:
      throw new Error(`unknown occlusion definition '${String(definition)}' (expected ${OCCLUSION_DEFINITIONS.join(', ')})`);
  }
}

/** r of every image of `gt` (ascending image id), over its non-crowd annotations of all categories. */
export function imageOcclusionRatios(gt: CocoDataset, definition: OcclusionDefinition = 'box'): Map<number, number> {
  if (!OCCLUSION_DEFINITIONS.includes(definition)) {
    throw new Error(`unknown occlusion definition '${String(definition)}' (expected ${OCCLUSION_DEFINITIONS.join(', ')})`);
  }
  const out = new Map<number, number>();
  for (const id of gt.getImgIds()) out.set(id, imageOcclusionRatio(gt, id, definition));
  return out;
}
