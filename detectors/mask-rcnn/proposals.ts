/**
 * RPN proposals of one image from the raw head outputs, on typed arrays — mmdetection's
 * `RPNHead._predict_by_feat_single` + `_bbox_post_process` (rescale=False: proposals stay in network-input pixels):
 *
 *  per level:  scores = sigmoid(objectness logits) over every anchor of the level (h·w·A); if there are more than
 *              nms_pre, the nms_pre highest (sorted descending; ties by the lower anchor index; chosen on the logits
 *              with src/ops/topk.ts, so only the winners' sigmoids are computed); their deltas decoded on their
 *              anchors (coder means / stds, dw/dh clamp) and clipped to the resized image `img_shape`; level id =
 *              the level's index
 *  all levels: drop boxes with width or height ≤ min_bbox_size (when min_bbox_size ≥ 0); `batched_nms` with the
 *              level ids as classes (a level never suppresses another), IoU > iou_thr suppresses; keep the
 *              max_per_img highest (NMS output order: score descending).
 *
 * Train (nms_pre 2000) and test (1000) differ only in `ProposalConfig`. Boxes are not tensors: the RoI head reads
 * them as data (no gradient flows through proposals, as in mmdetection where they are detached).
 */
import { decodeDeltas, type DecodeOptions } from '../../src/ops/box-coder.js';
import { batchedNms } from '../../src/ops/nms.js';
import { sigmoid32 } from '../../src/ops/sigmoid32.js';
import { topKIndices } from '../../src/ops/topk.js';
import { concatArrays, pickRows } from '../../src/ops/typed-rows.js';
import type { ImageMeta } from '../../data/meta.js';
import type { LevelOutputs } from '../dense-head.js';
import type { ProposalConfig } from './config.js';

/** Proposals of one image, score descending. */
export interface Proposals {
  /** [P·4] x1, y1, x2, y2 in network-input pixels. */
  boxes: Float32Array;
  /** [P] objectness (sigmoid). */
  scores: Float32Array;
  /** [P] pyramid level (0 = P2) each proposal came from. */
  levels: Int32Array;
}

export type ProposalCoder = Omit<DecodeOptions, 'maxShape' | 'clipBorder'>;

/** Proposals of one image (see the file comment). */
export function imageProposals(levels: readonly LevelOutputs[], meta: ImageMeta, cfg: ProposalConfig, coder: ProposalCoder): Proposals {
  const maxShape: [number, number] = [meta.resizedSize.height, meta.resizedSize.width];
  const boxParts: Float32Array[] = [];
  const scoreParts: Float32Array[] = [];
  const levelParts: Int32Array[] = [];
  levels.forEach((lv, l) => {
    const count = lv.logits.length;
    if (lv.deltas.length !== 4 * count || lv.anchors.length !== 4 * count) {
      throw new Error(`imageProposals: level ${l} has ${count} logits, ${lv.deltas.length / 4} deltas and ${lv.anchors.length / 4} anchors`);
    }
    const top = topKByLogit(lv.logits, cfg.nmsPre);
    const m = top.indices.length;
    const anchors = new Float32Array(m * 4);
    const deltas = new Float32Array(m * 4);
    for (let i = 0; i < m; i++) {
      const a = top.indices[i]!;
      anchors.set(lv.anchors.subarray(4 * a, 4 * a + 4), 4 * i);
      deltas.set(lv.deltas.subarray(4 * a, 4 * a + 4), 4 * i);
    }
    boxParts.push(m > 0 ? decodeDeltas(anchors, deltas, { ...coder, maxShape }) : new Float32Array(0));
    scoreParts.push(top.scores);
    levelParts.push(new Int32Array(m).fill(l));
  });
  let boxes = concatArrays(boxParts, Float32Array);
  let scores = concatArrays(scoreParts, Float32Array);
  let lvl = concatArrays(levelParts, Int32Array);
  if (cfg.minBboxSize >= 0) {
    const keep: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      const w = boxes[4 * i + 2]! - boxes[4 * i]!;
      const h = boxes[4 * i + 3]! - boxes[4 * i + 1]!;
      if (w > cfg.minBboxSize && h > cfg.minBboxSize) keep.push(i);
    }
    if (keep.length < scores.length) [boxes, scores, lvl] = [pickRows(boxes, keep, 4), pickRows(scores, keep, 1), pickRows(lvl, keep, 1)];
  }
  if (scores.length === 0) return { boxes, scores, levels: lvl };
  const keep = batchedNms(boxes, scores, lvl, cfg.iouThr, { maxOutput: cfg.maxPerImg });
  return { boxes: pickRows(boxes, keep, 4), scores: pickRows(scores, keep, 1), levels: pickRows(lvl, keep, 1) };
}

/**
 * The `k` highest objectness scores of a level: indices and float32 sigmoid scores, score descending, ties by the
 * lower index. Selected on the logits (sigmoid is monotone), so only the k winners are exponentiated.
 */
export function topKByLogit(logits: Float32Array, k: number): { indices: Int32Array; scores: Float32Array } {
  const n = logits.length;
  for (let i = 0; i < n; i++) if (Number.isNaN(logits[i])) throw new Error(`RPN proposals: objectness logit ${i} is NaN`);
  const idx = topKIndices(logits, k);
  return { indices: idx, scores: Float32Array.from(idx, (i) => sigmoid32(logits[i]!)) };
}
