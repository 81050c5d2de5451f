/**
 * Cascade R-CNN (Cai & Vasconcelos 2018) and Cascade Mask R-CNN = backbone + FPN (P2–P6) + RPN + a cascade RoI head
 * of `numStages` box stages (and mask heads), as mmdetection's `CascadeRCNN` (a `TwoStageDetector`) with the
 * hyper-parameters of `CascadeRcnnConfig` (config.ts). The backbone, FPN, RPN, RPN targets and proposals are Mask
 * R-CNN's parts (../mask-rcnn/) in the two-stage frame both share (../two-stage.ts: features, proposals, `loss` and
 * the webgpu-safe `lossAsync`, `predict`, `predictAsync`); the cascade is cascade-roi-head.ts.
 *
 * - Names are mmdetection's checkpoint keys (TF.js layout): `backbone.*`, `neck.*`, `rpn_head.*`,
 *   `roi_head.bbox_head.{i}.shared_fcs.{0,1}.*`, `roi_head.bbox_head.{i}.fc_cls|fc_reg.*`,
 *   `roi_head.mask_head.{i}.convs.{j}.conv.*`, `roi_head.mask_head.{i}.upsample.*`, `roi_head.mask_head.{i}.conv_logits.*`.
 * - `loss(batch)` → { loss_rpn_cls, loss_rpn_bbox, s{i}.loss_cls, s{i}.loss_bbox, s{i}.acc, s{i}.loss_mask }
 *   (mmdetection's keys; the RPN's box loss is SmoothL1 β = 1/9 as in mmdetection's cascade configs).
 * - `predict(batch, { maskThr })` → one `Detection` per image in ORIGINAL image pixels (masks only with
 *   `model.withMask`). Uses the test configs regardless of train/eval mode.
 */
import type { Backbone } from '../../src/backbones/backbone.js';
import { Rng } from '../../src/nn/rng.js';
import type { DeepPartial } from '../config-merge.js';
import type { TestSettings } from '../detector.js';
import { TwoStageDetector, type TwoStagePredictOptions } from '../two-stage.js';
import { CascadeRoIHead } from './cascade-roi-head.js';
import { cascadeRcnnConfig, type CascadeRcnnConfig } from './config.js';

export interface CascadeRcnnOptions {
  /** The backbone (C2–C5), e.g. `resnet50({ numClasses: null })` or `tiedResNet50({ numClasses: null })`. */
  backbone: Backbone;
  /** Hyper-parameters: a full config, or overrides of mmdetection's defaults (Cascade Mask R-CNN). */
  config?: CascadeRcnnConfig | DeepPartial<CascadeRcnnConfig>;
  /** The experiment's test settings, applied over `config.test.rcnn`. */
  test?: TestSettings;
  /** Seeds the neck and head init (the backbone has its own) and then the RPN / RoI sampling. */
  rng?: Rng;
  seed?: number | string;
}

export type CascadeRcnnPredictOptions = TwoStagePredictOptions;

/** Cascade (Mask) R-CNN: the two-stage frame (../two-stage.ts) with the cascade RoI head. */
export class CascadeRCNN extends TwoStageDetector<CascadeRcnnConfig, CascadeRoIHead> {
  constructor(opts: CascadeRcnnOptions) {
    const cfg = cascadeRcnnConfig(
      (opts.config ?? {}) as DeepPartial<CascadeRcnnConfig>,
      opts.test ? { test: { rcnn: { scoreThr: opts.test.scoreThr, nmsIouThr: opts.test.nmsIouThr, maxPerImg: opts.test.maxPerImg } } } : {},
    );
    super('CascadeRCNN', cfg, opts.backbone, opts.rng ?? new Rng(opts.seed ?? 0), (rng) =>
      new CascadeRoIHead({ numClasses: cfg.numClasses, inChannels: cfg.model.neck.outChannels, model: cfg.model, rng }),
    );
  }
}

/** `new CascadeRCNN(options)`. */
export function cascadeRcnn(options: CascadeRcnnOptions): CascadeRCNN {
  return new CascadeRCNN(options);
}
