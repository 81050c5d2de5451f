/**
 * The config section RetinaNet and Mask R-CNN share, with mmdetection's values (research/detection-anchors.md §2):
 *
 *   coder  delta-xywh box coder: means, stds, dw/dh clamp |log(wh_ratio_clip)| with wh_ratio_clip 16/1000
 *
 * The factory returns fresh objects, so a detector's defaults can be merged into without sharing arrays. (The
 * schedule and the input normalisation are the experiment's, not the detector's: configs/_base.ts, with the
 * ImageNet mean / std of data/transforms/normalize.ts.)
 */
import type { Vec4 } from '../src/ops/box-coder.js';

export interface CoderConfig {
  means: Vec4;
  stds: Vec4;
  /** dw/dh clamp |log(whRatioClip)| when decoding. */
  whRatioClip: number;
}

/** The delta-xywh coder with means 0, the given stds (default 1) and wh_ratio_clip 16/1000. */
export function deltaCoder(stds: Vec4 = [1, 1, 1, 1]): CoderConfig {
  return { means: [0, 0, 0, 0], stds, whRatioClip: 16 / 1000 };
}
