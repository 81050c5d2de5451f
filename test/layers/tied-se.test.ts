import { describe, expect, it } from 'vitest';
import { TiedSE, tiedSEHidden } from '../../src/layers/tied-se.js';
import { Rng } from '../../src/nn/rng.js';
import { loadLayerFixtures, trackTensors } from '../nn/helpers.js';
import { fixtureSuite, LAYER_TOL } from './fixture-check.js';

const fixtures = loadLayerFixtures();
trackTensors('file');

type SeConfig = { channels: number; blocks: number; reduction: number; hidden: number };
fixtureSuite<SeConfig>(
  'TiedSE vs PyTorch (official TiedSELayer semantics)', fixtures, 'tiedse',
  (cfg) => new TiedSE({ channels: cfg.channels, blocks: cfg.blocks, reduction: cfg.reduction, rng: new Rng(1) }),
  LAYER_TOL,
  (layer, cfg) => expect((layer as TiedSE).hidden).toBe(cfg.hidden),
);

describe('TiedSE structure', () => {
  it('names follow the official module (fc.0 / fc.2)', () => {
    const se = new TiedSE({ channels: 64, blocks: 4, rng: new Rng(0) });
    expect(se.namedParameters().map(([n, v]) => `${n}:${v.shape.join('x')}`)).toEqual([
      'fc.0.weight:16x2', 'fc.0.bias:2', 'fc.2.weight:2x16', 'fc.2.bias:16',
    ]);
    se.dispose();
  });

  it("SE-ResNet-50's SE parameters: 2.53 M at B = 1, 0.04 M at B = 8 (the paper's 64× fewer)", () => {
    const stages: Array<[number, number]> = [[256, 3], [512, 4], [1024, 6], [2048, 3]]; // (channels, blocks)
    const count = (B: number): number => {
      let n = 0;
      for (const [c, blocks] of stages) {
        const h = tiedSEHidden(c, B);
        const cb = c / B;
        n += blocks * (cb * h + h + h * cb + cb);
      }
      return n;
    };
    expect(count(1)).toBe(2_530_992);
    expect(count(8)).toBe(41_302);
    // The module agrees with the formula.
    const se = new TiedSE({ channels: 1024, blocks: 8, rng: new Rng(0) });
    expect(se.numParameters()).toBe(128 * 8 + 8 + 8 * 128 + 128);
    se.dispose();
  });

  it('hidden width max(2, ⌊c/(B·r)⌋)', () => {
    expect(tiedSEHidden(256, 8)).toBe(2);
    expect(tiedSEHidden(64, 8)).toBe(2);
    expect(tiedSEHidden(2048, 8)).toBe(16);
    expect(tiedSEHidden(2048, 1)).toBe(128);
  });
});
