/**
 * Detections in network-input pixels + their M×M mask probabilities → the `Detection` of the ORIGINAL image:
 * mmdetection's `FCNMaskHead._predict_by_feat_single` with `rescale=True` (boxes / scale_factor, masks pasted into
 * `ori_shape` by src/ops/paste-masks.ts, probability ≥ `mask_thr_binary` is foreground, then COCO RLE), extended
 * with the horizontal flip mmdetection's test pipeline never applies:
 *
 *   a box predicted on a flipped input, [x1, x2] in network pixels, is [W_r − x2, W_r − x1] on the unflipped
 *   input (W_r = resized width), and its mask's columns are reversed (column j ↔ M − 1 − j) — the paste grid is
 *   symmetric about the box centre, so this is the exact mirror image of pasting on the flipped image.
 *
 * Paste boxes are the rescaled boxes unclipped (as mmdetection pastes `bboxes / scale_factor`); the boxes reported
 * are the same clipped to the original image (the `Detection` contract).
 */
import { toCompressed } from '../../src/structures/rle-string.js';
import { pasteMasks } from '../../src/ops/paste-masks.js';
import type { ImageMeta } from '../../data/meta.js';
import { boxesToOriginal } from '../../data/transforms/inverse.js';
import type { Detection } from '../detector.js';
import type { CompressedRle } from '../../src/structures/rle.js';
import type { NetDetections } from './bbox-postprocess.js';

/** Reverse the columns of each of the K row-major M×M maps (a new array). */
export function mirrorMasks(probs: Float32Array, M: number): Float32Array {
  const out = new Float32Array(probs.length);
  for (let o = 0; o < probs.length; o += M) {
    for (let j = 0; j < M; j++) out[o + j] = probs[o + M - 1 - j]!;
  }
  return out;
}

/**
 * One image's detections (network pixels) and mask probabilities [k·M·M] (row-major, detection order) → its
 * `Detection` with boxes and COCO RLE masks in original image pixels. `probs` null → no masks.
 */
export function detectionToOriginal(
  det: NetDetections,
  probs: Float32Array | null,
  M: number,
  meta: ImageMeta,
  maskThr: number,
): Detection {
  const k = det.scores.length;
  const boxes = boxesToOriginal(det.boxes, meta);
  const { width: W, height: H } = meta.originalSize;
  const out: Detection = { imageId: meta.imageId, boxes, scores: det.scores, labels: det.labels };
  if (probs) {
    if (probs.length !== k * M * M) throw new Error(`detectionToOriginal: ${probs.length} mask values for ${k} detections of ${M}×${M}`);
    const maps = meta.flipped ? mirrorMasks(probs, M) : probs;
    const masks: CompressedRle[] = k === 0 ? [] : pasteMasks(maps, boxesToOriginal(det.boxes, meta, { clip: false }), H, W, { threshold: maskThr, maskSize: M }).map(toCompressed);
    out.masks = masks;
  }
  return out;
}
