/**
 * Training a small conv + BN net: the same five SGD steps give the same losses on wasm and cpu, and 50 steps on
 * the test backend leave `tf.memory().numTensors` flat.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { TiedBlockConv2d } from '../../src/layers/tbc.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { globalAvgPool, maxPool2d } from '../../src/nn/functional.js';
import { kaimingNormalFanOutRelu } from '../../src/nn/init.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { setupBackend } from '../nn/helpers.js';

/** conv3×3 → BN → ReLU → maxpool 3/2/1 → TBC 3×3 (B=2) → BN → ReLU → global avg pool → linear. */
class SmallNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: TiedBlockConv2d;
  readonly bn2: BatchNorm2d;
  readonly fc: Linear;
  constructor(seed: number) {
    super();
    const rng = new Rng(seed);
    const weightInit = kaimingNormalFanOutRelu;
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, bias: false, rng, weightInit }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 8 }));
    this.conv2 = this.registerModule('conv2', new TiedBlockConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, padding: 1, blocks: 2, bias: false, rng, weightInit }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: 8 }));
    this.fc = this.registerModule('fc', new Linear({ inFeatures: 8, outFeatures: 3, rng }));
  }
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let y = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      y = maxPool2d(y, { kernelSize: 3, stride: 2, padding: 1 });
      y = tf.relu(this.bn2.forward(this.conv2.forward(y)));
      return this.fc.forward(globalAvgPool(y));
    });
  }
}

function batch(): { x: tf.Tensor4D; onehot: tf.Tensor2D } {
  const rng = new Rng(99);
  const x = tf.tensor4d(rng.normalArray(4 * 12 * 12 * 3), [4, 12, 12, 3]);
  const onehot = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3).toFloat() as tf.Tensor2D;
  return { x, onehot };
}

/** One SGD step; returns the loss. */
function trainStep(net: SmallNet, opt: SGD, x: tf.Tensor4D, onehot: tf.Tensor2D): number {
  const { value, grads } = tf.variableGrads(
    () => tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(net.forward(x))), 1))) as tf.Scalar,
    net.trainableVariables(),
  );
  opt.step(grads);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, grads]);
  return loss;
}

function losses(steps: number): number[] {
  const net = new SmallNet(0);
  const opt = new SGD(net.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const { x, onehot } = batch();
  const out = Array.from({ length: steps }, () => trainStep(net, opt, x, onehot));
  tf.dispose([x, onehot]);
  opt.dispose();
  net.dispose();
  return out;
}

beforeAll(async () => {
  await setupBackend();
});

describe('small conv + BN net', () => {
  it('five SGD steps give the same losses on wasm and cpu (within 1e-4)', async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    const wasm = losses(5);
    await initEngine({ backend: 'cpu' });
    const cpu = losses(5);
    await setupBackend();
    for (let i = 0; i < 5; i++) expect(Math.abs(wasm[i]! - cpu[i]!), `step ${i}: wasm ${wasm[i]} cpu ${cpu[i]}`).toBeLessThan(1e-4);
    expect(wasm[4]!).toBeLessThan(wasm[0]!); // it learns
  });

  it('tf.memory().numTensors is flat across 50 training steps', () => {
    const net = new SmallNet(1);
    const opt = new SGD(net.namedParameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const { x, onehot } = batch();
    trainStep(net, opt, x, onehot); // creates the momentum buffers
    const n0 = tf.memory().numTensors;
    const counts: number[] = [];
    for (let i = 0; i < 50; i++) {
      trainStep(net, opt, x, onehot);
      counts.push(tf.memory().numTensors);
    }
    expect(counts.every((c) => c === n0)).toBe(true);
    expect(net.bn1.numBatchesTracked.dataSync()[0]).toBe(51);
    tf.dispose([x, onehot]);
    opt.dispose();
    net.dispose();
  });
});
