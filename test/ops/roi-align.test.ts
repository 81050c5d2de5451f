/**
 * RoIAlign (src/ops/roi-align.ts) against torchvision.ops.roi_align fixtures: outputs and input gradients within
 * 1e-4 absolute (values are O(1); measured errors are ~1e-7), on the wasm backend (heap path) and the cpu backend
 * (dataSync path); validation errors; tensor count flat over repeated forward + backward.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { roiAlign, type RoiAlignOptions } from '../../src/ops/roi-align.js';
import { expectClose, trackTensors } from '../nn/helpers.js';
import { loadOpsFixtures, type OpsFixtureCase } from './roi-align-fixtures.js';

const TOL = { atol: 1e-4 };

trackTensors('test');

const fx = loadOpsFixtures();
const roiCases = fx.cases.filter((c) => c.kind === 'roi_align');

function optsOf(c: OpsFixtureCase): RoiAlignOptions {
  return {
    outputSize: [c.config.outH as number, c.config.outW as number],
    spatialScale: c.config.spatialScale as number,
    samplingRatio: c.config.samplingRatio as number,
    aligned: c.config.aligned as boolean,
  };
}

/** Forward, and the gradient of sum(out · g) with respect to the features, against the fixture. */
function checkCase(c: OpsFixtureCase): { outErr: number; gradErr: number } {
  const feat = fx.tensor(c, 'features') as tf.Tensor4D;
  const boxes = fx.tensor(c, 'boxes');
  const g = fx.tensor(c, 'g');
  const want = fx.tensor(c, 'out');
  const wantGrad = fx.tensor(c, 'grad');
  try {
    const opts = optsOf(c);
    const out = roiAlign(feat, boxes, c.batch, opts);
    const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(roiAlign(f as tf.Tensor4D, boxes, c.batch, opts), g)))(feat);
    try {
      expectClose(out, want, TOL, `${c.name} out`);
      expectClose(grad, wantGrad, TOL, `${c.name} grad`);
      const outErr = tf.tidy(() => tf.max(tf.abs(tf.sub(out, want))).dataSync()[0]!);
      // Gradients reach |g| ≈ 16 (many samples add into one pixel): their float32 sums differ in order from
      // torchvision's, so the tight check is relative to the largest value.
      const gradErr = tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(grad, wantGrad))), tf.maximum(1, tf.max(tf.abs(wantGrad)))).dataSync()[0]!);
      return { outErr, gradErr };
    } finally {
      tf.dispose([out, grad]);
    }
  } finally {
    tf.dispose([feat, boxes, g, want, wantGrad]);
  }
}

describe('roiAlign vs torchvision.ops.roi_align', () => {
  it('has the fixture cases', () => {
    expect(roiCases.length).toBeGreaterThanOrEqual(10);
  });

  for (const c of roiCases) {
    it(`${c.name}: output and input gradient within 1e-4 (wasm)`, () => {
      // Asserted: 1e-4 absolute (TOL). Measured: ≤ 1e-6 (outputs), ≤ 2e-6 relative (gradients).
      const { outErr, gradErr } = checkCase(c);
      expect(outErr).toBeLessThan(1e-5);
      expect(gradErr).toBeLessThan(1e-5);
    });
  }

  it('the cpu backend (dataSync path) gives the same numbers', async () => {
    const before = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      for (const c of roiCases.filter((k) => k.name.startsWith('mixed_s4_o7') || k.name.includes('c64'))) checkCase(c);
    } finally {
      await tf.setBackend(before);
    }
  });
});

describe('roiAlign semantics', () => {
  it('a box covering pixel centres exactly averages them (aligned, stride 1)', () => {
    // 1×4×4×1 map with values 0…15; box [1, 1, 3, 3] at scale 1 → aligned coords [0.5, 2.5]: 2×2 output, one
    // sample per bin at (1, 1), (1, 2), (2, 1), (2, 2) pixel centres.
    const f = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    const out = roiAlign(f, [[1, 1, 3, 3]], undefined, { outputSize: 2, spatialScale: 1 });
    expect(Array.from(out.dataSync())).toEqual([5, 6, 9, 10]);
    tf.dispose([f, out]);
  });

  it('returns [0, outH, outW, C] for no boxes, and a zero gradient', () => {
    const f = tf.ones([1, 5, 5, 3]) as tf.Tensor4D;
    const out = roiAlign(f, new Float32Array(0), [], { outputSize: 7, spatialScale: 1 });
    expect(out.shape).toEqual([0, 7, 7, 3]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(roiAlign(x as tf.Tensor4D, [], [], { outputSize: 7, spatialScale: 1 })))(f);
    expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([f, out, g]);
  });

  it('rejects bad input with the field named', () => {
    const f = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const o = { outputSize: 2, spatialScale: 1 };
    expect(() => roiAlign(f, [[0, 0, NaN, 1]], [0], o)).toThrow('boxes[0].x2: expected a finite number, got NaN');
    expect(() => roiAlign(f, [0, 0, 1], undefined, o)).toThrow('not a multiple of 4');
    expect(() => roiAlign(f, [[0, 0, 1, 1]], [2], o)).toThrow('batchIndices[0]: expected an integer in [0, 1], got 2');
    expect(() => roiAlign(f, [[0, 0, 1, 1]], [0, 1], o)).toThrow('2 batch indices for 1 boxes');
    expect(() => roiAlign(f, [[0, 0, 1, 1]], [0], { outputSize: 0, spatialScale: 1 })).toThrow('outputSize');
    expect(() => roiAlign(f, [[0, 0, 1, 1]], [0], { outputSize: 2, spatialScale: 0 })).toThrow('spatialScale');
    expect(() => roiAlign(f, [[0, 0, 1, 1]], [0], { ...o, samplingRatio: 1.5 })).toThrow('samplingRatio');
    expect(() => roiAlign(f, [[0, 0, 1e12, 1]], [0], o)).toThrow('too large to sample');
    const i = tf.zeros([1, 4, 4, 1], 'int32') as tf.Tensor4D;
    expect(() => roiAlign(i, [[0, 0, 1, 1]], [0], o)).toThrow('float32');
    tf.dispose([f, i]);
  });

  it('keeps the tensor count flat over repeated forward + backward', () => {
    const init = tf.randomUniform([2, 12, 16, 8], -1, 1, 'float32', 7);
    const feat = tf.variable(init) as tf.Variable<tf.Rank.R4>;
    init.dispose();
    const boxes = [[2, 3, 30, 40], [-5, 1, 20, 9], [10, 10, 60, 50]];
    const opts = { outputSize: 7, spatialScale: 0.25 };
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(roiAlign(feat, boxes, [0, 1, 1], opts))) as tf.Scalar, [feat]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(n);
    feat.dispose();
  });
});
