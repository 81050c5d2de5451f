/**
 * cascade-mask-rcnn_tiedresnet_synthetic_tiny without the mask heads (Cascade R-CNN, boxes only; no masks loaded,
 * bbox evaluation).
 */
import { CASCADE_RCNN_BOX_ONLY, CASCADE_RCNN_TINY, cascadeRcnnConfig } from '../detectors/cascade-rcnn/config.js';
import { CascadeRCNN } from '../detectors/cascade-rcnn/cascade-rcnn.js';
import { tiedResNetTiny } from '../src/backbones/presets.js';
import maskTiny from './cascade-mask-rcnn_tiedresnet_synthetic_tiny.js';
import { defineConfig, type ModelContext } from './_base.js';

export default defineConfig({
  ...maskTiny,
  model: ({ seed, test, numClasses }: ModelContext) =>
    new CascadeRCNN({
      backbone: tiedResNetTiny({ seed, numClasses: null, frozenStages: -1, normEval: false }),
      config: cascadeRcnnConfig(CASCADE_RCNN_TINY, { numClasses }, CASCADE_RCNN_BOX_ONLY),
      test,
      seed: `${seed}:heads`,
    }),
  data: { ...maskTiny.data, withMasks: false },
  train: { ...maskTiny.train, evalMetrics: ['bbox'] },
});
