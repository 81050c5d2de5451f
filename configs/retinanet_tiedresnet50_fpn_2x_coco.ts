/**
 * RetinaNet with a TiedResNet-50 backbone (4 splits × 32 width, B = 1, 2, 4, 8; the paper's Table 5 detector),
 * everything else as retinanet_r50_fpn_2x_coco (mmdetection's RetinaNet 2x on COCO 2017).
 */
import { tiedResNet50 } from '../src/backbones/presets.js';
import base, { retinaNetCoco } from './retinanet_r50_fpn_2x_coco.js';
import { defineConfig } from './_base.js';

export default defineConfig({
  ...base,
  model: retinaNetCoco((seed) => tiedResNet50({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true })),
  numClasses: 80,
});
