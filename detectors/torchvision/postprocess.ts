/**
 * torchvision's inference post-processing on typed arrays, one image at a time:
 *
 * `tvProposals`  — `RegionProposalNetwork.filter_proposals` (rpn.py): per level the pre_nms_top_n highest
 *   objectness LOGITS (ties: lower anchor index); their deltas decoded on their anchors (BoxCoder (1, 1, 1, 1),
 *   clamp above at log(1000/16)); sigmoid; boxes clipped to the resized image; boxes with a side < min_size
 *   dropped; scores < score_thresh dropped; NMS per level (the level is the class); the post_nms_top_n first.
 * `tvRcnnDetections` — `RoIHeads.postprocess_detections` (roi_heads.py): softmax over the 91 logits; class-specific
 *   deltas decoded on each proposal (BoxCoder (10, 10, 5, 5)) and clipped; the background (label 0) dropped;
 *   (proposal, class) pairs in that order with score > score_thresh; sides < min_size dropped; NMS per class;
 *   the detections_per_img first.
 * `tvRetinaDetections` — `RetinaNet.postprocess_detections` (retinanet.py): per level sigmoid of every
 *   (anchor, class) logit, those > score_thresh, the topk_candidates highest (ties: lower index), decoded
 *   (BoxCoder (1, 1, 1, 1)) and clipped; NMS per class over all levels; the detections_per_img first.
 *
 * NMS is src/ops/nms.ts `batchedNms` (exact per class). torchvision's `batched_nms` runs per class above 4000
 * boxes and with the coordinate-offset trick below: the offset coordinates are rounded in float32, so an IoU
 * within ~1e-6 of the threshold can decide differently there — the one place where the detection sets could
 * differ (none did on the parity fixtures).
 */
import { decodeDeltas, type Vec4 } from '../../src/ops/box-coder.js';
import { batchedNms } from '../../src/ops/nms.js';
import { sigmoid32 } from '../../src/ops/sigmoid32.js';
import { topKIndices } from '../../src/ops/topk.js';
import { concatArrays, pickRows } from '../../src/ops/typed-rows.js';
import type { LevelOutputs } from '../dense-head.js';
import type { TvRpnConfig } from './config.js';

/** Detections of one image in network-input pixels; labels are torchvision labels (COCO ids). */
export interface TvNetDetections {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

const UNIT: Vec4 = [1, 1, 1, 1];

/** Keep rows whose width and height are ≥ minSize (torchvision `remove_small_boxes`, float32). */
function largeEnough(boxes: Float32Array, minSize: number): number[] {
  const f = Math.fround;
  const m = f(minSize);
  const keep: number[] = [];
  for (let i = 0; i < boxes.length / 4; i++) {
    if (f(boxes[4 * i + 2]! - boxes[4 * i]!) >= m && f(boxes[4 * i + 3]! - boxes[4 * i + 1]!) >= m) keep.push(i);
  }
  return keep;
}

/** RPN proposals [P·4] of one image, score descending (see the file comment). `maxShape` = [h, w] resized. */
export function tvProposals(levels: readonly LevelOutputs[], maxShape: readonly [number, number], cfg: TvRpnConfig): Float32Array {
  const boxParts: Float32Array[] = [];
  const scoreParts: Float32Array[] = [];
  const lvlParts: Int32Array[] = [];
  levels.forEach((lv, l) => {
    const top = topKIndices(lv.logits, cfg.preNmsTopN);
    boxParts.push(decodeDeltas(pickRows(lv.anchors, top, 4), pickRows(lv.deltas, top, 4), { weights: UNIT, maxShape }));
    scoreParts.push(Float32Array.from(top, (i) => sigmoid32(lv.logits[i]!)));
    lvlParts.push(new Int32Array(top.length).fill(l));
  });
  let boxes = concatArrays(boxParts, Float32Array);
  let scores = concatArrays(scoreParts, Float32Array);
  let lvl = concatArrays(lvlParts, Int32Array);
  const thr = Math.fround(cfg.scoreThresh);
  const keep = largeEnough(boxes, cfg.minSize).filter((i) => scores[i]! >= thr);
  if (keep.length < scores.length) [boxes, scores, lvl] = [pickRows(boxes, keep, 4), pickRows(scores, keep, 1), pickRows(lvl, keep, 1)];
  if (scores.length === 0) return boxes;
  return pickRows(boxes, batchedNms(boxes, scores, lvl, cfg.nmsThresh, { maxOutput: cfg.postNmsTopN }), 4);
}

export interface TvRcnnPostConfig {
  boxWeights: Vec4;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  minSize: number;
}

/**
 * R-CNN detections of one image from its proposals [R·4], softmax probabilities [R·K] and deltas [R·4K] in
 * torchvision's class order (K = 91, background 0). See the file comment.
 */
export function tvRcnnDetections(
  proposals: Float32Array,
  probs: Float32Array,
  deltas: Float32Array,
  K: number,
  maxShape: readonly [number, number],
  cfg: TvRcnnPostConfig,
): TvNetDetections {
  const R = proposals.length / 4;
  if (probs.length !== R * K || deltas.length !== R * 4 * K) throw new Error(`tvRcnnDetections: ${R} proposals but ${probs.length} scores and ${deltas.length} deltas for ${K} classes`);
  const decoded = R > 0 ? decodeDeltas(proposals, deltas, { weights: cfg.boxWeights, maxShape }) : new Float32Array(0);
  const thr = Math.fround(cfg.scoreThresh);
  const rows: number[] = [];
  for (let r = 0; r < R; r++) for (let c = 1; c < K; c++) if (probs[r * K + c]! > thr) rows.push(r * K + c);
  let boxes = pickRows(decoded, rows, 4);
  let scores = Float32Array.from(rows, (i) => probs[i]!);
  let labels = Int32Array.from(rows, (i) => i % K);
  const big = largeEnough(boxes, cfg.minSize);
  if (big.length < rows.length) [boxes, scores, labels] = [pickRows(boxes, big, 4), pickRows(scores, big, 1), pickRows(labels, big, 1)];
  if (scores.length === 0) return { boxes, scores, labels };
  const keep = batchedNms(boxes, scores, labels, cfg.nmsThresh, { maxOutput: cfg.detectionsPerImg });
  return { boxes: pickRows(boxes, keep, 4), scores: pickRows(scores, keep, 1), labels: pickRows(labels, keep, 1) };
}

export interface TvRetinaPostConfig {
  scoreThresh: number;
  topkCandidates: number;
  nmsThresh: number;
  detectionsPerImg: number;
}

/** RetinaNet detections of one image from its levels (logits [h·w·A·K], deltas, anchors). See the file comment. */
export function tvRetinaDetections(levels: readonly LevelOutputs[], K: number, maxShape: readonly [number, number], cfg: TvRetinaPostConfig): TvNetDetections {
  const thr = Math.fround(cfg.scoreThresh);
  const logitFloor = thr > 0 && thr < 1 ? Math.log(thr / (1 - thr)) - 1e-3 : -Infinity;
  const boxParts: Float32Array[] = [];
  const scoreParts: Float32Array[] = [];
  const labelParts: Int32Array[] = [];
  for (const lv of levels) {
    const cand: number[] = [];
    const candScores: number[] = [];
    // sigmoid is monotone: skip logits clearly below the threshold's logit, decide the rest on the float32 sigmoid
    for (let i = 0; i < lv.logits.length; i++) {
      if (lv.logits[i]! < logitFloor) continue;
      const s = sigmoid32(lv.logits[i]!);
      if (s > thr) {
        cand.push(i);
        candScores.push(s);
      }
    }
    const sc = Float32Array.from(candScores);
    const top = topKIndices(sc, cfg.topkCandidates);
    const idx = Array.from(top, (t) => cand[t]!);
    const anchorIdx = idx.map((i) => Math.floor(i / K));
    boxParts.push(decodeDeltas(pickRows(lv.anchors, anchorIdx, 4), pickRows(lv.deltas, anchorIdx, 4), { weights: UNIT, maxShape }));
    scoreParts.push(pickRows(sc, top, 1));
    labelParts.push(Int32Array.from(idx, (i) => i % K));
  }
  const boxes = concatArrays(boxParts, Float32Array);
  const scores = concatArrays(scoreParts, Float32Array);
  const labels = concatArrays(labelParts, Int32Array);
  if (scores.length === 0) return { boxes, scores, labels };
  const keep = batchedNms(boxes, scores, labels, cfg.nmsThresh, { maxOutput: cfg.detectionsPerImg });
  return { boxes: pickRows(boxes, keep, 4), scores: pickRows(scores, keep, 1), labels: pickRows(labels, keep, 1) };
}
