/**
 * RPN training targets for a batch, on typed arrays — the shared anchor-head targets (../anchor-targets.ts,
 * mmdetection's `AnchorHead.get_targets`) with the RPN's train_cfg (mask-rcnn_r50_fpn: MaxIoUAssigner 0.7 / 0.3 /
 * min_pos 0.3 with low-quality matches, RandomSampler(256, 0.5, neg_pos_ub −1, add_gt_as_proposals False),
 * allowed_border −1, pos_weight −1), laid out as the sampled anchors' objectness:
 *
 *  per image i (valid flags → assign → sample → encode: ../anchor-targets.ts, class-agnostic assignment):
 *    sample    = RandomSampler: ≤ ⌊256·0.5⌋ positives at random, negatives fill up to 256 (seeded `Rng`)
 *    objectness target 1 on sampled positives, 0 on sampled negatives (every RPN GT is class 0: mmdet's label 0
 *    = foreground, 1 = background, one-hot over one sigmoid channel); weight 1 on sampled anchors, 0 elsewhere
 *  avg_factor = Σ_i (max(#pos_i, 1) + max(#neg_i, 1))   (mmdet 3.x `SamplingResult.avg_factor` with negatives)
 *
 * Flat indices are `i · numAnchors + a` over the batch (anchors in the generator's (level, y, x, anchor) order, the
 * rows of `flattenRpnLevels`).
 */
import type { AnchorGenerator, FeatureSize } from '../../src/ops/anchors.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import type { DeltaCoderOptions } from '../../src/ops/box-coder.js';
import type { Rng } from '../../src/nn/rng.js';
import { randomSample, type RandomSamplerOptions } from '../../src/ops/samplers.js';
import type { ImageMeta } from '../../data/meta.js';
import { anchorTargetBatch } from '../anchor-targets.js';
import type { DetectionTargets } from '../detector.js';
export interface RpnTargetOptions {
  assigner: MaxIoUAssignerOptions;
  sampler: RandomSamplerOptions;
  coder: DeltaCoderOptions;
  allowedBorder: number;
  padSizeDivisor: number;
}

export interface RpnTargets {
  /** Anchors per image. */
  numAnchors: number;
  /** Flat indices of the sampled anchors (positives and negatives), ascending per image. */
  sampled: Int32Array;
  /** Objectness target of each sampled anchor (1 positive, 0 negative), same order. */
  sampledTargets: Float32Array;
  /** Flat indices of the sampled positives. */
  posIndices: Int32Array;
  /** [#pos · 4] regression targets of the positives (same order). */
  bboxTargets: Float32Array;
  /** Σ_i (max(#pos_i, 1) + max(#neg_i, 1)). */
  avgFactor: number;
  numPos: number;
  numNeg: number;
}

/** RPN targets of every image of a batch (see the file comment). */
export function rpnTargets(
  generator: AnchorGenerator,
  featSizes: readonly FeatureSize[],
  metas: readonly ImageMeta[],
  targets: readonly DetectionTargets[],
  opts: RpnTargetOptions,
  rng: Rng,
): RpnTargets {
  const { sampler, ...rest } = opts;
  const batchTargets = anchorTargetBatch(
    generator,
    featSizes,
    metas,
    targets,
    {
      ...rest,
      classAgnostic: true,
      sampler: (assign, anchors, t) => randomSample(assign, anchors, t.boxes, t.labels, { ...sampler, addGtAsProposals: false }, rng),
    },
    'rpnTargets',
  );
  const { numAnchors } = batchTargets;
  const sampled: number[] = [];
  const sampledTargets: number[] = [];
  let avgFactor = 0;
  batchTargets.samples.forEach((s, i) => {
    const base = i * numAnchors;
    // positives and negatives, merged in ascending anchor order
    let a = 0;
    let b = 0;
    while (a < s.posInds.length || b < s.negInds.length) {
      const takePos = b >= s.negInds.length || (a < s.posInds.length && s.posInds[a]! < s.negInds[b]!);
      sampled.push(base + (takePos ? s.posInds[a++]! : s.negInds[b++]!));
      sampledTargets.push(takePos ? 1 : 0);
    }
    avgFactor += Math.max(s.posInds.length, 1) + Math.max(s.negInds.length, 1);
  });
  const { posIndices, bboxTargets, numPos, numNeg } = batchTargets;
  return {
    numAnchors,
    sampled: Int32Array.from(sampled),
    sampledTargets: Float32Array.from(sampledTargets),
    posIndices,
    bboxTargets,
    avgFactor,
    numPos,
    numNeg,
  };
}
