import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { complexity } from '../../src/backbones/complexity.js';
import {
  resnet50,
  seResNet50,
  tiedResNet101,
  tiedResNet50,
  tiedResNet50S,
  tiedResNet50TiedSE,
  tiedResNeXt50,
  tiedSeResNet50,
} from '../../src/backbones/presets.js';
import type { BlockContext } from '../../src/backbones/resnet.js';
import {
  largestDivisorAtMost,
  resolveTiedConfig,
  TiedBottleneck,
  TiedConv2d,
  TiedResNet,
  type TiedBottleneckConfig,
} from '../../src/backbones/tied-resnet.js';
import { TiedBlockConv2d } from '../../src/layers/tbc.js';
import { TiedSE } from '../../src/layers/tied-se.js';
import { kaimingNormalFanOutRelu } from '../../src/nn/init.js';
import type { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { expectClose, trackTensors, withModel, variableOf } from '../nn/helpers.js';
import { values } from './fixtures.js';

trackTensors('test');


function params(build: (o: { init: 'zeros' }) => Module): number {
  return withModel(build({ init: 'zeros' }), (m) => m.numParameters());
}

const within = (value: number, target: number, tol: number) => Math.abs(value / target - 1) <= tol;

describe('paper targets (PAPER.md; 1000-class fc included)', () => {
  it('TiedResNet-50 (4s×32w): 23,710,808 parameters, within ±5 % of 23.0 M (10 % fewer than ResNet-50’s 25.56 M)', () => {
    const n = params(tiedResNet50);
    expect(n).toBe(23_710_808);
    expect(within(n, 23.0e6, 0.05)).toBe(true);
    expect(n / 25_557_032).toBeLessThan(0.95);
  });

  it('TiedResNet-50-S (4s×18w): within ±5 % of 13.8 M parameters; GMACs within ±10 % of 60 % of ResNet-50’s 4.1 G', () => {
    withModel(tiedResNet50S({ init: 'zeros' }), (m) => {
      const c = complexity(m, [224, 224]);
      expect(c.params).toBe(13_845_988);
      expect(within(c.params, 13.8e6, 0.05)).toBe(true);
      expect(c.macs).toBe(2_357_621_472);
      expect(within(c.macs, 0.6 * 4.1e9, 0.1)).toBe(true);
      const r50 = withModel(resnet50({ init: 'zeros' }), (r) => complexity(r, [224, 224]));
      expect(c.params / r50.params).toBeCloseTo(0.54, 2); // the paper's "54 % of the params"
      expect(within(c.macs / r50.macs, 0.6, 0.1)).toBe(true); // "60 % of the FLOPs" (ours 57.7 %)
    });
  });

  it('TiedResNet-101: within ±5 % of 40.0 M (10 % fewer than ResNet-101’s 44.55 M)', () => {
    const n = params(tiedResNet101);
    expect(n).toBe(40_761_944);
    expect(within(n, 40.0e6, 0.05)).toBe(true);
  });

  it('TiedSE (B = 8) cuts SE-ResNet-50’s SE parameters from ≈ 2.53 M to ≈ 0.04 M', () => {
    const base = params(resnet50);
    const se = params(seResNet50) - base;
    const tied = params(tiedSeResNet50) - base;
    expect(se).toBe(2_530_992);
    expect(tied).toBe(41_302);
    expect(se / tied).toBeGreaterThan(60); // the paper's "64× fewer"
    expect(params(tiedResNet50TiedSE) - params(tiedResNet50)).toBe(41_302); // same channels in the tied family
  });
});

describe('TiedBottleneck structure', () => {
  it('names and shapes of TiedResNet-50’s first block (TBC weights are the shared filters)', () => {
    withModel(tiedResNet50({ init: 'zeros' }), (m) => {
      const sd = m.stateDict();
      expect(sd.size).toBe(464);
      const shapes: Record<string, number[]> = {
        'layer1.0.conv1.weight': [1, 1, 32, 64], // TBC B = 2: 64 → 128
        'layer1.0.bn1.weight': [128],
        'layer1.0.conv2.0.weight': [3, 3, 32, 32], // B = 1
        'layer1.0.conv2.1.weight': [3, 3, 16, 16], // B = 2
        'layer1.0.conv2.2.weight': [3, 3, 8, 8], // B = 4
        'layer1.0.conv2.3.weight': [3, 3, 4, 4], // B = 8
        'layer1.0.bn2.running_var': [128],
        'layer1.0.mixer.0.weight': [3, 3, 32, 32],
        'layer1.0.mixer.1.bias': [32],
        'layer1.0.conv3.weight': [1, 1, 128, 256],
        'layer1.0.bn3.weight': [256],
        'layer1.0.downsample.0.weight': [1, 1, 64, 256],
        'layer1.0.downsample.1.num_batches_tracked': [],
        'layer4.0.conv1.weight': [1, 1, 512, 512], // 1024 → 1024, B = 2
        'layer4.0.conv2.3.weight': [3, 3, 32, 32], // 256 / 8
        'layer4.2.conv3.weight': [1, 1, 1024, 2048],
        'fc.weight': [2048, 1000],
      };
      for (const [k, s] of Object.entries(shapes)) expect(sd.get(k)?.shape, k).toEqual(s);
      expect(sd.has('layer1.1.downsample.0.weight')).toBe(false);
      expect(m.outChannels).toEqual([256, 512, 1024, 2048]);
    });
  });

  it('-S widths: B fitted to 18 and 36 by the largest divisor (1,2,3,6 / 1,2,4,6 / 1,2,4,8 / 1,2,4,8); strict throws', () => {
    withModel(tiedResNet50S({ init: 'zeros' }), (m) => {
      const blocks = m.stages.map((s) => (s.at(0) as unknown as TiedBottleneck).splitBlocks);
      expect(blocks).toEqual([[1, 2, 3, 6], [1, 2, 4, 6], [1, 2, 4, 8], [1, 2, 4, 8]]);
      expect(m.stages.map((s) => (s.at(0) as unknown as TiedBottleneck).splitWidth)).toEqual([18, 36, 72, 144]);
    });
    expect(() => tiedResNet50S({ init: 'zeros', tied: { blockPolicy: 'strict' } })).toThrow(/does not divide the width 18/);
    expect(largestDivisorAtMost(18, 8)).toBe(6);
    expect(largestDivisorAtMost(18, 4)).toBe(3);
    expect(largestDivisorAtMost(7, 4)).toBe(1);
  });

  it('TiedResNeXt-50: TGC with 8 groups per split (fitted to the block width), grouped mixer', () => {
    withModel(tiedResNeXt50({ init: 'zeros' }), (m) => {
      const b = m.stages[0]!.at(0) as unknown as TiedBottleneck;
      expect(b.splitWidth).toBe(64);
      expect(b.splitGroups).toEqual([8, 8, 8, 8]);
      expect(m.stateDict().get('layer1.0.conv2.3.weight')!.shape).toEqual([3, 3, 1, 8]); // 64/8 = 8 per block, 8 groups
      expect(m.stateDict().get('layer1.0.mixer.0.weight')!.shape).toEqual([3, 3, 8, 64]);
      expect(m.numParameters()).toBe(32_675_808);
    });
  });

  it('mixer parameter arithmetic: sum adds Σ(9·ws² + 2·ws), concat Σ(9·s·ws·ws + 2·ws) over the blocks', () => {
    const depths = [3, 4, 6, 3];
    const sum = (f: (ws: number) => number) => depths.reduce((a, d, k) => a + d * f(32 * 2 ** k), 0);
    const none = params((o) => tiedResNet50({ ...o, tied: { mixer: 'none' } }));
    expect(params(tiedResNet50) - none).toBe(sum((ws) => 9 * ws * ws + 2 * ws));
    expect(params((o) => tiedResNet50({ ...o, tied: { mixer: 'concat' } })) - none).toBe(sum((ws) => 9 * 4 * ws * ws + 2 * ws));
    expect(params((o) => tiedResNet50({ ...o, tied: { mixer: 'sum', mixerKernel: 1 } })) - none).toBe(sum((ws) => ws * ws + 2 * ws));
  });

  it('configuration is validated', () => {
    expect(() => resolveTiedConfig({ splitBlocks: [1, 2] })).toThrow(/one B per split/);
    expect(() => resolveTiedConfig({ mixer: 'avg' as never })).toThrow(/mixer/);
    expect(() => resolveTiedConfig({ mixerKernel: 2 })).toThrow(/odd/);
    expect(resolveTiedConfig({ splitBlocks: [[1, 1, 1, 1], [1, 2, 2, 2], [1, 2, 4, 4], [1, 2, 4, 8]] }).splitBlocks[1]).toEqual([1, 2, 2, 2]);
  });
});

// ---- semantics: the block against a composition of plain tf ops -------------------------------------------------

/** TBC by its definition: B contiguous channel blocks, the same (G-group) filter on each, concatenated. */
function refTbc(x: tf.Tensor4D, w: tf.Tensor4D, B: number, G: number, stride: number, pad: number): tf.Tensor4D {
  const cb = x.shape[3] / B;
  const outs: tf.Tensor4D[] = [];
  for (let b = 0; b < B; b++) {
    const xb = tf.slice(x, [0, 0, 0, b * cb], [-1, -1, -1, cb]);
    const ci = cb / G;
    const co = w.shape[3] / G;
    const groups: tf.Tensor4D[] = [];
    for (let g = 0; g < G; g++) {
      const xg = tf.slice(xb, [0, 0, 0, g * ci], [-1, -1, -1, ci]) as tf.Tensor4D;
      const wg = tf.slice(w, [0, 0, 0, g * co], [-1, -1, -1, co]) as tf.Tensor4D;
      groups.push(tf.conv2d(xg, wg, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]));
    }
    outs.push(tf.concat(groups, 3));
  }
  return tf.concat(outs, 3);
}

function refBn(x: tf.Tensor, sd: Map<string, tf.Tensor>, p: string): tf.Tensor4D {
  const inv = tf.rsqrt(tf.add(sd.get(`${p}.running_var`)!, 1e-5));
  return tf.add(tf.mul(tf.mul(tf.sub(x, sd.get(`${p}.running_mean`)!), inv), sd.get(`${p}.weight`)!), sd.get(`${p}.bias`)!) as tf.Tensor4D;
}

function refBlock(b: TiedBottleneck, x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const sd = b.stateDict();
  const W = (k: string) => sd.get(k) as tf.Tensor4D;
  const s = b.splits;
  const ws = b.splitWidth;
  const e = tf.relu(refBn(refTbc(x, W('conv1.weight'), b.conv1.blocks, 1, 1, 0), sd, 'bn1'));
  const outs = Array.from({ length: s }, (_, i) =>
    refTbc(tf.slice(e, [0, 0, 0, i * ws], [-1, -1, -1, ws]), W(`conv2.${i}.weight`), b.splitBlocks[i]!, b.splitGroups[i]!, stride, 1),
  );
  const y = tf.relu(refBn(tf.concat(outs, 3), sd, 'bn2'));
  let ys = Array.from({ length: s }, (_, i) => tf.slice(y, [0, 0, 0, i * ws], [-1, -1, -1, ws]));
  if (b.mixer) {
    const mixConv = b.mixer.at(0) as unknown as { groups: number };
    const input = b.mixerKind === 'sum' ? tf.addN(ys) : y;
    const m = tf.relu(refBn(refTbc(input, W('mixer.0.weight'), 1, mixConv.groups, 1, 1), sd, 'mixer.1'));
    ys = ys.map((t) => tf.add(t, m));
  }
  let z = refBn(tf.conv2d(tf.concat(ys, 3), W('conv3.weight'), 1, 'valid'), sd, 'bn3');
  if (b.se) z = b.se.forward(z); // TiedSE has its own PyTorch parity tests (test/layers)
  const id = b.downsample ? refBn(tf.conv2d(x, W('downsample.0.weight'), stride, 'valid'), sd, 'downsample.1') : x;
  return tf.relu(tf.add(z, id)) as tf.Tensor4D;
}

/** Random values for every parameter and statistic (positive variances), loaded strictly. */
function randomise(m: Module, seed: number): void {
  const rng = new Rng(seed);
  const state = new Map<string, tf.Tensor>();
  for (const [k, t] of m.stateDict()) {
    if (k.endsWith('num_batches_tracked')) continue;
    const lo = k.endsWith('running_var') ? 0.5 : k.endsWith('.weight') && t.rank === 1 ? 0.5 : -0.5;
    const hi = k.endsWith('running_var') || (k.endsWith('.weight') && t.rank === 1) ? 1.5 : 0.5;
    const scale = t.rank === 4 ? Math.sqrt(3 / (t.shape[0]! * t.shape[1]! * t.shape[2]!)) : 1;
    state.set(k, tf.tensor(rng.uniformArray(t.size, lo * (t.rank === 4 ? scale * 2 : 1), hi * (t.rank === 4 ? scale * 2 : 1)), t.shape));
  }
  try {
    m.loadStateDict(state);
  } finally {
    tf.dispose([...state.values()]);
  }
}

describe('TiedBottleneck = its definition (eval mode; forward and input gradient)', () => {
  const cases: { name: string; cfg: TiedBottleneckConfig; inC: number; planes: number; stride: number }[] = [
    { name: 'paper default (4 splits, B 1/2/4/8, sum mixer), strided with projection, TiedSE', cfg: { baseWidth: 8, se: { blocks: 4 } }, inC: 16, planes: 64, stride: 2 },
    { name: 'concat mixer, 2 splits, TGC groups 2, identity shortcut', cfg: { splits: 2, baseWidth: 32, splitBlocks: [1, 2], mixer: 'concat', groups: 2 }, inC: 64, planes: 16, stride: 1 },
    { name: 'no mixer, 3 splits, entry B 4', cfg: { splits: 3, baseWidth: 16, splitBlocks: [2, 2, 4], mixer: 'none', entryBlocks: 4 }, inC: 32, planes: 32, stride: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ctx: BlockContext = {
        stage: 0,
        index: 0,
        inChannels: c.inC,
        planes: c.planes,
        stride: c.stride,
        downsample: c.stride !== 1 || c.inC !== c.planes * 4,
        rng: new Rng(5),
        convInit: kaimingNormalFanOutRelu,
      };
      const block = new TiedBottleneck(ctx, resolveTiedConfig(c.cfg));
      randomise(block, 9);
      block.eval();
      const rng = new Rng(2);
      const x = variableOf(rng.uniformArray(2 * 7 * 9 * c.inC, -1, 1), [2, 7, 9, c.inC]) as tf.Variable<tf.Rank.R4>;
      try {
        tf.tidy(() => {
          const y = block.forward(x);
          const ref = refBlock(block, x, c.stride);
          expectClose(y, ref, { atol: 2e-5, rtol: 1e-5 }, 'y');
          const g = tf.sin(tf.range(0, y.size).reshape(y.shape));
          const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(block.forward(t as tf.Tensor4D), g)))(x);
          const dxRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(refBlock(block, t as tf.Tensor4D, c.stride), g)))(x);
          expectClose(dx, dxRef, { atol: 5e-5, rtol: 1e-4 }, 'dx');
        });
      } finally {
        x.dispose();
        block.dispose();
      }
    });
  }

  it('sum mixer whose BN outputs 0 is the no-mixer block; with β = 0.25 it is not (the mixer output reaches conv3)', () => {
    const ctx: BlockContext = { stage: 1, index: 0, inChannels: 32, planes: 16, stride: 2, downsample: true, rng: new Rng(1), convInit: kaimingNormalFanOutRelu };
    const withMixer = new TiedBottleneck(ctx, resolveTiedConfig({ baseWidth: 16 }));
    const without = new TiedBottleneck({ ...ctx, rng: new Rng(1) }, resolveTiedConfig({ baseWidth: 16, mixer: 'none' }));
    randomise(withMixer, 4);
    const mixBn = withMixer.mixer!.at(1) as unknown as { weight: tf.Variable; bias: tf.Variable };
    tf.tidy(() => {
      without.loadStateDict(new Map([...withMixer.stateDict()].filter(([k]) => !k.startsWith('mixer.'))));
      mixBn.weight.assign(tf.zeros([withMixer.splitWidth])); // BN output = β whatever the conv gives
    });
    withMixer.eval();
    without.eval();
    const x = tf.tidy(() => tf.randomUniform([1, 6, 6, 32], -1, 1, 'float32', 7)) as tf.Tensor4D;
    try {
      tf.tidy(() => {
        mixBn.bias.assign(tf.zeros([withMixer.splitWidth]));
        expectClose(withMixer.forward(x), without.forward(x), { atol: 1e-6 }, 'y');
        mixBn.bias.assign(tf.fill([withMixer.splitWidth], 0.25));
        // now m = ReLU(0.25) = 0.25 is added to every split's activations before conv3
        const diff = tf.sub(withMixer.forward(x), without.forward(x));
        expect(tf.max(tf.abs(diff)).dataSync()[0]).toBeGreaterThan(1e-3);
      });
    } finally {
      x.dispose();
      withMixer.dispose();
      without.dispose();
    }
  });

  it('TiedConv2d (grouped shared filter via groupedConv2d) = TiedBlockConv2d, forward and gradients', () => {
    const opts = { inChannels: 32, outChannels: 32, kernelSize: 3, blocks: 2, groups: 4, stride: 2, padding: 1, bias: true };
    const a = new TiedConv2d({ ...opts, rng: new Rng(3) });
    const b = new TiedBlockConv2d({ ...opts, rng: new Rng(3) });
    const x = variableOf(new Rng(4).uniformArray(2 * 9 * 8 * 32, -1, 1), [2, 9, 8, 32]) as tf.Variable<tf.Rank.R4>;
    try {
      expect(values(a.weight)).toEqual(values(b.weight));
      const grads = (m: TiedBlockConv2d) => {
        const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(m.forward(x))) as tf.Scalar, [x, m.weight, m.bias!]);
        const out = [tf.tidy(() => m.forward(x)), g[x.name]!, g[m.weight.name]!, g[m.bias!.name]!];
        value.dispose();
        return out;
      };
      const ga = grads(a);
      const gb = grads(b);
      ga.forEach((t, i) => expectClose(t, gb[i]!, { atol: 2e-5, rtol: 1e-5 }, ['y', 'dx', 'dw', 'db'][i]));
      tf.dispose([...ga, ...gb]);
    } finally {
      x.dispose();
      a.dispose();
      b.dispose();
    }
  });
});

describe('TiedResNet as a backbone', () => {
  it('TiedResNet-50-S: C2–C5 on a 64×96 input (strides 4/8/16/32) match the analytic shape walk', () => {
    withModel(tiedResNet50S({ seed: 2, numClasses: null }), (m) => {
      m.eval();
      const x = tf.tidy(() => tf.randomUniform([1, 64, 96, 3], -1, 1, 'float32', 1)) as tf.Tensor4D;
      const f = m.forward(x);
      try {
        expect([f.c2.shape, f.c3.shape, f.c4.shape, f.c5.shape]).toEqual([
          [1, 16, 24, 256],
          [1, 8, 12, 512],
          [1, 4, 6, 1024],
          [1, 2, 3, 2048],
        ]);
        expect(complexity(m, [64, 96]).output).toEqual([2, 3, 2048]);
      } finally {
        tf.dispose([x, f.c2, f.c3, f.c4, f.c5]);
      }
    });
  });

  it('a tiny-width tied network trains on wasm: all trainable variables get finite gradients, tensor count flat', () => {
    const model = new TiedResNet([1, 1, 1, 1], { baseWidth: 4, se: { blocks: 8 } }, { seed: 1, numClasses: 5, frozenStages: 1, normEval: false });
    const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const x = tf.tidy(() => tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3)) as tf.Tensor4D;
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5));
    try {
      model.train();
      const losses: number[] = [];
      const counts: number[] = [];
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(labels, model.classify(x)) as tf.Scalar,
          model.trainableVariables(),
        );
        expect(Object.keys(grads).length).toBe(model.trainableVariables().length);
        for (const gr of Object.values(grads)) expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(gr)).dataSync()[0]!))).toBe(true);
        sgd.step(grads);
        losses.push(value.dataSync()[0]!);
        tf.dispose([value, ...Object.values(grads)]);
        counts.push(tf.memory().numTensors);
      }
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(counts[2]).toBe(counts[1]); // after the first step (SGD's momentum buffers) nothing accumulates
      expect(model.stateDict().get('layer2.0.bn2.num_batches_tracked')!.dataSync()[0]).toBe(3);
      expect(model.stateDict().get('layer1.0.bn2.num_batches_tracked')!.dataSync()[0]).toBe(0); // frozen stage
    } finally {
      sgd.dispose();
      tf.dispose([x, labels]);
      model.dispose();
    }
  });
});

it('TiedSE standalone is what the SE presets use (blocks 1 = SE, 8 = TiedSE)', () => {
  const se = new TiedSE({ channels: 256, blocks: 1, rng: new Rng(0) });
  const tse = new TiedSE({ channels: 256, blocks: 8, rng: new Rng(0) });
  try {
    expect(se.numParameters()).toBe(256 * 16 + 16 + 16 * 256 + 256);
    expect(tse.numParameters()).toBe(32 * 2 + 2 + 2 * 32 + 32);
  } finally {
    se.dispose();
    tse.dispose();
  }
});
