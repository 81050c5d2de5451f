/**
 * torchvision's `MaskRCNN` / `FasterRCNN` for inference, built from tiedet's modules (one per concept) with
 * torchvision's semantics (config.ts, postprocess.ts, anchors.ts, transform.ts):
 *
 *   backbone  torchvision ResNet (FrozenBatchNorm2d = BatchNorm2d in eval mode)      `backbone.*`
 *   neck      FPN P2–P6, P6 = max-pool(P5, 1, 2)                                     `neck.*`
 *   rpn_head  3×3 conv + ReLU, 1×1 objectness / deltas                               `rpn_head.*`
 *   roi_head  MultiScaleRoIAlign (aligned False, sampling 2, LevelMapper) → TwoMLPHead + FastRCNNPredictor
 *             (`bbox_head`, tiedet's Shared2FCBBoxHead: 90 classes + background LAST, class-specific deltas)
 *             and MaskRCNNHeads + MaskRCNNPredictor (`mask_head`, FCNMaskHead with 90 class channels)
 *
 * torchvision's background class 0 is moved to tiedet's layout when weights load (weights.ts) and back here, so
 * every step sees torchvision's 91 columns. `predict` returns boxes in original pixels (torchvision's
 * `resize_boxes`, unclipped), scores, torchvision labels (= COCO category ids) and, for Mask R-CNN, masks pasted
 * with `paste_masks_in_image` and binarised at > maskThresh, as COCO RLE.
 */
import * as tf from '@tensorflow/tfjs';
import { toCompressed } from '../../src/structures/rle-string.js';
import { bottleneckResNet, type ResNet } from '../../src/backbones/resnet.js';
import { FPN } from '../../src/necks/fpn.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { pasteMasks } from '../../src/ops/paste-masks.js';
import { extractRoiFeatures, type RoiExtractorOptions } from '../../src/ops/roi-extractor.js';
import { concatArrays } from '../../src/ops/typed-rows.js';
import { featureSizes, imageLevelOutputs } from '../dense-head.js';
import type { DetectionBatch, Detection, Detector } from '../detector.js';
import { Shared2FCBBoxHead } from '../mask-rcnn/bbox-head.js';
import { FCNMaskHead } from '../mask-rcnn/mask-head.js';
import { RPNHead } from '../mask-rcnn/rpn-head.js';
import { tvGridAnchors } from './anchors.js';
import type { TvBackboneConfig, TvRcnnConfig } from './config.js';
import { tvProposals, tvRcnnDetections, type TvNetDetections } from './postprocess.js';
import { tvResizeBoxes } from './transform.js';

/** torchvision's 91 labels (background 0). */
export const TV_NUM_LABELS = 91;
const FG = TV_NUM_LABELS - 1;

export function tvBackbone(cfg: TvBackboneConfig, rng: Rng): ResNet {
  return bottleneckResNet({ layers: cfg.layers, baseWidth: cfg.baseWidth, expansion: cfg.expansion }, { numClasses: null, rng, frozenStages: -1 });
}

/** The RoI heads container (`roi_head.bbox_head`, `roi_head.mask_head`). */
export class TvRoiHeads extends Module {
  readonly bboxHead: Shared2FCBBoxHead;
  readonly maskHead: FCNMaskHead | null;
  constructor(cfg: TvRcnnConfig, rng: Rng) {
    super();
    const r = cfg.roiHeads;
    this.bboxHead = this.registerModule(
      'bbox_head',
      new Shared2FCBBoxHead({ numClasses: FG, inChannels: cfg.fpnChannels, roiFeatSize: 7, fcChannels: r.representationSize, numSharedFcs: 2, rng }),
    );
    if (cfg.masks) {
      const widths = r.maskLayers;
      if (widths.length === 0 || widths.some((w) => w !== widths[0])) throw new Error(`torchvision Mask R-CNN: maskLayers must be equal widths, got [${widths.join(', ')}]`);
      this.maskHead = this.registerModule(
        'mask_head',
        new FCNMaskHead({ numClasses: FG, inChannels: cfg.fpnChannels, numConvs: widths.length, convChannels: widths[0]!, rng }),
      );
    } else {
      this.maskHead = null;
    }
  }
}

export interface TvPredictOptions {
  /** Override the config's score threshold of the final detections. */
  scoreThresh?: number;
}

export class TvRCNN extends Module implements Detector {
  readonly numClasses = FG;
  readonly config: TvRcnnConfig;
  readonly backbone: ResNet;
  readonly neck: FPN;
  readonly rpnHead: RPNHead;
  readonly roiHead: TvRoiHeads;

  constructor(config: TvRcnnConfig, opts: { seed?: number } = {}) {
    super();
    this.config = config;
    const rng = new Rng(opts.seed ?? 0);
    this.backbone = this.registerModule('backbone', tvBackbone(config.backbone, rng));
    try {
      this.neck = this.registerModule(
        'neck',
        new FPN({ inChannels: this.backbone.outChannels, outChannels: config.fpnChannels, startLevel: 0, numOuts: 5, addExtraConvs: false, rng }),
      );
      this.rpnHead = this.registerModule(
        'rpn_head',
        new RPNHead({ inChannels: config.fpnChannels, featChannels: config.fpnChannels, numAnchors: config.aspectRatios.length * config.anchorSizes[0]!.length, rng }),
      );
      this.roiHead = this.registerModule('roi_head', new TvRoiHeads(config, rng));
      this.eval(); // inference presets: FrozenBatchNorm2d = BatchNorm with running statistics
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  loss(): Record<string, tf.Scalar> {
    throw new Error('torchvision presets are for inference: train with an mmdetection-style config instead');
  }

  private extractor(outputSize: number): RoiExtractorOptions {
    return { outputSize, samplingRatio: this.config.roiHeads.samplingRatio, aligned: false, featmapStrides: [4, 8, 16, 32], levelMapper: 'torchvision' };
  }

  /**
   * The Detector contract's asynchronous predict. torchvision presets post-process with synchronous reads (as their
   * parity with torchvision is tested on wasm): this runs `predict`, so on webgpu it stops with the engine's named
   * synchronous-read error; on wasm, cpu and tensorflow it is `predict`.
   */
  async predictAsync(batch: DetectionBatch, opts: TvPredictOptions = {}): Promise<Detection[]> {
    return this.predict(batch, opts);
  }

  predict(batch: DetectionBatch, opts: TvPredictOptions = {}): Detection[] {
    this.assertAlive('predict');
    const cfg = this.config;
    const { metas } = batch;
    const [, H, W] = batch.images.shape;
    const levels = tf.tidy(() => this.neck.forward(this.backbone.forward(batch.images)));
    try {
      // RPN
      const out = tf.tidy(() => this.rpnHead.forward(levels));
      let proposals: Float32Array[];
      try {
        const anchors = tvGridAnchors(cfg.anchorSizes, cfg.aspectRatios, featureSizes(out.cls), H, W);
        const per = imageLevelOutputs(out, anchors, 1);
        proposals = metas.map((m, i) => tvProposals(per[i]!, [m.resizedSize.height, m.resizedSize.width], cfg.rpn));
      } finally {
        tf.dispose([...out.cls, ...out.reg]);
      }
      // box head
      const pooled = levels.slice(0, 4);
      const counts = proposals.map((p) => p.length / 4);
      const rois = concatArrays(proposals, Float32Array);
      const bidx = concatArrays(counts.map((c, i) => new Int32Array(c).fill(i)), Int32Array);
      let probs: Float32Array = new Float32Array(0);
      let deltas: Float32Array = new Float32Array(0);
      if (rois.length > 0) {
        const [p, d] = tf.tidy(() => {
          const o = this.roiHead.bboxHead.forward(extractRoiFeatures(pooled, rois, bidx, this.extractor(7)));
          return [tf.softmax(o.cls), o.reg];
        });
        try {
          probs = p.dataSync() as Float32Array;
          deltas = d.dataSync() as Float32Array;
        } finally {
          tf.dispose([p, d]);
        }
      }
      const post = { ...cfg.roiHeads, scoreThresh: opts.scoreThresh ?? cfg.roiHeads.scoreThresh };
      let at = 0;
      const dets: TvNetDetections[] = metas.map((m, i) => {
        const r0 = at;
        const r1 = (at += counts[i]!);
        const [tp, td] = toTorchvisionOrder(probs.subarray(r0 * (FG + 1), r1 * (FG + 1)), deltas.subarray(r0 * 4 * FG, r1 * 4 * FG));
        return tvRcnnDetections(rois.subarray(4 * r0, 4 * r1), tp, td, TV_NUM_LABELS, [m.resizedSize.height, m.resizedSize.width], post);
      });
      // masks
      const maskProbs = this.roiHead.maskHead ? this.maskProbs(pooled, dets) : null;
      let k0 = 0;
      return dets.map((d, i) => {
        const meta = metas[i]!;
        const boxes = tvResizeBoxes(d.boxes, meta);
        const det: Detection = { imageId: meta.imageId, boxes, scores: d.scores, labels: d.labels };
        if (maskProbs) {
          const k = d.scores.length;
          const M = 28;
          const p = maskProbs.subarray(k0 * M * M, (k0 + k) * M * M);
          k0 += k;
          const { width: w, height: h } = meta.originalSize;
          det.masks = k === 0 ? [] : pasteMasks(p, boxes, h, w, { threshold: cfg.roiHeads.maskThresh, strict: true, semantics: 'torchvision', maskSize: M }).map(toCompressed);
        }
        return det;
      });
    } finally {
      tf.dispose(levels);
    }
  }

  /** Sigmoid mask probabilities [K·28·28] of every detection's class, in detection order. */
  private maskProbs(pooled: readonly tf.Tensor4D[], dets: readonly TvNetDetections[]): Float32Array {
    const boxes = concatArrays(dets.map((d) => d.boxes), Float32Array);
    if (boxes.length === 0) return new Float32Array(0);
    const labels = Int32Array.from(concatArrays(dets.map((d) => d.labels), Int32Array), (l) => l - 1);
    const bidx = concatArrays(dets.map((d, i) => new Int32Array(d.labels.length).fill(i)), Int32Array);
    const t = tf.tidy(() => this.roiHead.maskHead!.classProbabilities(extractRoiFeatures(pooled, boxes, bidx, this.extractor(14)), labels));
    try {
      return t.dataSync() as Float32Array;
    } finally {
      t.dispose();
    }
  }
}

/**
 * tiedet's box-head layout (probabilities [R, 90 + 1] background last, deltas [R, 4·90]) → torchvision's
 * ([R, 91] and [R, 4·91], background first; its deltas are unused, left 0).
 */
function toTorchvisionOrder(probs: Float32Array, deltas: Float32Array): [Float32Array, Float32Array] {
  const R = probs.length / (FG + 1);
  const p = new Float32Array(R * TV_NUM_LABELS);
  const d = new Float32Array(R * 4 * TV_NUM_LABELS);
  for (let r = 0; r < R; r++) {
    p[r * TV_NUM_LABELS] = probs[r * (FG + 1) + FG]!;
    p.set(probs.subarray(r * (FG + 1), r * (FG + 1) + FG), r * TV_NUM_LABELS + 1);
    d.set(deltas.subarray(r * 4 * FG, (r + 1) * 4 * FG), r * 4 * TV_NUM_LABELS + 4);
  }
  return [p, d];
}
