/**
 * RetinaNet inference post-processing of one image on typed arrays — mmdetection's
 * `BaseDenseHead._predict_by_feat_single` + `_bbox_post_process` with RetinaNet's test_cfg:
 *
 *  per level:  scores = sigmoid(logits) [h·w·A, C]; keep (anchor, class) pairs with score > score_thr; of those
 *              the nms_pre highest (`filter_scores_and_topk`); decode their anchors' deltas (coder means / stds,
 *              dw/dh clamp, clipped to the resized image `img_shape`)
 *  all levels: undo the flip (x ↦ W_resized − x, in network pixels), divide by the scale factor (`rescale=True`),
 *              clip to the original image; drop boxes with width or height ≤ min_bbox_size; per-class NMS
 *              (IoU > nms_iou_thr suppresses); the max_per_img highest.
 *
 * Candidate selection: a scan over the raw logits (sigmoid is monotone, so x > logit(score_thr) − margin
 * pre-filters; the float32 sigmoid of each candidate decides) that also builds a logit histogram; a second scan
 * collects only the histogram bins that can hold the nms_pre largest; among those, the nms_pre-th largest logit
 * (quickselect, src/ops/topk.ts) bounds which candidates can still make the cut, so only those get a sigmoid, and the
 * nms_pre largest scores are selected and sorted (`topKIndices`). Order: score descending, ties by the lower flat
 * index (anchor · C + class) — mmdetection's `sort(descending=True)` leaves ties unspecified.
 */
import { decodeDeltas, type DecodeOptions } from '../../src/ops/box-coder.js';
import { batchedNms } from '../../src/ops/nms.js';
import { sigmoid32 } from '../../src/ops/sigmoid32.js';
import { kthLargest, topKIndices } from '../../src/ops/topk.js';
import { concatArrays, pickRows } from '../../src/ops/typed-rows.js';
import type { ImageMeta } from '../../data/meta.js';
import { boxesToOriginal } from '../../data/transforms/inverse.js';
import type { LevelOutputs } from '../dense-head.js';
import type { Detection } from '../detector.js';
import type { RetinaNetTestConfig } from './config.js';

/** The test config (nms_pre, score_thr, min_bbox_size, NMS IoU, max_per_img), the class count and the coder. */
export interface PostProcessOptions extends RetinaNetTestConfig {
  numClasses: number;
  coder: Omit<DecodeOptions, 'maxShape' | 'clipBorder'>;
}

export interface TopK {
  /** Flat indices (anchor · C + class), score descending, ties by index. */
  indices: Int32Array;
  scores: Float32Array;
}

/** Logit histogram of the candidate pre-selection: bins over [cut, cut + range), the top bin open-ended. */
const HIST_BINS = 4096;
const HIST_RANGE = 32;

/**
 * Scores strictly above `scoreThr` among `logits` (sigmoid), at most `k` of them, by score descending (ties: lower
 * index first). mmdetection's `filter_scores_and_topk`.
 */
export function topKAboveThreshold(logits: Float32Array, scoreThr: number, k: number): TopK {
  // Pre-filter on the logit: sigmoid(x) > thr ⇔ x > log(thr / (1 − thr)); a small margin leaves the float32 sigmoid
  // the final say at the boundary.
  const cut = scoreThr <= 0 ? -Infinity : scoreThr >= 1 ? Infinity : Math.log(scoreThr / (1 - scoreThr)) - 1e-4;
  // Pass 1 counts the candidates in a histogram of their logits; pass 2 collects only those that can make the top k
  // (see below). Millions of candidates at P3 then cost two scans, not a copy and a selection over all of them.
  const lo = Number.isFinite(cut) ? cut : -HIST_RANGE / 2;
  const hist = new Int32Array(HIST_BINS);
  const scale = HIST_BINS / HIST_RANGE;
  const binOf = (x: number) => (x - lo >= HIST_RANGE ? HIST_BINS - 1 : x <= lo ? 0 : Math.floor((x - lo) * scale));
  let count = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i]!;
    if (x > cut) {
      count++;
      hist[binOf(x)]++;
    }
  }
  // Collect x ≥ t. With more than k candidates, t is where the float32 sigmoid first reaches the score of the
  // lowest bin holding the k largest (one bin of slack against rounding): every candidate that could tie with the
  // k-th largest score — also through sigmoid saturation — is collected.
  let t = -Infinity;
  if (count > k) {
    let acc = 0;
    let firstBin = HIST_BINS - 1;
    for (; firstBin > 0; firstBin--) {
      acc += hist[firstBin]!;
      if (acc >= k) break;
    }
    if (firstBin > 1) {
      const edge = lo + (firstBin - 1) / scale;
      t = lowestLogitReaching(sigmoid32(edge), edge);
      count = 0;
      for (let b = binOf(t); b < HIST_BINS; b++) count += hist[b]!;
    }
  }
  let idx = new Int32Array(count);
  let xs = new Float32Array(count);
  let c = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i]!;
    if (x > cut && x >= t) {
      idx[c] = i;
      xs[c++] = x;
    }
  }
  if (c > k) {
    // Only candidates whose score can reach the k-th largest score S_k = sigmoid32(L_k) (L_k: the k-th largest logit;
    // the float32 sigmoid is monotone) need a sigmoid: those with x ≥ b, b the smallest x with sigmoid32(x) ≥ S_k.
    const lk = kthLargest(xs.slice(0, c), k);
    const b = lowestLogitReaching(sigmoid32(lk), lk);
    let m = 0;
    for (let i = 0; i < c; i++) {
      if (xs[i]! >= b) {
        idx[m] = idx[i]!;
        xs[m++] = xs[i]!;
      }
    }
    c = m;
  }
  let sc = new Float32Array(c);
  let m = 0;
  for (let i = 0; i < c; i++) {
    const s = sigmoid32(xs[i]!);
    if (s > scoreThr) {
      idx[m] = idx[i]!;
      sc[m++] = s;
    }
  }
  idx = idx.subarray(0, m);
  sc = sc.subarray(0, m);
  // the k highest scores, score descending, ties by the lower flat index (`idx` ascends with the position)
  const order = topKIndices(sc, k);
  return { indices: Int32Array.from(order, (o) => idx[o]!), scores: Float32Array.from(order, (o) => sc[o]!) };
}

/** The smallest x ≤ `hi` with sigmoid32(x) ≥ `score` (bisection; sigmoid32 is monotone). */
function lowestLogitReaching(score: number, hi: number): number {
  let lo = hi - 1;
  while (sigmoid32(lo) >= score && lo > -200) lo = hi - 2 * (hi - lo); // widen until below
  if (sigmoid32(lo) >= score) return -Infinity;
  // invariant: sigmoid32(lo) < score ≤ sigmoid32(hi)
  for (let it = 0; it < 80 && hi - lo > 0; it++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (sigmoid32(mid) >= score) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Detections of one image from its per-level outputs (see the file comment). */
export function postProcessImage(levels: readonly LevelOutputs[], meta: ImageMeta, opts: PostProcessOptions): Detection {
  const C = opts.numClasses;
  const [imgH, imgW] = [meta.resizedSize.height, meta.resizedSize.width];
  const boxesParts: Float32Array[] = [];
  const scoreParts: Float32Array[] = [];
  const labelParts: Int32Array[] = [];
  for (const level of levels) {
    const top = topKAboveThreshold(level.logits, opts.scoreThr, opts.nmsPre);
    const m = top.indices.length;
    if (m === 0) continue;
    const anchors = new Float32Array(m * 4);
    const deltas = new Float32Array(m * 4);
    const labels = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const flat = top.indices[i]!;
      const a = Math.floor(flat / C);
      labels[i] = flat - a * C;
      anchors.set(level.anchors.subarray(a * 4, a * 4 + 4), i * 4);
      deltas.set(level.deltas.subarray(a * 4, a * 4 + 4), i * 4);
    }
    boxesParts.push(decodeDeltas(anchors, deltas, { ...opts.coder, maxShape: [imgH, imgW] }));
    scoreParts.push(top.scores);
    labelParts.push(labels);
  }
  const boxes = concatArrays(boxesParts, Float32Array);
  const scores = concatArrays(scoreParts, Float32Array);
  const labels = concatArrays(labelParts, Int32Array);
  boxesToOriginal(boxes, meta, { out: boxes });

  // min_bbox_size filter (mmdet: keep w > min and h > min)
  const keepSize: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const w = boxes[4 * i + 2]! - boxes[4 * i]!;
    const h = boxes[4 * i + 3]! - boxes[4 * i + 1]!;
    if (w > opts.minBboxSize && h > opts.minBboxSize) keepSize.push(i);
  }
  const sb = pickRows(boxes, keepSize, 4);
  const ss = pickRows(scores, keepSize, 1);
  const sl = pickRows(labels, keepSize, 1);
  const keep = scores.length === 0 ? new Int32Array(0) : batchedNms(sb, ss, sl, opts.nmsIouThr, { maxOutput: opts.maxPerImg });
  return {
    imageId: meta.imageId,
    boxes: pickRows(sb, keep, 4),
    scores: pickRows(ss, keep, 1),
    labels: pickRows(sl, keep, 1),
  };
}
