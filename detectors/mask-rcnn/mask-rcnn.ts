/**
 * Mask R-CNN (He et al. 2017) = backbone + FPN (P2–P6) + RPN + RoI head (box and mask branches), as mmdetection's
 * `MaskRCNN` (a `TwoStageDetector`) with the hyper-parameters of `MaskRcnnConfig` (config.ts).
 *
 * - Names are mmdetection's checkpoint keys (TF.js layout): `backbone.*`, `neck.lateral_convs.{i}.conv.*`,
 *   `neck.fpn_convs.{i}.conv.*`, `rpn_head.rpn_conv|rpn_cls|rpn_reg.*`, `roi_head.bbox_head.shared_fcs.{0,1}.*`,
 *   `roi_head.bbox_head.fc_cls|fc_reg.*`, `roi_head.mask_head.convs.{i}.conv.*`, `roi_head.mask_head.upsample.*`,
 *   `roi_head.mask_head.conv_logits.*`.
 * - `loss(batch)` → { loss_rpn_cls, loss_rpn_bbox, loss_cls, loss_bbox, acc, loss_mask } (mmdetection's keys; `acc`
 *   is logged, not optimised): pyramid → RPN outputs → RPN targets (rpn-targets.ts) and losses; proposals from the
 *   same outputs with the train proposal config (proposals.ts; data, no gradient); RoI head losses (roi-head.ts).
 *   Synchronous (it runs inside `tf.variableGrads`); RoI sampling draws from the detector's own seeded `Rng`.
 * - `predict(batch, { maskThr })` → one `Detection` per image: boxes, scores, labels and COCO RLE masks in ORIGINAL
 *   image pixels (resize and flip undone). Uses the test configs regardless of train/eval mode (call `eval()` first
 *   if the backbone's BatchNorm should use running statistics).
 * - Pieces for benchmarks and tools: `features` (backbone + neck), `rpnHead.forward`, `proposals`,
 *   `roiHead.predictBoxes`, `roiHead.predictMasks`.
 */
import type { Backbone } from '../../src/backbones/backbone.js';
import { Rng } from '../../src/nn/rng.js';
import type { DeepPartial } from '../config-merge.js';
import type { TestSettings } from '../detector.js';
import { TwoStageDetector, type TwoStagePredictOptions } from '../two-stage.js';
import { maskRcnnConfig, type MaskRcnnConfig } from './config.js';
import { StandardRoIHead } from './roi-head.js';

export interface MaskRcnnOptions {
  /** The backbone (C2–C5), e.g. `resnet50({ numClasses: null })` or `tiedResNet50({ numClasses: null })`. */
  backbone: Backbone;
  /** Hyper-parameters: a full config, or overrides of mmdetection's defaults. */
  config?: MaskRcnnConfig | DeepPartial<MaskRcnnConfig>;
  /** The experiment's test settings (score threshold, NMS IoU, detections per image), applied over `config.test.rcnn`. */
  test?: TestSettings;
  /** Seeds the neck and head init (the backbone has its own) and then the RPN / RoI sampling. */
  rng?: Rng;
  seed?: number | string;
}

export type MaskRcnnPredictOptions = TwoStagePredictOptions;

/** Mask R-CNN: the two-stage frame (../two-stage.ts) with the standard RoI head (box and mask branches). */
export class MaskRCNN extends TwoStageDetector<MaskRcnnConfig, StandardRoIHead> {
  constructor(opts: MaskRcnnOptions) {
    const cfg = maskRcnnConfig(
      (opts.config ?? {}) as DeepPartial<MaskRcnnConfig>,
      opts.test ? { test: { rcnn: { scoreThr: opts.test.scoreThr, nmsIouThr: opts.test.nmsIouThr, maxPerImg: opts.test.maxPerImg } } } : {},
    );
    const m = cfg.model;
    super('MaskRCNN', cfg, opts.backbone, opts.rng ?? new Rng(opts.seed ?? 0), (rng) =>
      new StandardRoIHead({ numClasses: cfg.numClasses, inChannels: m.neck.outChannels, bboxHead: m.bboxHead, maskHead: m.maskHead, rng }),
    );
  }
}

/** `new MaskRCNN(options)`. */
export function maskRcnn(options: MaskRcnnOptions): MaskRCNN {
  return new MaskRCNN(options);
}
