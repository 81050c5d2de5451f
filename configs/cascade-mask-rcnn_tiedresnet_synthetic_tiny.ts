/**
 * A small TiedResNet Cascade Mask R-CNN on the tiny synthetic occlusion set — mask-rcnn_tiedresnet_synthetic_tiny's
 * experiment (data, AdamW lr 0.002, weight decay 0.05, 10 epochs, ×0.1 for the last, gradient norm clipped at 10, bbox
 * and segm evaluation at the end) with the cascade head: tiedResNetTiny + CASCADE_RCNN_TINY (FPN 32, FC 128, 2 mask
 * convs per stage, 64 sampled anchors / RoIs per image and stage), 3 classes.
 */
import { CASCADE_RCNN_TINY, cascadeRcnnConfig } from '../detectors/cascade-rcnn/config.js';
import { CascadeRCNN } from '../detectors/cascade-rcnn/cascade-rcnn.js';
import { tiedResNetTiny } from '../src/backbones/presets.js';
import maskTiny from './mask-rcnn_tiedresnet_synthetic_tiny.js';
import { defineConfig, type ModelContext } from './_base.js';

export default defineConfig({
  ...maskTiny,
  model: ({ seed, test, numClasses }: ModelContext) =>
    new CascadeRCNN({
      backbone: tiedResNetTiny({ seed, numClasses: null, frozenStages: -1, normEval: false }),
      config: cascadeRcnnConfig(CASCADE_RCNN_TINY, { numClasses }),
      test,
      seed: `${seed}:heads`,
    }),
});
