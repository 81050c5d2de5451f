/**
 * The eval-mode inference paths (BN folded into the convs, TiedBottleneck's heap passes) give the general path's
 * result: the general path is forced by recording a gradient tape (`tf.variableGrads`) with the folding under a
 * tape switched off (`setFoldBnOnTape(false)`).
 *
 * Under a tape, a frozen BN (running statistics: mmdetection's norm_eval training) folded into its conv gives the
 * same loss and the same gradients for every trainable parameter (conv weights, BN γ / β) and the input as the
 * unfolded conv → BN.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resnet50, tiedResNet50S, tiedResNeXt50S } from '../../src/backbones/presets.js';
import type { ResNet } from '../../src/backbones/resnet.js';
import { setFoldBnOnTape } from '../../src/nn/conv-bn.js';
import { setupBackend } from '../nn/helpers.js';

beforeAll(async () => {
  await setupBackend();
});

function randomiseBn(model: ResNet): void {
  let seed = 11;
  for (const [name, v] of [...model.namedParameters(), ...model.namedBuffers()]) {
    if (!/(^|\.)(bn\d|downsample\.1|mixer\.1)\./.test(name) || v.dtype !== 'float32') continue;
    const r = tf.randomUniform(v.shape, 0, 1, 'float32', seed++);
    v.assign(name.endsWith('running_var') || name.endsWith('weight') ? tf.add(r, 0.5) : tf.sub(r, 0.5));
    r.dispose();
  }
}

function compare(model: ResNet): void {
  randomiseBn(model);
  model.eval();
  const x = tf.randomUniform([2, 64, 96, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
  const fast = model.forward(x);
  const ref: tf.Tensor[] = [];
  setFoldBnOnTape(false);
  const { value, grads } = tf.variableGrads(() => {
    const f = model.forward(x);
    for (const t of [f.c2, f.c3, f.c4, f.c5]) ref.push(tf.keep(t.clone()));
    return tf.sum(f.c5) as tf.Scalar;
  }, model.trainableVariables().slice(0, 1));
  setFoldBnOnTape(true);
  [fast.c2, fast.c3, fast.c4, fast.c5].forEach((t, i) => {
    const scale = tf.max(tf.abs(ref[i]!)).dataSync()[0]!;
    const err = tf.max(tf.abs(tf.sub(t, ref[i]!))).dataSync()[0]!;
    expect(err / scale).toBeLessThan(1e-5);
  });
  tf.dispose([x, fast.c2, fast.c3, fast.c4, fast.c5, value, ...Object.values(grads), ...ref]);
  model.dispose();
}

describe('eval-mode inference path = general path', () => {
  it('ResNet-50 (BN folded into every conv)', () => compare(resnet50({ seed: 1, numClasses: null, frozenStages: -1 })));
  it('TiedResNet-50-S (heap passes + folded BN)', () => compare(tiedResNet50S({ seed: 1, numClasses: null, frozenStages: -1 })));
  it('TiedResNeXt-50-S (grouped splits)', () => compare(tiedResNeXt50S({ seed: 1, numClasses: null, frozenStages: -1 })));
});

describe('frozen BN folded under a gradient tape', () => {
  it('ResNet-50 in training mode with norm_eval: same loss and gradients (weights, γ, β, input) as unfolded', () => {
    const model = resnet50({ seed: 2, numClasses: null, frozenStages: 1, normEval: true });
    randomiseBn(model);
    model.train();
    const x = tf.randomUniform([1, 64, 80, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const run = (fold: boolean) => {
      setFoldBnOnTape(fold);
      try {
        const vars = model.trainableVariables();
        const { value, grads } = tf.variableGrads(() => {
          const f = model.forward(x);
          return tf.addN([tf.mean(tf.square(f.c3)), tf.sum(tf.mul(f.c5, 0.01))]) as tf.Scalar;
        }, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(model.forward(t as tf.Tensor4D).c4))(x);
        return { value, grads, dx };
      } finally {
        setFoldBnOnTape(true);
      }
    };
    const folded = run(true);
    const plain = run(false);
    expect(Math.abs(folded.value.dataSync()[0]! - plain.value.dataSync()[0]!)).toBeLessThanOrEqual(1e-5 * Math.abs(plain.value.dataSync()[0]!));
    const names = Object.keys(plain.grads);
    expect(names.length).toBe(model.trainableVariables().length);
    expect(Object.keys(folded.grads).sort()).toEqual([...names].sort());
    for (const n of names) {
      const a = folded.grads[n]!;
      const b = plain.grads[n]!;
      const scale = Math.max(tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]!), 1e-8);
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
      expect(err / scale, n).toBeLessThan(1e-4);
    }
    const scale = tf.tidy(() => tf.max(tf.abs(plain.dx)).dataSync()[0]!);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(folded.dx, plain.dx))).dataSync()[0]!) / scale).toBeLessThan(1e-4);
    tf.dispose([x, folded.value, plain.value, folded.dx, plain.dx, ...Object.values(folded.grads), ...Object.values(plain.grads)]);
    model.dispose();
  });
});
