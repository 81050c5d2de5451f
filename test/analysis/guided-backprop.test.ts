/**
 * Guided backpropagation (src/analysis/guided-backprop.ts) against a hand-computed pattern, the Relu gradient
 * restored afterwards, and no tensor left behind; the backbone analysis (src/analysis/backbone-filters.ts) on a
 * tiny TiedResNet.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { guidedPatterns, withGuidedRelu } from '../../src/analysis/guided-backprop.js';
import { analyzeBackboneFilters } from '../../src/analysis/backbone-filters.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { bottleneckResNet } from '../../src/backbones/resnet.js';
import { Rng } from '../../src/nn/rng.js';

beforeAll(async () => {
  await initEngine();
});

// A two-layer ReLU net on a 1×1 image with 3 channels: h = relu(x·W1) (2 units), a = h·W2 (2 filters).
const W1 = [
  [1, -1],
  [2, 1],
  [-1, 3],
]; // [3, 2]
const W2 = [
  [1, -2],
  [-1, 1],
]; // [2, 2]
const x = [1, 0.5, 0.25];

function net(input: tf.Tensor4D): tf.Tensor4D {
  const n = input.shape[0];
  const flat = tf.reshape(input, [n, 3]);
  const h = tf.relu(tf.matMul(flat, tf.tensor2d(W1)));
  return tf.reshape(tf.matMul(h, tf.tensor2d(W2)), [n, 1, 1, 2]);
}

/** By hand: g_h = W2[:, f]; guided ReLU: max(g_h, 0)·[x·W1 > 0]; g_x = W1 · that. */
function handPattern(f: number, guided: boolean): number[] {
  const pre = [0, 1].map((j) => x.reduce((s, xi, i) => s + xi * W1[i]![j]!, 0)); // [1.75, 0.25]: both positive
  const gh = [0, 1].map((j) => {
    const g = W2[j]![f]!;
    return (guided ? Math.max(g, 0) : g) * (pre[j]! > 0 ? 1 : 0);
  });
  return [0, 1, 2].map((i) => W1[i]![0]! * gh[0]! + W1[i]![1]! * gh[1]!);
}

const image = { data: new Float32Array(x), height: 1, width: 1, channels: 3 };

describe('guidedPatterns', () => {
  it('equals the hand-computed guided pattern of each filter (and differs from the plain gradient)', () => {
    const [p0, p1] = guidedPatterns(net, image, [0, 1]);
    // filter 0: W2[:,0] = [1, −1] → guided [1, 0] → W1·[1,0] = [1, 2, −1]; plain would be [2, 1, −4]
    expect(handPattern(0, true)).toEqual([1, 2, -1]);
    expect(Array.from(p0!)).toEqual(handPattern(0, true).map((v) => expect.closeTo(v, 6)));
    expect(Array.from(p1!)).toEqual(handPattern(1, true).map((v) => expect.closeTo(v, 6)));
    expect(handPattern(0, false)).not.toEqual(handPattern(0, true));
  });

  it('a negative ReLU input blocks the gradient as a plain ReLU does', () => {
    const neg = { data: new Float32Array([-1, 0, 0]), height: 1, width: 1, channels: 3 }; // x·W1 = [−1, 1]
    const [p0] = guidedPatterns(net, neg, [0]);
    // unit 0 is off; unit 1 on with g_h = max(W2[1][0], 0) = 0 → zero pattern
    expect(Array.from(p0!)).toEqual([0, 0, 0]);
  });

  it('restores the plain Relu gradient afterwards, also after a throw', () => {
    const plain = (): number[] => {
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor1d([-1, 2]))))(tf.tensor1d([1, 1]));
      const v = Array.from(g.dataSync());
      g.dispose();
      return v;
    };
    const before = plain();
    expect(before).toEqual([-1, 2]);
    expect(withGuidedRelu(plain)).toEqual([0, 2]);
    expect(() =>
      withGuidedRelu(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(plain()).toEqual(before);
  });

  it('rejects a filter index outside the layer', () => {
    expect(() => guidedPatterns(net, image, [2])).toThrow(/filter 2 is not a channel/);
  });

  it('leaves tf.memory() flat over repeated calls', () => {
    guidedPatterns(net, image, [0, 1]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) guidedPatterns(net, image, [0, 1]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('analyzeBackboneFilters', () => {
  const rng = new Rng(3);
  const img = { data: rng.normalArray(32 * 32 * 3), height: 32, width: 32, channels: 3 };

  it('gives per-stage pair similarities in [−1, 1], the same channel sample for the same width, and leaks nothing', () => {
    const tied = tiedResNetTiny({ seed: 1, numClasses: null, frozenStages: -1, normEval: false });
    const plain = bottleneckResNet({ layers: [1, 1, 1, 1], baseWidth: 32, expansion: 1 }, { seed: 1, numClasses: null, frozenStages: -1, normEval: false });
    try {
      const before = tf.memory().numTensors;
      const a = analyzeBackboneFilters(tied, [img], { stages: ['c2', 'c5'], filters: 5, seed: 7 });
      const b = analyzeBackboneFilters(plain, [img], { stages: ['c2', 'c5'], filters: 5, seed: 7 });
      expect(tf.memory().numTensors).toBe(before);
      expect(tied.training).toBe(true); // mode restored
      expect(a.stages.map((s) => s.stage)).toEqual(['c2', 'c5']);
      expect(a.stages.map((s) => s.filters)).toEqual(b.stages.map((s) => s.filters));
      for (const s of [...a.stages, ...b.stages]) {
        expect(s.filters).toHaveLength(5);
        expect(s.guided.length + s.guidedUndefinedPairs).toBe(10);
        expect(s.weights.length).toBeGreaterThan(0);
        for (const v of [...s.guided, ...s.weights]) expect(Math.abs(v)).toBeLessThanOrEqual(1);
      }
      expect(a.stages[0]!.weightTensors.some((t) => t.name.startsWith('layer1.0.conv2'))).toBe(true);
      expect(b.stages[1]!.weightTensors.every((t) => t.name.startsWith('layer4.'))).toBe(true);
    } finally {
      tied.dispose();
      plain.dispose();
    }
  });
});
