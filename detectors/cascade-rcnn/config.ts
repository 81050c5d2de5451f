/**
 * Cascade (Mask) R-CNN's hyper-parameters in one typed value, with mmdetection's defaults
 * (configs/_base_/models/cascade-mask-rcnn_r50_fpn.py and cascade-rcnn_r50_fpn.py):
 *
 *   neck, rpn   as Mask R-CNN (../mask-rcnn/config.ts) except the RPN box loss SmoothL1Loss(beta = 1/9), the RPN
 *               anchors with allowed_border 0, and rpn_proposal max_per_img 2000 (train)
 *   roi_head    CascadeRoIHead, num_stages 3, stage_loss_weights [1, 0.5, 0.25]; per stage a Shared2FCBBoxHead (fc
 *               1024, class-agnostic deltas, SmoothL1Loss(beta = 1), softmax CE) whose coder stds are
 *               (0.1, 0.1, 0.2, 0.2) / (0.05, 0.05, 0.1, 0.1) / (0.033, 0.033, 0.067, 0.067); with masks, per stage an
 *               FCNMaskHead (4 convs 256) on the mask RoIAlign 14×14
 *   train.rcnn  per stage MaxIoUAssigner(pos = neg = min_pos = 0.5 / 0.6 / 0.7, no low-quality matches),
 *               RandomSampler(512, 0.25, GT added), mask_size 28
 *   test        rpn: nms_pre 1000, max_per_img 1000, NMS 0.7; rcnn: score_thr 0.05, NMS 0.5, 100, mask_thr 0.5
 *
 * The per-stage lists (`model.roiHead.stageLossWeights`, `model.bboxHead.stageStds`, `train.rcnn.stageIouThrs`)
 * must each have `model.roiHead.numStages` entries: a mismatch is one error naming every key whose length differs.
 * `cascadeRcnnConfig(...overrides)` merges as `maskRcnnConfig` does (../config-merge.ts). `withMask: false` is
 * Cascade R-CNN (no mask heads); `CASCADE_RCNN_TINY` holds the overrides of the small model the tests train.
 */
import type { RandomSamplerOptions } from '../../src/ops/samplers.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import type { Vec4 } from '../../src/ops/box-coder.js';
import { deltaCoder, type CoderConfig } from '../common-config.js';
import { configChecks } from '../config-checks.js';
import { mergeConfig, type DeepPartial } from '../config-merge.js';
import type {
  MaskHeadConfig,
  MaskRcnnNeckConfig,
  ProposalConfig,
  RcnnTestConfig,
  RoiExtractorConfig,
  RpnHeadConfig,
  RpnTrainConfig,
} from '../mask-rcnn/config.js';
import { checkTwoStageParts, roiExtractor } from '../mask-rcnn/config.js';

export interface CascadeRpnHeadConfig extends Omit<RpnHeadConfig, 'loss'> {
  /** bboxBeta: SmoothL1Loss β of the RPN deltas (1/9). */
  loss: { clsWeight: number; bboxWeight: number; bboxBeta: number };
}

export interface CascadeRoiHeadConfig {
  numStages: number;
  /** Weight of each stage's losses (mmdet `stage_loss_weights`). */
  stageLossWeights: number[];
}

/** The box heads of all stages (the same architecture; each its own weights and coder stds). */
export interface CascadeBBoxHeadConfig {
  roiExtractor: RoiExtractorConfig;
  fcChannels: number;
  numSharedFcs: number;
  /** Coder means and dw/dh clamp (its `stds` are unused: each stage has its own, `stageStds`). */
  coder: CoderConfig;
  /** Target stds of each stage's delta coder. */
  stageStds: Vec4[];
  /** mmdet `reg_class_agnostic` (true for Cascade R-CNN). */
  regClassAgnostic: boolean;
  /** bboxBeta: SmoothL1Loss β (1). */
  loss: { clsWeight: number; bboxWeight: number; bboxBeta: number };
}

export interface CascadeModelConfig {
  neck: MaskRcnnNeckConfig;
  rpnHead: CascadeRpnHeadConfig;
  roiHead: CascadeRoiHeadConfig;
  bboxHead: CascadeBBoxHeadConfig;
  /** Cascade Mask R-CNN: one mask head per stage; false: Cascade R-CNN. */
  withMask: boolean;
  maskHead: MaskHeadConfig;
}

export interface CascadeRcnnStageTrainConfig {
  /** pos_iou_thr = neg_iou_thr = min_pos_iou of each stage's MaxIoUAssigner. */
  stageIouThrs: number[];
  /** The assigner's other settings (shared by the stages). */
  assigner: Omit<MaxIoUAssignerOptions, 'posIouThr' | 'negIouThr' | 'minPosIou'>;
  sampler: RandomSamplerOptions;
  maskSize: number;
}

export interface CascadeRcnnTrainConfig {
  rpn: RpnTrainConfig;
  rpnProposal: ProposalConfig;
  rcnn: CascadeRcnnStageTrainConfig;
  padSizeDivisor: number;
}

export interface CascadeRcnnTestConfig {
  rpn: ProposalConfig;
  rcnn: RcnnTestConfig;
}

export interface CascadeRcnnConfig {
  numClasses: number;
  model: CascadeModelConfig;
  train: CascadeRcnnTrainConfig;
  test: CascadeRcnnTestConfig;
}

/** mmdetection's Cascade Mask R-CNN R-50-FPN defaults (a fresh object each call). */
export function defaultCascadeRcnnConfig(): CascadeRcnnConfig {
  return {
    numClasses: 80,
    model: {
      neck: { outChannels: 256 },
      rpnHead: {
        featChannels: 256,
        anchors: { scales: [8], ratios: [0.5, 1.0, 2.0], strides: [4, 8, 16, 32, 64] },
        coder: deltaCoder(),
        loss: { clsWeight: 1.0, bboxWeight: 1.0, bboxBeta: 1 / 9 },
      },
      roiHead: { numStages: 3, stageLossWeights: [1, 0.5, 0.25] },
      bboxHead: {
        roiExtractor: roiExtractor(7),
        fcChannels: 1024,
        numSharedFcs: 2,
        coder: deltaCoder([0.1, 0.1, 0.2, 0.2]),
        stageStds: [
          [0.1, 0.1, 0.2, 0.2],
          [0.05, 0.05, 0.1, 0.1],
          [0.033, 0.033, 0.067, 0.067],
        ],
        regClassAgnostic: true,
        loss: { clsWeight: 1.0, bboxWeight: 1.0, bboxBeta: 1.0 },
      },
      withMask: true,
      maskHead: { roiExtractor: roiExtractor(14), numConvs: 4, convChannels: 256, lossWeight: 1.0 },
    },
    train: {
      rpn: {
        assigner: { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true, gtMaxAssignAll: true, ignoreIofThr: -1 },
        sampler: { num: 256, posFraction: 0.5, negPosUb: -1, addGtAsProposals: false },
        allowedBorder: 0,
      },
      rpnProposal: { nmsPre: 2000, maxPerImg: 2000, iouThr: 0.7, minBboxSize: 0 },
      rcnn: {
        stageIouThrs: [0.5, 0.6, 0.7],
        assigner: { matchLowQuality: false, gtMaxAssignAll: true, ignoreIofThr: -1 },
        sampler: { num: 512, posFraction: 0.25, negPosUb: -1, addGtAsProposals: true },
        maskSize: 28,
      },
      padSizeDivisor: 32,
    },
    test: {
      rpn: { nmsPre: 1000, maxPerImg: 1000, iouThr: 0.7, minBboxSize: 0 },
      rcnn: { scoreThr: 0.05, nmsIouThr: 0.5, maxPerImg: 100, maskThr: 0.5 },
    },
  };
}

/** Cascade R-CNN (boxes only): the defaults with `withMask: false`. */
export const CASCADE_RCNN_BOX_ONLY: DeepPartial<CascadeRcnnConfig> = { model: { withMask: false } };

/** The small model of the tests and synthetic presets (as MASK_RCNN_TINY: FPN 32, FC 128, 2 mask convs of 32, 64 RoIs). */
export const CASCADE_RCNN_TINY: DeepPartial<CascadeRcnnConfig> = {
  model: {
    neck: { outChannels: 32 },
    rpnHead: { featChannels: 32 },
    bboxHead: { fcChannels: 128 },
    maskHead: { numConvs: 2, convChannels: 32 },
  },
  train: {
    rpn: { sampler: { num: 64 } },
    rpnProposal: { nmsPre: 300, maxPerImg: 100 },
    rcnn: { sampler: { num: 64 } },
  },
  test: { rpn: { nmsPre: 300, maxPerImg: 100 } },
};

const checks = configChecks('cascadeRcnnConfig');

/** The keys of the per-stage lists, with their lengths. */
function stageLists(cfg: CascadeRcnnConfig): [string, number][] {
  return [
    ['model.roiHead.stageLossWeights', cfg.model.roiHead.stageLossWeights.length],
    ['model.bboxHead.stageStds', cfg.model.bboxHead.stageStds.length],
    ['train.rcnn.stageIouThrs', cfg.train.rcnn.stageIouThrs.length],
  ];
}

/** Consistency checks of a merged config (errors name the field). */
export function checkCascadeRcnnConfig(cfg: CascadeRcnnConfig): CascadeRcnnConfig {
  checks.positiveInt(cfg.numClasses, 'numClasses');
  const m = cfg.model;
  const S = m.roiHead.numStages;
  checks.positiveInt(S, 'model.roiHead.numStages');
  const bad = stageLists(cfg).filter(([, n]) => n !== S);
  if (bad.length > 0) {
    throw new Error(
      `cascadeRcnnConfig: model.roiHead.numStages is ${S} but ${bad.map(([k, n]) => `${k} has ${n}`).join(', ')} ` +
        `(model.roiHead.stageLossWeights, model.bboxHead.stageStds and train.rcnn.stageIouThrs need one entry per stage)`,
    );
  }
  m.roiHead.stageLossWeights.forEach((w, i) => checks.finite(w, `model.roiHead.stageLossWeights[${i}]`));
  m.bboxHead.stageStds.forEach((s, i) => {
    if (!Array.isArray(s) || s.length !== 4 || s.some((v) => !(Number.isFinite(v) && v > 0))) {
      throw new Error(`cascadeRcnnConfig: model.bboxHead.stageStds[${i}] must be 4 positive numbers, got ${JSON.stringify(s)}`);
    }
  });
  cfg.train.rcnn.stageIouThrs.forEach((t, i) => {
    if (!(t >= 0 && t <= 1)) throw new Error(`cascadeRcnnConfig: train.rcnn.stageIouThrs[${i}] must be in [0, 1], got ${t}`);
  });
  checks.finite(m.rpnHead.loss.bboxBeta, 'model.rpnHead.loss.bboxBeta');
  checks.finite(m.bboxHead.loss.bboxBeta, 'model.bboxHead.loss.bboxBeta');
  checkTwoStageParts(cfg, 'cascadeRcnnConfig', 'the RoI heads pool');
  return cfg;
}

/** mmdetection's defaults with each of `overrides` merged in, in order; unknown keys are an error; the result is checked. */
export function cascadeRcnnConfig(...overrides: DeepPartial<CascadeRcnnConfig>[]): CascadeRcnnConfig {
  let cfg = defaultCascadeRcnnConfig();
  for (const o of overrides) cfg = mergeConfig<CascadeRcnnConfig>(cfg, o, 'cascadeRcnnConfig');
  return checkCascadeRcnnConfig(cfg);
}
