/**
 * COCO segmentations (polygons, uncompressed or compressed RLE) → 0/1 bitmaps at the network-input size, via the
 * COCO mask API of src/structures/ (rle*.ts, segmentation.ts).
 *
 * - Polygons are scaled by the resize's scale factor and rasterised at the resized size (`frPoly` + `merge`), as
 *   mmdetection's `PolygonMasks.rescale(...).to_bitmap()`; this avoids the blockiness of rasterising at the
 *   original size and resizing the bitmap.
 * - RLE masks (crowd regions, mask results) are decoded at the original size and resized nearest-neighbour, as
 *   mmdetection's `BitmapMasks.rescale` (mmcv `imrescale(..., interpolation='nearest')`).
 * - A flip mirrors the bitmap (mmdet `BitmapMasks.flip`), so polygon and RLE inputs flip identically.
 * - The bitmaps are written row-major into the top-left corner of `padWidth` × `padHeight` planes (zero padding,
 *   mmdet `pad_mask=True`), stacked `count × padHeight × padWidth`.
 * Malformed segmentations raise src/structures/segmentation.ts's `SegmentationError` (with the field path inside the segmentation).
 */
import { annToRle, checkSegmentation, SegmentationError } from '../../src/structures/segmentation.js';
import { decode, encode, type Rle } from '../../src/structures/rle.js';
import { frPoly } from '../../src/structures/rle-polygon.js';
import { merge } from '../../src/structures/rle-merge.js';
import { resizeNearest } from './resize.js';

export interface MaskTarget {
  /** Width and height of the original image the segmentation refers to. */
  originalWidth: number;
  originalHeight: number;
  /** Size after resizing (the bitmap's valid region). */
  width: number;
  height: number;
  /** Mirror left ↔ right (within `width`). */
  flip?: boolean;
  /** Plane size (≥ width × height); default: width × height. */
  padWidth?: number;
  padHeight?: number;
}

/** A validated polygon list scaled by (sx, sy) and rasterised as one RLE of h × w. */
function polygonsAtSize(segm: unknown[], sx: number, sy: number, h: number, w: number): Rle {
  const parts: Rle[] = [];
  for (let p = 0; p < segm.length; p++) {
    const poly = segm[p] as number[];
    const scaled = new Float64Array(poly.length);
    for (let i = 0; i < poly.length; i += 2) {
      scaled[i] = poly[i]! * sx;
      scaled[i + 1] = poly[i + 1]! * sy;
    }
    try {
      parts.push(frPoly(scaled, h, w));
    } catch (e) {
      throw new SegmentationError(`[${p}]`, (e as Error).message);
    }
  }
  return parts.length === 0 ? { h, w, counts: Uint32Array.of(h * w) } : merge(parts);
}

/**
 * Writes the foreground of `rle` (column-major runs, h × w) into `out` as a row-major plane of `pw` columns at
 * `offset`, mirrored when `flip` (x → w − 1 − x). Only the foreground's bounding rectangle is touched: the runs
 * are filled column-major into a scratch band (contiguous fills) and transposed from there, so the cost follows
 * the object's size rather than the image's.
 */
function writeRowMajor(rle: Rle, out: Uint8Array, offset: number, pw: number, flip: boolean): void {
  const { h, w, counts } = rle;
  let x0 = w;
  let x1 = -1;
  let y0 = h;
  let y1 = -1;
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j]!;
    if (j & 1 && c > 0) {
      const xa = Math.floor(pos / h);
      const xb = Math.floor((pos + c - 1) / h);
      if (xa < x0) x0 = xa;
      if (xb > x1) x1 = xb;
      if (xb > xa) {
        y0 = 0;
        y1 = h - 1;
      } else {
        const ya = pos - xa * h;
        if (ya < y0) y0 = ya;
        if (ya + c - 1 > y1) y1 = ya + c - 1;
      }
    }
    pos += c;
  }
  if (x1 < 0) return;
  const band = new Uint8Array((x1 - x0 + 1) * h);
  const base = x0 * h;
  pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j]!;
    if (j & 1 && c > 0) band.fill(1, pos - base, pos - base + c);
    pos += c;
  }
  for (let y = y0; y <= y1; y++) {
    const row = offset + y * pw;
    for (let x = x0; x <= x1; x++) {
      const v = band[(x - x0) * h + y]!;
      if (v) out[row + (flip ? w - 1 - x : x)] = 1;
    }
  }
}

/** One segmentation as an RLE at the resized size: polygons scaled and rasterised there, RLE decoded and resized. */
function segmentationRle(segm: unknown, t: MaskTarget): Rle {
  const { originalWidth: ow, originalHeight: oh, width: w, height: h } = t;
  if (Array.isArray(segm)) {
    checkSegmentation(segm, oh, ow); // structure, ≥ 3 points per polygon (no rasterising at the original size)
    return polygonsAtSize(segm, w / ow, h / oh, h, w);
  }
  const full = annToRle(segm, oh, ow);
  if (ow === w && oh === h) return full;
  const resized = resizeNearest(decode(full, 'col'), oh, ow, h, w); // column-major = row-major of the transpose
  return encode(resized, h, w, 'col');
}

/**
 * `segms` rasterised at the resized size, flipped if asked, padded: a `segms.length × padHeight × padWidth`
 * Uint8Array of 0/1. Throws `SegmentationError` (its `path` prefixed with `[k]`, the index in `segms`).
 */
export function segmentationsToBitmaps(segms: readonly unknown[], t: MaskTarget): Uint8Array {
  const { width: w, height: h } = t;
  const pw = t.padWidth ?? w;
  const ph = t.padHeight ?? h;
  if (pw < w || ph < h) throw new RangeError(`segmentationsToBitmaps: pad size ${pw}×${ph} is smaller than ${w}×${h}`);
  const out = new Uint8Array(segms.length * pw * ph);
  for (let k = 0; k < segms.length; k++) {
    let rle: Rle;
    try {
      rle = segmentationRle(segms[k], t);
    } catch (e) {
      if (e instanceof SegmentationError) throw new SegmentationError(`[${k}]${e.path}`, e.reason);
      throw e;
    }
    writeRowMajor(rle, out, k * pw * ph, pw, t.flip === true);
  }
  return out;
}
