import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { l1Loss } from '../../src/ops/losses.js';
import { rowLoss } from '../../src/ops/row-loss.js';
import { expectClose, trackTensors } from '../nn/helpers.js';

trackTensors('file');

describe('rowLoss', () => {
  it('applies the loss to the selected rows against their targets', () => {
    const pred = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const v = tf.tidy(() => rowLoss(pred, [2, 0], Float32Array.from([5, 5, 0, 0]), (p, y) => l1Loss(p, y, { reduction: 'sum' })));
    // rows [5, 6] and [1, 2] against [5, 5] and [0, 0]: |0| + |1| + |1| + |2| = 4
    expectClose(v, [4], { atol: 1e-6 });
    tf.dispose([pred, v]);
  });

  it('no rows: 0, still connected to pred (zero gradient, not none)', () => {
    const pred = tf.tensor2d([1, -2, 3, 4], [2, 2]);
    const g = tf.grad((p: tf.Tensor) => rowLoss(p as tf.Tensor2D, [], new Float32Array(0), () => tf.scalar(99)))(pred);
    expectClose(g, [0, 0, 0, 0], { atol: 0 });
    const v = tf.tidy(() => rowLoss(pred, [], new Float32Array(0), () => tf.scalar(99)));
    expect(v.dataSync()[0]).toBe(0);
    tf.dispose([pred, g, v]);
  });
});
