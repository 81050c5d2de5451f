import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReLU } from '../../src/nn/activation.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { Sequential } from '../../src/nn/sequential.js';
import { setupBackend } from './helpers.js';

class Block extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  constructor(c: number, rng: Rng) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 3, padding: 1, bias: false, rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: c }));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.relu(this.bn1.forward(this.conv1.forward(x)));
  }
}

class Net extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential<tf.Tensor4D, tf.Tensor4D>;
  readonly fc: Linear;
  constructor(seed: number) {
    super();
    const rng = new Rng(seed);
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, bias: false, rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 4 }));
    this.layer1 = this.registerModule('layer1', new Sequential([new Block(4, rng), new ReLU(), new Block(4, rng)]));
    this.fc = this.registerModule('fc', new Linear({ inFeatures: 4, outFeatures: 2, rng }));
  }
  /** Lets the test poke at registration errors. */
  tryRegister(name: string): void {
    this.registerParameter(name, tf.zeros([1]));
  }
}

const BN = (p: string): string[] => [`${p}.weight`, `${p}.bias`, `${p}.running_mean`, `${p}.running_var`, `${p}.num_batches_tracked`];

beforeAll(async () => {
  await setupBackend();
});

describe('Module names and state dicts', () => {
  it('torchvision-style dotted keys in PyTorch order', () => {
    const before = tf.memory().numTensors;
    const net = new Net(1);
    expect([...net.stateDict().keys()]).toEqual([
      'conv1.weight', ...BN('bn1'),
      'layer1.0.conv1.weight', ...BN('layer1.0.bn1'),
      'layer1.2.conv1.weight', ...BN('layer1.2.bn1'),
      'fc.weight', 'fc.bias',
    ]);
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'conv1.weight', 'bn1.weight', 'bn1.bias',
      'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias',
      'layer1.2.conv1.weight', 'layer1.2.bn1.weight', 'layer1.2.bn1.bias',
      'fc.weight', 'fc.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toContain('layer1.2.bn1.running_var');
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'conv1', 'bn1', 'layer1', 'layer1.0', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.1', 'layer1.2', 'layer1.2.conv1', 'layer1.2.bn1', 'fc']);
    // 3·4·9 + 2·4 + 2·(4·4·9 + 2·4) + 4·2 + 2
    expect(net.numParameters()).toBe(108 + 8 + 2 * (144 + 8) + 10);
    expect(net.stateDict().get('bn1.num_batches_tracked')!.dtype).toBe('int32');
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects duplicate and malformed names', () => {
    const net = new Net(1);
    expect(() => net.tryRegister('fc')).toThrow(/already registered/);
    expect(() => net.tryRegister('a.b')).toThrow(/must be non-empty/);
    net.dispose();
  });

  it('loads a state dict (round trip, dtype cast, optional num_batches_tracked)', () => {
    const a = new Net(1);
    const b = new Net(2);
    expect(Array.from(a.conv1.weight.dataSync())).not.toEqual(Array.from(b.conv1.weight.dataSync()));
    const state = new Map(a.stateDict());
    state.delete('bn1.num_batches_tracked'); // optional, as in PyTorch
    const counter = tf.scalar(7, 'float32');
    state.set('layer1.0.bn1.num_batches_tracked', counter); // cast to int32
    const res = b.loadStateDict(state);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, v] of a.stateDict()) {
      if (k.endsWith('num_batches_tracked')) continue;
      expect(Array.from(b.stateDict().get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
    }
    expect(b.stateDict().get('layer1.0.bn1.num_batches_tracked')!.dtype).toBe('int32');
    expect(b.stateDict().get('layer1.0.bn1.num_batches_tracked')!.dataSync()[0]).toBe(7);
    counter.dispose();
    a.dispose();
    // b's variables own their data even though they were loaded from a's (now disposed) tensors.
    expect(b.conv1.weight.dataSync().length).toBe(108);
    b.dispose();
  });

  it('names missing, unexpected and shape-mismatched keys; a failed load changes nothing', () => {
    const a = new Net(1);
    const b = new Net(2);
    const before = Array.from(b.fc.weight.dataSync());
    const extra = tf.zeros([3]);
    const wrong = tf.zeros([4, 3]);
    const state = new Map(a.stateDict());
    state.delete('layer1.2.bn1.running_mean');
    state.set('head.weight', extra);
    expect(() => b.loadStateDict(state)).toThrow(/missing key\(s\): layer1\.2\.bn1\.running_mean[\s\S]*unexpected key\(s\): head\.weight/);
    expect(b.loadStateDict(state, { strict: false })).toEqual({
      missingKeys: ['layer1.2.bn1.running_mean'],
      unexpectedKeys: ['head.weight'],
    });
    expect(Array.from(b.fc.weight.dataSync())).toEqual(Array.from(a.fc.weight.dataSync()));
    // A shape mismatch is an error even with strict: false, and nothing is written.
    const c = new Net(3);
    const cBefore = Array.from(c.fc.weight.dataSync());
    state.set('fc.weight', wrong);
    expect(() => c.loadStateDict(state, { strict: false })).toThrow(
      /size mismatch for 1 key\(s\): fc\.weight: checkpoint shape \[4, 3\], module shape \[4, 2\]/,
    );
    expect(Array.from(c.fc.weight.dataSync())).toEqual(cBefore);
    expect(Array.from(c.conv1.weight.dataSync())).not.toEqual(Array.from(a.conv1.weight.dataSync()));
    expect(before).not.toEqual(cBefore);
    tf.dispose([extra, wrong]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('accepts a plain object and reports use after dispose', () => {
    const a = new Linear({ inFeatures: 2, outFeatures: 2, rng: new Rng(0) });
    const w = tf.ones([2, 2]);
    const bias = tf.zeros([2]);
    a.loadStateDict({ weight: w, bias });
    expect(Array.from(a.weight.dataSync())).toEqual([1, 1, 1, 1]);
    a.dispose();
    expect(a.disposed).toBe(true);
    expect(() => a.loadStateDict({ weight: w, bias })).toThrow(/disposed/);
    tf.dispose([w, bias]);
  });
});

describe('Module modes', () => {
  it('train()/eval() propagate to all descendants', () => {
    const net = new Net(1);
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.layer1.train();
    expect(net.training).toBe(false);
    expect(net.layer1.at(0).training).toBe(true);
    net.train();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    net.dispose();
  });

  it('freeze()/unfreeze() switch gradients off and on', () => {
    const net = new Net(1);
    const all = net.numParameters();
    net.layer1.freeze();
    const stem = 108 + 8 + 10;
    expect(net.numParameters({ trainableOnly: true })).toBe(stem);
    expect(net.trainableVariables().length).toBe(5);
    expect(net.layer1.at(0).frozen).toBe(true);
    // Frozen parameters get no gradient from tf.variableGrads().
    const x = tf.ones([2, 5, 5, 3]) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => {
      const y = net.layer1.forward(net.bn1.forward(net.conv1.forward(x)));
      return tf.sum(net.fc.forward(tf.mean(y, [1, 2]) as tf.Tensor2D)) as tf.Scalar;
    });
    const named = new Map(net.namedParameters().map(([n, v]) => [v.name, n]));
    expect(Object.keys(grads).map((k) => named.get(k)).sort()).toEqual(['bn1.bias', 'bn1.weight', 'conv1.weight', 'fc.bias', 'fc.weight']);
    tf.dispose([x, value, grads]);
    net.unfreeze();
    expect(net.numParameters({ trainableOnly: true })).toBe(all);
    net.dispose();
  });
});
