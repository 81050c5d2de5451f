/**
 * Predictions in network-input pixels → original image coordinates, the inverse of resize + flip used at test
 * time (mmdetection: boxes clipped to the resized image, `bboxes /= scale_factor`, flip undone as in its TTA
 * `bbox_flip`; masks cropped to the resized region and resized to the original size).
 */
import type { ImageMeta } from '../meta.js';
import { resizeNearest } from './resize.js';

type InverseMeta = Pick<ImageMeta, 'originalSize' | 'resizedSize' | 'scaleFactor' | 'flipped'>;

/**
 * Boxes `[x1, y1, x2, y2]…` on the network input → the original image: clipped to the resized image, flip undone
 * (x1 = W − x2', x2 = W − x1' with W the resized width), divided by the scale factor, clipped to the original size.
 */
export function boxesToOriginal(boxes: Float32Array, meta: InverseMeta): Float32Array {
  const { width: rw, height: rh } = meta.resizedSize;
  const { width: ow, height: oh } = meta.originalSize;
  const [sx, sy] = meta.scaleFactor;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const out = new Float32Array(boxes.length);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    let x1 = clip(boxes[i]!, rw);
    const y1 = clip(boxes[i + 1]!, rh);
    let x2 = clip(boxes[i + 2]!, rw);
    const y2 = clip(boxes[i + 3]!, rh);
    if (meta.flipped) [x1, x2] = [rw - x2, rw - x1];
    out[i] = clip(x1 / sx, ow);
    out[i + 1] = clip(y1 / sy, oh);
    out[i + 2] = clip(x2 / sx, ow);
    out[i + 3] = clip(y2 / sy, oh);
  }
  return out;
}

/**
 * A row-major bitmap on the network input (`width` × `height`, e.g. the padded batch size) → a bitmap of the
 * original image size: the resized region is cropped, the flip undone, and it is resized nearest-neighbour,
 * sampling at pixel centres (so a box-shaped mask maps back to the same pixels it was made from).
 */
export function maskToOriginal(bitmap: Uint8Array, width: number, height: number, meta: InverseMeta): Uint8Array {
  const { width: rw, height: rh } = meta.resizedSize;
  const { width: ow, height: oh } = meta.originalSize;
  if (bitmap.length !== width * height) throw new RangeError(`maskToOriginal: ${bitmap.length} bytes, expected ${height}×${width}`);
  if (width < rw || height < rh) throw new RangeError(`maskToOriginal: bitmap ${width}×${height} is smaller than the resized image ${rw}×${rh}`);
  const crop = new Uint8Array(rw * rh);
  for (let y = 0; y < rh; y++) {
    const s = y * width;
    const d = y * rw;
    if (meta.flipped) for (let x = 0; x < rw; x++) crop[d + rw - 1 - x] = bitmap[s + x]!;
    else crop.set(bitmap.subarray(s, s + rw), d);
  }
  return rw === ow && rh === oh ? crop : resizeNearest(crop, rw, rh, ow, oh, 1, 'centre');
}

/** `[x1, y1, x2, y2]…` → COCO `[x, y, w, h]` boxes (for results files). */
export function xyxyToXywh(boxes: Float32Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + 3 < boxes.length; i += 4) out.push([boxes[i]!, boxes[i + 1]!, boxes[i + 2]! - boxes[i]!, boxes[i + 3]! - boxes[i + 1]!]);
  return out;
}
