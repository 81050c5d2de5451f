/**
 * Multi-level RoI extraction (src/ops/roi-extractor.ts): mmdet's level rule against hand-computed box sizes and the
 * torch fixture, output = per-level roiAlign reassembled in input order, gradients per level = the sum of the
 * per-level roiAlign gradients (1e-5), unassigned (negative-area) boxes give zeros, tensor count flat.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { roiAlign } from '../../src/ops/roi-align.js';
import { extractRoiFeatures, mapRoiLevels } from '../../src/ops/roi-extractor.js';
import { expectClose, trackTensors } from '../nn/helpers.js';
import { loadOpsFixtures } from './roi-align-fixtures.js';

trackTensors('test');

/** A w×h box at (x, y). */
const box = (w: number, h: number, x = 0, y = 0) => [x, y, x + w, y + h];

describe('mapRoiLevels (mmdet finest_scale 56)', () => {
  it('assigns hand-computed sizes: √(wh) < 112 → P2, < 224 → P3, < 448 → P4, else P5', () => {
    const cases: [number[], number][] = [
      [box(1, 1), 0], // log2(1/56) < 0 → clamped to 0
      [box(56, 56), 0], // log2(1 + 1e-6) = 1.4e-6 → 0
      [box(111.9, 112), 0], // √ = 111.95
      [box(112, 112), 1], // log2(2 + 1e-6) → 1
      [box(56, 224, 10, 20), 1], // √(56·224) = 112: the rule looks at the area only
      [box(223.99, 224), 1],
      [box(224, 224), 2],
      [box(447, 448), 2],
      [box(448, 448), 3],
      [box(1333, 800), 3], // √ = 1032.6 → log2(18.4) = 4.2 → clamped to 3
      [box(0, 50), 0], // zero area → log2(1e-6) → clamped to 0
      [[30, 10, 25, 20], -1], // reversed in x: negative area, NaN scale → no level (mmdet: zeros)
    ];
    const levels = mapRoiLevels(Float32Array.from(cases.flatMap(([b]) => b)), 4);
    expect(Array.from(levels)).toEqual(cases.map(([, l]) => l));
    expect(Array.from(mapRoiLevels(Float32Array.from(box(500, 500)), 2))).toEqual([1]);
  });

  it('matches mmdet map_roi_levels computed by torch (fixture)', () => {
    const fx = loadOpsFixtures();
    const c = fx.cases.find((k) => k.kind === 'levels')!;
    const b = fx.tensor(c, 'boxes');
    const want = fx.tensor(c, 'levels');
    expect(Array.from(mapRoiLevels(b.dataSync() as Float32Array, 4))).toEqual(Array.from(want.dataSync()));
    tf.dispose([b, want]);
  });
});

describe('extractRoiFeatures', () => {
  // 2 images of 64×96 → P2 16×24, P3 8×12, P4 4×6, P5 2×3, 6 channels.
  const shapes = [16, 8, 4, 2].map((h): [number, number, number, number] => [2, h, h * 1.5, 6]);
  const makeFeats = () => shapes.map((s, l) => tf.randomUniform(s, -1, 1, 'float32', 11 + l) as tf.Tensor4D);
  const boxes = [
    box(30, 20, 5, 7), // P2
    box(150, 140, -20, 3), // P3
    box(40, 60, 50, 2), // P2
    box(300, 260, -100, -80), // P4
    box(600, 500, -200, -150), // P5
    [30, 10, 25, 20], // reversed: no level → zeros
    box(120, 110, 10, 10), // P3
  ];
  const batch = [0, 1, 1, 0, 1, 0, 0];
  const levelOf = [0, 1, 0, 2, 3, -1, 1];
  const strides = [4, 8, 16, 32];

  /** The per-level reference: roiAlign on each box's level, zeros for no level, stacked in input order. */
  function reference(feats: tf.Tensor4D[], out: number): tf.Tensor4D {
    const rows = boxes.map((b, k) => {
      const l = levelOf[k]!;
      if (l < 0) return tf.zeros([1, out, out, 6]) as tf.Tensor4D;
      return roiAlign(feats[l]!, [b], [batch[k]!], { outputSize: out, spatialScale: 1 / strides[l]!, samplingRatio: 0 });
    });
    return tf.concat(rows, 0);
  }

  it('uses the levels of the rule', () => {
    expect(Array.from(mapRoiLevels(Float32Array.from(boxes.flat()), 4))).toEqual(levelOf);
  });

  for (const out of [7, 14]) {
    it(`pools each box from its level, in input order, with per-level gradients (${out}×${out})`, () => {
      const feats = makeFeats();
      const g = tf.randomUniform([boxes.length, out, out, 6], -1, 1, 'float32', 5);
      const opts = { outputSize: out };
      tf.tidy(() => {
        const got = extractRoiFeatures(feats, boxes, batch, opts);
        const want = reference(feats, out);
        expectClose(got, want, { atol: 1e-6 }, 'output');
        expect(Array.from(got.slice([5, 0, 0, 0], [1, out, out, 6]).dataSync()).every((v) => v === 0)).toBe(true);
        const gradsGot = tf.grads((...fs: tf.Tensor[]) => tf.sum(tf.mul(extractRoiFeatures(fs as tf.Tensor4D[], boxes, batch, opts), g)))(feats);
        const gradsWant = tf.grads((...fs: tf.Tensor[]) => tf.sum(tf.mul(reference(fs as tf.Tensor4D[], out), g)))(feats);
        gradsGot.forEach((gg, l) => expectClose(gg, gradsWant[l]!, { atol: 1e-5 }, `grad P${l + 2}`));
      });
      tf.dispose([...feats, g]);
    });
  }

  it('gives [0, 7, 7, C] for no boxes and zero gradients', () => {
    const feats = makeFeats();
    tf.tidy(() => {
      expect(extractRoiFeatures(feats, [], [], { outputSize: 7 }).shape).toEqual([0, 7, 7, 6]);
      const gs = tf.grads((...fs: tf.Tensor[]) => tf.sum(extractRoiFeatures(fs as tf.Tensor4D[], [], [], { outputSize: 7 })))(feats);
      gs.forEach((gg, l) => expect(gg.shape).toEqual(shapes[l]));
      expect(gs.every((gg) => tf.max(tf.abs(gg)).dataSync()[0] === 0)).toBe(true);
    });
    tf.dispose(feats);
  });

  it('rejects mismatched levels with a clear message', () => {
    const feats = makeFeats();
    expect(() => extractRoiFeatures(feats.slice(0, 3), boxes, batch, { outputSize: 7 })).toThrow('3 feature levels for 4 strides');
    const odd = tf.zeros([2, 8, 12, 5]) as tf.Tensor4D;
    expect(() => extractRoiFeatures([feats[0]!, odd, feats[2]!, feats[3]!], boxes, batch, { outputSize: 7 })).toThrow(
      'batch and channels must agree',
    );
    expect(() => extractRoiFeatures(feats, boxes, [0, 0, 0, 0, 0, 0, 2], { outputSize: 7 })).toThrow('batchIndices[6]');
    tf.dispose([...feats, odd]);
  });

  it('keeps the tensor count flat over repeated forward + backward', () => {
    const vars = makeFeats().map((t) => {
      const v = tf.variable(t);
      t.dispose();
      return v;
    });
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(extractRoiFeatures(vars as unknown as tf.Tensor4D[], boxes, batch, { outputSize: 7 }))) as tf.Scalar,
        vars,
      );
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose(vars);
  });
});
