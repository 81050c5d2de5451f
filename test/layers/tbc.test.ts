import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TiedBlockConv2d } from '../../src/layers/tbc.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { conv2d } from '../../src/nn/functional.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose, loadLayerFixtures, trackTensors, variableOf } from '../nn/helpers.js';
import { fixtureSuite, LAYER_TOL } from './fixture-check.js';


const fixtures = loadLayerFixtures();

trackTensors('file');

type TbcConfig = {
  inChannels: number; outChannels: number; kernelSize: number; blocks: number;
  stride: number; padding: number; bias: boolean; groups: number;
};
fixtureSuite<TbcConfig>('TiedBlockConv2d vs PyTorch (official semantics)', fixtures, 'tbc', (cfg) => new TiedBlockConv2d({ ...cfg, rng: new Rng(1) }), LAYER_TOL);

/** Output and gradients (x, weight, bias) of Σ f(x)·g. */
function outputAndGrads(f: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Variable, g: tf.Tensor, vars: tf.Variable[]) {
  const y = tf.tidy(() => f(x as tf.Tensor4D));
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x as tf.Tensor4D), g)) as tf.Scalar, [x, ...vars]);
  value.dispose();
  return { y, grads: [x, ...vars].map((v) => grads[v.name]!) };
}

describe('TiedBlockConv2d identities', () => {
  it('B = 1 is a plain conv (same weight)', () => {
    const rng = new Rng(7);
    const tbc = new TiedBlockConv2d({ inChannels: 6, outChannels: 10, kernelSize: 3, blocks: 1, padding: 1, stride: 2, rng });
    const x = variableOf(rng.uniformArray(2 * 7 * 7 * 6, -1, 1), [2, 7, 7, 6]);
    const g = tf.tensor(rng.uniformArray(2 * 4 * 4 * 10, -1, 1), [2, 4, 4, 10]);
    const vars = [tbc.weight, tbc.bias!];
    const a = outputAndGrads((t) => tbc.forward(t), x, g, vars);
    const b = outputAndGrads(
      (t) => tf.add(tf.conv2d(t, tbc.weight as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), tbc.bias!),
      x, g, vars,
    );
    expectClose(a.y, b.y, { atol: 1e-6 }, 'y');
    a.grads.forEach((t, i) => expectClose(t, b.grads[i]!, { atol: 1e-5 }, `grad ${i}`));
    tf.dispose([a.y, b.y, ...a.grads, ...b.grads, x, g]);
    tbc.dispose();
  });

  // TBC(B) == grouped conv (groups = B·G) whose filter is the shared filter tiled B times along the output axis
  // (and whose bias is the shared bias tiled B times); the shared weight's gradient is the sum of the tiles'.
  const cases = [
    { name: 'k3 s1 p1 B4', k: 3, stride: 1, padding: 1, B: 4, G: 1, c: 8, co: 12, h: 6 },
    { name: 'k3 s2 p1 B2 (TGC G=2)', k: 3, stride: 2, padding: 1, B: 2, G: 2, c: 8, co: 8, h: 7 },
    { name: 'k1 s1 p0 B2 (pointwise path)', k: 1, stride: 1, padding: 0, B: 2, G: 1, c: 6, co: 4, h: 5 },
    { name: 'k1 s2 p0 B4', k: 1, stride: 2, padding: 0, B: 4, G: 1, c: 8, co: 8, h: 6 },
  ];
  for (const k of cases) {
    it(`equals a grouped conv with the tiled filter: ${k.name}`, () => {
      const rng = new Rng(11);
      const tbc = new TiedBlockConv2d({
        inChannels: k.c, outChannels: k.co, kernelSize: k.k, blocks: k.B, groups: k.G,
        stride: k.stride, padding: k.padding, rng,
      });
      const ho = Math.floor((k.h + 2 * k.padding - k.k) / k.stride) + 1;
      const x = variableOf(rng.uniformArray(2 * k.h * k.h * k.c, -1, 1), [2, k.h, k.h, k.c]);
      const g = tf.tensor(rng.uniformArray(2 * ho * ho * k.co, -1, 1), [2, ho, ho, k.co]);
      const a = outputAndGrads((t) => tbc.forward(t), x, g, [tbc.weight, tbc.bias!]);
      // Grouped conv with groups B·G: group (b, j) uses the shared filter's group j.
      const b = outputAndGrads(
        (t) =>
          conv2d(t, tf.tile(tbc.weight, [1, 1, 1, k.B]) as tf.Tensor4D, tf.tile(tbc.bias!, [k.B]) as tf.Tensor1D, {
            stride: k.stride, padding: k.padding, groups: k.B * k.G,
          }),
        x, g, [tbc.weight, tbc.bias!],
      );
      expectClose(a.y, b.y, { atol: 1e-5 }, 'y');
      expectClose(a.grads[0]!, b.grads[0]!, { atol: 1e-5 }, 'dx');
      expectClose(a.grads[1]!, b.grads[1]!, { atol: 1e-5, rtol: 1e-5 }, 'dweight');
      expectClose(a.grads[2]!, b.grads[2]!, { atol: 1e-5, rtol: 1e-5 }, 'dbias');
      tf.dispose([a.y, b.y, ...a.grads, ...b.grads, x, g]);
      tbc.dispose();
    });
  }
});

describe('TiedBlockConv2d parameters', () => {
  it('count c·c′·k²/(G·B²) (+ c′/B bias), shared weight shape', () => {
    const rng = new Rng(3);
    for (const [c, co, k, B, G] of [
      [256, 256, 3, 1, 1], [256, 256, 3, 2, 1], [256, 512, 3, 4, 1], [256, 256, 3, 8, 1],
      [128, 256, 1, 2, 1], [256, 256, 3, 2, 4], [64, 64, 3, 4, 2],
    ] as const) {
      const noBias = new TiedBlockConv2d({ inChannels: c, outChannels: co, kernelSize: k, blocks: B, groups: G, bias: false, rng });
      expect(noBias.numParameters()).toBe((c * co * k * k) / (G * B * B));
      expect(noBias.weight.shape).toEqual([k, k, c / (B * G), co / B]);
      expect(noBias.namedParameters().map(([n]) => n)).toEqual(['weight']);
      noBias.dispose();
      const withBias = new TiedBlockConv2d({ inChannels: c, outChannels: co, kernelSize: k, blocks: B, groups: G, rng });
      expect(withBias.numParameters()).toBe((c * co * k * k) / (G * B * B) + co / B);
      expect(withBias.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
      withBias.dispose();
    }
    // PAPER.md's counting check: ResNet-50 with every 3×3 conv as TBC B=2 has 17.07 M parameters.
    const stages: Array<[number, number]> = [[64, 3], [128, 4], [256, 6], [512, 3]];
    let full = 0;
    let tied = 0;
    for (const [w, blocks] of stages) {
      const c3 = w * w * 9;
      full += c3 * blocks;
      tied += (c3 / 4) * blocks;
    }
    expect(((25_557_032 - full + tied) / 1e6).toFixed(2)).toBe('17.07');
  });

  it('rejects block counts and groups that do not divide the channels', () => {
    const rng = new Rng(0);
    expect(() => new TiedBlockConv2d({ inChannels: 6, outChannels: 8, kernelSize: 3, blocks: 4, rng })).toThrow(/blocks=4 must divide/);
    expect(() => new TiedBlockConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, blocks: 2, groups: 3, rng })).toThrow(/groups=3/);
  });

  it('a plain Conv2d and a B=1 TBC with the same rng draw the same weights', () => {
    const a = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, rng: new Rng(5) });
    const b = new TiedBlockConv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, blocks: 1, rng: new Rng(5) });
    expectClose(a.weight, b.weight, { atol: 0 });
    expectClose(a.bias!, b.bias!, { atol: 0 });
    a.dispose();
    b.dispose();
  });
});
