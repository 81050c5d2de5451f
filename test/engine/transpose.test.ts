import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { reduceTranspose } from '../../src/engine/kernels/transpose.js';
import { Rng } from '../../src/nn/rng.js';

describe('reduceTranspose', () => {
  it('merges axes that stay adjacent and in order, down to rank 3 (rank 2 is slow on wasm)', () => {
    expect(reduceTranspose([32, 16, 16, 2, 32], [3, 0, 1, 2, 4])).toEqual({ shape: [8192, 2, 32], perm: [1, 0, 2] });
    expect(reduceTranspose([2, 3, 4, 5], [2, 3, 0, 1])).toEqual({ shape: [6, 4, 5], perm: [1, 2, 0] });
    expect(reduceTranspose([2, 3, 4, 5, 6], [3, 4, 0, 1, 2])).toEqual({ shape: [24, 5, 6], perm: [1, 2, 0] });
    expect(reduceTranspose([8, 9, 64], [2, 0, 1])).toEqual({ shape: [8, 9, 64], perm: [2, 0, 1] });
    expect(reduceTranspose([2, 3, 4], [0, 2, 1])).toEqual({ shape: [2, 3, 4], perm: [0, 2, 1] });
  });

  it('drops axes of size 1 and reduces identities to rank 1', () => {
    expect(reduceTranspose([2, 1, 3], [1, 0, 2])).toEqual({ shape: [6], perm: [0] });
    expect(reduceTranspose([4, 1, 5], [2, 1, 0])).toEqual({ shape: [4, 5], perm: [1, 0] }); // genuinely rank 2
    expect(reduceTranspose([1, 1], [1, 0])).toEqual({ shape: [1], perm: [0] });
  });
});

describe('Transpose on wasm (reduced-rank kernel)', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  function permutations(n: number): number[][] {
    if (n === 1) return [[0]];
    return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
  }

  it('equals the cpu backend for every permutation of rank 2–5 tensors, size-1 axes included', async () => {
    const rng = new Rng(11);
    const shapes = [[3, 4], [2, 1, 3], [2, 3, 4, 5], [1, 3, 1, 2], [2, 3, 2, 1, 4]];
    for (const shape of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = rng.normalArray(size);
      for (const perm of permutations(shape.length)) {
        const x = tf.tensor(values, shape);
        const y = tf.transpose(x, perm);
        const got = y.dataSync().slice();
        const gotShape = y.shape;
        tf.dispose([x, y]);
        await tf.setBackend('cpu');
        const xc = tf.tensor(values, shape);
        const yc = tf.transpose(xc, perm);
        const ref = yc.dataSync().slice();
        tf.dispose([xc, yc]);
        await tf.setBackend('wasm');
        expect(gotShape, `shape ${shape} perm ${perm}`).toEqual(perm.map((a) => shape[a]));
        expect(Array.from(got), `shape ${shape} perm ${perm}`).toEqual(Array.from(ref)); // a permutation: exact
      }
    }
  });

  it('leaves no tensors behind and keeps its input intact', () => {
    const x = tf.tensor(new Float32Array(2 * 3 * 4 * 2 * 5).map((_, i) => i), [2, 3, 4, 2, 5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) tf.transpose(x, [3, 0, 1, 2, 4]).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(x.dataSync()[17]).toBe(17);
    x.dispose();
  });
});
