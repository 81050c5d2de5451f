/**
 * RetinaNet's hyper-parameters in one typed value, with mmdetection's defaults (configs/_base_/models/
 * retinanet_r50_fpn.py + retinanet_r50_fpn_2x_coco.py; research/detection-anchors.md §2.1–2.2):
 *
 *   neck     FPN in [256, 512, 1024, 2048] → 256, start_level 1, add_extra_convs 'on_input', num_outs 5 (P3–P7),
 *            no ReLU before P7 (mmdet's relu_before_extra_convs=False)
 *   head     4 stacked 3×3 convs of 256 per branch, Normal(0.01) init, classification prior 0.01
 *   anchors  octave base scale 4, 3 scales per octave, ratios 0.5/1/2, strides 8…128 (9 per location)
 *   coder    delta-xywh, means 0, stds 1, wh_ratio_clip 16/1000
 *   losses   sigmoid focal (α 0.25, γ 2, weight 1) on every non-ignored anchor; L1 (weight 1) on the positives'
 *            deltas; both divided by max(#positives, 1)
 *   train    MaxIoUAssigner(pos 0.5, neg 0.4, min_pos 0, low-quality matches, ignore_iof −1), PseudoSampler,
 *            allowed_border −1 (only anchors on the padding are left out); pad_size_divisor 32
 *   test     nms_pre 1000 per level, score_thr 0.05, min_bbox_size 0, NMS IoU 0.5 per class, max_per_img 100
 *
 * The shape every detector's config has: `{ numClasses, model, train, test }` (model = neck, head, anchors, coder,
 * losses). `retinaNetConfig(...overrides)` deep-merges overrides in order (objects merge key by key; arrays and
 * scalars replace; an unknown key is an error naming its path — ../config-merge.ts) and checks the result
 * (`checkRetinaNetConfig`). The coder section shared with Mask R-CNN comes from ../common-config.ts. The schedule and
 * the input normalisation belong to the experiment (configs/_base.ts). Nothing here builds anything: the detector
 * (retinanet.ts) reads it.
 */
import type { AnchorGeneratorConfig } from '../../src/ops/anchors.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import { deltaCoder, type CoderConfig } from '../common-config.js';
import { configChecks } from '../config-checks.js';
import { mergeConfig, type DeepPartial } from '../config-merge.js';

export interface RetinaNetNeckConfig {
  outChannels: number;
  startLevel: number;
  numOuts: number;
  addExtraConvs: 'on_input' | 'on_output' | false;
  reluBeforeExtraConvs: boolean;
}

export interface RetinaNetHeadConfig {
  featChannels: number;
  stackedConvs: number;
  priorProb: number;
  initStd: number;
}

export interface RetinaNetLossConfig {
  focal: { alpha: number; gamma: number; weight: number };
  /** L1 on the deltas (mmdet `L1Loss`); `smooth_l1` with `beta` as detectron2's variant. */
  bbox: { type: 'l1' | 'smooth_l1'; beta: number; weight: number };
}

export interface RetinaNetTrainConfig {
  assigner: MaxIoUAssignerOptions;
  /** −1: every anchor on the image (not the padding) takes part; b ≥ 0 also drops anchors crossing the border by > b. */
  allowedBorder: number;
  /** Each image's own padded size is ⌈resized / divisor⌉·divisor (mmdet `pad_shape`): anchors beyond are invalid. */
  padSizeDivisor: number;
}

export interface RetinaNetTestConfig {
  /** Top-k candidates per level before NMS. */
  nmsPre: number;
  /** Keep (anchor, class) scores strictly above this. */
  scoreThr: number;
  /** Drop boxes whose width or height is ≤ this (after rescaling to the original image). */
  minBboxSize: number;
  /** Per-class NMS: suppress IoU > this. */
  nmsIouThr: number;
  maxPerImg: number;
}

export interface RetinaNetModelConfig {
  neck: RetinaNetNeckConfig;
  head: RetinaNetHeadConfig;
  anchors: AnchorGeneratorConfig;
  coder: CoderConfig;
  loss: RetinaNetLossConfig;
}

export interface RetinaNetConfig {
  numClasses: number;
  model: RetinaNetModelConfig;
  train: RetinaNetTrainConfig;
  test: RetinaNetTestConfig;
}

/** mmdetection's RetinaNet R-50-FPN 2x defaults (a fresh object each call). */
export function defaultRetinaNetConfig(): RetinaNetConfig {
  return {
    numClasses: 80,
    model: {
      neck: { outChannels: 256, startLevel: 1, numOuts: 5, addExtraConvs: 'on_input', reluBeforeExtraConvs: false },
      head: { featChannels: 256, stackedConvs: 4, priorProb: 0.01, initStd: 0.01 },
      anchors: { octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1.0, 2.0], strides: [8, 16, 32, 64, 128], centerOffset: 0 },
      coder: deltaCoder(),
      loss: { focal: { alpha: 0.25, gamma: 2.0, weight: 1.0 }, bbox: { type: 'l1', beta: 0, weight: 1.0 } },
    },
    train: {
      assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0, matchLowQuality: true, gtMaxAssignAll: true, ignoreIofThr: -1 },
      allowedBorder: -1,
      padSizeDivisor: 32,
    },
    test: { nmsPre: 1000, scoreThr: 0.05, minBboxSize: 0, nmsIouThr: 0.5, maxPerImg: 100 },
  };
}

/** Consistency checks of a merged config (errors name the field). */
export function checkRetinaNetConfig(cfg: RetinaNetConfig): RetinaNetConfig {
  const c = configChecks('retinaNetConfig');
  c.positiveInt(cfg.numClasses, 'numClasses');
  const m = cfg.model;
  c.positiveInt(m.neck.outChannels, 'model.neck.outChannels');
  c.nonNegativeInt(m.neck.startLevel, 'model.neck.startLevel');
  c.positiveInt(m.neck.numOuts, 'model.neck.numOuts');
  c.positiveInt(m.head.featChannels, 'model.head.featChannels');
  c.nonNegativeInt(m.head.stackedConvs, 'model.head.stackedConvs');
  if (!(m.head.priorProb > 0 && m.head.priorProb < 1)) {
    throw new Error(`retinaNetConfig: model.head.priorProb must be in (0, 1), got ${m.head.priorProb}`);
  }
  c.finite(m.head.initStd, 'model.head.initStd');
  c.nonEmpty(m.anchors.strides, 'model.anchors.strides');
  c.nonNegativeInt(cfg.train.padSizeDivisor, 'train.padSizeDivisor');
  c.finite(cfg.train.allowedBorder, 'train.allowedBorder');
  c.positiveInt(cfg.test.nmsPre, 'test.nmsPre');
  c.finite(cfg.test.scoreThr, 'test.scoreThr');
  c.finite(cfg.test.minBboxSize, 'test.minBboxSize');
  c.finite(cfg.test.nmsIouThr, 'test.nmsIouThr');
  c.positiveInt(cfg.test.maxPerImg, 'test.maxPerImg');
  return cfg;
}

/**
 * mmdetection's defaults with each of `overrides` merged in, in order (e.g. `retinaNetConfig({ numClasses: 3 })`);
 * unknown keys are an error naming the path; the result is checked.
 */
export function retinaNetConfig(...overrides: DeepPartial<RetinaNetConfig>[]): RetinaNetConfig {
  let cfg = defaultRetinaNetConfig();
  for (const o of overrides) cfg = mergeConfig<RetinaNetConfig>(cfg, o, 'retinaNetConfig');
  return checkRetinaNetConfig(cfg);
}
