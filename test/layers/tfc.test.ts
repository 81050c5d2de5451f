import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TiedLinear } from '../../src/layers/tfc.js';
import { Linear } from '../../src/nn/linear.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose, loadLayerFixtures, trackTensors, variableOf } from '../nn/helpers.js';
import { fixtureSuite, LAYER_TOL } from './fixture-check.js';

const fixtures = loadLayerFixtures();
trackTensors('file');

type TfcConfig = { inFeatures: number; outFeatures: number; blocks: number; bias: boolean };
fixtureSuite<TfcConfig>('TiedLinear (TFC) vs PyTorch', fixtures, 'tfc', (cfg) => new TiedLinear({ ...cfg, rng: new Rng(1) }), LAYER_TOL);

describe('TiedLinear structure', () => {
  it('B = 1 equals Linear with the same weights; count c·c′/B² (+ c′/B)', () => {
    const a = new TiedLinear({ inFeatures: 12, outFeatures: 8, blocks: 1, rng: new Rng(2) });
    const b = new Linear({ inFeatures: 12, outFeatures: 8, rng: new Rng(2) });
    expect(a.weight.shape).toEqual([12, 8]);
    const x = tf.tensor(new Rng(3).uniformArray(5 * 12, -1, 1), [5, 12]) as tf.Tensor2D;
    tf.tidy(() => expectClose(a.forward(x), b.forward(x), { atol: 0 }));
    x.dispose();
    a.dispose();
    b.dispose();
    for (const [c, co, B] of [[64, 32, 2], [256, 16, 8], [64, 64, 4]] as const) {
      const t = new TiedLinear({ inFeatures: c, outFeatures: co, blocks: B, bias: false, rng: new Rng(0) });
      expect(t.numParameters()).toBe((c * co) / (B * B));
      expect(t.weight.shape).toEqual([c / B, co / B]);
      t.dispose();
      const tb = new TiedLinear({ inFeatures: c, outFeatures: co, blocks: B, rng: new Rng(0) });
      expect(tb.numParameters()).toBe((c * co) / (B * B) + co / B);
      tb.dispose();
    }
  });

  it('block b of the output depends only on block b of the input', () => {
    const layer = new TiedLinear({ inFeatures: 8, outFeatures: 4, blocks: 4, rng: new Rng(9) });
    const x = variableOf(new Rng(10).uniformArray(8, -1, 1), [1, 8]);
    // Blocks: input width 2, output width 1. d(output block 1)/dx is W[:, 0] on input block 1, zero elsewhere.
    const mask = tf.tensor([[0, 1, 0, 0]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.forward(x as tf.Tensor2D), mask)) as tf.Scalar, [x]);
    const gx = Array.from(grads[x.name]!.dataSync());
    const w = layer.weight.arraySync() as number[][];
    expect(gx[0]).toBe(0);
    expect(gx[1]).toBe(0);
    expect(gx[2]).toBeCloseTo(w[0]![0]!, 6);
    expect(gx[3]).toBeCloseTo(w[1]![0]!, 6);
    expect(gx.slice(4)).toEqual([0, 0, 0, 0]);
    tf.dispose([value, grads[x.name]!, x, mask]);
    layer.dispose();
  });
});
