/**
 * Mask R-CNN, ResNet-50 + FPN (P2–P6), 2x schedule, COCO 2017 — mmdetection's
 * configs/mask_rcnn/mask-rcnn_r50_fpn_2x_coco.py: 1333×800 keep-ratio resize, flip 0.5, instance masks, SGD lr
 * 0.02 for 16 images per update (1 image × 16 accumulated micro-batches here), momentum 0.9, weight decay 1e-4,
 * 24 epochs with ×0.1 at 16 and 22, warm-up 500 iterations from 0.001, frozen stem + stage 1 and frozen BN;
 * bbox and segm evaluation; test: score > 0.05, NMS 0.5, 100 per image, masks at 0.5. Backbone activation
 * checkpointing (`withCp`) keeps a 1333×800 step inside the wasm heap (measured: 27.8 s, 2.88 GiB with ResNet-50;
 * 46.4 s with TiedResNet-50 — `npm run bench:mask-rcnn`).
 *
 * As for RetinaNet: `--cfg-options train.pretrained=r50.safetensors` starts from torchvision's ImageNet weights,
 * `data.train.annFile=…` etc. point it at COCO elsewhere. `maskRcnnCoco(backbone)` is shared with the TiedResNet
 * variant.
 */
import { maskRcnnConfig } from '../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../detectors/mask-rcnn/mask-rcnn.js';
import { resnet50 } from '../src/backbones/presets.js';
import type { Backbone } from '../src/backbones/backbone.js';
import { cocoData, defineConfig, testDefaults, trainSchedule, type ExperimentConfig, type ModelContext } from './_base.js';

/** Mask R-CNN with mmdetection's defaults on the backbone `backbone(seed)` (COCO's 80 classes: `numClasses: 80` in the configs). */
export function maskRcnnCoco(backbone: (seed: number) => Backbone): ExperimentConfig['model'] {
  return ({ seed, test, numClasses }: ModelContext) =>
    new MaskRCNN({
      backbone: backbone(seed),
      config: maskRcnnConfig({ numClasses }),
      test,
      seed: `${seed}:heads`,
    });
}

export default defineConfig({
  model: maskRcnnCoco((seed) => resnet50({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true })),
  numClasses: 80,
  data: cocoData({ batchSize: 1, withMasks: true }),
  train: trainSchedule('2x', 0.02, { accumulate: 16, evalMetrics: ['bbox', 'segm'] }),
  test: testDefaults(),
});
