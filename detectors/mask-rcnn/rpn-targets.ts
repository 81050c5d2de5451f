/**
 * RPN training targets for a batch, on typed arrays — mmdetection's `AnchorHead.get_targets` with the RPN's
 * train_cfg (mask-rcnn_r50_fpn: MaxIoUAssigner 0.7 / 0.3 / min_pos 0.3 with low-quality matches, RandomSampler(256,
 * 0.5, neg_pos_ub −1, add_gt_as_proposals False), allowed_border −1, pos_weight −1):
 *
 *  per image i:
 *    valid     = anchor valid flags for the image's own padded size ⌈resized / divisor⌉·divisor AND
 *                `anchorInsideFlags(allowed_border)` (−1: the valid flags unchanged)
 *    assign    = MaxIoUAssigner(anchors, GT boxes, crowd boxes as ignore regions, valid)
 *    sample    = RandomSampler: ≤ ⌊256·0.5⌋ positives at random, negatives fill up to 256 (seeded `Rng`)
 *    objectness target 1 on sampled positives, 0 on sampled negatives (every RPN GT is class 0: mmdet's label 0
 *    = foreground, 1 = background, one-hot over one sigmoid channel); weight 1 on sampled anchors, 0 elsewhere
 *    deltas    = coder.encode(anchor, assigned GT box) on the sampled positives
 *  avg_factor = Σ_i (max(#pos_i, 1) + max(#neg_i, 1))   (mmdet 3.x `SamplingResult.avg_factor` with negatives)
 *
 * Flat indices are `i · numAnchors + a` over the batch (anchors in the generator's (level, y, x, anchor) order, the
 * rows of `flattenRpnLevels`).
 */
import { anchorInsideFlags, type AnchorGenerator, type FeatureSize } from '../../src/ops/anchors.js';
import { maxIouAssign, type MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import { boxAreas } from '../../src/ops/boxes.js';
import { encodeDeltas, type DeltaCoderOptions } from '../../src/ops/box-coder.js';
import type { Rng } from '../../src/nn/rng.js';
import { randomSample, type RandomSamplerOptions } from '../../src/ops/samplers.js';
import type { ImageMeta } from '../../data/meta.js';
import type { DetectionTargets } from '../detector.js';
import { checkImageTargets } from '../input-checks.js';
import { imagePadShape } from '../retinanet/targets.js';

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
  if (targets.length !== metas.length) throw new Error(`rpnTargets: ${metas.length} images but ${targets.length} targets`);
  const anchors = generator.gridAnchors(featSizes).flat;
  const areas = boxAreas(anchors);
  const numAnchors = anchors.length / 4;
  const sampled: number[] = [];
  const sampledTargets: number[] = [];
  const pos: number[] = [];
  const deltas: Float32Array[] = [];
  let avgFactor = 0;
  let numNeg = 0;
  metas.forEach((meta, i) => {
    const t = targets[i]!;
    checkImageTargets(t, i, meta);
    const flags = generator.validFlags(featSizes, imagePadShape(meta, opts.padSizeDivisor));
    const valid = anchorInsideFlags(anchors, flags, [meta.resizedSize.height, meta.resizedSize.width], opts.allowedBorder);
    const assign = maxIouAssign(
      { priors: anchors, gtBoxes: t.boxes, gtLabels: new Int32Array(t.labels.length), ignoreBoxes: t.ignoreBoxes, valid, priorAreas: areas },
      opts.assigner,
    );
    const s = randomSample(assign, anchors, t.boxes, t.labels, { ...opts.sampler, addGtAsProposals: false }, rng);
    const base = i * numAnchors;
    // positives and negatives, merged in ascending anchor order
    let a = 0;
    let b = 0;
    while (a < s.posInds.length || b < s.negInds.length) {
      const takePos = b >= s.negInds.length || (a < s.posInds.length && s.posInds[a]! < s.negInds[b]!);
      sampled.push(base + (takePos ? s.posInds[a++]! : s.negInds[b++]!));
      sampledTargets.push(takePos ? 1 : 0);
    }
    for (const j of s.posInds) pos.push(base + j);
    if (s.posInds.length > 0) deltas.push(encodeDeltas(s.posPriors, s.posGtBoxes, opts.coder));
    numNeg += s.negInds.length;
    avgFactor += Math.max(s.posInds.length, 1) + Math.max(s.negInds.length, 1);
  });
  const bboxTargets = new Float32Array(pos.length * 4);
  let at = 0;
  for (const d of deltas) {
    bboxTargets.set(d, at);
    at += d.length;
  }
  return {
    numAnchors,
    sampled: Int32Array.from(sampled),
    sampledTargets: Float32Array.from(sampledTargets),
    posIndices: Int32Array.from(pos),
    bboxTargets,
    avgFactor,
    numPos: pos.length,
    numNeg,
  };
}
