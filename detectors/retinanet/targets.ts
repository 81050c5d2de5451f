/**
 * RetinaNet's training targets for a batch, on typed arrays — the shared anchor-head targets (../anchor-targets.ts,
 * mmdetection's `AnchorHead.get_targets`) with RetinaNet's train_cfg (PseudoSampler, `allowed_border` −1,
 * `pos_weight` −1, `reg_decoded_bbox` False), laid out as a label per anchor:
 *
 *  per image i (valid flags → assign → sample → encode: ../anchor-targets.ts):
 *    sample    = PseudoSampler: positives gtInds > 0, negatives gtInds = 0
 *    labels    = the GT label on positives, background (−1 here; mmdet: num_classes) elsewhere
 *    weights   = 1 on positives and negatives, 0 on ignored and invalid anchors
 *  avg_factor = Σ_i max(#positives_i, 1)   (mmdet 3.x `SamplingResult.num_pos` is clamped to ≥ 1 per image)
 *
 * Flat indices are `i · numAnchors + a` over the batch (anchors in the generator's (level, y, x, anchor) order,
 * the head's flattened rows).
 */
import type { AnchorGenerator, FeatureSize } from '../../src/ops/anchors.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import type { DeltaCoderOptions } from '../../src/ops/box-coder.js';
import { pseudoSample } from '../../src/ops/samplers.js';
import type { ImageMeta } from '../../data/meta.js';
import { anchorTargetBatch } from '../anchor-targets.js';
import type { DetectionTargets } from '../detector.js';
export interface AnchorTargetOptions {
  assigner: MaxIoUAssignerOptions;
  coder: DeltaCoderOptions;
  allowedBorder: number;
  padSizeDivisor: number;
}

export interface AnchorTargets {
  /** Anchors per image. */
  numAnchors: number;
  /** [n · numAnchors] class index of positives, −1 elsewhere. */
  labels: Int32Array;
  /** [n · numAnchors] 1 for positives and negatives, 0 for ignored / invalid anchors. */
  labelWeights: Float32Array;
  /** Flat indices of the positives, ascending. */
  posIndices: Int32Array;
  /** [#pos · 4] regression targets of the positives (same order). */
  bboxTargets: Float32Array;
  /** Σ_i max(#pos_i, 1). */
  avgFactor: number;
  numPos: number;
  numNeg: number;
}

/** Targets of every anchor of every image (see the file comment). `numClasses` bounds the labels. */
export function anchorTargets(
  generator: AnchorGenerator,
  featSizes: readonly FeatureSize[],
  metas: readonly ImageMeta[],
  targets: readonly DetectionTargets[],
  numClasses: number,
  opts: AnchorTargetOptions,
): AnchorTargets {
  const batchTargets = anchorTargetBatch(
    generator,
    featSizes,
    metas,
    targets,
    { ...opts, numClasses, sampler: (assign, anchors, t) => pseudoSample(assign, anchors, t.boxes) },
    'anchorTargets',
  );
  const { numAnchors, samples } = batchTargets;
  const n = metas.length;
  const labels = new Int32Array(n * numAnchors).fill(-1);
  const labelWeights = new Float32Array(n * numAnchors);
  let avgFactor = 0;
  samples.forEach((sample, i) => {
    const base = i * numAnchors;
    for (const j of sample.negInds) labelWeights[base + j] = 1;
    for (let p = 0; p < sample.posInds.length; p++) {
      const j = sample.posInds[p]!;
      labels[base + j] = sample.posGtLabels[p]!;
      labelWeights[base + j] = 1;
    }
    avgFactor += Math.max(sample.posInds.length, 1);
  });
  const { posIndices, bboxTargets, numPos, numNeg } = batchTargets;
  return { numAnchors, labels, labelWeights, posIndices, bboxTargets, avgFactor, numPos, numNeg };
}
