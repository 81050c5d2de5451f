/**
 * The ResNet twin of retinanet_tiedresnet_synthetic_tiny, for comparing: the same RetinaNet, data and schedule on a
 * standard-convolution bottleneck ResNet of the same shape (one Bottleneck per stage, width 32·2^stage, expansion
 * 1: C2–C5 = 64, 128, 256, 512 channels, as tiedResNetTiny).
 */
import { bottleneckResNet } from '../src/backbones/resnet.js';
import tied, { tinyRetinaNet } from './retinanet_tiedresnet_synthetic_tiny.js';
import { defineConfig } from './_base.js';

export default defineConfig({
  ...tied,
  model: tinyRetinaNet((seed) =>
    bottleneckResNet({ layers: [1, 1, 1, 1], baseWidth: 32, expansion: 1 }, { seed, numClasses: null, frozenStages: -1, normEval: false }),
  ),
});
