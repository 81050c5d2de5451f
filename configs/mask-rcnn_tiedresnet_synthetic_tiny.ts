/**
 * A small TiedResNet Mask R-CNN (tiedResNetTiny + the detector's MASK_RCNN_TINY settings: FPN 32, FC 128, 2 mask
 * convs, 64 sampled anchors / RoIs per image) on the tiny synthetic occlusion set, with instance masks: the data
 * and schedule of retinanet_tiedresnet_synthetic_tiny, lr 0.02 (as the detector's own learning test) with gradient-norm clipping at 10, bbox and segm
 * evaluation.
 */
import { MASK_RCNN_TINY, maskRcnnConfig } from '../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../detectors/mask-rcnn/mask-rcnn.js';
import { tiedResNetTiny } from '../src/backbones/presets.js';
import tiny from './retinanet_tiedresnet_synthetic_tiny.js';
import { defineConfig, type ModelContext } from './_base.js';

export default defineConfig({
  model: ({ seed, test }: ModelContext) =>
    new MaskRCNN({
      backbone: tiedResNetTiny({ seed, numClasses: null, frozenStages: -1, normEval: false }),
      config: maskRcnnConfig(MASK_RCNN_TINY, {
        numClasses: 3,
        test: { rcnn: { scoreThr: test.scoreThr, nmsIouThr: test.nmsIouThr, maxPerImg: test.maxPerImg } },
      }),
      seed: `${seed}:heads`,
    }),
  data: { ...tiny.data, withMasks: true },
  train: { ...tiny.train, lr: 0.02, clipGrad: 10, evalMetrics: ['bbox', 'segm'] },
  test: tiny.test,
});
