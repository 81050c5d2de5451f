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
 *   optim    SGD lr 0.01 (batch 16), momentum 0.9, weight decay 1e-4; 2x: 24 epochs, ×0.1 at 16 and 22, linear
 *            warm-up over 500 iterations from ×0.001
 *   data     mean [123.675, 116.28, 103.53], std [58.395, 57.12, 57.375] (RGB), resize to 1333×800 keeping the ratio
 *
 * `retinaNetConfig(overrides)` deep-merges overrides (objects merge key by key; arrays and scalars replace; an unknown
 * key is an error naming its path — ../config-merge.ts). The sections shared with Mask R-CNN (coder, optim, data)
 * come from ../common-config.ts. Nothing here builds anything: the detector (retinanet.ts) reads it.
 */
import type { AnchorGeneratorConfig } from '../../src/ops/anchors.js';
import type { MaxIoUAssignerOptions } from '../../src/ops/assigner.js';
import { cocoInputData, deltaCoder, schedule2xOptim, type CoderConfig, type DataConfig, type OptimConfig } from '../common-config.js';
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

export interface RetinaNetConfig {
  numClasses: number;
  neck: RetinaNetNeckConfig;
  head: RetinaNetHeadConfig;
  anchors: AnchorGeneratorConfig;
  coder: CoderConfig;
  loss: RetinaNetLossConfig;
  train: RetinaNetTrainConfig;
  test: RetinaNetTestConfig;
  optim: OptimConfig;
  data: DataConfig;
}

/** mmdetection's RetinaNet R-50-FPN 2x defaults (a fresh object each call). */
export function defaultRetinaNetConfig(): RetinaNetConfig {
  return {
    numClasses: 80,
    neck: { outChannels: 256, startLevel: 1, numOuts: 5, addExtraConvs: 'on_input', reluBeforeExtraConvs: false },
    head: { featChannels: 256, stackedConvs: 4, priorProb: 0.01, initStd: 0.01 },
    anchors: { octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1.0, 2.0], strides: [8, 16, 32, 64, 128], centerOffset: 0 },
    coder: deltaCoder(),
    loss: { focal: { alpha: 0.25, gamma: 2.0, weight: 1.0 }, bbox: { type: 'l1', beta: 0, weight: 1.0 } },
    train: {
      assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0, matchLowQuality: true, gtMaxAssignAll: true, ignoreIofThr: -1 },
      allowedBorder: -1,
      padSizeDivisor: 32,
    },
    test: { nmsPre: 1000, scoreThr: 0.05, minBboxSize: 0, nmsIouThr: 0.5, maxPerImg: 100 },
    optim: schedule2xOptim(0.01),
    data: cocoInputData(),
  };
}

/** mmdetection's defaults with `overrides` merged in (unknown keys are an error naming the path). */
export function retinaNetConfig(overrides: DeepPartial<RetinaNetConfig> = {}): RetinaNetConfig {
  return mergeConfig<RetinaNetConfig>(defaultRetinaNetConfig(), overrides, 'retinaNetConfig');
}
