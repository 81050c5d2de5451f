/**
 * The cascade RoI head of Cascade (Mask) R-CNN, mmdetection's `CascadeRoIHead` (mmdet/models/roi_heads/
 * cascade_roi_head.py): `numStages` box heads (`bbox_head.{i}`, each a class-agnostic `Shared2FCBBoxHead` with its
 * own coder stds) on RoIAlign 7×7, and with masks `numStages` `FCNMaskHead`s (`mask_head.{i}`) on RoIAlign 14×14
 * (the extractors have no parameters). Parts reused from Mask R-CNN: roi-sampling.ts, bbox-head.ts, mask-head.ts,
 * mask-targets.ts, bbox-postprocess.ts, detection-to-original.ts.
 *
 * Training (`loss`), stage i = 0 … S − 1 on the current proposals (stage 0: the RPN's):
 *   assign (MaxIoUAssigner at stageIouThrs[i], no low-quality matches) + sample (512, 0.25, GT added as proposals)
 *   → box head i → loss_cls / loss_bbox (SmoothL1, class-agnostic, targets encoded with stageStds[i]) and acc;
 *   with masks: mask head i on the stage's positives, targets cropped from the GT bitmaps → loss_mask;
 *   keys `s{i}.loss_cls`, `s{i}.loss_bbox`, `s{i}.acc`, `s{i}.loss_mask`; every key containing "loss" is multiplied
 *   by stageLossWeights[i] (acc is not);
 *   if i < S − 1: the sampled RoIs refined by box head i (refine-rois.ts: GT rows dropped, clipped; data, so
 *   detached) are stage i + 1's proposals. A stage without RoIs ends the cascade (mmdetection's `break`).
 *
 * Inference: every proposal through box head 0, 1, …; between stages each RoI regressed with its argmax foreground
 * label; the stages' logits averaged (stage-average.ts), softmax, the last stage's deltas decoded on the last stage's
 * RoIs → bbox-postprocess.ts (score_thr, per-class NMS, max_per_img). Masks: every mask head on the detections,
 * sigmoid of the detection's class channel, averaged over the stages, pasted (detection-to-original.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../../src/nn/module.js';
import { ModuleList } from '../../src/nn/module-list.js';
import { Rng } from '../../src/nn/rng.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import { extractRoiFeatures } from '../../src/ops/roi-extractor.js';
import { concatArrays } from '../../src/ops/typed-rows.js';
import type { ImageMeta } from '../../data/meta.js';
import type { Detection } from '../detector.js';
import { Shared2FCBBoxHead, bboxHeadLoss } from '../mask-rcnn/bbox-head.js';
import { rcnnDetections, type NetDetections } from '../mask-rcnn/bbox-postprocess.js';
import type { RcnnTestConfig } from '../mask-rcnn/config.js';
import { detectionToOriginal } from '../mask-rcnn/detection-to-original.js';
import { FCNMaskHead, maskHeadLoss } from '../mask-rcnn/mask-head.js';
import { positiveMaskTargets } from '../mask-rcnn/mask-targets.js';
import { extractorOptions } from '../mask-rcnn/roi-head.js';
import { sampleRois, type SampledRois } from '../mask-rcnn/roi-sampling.js';
import type { MaskRcnnTargets } from '../mask-rcnn/targets.js';
import type { CascadeModelConfig, CascadeRcnnStageTrainConfig } from './config.js';
import { foregroundArgmax, refineSampledRois, regressByClass, type StageCoder } from './refine-rois.js';
import { averageStageMasks, averageStageScores } from './stage-average.js';

export interface CascadeRoiHeadOptions {
  numClasses: number;
  /** Channels of the pyramid levels. */
  inChannels: number;
  model: CascadeModelConfig;
  rng?: Rng;
  seed?: number | string;
}

/** What a training stage produced (for tests and tools): its sampled RoIs and the next stage's proposals. */
export interface CascadeStageTrace {
  sampled: SampledRois;
  /** The refined proposals handed to the next stage (absent after the last stage). */
  refined?: Float32Array[];
}

export class CascadeRoIHead extends Module {
  readonly numClasses: number;
  readonly numStages: number;
  readonly cfg: CascadeModelConfig;
  readonly bboxHeads: readonly Shared2FCBBoxHead[];
  readonly maskHeads: readonly FCNMaskHead[];
  /** Filled by `loss` when set to an array (tests): one entry per stage run. */
  trace: CascadeStageTrace[] | null = null;

  constructor(opts: CascadeRoiHeadOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    const m = opts.model;
    this.numClasses = opts.numClasses;
    this.numStages = m.roiHead.numStages;
    this.cfg = m;
    const boxes: Shared2FCBBoxHead[] = [];
    for (let i = 0; i < this.numStages; i++) {
      boxes.push(
        new Shared2FCBBoxHead({
          numClasses: opts.numClasses,
          inChannels: opts.inChannels,
          roiFeatSize: m.bboxHead.roiExtractor.outputSize,
          fcChannels: m.bboxHead.fcChannels,
          numSharedFcs: m.bboxHead.numSharedFcs,
          regClassAgnostic: m.bboxHead.regClassAgnostic,
          rng,
        }),
      );
    }
    this.bboxHeads = this.registerModule('bbox_head', new ModuleList(boxes)).toArray();
    const masks: FCNMaskHead[] = [];
    if (m.withMask) {
      for (let i = 0; i < this.numStages; i++) {
        masks.push(new FCNMaskHead({ numClasses: opts.numClasses, inChannels: opts.inChannels, numConvs: m.maskHead.numConvs, convChannels: m.maskHead.convChannels, rng }));
      }
      this.maskHeads = this.registerModule('mask_head', new ModuleList(masks)).toArray();
    } else {
      this.maskHeads = [];
    }
  }

  get withMask(): boolean {
    return this.maskHeads.length > 0;
  }

  /** Side M of the predicted masks. */
  get maskSize(): number {
    return 2 * this.cfg.maskHead.roiExtractor.outputSize;
  }

  /** Stage i's delta coder (shared means and clamp, the stage's stds). */
  stageCoder(i: number): StageCoder {
    const c = this.cfg.bboxHead.coder;
    return { means: c.means, stds: this.cfg.bboxHead.stageStds[i]!, whRatioClip: c.whRatioClip };
  }

  /** Stage i's assigner: pos = neg = min_pos = its IoU threshold. */
  stageAssigner(cfg: CascadeRcnnStageTrainConfig, i: number): MaxIoUAssignerOptions {
    const t = cfg.stageIouThrs[i]!;
    return { ...cfg.assigner, posIouThr: t, negIouThr: t, minPosIou: t };
  }

  bboxRoiFeatures(levels: readonly tf.Tensor4D[], boxes: Float32Array, batch: Int32Array): tf.Tensor4D {
    const r = this.cfg.bboxHead.roiExtractor;
    if (levels.length < r.featmapStrides.length) throw new Error(`CascadeRoIHead: ${levels.length} pyramid levels, the RoI extractor needs ${r.featmapStrides.length}`);
    return extractRoiFeatures(levels.slice(0, r.featmapStrides.length), boxes, batch, extractorOptions(r));
  }

  maskRoiFeatures(levels: readonly tf.Tensor4D[], boxes: Float32Array, batch: Int32Array): tf.Tensor4D {
    const r = this.cfg.maskHead.roiExtractor;
    return extractRoiFeatures(levels.slice(0, r.featmapStrides.length), boxes, batch, extractorOptions(r));
  }

  /** Training losses of every stage (see the file comment). Synchronous; call inside a tidy / variableGrads. */
  loss(
    levels: readonly tf.Tensor4D[],
    proposals: readonly Float32Array[],
    metas: readonly ImageMeta[],
    targets: readonly MaskRcnnTargets[],
    cfg: CascadeRcnnStageTrainConfig,
    rng: Rng,
  ): Record<string, tf.Scalar> {
    this.assertAlive('loss');
    const M = this.maskSize;
    if (this.withMask && cfg.maskSize !== M) throw new Error(`CascadeRoIHead: train maskSize ${cfg.maskSize} but the mask heads predict ${M}×${M}`);
    const C = this.numClasses;
    const lossCfg = this.cfg.bboxHead.loss;
    const losses: Record<string, tf.Scalar> = {};
    let props = proposals;
    for (let i = 0; i < this.numStages; i++) {
      const w = this.cfg.roiHead.stageLossWeights[i]!;
      const coder = this.stageCoder(i);
      const s = sampleRois(props, metas, targets, { numClasses: C, assigner: this.stageAssigner(cfg, i), sampler: cfg.sampler, coder }, rng);
      const maskData = this.withMask ? positiveMaskTargets(s.mask, metas, targets, M) : null;
      const out = this.bboxHeads[i]!.forward(this.bboxRoiFeatures(levels, s.boxes, s.batch));
      const box = bboxHeadLoss(out, s, C, lossCfg, { classAgnostic: this.cfg.bboxHead.regClassAgnostic, smoothL1Beta: lossCfg.bboxBeta });
      losses[`s${i}.loss_cls`] = tf.mul(box.loss_cls, w) as tf.Scalar;
      losses[`s${i}.loss_bbox`] = tf.mul(box.loss_bbox, w) as tf.Scalar;
      losses[`s${i}.acc`] = box.acc;
      if (maskData) {
        const P = s.mask.labels.length;
        if (P > 0) {
          const logits = this.maskHeads[i]!.forward(this.maskRoiFeatures(levels, s.mask.boxes, s.mask.batch));
          const l = maskHeadLoss(logits, s.mask.labels, tf.tensor3d(maskData, [P, M, M]), this.cfg.maskHead.lossWeight).loss_mask;
          losses[`s${i}.loss_mask`] = tf.mul(l, w) as tf.Scalar;
        } else {
          losses[`s${i}.loss_mask`] = tf.scalar(0);
        }
      }
      const trace: CascadeStageTrace = { sampled: s };
      this.trace?.push(trace);
      if (i === this.numStages - 1) break;
      if (s.labels.length === 0) break; // no RoIs: nothing to refine (mmdetection's `results_list is None`)
      const logits = out.cls.dataSync() as Float32Array;
      const deltas = out.reg.dataSync() as Float32Array;
      props = refineSampledRois(s, logits, deltas, C, metas, coder);
      trace.refined = [...props];
    }
    return losses;
  }

  /** Per-image detections in network-input pixels from each image's proposals (see the file comment). */
  predictBoxes(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[], cfg: RcnnTestConfig): NetDetections[] {
    const run = this.startBoxes(proposals, metas);
    if (!run) return metas.map(emptyDetections);
    for (let i = 0; i < this.numStages; i++) {
      const out = this.stageOutputs(levels, run, i);
      try {
        this.stageDone(run, out, metas, i);
      } finally {
        tf.dispose(out);
      }
    }
    return this.boxDetections(run, metas, cfg);
  }

  /** `predictBoxes` reading each stage's outputs with `await tensor.data()` (every backend; no synchronous GPU read). */
  async predictBoxesAsync(levels: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly ImageMeta[], cfg: RcnnTestConfig): Promise<NetDetections[]> {
    const run = this.startBoxes(proposals, metas);
    if (!run) return metas.map(emptyDetections);
    for (let i = 0; i < this.numStages; i++) {
      const out = this.stageOutputs(levels, run, i);
      try {
        await Promise.all(out.map((t) => t.data())); // afterwards dataSync() is a CPU read
        this.stageDone(run, out, metas, i);
      } finally {
        tf.dispose(out);
      }
    }
    return this.boxDetections(run, metas, cfg);
  }

  private startBoxes(proposals: readonly Float32Array[], metas: readonly ImageMeta[]): BoxRun | null {
    this.assertAlive('predictBoxes');
    const n = metas.length;
    if (proposals.length !== n) throw new Error(`CascadeRoIHead: ${n} images but ${proposals.length} proposal sets`);
    const counts = proposals.map((p) => p.length / 4);
    const rois = concatArrays([...proposals], Float32Array);
    if (rois.length === 0) return null;
    const batch = concatArrays(counts.map((c, i) => new Int32Array(c).fill(i)), Int32Array);
    return { counts, rois, batch, stageLogits: [], deltas: new Float32Array(0) };
  }

  /** Box head i on the current RoIs: [logits, deltas] (the caller disposes them). */
  private stageOutputs(levels: readonly tf.Tensor4D[], run: BoxRun, i: number): tf.Tensor2D[] {
    return tf.tidy(() => {
      const out = this.bboxHeads[i]!.forward(this.bboxRoiFeatures(levels, run.rois, run.batch));
      return [out.cls, out.reg];
    });
  }

  /** Reads stage i's outputs; refines the RoIs for the next stage. */
  private stageDone(run: BoxRun, out: tf.Tensor2D[], metas: readonly ImageMeta[], i: number): void {
    const logits = out[0]!.dataSync() as Float32Array;
    run.deltas = out[1]!.dataSync() as Float32Array;
    run.stageLogits.push(logits);
    if (i < this.numStages - 1) run.rois = this.refineAll(run.rois, run.counts, logits, run.deltas, metas, i);
  }

  /** Stage-averaged scores, the last stage's boxes → per-image detections (bbox-postprocess.ts). */
  private boxDetections(run: BoxRun, metas: readonly ImageMeta[], cfg: RcnnTestConfig): NetDetections[] {
    const C = this.numClasses;
    const probs = softmaxRows(averageStageScores(run.stageLogits), C + 1);
    const { rois, deltas, counts } = run;
    const k = deltas.length / (rois.length / 4);
    const coder = this.stageCoder(this.numStages - 1);
    let at = 0;
    return metas.map((meta, i) => {
      const r0 = at;
      const r1 = (at += counts[i]!);
      const d = deltas.subarray(r0 * k, r1 * k);
      return rcnnDetections(rois.subarray(4 * r0, 4 * r1), probs.subarray(r0 * (C + 1), r1 * (C + 1)), k === 4 ? tileDeltas(d, C) : d, C, meta, cfg, coder);
    });
  }

  /** Test-time refinement of every image's RoIs by stage i (argmax foreground label). */
  private refineAll(rois: Float32Array, counts: number[], logits: Float32Array, deltas: Float32Array, metas: readonly ImageMeta[], i: number): Float32Array {
    const C = this.numClasses;
    const k = deltas.length / (rois.length / 4);
    const labels = foregroundArgmax(logits, C);
    const parts: Float32Array[] = [];
    let at = 0;
    metas.forEach((meta, j) => {
      const r0 = at;
      const r1 = (at += counts[j]!);
      parts.push(regressByClass(rois.subarray(4 * r0, 4 * r1), labels.subarray(r0, r1), deltas.subarray(r0 * k, r1 * k), C, meta, this.stageCoder(i)));
    });
    return concatArrays(parts, Float32Array);
  }

  /** Stage-averaged mask probabilities [K·M·M] of detections (network pixels), in detection order. */
  maskProbs(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[]): Float32Array {
    const t = this.stageMaskProbs(levels, dets);
    try {
      return averageStageMasks(t.map((p) => p.dataSync() as Float32Array));
    } finally {
      tf.dispose(t);
    }
  }

  /** `maskProbs` with asynchronous reads. */
  async maskProbsAsync(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[]): Promise<Float32Array> {
    const t = this.stageMaskProbs(levels, dets);
    try {
      return averageStageMasks((await Promise.all(t.map((p) => p.data()))) as Float32Array[]);
    } finally {
      tf.dispose(t);
    }
  }

  /** Each mask head's sigmoid of the detection's class channel, [K, M, M] per stage (none without detections). */
  private stageMaskProbs(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[]): tf.Tensor3D[] {
    const boxes = concatArrays(dets.map((d) => d.boxes), Float32Array);
    const labels = concatArrays(dets.map((d) => d.labels), Int32Array);
    const batch = concatArrays(dets.map((d, i) => new Int32Array(d.labels.length).fill(i)), Int32Array);
    if (labels.length === 0) return [tf.zeros([0, this.maskSize, this.maskSize]) as tf.Tensor3D];
    return tf.tidy(() => {
      const feats = this.maskRoiFeatures(levels, boxes, batch);
      return this.maskHeads.map((head) => head.classProbabilities(feats, labels));
    });
  }

  /** Detections in original image pixels, with stage-averaged masks when the head has mask heads. */
  predictMasks(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Detection[] {
    this.assertAlive('predictMasks');
    return this.toOriginal(dets, metas, maskThr, this.withMask ? this.maskProbs(levels, dets) : null);
  }

  /** `predictMasks` with asynchronous reads. */
  async predictMasksAsync(levels: readonly tf.Tensor4D[], dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number): Promise<Detection[]> {
    this.assertAlive('predictMasks');
    return this.toOriginal(dets, metas, maskThr, this.withMask ? await this.maskProbsAsync(levels, dets) : null);
  }

  private toOriginal(dets: readonly NetDetections[], metas: readonly ImageMeta[], maskThr: number, probs: Float32Array | null): Detection[] {
    const M = this.maskSize;
    let at = 0;
    return dets.map((d, i) => {
      const k = d.labels.length;
      const p = probs ? probs.subarray(at * M * M, (at + k) * M * M) : null;
      at += k;
      return detectionToOriginal(d, p, M, metas[i]!, maskThr);
    });
  }
}

/** The predictBoxes state between stages. */
interface BoxRun {
  counts: number[];
  /** The current stage's RoIs (all images). */
  rois: Float32Array;
  batch: Int32Array;
  stageLogits: Float32Array[];
  /** The last stage's deltas. */
  deltas: Float32Array;
}

function emptyDetections(): NetDetections {
  return { boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) };
}

/** Row-wise softmax of [R·K] logits in float32 (max-subtracted, as torch). */
export function softmaxRows(x: Float32Array, K: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += K) {
    let m = -Infinity;
    for (let j = 0; j < K; j++) m = Math.max(m, x[o + j]!);
    let s = 0;
    for (let j = 0; j < K; j++) s += (out[o + j] = Math.exp(x[o + j]! - m));
    for (let j = 0; j < K; j++) out[o + j] = out[o + j]! / s;
  }
  return out;
}

/** Class-agnostic deltas [R·4] → the same 4 for each of C classes [R·4C] (mmdet's `multiclass_nms` expand). */
function tileDeltas(d: Float32Array, C: number): Float32Array {
  const R = d.length / 4;
  const out = new Float32Array(R * 4 * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out.set(d.subarray(4 * r, 4 * r + 4), (r * C + c) * 4);
  return out;
}
