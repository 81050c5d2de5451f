/**
 * Mask R-CNN's RoI head, mmdetection's `StandardRoIHead` (mmdet/models/roi_heads/standard_roi_head.py) with a
 * box branch (`bbox_roi_extractor` RoIAlign 7×7 + `Shared2FCBBoxHead`) and a mask branch (`mask_roi_extractor`
 * RoIAlign 14×14, not shared, + `FCNMaskHead`). RoI features come from P2–P5 (src/ops/roi-extractor.ts: level by
 * box size, finest_scale 56, differentiable with respect to the pyramid).
 *
 * Training (`loss`): roi-sampling.ts (assign proposals + GT, sample 512 at 0.25 positive) → box head →
 * bbox-head.ts losses; the positive RoIs → mask head → 28×28 targets from src/ops/mask-target.ts (each positive
 * RoI's GT bitmap cropped and resized with RoIAlign, binarised at 0.5) → mask-head.ts loss. Returns
 * { loss_cls, loss_bbox, acc, loss_mask }.
 *
 * Inference: `predictBoxes` (all proposals of the batch through the box head; per image bbox-postprocess.ts:
 * softmax, class-specific decode, score_thr, per-class NMS, max_per_img — in network-input pixels), then
 * `predictMasks` (the kept boxes through the mask head; sigmoid of each detection's class channel; detection-to-original.ts
 * maps boxes and masks to the original image, flip undone, COCO RLE). Registered by the detector as `roi_head`
 * with children `bbox_head` and `mask_head` (the extractors have no parameters).
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { extractRoiFeatures, type RoiExtractorOptions } from '../../src/ops/roi-extractor.js';
import { concatArrays } from '../../src/ops/typed-rows.js';
import { readAll } from '../../src/engine/async-read.js';
import type { ImageMeta } from '../../data/meta.js';
import type { Detection } from '../detector.js';
import { Shared2FCBBoxHead, bboxHeadLoss } from './bbox-head.js';
import { rcnnDetections, type NetDetections } from './bbox-postprocess.js';
import type { BBoxHeadConfig, MaskHeadConfig, RcnnTestConfig, RcnnTrainConfig, RoiExtractorConfig } from './config.js';
import { FCNMaskHead, maskHeadLoss } from './mask-head.js';
import { detectionToOriginal } from './detection-to-original.js';
import { sampleRois, type SampledRois } from './roi-sampling.js';
import { positiveMaskTargets } from './mask-targets.js';
import type { MaskRcnnTargets } from './targets.js';

export interface RoiHeadOptions {
  numClasses: number;
  /** Channels of the pyramid levels. */
  inChannels: number;
  bboxHead: BBoxHeadConfig;
  maskHead: MaskHeadConfig;
  rng?: Rng;
  seed?: number | string;
}

/** The RoI extractor op's options from a head's extractor config. */
export function extractorOptions(c: RoiExtractorConfig): RoiExtractorOptions {
  return {
    outputSize: c.outputSize,
    samplingRatio: c.samplingRatio,
    aligned: c.aligned,
    featmapStrides: c.featmapStrides,
    finestScale: c.finestScale,
  };
}

export class StandardRoIHead extends Module {
  readonly numClasses: number;
  readonly bboxCfg: BBoxHeadConfig;
  readonly maskCfg: MaskHeadConfig;
  readonly bboxHead: Shared2FCBBoxHead;
  readonly maskHead: FCNMaskHead;

  constructor(opts: RoiHeadOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    this.numClasses = opts.numClasses;
    this.bboxCfg = opts.bboxHead;
    this.maskCfg = opts.maskHead;
    this.bboxHead = this.registerModule(
      'bbox_head',
      new Shared2FCBBoxHead({
        numClasses: opts.numClasses,
        inChannels: opts.inChannels,
        roiFeatSize: opts.bboxHead.roiExtractor.outputSize,
        fcChannels: opts.bboxHead.fcChannels,
        numSharedFcs: opts.bboxHead.numSharedFcs,
        rng,
      }),
    );
    this.maskHead = this.registerModule(
      'mask_head',
      new FCNMaskHead({
        numClasses: opts.numClasses,
        inChannels: opts.inChannels,
        numConvs: opts.maskHead.numConvs,
        convChannels: opts.maskHead.convChannels,
        rng,
      }),
    );
  }

  /** Side M of the predicted masks (twice the mask RoI size). */
  get maskSize(): number {
    return 2 * this.maskCfg.roiExtractor.outputSize;
  }

  /** The pyramid levels the extractors pool from (P2–P5 of P2–P6). */
  private pooled(levels: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    const L = this.bboxCfg.roiExtractor.featmapStrides.length;
    if (levels.length < L) throw new Error(`StandardRoIHead: ${levels.length} pyramid levels, the RoI extractor needs ${L}`);
    return levels.slice(0, L);
  }

  /** Box-head RoI features [R, 7, 7, C] of boxes (network pixels) with their batch indices. */
  bboxRoiFeatures(levels: readonly tf.Tensor4D[], boxes: Float32Array, batch: Int32Array): tf.Tensor4D {
    return extractRoiFeatures(this.pooled(levels), boxes, batch, extractorOptions(this.bboxCfg.roiExtractor));
  }

  /** Mask-head RoI features [P, 14, 14, C]. */
  maskRoiFeatures(levels: readonly tf.Tensor4D[], boxes: Float32Array, batch: Int32Array): tf.Tensor4D {
    const strides = this.maskCfg.roiExtractor.featmapStrides.length;
    return extractRoiFeatures(levels.slice(0, strides), boxes, batch, extractorOptions(this.maskCfg.roiExtractor));
  }

  /** The sampled training RoIs of a batch (typed arrays; see roi-sampling.ts). */
  sample(proposals: readonly Float32Array[], metas: readonly ImageMeta[], targets: readonly MaskRcnnTargets[], cfg: RcnnTrainConfig, rng: Rng): SampledRois {
    return sampleRois(proposals, metas, targets, { numClasses: this.numClasses, assigner: cfg.assigner, sampler: cfg.sampler, coder: this.bboxCfg.coder }, rng);
  }

  /** 28×28 targets [P·M·M] of the positive RoIs (in their order), from each image's GT bitmaps (mask-targets.ts). */
  maskTargets(s: SampledRois, metas: readonly ImageMeta[], targets: readonly MaskRcnnTargets[], maskSize: number): Float32Array {
    return positiveMaskTargets(s.mask, metas, targets, maskSize);
  }

  /** Training losses of the RoI head (see the file comment). `levels` are P2–P6 (or P2–P5). */
  loss(
    levels: readonly tf.Tensor4D[],
    proposals: readonly Float32Array[],
    metas: readonly ImageMeta[],
    targets: readonly MaskRcnnTargets[],
    cfg: RcnnTrainConfig,
    rng: Rng,
  ): Record<'loss_cls' | 'loss_bbox' | 'acc' | 'loss_mask', tf.Scalar> {
    this.assertAlive('loss');
    const M = this.maskSize;
    if (cfg.maskSize !== M) throw new Error(`StandardRoIHead: train maskSize ${cfg.maskSize} but the mask head predicts ${M}×${M}`);
    const s = this.sample(proposals, metas, targets, cfg, rng);
    const maskData = this.maskTargets(s, metas, targets, M);
    return tf.tidy(() => {
      const out = this.bboxHead.forward(this.bboxRoiFeatures(levels, s.boxes, s.batch));
      const box = bboxHeadLoss(out, s, this.numClasses, this.bboxCfg.loss);
      const P = s.mask.labels.length;
      let lossMask: tf.Scalar;
      if (P > 0) {
        const logits = this.maskHead.forward(this.maskRoiFeatures(levels, s.mask.boxes, s.mask.batch));
        lossMask = maskHeadLoss(logits, s.mask.labels, tf.tensor3d(maskData, [P, M, M]), this.maskCfg.lossWeight).loss_mask;
      } else {
        lossMask = tf.scalar(0); // no GT in the batch: nothing to segment
      }
      return { ...box, loss_mask: lossMask };
    });
  }

  /** Per-image detections in network-input pixels from each image's proposals (see the file comment). */
  predictBoxes(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[], cfg: RcnnTestConfig): NetDetections[] {
    const h = this.boxHeadOutputs(levels, proposals, metas);
    try {
      return this.boxDetections(h, metas, cfg);
    } finally {
      tf.dispose(h.tensors);
    }
  }

  /** `predictBoxes` with one asynchronous read of the box head's outputs (every backend; the webgpu path). */
  async predictBoxesAsync(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[], cfg: RcnnTestConfig): Promise<NetDetections[]> {
    const h = this.boxHeadOutputs(levels, proposals, metas);
    try {
      await readAll(h.tensors);
      return this.boxDetections(h, metas, cfg);
    } finally {
      tf.dispose(h.tensors);
    }
  }

  /** The box head on every proposal of the batch: class probabilities and deltas (tensors; none without RoIs). */
  private boxHeadOutputs(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[]): BoxHeadOutputs {
    this.assertAlive('predictBoxes');
    const n = metas.length;
    if (proposals.length !== n) throw new Error(`StandardRoIHead: ${n} images but ${proposals.length} proposal sets`);
    const counts = proposals.map((p) => p.length / 4);
    const rois = concatArrays([...proposals], Float32Array);
    const batch = concatArrays(counts.map((c, i) => new Int32Array(c).fill(i)), Int32Array);
    const tensors =
      rois.length > 0
        ? tf.tidy(() => {
            const out = this.bboxHead.forward(this.bboxRoiFeatures(levels, rois, batch));
            return [tf.softmax(out.cls), out.reg];
          })
        : [];
    return { rois, counts, tensors };
  }

  /** Per-image detections from the box head's outputs (reads them; after `readAll` the reads are CPU copies). */
  private boxDetections(h: BoxHeadOutputs, metas: readonly ImageMeta[], cfg: RcnnTestConfig): NetDetections[] {
    const C = this.numClasses;
    const probs = h.tensors.length ? (h.tensors[0]!.dataSync() as Float32Array) : new Float32Array(0);
    const deltas = h.tensors.length ? (h.tensors[1]!.dataSync() as Float32Array) : new Float32Array(0);
    const { rois, counts } = h;
    const coder = this.bboxCfg.coder;
    let at = 0;
    return metas.map((meta, i) => {
      const r0 = at;
      const r1 = (at += counts[i]!);
      return rcnnDetections(
        rois.subarray(4 * r0, 4 * r1),
        probs.subarray(r0 * (C + 1), r1 * (C + 1)),
        deltas.subarray(r0 * 4 * C, r1 * 4 * C),
        C,
        meta,
        cfg,
        { means: coder.means, stds: coder.stds, whRatioClip: coder.whRatioClip },
      );
    });
  }

  /** Mask probabilities [K·M·M] of detections (network pixels), row-major per detection, in detection order. */
  maskProbs(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[]): Float32Array {
    const probs = this.maskProbsTensor(levels, dets);
    if (!probs) return new Float32Array(0);
    try {
      return probs.dataSync() as Float32Array;
    } finally {
      probs.dispose();
    }
  }

  /** The mask probabilities as a tensor [K, M, M] (null without detections). */
  private maskProbsTensor(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[]): tf.Tensor | null {
    const boxes = concatArrays(dets.map((d) => d.boxes), Float32Array);
    const labels = concatArrays(dets.map((d) => d.labels), Int32Array);
    const batch = concatArrays(dets.map((d, i) => new Int32Array(d.labels.length).fill(i)), Int32Array);
    if (labels.length === 0) return null;
    return tf.tidy(() => this.maskHead.classProbabilities(this.maskRoiFeatures(levels, boxes, batch), labels));
  }

  /** Detections with masks in original image pixels (see detection-to-original.ts); `maskThr` overrides the config's. */
  predictMasks(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Detection[] {
    this.assertAlive('predictMasks');
    return this.pasteMasks(this.maskProbs(levels, dets), dets, metas, maskThr);
  }

  /** `predictMasks` with one asynchronous read of the mask probabilities (every backend; the webgpu path). */
  async predictMasksAsync(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Promise<Detection[]> {
    this.assertAlive('predictMasks');
    const t = this.maskProbsTensor(levels, dets);
    let probs: Float32Array = new Float32Array(0);
    if (t) {
      try {
        probs = (await t.data()) as Float32Array;
      } finally {
        t.dispose();
      }
    }
    return this.pasteMasks(probs, dets, metas, maskThr);
  }

  private pasteMasks(probs: Float32Array, dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Detection[] {
    const M = this.maskSize;
    let at = 0;
    return dets.map((d, i) => {
      const k = d.labels.length;
      const p = probs.subarray(at * M * M, (at + k) * M * M);
      at += k;
      return detectionToOriginal(d, p, M, metas[i]!, maskThr);
    });
  }
}

/** The box head's outputs on a batch's proposals: [R, C+1] probabilities and [R, 4C] deltas (none when R = 0). */
interface BoxHeadOutputs {
  rois: Float32Array;
  counts: number[];
  tensors: tf.Tensor[];
}
