/**
 * Activation checkpointing (src/nn/activation-checkpoint.ts, `withCp` of the ResNet skeleton):
 *  - gradients of the input and of every trainable parameter equal the plain tape's (same ops, rerun);
 *  - train-mode BatchNorm updates its running statistics once per step, not once per (re)run;
 *  - frozen parameters get no gradient; with withCp the frozen prefix is a constant (zero image gradient);
 *  - the tensor count is flat over steps, and without a tape it is plain `run`.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { initEngine } from '../../src/engine/index.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { checkpoint, isRecomputing } from '../../src/nn/activation-checkpoint.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { Rng } from '../../src/nn/rng.js';

function loss(f: { c2: tf.Tensor; c3: tf.Tensor; c4: tf.Tensor; c5: tf.Tensor }): tf.Scalar {
  // Weighted sums so that every level and every position matters.
  return tf.addN([f.c2, f.c3, f.c4, f.c5].map((t, i) => tf.sum(tf.mul(t, tf.sin(tf.range(0, t.size).reshape(t.shape).mul(0.37 + i)))))) as tf.Scalar;
}

function gradsOf(withCp: boolean, frozenStages: number) {
  const model = tiedResNetTiny({ seed: 7, numClasses: null, frozenStages, normEval: false, withCp });
  model.train();
  const rng = new Rng(3);
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 48 * 3 }, () => rng.normal()), [2, 32, 48, 3]);
  const named = model.namedParameters({ trainableOnly: true });
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => loss(model.forward(x)), named.map(([, v]) => v)));
  const dx = tf.grad((t: tf.Tensor) => loss(model.forward(t as tf.Tensor4D)))(x);
  const out = {
    loss: value.dataSync()[0]!,
    grads: Object.fromEntries(named.map(([n, v]) => [n, grads[v.name]!.dataSync().slice()])),
    dx: dx.dataSync().slice(),
    frozen: model.namedParameters().filter(([, v]) => !v.trainable).map(([n]) => n),
    gotFrozen: Object.keys(grads).length,
    stats: Object.fromEntries(model.namedBuffers().map(([n, v]) => [n, v.dataSync().slice()])),
  };
  tf.dispose([value, dx, x, ...Object.values(grads)]);
  model.dispose();
  return out;
}

describe('activation checkpointing', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  function expectSameParameterGrads(plain: ReturnType<typeof gradsOf>, cp: ReturnType<typeof gradsOf>) {
    expect(cp.loss).toBe(plain.loss);
    expect(Object.keys(cp.grads)).toEqual(Object.keys(plain.grads));
    expect(Object.keys(cp.grads).length).toBeGreaterThan(0);
    for (const [name, g] of Object.entries(plain.grads)) {
      const h = cp.grads[name]!;
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < g.length; i++) {
        scale = Math.max(scale, Math.abs(g[i]!));
        diff = Math.max(diff, Math.abs(g[i]! - h[i]!));
      }
      expect(diff, name).toBeLessThanOrEqual(1e-5 * Math.max(scale, 1e-6));
    }
    // Two forward passes ran (variableGrads, grad) in each model: the BN statistics moved exactly as often.
    for (const [name, v] of Object.entries(plain.stats)) expect(Array.from(cp.stats[name]!), name).toEqual(Array.from(v));
  }

  it('TiedResNet-Tiny with withCp, nothing frozen: the same loss, parameter and input gradients, running statistics', () => {
    const plain = gradsOf(false, -1);
    const cp = gradsOf(true, -1);
    expectSameParameterGrads(plain, cp);
    expect(cp.frozen).toEqual([]);
    let scale = 0;
    for (let i = 0; i < plain.dx.length; i++) {
      scale = Math.max(scale, Math.abs(plain.dx[i]!));
      expect(Math.abs(cp.dx[i]! - plain.dx[i]!)).toBeLessThanOrEqual(1e-5 * scale + 1e-7);
    }
    expect(scale).toBeGreaterThan(0);
  });

  it('withCp and frozenStages 1: the frozen prefix is a constant (same parameter gradients, zero image gradient)', () => {
    const plain = gradsOf(false, 1);
    const cp = gradsOf(true, 1);
    expectSameParameterGrads(plain, cp);
    expect(cp.frozen.some((n) => n.startsWith('layer1.'))).toBe(true);
    expect(cp.gotFrozen).toBe(Object.keys(plain.grads).length);
    expect(plain.dx.some((v) => v !== 0)).toBe(true);
    expect(cp.dx.every((v) => v === 0)).toBe(true);
  });

  it('a checkpointed conv + BN block: flat tensor count over steps, recompute flag only inside the backward pass', () => {
    const rng = new Rng(1);
    const conv = new Conv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1, rng });
    const bn = new BatchNorm2d({ numFeatures: 8 });
    bn.train();
    const seen: boolean[] = [];
    const run = (t: tf.Tensor4D) => {
      seen.push(isRecomputing());
      return tf.relu(bn.forward(conv.forward(t)));
    };
    const x = tf.randomNormal([2, 6, 5, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const vars = [...conv.parameters(), ...bn.trainableVariables()];
    const counts: number[] = [];
    for (let step = 0; step < 3; step++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(checkpoint(run, x, vars)) as tf.Scalar, vars);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[2]).toBe(counts[1]);
    expect(seen).toEqual([false, true, false, true, false, true]);
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(3);
    // No tape: just run(x).
    const y = checkpoint(run, x, vars);
    expect(seen.length).toBe(7);
    tf.dispose([x, y]);
    conv.dispose();
    bn.dispose();
  });
});
