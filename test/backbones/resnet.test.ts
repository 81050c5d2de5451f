import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  resnet101,
  resnet50,
  resnext101_32x8d,
  resnext101_64x4d,
  resnext50_32x4d,
} from '../../src/backbones/presets.js';
import { Bottleneck, bottleneckResNet, RESNET_STRIDES, type BlockContext, type ResNet } from '../../src/backbones/resnet.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { chooseGroupedConvImpl, GroupedConv2d, groupedConv2d, type GroupedConvImpl } from '../../src/nn/grouped-conv.js';
import { kaimingNormalFanOutRelu } from '../../src/nn/init.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose, trackTensors, withModel, variableOf } from '../nn/helpers.js';
import { bottleneckFixtures, torchShapeToTf, torchvisionKeys, values } from './fixtures.js';

trackTensors('test');


const tv = torchvisionKeys();

describe('torchvision state-dict names and shapes', () => {
  // A few dozen keys written out by hand (torchvision 0.14 resnet50().state_dict()), incl. every downsample one.
  const EXPECTED_RESNET50_KEYS = [
    'conv1.weight',
    'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked',
    'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.running_var',
    'layer1.0.conv2.weight', 'layer1.0.bn2.bias',
    'layer1.0.conv3.weight', 'layer1.0.bn3.weight', 'layer1.0.bn3.num_batches_tracked',
    'layer1.0.downsample.0.weight', 'layer1.0.downsample.1.weight', 'layer1.0.downsample.1.bias',
    'layer1.0.downsample.1.running_mean', 'layer1.0.downsample.1.running_var', 'layer1.0.downsample.1.num_batches_tracked',
    'layer1.2.conv3.weight',
    'layer2.0.conv2.weight', 'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.running_mean', 'layer2.3.bn3.bias',
    'layer3.0.downsample.0.weight', 'layer3.0.downsample.1.num_batches_tracked', 'layer3.5.conv1.weight', 'layer3.5.bn2.running_var',
    'layer4.0.conv1.weight', 'layer4.0.downsample.0.weight', 'layer4.0.downsample.1.weight', 'layer4.2.conv3.weight',
    'layer4.2.bn3.running_mean', 'layer4.2.bn3.num_batches_tracked',
    'fc.weight', 'fc.bias',
  ];
  const NOT_KEYS = ['layer1.1.downsample.0.weight', 'layer2.1.downsample.0.weight', 'layer4.3.conv1.weight', 'relu', 'maxpool', 'avgpool'];

  it('resnet50: 320 entries, hand-written keys present, non-keys absent, 161 parameter tensors', () => {
    withModel(resnet50({ init: 'zeros' }), (m) => {
      const keys = [...m.stateDict().keys()];
      expect(keys.length).toBe(320);
      for (const k of EXPECTED_RESNET50_KEYS) expect(keys, k).toContain(k);
      for (const k of NOT_KEYS) expect(keys, k).not.toContain(k);
      expect(m.parameters().length).toBe(161);
      expect(keys[0]).toBe('conv1.weight');
      expect(keys.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    });
  });

  for (const [name, build] of [['resnet50', resnet50], ['resnext50_32x4d', resnext50_32x4d]] as const) {
    it(`${name}: every key, in torchvision's order, with the TF.js-layout shape of torchvision's tensor`, () => {
      const ref = tv[name]!;
      withModel(build({ init: 'zeros' }), (m) => {
        const ours = [...m.stateDict()].map(([k, t]) => [k, t.shape] as const);
        expect(ours.length).toBe(ref.stateDictEntries);
        expect(ours.map(([k]) => k)).toEqual(ref.keys!.map(([k]) => k));
        ref.keys!.forEach(([k, shape], i) => expect(ours[i]![1], k).toEqual(torchShapeToTf(shape)));
      });
    });
  }

  it('resnext50_32x4d: conv2 weights are grouped [3, 3, width/32, width]', () => {
    withModel(resnext50_32x4d({ init: 'zeros' }), (m) => {
      const sd = m.stateDict();
      expect(sd.get('layer1.0.conv2.weight')!.shape).toEqual([3, 3, 4, 128]);
      expect(sd.get('layer4.2.conv2.weight')!.shape).toEqual([3, 3, 32, 1024]);
    });
  });
});

describe('exact parameter counts (torchvision, 1000-class fc)', () => {
  const cases = [
    ['resnet50', resnet50, 25_557_032],
    ['resnet101', resnet101, 44_549_160],
    ['resnext50_32x4d', resnext50_32x4d, 25_028_904],
    ['resnext101_32x8d', resnext101_32x8d, 88_791_336],
    ['resnext101_64x4d', resnext101_64x4d, 83_455_272],
  ] as const;
  for (const [name, build, count] of cases) {
    it(`${name}: ${count.toLocaleString('en')} parameters, ${tv[name]!.stateDictEntries} state-dict entries`, () => {
      expect(tv[name]!.parameters).toBe(count); // the fixture agrees with the literal
      withModel(build({ init: 'zeros' }), (m) => {
        expect(m.numParameters()).toBe(count);
        expect(m.stateDict().size).toBe(tv[name]!.stateDictEntries);
      });
    });
  }

  it('without the head (numClasses null): no fc, 2,049,000 fewer parameters, no classify', () => {
    withModel(resnet50({ init: 'zeros', numClasses: null }), (m) => {
      expect(m.numParameters()).toBe(25_557_032 - 2048 * 1000 - 1000);
      expect([...m.stateDict().keys()].some((k) => k.startsWith('fc.'))).toBe(false);
      expect(m.fc).toBeNull();
      const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
      expect(() => m.classify(x)).toThrow(/without a classifier/);
      x.dispose();
    });
    withModel(resnet50({ init: 'zeros', numClasses: 0 }), (m) => expect(m.fc).toBeNull());
    withModel(resnet50({ init: 'zeros', numClasses: 80 }), (m) => expect(m.stateDict().get('fc.weight')!.shape).toEqual([2048, 80]));
  });
});

describe('Bottleneck vs torchvision (training mode: batch statistics, gradients, running statistics)', () => {
  const fx = bottleneckFixtures();
  // float32 against a float64 reference through three batch-statistics BNs (normalising tiny batches amplifies
  // rounding): outputs 2e-5, gradients 5e-5 + 1e-4 relative.
  const TOL_Y = { atol: 2e-5 };
  const TOL_G = { atol: 5e-5, rtol: 1e-4 };
  for (const c of fx.cases) {
    it(`${c.name} (groups ${c.config.groups}: ${c.config.groups > 1 ? chooseGroupedConvImpl(c.config.groups, (c.tensors['param.conv2.weight']!.shape[2]!)) : 'dense'} path)`, () => {
      const ctx: BlockContext = {
        stage: 0,
        index: 0,
        inChannels: c.config.inplanes,
        planes: c.config.planes,
        stride: c.config.stride,
        downsample: c.config.downsample,
        rng: new Rng(1),
        convInit: kaimingNormalFanOutRelu,
      };
      const block = new Bottleneck(ctx, { groups: c.config.groups, baseWidth: c.config.baseWidth });
      const state = new Map(c.params.map((p) => [p, fx.tensor(c, `param.${p}`)] as const));
      const x = tf.tidy(() => tf.variable(fx.tensor(c, 'x'))) as tf.Variable<tf.Rank.R4>;
      const g = fx.tensor(c, 'g');
      try {
        const r = block.loadStateDict(state, { strict: false });
        expect(r.unexpectedKeys).toEqual([]);
        expect(r.missingKeys.every((k) => /running_(mean|var)$/.test(k))).toBe(true);
        const named = block.namedParameters();
        expect(named.map(([k]) => k).sort()).toEqual([...c.params].sort());
        let y: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const out = block.forward(x);
          y = tf.keep(out.clone());
          return tf.sum(tf.mul(out, g)) as tf.Scalar;
        }, [x, ...named.map(([, v]) => v)]);
        try {
          tf.tidy(() => {
            expectClose(y!, fx.tensor(c, 'y'), TOL_Y, `${c.name} y`);
            expectClose(grads[x.name]!, fx.tensor(c, 'dx'), TOL_G, `${c.name} dx`);
            for (const [k, v] of named) expectClose(grads[v.name]!, fx.tensor(c, `grad.${k}`), TOL_G, `${c.name} d${k}`);
            const sd = block.stateDict();
            for (const k of c.buffers) expectClose(sd.get(k)!, fx.tensor(c, `after.${k}`), { atol: 1e-5, rtol: 1e-5 }, `${c.name} ${k}`);
          });
        } finally {
          tf.dispose([value, y!, ...Object.values(grads)]);
        }
      } finally {
        tf.dispose([...state.values(), x, g]);
        block.dispose();
      }
    });
  }
});

describe('grouped conv formulations (split, dense, depthwise) are the same function', () => {
  const cases: { cin: number; cout: number; G: number; stride: number; bias: boolean }[] = [
    { cin: 32, cout: 32, G: 8, stride: 1, bias: false }, // 4 per group
    { cin: 16, cout: 32, G: 4, stride: 2, bias: true }, // 4 in → 8 out per group, strided
    { cin: 24, cout: 24, G: 24, stride: 1, bias: false }, // depthwise-like: 1 per group
    { cin: 64, cout: 64, G: 4, stride: 2, bias: false }, // wide groups
  ];
  for (const cfg of cases) {
    it(`C ${cfg.cin} → ${cfg.cout}, G ${cfg.G}, stride ${cfg.stride}${cfg.bias ? ', bias' : ''}: forward and gradients`, () => {
      const rng = new Rng(cfg.G * 100 + cfg.cin);
      const x = variableOf(rng.uniformArray(2 * 7 * 6 * cfg.cin, -1, 1), [2, 7, 6, cfg.cin]);
      const w = variableOf(rng.uniformArray(9 * (cfg.cin / cfg.G) * cfg.cout, -0.3, 0.3), [3, 3, cfg.cin / cfg.G, cfg.cout]);
      const b = variableOf(rng.uniformArray(cfg.cout, -0.5, 0.5), [cfg.cout]);
      const run = (impl: GroupedConvImpl) => {
        const f = () =>
          groupedConv2d(x as tf.Tensor4D, w as tf.Tensor4D, { groups: cfg.G, stride: cfg.stride, padding: 1, impl }, cfg.bias ? (b as tf.Tensor1D) : null);
        const y = tf.tidy(f);
        const vars = cfg.bias ? [x, w, b] : [x, w];
        const g = tf.tidy(() => tf.sin(tf.range(0, y.size).reshape(y.shape)));
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), g)) as tf.Scalar, vars);
        value.dispose();
        g.dispose();
        return [y, ...vars.map((v) => grads[v.name]!)];
      };
      const ref = run('split');
      try {
        for (const impl of ['dense', 'depthwise'] as const) {
          const got = run(impl);
          try {
            got.forEach((t, i) => expectClose(t, ref[i]!, { atol: 2e-5, rtol: 1e-5 }, `${impl} ${['y', 'dx', 'dw', 'db'][i]}`));
          } finally {
            tf.dispose(got);
          }
        }
      } finally {
        tf.dispose([...ref, x, w, b]);
      }
    });
  }

  it("'auto' follows the measured rule", () => {
    expect(chooseGroupedConvImpl(32, 4)).toBe('depthwise'); // ResNeXt 32×4d stage 1
    expect(chooseGroupedConvImpl(32, 32)).toBe('depthwise'); // 32×4d stage 4
    expect(chooseGroupedConvImpl(64, 4)).toBe('depthwise');
    expect(chooseGroupedConvImpl(4, 8)).toBe('split');
    expect(chooseGroupedConvImpl(8, 16)).toBe('dense');
    expect(chooseGroupedConvImpl(16, 16)).toBe('split');
  });

  it('GroupedConv2d keeps Conv2d parameters and names', () => {
    const m = new GroupedConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, groups: 4, bias: false, rng: new Rng(1) });
    try {
      expect(m.namedParameters().map(([k, v]) => [k, v.shape])).toEqual([['weight', [3, 3, 2, 8]]]);
    } finally {
      m.dispose();
    }
  });
});

/** A small ResNet (one bottleneck per stage) for behaviour tests: same API, a fraction of the compute. */
function small(opts: Parameters<typeof bottleneckResNet>[1] = {}): ResNet {
  return bottleneckResNet({ layers: [1, 1, 1, 1] }, { seed: 3, ...opts });
}

describe('backbone API', () => {
  it('C2–C5 of ResNet-50 on a 64×96 input: strides 4/8/16/32, channels 256…2048; classify → [n, 1000]', () => {
    withModel(resnet50({ seed: 1 }), (m) => {
      expect(m.outChannels).toEqual([256, 512, 1024, 2048]);
      expect(m.strides).toEqual(RESNET_STRIDES);
      m.eval();
      const x = tf.tidy(() => tf.randomUniform([1, 64, 96, 3], -1, 1, 'float32', 5)) as tf.Tensor4D;
      const f = m.forward(x);
      try {
        expect(f.c2.shape).toEqual([1, 16, 24, 256]);
        expect(f.c3.shape).toEqual([1, 8, 12, 512]);
        expect(f.c4.shape).toEqual([1, 4, 6, 1024]);
        expect(f.c5.shape).toEqual([1, 2, 3, 2048]);
        for (const [i, k] of (['c2', 'c3', 'c4', 'c5'] as const).entries()) {
          expect(64 / f[k].shape[1]).toBe(m.strides[i]);
          expect(f[k].shape[3]).toBe(m.outChannels[i]);
        }
        expect(Number.isFinite(tf.tidy(() => tf.sum(f.c5).dataSync()[0]!))).toBe(true);
        const logits = m.classify(x);
        expect(logits.shape).toEqual([1, 1000]);
        logits.dispose();
      } finally {
        tf.dispose([x, f.c2, f.c3, f.c4, f.c5]);
      }
    });
  });

  it('frozenStages: default 1 freezes stem + layer1 (no gradients); -1 none; 4 all but fc; invalid values throw', () => {
    withModel(small(), (m) => {
      expect(m.frozenStages).toBe(1);
      const trainable = new Set(m.namedParameters({ trainableOnly: true }).map(([k]) => k));
      for (const [k] of m.namedParameters()) {
        const frozen = k.startsWith('conv1.') || k.startsWith('bn1.') || k.startsWith('layer1.');
        expect(trainable.has(k), k).toBe(!frozen);
      }
      expect(trainable.has('layer2.0.conv1.weight')).toBe(true);
      // train() keeps them frozen (mmdetection re-freezes in train()).
      m.train();
      expect(m.conv1.frozen && m.bn1.frozen && m.stages[0]!.frozen).toBe(true);
      expect(m.bn1.training).toBe(false);
      // gradients reach only trainable variables
      const x = tf.tidy(() => tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1)) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() => tf.sum(m.classify(x)) as tf.Scalar, m.trainableVariables());
      const names = new Map(m.namedParameters().map(([k, v]) => [v.name, k]));
      expect(Object.keys(grads).map((n) => names.get(n)!).some((k) => k.startsWith('layer1.') || k === 'conv1.weight')).toBe(false);
      expect(Object.keys(grads).length).toBe(trainable.size);
      tf.dispose([x, value, ...Object.values(grads)]);
    });
    withModel(small({ frozenStages: -1 }), (m) => expect(m.numParameters({ trainableOnly: true })).toBe(m.numParameters()));
    withModel(small({ frozenStages: 0 }), (m) => {
      const t = m.namedParameters({ trainableOnly: true }).map(([k]) => k);
      expect(t.includes('conv1.weight') || t.includes('bn1.weight')).toBe(false);
      expect(t).toContain('layer1.0.conv1.weight');
    });
    withModel(small({ frozenStages: 4 }), (m) => {
      expect(m.namedParameters({ trainableOnly: true }).map(([k]) => k)).toEqual(['fc.weight', 'fc.bias']);
    });
    expect(() => small({ frozenStages: 5, init: 'zeros' })).toThrow(/frozenStages/);
    expect(() => small({ frozenStages: -2, init: 'zeros' })).toThrow(/frozenStages/);
  });

  function bnSnapshot(m: ResNet): Map<string, number[]> {
    return new Map(
      m.namedBuffers().filter(([k]) => /running_(mean|var)|num_batches_tracked/.test(k)).map(([k, v]) => [k, values(v)]),
    );
  }

  it('normEval (default true): BN statistics do not change in train(); BNs stay in eval mode', () => {
    withModel(small({ frozenStages: -1 }), (m) => {
      m.train();
      for (const [, mod] of m.namedModules()) if (mod instanceof BatchNorm2d) expect(mod.training).toBe(false);
      const before = bnSnapshot(m);
      const x = tf.tidy(() => tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 2)) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() => tf.sum(m.forward(x).c5) as tf.Scalar, m.trainableVariables());
      tf.dispose([x, value, ...Object.values(grads)]);
      expect(bnSnapshot(m)).toEqual(before);
      // γ and β still train (only the statistics are frozen)
      expect(m.namedParameters({ trainableOnly: true }).map(([k]) => k)).toContain('layer3.0.bn2.weight');
    });
  });

  it('normEval false: unfrozen BNs update their statistics in train(), frozen stages do not', () => {
    withModel(small({ normEval: false, frozenStages: 1 }), (m) => {
      m.train();
      const before = bnSnapshot(m);
      const x = tf.tidy(() => tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3)) as tf.Tensor4D;
      tf.tidy(() => {
        m.forward(x);
      });
      x.dispose();
      const after = bnSnapshot(m);
      for (const [k, v] of after) {
        const frozen = k.startsWith('bn1.') || k.startsWith('layer1.');
        if (frozen) expect(v, k).toEqual(before.get(k));
        else expect(v, k).not.toEqual(before.get(k));
      }
      expect(after.get('layer2.0.bn1.num_batches_tracked')).toEqual([1]);
      m.eval();
      for (const [, mod] of m.namedModules()) if (mod instanceof BatchNorm2d) expect(mod.training).toBe(false);
    });
  });

  it('zeroInitResidual zeroes every bn3 weight; the default init is torchvision’s (BN 1/0, fan-out conv std)', () => {
    withModel(small({ zeroInitResidual: true }), (m) => {
      for (const [k, v] of m.namedParameters()) if (/bn3\.weight$/.test(k)) expect(values(v).every((a) => a === 0), k).toBe(true);
    });
    withModel(small(), (m) => {
      const sd = m.stateDict();
      expect(values(sd.get('layer1.0.bn3.weight')!).every((a) => a === 1)).toBe(true);
      expect(values(sd.get('layer1.0.bn3.bias')!).every((a) => a === 0)).toBe(true);
      // kaiming normal, fan_out = out·k² = 64·9 for layer1.0.conv2: std √(2/576)
      const w = values(sd.get('layer1.0.conv2.weight')!);
      const std = Math.sqrt(w.reduce((s, a) => s + a * a, 0) / w.length);
      expect(std).toBeGreaterThan(0.9 * Math.sqrt(2 / 576));
      expect(std).toBeLessThan(1.1 * Math.sqrt(2 / 576));
    });
  });

  it('the same seed gives the same weights; another seed different ones', () => {
    const a = small({ seed: 11 });
    const b = small({ seed: 11 });
    const c = small({ seed: 12 });
    try {
      const key = 'layer2.0.conv2.weight';
      expect(values(a.stateDict().get(key)!)).toEqual(values(b.stateDict().get(key)!));
      expect(values(a.stateDict().get(key)!)).not.toEqual(values(c.stateDict().get(key)!));
    } finally {
      [a, b, c].forEach((m) => m.dispose());
    }
  });
});
