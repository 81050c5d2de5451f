/**
 * src/ops/losses.ts against torchvision `sigmoid_focal_loss` and torch.nn.functional (l1_loss, smooth_l1_loss,
 * cross_entropy, binary_cross_entropy_with_logits), with mmdetection's weight / avg_factor reduction, values and
 * gradients (autograd of Σ loss·g) — tools/fixtures/detection_ops.py, float64 references of float32 inputs.
 * Tolerances: values and gradients 1e-5 relative + 1e-6 absolute. Tensor counts: flat per test and across
 * repeated loss + gradient calls.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropyWithLogits,
  crossEntropyLoss,
  l1Loss,
  labelsToOneHot,
  LOSS_CHUNK_VALUES,
  sigmoidFocalLoss,
  smoothL1Loss,
  weightReduceLoss,
  type Reduction,
} from '../../src/ops/losses.js';
import { trackTensors } from '../nn/helpers.js';
import { expectAllClose, loadDetectionFixture } from './detection-fixtures.js';

interface LossCase {
  name: string;
  loss: 'focal' | 'l1' | 'smoothl1' | 'ce' | 'bce';
  reduction: Reduction;
  alpha?: number;
  gamma?: number;
  beta?: number;
  avgFactor?: number;
  weighted?: boolean;
  labels?: number[];
  classWeight?: number[];
  avgNonIgnore?: boolean;
  inputs: number[][];
  shapes: number[][];
  out: number[];
  outShape: number[];
  g: number[];
  grads: number[][];
}
const fx = loadDetectionFixture<{ cases: LossCase[] }>('losses.json');
const TOL = { atol: 1e-6, rtol: 1e-5 };

/** Indices of the inputs the fixture differentiates, and the loss as a function of those tensors. */
function lossOf(c: LossCase, inputs: tf.Tensor[]): { wrt: number[]; f: (...xs: tf.Tensor[]) => tf.Tensor } {
  const base = { reduction: c.reduction, avgFactor: c.avgFactor };
  const weightAt = (i: number) => (c.weighted ? inputs[i] : undefined);
  switch (c.loss) {
    case 'focal':
      return { wrt: [0], f: (x) => sigmoidFocalLoss(x!, inputs[1]!, { ...base, alpha: c.alpha, gamma: c.gamma, weight: weightAt(2) }) };
    case 'l1':
      return { wrt: [0, 1], f: (p, t) => l1Loss(p!, t!, { ...base, weight: weightAt(2) }) };
    case 'smoothl1':
      return { wrt: [0, 1], f: (p, t) => smoothL1Loss(p!, t!, { ...base, beta: c.beta, weight: weightAt(2) }) };
    case 'ce':
      return {
        wrt: [0],
        f: (x) => crossEntropyLoss(x as tf.Tensor2D, c.labels!, { ...base, weight: weightAt(1), classWeight: c.classWeight, avgNonIgnore: c.avgNonIgnore }),
      };
    case 'bce':
      return c.weighted
        ? { wrt: [0], f: (x) => binaryCrossEntropyWithLogits(x!, inputs[1]!, { ...base, weight: inputs[2] }) }
        : { wrt: [0, 1], f: (x, t) => binaryCrossEntropyWithLogits(x!, t!, base) };
  }
}

trackTensors('test');

describe('losses vs torchvision / torch.nn.functional (values and gradients)', () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const inputs = c.inputs.map((v, i) => tf.tensor(v, c.shapes[i]!, 'float32'));
      const g = tf.tensor(c.g, c.outShape, 'float32');
      const { wrt, f } = lossOf(c, inputs);
      const out = f(...wrt.map((i) => inputs[i]!));
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), g)))(wrt.map((i) => inputs[i]!));
      try {
        expect(out.shape).toEqual(c.outShape);
        expectAllClose(out.dataSync(), c.out, TOL, `${c.name} value`);
        grads.forEach((gr, k) => expectAllClose(gr.dataSync(), c.grads[k]!, TOL, `${c.name} grad ${k}`));
      } finally {
        tf.dispose([...inputs, g, out, ...grads]);
      }
    });
  }
});

describe('loss semantics', () => {
  it('labelsToOneHot: background (C or −1) is an all-zero row', () => {
    const t = labelsToOneHot([0, 2, 3, -1], 3);
    expect(Array.from(t.dataSync())).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    t.dispose();
  });

  it('weightReduceLoss: prefix-shaped weights, avgFactor, errors', () => {
    tf.tidy(() => {
      const loss = tf.tensor2d([[1, 2], [3, 4]]);
      expect(weightReduceLoss(loss, { weight: tf.tensor1d([1, 0]), reduction: 'sum' }).dataSync()[0]).toBe(3);
      expect(weightReduceLoss(loss, { avgFactor: 2 }).dataSync()[0]).toBeCloseTo(5, 5);
      expect(weightReduceLoss(loss).dataSync()[0]).toBe(2.5);
      expect(() => weightReduceLoss(loss, { reduction: 'sum', avgFactor: 2 })).toThrow(/avgFactor can not be used with reduction "sum"/);
      expect(() => weightReduceLoss(loss, { weight: tf.tensor1d([1, 2, 3]) })).toThrow(/weight shape \[3\] must equal the loss shape \[2, 2\]/);
    });
  });

  it('avgFactor 0 gives 0 rather than NaN (mmdet’s ε)', () => {
    tf.tidy(() => {
      const v = sigmoidFocalLoss(tf.zeros([2, 3]), tf.zeros([2, 3]), { weight: tf.zeros([2]), avgFactor: 0 });
      expect(v.dataSync()[0]).toBe(0);
    });
  });

  it('crossEntropyLoss rejects labels outside [0, C) that are not the ignore index', () => {
    tf.tidy(() => {
      expect(() => crossEntropyLoss(tf.zeros([2, 3]) as tf.Tensor2D, [0, 3])).toThrow(/label 1 is 3, expected an integer in \[0, 3\)/);
      expect(() => crossEntropyLoss(tf.zeros([2, 3]) as tf.Tensor2D, [0])).toThrow(/2 rows of logits but 1 labels/);
      expect(crossEntropyLoss(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([1, -1], 'int32'), { ignoreIndex: -1, reduction: 'sum' }).dataSync()[0]).toBeCloseTo(Math.log(3), 5);
    });
  });

  it('shape mismatches and bad parameters are clear errors', () => {
    tf.tidy(() => {
      expect(() => l1Loss(tf.zeros([2, 4]), tf.zeros([2, 3]))).toThrow(/prediction \[2, 4\] and target \[2, 3\]/);
      expect(() => smoothL1Loss(tf.zeros([1]), tf.zeros([1]), { beta: -1 })).toThrow(/beta must be ≥ 0/);
    });
  });

  it('tensor count stays flat across repeated loss + gradient calls', () => {
    const logits = tf.randomNormal([64, 5], 0, 1, 'float32', 3);
    const targets = labelsToOneHot(Array.from({ length: 64 }, (_, i) => i % 6), 5);
    const pred = tf.randomNormal([64, 4], 0, 1, 'float32', 4);
    const target = tf.randomNormal([64, 4], 0, 1, 'float32', 5);
    const step = () => {
      const [gx, gp] = tf.grads((x: tf.Tensor, p: tf.Tensor) =>
        tf.add(tf.add(sigmoidFocalLoss(x, targets, { avgFactor: 10 }), l1Loss(p, target)), smoothL1Loss(p, target, { beta: 1 / 9 })),
      )([logits, pred]);
      const ce = crossEntropyLoss(logits as tf.Tensor2D, Array.from({ length: 64 }, (_, i) => i % 5));
      tf.dispose([gx!, gp!, ce]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, targets, pred, target]);
  });
});

describe('sigmoidFocalLoss closed-form backward', () => {
  // The torch fixtures cover d/dlogits; the target gradient (soft targets) against central differences in float64
  // arithmetic on float32 inputs: tolerance 2e-3 relative (float32 forward, step 1e-2).
  for (const [alpha, gamma] of [[0.25, 2], [-1, 1.5], [0.5, 0], [0.25, 1]] as const) {
    it(`d/dtargets for soft targets, alpha ${alpha}, gamma ${gamma}`, () => tf.tidy(() => {
      const x = tf.tensor1d([-2.1, -0.3, 0.05, 0.9, 2.4]);
      const tv = [0.1, 0.35, 0.5, 0.8, 0.95];
      const f = (t: tf.Tensor) => sigmoidFocalLoss(x, t, { alpha, gamma, reduction: 'sum' });
      const g = tf.grad(f)(tf.tensor1d(tv)).dataSync();
      const h = 1e-2;
      tv.forEach((v, i) => {
        const at = (d: number) => f(tf.tensor1d(tv.map((u, j) => (j === i ? u + d : u)))).dataSync()[0]!;
        const numeric = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[i]! - numeric)).toBeLessThanOrEqual(2e-3 * Math.max(1, Math.abs(numeric)));
      });
    }));
  }
});

describe('sigmoidFocalLoss over more than one chunk', () => {
  it(`[30000, 80] (> LOSS_CHUNK_VALUES = ${LOSS_CHUNK_VALUES}): values and d/dlogits as the unchunked formula, 1e-5`, () =>
    tf.tidy(() => {
      const rows = 30000;
      expect(rows * 80).toBeGreaterThan(LOSS_CHUNK_VALUES);
      const x = tf.randomNormal([rows, 80], 0, 2, 'float32', 7);
      const t = tf.cast(tf.greater(tf.randomUniform([rows, 80], 0, 1, 'float32', 8), 0.97), 'float32');
      const g = tf.randomUniform([rows, 80], 0.5, 1.5, 'float32', 9);
      const reference = (xs: tf.Tensor) => {
        // The textbook composition (autodiff), α 0.25, γ 2.
        const p = tf.sigmoid(xs);
        const ce = tf.add(tf.sub(tf.relu(xs), tf.mul(xs, t)), tf.log1p(tf.exp(tf.neg(tf.abs(xs)))));
        const q = tf.add(tf.mul(tf.sub(1, p), t), tf.mul(p, tf.sub(1, t)));
        return tf.mul(tf.mul(ce, tf.square(q)), tf.add(tf.mul(t, 0.25), tf.mul(tf.sub(1, t), 0.75)));
      };
      const ours = (xs: tf.Tensor) => sigmoidFocalLoss(xs, t, { reduction: 'none' });
      const close = (a: tf.Tensor, b: tf.Tensor) => {
        const scale = tf.max(tf.abs(b)).dataSync()[0]!;
        expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!).toBeLessThanOrEqual(1e-5 * scale);
      };
      close(ours(x), reference(x));
      close(tf.grad((xs: tf.Tensor) => tf.sum(tf.mul(ours(xs), g)))(x), tf.grad((xs: tf.Tensor) => tf.sum(tf.mul(reference(xs), g)))(x));
    }));
});
