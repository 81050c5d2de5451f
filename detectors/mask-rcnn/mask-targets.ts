/**
 * The M×M mask targets of a batch's positive RoIs — mmdetection's `FCNMaskHead.get_targets` (`mask_target` per
 * image with the positives' boxes and assigned GT indices): each positive RoI's GT bitmap cropped and resized with
 * RoIAlign, binarised at 0.5 (src/ops/mask-target.ts), in RoI order. Used by Mask R-CNN's `StandardRoIHead` and by
 * each stage of Cascade Mask R-CNN (on that stage's positives).
 */
import { maskTargetsData } from '../../src/ops/mask-target.js';
import { concatArrays } from '../../src/ops/typed-rows.js';
import type { ImageMeta } from '../../data/meta.js';
import type { MaskRois } from './roi-sampling.js';
import { gtMasksOf, type MaskRcnnTargets } from './targets.js';

/** Targets [P·M·M] of the positive RoIs `rois` (grouped by image, in their order). */
export function positiveMaskTargets(rois: MaskRois, metas: readonly ImageMeta[], targets: readonly MaskRcnnTargets[], maskSize: number): Float32Array {
  const parts: Float32Array[] = [];
  const { batch, boxes, gtIndex } = rois;
  let start = 0;
  while (start < batch.length) {
    const i = batch[start]!;
    let end = start;
    while (end < batch.length && batch[end] === i) end++;
    const gt = gtMasksOf(targets[i]!, i, metas[i]!);
    parts.push(maskTargetsData(boxes.subarray(4 * start, 4 * end), gtIndex.subarray(start, end), gt, { maskSize }));
    start = end;
  }
  return concatArrays(parts, Float32Array);
}
