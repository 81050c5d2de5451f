/**
 * Box refinement between cascade stages, on typed arrays — mmdetection's `BBoxHead.regress_by_class` and
 * `BBoxHead.refine_bboxes` (mmdet/models/roi_heads/bbox_heads/bbox_head.py):
 *
 *   regress_by_class(rois, labels, deltas)   class-specific deltas [R·4C]: the 4 columns of each RoI's label;
 *                                            class-agnostic [R·4]: the row itself; decoded on the RoI with the
 *                                            stage's coder (means / stds, dw/dh clamp) and clipped to the resized
 *                                            image `img_shape`
 *   refine_bboxes (training)                 labels = the sampled RoIs' targets, background rows replaced by the
 *                                            argmax of the foreground logits; each image's RoIs regressed; the rows
 *                                            of GT boxes added as proposals (`pos_is_gt`, the first positives)
 *                                            dropped → the next stage's proposals
 *
 * Inference refines every RoI with the argmax foreground label (`CascadeRoIHead._refine_roi`). The results are data:
 * no gradient flows into the next stage (mmdetection refines under `torch.no_grad()`).
 */
import { decodeDeltas, type DecodeOptions } from '../../src/ops/box-coder.js';
import type { ImageMeta } from '../../data/meta.js';
import type { SampledRois } from '../mask-rcnn/roi-sampling.js';

/** A stage's delta coder (means, stds, dw/dh clamp); the clip shape comes from each image's meta. */
export type StageCoder = Omit<DecodeOptions, 'maxShape' | 'clipBorder'>;

/** Argmax over the first C of each row's C + 1 logits (the foreground classes; ties: lowest class, as torch). */
export function foregroundArgmax(logits: Float32Array, numClasses: number): Int32Array {
  const C = numClasses;
  const R = logits.length / (C + 1);
  const out = new Int32Array(R);
  for (let r = 0; r < R; r++) {
    let best = 0;
    let v = logits[r * (C + 1)]!;
    for (let c = 1; c < C; c++) {
      const x = logits[r * (C + 1) + c]!;
      if (x > v) (v = x), (best = c);
    }
    out[r] = best;
  }
  return out;
}

/** mmdetection's `regress_by_class` (see the file comment): boxes [R·4] of one image. */
export function regressByClass(
  rois: Float32Array,
  labels: Int32Array,
  deltas: Float32Array,
  numClasses: number,
  meta: ImageMeta,
  coder: StageCoder,
): Float32Array {
  const R = rois.length / 4;
  if (labels.length !== R) throw new Error(`regressByClass: ${R} RoIs but ${labels.length} labels`);
  let picked = deltas;
  if (deltas.length === 4 * R * numClasses && numClasses > 1) {
    picked = new Float32Array(4 * R);
    for (let r = 0; r < R; r++) picked.set(deltas.subarray((r * numClasses + labels[r]!) * 4, (r * numClasses + labels[r]!) * 4 + 4), 4 * r);
  } else if (deltas.length !== 4 * R) {
    throw new Error(`regressByClass: ${deltas.length} delta values for ${R} RoIs (need ${4 * R} or ${4 * R * numClasses})`);
  }
  return decodeDeltas(rois, picked, { ...coder, maxShape: [meta.resizedSize.height, meta.resizedSize.width] });
}

/**
 * mmdetection's `refine_bboxes` for a stage's sampled RoIs `s` with that stage's logits [R·(C + 1)] and deltas:
 * the next stage's proposals of every image (GT rows dropped).
 */
export function refineSampledRois(
  s: SampledRois,
  logits: Float32Array,
  deltas: Float32Array,
  numClasses: number,
  metas: readonly ImageMeta[],
  coder: StageCoder,
): Float32Array[] {
  const C = numClasses;
  const R = s.labels.length;
  if (logits.length !== R * (C + 1)) throw new Error(`refineSampledRois: ${R} RoIs but ${logits.length} logits`);
  const k = deltas.length / Math.max(R, 1);
  const fg = foregroundArgmax(logits, C);
  const labels = Int32Array.from(s.labels, (l, r) => (l === C ? fg[r]! : l));
  const out: Float32Array[] = [];
  let row = 0;
  let gtAt = 0;
  for (let i = 0; i < metas.length; i++) {
    const n = s.numPos[i]! + s.numNeg[i]!;
    const boxes = regressByClass(
      s.boxes.subarray(4 * row, 4 * (row + n)),
      labels.subarray(row, row + n),
      deltas.subarray(k * row, k * (row + n)),
      C,
      metas[i]!,
      coder,
    );
    const isGt = s.mask.isGt.subarray(gtAt, gtAt + s.numPos[i]!);
    let keep = 0;
    for (let r = 0; r < n; r++) if (!(r < isGt.length && isGt[r])) keep++;
    const kept = new Float32Array(4 * keep);
    let m = 0;
    for (let r = 0; r < n; r++) {
      if (r < isGt.length && isGt[r]) continue;
      kept.set(boxes.subarray(4 * r, 4 * r + 4), 4 * m++);
    }
    out.push(kept);
    row += n;
    gtAt += s.numPos[i]!;
  }
  return out;
}
