/**
 * Cascade Mask R-CNN, ResNet-50 + FPN (P2–P6), 20-epoch schedule, COCO 2017 — mmdetection's
 * configs/cascade_rcnn/cascade-mask-rcnn_r50_fpn_20e_coco.py: the Mask R-CNN data pipeline (1333×800 keep-ratio
 * resize, flip 0.5, instance masks), SGD lr 0.02 for 16 images per update (1 image × 16 accumulated
 * micro-batches here), momentum 0.9, weight decay 1e-4, 20 epochs with ×0.1 at 16 and 19, warm-up 500 iterations
 * from 0.001, frozen stem + stage 1 and frozen BN, backbone activation checkpointing; bbox and segm evaluation; test:
 * score > 0.05, NMS 0.5, 100 per image, masks at 0.5. The model is detectors/cascade-rcnn with mmdetection's
 * defaults (3 stages at IoU 0.5 / 0.6 / 0.7).
 *
 * `cascadeRcnnCoco(backbone, withMask)` and `cascadeCoco(...)` are shared with the TiedResNet, box-only and 2x
 * variants.
 */
import { CASCADE_RCNN_BOX_ONLY, cascadeRcnnConfig } from '../detectors/cascade-rcnn/config.js';
import { CascadeRCNN } from '../detectors/cascade-rcnn/cascade-rcnn.js';
import { resnet50, tiedResNet50 } from '../src/backbones/presets.js';
import type { Backbone } from '../src/backbones/backbone.js';
import { cocoData, defineConfig, testDefaults, trainSchedule, type ExperimentConfig, type ModelContext, type SchedulePreset } from './_base.js';

/** Cascade (Mask) R-CNN with mmdetection's defaults on the backbone `backbone(seed)` (COCO's 80 classes: `numClasses: 80` in the configs). */
export function cascadeRcnnCoco(backbone: (seed: number) => Backbone, withMask: boolean): ExperimentConfig['model'] {
  return ({ seed, test, numClasses }: ModelContext) =>
    new CascadeRCNN({
      backbone: backbone(seed),
      config: cascadeRcnnConfig({ numClasses }, withMask ? {} : CASCADE_RCNN_BOX_ONLY),
      test,
      seed: `${seed}:heads`,
    });
}

/** The COCO backbones of the cascade configs (frozen stem + stage 1, frozen BN, activation checkpointing). */
export const COCO_BACKBONES = {
  r50: (seed: number) => resnet50({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true }),
  tiedresnet50: (seed: number) => tiedResNet50({ seed, numClasses: null, frozenStages: 1, normEval: true, withCp: true }),
} as const;

/** A whole COCO cascade experiment: backbone, with or without masks, schedule preset. */
export function cascadeCoco(backbone: keyof typeof COCO_BACKBONES, withMask: boolean, schedule: SchedulePreset): ExperimentConfig {
  return defineConfig({
    model: cascadeRcnnCoco(COCO_BACKBONES[backbone], withMask),
    numClasses: 80,
    data: cocoData({ batchSize: 1, withMasks: withMask }),
    train: trainSchedule(schedule, 0.02, { accumulate: 16, evalMetrics: withMask ? ['bbox', 'segm'] : ['bbox'] }),
    test: testDefaults(),
  });
}

export default cascadeCoco('r50', true, '20e');
