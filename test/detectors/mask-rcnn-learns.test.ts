/**
 * "It learns": a small TiedResNet Mask R-CNN (tiedResNetTiny + MASK_RCNN_TINY: FPN width 32, FC 128, 64 sampled
 * RoIs, 2 mask convs) trained from scratch with SGD (momentum 0.9, linear warm-up, gradient-norm clipping) on six
 * synthetic 96×96 scenes overfits them: COCO bbox and segm AP50 (eval/cocoeval.ts on the original 192×192 images)
 * ≥ 0.9 — for the inputs it trained on and for the same scenes horizontally flipped (so boxes and masks go through
 * the resize and flip undo). The tensor count stays flat over every step and prediction.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { toCocoResults } from '../../detectors/detector.js';
import { MASK_RCNN_TINY, maskRcnnConfig } from '../../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval } from '../../eval/cocoeval.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { clipGradNorm } from '../../src/train/clip.js';
import { SGD } from '../../src/train/sgd.js';
import { trackTensors } from '../nn/helpers.js';
import { maskScenes } from './mask-rcnn-scenes.js';

trackTensors('test');

const STEPS = 60;
const LR = 0.02;
const WARMUP = 20;
const MAX_NORM = 10;

describe('Mask R-CNN', () => {
  it('overfits six synthetic scenes: bbox and segm AP50 ≥ 0.9, also on flipped inputs', { timeout: 600_000 }, () => {
    const scenes = maskScenes({ count: 6, size: 96, original: 192, seed: 7, objects: [1, 3], sides: [48, 100] });
    const batch = scenes.batch(false);
    const model = new MaskRCNN({
      backbone: tiedResNetTiny({ numClasses: null, frozenStages: -1, normEval: false, seed: 1 }),
      config: maskRcnnConfig(MASK_RCNN_TINY, { numClasses: 3 }),
      seed: 2,
    });
    const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: LR, momentum: 0.9, weightDecay: 1e-4 });
    const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
    try {
      const counts: number[] = [];
      const first: Record<string, number> = {};
      let last: Record<string, number> = {};
      for (let step = 0; step < STEPS; step++) {
        sgd.lr = LR * Math.min(1, 0.1 + (0.9 * step) / WARMUP);
        const { value, grads } = tf.variableGrads(() => {
          const l = model.loss(batch);
          last = Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.dataSync()[0]!]));
          return tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
        }, model.trainableVariables());
        if (step === 0) Object.assign(first, last);
        const named = new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
        clipGradNorm(named, MAX_NORM);
        sgd.step(named);
        tf.dispose([value, ...Object.values(grads), ...named.values()]);
        counts.push(tf.memory().numTensors - model.numDerivedTensors());
      }
      expect(new Set(counts).size, `tensor counts over training: ${counts.join(', ')}`).toBe(1);
      for (const k of ['loss_rpn_cls', 'loss_cls', 'loss_mask']) expect(last[k]!, k).toBeLessThan(first[k]! / 3);

      model.eval();
      const gt = CocoDataset.fromJson(scenes.coco, 'scenes');
      const ap50: Record<string, number> = {};
      for (const flip of [false, true]) {
        const input = flip ? scenes.batch(true) : batch;
        const dets = model.predict(input);
        if (flip) tf.dispose(input.images);
        counts.push(tf.memory().numTensors - model.numDerivedTensors());
        const results = toCocoResults(dets, [1, 2, 3]);
        for (const iouType of ['bbox', 'segm'] as const) {
          const E = new CocoEval(gt, gt.loadRes(results as unknown[]), iouType);
          E.evaluate();
          ap50[`${iouType}${flip ? ' flipped' : ''}`] = E.summarize(E.accumulate()).stats[1]!;
        }
      }
      expect(new Set(counts).size, `tensor counts incl. predictions: ${counts.join(', ')}`).toBe(1);
      for (const [k, v] of Object.entries(ap50)) expect(v, `AP50 ${k} (all: ${JSON.stringify(ap50)})`).toBeGreaterThanOrEqual(0.9);
    } finally {
      tf.dispose(batch.images);
      sgd.dispose();
      model.dispose();
    }
  });
});
