import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TiedGCB } from '../../src/layers/tied-gcb.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose, loadLayerFixtures, trackTensors } from '../nn/helpers.js';
import { fixtureSuite, LAYER_TOL } from './fixture-check.js';

const fixtures = loadLayerFixtures();
trackTensors('file');

type GcbConfig = { channels: number; ratio: number; blocks: number; planes: number };
fixtureSuite<GcbConfig>(
  'TiedGCB vs PyTorch (GCNet ContextBlock with tied transform)', fixtures, 'tiedgcb',
  (cfg) => new TiedGCB({ channels: cfg.channels, ratio: cfg.ratio, blocks: cfg.blocks, rng: new Rng(1) }),
  LAYER_TOL,
  (layer, cfg) => expect((layer as TiedGCB).planes).toBe(cfg.planes),
);

describe('TiedGCB structure', () => {
  it('mmcv names and TF.js shapes', () => {
    const gcb = new TiedGCB({ channels: 32, ratio: 1 / 4, blocks: 2, rng: new Rng(0) });
    expect(gcb.namedParameters().map(([n, v]) => `${n}:${v.shape.join('x')}`)).toEqual([
      'conv_mask.weight:1x1x32x1', 'conv_mask.bias:1',
      'channel_add_conv.0.weight:1x1x16x4', 'channel_add_conv.0.bias:4',
      'channel_add_conv.1.weight:8', 'channel_add_conv.1.bias:8',
      'channel_add_conv.3.weight:1x1x4x16', 'channel_add_conv.3.bias:16',
    ]);
    gcb.dispose();
  });

  it('starts as the identity (last transform conv zero-initialised, as mmcv)', () => {
    const gcb = new TiedGCB({ channels: 16, ratio: 1 / 4, blocks: 2, rng: new Rng(4) });
    const x = tf.tensor(new Rng(5).normalArray(2 * 3 * 3 * 16), [2, 3, 3, 16]) as tf.Tensor4D;
    tf.tidy(() => expectClose(gcb.forward(x), x, { atol: 0 }));
    x.dispose();
    gcb.dispose();
  });

  it('GC-ResNet-50 (ratio 1/4, stages c3–c5): ≈10 M block parameters → ≈2.5 M with B = 2', () => {
    const stages: Array<[number, number]> = [[512, 4], [1024, 6], [2048, 3]];
    const count = (B: number): number => {
      let n = 0;
      const rng = new Rng(0);
      for (const [c, blocks] of stages) {
        const gcb = new TiedGCB({ channels: c, ratio: 1 / 4, blocks: B, rng });
        n += blocks * gcb.numParameters();
        gcb.dispose();
      }
      return n;
    };
    const full = count(1);
    const tied = count(2);
    expect(full / 1e6).toBeCloseTo(10.0, 0);
    expect(tied / 1e6).toBeCloseTo(2.5, 0);
    expect(full / tied).toBeGreaterThan(3.9);
  });
});
