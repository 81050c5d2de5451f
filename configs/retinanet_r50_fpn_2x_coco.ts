/**
 * RetinaNet, ResNet-50 + FPN (P3–P7), 2x schedule, COCO 2017 — mmdetection's
 * configs/retinanet/retinanet_r50_fpn_2x_coco.py: 1333×800 keep-ratio resize, flip 0.5, SGD lr 0.01 for 16 images
 * per update (here 1 image × 16 accumulated micro-batches, the reference batch on one machine; with frozen BN
 * that is the same update), momentum 0.9, weight decay 1e-4, 24 epochs with ×0.1 at epochs 16 and 22, linear
 * warm-up over 500 iterations from 0.001, frozen stem + stage 1 and frozen BN; test: score > 0.05, NMS 0.5, 100 per
 * image. The backbone uses activation checkpointing (`withCp`, mmdetection's `with_cp`): with it a 1333×800 step
 * fits the wasm engine's 4 GiB heap (README "Training engine"); on tfjs-node-gpu it only costs time.
 *
 * mmdetection starts from ImageNet weights: export torchvision's (README "Loading PyTorch weights") and pass
 * `--cfg-options train.pretrained=r50.safetensors`. COCO is read from data/coco/ (mmdetection's layout); elsewhere:
 * `--cfg-options data.train.annFile=… data.train.imageDir=… data.val.annFile=… data.val.imageDir=…`.
 *
 * `retinaNetCoco(backbone)` is shared by the other COCO RetinaNet configs (they differ only in the backbone).
 */
import { RetinaNet } from '../detectors/retinanet/retinanet.js';
import { resnet50 } from '../src/backbones/presets.js';
import type { Backbone } from '../src/backbones/backbone.js';
import { cocoData, defineConfig, testDefaults, trainSchedule, type ExperimentConfig, type ModelContext } from './_base.js';

/** RetinaNet with mmdetection's defaults on the backbone `backbone(seed)` (COCO's 80 classes: `numClasses: 80` in the configs). */
export function retinaNetCoco(backbone: (seed: number) => Backbone): ExperimentConfig['model'] {
  return ({ seed, test, numClasses }: ModelContext) =>
    new RetinaNet({
      backbone: backbone(seed),
      config: { numClasses },
      test,
      seed: `${seed}:heads`,
    });
}

export default defineConfig({
  model: retinaNetCoco((seed) => resnet50({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true })),
  numClasses: 80,
  data: cocoData({ batchSize: 1 }),
  train: trainSchedule('2x', 0.01, { accumulate: 16 }),
  test: testDefaults(),
});
