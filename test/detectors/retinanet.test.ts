/**
 * RetinaNet (detectors/retinanet/): config defaults and overrides, head shapes / init / names, the detector's
 * state-dict layout, anchor targets (valid flags of the padding, images without GT, avg factor), the losses against
 * their closed form at initialisation (normalised by the number of positives), and flat tensor counts across
 * training steps and predictions.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../data/loader.js';
import { featureSizes, flattenLevels } from '../../detectors/dense-head.js';
import type { DetectionBatch } from '../../detectors/detector.js';
import { defaultRetinaNetConfig, retinaNetConfig } from '../../detectors/retinanet/config.js';
import { RetinaHead, biasInitWithProb } from '../../detectors/retinanet/head.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { imagePadShape } from '../../detectors/anchor-targets.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { SGD } from '../../src/train/sgd.js';
import { trackTensors } from '../nn/helpers.js';
import { imageMeta } from './scene-parts.js';
import { toyScenes } from './toy-scenes.js';

trackTensors('test');

function tinyRetinaNet(overrides: Parameters<typeof retinaNetConfig>[0] = {}, seed = 2): RetinaNet {
  return new RetinaNet({
    backbone: tiedResNetTiny({ seed: 1, numClasses: null, frozenStages: -1, normEval: false }),
    config: retinaNetConfig({ numClasses: 3, model: { neck: { outChannels: 16 }, head: { featChannels: 16 } } }, overrides),
    seed,
  });
}

describe('config', () => {
  it("has mmdetection's RetinaNet R-50-FPN 2x values", () => {
    const c = defaultRetinaNetConfig();
    expect(c.model.neck).toEqual({ outChannels: 256, startLevel: 1, numOuts: 5, addExtraConvs: 'on_input', reluBeforeExtraConvs: false });
    expect(c.model.head).toEqual({ featChannels: 256, stackedConvs: 4, priorProb: 0.01, initStd: 0.01 });
    expect(c.model.anchors).toMatchObject({ octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1, 2], strides: [8, 16, 32, 64, 128] });
    expect(c.train.assigner).toMatchObject({ posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0, matchLowQuality: true });
    expect(c.model.loss.focal).toEqual({ alpha: 0.25, gamma: 2, weight: 1 });
    expect(c.model.loss.bbox.type).toBe('l1');
    expect(c.test).toEqual({ nmsPre: 1000, scoreThr: 0.05, minBboxSize: 0, nmsIouThr: 0.5, maxPerImg: 100 });
  });

  it('merges overrides deeply, replaces arrays, and names unknown keys', () => {
    const c = retinaNetConfig({ numClasses: 3, test: { scoreThr: 0.3 }, model: { anchors: { ratios: [1] } } });
    expect(c.numClasses).toBe(3);
    expect(c.test.scoreThr).toBe(0.3);
    expect(c.test.nmsPre).toBe(1000);
    expect(c.model.anchors.ratios).toEqual([1]);
    expect(defaultRetinaNetConfig().model.anchors.ratios).toEqual([0.5, 1, 2]); // defaults untouched
    expect(() => retinaNetConfig({ test: { scoreThreshold: 1 } } as never)).toThrow(/retinaNetConfig\.test: unknown option "scoreThreshold"/);
    expect(() => retinaNetConfig({ numClasses: 0 })).toThrow('retinaNetConfig: numClasses must be a positive integer, got 0');
    expect(() => retinaNetConfig({ test: { maxPerImg: 1.5 } })).toThrow('retinaNetConfig: test.maxPerImg must be a positive integer, got 1.5');
  });
});

describe('RetinaHead', () => {
  it('outputs A·C logits and A·4 deltas per level, with the prior-probability bias and mmdetection names', () => {
    const head = new RetinaHead({ numClasses: 5, inChannels: 8, featChannels: 8, seed: 3 });
    const levels = [tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 1), tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 2)] as tf.Tensor4D[];
    const out = head.forward(levels);
    expect(out.cls.map((t) => t.shape)).toEqual([[2, 6, 5, 45], [2, 3, 3, 45]]);
    expect(out.reg.map((t) => t.shape)).toEqual([[2, 6, 5, 36], [2, 3, 3, 36]]);
    const flat = flattenLevels(out.cls, 5);
    expect(flat.shape).toEqual([2, (30 + 9) * 9, 5]);
    expect(biasInitWithProb(0.01)).toBeCloseTo(-4.59512, 5);
    expect([...head.retinaCls.bias!.dataSync()].every((b) => Math.abs(b - biasInitWithProb(0.01)) < 1e-6)).toBe(true);
    expect([...head.stateDict().keys()]).toEqual([
      ...[0, 1, 2, 3].flatMap((i) => [`cls_convs.${i}.conv.weight`, `cls_convs.${i}.conv.bias`]),
      ...[0, 1, 2, 3].flatMap((i) => [`reg_convs.${i}.conv.weight`, `reg_convs.${i}.conv.bias`]),
      'retina_cls.weight',
      'retina_cls.bias',
      'retina_reg.weight',
      'retina_reg.bias',
    ]);
    tf.dispose([...levels, ...out.cls, ...out.reg, flat]);
    head.dispose();
  });
});

describe('RetinaNet', () => {
  it('is backbone + neck + bbox_head with mmdetection keys and P3–P7 outputs', () => {
    const m = tinyRetinaNet();
    const prefixes = new Set([...m.stateDict().keys()].map((k) => k.split('.')[0]));
    expect([...prefixes]).toEqual(['backbone', 'neck', 'bbox_head']);
    expect(m.stateDict().has('neck.fpn_convs.3.conv.weight')).toBe(true);
    const x = tf.zeros([1, 96, 64, 3]) as tf.Tensor4D;
    const out = m.forward(x);
    expect(featureSizes(out.cls)).toEqual([[12, 8], [6, 4], [3, 2], [2, 1], [1, 1]]);
    tf.dispose([x, ...out.cls, ...out.reg]);
    m.dispose();
  });

  it('rejects anchor strides that do not match the pyramid', () => {
    expect(() => tinyRetinaNet({ model: { anchors: { strides: [8, 16, 32, 64] } } })).toThrow(/anchor strides \[8, 16, 32, 64\] do not match/);
  });

  it('targets: padding anchors are left out, an image without GT has only negatives, avg factor Σ max(#pos, 1)', () => {
    const m = tinyRetinaNet();
    const base = imageMeta({ file: 'a.png', w: 40, h: 60, padSize: { width: 96, height: 64 } });
    const metas = [base, { ...base, imageId: 2 }];
    expect(imagePadShape(base, 32)).toEqual([64, 64]);
    // typed as the data loader's batch (data/loader.ts): it must be usable as a DetectionBatch as it is
    const batch: Batch = {
      index: 0,
      skipped: 0,
      images: null as unknown as tf.Tensor4D, // targets() reads only metas and targets
      metas,
      targets: [
        { boxes: Float32Array.of(4, 8, 36, 40), labels: Int32Array.of(2), ignoreBoxes: new Float32Array(0), masks: null },
        { boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0), masks: null },
      ],
    };
    const sizes: Array<[number, number]> = [[8, 12], [4, 6], [2, 3], [1, 2], [1, 1]];
    const t = m.targets(sizes, metas, batch);
    const A = 9;
    expect(t.numAnchors).toBe((96 + 24 + 6 + 2 + 1) * A);
    // image 1: positives carry label 2, every other anchor of image 1's valid region is negative or ignored
    expect(t.numPos).toBeGreaterThan(0);
    for (const p of t.posIndices) expect(t.labels[p]).toBe(2);
    expect(t.avgFactor).toBe(t.numPos + 1); // image 2 contributes max(0, 1)
    // P3 (8 × 12 cells, stride 8): columns x ≥ ⌈64 / 8⌉ = 8 lie in the batch padding beyond the image's pad shape
    const img2 = t.numAnchors;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 12; x++) {
        for (let a = 0; a < A; a++) {
          const j = (y * 12 + x) * A + a;
          expect(t.labelWeights[j], `image 1 P3 cell (${y}, ${x})`).toBe(x >= 8 ? 0 : t.labelWeights[j]);
          expect(t.labelWeights[img2 + j], `image 2 P3 cell (${y}, ${x})`).toBe(x >= 8 ? 0 : 1);
          expect(t.labels[img2 + j]).toBe(-1);
        }
      }
    }
    expect(() => m.targets(sizes, metas, { ...batch, targets: [{ boxes: Float32Array.of(5, 5, 5, 9), labels: Int32Array.of(0) }, batch.targets[1]!] })).toThrow(
      /targets of image 1 \(batch index 0\): boxes\[0\] \[5, 5, 5, 9\] must be finite with x2 > x1/,
    );
    expect(() => m.targets(sizes, metas, { ...batch, targets: [{ boxes: Float32Array.of(1, 1, 9, 9), labels: Int32Array.of(3) }, batch.targets[1]!] })).toThrow(
      /targets of image 1 \(batch index 0\): labels\[0\] is 3, not an integer in \[0, 3\)/,
    );
    m.dispose();
  });

  it("losses at initialisation equal focal / L1 in closed form, divided by mmdetection's avg factor", () => {
    // initStd ≈ 0: every logit is the prior bias b (p = 0.01) and every delta 0
    const m = tinyRetinaNet({ model: { head: { featChannels: 16, initStd: 1e-12 } } });
    const scenes = toyScenes({ count: 2, size: 64, scale: 1, seed: 3, objects: [1, 3], sides: [24, 40] });
    const losses = m.loss(scenes.batch);
    const out = m.forward(scenes.batch.images);
    const t = m.targets(featureSizes(out.cls), scenes.batch.metas, scenes.batch);
    tf.dispose([...out.cls, ...out.reg]);
    const p = 1 / (1 + Math.exp(-biasInitWithProb(0.01)));
    const posTerm = -0.25 * (1 - p) ** 2 * Math.log(p);
    const negTerm = -0.75 * p ** 2 * Math.log(1 - p);
    const C = 3;
    let weighted = 0;
    for (const w of t.labelWeights) weighted += w;
    const expectedCls = (t.numPos * posTerm + (weighted * C - t.numPos) * negTerm) / t.avgFactor;
    let absSum = 0;
    for (const v of t.bboxTargets) absSum += Math.abs(v);
    const cls = losses.loss_cls.dataSync()[0]!;
    const bbox = losses.loss_bbox.dataSync()[0]!;
    expect(Number.isFinite(cls) && Number.isFinite(bbox)).toBe(true);
    expect(t.avgFactor).toBe(t.numPos); // both images have positives
    expect(cls).toBeCloseTo(expectedCls, 4);
    expect(bbox).toBeCloseTo(absSum / t.avgFactor, 4);
    // normalised: the same images twice give the same losses (sums and avg factor both double)
    const twice = toyScenes({ count: 2, size: 64, scale: 1, seed: 3, objects: [1, 3], sides: [24, 40] });
    const doubled: DetectionBatch = {
      images: tf.concat([scenes.batch.images, twice.batch.images]),
      metas: [...scenes.batch.metas, ...twice.batch.metas],
      targets: [...scenes.batch.targets!, ...twice.batch.targets!],
    };
    const l2 = m.loss(doubled);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(rel(l2.loss_cls.dataSync()[0]!, cls)).toBeLessThan(2e-5); // float32 sums over different lengths
    expect(rel(l2.loss_bbox.dataSync()[0]!, bbox)).toBeLessThan(2e-5);
    tf.dispose([losses.loss_cls, losses.loss_bbox, l2.loss_cls, l2.loss_bbox, scenes.batch.images, twice.batch.images, doubled.images]);
    m.dispose();
  });

  it('an image without GT gives finite losses (bbox 0) and gradients', () => {
    const m = tinyRetinaNet();
    const scenes = toyScenes({ count: 1, size: 64, scale: 1, seed: 4, objects: [1, 1], sides: [24, 40] });
    const batch: DetectionBatch = { ...scenes.batch, targets: [{ boxes: new Float32Array(0), labels: new Int32Array(0) }] };
    const { value, grads } = tf.variableGrads(() => {
      const l = m.loss(batch);
      expect(l.loss_bbox.dataSync()[0]).toBe(0);
      return tf.add(l.loss_cls, l.loss_bbox) as tf.Scalar;
    }, m.trainableVariables());
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    tf.dispose([value, ...Object.values(grads), scenes.batch.images]);
    m.dispose();
  });

  it('keeps the tensor count flat across training steps and predictions', () => {
    const m = tinyRetinaNet();
    m.train();
    const scenes = toyScenes({ count: 2, size: 64, scale: 0.5, seed: 5, objects: [1, 2], sides: [24, 40] });
    const sgd = new SGD(m.namedParameters({ trainableOnly: true }), { lr: 0.001, momentum: 0.9, weightDecay: 1e-4 });
    const counts: number[] = [];
    for (let s = 0; s < 3; s++) {
      const { value, grads } = tf.variableGrads(() => {
        const l = m.loss(scenes.batch);
        return tf.add(l.loss_cls, l.loss_bbox) as tf.Scalar;
      }, m.trainableVariables());
      sgd.step(grads);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors - m.numDerivedTensors());
    }
    m.eval();
    for (let s = 0; s < 3; s++) {
      const dets = m.predict(scenes.batch);
      expect(dets.map((d) => d.imageId)).toEqual([1, 2]);
      counts.push(tf.memory().numTensors - m.numDerivedTensors());
    }
    expect(new Set(counts.slice(1, 3)).size).toBe(1); // after the first step created the momentum buffers
    expect(new Set(counts.slice(3)).size).toBe(1);
    expect(counts[3]).toBe(counts[2]);
    sgd.dispose();
    tf.dispose(scenes.batch.images);
    m.dispose();
  });
});
