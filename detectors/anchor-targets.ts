/**
 * Training targets of an anchor head for a batch, on typed arrays — mmdetection's `AnchorHead.get_targets`
 * (`_get_targets_single` per image, then the positives concatenated), with the sampler as a parameter:
 *
 *  per image i:
 *    valid   = anchor valid flags for the image's own padded size ⌈resized / divisor⌉·divisor (mmdet `pad_shape`)
 *              AND `anchorInsideFlags(allowed_border)` (−1: the valid flags unchanged)
 *    assign  = MaxIoUAssigner(anchors, GT boxes, GT labels — all 0 when `classAgnostic` —, crowd boxes as ignore
 *              regions, valid)
 *    sample  = the head's sampler (RetinaNet: `pseudoSample`; RPN: `randomSample`)
 *    deltas  = coder.encode(anchor, assigned GT box) on the sampled positives
 *
 * What a head makes of the per-image samples (a label per anchor, the sampled anchors' objectness, its avg_factor)
 * stays with the head: retinanet/targets.ts, mask-rcnn/rpn-targets.ts. Flat indices are `i · numAnchors + a` over
 * the batch (anchors in the generator's (level, y, x, anchor) order, the head's flattened rows).
 */
import type { ImageMeta } from '../data/meta.js';
import { anchorInsideFlags, type AnchorGenerator, type FeatureSize } from '../src/ops/anchors.js';
import { maxIouAssign, type AssignResult, type MaxIoUAssignerOptions } from '../src/ops/assigner.js';
import { boxAreas } from '../src/ops/boxes.js';
import { encodeDeltas, type DeltaCoderOptions } from '../src/ops/box-coder.js';
import type { SamplingResult } from '../src/ops/samplers.js';
import type { DetectionTargets } from './detector.js';
import { checkImageTargets } from './input-checks.js';

/** Samples one image's assignment: `anchors` are the batch's anchors, `target` the image's ground truth. */
export type AnchorSampler = (assign: AssignResult, anchors: Float32Array, target: DetectionTargets) => SamplingResult;

export interface AnchorTargetOptions {
  assigner: MaxIoUAssignerOptions;
  coder: DeltaCoderOptions;
  allowedBorder: number;
  padSizeDivisor: number;
  sampler: AnchorSampler;
  /** Labels are checked to be below this (omitted: not checked). */
  numClasses?: number;
  /** Assign every GT as class 0 (the RPN's objectness); the sampler still sees the real labels. */
  classAgnostic?: boolean;
}

export interface AnchorTargetBatch {
  /** Anchors per image. */
  numAnchors: number;
  /** Per image, its sampling result (indices into the image's anchors; flat index = i · numAnchors + index). */
  samples: SamplingResult[];
  /** Flat indices of the sampled positives, image by image, ascending within an image. */
  posIndices: Int32Array;
  /** [#pos · 4] regression targets of the positives (same order). */
  bboxTargets: Float32Array;
  numPos: number;
  numNeg: number;
}

/** The image's own padded [h, w] inside the batch: ⌈resized / divisor⌉·divisor, at most the batch size. */
export function imagePadShape(meta: ImageMeta, divisor: number): [number, number] {
  const up = (v: number) => (divisor > 0 ? Math.ceil(v / divisor) * divisor : v);
  return [Math.min(up(meta.resizedSize.height), meta.padSize.height), Math.min(up(meta.resizedSize.width), meta.padSize.width)];
}

/** Assigns, samples and encodes every image of a batch (see the file comment); `owner` names the caller in errors. */
export function anchorTargetBatch(
  generator: AnchorGenerator,
  featSizes: readonly FeatureSize[],
  metas: readonly ImageMeta[],
  targets: readonly DetectionTargets[],
  opts: AnchorTargetOptions,
  owner = 'anchorTargetBatch',
): AnchorTargetBatch {
  if (targets.length !== metas.length) throw new Error(`${owner}: ${metas.length} images but ${targets.length} targets`);
  const anchors = generator.gridAnchors(featSizes).flat;
  const areas = boxAreas(anchors);
  const numAnchors = anchors.length / 4;
  const samples: SamplingResult[] = [];
  const pos: number[] = [];
  const deltas: Float32Array[] = [];
  let numNeg = 0;
  for (let i = 0; i < metas.length; i++) {
    const meta = metas[i]!;
    const t = targets[i]!;
    checkImageTargets(t, i, meta, opts.numClasses);
    const flags = generator.validFlags(featSizes, imagePadShape(meta, opts.padSizeDivisor));
    const valid = anchorInsideFlags(anchors, flags, [meta.resizedSize.height, meta.resizedSize.width], opts.allowedBorder);
    const gtLabels = opts.classAgnostic ? new Int32Array(t.labels.length) : t.labels;
    const assign = maxIouAssign(
      { priors: anchors, gtBoxes: t.boxes, gtLabels, ignoreBoxes: t.ignoreBoxes, valid, priorAreas: areas },
      opts.assigner,
    );
    const s = opts.sampler(assign, anchors, t);
    samples.push(s);
    const base = i * numAnchors;
    for (const j of s.posInds) pos.push(base + j);
    if (s.posInds.length > 0) deltas.push(encodeDeltas(s.posPriors, s.posGtBoxes, opts.coder));
    numNeg += s.negInds.length;
  }
  const bboxTargets = new Float32Array(pos.length * 4);
  let at = 0;
  for (const d of deltas) {
    bboxTargets.set(d, at);
    at += d.length;
  }
  return { numAnchors, samples, posIndices: Int32Array.from(pos), bboxTargets, numPos: pos.length, numNeg };
}
