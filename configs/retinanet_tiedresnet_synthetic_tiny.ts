/**
 * The demo's experiment: a small TiedResNet RetinaNet trained from scratch on the tiny synthetic occlusion set
 * (128×128 images of circles, squares and triangles; `tiedet make-synthetic --preset tiny --out
 * work_dirs/synthetic-tiny`) in a few minutes on 2 CPU cores.
 *
 * Model: tiedResNetTiny (one TiedBottleneck per stage, C3–C5 = 128, 256, 512 channels), nothing frozen and BN in
 * training mode (no ImageNet weights to keep), FPN and head 32 channels wide, 2 stacked head convs, head init
 * std 0.05 (a 32-wide head with std 0.01 barely learns; test/detectors/retinanet-learns.test.ts), anchors of
 * octave base scale 2 (16–20–25 px at stride 8: the set's objects are 5–116 px, median 21).
 * Data: images at their size (scale 128), flip 0.5, 8 per batch, decoded in the main thread.
 * Schedule: 12 epochs of 40 iterations (480 updates of 8 images), AdamW lr 0.001, weight decay 0.05, after a
 * 50-iteration warm-up, ×0.1 for the last two epochs, gradient norm clipped at 10; evaluation on the 80 val images
 * every 4 epochs. From scratch, AdamW converges much faster than SGD here (measured on this set: AdamW lr 0.001
 * reached val bbox AP 2.4 after 200 updates; SGD momentum 0.9, lr 0.01 reached 0.7 after 160 and 2.0 after 480).
 *
 * `tinyRetinaNet(backbone)` is shared with the ResNet twin (retinanet_resnet_synthetic_tiny).
 */
import { RetinaNet } from '../detectors/retinanet/retinanet.js';
import { tiedResNetTiny } from '../src/backbones/presets.js';
import type { Backbone } from '../src/backbones/backbone.js';
import { defineConfig, syntheticData, testDefaults, trainSchedule, type ExperimentConfig, type ModelContext } from './_base.js';

/** Where `npm run demo` (and the tests) generate the tiny synthetic set. */
export const SYNTHETIC_TINY_ROOT = 'work_dirs/synthetic-tiny';

/** The small RetinaNet of the tiny presets on the backbone `backbone(seed)` (as many classes as the dataset has). */
export function tinyRetinaNet(backbone: (seed: number) => Backbone): ExperimentConfig['model'] {
  return ({ seed, test, numClasses }: ModelContext) =>
    new RetinaNet({
      backbone: backbone(seed),
      config: {
        numClasses,
        model: {
          neck: { outChannels: 32 },
          head: { featChannels: 32, stackedConvs: 2, initStd: 0.05 },
          anchors: { octaveBaseScale: 2 },
        },
      },
      test,
      seed: `${seed}:heads`,
    });
}

export default defineConfig({
  model: tinyRetinaNet((seed) => tiedResNetTiny({ seed, numClasses: null, frozenStages: -1, normEval: false })),
  data: syntheticData(SYNTHETIC_TINY_ROOT, { scale: [128, 128], batchSize: 8, workers: 0, prefetch: 2 }),
  train: trainSchedule('2x', 0.001, {
    optimizer: 'AdamW',
    weightDecay: 0.05,
    epochs: 12,
    milestones: [10],
    warmupIters: 50,
    baseBatchSize: 8,
    clipGrad: 10,
    logEvery: 10,
    evalEveryEpochs: 4,
    checkpoint: { everyEpochs: 4, everyIterations: 0, keepLast: 2, best: 'bbox_mAP' },
  }),
  test: testDefaults({ batchSize: 8 }),
});
