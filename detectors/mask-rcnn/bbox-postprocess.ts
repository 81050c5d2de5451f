/**
 * R-CNN box inference of one image on typed arrays — mmdetection's `BBoxHead._predict_by_feat_single` (rescale
 * False, as `StandardRoIHead.predict` does when a mask head follows) + `multiclass_nms`:
 *
 *   scores  = softmax(cls logits) [R, C + 1]; the background column (last) is dropped
 *   boxes   = class-specific deltas decoded on each RoI (means / stds of the box coder, dw/dh clamp), clipped to the
 *             resized image `img_shape` → [R, C, 4]
 *   keep (RoI r, class c) with score > score_thr (compared in float32, as torch), flattened in (r, c) order; per-class NMS (IoU > nms_iou_thr
 *   suppresses; classes never suppress each other); the max_per_img highest, score descending (ties: lower (r, c)).
 *
 * Boxes stay in network-input pixels: the mask head pools from them, and detection-to-original.ts maps both to the original
 * image afterwards.
 */
import { decodeDeltas, type DecodeOptions } from '../../src/ops/box-coder.js';
import { batchedNms } from '../../src/ops/nms.js';
import { pickRows } from '../../src/ops/typed-rows.js';
import type { ImageMeta } from '../../data/meta.js';
import type { RcnnTestConfig } from './config.js';

/** Detections of one image in network-input pixels. */
export interface NetDetections {
  /** [k·4] x1, y1, x2, y2 (network input). */
  boxes: Float32Array;
  /** [k] descending. */
  scores: Float32Array;
  /** [k] 0-based classes. */
  labels: Int32Array;
}

/**
 * Detections from one image's RoIs [R·4], softmax probabilities [R·(C + 1)] and deltas [R·4C] (see the file comment).
 */
export function rcnnDetections(
  rois: Float32Array,
  probs: Float32Array,
  deltas: Float32Array,
  numClasses: number,
  meta: ImageMeta,
  cfg: Pick<RcnnTestConfig, 'scoreThr' | 'nmsIouThr' | 'maxPerImg'>,
  coder: Omit<DecodeOptions, 'maxShape' | 'clipBorder'>,
): NetDetections {
  const C = numClasses;
  const R = rois.length / 4;
  if (probs.length !== R * (C + 1) || deltas.length !== R * 4 * C) {
    throw new Error(`rcnnDetections: ${R} RoIs but ${probs.length} scores and ${deltas.length} deltas for ${C} classes`);
  }
  if (R === 0) return { boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) };
  const decoded = decodeDeltas(rois, deltas, { ...coder, maxShape: [meta.resizedSize.height, meta.resizedSize.width] });
  const thr = Math.fround(cfg.scoreThr); // torch compares a float32 tensor with the threshold in float32
  let count = 0;
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) if (probs[r * (C + 1) + c]! > thr) count++;
  const boxes = new Float32Array(4 * count);
  const scores = new Float32Array(count);
  const labels = new Int32Array(count);
  let m = 0;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const s = probs[r * (C + 1) + c]!;
      if (!(s > thr)) continue;
      boxes.set(decoded.subarray((r * C + c) * 4, (r * C + c) * 4 + 4), 4 * m);
      scores[m] = s;
      labels[m++] = c;
    }
  }
  if (count === 0) return { boxes, scores, labels };
  const keep = batchedNms(boxes, scores, labels, cfg.nmsIouThr, { maxOutput: cfg.maxPerImg });
  return { boxes: pickRows(boxes, keep, 4), scores: pickRows(scores, keep, 1), labels: pickRows(labels, keep, 1) };
}
