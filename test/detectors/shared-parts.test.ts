/**
 * The modules RetinaNet and Mask R-CNN share (detectors/): config merging (config-merge.ts) and the shared sections
 * (common-config.ts), head layer stacks and the class-count check (head-layers.ts), the dense-head helpers
 * (dense-head.ts: level loop, flatten order, per-image typed-array views) and the input checks (input-checks.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { deltaCoder } from '../../detectors/common-config.js';
import { mergeConfig } from '../../detectors/config-merge.js';
import { featureSizes, flattenLevels, forwardLevels, imageLevelOutputs } from '../../detectors/dense-head.js';
import { checkNumClasses, convStack, stackLayers } from '../../detectors/head-layers.js';
import { checkBatch, checkImageTargets } from '../../detectors/input-checks.js';
import { ModuleList } from '../../src/nn/module-list.js';
import { normalInit } from '../../src/nn/init.js';
import { Rng } from '../../src/nn/rng.js';
import { trackTensors } from '../nn/helpers.js';
import { imageMeta } from './scene-parts.js';

trackTensors('test');

describe('config-merge / common-config', () => {
  it('merges objects key by key, replaces arrays and typed arrays, skips undefined, names unknown paths', () => {
    const base = { a: { b: 1, c: [1, 2] }, t: Float32Array.of(1), s: 'x' };
    const m = mergeConfig(base, { a: { c: [3] }, t: Float32Array.of(2, 3), s: undefined }, 'cfg');
    expect(m).toEqual({ a: { b: 1, c: [3] }, t: Float32Array.of(2, 3), s: 'x' });
    expect(base.a.c).toEqual([1, 2]);
    expect(() => mergeConfig(base, { a: { d: 1 } } as never, 'cfg')).toThrow('cfg.a: unknown option "d"');
  });

  it('returns fresh sections with mmdetection values', () => {
    expect(deltaCoder().means).not.toBe(deltaCoder().means);
    expect(deltaCoder()).toEqual({ means: [0, 0, 0, 0], stds: [1, 1, 1, 1], whRatioClip: 0.016 });
  });
});

describe('head-layers', () => {
  it('stacks layers first-in → width, builds them in order, and passes the input width through an empty stack', () => {
    const built: Array<[number, number]> = [];
    const s = stackLayers(3, 10, 4, (i, o) => built.push([i, o]));
    expect(built).toEqual([[10, 4], [4, 4], [4, 4]]);
    expect(s.outChannels).toBe(4);
    expect(stackLayers(0, 10, 4, () => 0)).toEqual({ layers: [], outChannels: 10 });
  });

  it('convStack: 3×3 ReLU ConvModules named {i}.conv.*, biases 0, seeded', () => {
    const make = () => new ModuleList(convStack({ count: 2, inChannels: 3, channels: 5, rng: new Rng(1), weightInit: normalInit(0.01) }).layers);
    const a = make();
    const b = make();
    expect([...a.stateDict()].map(([k, t]) => [k, t.shape])).toEqual([
      ['0.conv.weight', [3, 3, 3, 5]],
      ['0.conv.bias', [5]],
      ['1.conv.weight', [3, 3, 5, 5]],
      ['1.conv.bias', [5]],
    ]);
    expect(a.toArray().every((m) => m.relu)).toBe(true);
    expect([...a.stateDict().get('1.conv.bias')!.dataSync()]).toEqual([0, 0, 0, 0, 0]);
    expect(a.stateDict().get('1.conv.weight')!.dataSync()).toEqual(b.stateDict().get('1.conv.weight')!.dataSync());
    a.dispose();
    b.dispose();
  });

  it('checkNumClasses names the head', () => {
    expect(() => checkNumClasses('MyHead', 2.5)).toThrow('MyHead: numClasses must be a positive integer, got 2.5');
    expect(() => checkNumClasses('MyHead', 1)).not.toThrow();
  });
});

describe('dense-head', () => {
  it('runs a head on every level, flattens in (level, y, x, anchor) order and cuts per-image views', () => {
    // 2 images, levels 2×2 and 1×1, A = 2 anchors, k = 3 logits per anchor; logit value = position in the level map
    const levels = tf.tidy(() => [tf.range(0, 48).reshape([2, 2, 2, 6]), tf.range(100, 112).reshape([2, 1, 1, 6])] as tf.Tensor4D[]);
    const seen: number[][] = [];
    const out = forwardLevels(levels, (x) => {
      seen.push(x.shape);
      return tf.tidy(() => [tf.clone(x), tf.fill([x.shape[0], x.shape[1], x.shape[2], 8], x.shape[1]) as tf.Tensor4D]);
    });
    expect(seen).toEqual([[2, 2, 2, 6], [2, 1, 1, 6]]);
    expect(featureSizes(out.cls)).toEqual([[2, 2], [1, 1]]);
    const flat = flattenLevels(out.cls, 3);
    expect(flat.shape).toEqual([2, (4 + 1) * 2, 3]);
    const lastRows = tf.tidy(() => Array.from(flat.slice([1, 8, 0], [1, 2, 3]).dataSync()));
    expect(lastRows).toEqual([106, 107, 108, 109, 110, 111]);
    const anchors = [new Float32Array(4 * 2 * 4), new Float32Array(1 * 2 * 4)];
    const per = imageLevelOutputs(out, anchors, 3);
    expect(per).toHaveLength(2);
    expect(Array.from(per[1]![0]!.logits)).toEqual(Array.from({ length: 24 }, (_, i) => 24 + i));
    expect(Array.from(per[1]![1]!.logits)).toEqual([106, 107, 108, 109, 110, 111]);
    expect([per[1]![0]!.deltas, per[1]![1]!.deltas]).toEqual([new Float32Array(32).fill(2), new Float32Array(8).fill(1)]);
    expect(per[0]![1]!.anchors).toBe(anchors[1]);
    tf.dispose([...levels, ...out.cls, ...out.reg, flat]);
  });
});

describe('input-checks', () => {
  const meta = imageMeta({ imageId: 5, w: 8, h: 8 });

  it('names the detector, the image and the field', () => {
    const images = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    expect(() => checkBatch('Det', { images, metas: [meta, meta] })).toThrow('Det: 1 images but 2 metas');
    expect(() => checkBatch('Det', { images, metas: [meta], targets: [] })).toThrow('Det: 1 images but 0 targets');
    images.dispose();
    const t = { boxes: Float32Array.of(1, 1, 4, 4, 2, 2, 6, 7), labels: Int32Array.of(0, 3) };
    expect(checkImageTargets(t, 0, meta)).toBe(2);
    expect(() => checkImageTargets(t, 2, meta, 3)).toThrow('targets of image 5 (batch index 2): labels[1] is 3, not an integer in [0, 3)');
    expect(() => checkImageTargets({ ...t, boxes: Float32Array.of(1, 1, 4, 4, 2, 2, 2, 7) }, 0, meta)).toThrow('boxes[1] [2, 2, 2, 7] must be finite');
    expect(() => checkImageTargets({ ...t, ignoreBoxes: new Float32Array(3) }, 0, meta)).toThrow('ignoreBoxes has 3 values, not a multiple of 4');
  });
});
