/**
 * Predictions in network-input pixels → original image coordinates, the inverse of resize + flip used at test
 * time (mmdetection: boxes clipped to the resized image, `bboxes /= scale_factor`, flip undone as in its TTA
 * `bbox_flip`; masks cropped to the resized region and resized to the original size).
 */
import type { ImageMeta } from '../meta.js';
import { resizeNearest } from './resize.js';

type InverseMeta = Pick<ImageMeta, 'originalSize' | 'resizedSize' | 'scaleFactor' | 'flipped'>;

export interface BoxesToOriginalOptions {
  /** Clip the result to the original image (default true; Mask R-CNN pastes its masks with unclipped boxes). */
  clip?: boolean;
  /** Where to write (default a new array); `boxes` itself works in place. */
  out?: Float32Array;
}

/**
 * Boxes `[x1, y1, x2, y2]…` on the network input → the original image, the one way back every detector and tool
 * takes: clipped to the resized image (a no-op for the detectors, whose decoders already clip there), flip undone
 * (x1 = W − x2', x2 = W − x1' with W the resized width), divided by the scale factor, and — unless `clip` is
 * false — clipped to the original size.
 */
export function boxesToOriginal(boxes: Float32Array, meta: InverseMeta, opts: BoxesToOriginalOptions = {}): Float32Array {
  const { width: rw, height: rh } = meta.resizedSize;
  const { width: ow, height: oh } = meta.originalSize;
  const [sx, sy] = meta.scaleFactor;
  const clip = opts.clip ?? true;
  const out = opts.out ?? new Float32Array(boxes.length);
  if (out.length !== boxes.length) throw new RangeError(`boxesToOriginal: out has ${out.length} values for ${boxes.length}`);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    let x1 = clamp(boxes[i]!, rw);
    let y1 = clamp(boxes[i + 1]!, rh);
    let x2 = clamp(boxes[i + 2]!, rw);
    let y2 = clamp(boxes[i + 3]!, rh);
    if (meta.flipped) [x1, x2] = [rw - x2, rw - x1];
    x1 /= sx;
    y1 /= sy;
    x2 /= sx;
    y2 /= sy;
    out[i] = clip ? clamp(x1, ow) : x1;
    out[i + 1] = clip ? clamp(y1, oh) : y1;
    out[i + 2] = clip ? clamp(x2, ow) : x2;
    out[i + 3] = clip ? clamp(y2, oh) : y2;
  }
  return out;
}

function clamp(v: number, hi: number): number {
  return v < 0 ? 0 : v > hi ? hi : v;
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
