/**
 * webgpu vs wasm on tiny shapes (SwiftShader in CI; see test/helpers/webgpu.ts): forward and gradients of tiedet's
 * custom ops (RoIAlign and the multi-level extractor — generic TF.js ops on webgpu, heap loops on wasm —, the loss
 * customOps incl. the focal loss, conv2d / linear / BatchNorm customGrads, activation checkpointing, the
 * TiedResNet inference path that wasm runs fused), then one training step of a tiny RetinaNet (sync loss) and a
 * tiny Mask R-CNN (wasm: the sync `loss`; webgpu: `lossAsync` through `variableGradsAsync`, reading the proposals
 * asynchronously): every loss and every parameter gradient within 1e-3 relative of wasm.
 *
 * Each case computes on wasm first, then the same tensors on webgpu (TF.js moves wasm tensors on first use; the
 * other way round would need a synchronous GPU read). Relative error of a tensor: ‖a − b‖₂ / max(‖b‖₂, 1e-6).
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASK_RCNN_TINY, maskRcnnConfig } from '../../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { variableGradsAsync } from '../../src/engine/async-grads.js';
import { initEngine } from '../../src/engine/index.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { checkpoint } from '../../src/nn/activation-checkpoint.js';
import { conv2d, linear } from '../../src/nn/functional.js';
import { Rng } from '../../src/nn/rng.js';
import { crossEntropyLoss, l1Loss, labelsToOneHot, sigmoidFocalLoss, smoothL1Loss } from '../../src/ops/losses.js';
import { roiAlign } from '../../src/ops/roi-align.js';
import { extractRoiFeatures } from '../../src/ops/roi-extractor.js';
import { maskScenes } from '../detectors/mask-rcnn-scenes.js';
import { toyScenes } from '../detectors/toy-scenes.js';
import { webgpuForTests } from '../helpers/webgpu.js';

const gpu = await webgpuForTests();
const TOL = 1e-3;

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-6);
}

/** Run `f` on `backend`; its tensors are read asynchronously and disposed; returns plain arrays by name. */
async function on(backend: 'wasm' | 'webgpu', f: () => Record<string, tf.Tensor>): Promise<Record<string, Float32Array>> {
  await initEngine({ backend, threads: 2 });
  const out = f();
  const names = Object.keys(out);
  const vals = await Promise.all(names.map((n) => out[n]!.data()));
  tf.dispose(Object.values(out));
  return Object.fromEntries(names.map((n, i) => [n, Float32Array.from(vals[i] as Float32Array)]));
}

/** Both backends: the largest relative error over the named outputs (and each one's, for the message). */
async function compare(f: () => Record<string, tf.Tensor>): Promise<{ max: number; errors: Record<string, number> }> {
  const ref = await on('wasm', f);
  const got = await on('webgpu', f);
  const errors = Object.fromEntries(Object.keys(ref).map((k) => [k, relErr(got[k]!, ref[k]!)]));
  return { max: Math.max(...Object.values(errors)), errors };
}

/** Gradients keyed by parameter name (`backbone.layer1.0.conv1.weight`) instead of TF.js variable name. */
function byParam(model: { namedParameters(): Array<[string, tf.Variable]> }, grads: tf.NamedTensorMap): Record<string, tf.Tensor> {
  const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
  return Object.fromEntries(Object.entries(grads).map(([k, g]) => [`grad ${names.get(k) ?? k}`, g]));
}

const seeded = (shape: number[], seed: number, scale = 1): tf.Tensor => {
  const r = new Rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r.uniform() * 2 - 1) * scale), shape);
};

describe.skipIf(!gpu.available)('webgpu vs wasm', () => {
  let baseline = 0;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    baseline = tf.memory().numTensors;
  });
  afterEach((ctx) => {
    expect(tf.memory().numTensors, `tensors leaked by "${ctx.task.name}"`).toBe(baseline);
  });

  it('RoIAlign and the multi-level RoI extractor: forward and feature gradients', async () => {
    const boxes = new Float32Array([2, 3, 20, 18, 0, 0, 8, 6, 10.5, 4.25, 30, 29, 5, 5, 5.5, 40, 1, 2, 31, 31]);
    const batch = new Int32Array([0, 1, 1, 0, 1]);
    const { max, errors } = await compare(() => {
      const f = seeded([2, 16, 16, 8], 1) as tf.Tensor4D;
      const p2 = seeded([2, 16, 16, 8], 2) as tf.Tensor4D;
      const p3 = seeded([2, 8, 8, 8], 3) as tf.Tensor4D;
      const r1 = seeded([5, 3, 3, 8], 4);
      const r2 = seeded([5, 2, 2, 8], 5);
      const single = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, boxes, batch, { outputSize: 3, spatialScale: 0.5, samplingRatio: 0 }), r1)),
      );
      const multi = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(extractRoiFeatures([a as tf.Tensor4D, b as tf.Tensor4D], boxes, batch, { outputSize: 2, featmapStrides: [2, 4], finestScale: 8, samplingRatio: 2 }), r2)),
      );
      const [ga, gb] = multi([p2, p3]);
      const out = {
        forward: roiAlign(f, boxes, batch, { outputSize: 3, spatialScale: 0.5, samplingRatio: 0 }),
        grad: single(f),
        extract: extractRoiFeatures([p2, p3], boxes, batch, { outputSize: 2, featmapStrides: [2, 4], finestScale: 8, samplingRatio: 2 }),
        extractGradP2: ga!,
        extractGradP3: gb!,
      };
      tf.dispose([f, p2, p3, r1, r2]);
      return out;
    });
    console.info(`webgpu parity, RoIAlign: ${JSON.stringify(errors)}`);
    expect(max, JSON.stringify(errors)).toBeLessThan(TOL);
  });

  it('losses (sigmoid focal, BCE, L1, smooth L1, cross-entropy): values and gradients', async () => {
    const labels = new Int32Array([0, 2, 3, 1, 3, 0, 2, 1, 3, 3]);
    const { max, errors } = await compare(() => {
      const x = seeded([10, 3], 6, 3);
      const p = seeded([10, 4], 7);
      const t = seeded([10, 4], 8);
      const onehot = labelsToOneHot(labels, 3);
      const total = (a: tf.Tensor, b: tf.Tensor) =>
        tf.addN([
          sigmoidFocalLoss(a, onehot, { reduction: 'mean', avgFactor: 4 }),
          l1Loss(b, t, { reduction: 'mean' }),
          smoothL1Loss(b, t, { beta: 0.5, reduction: 'sum' }),
          crossEntropyLoss(tf.concat([a, tf.slice(b, [0, 0], [10, 1])], 1) as tf.Tensor2D, labels, { reduction: 'mean' }),
        ]);
      const [gx, gp] = tf.grads(total)([x, p]);
      const out = { value: tf.tidy(() => total(x, p)), gx: gx!, gp: gp! };
      tf.dispose([x, p, t, onehot]);
      return out;
    });
    console.info(`webgpu parity, losses: ${JSON.stringify(errors)}`);
    expect(max, JSON.stringify(errors)).toBeLessThan(TOL);
  });

  it('conv2d, linear, BatchNorm2d (train), activation checkpointing, TiedResNet inference: forward and gradients', async () => {
    const { max, errors } = await compare(() => {
      const x = seeded([2, 9, 9, 16], 9) as tf.Tensor4D;
      const w = seeded([3, 3, 16, 16], 10, 0.2) as tf.Tensor4D;
      const fcw = seeded([16, 5], 11, 0.3) as tf.Tensor2D;
      const bn = new BatchNorm2d({ numFeatures: 16 });
      const net = (xi: tf.Tensor, wi: tf.Tensor, fi: tf.Tensor) => {
        const c = conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, null, { stride: 1, padding: 1 });
        const b = checkpoint((y: tf.Tensor4D) => tf.relu(bn.forward(y)), c, bn.parameters());
        const pooled = tf.mean(b, [1, 2]) as tf.Tensor2D;
        return tf.sum(tf.square(linear(pooled, fi as tf.Tensor2D, null)));
      };
      const [gx, gw, gf] = tf.grads(net)([x, w, fcw]);
      const backbone = tiedResNetTiny({ seed: 3, numClasses: null });
      backbone.eval();
      const img = seeded([1, 32, 32, 3], 12) as tf.Tensor4D;
      const feats = backbone.forward(img);
      const out: Record<string, tf.Tensor> = { value: tf.tidy(() => net(x, w, fcw)), gx: gx!, gw: gw!, gf: gf! };
      for (const [k, f] of Object.entries(feats)) out[`tiedResNet.${k}`] = f;
      tf.dispose([x, w, fcw, img]);
      bn.dispose();
      backbone.dispose();
      return out;
    });
    console.info(`webgpu parity, layers: ${JSON.stringify(errors)}`);
    expect(max, JSON.stringify(errors)).toBeLessThan(TOL);
  });

  it('one training step of a tiny RetinaNet: losses and parameter gradients within 1e-3 of wasm', { timeout: 600_000 }, async () => {
    await initEngine({ backend: 'wasm', threads: 2 }); // the model's tensors start on wasm (see the file comment)
    const scenes = toyScenes({ count: 2, size: 64, scale: 0.5, seed: 7, objects: [1, 3], sides: [24, 44] });
    const model = new RetinaNet({
      backbone: tiedResNetTiny({ seed: 1, numClasses: null, frozenStages: -1, normEval: false }),
      config: { numClasses: 3, model: { neck: { outChannels: 16 }, head: { featChannels: 16, stackedConvs: 2 } } },
      seed: 2,
    });
    model.train();
    try {
      const t0 = performance.now();
      let seconds = 0;
      const { max, errors } = await compare(() => {
        const t = performance.now();
        const kept: Record<string, tf.Tensor> = {};
        const { value, grads } = tf.variableGrads(() => {
          const l = model.loss(scenes.batch);
          for (const [k, v] of Object.entries(l)) kept[k] = tf.keep(v);
          return tf.add(l.loss_cls, l.loss_bbox) as tf.Scalar;
        }, model.trainableVariables());
        if (tf.getBackend() === 'webgpu') seconds = (performance.now() - t) / 1000;
        return { loss: value, ...kept, ...byParam(model, grads) };
      });
      const worst = Object.entries(errors).sort((a, b) => b[1] - a[1])[0]!;
      console.info(
        `webgpu parity, RetinaNet step: ${Object.keys(errors).length} tensors, max relative error ${max.toExponential(2)} (${worst[0]}); ` +
          `webgpu step ${seconds.toFixed(1)} s; both ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(max, `worst: ${worst[0]}`).toBeLessThan(TOL);
    } finally {
      tf.dispose(scenes.batch.images);
      model.dispose();
    }
  });

  it('one training step of a tiny Mask R-CNN (webgpu: async loss, proposals read asynchronously) within 1e-3 of wasm', { timeout: 600_000 }, async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    const scenes = maskScenes({ count: 2, size: 64, original: 128, seed: 7, objects: [1, 2], sides: [24, 60] });
    const batch = scenes.batch(false);
    const model = new MaskRCNN({
      backbone: tiedResNetTiny({ numClasses: null, frozenStages: -1, normEval: false, seed: 1 }),
      config: maskRcnnConfig(MASK_RCNN_TINY, { numClasses: 3 }),
      seed: 2,
    });
    model.train();
    const rngState = model.samplingRng.getState();
    const total = (l: Record<string, tf.Scalar>) => tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar;
    try {
      // wasm: the synchronous loss inside tf.variableGrads, as the wasm trainer runs it
      await initEngine({ backend: 'wasm', threads: 2 });
      const kept: Record<string, tf.Tensor> = {};
      const sync = tf.variableGrads(() => {
        const l = model.loss(batch);
        for (const [k, v] of Object.entries(l)) kept[k] = tf.keep(v);
        return total(l);
      }, model.trainableVariables());
      const refT: Record<string, tf.Tensor> = { loss: sync.value, ...kept, ...byParam(model, sync.grads) };
      const ref = Object.fromEntries(Object.entries(refT).map(([k, v]) => [k, v.dataSync() as Float32Array]));
      tf.dispose(Object.values(refT));
      // webgpu: the async loss, the same sampling draws
      model.samplingRng.setState(rngState);
      await initEngine({ backend: 'webgpu' });
      const t = performance.now();
      const keptG: Record<string, tf.Tensor> = {};
      const asyncRes = await variableGradsAsync(async (tape) => {
        const l = await model.lossAsync(batch, tape);
        Object.assign(keptG, l);
        return tape.run(() => total(l));
      }, model.trainableVariables());
      const seconds = (performance.now() - t) / 1000;
      const gotT: Record<string, tf.Tensor> = { loss: asyncRes.value, ...keptG, ...byParam(model, asyncRes.grads) };
      const names = Object.keys(gotT);
      const vals = await Promise.all(names.map((n) => gotT[n]!.data()));
      tf.dispose(Object.values(gotT));
      expect([...names].sort()).toEqual(Object.keys(ref).sort());
      const errors = Object.fromEntries(names.map((n, i) => [n, relErr(vals[i] as Float32Array, ref[n]!)]));
      const worst = Object.entries(errors).sort((a, b) => b[1] - a[1])[0]!;
      const lossesOf = (get: (k: string) => number) => Object.fromEntries(Object.keys(ref).filter((k) => ref[k]!.length === 1).map((k) => [k, get(k)]));
      console.info(`Mask R-CNN scalars wasm ${JSON.stringify(lossesOf((k) => ref[k]![0]!))} webgpu ${JSON.stringify(lossesOf((k) => (vals[names.indexOf(k)] as Float32Array)[0]!))}`);
      console.info(
        `webgpu parity, Mask R-CNN step: losses ${['loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'].map((k) => `${k} ${ref[k]![0]!.toFixed(4)}`).join(', ')}; ` +
          `${names.length} tensors, max relative error ${worst[1].toExponential(2)} (${worst[0]}); webgpu step ${seconds.toFixed(1)} s`,
      );
      expect(worst[1], `worst: ${worst[0]}`).toBeLessThan(TOL);
    } finally {
      await initEngine({ backend: 'wasm', threads: 2 });
      tf.dispose(batch.images);
      model.dispose();
    }
  });
});

// without an adapter (outside CI) the file reports one skipped entry that says why; with one, nothing extra
if (!gpu.available) it.skip(`webgpu parity: no WebGPU adapter (${gpu.reason})`, () => {});
