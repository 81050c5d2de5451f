import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Conv2d } from '../../src/nn/conv2d.js';
import {
  calculateGain, computeFans, kaimingNormal, kaimingNormalFanOutRelu, kaimingUniform, torchDefaultBias, torchDefaultWeight,
} from '../../src/nn/init.js';
import { Linear } from '../../src/nn/linear.js';
import { Rng } from '../../src/nn/rng.js';
import { trackTensors } from './helpers.js';

function stats(t: tf.Tensor): { mean: number; std: number; maxAbs: number } {
  const v = t.dataSync();
  let s = 0;
  let sq = 0;
  let maxAbs = 0;
  for (const x of v) {
    s += x;
    sq += x * x;
    maxAbs = Math.max(maxAbs, Math.abs(x));
  }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(sq / v.length - mean * mean), maxAbs };
}

trackTensors('file');

describe('fans and gains (PyTorch rules on TF.js layouts)', () => {
  it('conv [kh, kw, in/groups, out] and linear [in, out]', () => {
    expect(computeFans([3, 3, 64, 128])).toEqual({ fanIn: 576, fanOut: 1152 });
    // groups=4, in=64: the stored weight is [3, 3, 16, 128]; fan_out is NOT divided by groups (PyTorch).
    expect(computeFans([3, 3, 16, 128])).toEqual({ fanIn: 144, fanOut: 1152 });
    expect(computeFans([512, 10])).toEqual({ fanIn: 512, fanOut: 10 });
    expect(() => computeFans([5])).toThrow(/rank >= 2/);
    expect(calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(calculateGain('linear')).toBe(1);
  });
});

describe('initialisers', () => {
  it('kaiming normal fan_out relu: std = √(2/(out·k²)), mean 0', () => {
    const w = kaimingNormalFanOutRelu([3, 3, 64, 128], new Rng(1));
    const s = stats(w);
    const expected = Math.sqrt(2 / (128 * 9));
    expect(Math.abs(s.std / expected - 1)).toBeLessThan(0.02);
    expect(Math.abs(s.mean)).toBeLessThan(0.05 * expected);
    w.dispose();
    const w2 = kaimingNormal([1, 1, 256, 64], new Rng(2), { mode: 'fan_in', nonlinearity: 'relu' });
    expect(Math.abs(stats(w2).std / Math.sqrt(2 / 256) - 1)).toBeLessThan(0.02);
    w2.dispose();
  });

  it('PyTorch default (kaiming uniform a=√5): U(±1/√fan_in), bias U(±1/√fan_in)', () => {
    const w = torchDefaultWeight([3, 3, 32, 64], new Rng(3));
    const bound = 1 / Math.sqrt(32 * 9);
    const s = stats(w);
    expect(s.maxAbs).toBeLessThanOrEqual(bound);
    expect(s.maxAbs).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.03); // uniform std = bound/√3
    w.dispose();
    const b = torchDefaultBias(1000, 288, new Rng(4));
    expect(stats(b).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(288));
    b.dispose();
    const u = kaimingUniform([100, 100], new Rng(5), { mode: 'fan_out', nonlinearity: 'relu' });
    expect(stats(u).maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 100));
    u.dispose();
  });

  it('same seed → same module weights; different seed → different', () => {
    const make = (seed: number) => new Conv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, rng: new Rng(seed) });
    const a = make(11);
    const b = make(11);
    const c = make(12);
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    expect(Array.from(a.bias!.dataSync())).toEqual(Array.from(b.bias!.dataSync()));
    expect(Array.from(a.weight.dataSync())).not.toEqual(Array.from(c.weight.dataSync()));
    [a, b, c].forEach((m) => m.dispose());
    const l1 = new Linear({ inFeatures: 10, outFeatures: 4, rng: new Rng(1) });
    const l2 = new Linear({ inFeatures: 10, outFeatures: 4, rng: new Rng(1) });
    expect(Array.from(l1.weight.dataSync())).toEqual(Array.from(l2.weight.dataSync()));
    expect(stats(l1.weight).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(10));
    l1.dispose();
    l2.dispose();
  });
});
