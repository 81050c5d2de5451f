/**
 * Mask R-CNN's hyper-parameters in one typed value, with mmdetection's defaults (configs/_base_/models/
 * mask-rcnn_r50_fpn.py + mask-rcnn_r50_fpn_2x_coco.py; research/detection-anchors.md §2.1 and §2.3):
 *
 *   neck      FPN in [256, 512, 1024, 2048] → 256, num_outs 5, no extra convs: P2–P6 (P6 = max-pool of P5, RPN only)
 *   rpn_head  conv 3×3 256 + ReLU, 1×1 objectness (sigmoid, 3 anchors) and 1×1 deltas; anchors scale 8, ratios
 *             0.5/1/2, strides 4…64; coder means 0, stds 1; sigmoid CE (weight 1) and L1 (weight 1)
 *   roi_head  RoIAlign 7×7 (boxes) and 14×14 (masks), sampling ratio 0 (adaptive), aligned, strides 4…32,
 *             finest_scale 56; Shared2FCBBoxHead fc 1024, softmax CE over C + 1 (background last), class-specific
 *             deltas with stds 0.1/0.1/0.2/0.2, L1; FCNMaskHead 4 × conv 3×3 256, deconv ×2, 1×1 → C × 28×28,
 *             per-class sigmoid CE
 *   train     rpn: MaxIoUAssigner(0.7, 0.3, min_pos 0.3, low-quality), RandomSampler(256, 0.5, no GT added),
 *             allowed_border −1; rpn_proposal: nms_pre 2000, max_per_img 1000, NMS 0.7, min_bbox_size 0;
 *             rcnn: MaxIoUAssigner(0.5, 0.5, 0.5, low-quality), RandomSampler(512, 0.25, GT added), mask_size 28
 *   test      rpn: nms_pre 1000, max_per_img 1000, NMS 0.7, min_bbox_size 0; rcnn: score_thr 0.05, NMS 0.5,
 *             max_per_img 100, mask_thr_binary 0.5
 *
 * `maskRcnnConfig(overrides)` deep-merges overrides (objects merge key by key; arrays and scalars replace; an unknown
 * key is an error naming its path — ../config-merge.ts; several overrides apply in order). The coder section shared
 * with RetinaNet comes from ../common-config.ts; the schedule and the input normalisation belong to the experiment
 * (configs/_base.ts). `MASK_RCNN_TINY` holds the overrides of the small
 * model the CI tests train.
 */
import type { AnchorGeneratorConfig } from '../../src/ops/anchors.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import type { RandomSamplerOptions } from '../../src/ops/samplers.js';
import { deltaCoder, type CoderConfig } from '../common-config.js';
import { configChecks } from '../config-checks.js';
import { mergeConfig, type DeepPartial } from '../config-merge.js';

export interface MaskRcnnNeckConfig {
  /** Channels of P2–P6. */
  outChannels: number;
}

export interface RpnHeadConfig {
  /** Channels of the 3×3 conv. */
  featChannels: number;
  anchors: AnchorGeneratorConfig;
  coder: CoderConfig;
  loss: { clsWeight: number; bboxWeight: number };
}

/** mmdet `SingleRoIExtractor` with `RoIAlign`. */
export interface RoiExtractorConfig {
  outputSize: number;
  /** 0 = adaptive ceil(roiSize / out). */
  samplingRatio: number;
  aligned: boolean;
  /** Strides of the levels pooled from (P2–P5). */
  featmapStrides: number[];
  finestScale: number;
}

export interface BBoxHeadConfig {
  roiExtractor: RoiExtractorConfig;
  /** Width of the shared FC layers. */
  fcChannels: number;
  /** Number of shared FC layers (Shared2FC: 2). */
  numSharedFcs: number;
  coder: CoderConfig;
  loss: { clsWeight: number; bboxWeight: number };
}

export interface MaskHeadConfig {
  roiExtractor: RoiExtractorConfig;
  numConvs: number;
  convChannels: number;
  lossWeight: number;
}

export interface MaskRcnnModelConfig {
  neck: MaskRcnnNeckConfig;
  rpnHead: RpnHeadConfig;
  bboxHead: BBoxHeadConfig;
  maskHead: MaskHeadConfig;
}

/** RPN proposal generation (mmdet `rpn_proposal` / test `rpn`). */
export interface ProposalConfig {
  /** Top-k anchors per level (by objectness) before NMS. */
  nmsPre: number;
  /** Proposals kept per image after NMS. */
  maxPerImg: number;
  /** NMS IoU threshold (per level: the level id is the NMS class). */
  iouThr: number;
  /** Drop proposals whose width or height is ≤ this (mmdet: ≥ 0 enables the filter). */
  minBboxSize: number;
}

export interface RpnTrainConfig {
  assigner: MaxIoUAssignerOptions;
  sampler: RandomSamplerOptions;
  /** −1: every anchor on the image (not the padding) takes part. */
  allowedBorder: number;
}

export interface RcnnTrainConfig {
  assigner: MaxIoUAssignerOptions;
  sampler: RandomSamplerOptions;
  /** Mask target size M (M×M); must be twice the mask RoI size. */
  maskSize: number;
}

export interface RcnnTestConfig {
  /** Keep (RoI, class) scores strictly above this. */
  scoreThr: number;
  /** Per-class NMS IoU threshold. */
  nmsIouThr: number;
  maxPerImg: number;
  /** Mask probability threshold (mmdet `mask_thr_binary`): foreground when ≥ this. */
  maskThr: number;
}

export interface MaskRcnnTrainConfig {
  rpn: RpnTrainConfig;
  rpnProposal: ProposalConfig;
  rcnn: RcnnTrainConfig;
  /** Each image's own padded size is ⌈resized / divisor⌉·divisor: anchors beyond it are invalid. */
  padSizeDivisor: number;
}

export interface MaskRcnnTestConfig {
  rpn: ProposalConfig;
  rcnn: RcnnTestConfig;
}

export interface MaskRcnnConfig {
  numClasses: number;
  model: MaskRcnnModelConfig;
  train: MaskRcnnTrainConfig;
  test: MaskRcnnTestConfig;
}

/** mmdetection's `SingleRoIExtractor` defaults at `outputSize` (Mask R-CNN's and Cascade's box and mask heads). */
export const roiExtractor = (outputSize: number): RoiExtractorConfig => ({
  outputSize,
  samplingRatio: 0,
  aligned: true,
  featmapStrides: [4, 8, 16, 32],
  finestScale: 56,
});

/** mmdetection's Mask R-CNN R-50-FPN 2x defaults (a fresh object each call). */
export function defaultMaskRcnnConfig(): MaskRcnnConfig {
  return {
    numClasses: 80,
    model: {
      neck: { outChannels: 256 },
      rpnHead: {
        featChannels: 256,
        anchors: { scales: [8], ratios: [0.5, 1.0, 2.0], strides: [4, 8, 16, 32, 64] },
        coder: deltaCoder(),
        loss: { clsWeight: 1.0, bboxWeight: 1.0 },
      },
      bboxHead: {
        roiExtractor: roiExtractor(7),
        fcChannels: 1024,
        numSharedFcs: 2,
        coder: deltaCoder([0.1, 0.1, 0.2, 0.2]),
        loss: { clsWeight: 1.0, bboxWeight: 1.0 },
      },
      maskHead: { roiExtractor: roiExtractor(14), numConvs: 4, convChannels: 256, lossWeight: 1.0 },
    },
    train: {
      rpn: {
        assigner: { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true, gtMaxAssignAll: true, ignoreIofThr: -1 },
        sampler: { num: 256, posFraction: 0.5, negPosUb: -1, addGtAsProposals: false },
        allowedBorder: -1,
      },
      rpnProposal: { nmsPre: 2000, maxPerImg: 1000, iouThr: 0.7, minBboxSize: 0 },
      rcnn: {
        assigner: { posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.5, matchLowQuality: true, gtMaxAssignAll: true, ignoreIofThr: -1 },
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

/**
 * The small Mask R-CNN of the CI tests and the synthetic demo (use with `tiedResNetTiny`): FPN width 32, RPN conv
 * 32, FC 128, 2 mask convs of 32, 64 RPN anchors and 64 RoIs sampled per image, fewer proposals.
 */
export const MASK_RCNN_TINY: DeepPartial<MaskRcnnConfig> = {
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

/** What `checkTwoStageParts` reads: the parts Mask R-CNN's and Cascade's configs have in common. */
interface TwoStageParts {
  numClasses: number;
  model: Pick<MaskRcnnModelConfig, 'neck' | 'rpnHead'> & {
    bboxHead: Pick<MaskRcnnModelConfig['bboxHead'], 'fcChannels' | 'numSharedFcs' | 'roiExtractor'>;
    maskHead: Pick<MaskRcnnModelConfig['maskHead'], 'numConvs' | 'convChannels' | 'roiExtractor'>;
  };
  train: { rpnProposal: ProposalConfig; rcnn: { maskSize: number } };
  test: { rpn: ProposalConfig; rcnn: { maxPerImg: number; maskThr: number } };
}

/**
 * The checks of the parts every two-stage config shares (neck, RPN, box / mask head widths, RoI extractors, mask
 * size, proposals, test settings); `owner` starts the messages and `whoPools` names what pools from the RPN levels.
 */
export function checkTwoStageParts(cfg: TwoStageParts, owner: string, whoPools: string): void {
  const c = configChecks(owner);
  const m = cfg.model;
  c.positiveInt(m.neck.outChannels, 'model.neck.outChannels');
  c.positiveInt(m.rpnHead.featChannels, 'model.rpnHead.featChannels');
  c.positiveInt(m.bboxHead.fcChannels, 'model.bboxHead.fcChannels');
  c.positiveInt(m.bboxHead.numSharedFcs, 'model.bboxHead.numSharedFcs');
  c.nonNegativeInt(m.maskHead.numConvs, 'model.maskHead.numConvs');
  c.positiveInt(m.maskHead.convChannels, 'model.maskHead.convChannels');
  for (const [name, r] of [['bboxHead', m.bboxHead.roiExtractor], ['maskHead', m.maskHead.roiExtractor]] as const) {
    c.positiveInt(r.outputSize, `model.${name}.roiExtractor.outputSize`);
    c.nonEmpty(r.featmapStrides, `model.${name}.roiExtractor.featmapStrides`);
  }
  if (m.rpnHead.anchors.strides.length !== m.bboxHead.roiExtractor.featmapStrides.length + 1) {
    throw new Error(
      `${owner}: the RPN uses ${m.rpnHead.anchors.strides.length} levels but the RoI extractors ${m.bboxHead.roiExtractor.featmapStrides.length}; ` +
        `${whoPools} from every RPN level but the last (P2–P5 of P2–P6)`,
    );
  }
  if (cfg.train.rcnn.maskSize !== 2 * m.maskHead.roiExtractor.outputSize) {
    throw new Error(
      `${owner}: train.rcnn.maskSize (${cfg.train.rcnn.maskSize}) must be twice model.maskHead.roiExtractor.outputSize (${m.maskHead.roiExtractor.outputSize}): the mask head upsamples ×2`,
    );
  }
  for (const [p, path] of [[cfg.train.rpnProposal, 'train.rpnProposal'], [cfg.test.rpn, 'test.rpn']] as const) {
    c.positiveInt(p.nmsPre, `${path}.nmsPre`);
    c.positiveInt(p.maxPerImg, `${path}.maxPerImg`);
    c.finite(p.iouThr, `${path}.iouThr`);
    c.finite(p.minBboxSize, `${path}.minBboxSize`);
  }
  c.positiveInt(cfg.test.rcnn.maxPerImg, 'test.rcnn.maxPerImg');
  c.finite(cfg.test.rcnn.maskThr, 'test.rcnn.maskThr');
}

/** Consistency checks of a merged config (errors name the field). */
export function checkMaskRcnnConfig(cfg: MaskRcnnConfig): MaskRcnnConfig {
  configChecks('maskRcnnConfig').positiveInt(cfg.numClasses, 'numClasses');
  checkTwoStageParts(cfg, 'maskRcnnConfig', 'Mask R-CNN pools');
  return cfg;
}

/**
 * mmdetection's defaults with each of `overrides` merged in, in order (e.g. `maskRcnnConfig(MASK_RCNN_TINY,
 * { numClasses: 3 })`); unknown keys are an error naming the path; the result is checked.
 */
export function maskRcnnConfig(...overrides: DeepPartial<MaskRcnnConfig>[]): MaskRcnnConfig {
  let cfg = defaultMaskRcnnConfig();
  for (const o of overrides) cfg = mergeConfig<MaskRcnnConfig>(cfg, o, 'maskRcnnConfig');
  return checkMaskRcnnConfig(cfg);
}
