/**
 * FPN (src/necks/fpn.ts): parity with torchvision's FeaturePyramidNetwork (fixtures from tools/fixtures/fpn.py:
 * P3–P7 with and without the ReLU before P7, P2–P6 with max-pool, odd feature sizes), output shapes and strides
 * of both pyramids on odd inputs, mmdetection's state-dict names, init, errors, no leaked tensors.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { FPN, fpn, nearestIndices, upsampleNearest } from '../../src/necks/fpn.js';
import { expectClose, loadF32Fixtures, trackTensors, type F32FixtureCase } from '../nn/helpers.js';

trackTensors('test');

interface FpnCase extends F32FixtureCase {
  config: {
    inChannels: number[];
    outChannels: number;
    startLevel: number;
    numOuts: number;
    addExtraConvs: 'on_input' | false;
    reluBeforeExtraConvs: boolean;
  };
  params: string[];
  outputs: number;
}

const fixtures = loadF32Fixtures<FpnCase>(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'necks', 'fpn.json'));
/** Outputs and gradients vs the float64 torch reference. */
const TOL = { atol: 1e-4, rtol: 1e-4 };

describe('FPN parity with torchvision (tools/fixtures/fpn.py)', () => {
  for (const c of fixtures.cases) {
    it(`${c.name}: outputs and input gradients within 1e-4`, () => {
      const net = new FPN({ ...c.config, seed: 1 });
      try {
        const state = new Map(c.params.map((k) => [k, fixtures.tensor(c, `param.${k}`)]));
        net.loadStateDict(state); // strict: the names are mmdetection's, all of them
        tf.dispose([...state.values()]);
        const feats = [2, 3, 4, 5].map((k) => fixtures.tensor(c, `c${k}`) as tf.Tensor4D);
        const outs = net.forward(feats);
        expect(outs).toHaveLength(c.outputs);
        outs.forEach((o, k) => {
          const e = fixtures.tensor(c, `out${k}`);
          expectClose(o, e, TOL, `${c.name} out${k}`);
          e.dispose();
        });
        tf.dispose(outs);
        // gradients w.r.t. the inputs of L = Σ_k Σ out_k · g_k (upsampling / subsampling backward)
        const seeds = Array.from({ length: c.outputs }, (_, k) => fixtures.tensor(c, `g${k}`));
        // (C2 is unused by P3–P7: only the used levels are differentiated)
        const start = c.config.startLevel;
        const grads = tf.grads((...xs: tf.Tensor[]) =>
          tf.addN(net.forward([...feats.slice(0, start), ...(xs as tf.Tensor4D[])]).map((o, k) => tf.sum(tf.mul(o, seeds[k]!)))),
        )(feats.slice(start));
        grads.forEach((g, k) => {
          const e = fixtures.tensor(c, `dc${k + 2 + start}`);
          expectClose(g, e, TOL, `${c.name} dC${k + 2}`);
          e.dispose();
        });
        tf.dispose([...grads, ...seeds, ...feats]);
      } finally {
        net.dispose();
      }
    });
  }
});

/** C2–C5 sizes of an [h, w] image through a ResNet (stride-2 stem conv, max-pool, three stride-2 stages). */
function backboneSizes(h: number, w: number): Array<[number, number]> {
  const half = (v: number) => Math.ceil(v / 2);
  let s: [number, number] = [half(half(h)), half(half(w))];
  const out: Array<[number, number]> = [s];
  for (let k = 0; k < 3; k++) {
    s = [half(s[0]), half(s[1])];
    out.push(s);
  }
  return out;
}

function randomFeats(h: number, w: number, channels: number[]): tf.Tensor4D[] {
  return backboneSizes(h, w).map(([fh, fw], k) => tf.randomNormal([1, fh, fw, channels[k]!], 0, 1, 'float32', k) as tf.Tensor4D);
}

describe('FPN shapes and strides', () => {
  const channels = [16, 24, 32, 40];
  for (const [h, w] of [
    [128, 96],
    [97, 75],
    [33, 161],
  ] as const) {
    it(`P3–P7 (on_input) on a ${h}×${w} input`, () => {
      const net = fpn({ inChannels: channels, outChannels: 8, levels: 'P3-P7', seed: 3 });
      const feats = randomFeats(h, w, channels);
      const outs = net.forward(feats);
      expect(net.strides).toEqual([8, 16, 32, 64, 128]);
      const sizes = backboneSizes(h, w);
      const p6: [number, number] = [Math.ceil(sizes[3]![0] / 2), Math.ceil(sizes[3]![1] / 2)];
      const p7: [number, number] = [Math.ceil(p6[0] / 2), Math.ceil(p6[1] / 2)];
      expect(outs.map((o) => o.shape)).toEqual([sizes[1], sizes[2], sizes[3], p6, p7].map(([a, b]) => [1, a, b, 8]));
      tf.dispose([...outs, ...feats]);
      net.dispose();
    });
    it(`P2–P6 (max-pool) on a ${h}×${w} input`, () => {
      const net = fpn({ inChannels: channels, outChannels: 8, levels: 'P2-P6', seed: 3 });
      const feats = randomFeats(h, w, channels);
      const outs = net.forward(feats);
      expect(net.strides).toEqual([4, 8, 16, 32, 64]);
      const sizes = backboneSizes(h, w);
      const p6: [number, number] = [Math.ceil(sizes[3]![0] / 2), Math.ceil(sizes[3]![1] / 2)];
      expect(outs.map((o) => o.shape)).toEqual([...sizes, p6].map(([a, b]) => [1, a, b, 8]));
      // P6 = max_pool(P5, 1, stride 2): P5's even rows and columns
      const p5 = outs[3]!.arraySync()[0]!;
      const p6v = outs[4]!.arraySync()[0]!;
      expect(p6v).toEqual(p6v.map((row, i) => row.map((_, j) => p5[2 * i]![2 * j])));
      tf.dispose([...outs, ...feats]);
      net.dispose();
    });
  }

  it('on_output extra convs read P5 (channels = outChannels)', () => {
    const net = new FPN({ inChannels: channels, outChannels: 8, startLevel: 1, numOuts: 5, addExtraConvs: 'on_output', seed: 1 });
    expect(net.fpnConvs[3]!.conv.weight.shape).toEqual([3, 3, 8, 8]);
    const feats = randomFeats(64, 64, channels);
    const outs = net.forward(feats);
    expect(outs.map((o) => o.shape[1])).toEqual([8, 4, 2, 1, 1]);
    tf.dispose([...outs, ...feats]);
    net.dispose();
  });
});

describe('FPN module', () => {
  it("uses mmdetection's parameter names, xavier-uniform weights and zero biases", () => {
    const net = fpn({ inChannels: [256, 512, 1024, 2048], outChannels: 256, levels: 'P3-P7', seed: 0 });
    const keys = [...net.stateDict().keys()];
    expect(keys).toEqual([
      ...[0, 1, 2].flatMap((i) => [`lateral_convs.${i}.conv.weight`, `lateral_convs.${i}.conv.bias`]),
      ...[0, 1, 2, 3, 4].flatMap((i) => [`fpn_convs.${i}.conv.weight`, `fpn_convs.${i}.conv.bias`]),
    ]);
    const sd = net.stateDict();
    expect(sd.get('fpn_convs.3.conv.weight')!.shape).toEqual([3, 3, 2048, 256]); // P6 from C5
    expect(sd.get('fpn_convs.4.conv.weight')!.shape).toEqual([3, 3, 256, 256]);
    // xavier uniform: bound √(6/(fan_in + fan_out)); lateral 0 is a 1×1 conv on C3: fan_in 512, fan_out 256
    const w = sd.get('lateral_convs.0.conv.weight')!.dataSync();
    const bound = Math.sqrt(6 / (512 + 256));
    let maxAbs = 0;
    let sumSq = 0;
    for (const v of w) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      sumSq += v * v;
    }
    expect(maxAbs).toBeLessThanOrEqual(bound);
    expect(Math.sqrt(sumSq / w.length)).toBeCloseTo(bound / Math.sqrt(3), 2); // U(±b) has std b/√3
    expect(Math.max(...sd.get('fpn_convs.2.conv.bias')!.dataSync())).toBe(0);
    net.dispose();
  });

  it('nearestIndices follows ATen: identity, exact ×2, float32 scale otherwise', () => {
    expect([...nearestIndices(4, 4)]).toEqual([0, 1, 2, 3]);
    expect([...nearestIndices(3, 6)]).toEqual([0, 0, 1, 1, 2, 2]);
    expect([...nearestIndices(4, 7)]).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect([...nearestIndices(3, 5)]).toEqual([0, 0, 1, 1, 2]);
  });

  it('upsampleNearest matches PyTorch for FPN sizes (resize kernel) and other sizes (gather)', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
    const up = (size: [number, number]) => {
      const y = upsampleNearest(x, size);
      const v = y.arraySync()[0]!.map((r) => r.map((c) => c[0]));
      y.dispose();
      return v;
    };
    // 2 × 3 → 3 × 5 (2n − 1 on both axes): rows [0, 0, 1], columns [0, 0, 1, 1, 2]
    expect(up([3, 5])).toEqual([
      [1, 1, 2, 2, 3],
      [1, 1, 2, 2, 3],
      [4, 4, 5, 5, 6],
    ]);
    // 2 × 3 → 5 × 7 (not an FPN size): rows ⌊i·0.4⌋ = [0, 0, 0, 1, 1], columns ⌊j·3/7⌋ = [0, 0, 0, 1, 1, 2, 2]
    expect(up([5, 7])).toEqual([
      [1, 1, 1, 2, 2, 3, 3],
      [1, 1, 1, 2, 2, 3, 3],
      [1, 1, 1, 2, 2, 3, 3],
      [4, 4, 4, 5, 5, 6, 6],
      [4, 4, 4, 5, 5, 6, 6],
    ]);
    tf.dispose(x);
  });

  it('rejects inputs that do not match its channels, and bad options', () => {
    const net = fpn({ inChannels: [4, 8, 12, 16], outChannels: 4, levels: 'P3-P7' });
    const feats = [4, 8, 12, 15].map((c, k) => tf.zeros([1, 16 >> k, 16 >> k, c]) as tf.Tensor4D);
    expect(() => net.forward(feats)).toThrow(/input level 3 must be \[n, h, w, 16\]/);
    expect(() => net.forward(feats.slice(0, 3))).toThrow(/expected 4 input levels, got 3/);
    tf.dispose(feats);
    net.dispose();
    expect(() => new FPN({ inChannels: [4, 8], numOuts: 1 })).toThrow(/numOuts \(1\) must be at least the 2/);
    expect(() => new FPN({ inChannels: [4, 8], startLevel: 2 })).toThrow(/startLevel/);
  });
});
