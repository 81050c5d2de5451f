/**
 * RetinaNet with a TiedResNet-50-S backbone (4 splits × 18 width: 54 % of ResNet-50's parameters), everything
 * else as retinanet_r50_fpn_2x_coco (mmdetection's RetinaNet 2x on COCO 2017).
 */
import { tiedResNet50S } from '../src/backbones/presets.js';
import base, { retinaNetCoco } from './retinanet_r50_fpn_2x_coco.js';
import { defineConfig } from './_base.js';

export default defineConfig({
  ...base,
  model: retinaNetCoco((seed) => tiedResNet50S({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true })),
  numClasses: 80,
});
