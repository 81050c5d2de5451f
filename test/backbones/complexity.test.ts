import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { complexity, MacCounter } from '../../src/backbones/complexity.js';
import { resnet101, resnet50, resnext50_32x4d, seResNet50, tiedResNet50, tiedResNet50S } from '../../src/backbones/presets.js';
import { bottleneckResNet, type ResNet } from '../../src/backbones/resnet.js';
import { TiedResNet } from '../../src/backbones/tied-resnet.js';
import { TiedBlockConv2d } from '../../src/layers/tbc.js';
import { TiedLinear } from '../../src/layers/tfc.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { Linear } from '../../src/nn/linear.js';
import { Rng } from '../../src/nn/rng.js';
import { trackTensors, withModel } from '../nn/helpers.js';

trackTensors('test');


describe('convention: conv + linear MACs only (fvcore / torchvision)', () => {
  it('ResNet-50 at 224×224: 4,089,184,256 MACs (torchvision’s published 4.09 GFLOPS; mmcv’s 4.12 also counts BN/ReLU/pool)', () => {
    withModel(resnet50({ init: 'zeros' }), (m) => {
      const c = complexity(m, [224, 224]);
      expect(c.macs).toBe(4_089_184_256);
      expect(c.params).toBe(25_557_032);
      expect(c.trainableParams).toBe(25_557_032 - 9408 - 128 - 215_808); // frozenStages 1: stem (conv1 + bn1) and layer1
      expect(c.output).toEqual([1, 1, 1000]);
      const stem = c.layers.find((l) => l.name === 'conv1')!;
      expect(stem).toMatchObject({ kind: 'conv', params: 9408, macs: 3 * 64 * 49 * 112 * 112, output: [112, 112, 64] });
      expect(c.layers.find((l) => l.name === 'fc')).toMatchObject({ kind: 'linear', macs: 2048 * 1000, params: 2_049_000 });
      expect(c.layers.find((l) => l.name === 'layer2.0.conv2')).toMatchObject({ macs: 9 * 128 * 128 * 28 * 28, output: [28, 28, 128] });
      expect(c.layers.find((l) => l.name === 'layer2.0.downsample.0')).toMatchObject({ macs: 256 * 512 * 28 * 28 });
    });
  });

  it('other torchvision counts at 224×224: ResNet-101 7.80 G, ResNeXt-50 32×4d 4.23 G, SE-ResNet-50 + 2.53 M SE MACs', () => {
    expect(withModel(resnet101({ init: 'zeros' }), (m) => complexity(m, [224, 224]).macs)).toBe(7_801_405_440);
    expect(withModel(resnext50_32x4d({ init: 'zeros' }), (m) => complexity(m, [224, 224]).macs)).toBe(4_230_479_872);
    // SE's two FC layers per block: Σ 2·c·c/16 over the 16 blocks (channels 256…2048)
    const seMacs = [3, 4, 6, 3].reduce((a, d, k) => a + d * 2 * ((256 * 2 ** k) * (256 * 2 ** k)) / 16, 0);
    expect(withModel(seResNet50({ init: 'zeros' }), (m) => complexity(m, [224, 224]).macs)).toBe(4_089_184_256 + seMacs);
  });

  it('layer formulas: conv k²·(C/G)·C′·H′W′, TBC k²·C·C′/(B·G)·H′W′, linear C·C′, TFC C·C′/B', () => {
    const rng = new Rng(0);
    const conv = new Conv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, groups: 4, rng });
    const tbc = new TiedBlockConv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, padding: 1, blocks: 2, groups: 2, rng });
    const lin = new Linear({ inFeatures: 2048, outFeatures: 1000, rng });
    const tfc = new TiedLinear({ inFeatures: 64, outFeatures: 32, blocks: 8, rng });
    try {
      const k = new MacCounter();
      expect(k.conv('conv', conv, [10, 10, 8])).toEqual([5, 5, 16]);
      expect(k.conv('tbc', tbc, [10, 10, 8])).toEqual([10, 10, 16]);
      expect(k.linear('fc', lin, 2048)).toBe(1000);
      expect(k.linear('tfc', tfc, 64)).toBe(32);
      expect(k.layers.map((l) => l.macs)).toEqual([9 * 2 * 16 * 25, (9 * 8 * 16 * 100) / 4, 2048 * 1000, (64 * 32) / 8]);
      expect(k.layers.map((l) => l.params)).toEqual([9 * 2 * 16 + 16, 9 * 2 * 8 + 8, 2048 * 1000 + 1000, 8 * 4 + 4]);
      expect(k.layers.map((l) => l.kind)).toEqual(['conv', 'tbc', 'linear', 'tfc']);
      expect(() => k.conv('bad', conv, [10, 10, 4])).toThrow(/expects 8 input channels/);
    } finally {
      [conv, tbc, lin, tfc].forEach((m) => m.dispose());
    }
  });

  it('every parameter sits in a counted layer or a BatchNorm (nothing is missed by the walk)', () => {
    for (const build of [resnet50, tiedResNet50, seResNet50]) {
      withModel(build({ init: 'zeros' }), (m) => {
        const c = complexity(m, [224, 224]);
        const bn = m.namedModules().reduce((a, [, mod]) => a + (mod instanceof BatchNorm2d ? mod.numParameters() : 0), 0);
        expect(c.layers.reduce((a, l) => a + l.params, 0) + bn).toBe(c.params);
      });
    }
  });

  it('PAPER.md counting check: ResNet-50 with every 3×3 a TBC with B = 2 has 17.07 M parameters', () => {
    withModel(resnet50({ init: 'zeros' }), (m) => {
      const c = complexity(m, [224, 224]);
      const threeByThree = c.layers.filter((l) => /\.conv2$/.test(l.name)).reduce((a, l) => a + l.params, 0);
      expect(threeByThree).toBe(11_317_248);
      expect(((c.params - threeByThree + threeByThree / 4) / 1e6).toFixed(2)).toBe('17.07'); // TBC B: params / B²
    });
  });

  it('TiedResNet-50: the split TBCs are counted at 1/B of a dense conv', () => {
    withModel(tiedResNet50({ init: 'zeros' }), (m) => {
      const c = complexity(m, [224, 224]);
      const dense = 9 * 32 * 32 * 56 * 56;
      for (const [i, B] of [1, 2, 4, 8].entries()) {
        expect(c.layers.find((l) => l.name === `layer1.1.conv2.${i}`)).toMatchObject({ kind: 'tbc', macs: dense / B });
      }
      expect(c.layers.find((l) => l.name === 'layer1.1.conv1')).toMatchObject({ kind: 'tbc', macs: (256 * 128 * 56 * 56) / 2 });
      expect(c.layers.find((l) => l.name === 'layer2.0.mixer.0')).toMatchObject({ macs: 9 * 64 * 64 * 28 * 28 });
      expect(c.macs).toBe(4_391_043_072);
    });
  });
});

describe('shape inference', () => {
  it('the analytic walk gives the real C5 shape for odd input sizes (ResNet and TiedResNet)', () => {
    const models: ResNet[] = [
      bottleneckResNet({ layers: [1, 1, 1, 1] }, { numClasses: null, seed: 1 }),
      new TiedResNet([1, 1, 1, 1], { baseWidth: 8 }, { numClasses: null, seed: 1 }),
    ];
    try {
      for (const m of models) {
        m.eval();
        for (const [h, w] of [[65, 97], [33, 41]] as const) {
          const x = tf.zeros([1, h, w, 3]) as tf.Tensor4D;
          const f = m.forward(x);
          expect(complexity(m, [h, w]).output).toEqual(f.c5.shape.slice(1));
          tf.dispose([x, f.c2, f.c3, f.c4, f.c5]);
        }
      }
    } finally {
      models.forEach((m) => m.dispose());
    }
  });

  it('detection sizes are instant to count (800×1333, ResNet-101): nothing runs', () => {
    withModel(resnet101({ init: 'zeros', numClasses: null }), (m) => {
      const t0 = performance.now();
      const c = complexity(m, [800, 1333]);
      expect(performance.now() - t0).toBeLessThan(200);
      expect(c.output).toEqual([25, 42, 2048]);
      expect(c.macs / 1e9).toBeGreaterThan(150);
    });
    withModel(tiedResNet50S({ init: 'zeros' }), (m) => expect(() => complexity(m, [0, 10])).toThrow(/positive integers/));
  });
});
