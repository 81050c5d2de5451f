/**
 * RPN proposals of one image from the raw head outputs, on typed arrays — mmdetection's
 * `RPNHead._predict_by_feat_single` + `_bbox_post_process` (rescale=False: proposals stay in network-input pixels):
 *
 *  per level:  scores = sigmoid(objectness logits) over every anchor of the level (h·w·A); if there are more than
 *              nms_pre, the nms_pre highest (sorted descending; ties by the lower anchor index; chosen on the logits,
 *              so only the winners' sigmoids are computed); their deltas decoded
 *              on their anchors (coder means / stds, dw/dh clamp) and clipped to the resized image `img_shape`;
 *              level id = the level's index
 *  all levels: drop boxes with width or height ≤ min_bbox_size (when min_bbox_size ≥ 0); `batched_nms` with the
 *              level ids as classes (a level never suppresses another), IoU > iou_thr suppresses; keep the
 *              max_per_img highest (NMS output order: score descending).
 *
 * Train (nms_pre 2000) and test (1000) differ only in `ProposalConfig`. Boxes are not tensors: the RoI head reads
 * them as data (no gradient flows through proposals, as in mmdetection where they are detached).
 */
import { decodeDeltas, type DecodeOptions } from '../../src/ops/box-coder.js';
import { batchedNms } from '../../src/ops/nms.js';
import type { ImageMeta } from '../../data/meta.js';
import { sigmoid32 } from '../retinanet/postprocess.js';
import type { ProposalConfig } from './config.js';

/** One level of one image: objectness logits [h·w·A], deltas [h·w·A·4], anchors [h·w·A·4]. */
export interface RpnLevelOutputs {
  logits: Float32Array;
  deltas: Float32Array;
  anchors: Float32Array;
}

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
export function imageProposals(levels: readonly RpnLevelOutputs[], meta: ImageMeta, cfg: ProposalConfig, coder: ProposalCoder): Proposals {
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

/** The k-th largest value (1-based k ≤ values.length) of `values`; reorders `values` (quickselect). */
function kthLargest(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[target]!;
}

/**
 * The `k` highest objectness scores of a level: indices and float32 sigmoid scores, score descending, ties by the
 * lower index. Selected on the logits (sigmoid is monotone), so only the k winners are exponentiated.
 */
export function topKByLogit(logits: Float32Array, k: number): { indices: Int32Array; scores: Float32Array } {
  const n = logits.length;
  for (let i = 0; i < n; i++) if (Number.isNaN(logits[i])) throw new Error(`RPN proposals: objectness logit ${i} is NaN`);
  let idx: Int32Array;
  if (n <= k) {
    idx = Int32Array.from({ length: n }, (_, i) => i);
  } else {
    const kth = kthLargest(Float32Array.from(logits), k);
    idx = new Int32Array(k);
    let m = 0;
    for (let i = 0; i < n; i++) if (logits[i]! > kth) idx[m++] = i;
    for (let i = 0; i < n && m < k; i++) if (logits[i] === kth) idx[m++] = i;
  }
  idx.sort((a, b) => logits[b]! - logits[a]! || a - b);
  return { indices: idx, scores: Float32Array.from(idx, (i) => sigmoid32(logits[i]!)) };
}

/** The parts one after another. */
export function concatArrays<T extends Float32Array | Int32Array>(parts: readonly T[], ctor: { new (n: number): T }): T {
  const out = new ctor(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Rows `idx` of a [n × width] typed array. */
export function pickRows<T extends Float32Array | Int32Array>(src: T, idx: ArrayLike<number>, width: number): T {
  const out = new (src.constructor as { new (n: number): T })(idx.length * width);
  for (let i = 0; i < idx.length; i++) {
    const o = idx[i]! * width;
    for (let c = 0; c < width; c++) out[i * width + c] = src[o + c]!;
  }
  return out;
}
