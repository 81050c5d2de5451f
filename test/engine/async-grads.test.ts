/**
 * `variableGradsAsync` (src/engine/async-grads.ts) on wasm: the tape held across an await gives the same value and
 * gradients as `tf.variableGrads` over the equivalent synchronous function — for a small function that reads a
 * tensor mid-way, and for Mask R-CNN's `lossAsync` vs its `loss` (bit-identical: the same ops, the same sampling
 * draws) — with nothing recorded while awaiting and no tensors left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { MASK_RCNN_TINY, maskRcnnConfig } from '../../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { variableGradsAsync } from '../../src/engine/async-grads.js';
import { maskScenes } from '../detectors/mask-rcnn-scenes.js';
import { trackTensors } from '../nn/helpers.js';

trackTensors('test');

describe('variableGradsAsync', () => {
  it('matches tf.variableGrads for a loss that reads a tensor mid-way; work done while awaiting is not taped', async () => {
    const init = [tf.tensor1d([0.5, -1, 2]), tf.tensor1d([3, 0.25, -0.5])];
    const a = tf.variable(init[0]!, true, 'async_a');
    const b = tf.variable(init[1]!, true, 'async_b');
    tf.dispose(init);
    try {
      // the read decides a CPU-side weight (as proposals decide which RoIs are pooled)
      const sync = tf.variableGrads(() => {
        const h = tf.mul(a, b);
        const w = h.dataSync().map((v) => (v > 0 ? 2 : -1));
        return tf.sum(tf.mul(tf.square(h), tf.tensor1d(w))) as tf.Scalar;
      }, [a, b]);
      let unrelated: tf.Tensor | undefined;
      const res = await variableGradsAsync(async (tape) => {
        const h = tape.run(() => tf.mul(a, b));
        const [vals] = await tape.read([h]);
        unrelated = tf.mul(a, 10); // while paused: not recorded, no gradient through it
        const w = Array.from(vals!, (v) => (v > 0 ? 2 : -1));
        const y = tape.run(() => tf.sum(tf.mul(tf.square(h), tf.tensor1d(w))) as tf.Scalar);
        h.dispose();
        return y;
      }, [a, b]);
      expect(await res.value.data()).toEqual(await sync.value.data());
      for (const k of [a.name, b.name]) expect(await res.grads[k]!.data()).toEqual(await sync.grads[k]!.data());
      tf.dispose([sync.value, res.value, unrelated!, ...Object.values(sync.grads), ...Object.values(res.grads)]);
    } finally {
      tf.dispose([a, b]);
    }
  });

  it("Mask R-CNN's lossAsync gives the losses and gradients of its loss, bit for bit", { timeout: 300_000 }, async () => {
    const scenes = maskScenes({ count: 2, size: 64, original: 128, seed: 7, objects: [1, 2], sides: [24, 60] });
    const batch = scenes.batch(false);
    const model = new MaskRCNN({
      backbone: tiedResNetTiny({ numClasses: null, frozenStages: -1, normEval: false, seed: 1 }),
      config: maskRcnnConfig(MASK_RCNN_TINY, { numClasses: 3 }),
      seed: 2,
    });
    model.train();
    const total = (l: Record<string, tf.Scalar>) => tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
    try {
      const state = model.samplingRng.getState();
      const kept: Record<string, tf.Tensor> = {};
      const sync = tf.variableGrads(() => {
        const l = model.loss(batch);
        for (const [k, v] of Object.entries(l)) kept[k] = tf.keep(v);
        return total(l);
      }, model.trainableVariables());
      model.samplingRng.setState(state);
      const counts: number[] = [];
      const got: Record<string, tf.Tensor> = {};
      const res = await variableGradsAsync(async (tape) => {
        const l = await model.lossAsync(batch, tape);
        Object.assign(got, l);
        return tape.run(() => total(l));
      }, model.trainableVariables());
      counts.push(tf.memory().numTensors);
      for (const k of Object.keys(kept)) expect(await got[k]!.data(), k).toEqual(await kept[k]!.data());
      expect(Object.keys(res.grads).sort()).toEqual(Object.keys(sync.grads).sort());
      for (const k of Object.keys(sync.grads)) expect(await res.grads[k]!.data(), k).toEqual(await sync.grads[k]!.data());
      tf.dispose([sync.value, res.value, ...Object.values(kept), ...Object.values(got), ...Object.values(sync.grads), ...Object.values(res.grads)]);
      // a second async step leaves the same number of tensors behind as the first
      const again = await variableGradsAsync(async (tape) => {
        const l = await model.lossAsync(batch, tape);
        const t = tape.run(() => total(l));
        tf.dispose(Object.values(l));
        return t;
      }, model.trainableVariables());
      tf.dispose([again.value, ...Object.values(again.grads)]);
      const after = tf.memory().numTensors;
      const again2 = await variableGradsAsync(async (tape) => {
        const l = await model.lossAsync(batch, tape);
        const t = tape.run(() => total(l));
        tf.dispose(Object.values(l));
        return t;
      }, model.trainableVariables());
      tf.dispose([again2.value, ...Object.values(again2.grads)]);
      expect(tf.memory().numTensors).toBe(after);
    } finally {
      tf.dispose(batch.images);
      model.dispose();
    }
  });
});
