/**
 * Mask R-CNN with a TiedResNet-50 backbone (the paper's Table 6 model), everything else as
 * mask-rcnn_r50_fpn_2x_coco (mmdetection's Mask R-CNN 2x on COCO 2017).
 */
import { tiedResNet50 } from '../src/backbones/presets.js';
import base, { maskRcnnCoco } from './mask-rcnn_r50_fpn_2x_coco.js';
import { defineConfig } from './_base.js';

export default defineConfig({
  ...base,
  model: maskRcnnCoco((seed) => tiedResNet50({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true })),
  numClasses: 80,
});
