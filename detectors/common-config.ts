/**
 * The config sections RetinaNet and Mask R-CNN share, with mmdetection's values (research/detection-anchors.md §2):
 *
 *   coder  delta-xywh box coder: means, stds, dw/dh clamp |log(wh_ratio_clip)| with wh_ratio_clip 16/1000
 *   optim  the 2x schedule: SGD momentum 0.9, weight decay 1e-4, batch 16; 24 epochs, lr ×0.1 at epochs 16 and 22,
 *          linear warm-up over 500 iterations from ×0.001 (the lr itself differs: RetinaNet 0.01, Mask R-CNN 0.02)
 *   data   ImageNet mean / std in 0–255 RGB units, keep-ratio resize to 1333×800
 *
 * The factories return fresh objects, so a detector's defaults can be merged into without sharing arrays.
 */
import type { Vec4 } from '../src/ops/box-coder.js';

export interface CoderConfig {
  means: Vec4;
  stds: Vec4;
  /** dw/dh clamp |log(whRatioClip)| when decoding. */
  whRatioClip: number;
}

export interface OptimConfig {
  lr: number;
  momentum: number;
  weightDecay: number;
  epochs: number;
  milestones: number[];
  gamma: number;
  warmupIters: number;
  warmupRatio: number;
  batchSize: number;
}

export interface DataConfig {
  mean: [number, number, number];
  std: [number, number, number];
  /** [long, short] side limits of the keep-ratio resize. */
  scale: [number, number];
}

/** The delta-xywh coder with means 0, the given stds (default 1) and wh_ratio_clip 16/1000. */
export function deltaCoder(stds: Vec4 = [1, 1, 1, 1]): CoderConfig {
  return { means: [0, 0, 0, 0], stds, whRatioClip: 16 / 1000 };
}

/** mmdetection's 2x schedule (schedule_2x.py) with SGD at learning rate `lr` for batch 16. */
export function schedule2xOptim(lr: number): OptimConfig {
  return {
    lr,
    momentum: 0.9,
    weightDecay: 1e-4,
    epochs: 24,
    milestones: [16, 22],
    gamma: 0.1,
    warmupIters: 500,
    warmupRatio: 0.001,
    batchSize: 16,
  };
}

/** mmdetection's COCO input settings: ImageNet normalisation, resize to 1333×800 keeping the ratio. */
export function cocoInputData(): DataConfig {
  return { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], scale: [1333, 800] };
}
