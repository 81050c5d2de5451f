/**
 * RetinaNet's training targets for a batch, on typed arrays — mmdetection's `AnchorHead.get_targets` with
 * RetinaNet's train_cfg (PseudoSampler, `allowed_border` −1, `pos_weight` −1, `reg_decoded_bbox` False):
 *
 *  per image i:
 *    valid     = anchor valid flags for the image's own padded size ⌈resized / divisor⌉·divisor (mmdet `pad_shape`)
 *                AND `anchorInsideFlags(allowed_border)` (−1: the valid flags unchanged)
 *    assign    = MaxIoUAssigner(anchors, gt boxes, gt labels, crowd boxes as ignore regions, valid)
 *    sample    = PseudoSampler: positives gtInds > 0, negatives gtInds = 0
 *    labels    = the GT label on positives, background (−1 here; mmdet: num_classes) elsewhere
 *    weights   = 1 on positives and negatives, 0 on ignored and invalid anchors
 *    deltas    = coder.encode(anchor, assigned GT box) on positives (means / stds of the config)
 *  avg_factor = Σ_i max(#positives_i, 1)   (mmdet 3.x `SamplingResult.num_pos` is clamped to ≥ 1 per image)
 *
 * Flat indices are `i · numAnchors + a` over the batch (anchors in the generator's (level, y, x, anchor) order,
 * the head's flattened rows).
 */
import { anchorInsideFlags, type AnchorGenerator, type FeatureSize } from '../../src/ops/anchors.js';
import { maxIouAssign, type MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import { encodeDeltas, type DeltaCoderOptions } from '../../src/ops/box-coder.js';
import { pseudoSample } from '../../src/ops/samplers.js';
import type { ImageMeta } from '../../data/meta.js';
import type { DetectionTargets } from '../detector.js';
import { checkImageTargets } from '../input-checks.js';

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

/** The image's own padded [h, w] inside the batch: ⌈resized / divisor⌉·divisor, at most the batch size. */
export function imagePadShape(meta: ImageMeta, divisor: number): [number, number] {
  const up = (v: number) => (divisor > 0 ? Math.ceil(v / divisor) * divisor : v);
  return [Math.min(up(meta.resizedSize.height), meta.padSize.height), Math.min(up(meta.resizedSize.width), meta.padSize.width)];
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
  if (targets.length !== metas.length) throw new Error(`anchorTargets: ${metas.length} images but ${targets.length} targets`);
  const anchors = generator.gridAnchors(featSizes).flat;
  const numAnchors = anchors.length / 4;
  const n = metas.length;
  const labels = new Int32Array(n * numAnchors).fill(-1);
  const labelWeights = new Float32Array(n * numAnchors);
  const pos: number[] = [];
  const deltas: Float32Array[] = [];
  let avgFactor = 0;
  let numNeg = 0;
  for (let i = 0; i < n; i++) {
    const meta = metas[i]!;
    const t = targets[i]!;
    checkImageTargets(t, i, meta, numClasses);
    const flags = generator.validFlags(featSizes, imagePadShape(meta, opts.padSizeDivisor));
    const valid = anchorInsideFlags(anchors, flags, [meta.resizedSize.height, meta.resizedSize.width], opts.allowedBorder);
    const assign = maxIouAssign(
      { priors: anchors, gtBoxes: t.boxes, gtLabels: t.labels, ignoreBoxes: t.ignoreBoxes, valid },
      opts.assigner,
    );
    const sample = pseudoSample(assign, anchors, t.boxes);
    const base = i * numAnchors;
    for (const j of sample.negInds) labelWeights[base + j] = 1;
    for (let p = 0; p < sample.posInds.length; p++) {
      const j = sample.posInds[p]!;
      labels[base + j] = sample.posGtLabels[p]!;
      labelWeights[base + j] = 1;
      pos.push(base + j);
    }
    if (sample.posInds.length > 0) deltas.push(encodeDeltas(sample.posPriors, sample.posGtBoxes, opts.coder));
    numNeg += sample.negInds.length;
    avgFactor += Math.max(sample.posInds.length, 1);
  }
  const bboxTargets = new Float32Array(pos.length * 4);
  let at = 0;
  for (const d of deltas) {
    bboxTargets.set(d, at);
    at += d.length;
  }
  return { numAnchors, labels, labelWeights, posIndices: Int32Array.from(pos), bboxTargets, avgFactor, numPos: pos.length, numNeg };
}
