/**
 * Training RoIs of the R-CNN heads for a batch, on typed arrays — mmdetection's `StandardRoIHead.loss` front half
 * (bbox_assigner / bbox_sampler per image, `bbox2roi`, `BBoxHead.get_targets`, and the positive RoIs of the mask
 * branch) with Mask R-CNN's rcnn train_cfg:
 *
 *  per image i:
 *    assign  = MaxIoUAssigner(proposals, GT boxes, crowd boxes as ignore regions)   (0.5 / 0.5 / min_pos 0.5)
 *    sample  = RandomSampler(512, 0.25, add_gt_as_proposals): the GT boxes are prepended to the proposals as
 *              positives of themselves, so every GT is a candidate RoI; ≤ 128 positives at random, negatives fill
 *              up to 512 (seeded `Rng`)
 *    RoIs    = the sampled positives' boxes, then the negatives' (mmdet `SamplingResult.priors` = cat(pos, neg))
 *    labels  = the GT label for positives, `numClasses` (background) for negatives
 *    deltas  = coder.encode(positive RoI, its GT box) with the box head's stds (0.1, 0.1, 0.2, 0.2)
 *  RoIs of all images are concatenated in image order with their batch index (`bbox2roi`).
 *
 * The mask branch trains on the positives only (`pos_priors`, `pos_assigned_gt_inds`, `pos_gt_labels`), in the same
 * order: `maskRois` lists them with their image and GT index.
 */
import type { Rng } from '../../src/nn/rng.js';
import { maxIouAssign, type MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import { encodeDeltas, type DeltaCoderOptions } from '../../src/ops/box-coder.js';
import { randomSample, type RandomSamplerOptions } from '../../src/ops/samplers.js';
import { concatArrays } from '../../src/ops/typed-rows.js';
import type { ImageMeta } from '../../data/meta.js';
import type { DetectionTargets } from '../detector.js';
import { checkImageTargets } from '../input-checks.js';
import type { BBoxTargets } from './bbox-head.js';

export interface RoiSamplingOptions {
  numClasses: number;
  assigner: MaxIoUAssignerOptions;
  sampler: RandomSamplerOptions;
  coder: DeltaCoderOptions;
}

/** The positive RoIs (mask branch), in RoI order. */
export interface MaskRois {
  /** [P·4] boxes. */
  boxes: Float32Array;
  /** [P] image of each. */
  batch: Int32Array;
  /** [P] index of the assigned GT within its image. */
  gtIndex: Int32Array;
  /** [P] GT label. */
  labels: Int32Array;
  /** [P] 1 when the RoI is a GT box added as a proposal. */
  isGt: Uint8Array;
}

export interface SampledRois extends BBoxTargets {
  /** [R·4] RoI boxes (network-input pixels): per image the positives, then the negatives. */
  boxes: Float32Array;
  /** [R] batch index of each RoI. */
  batch: Int32Array;
  mask: MaskRois;
  /** Per image: number of positives and negatives sampled. */
  numPos: number[];
  numNeg: number[];
}

/** Sample the training RoIs of every image (see the file comment). `proposals[i]` is image i's [P·4] boxes. */
export function sampleRois(
  proposals: readonly Float32Array[],
  metas: readonly ImageMeta[],
  targets: readonly DetectionTargets[],
  opts: RoiSamplingOptions,
  rng: Rng,
): SampledRois {
  const n = metas.length;
  if (proposals.length !== n || targets.length !== n) {
    throw new Error(`sampleRois: ${n} images, ${proposals.length} proposal sets, ${targets.length} targets`);
  }
  const C = opts.numClasses;
  const boxes: Float32Array[] = [];
  const batch: Int32Array[] = [];
  const labels: Int32Array[] = [];
  const posRows: number[] = [];
  const deltas: Float32Array[] = [];
  const mBoxes: Float32Array[] = [];
  const mBatch: Int32Array[] = [];
  const mGt: Int32Array[] = [];
  const mLabels: Int32Array[] = [];
  const mIsGt: Uint8Array[] = [];
  const numPos: number[] = [];
  const numNeg: number[] = [];
  let row = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    checkImageTargets(t, i, metas[i]!, C);
    const props = proposals[i]!;
    const assign = maxIouAssign({ priors: props, gtBoxes: t.boxes, gtLabels: t.labels, ignoreBoxes: t.ignoreBoxes }, opts.assigner);
    const s = randomSample(assign, props, t.boxes, t.labels, opts.sampler, rng);
    const p = s.posInds.length;
    const q = s.negInds.length;
    const roi = new Float32Array(4 * (p + q));
    roi.set(s.posPriors, 0);
    roi.set(s.negPriors, 4 * p);
    boxes.push(roi);
    batch.push(new Int32Array(p + q).fill(i));
    const lab = new Int32Array(p + q).fill(C);
    lab.set(s.posGtLabels, 0);
    labels.push(lab);
    for (let k = 0; k < p; k++) posRows.push(row + k);
    if (p > 0) deltas.push(encodeDeltas(s.posPriors, s.posGtBoxes, opts.coder));
    mBoxes.push(s.posPriors);
    mBatch.push(new Int32Array(p).fill(i));
    mGt.push(s.posAssignedGtInds);
    mLabels.push(s.posGtLabels);
    mIsGt.push(s.posIsGt);
    numPos.push(p);
    numNeg.push(q);
    row += p + q;
  }
  const isGt = new Uint8Array(mIsGt.reduce((a, b) => a + b.length, 0));
  mIsGt.reduce((at, part) => (isGt.set(part, at), at + part.length), 0);
  return {
    boxes: concatArrays(boxes, Float32Array),
    batch: concatArrays(batch, Int32Array),
    labels: concatArrays(labels, Int32Array),
    posRows: Int32Array.from(posRows),
    deltas: concatArrays(deltas, Float32Array),
    mask: {
      boxes: concatArrays(mBoxes, Float32Array),
      batch: concatArrays(mBatch, Int32Array),
      gtIndex: concatArrays(mGt, Int32Array),
      labels: concatArrays(mLabels, Int32Array),
      isGt,
    },
    numPos,
    numNeg,
  };
}
