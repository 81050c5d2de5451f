/**
 * The eval-mode inference paths (BN folded into the convs, TiedBottleneck's heap passes) give the general path's
 * result: the general path is forced by recording a gradient tape (`tf.variableGrads`).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resnet50, tiedResNet50S, tiedResNeXt50S } from '../../src/backbones/presets.js';
import type { ResNet } from '../../src/backbones/resnet.js';
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
  const { value, grads } = tf.variableGrads(() => {
    const f = model.forward(x);
    for (const t of [f.c2, f.c3, f.c4, f.c5]) ref.push(tf.keep(t.clone()));
    return tf.sum(f.c5) as tf.Scalar;
  }, model.trainableVariables().slice(0, 1));
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
