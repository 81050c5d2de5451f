/**
 * src/ops/box-coder.ts against mmdetection's DeltaXYWHBBoxCoder formulas (bbox2delta / delta2bbox written in plain
 * torch float32 by tools/fixtures/detection_ops.py): means/stds, the dw/dh clamp at |log(16/1000)|, border clipping,
 * class-specific deltas. Tolerances: deltas 1e-5 absolute; boxes 1e-5 relative + 1e-4 absolute (coordinates up to
 * ~200 px; float32 log/exp may differ by an ulp from PyTorch's).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  decodeDeltas,
  decodeDeltasTensor,
  encodeDeltas,
  encodeDeltasTensor,
  maxDeltaRatio,
  type Vec4,
} from '../../src/ops/box-coder.js';
import { trackTensors, variableOf } from '../nn/helpers.js';
import { expectAllClose, loadDetectionFixture } from './detection-fixtures.js';

interface CoderFixture {
  proposals: number[];
  gt: number[];
  encode: { name: string; means: Vec4; stds: Vec4; deltas: number[] }[];
  decode: { name: string; means: Vec4; stds: Vec4; maxShape: [number, number] | null; clipBorder: boolean; deltas: number[]; boxes: number[] }[];
}

const fx = loadDetectionFixture<CoderFixture>('box_coder.json');
const proposals = Float32Array.from(fx.proposals);
const gt = Float32Array.from(fx.gt);
const n = proposals.length / 4;
const DELTA_TOL = { atol: 1e-5 };
const BOX_TOL = { atol: 1e-4, rtol: 1e-5 };

trackTensors('test');

describe('delta-xywh coder (typed arrays) vs mmdet', () => {
  for (const c of fx.encode) {
    it(`encode: ${c.name} (means ${c.means.join(',')}, stds ${c.stds.join(',')})`, () => {
      expectAllClose(encodeDeltas(proposals, gt, { means: c.means, stds: c.stds }), c.deltas, DELTA_TOL, c.name);
    });
  }
  for (const c of fx.decode) {
    it(`decode: ${c.name}`, () => {
      const opts = { means: c.means, stds: c.stds, maxShape: c.maxShape ?? undefined, clipBorder: c.clipBorder };
      expectAllClose(decodeDeltas(proposals, Float32Array.from(c.deltas), opts), c.boxes, BOX_TOL, c.name);
    });
  }

  it('the dw/dh clamp is |log(16/1000)| and is hit by the fixture', () => {
    expect(maxDeltaRatio()).toBeCloseTo(4.135166556742356, 6);
    const c = fx.decode.find((d) => d.name === 'default')!;
    // roi 0 has dw = 6 (clamped to 4.135): its width is pw · e^4.135 = pw · 62.5
    const pw = proposals[2]! - proposals[0]!;
    const boxes = decodeDeltas(proposals, Float32Array.from(c.deltas));
    expect((boxes[2]! - boxes[0]!) / pw).toBeCloseTo(62.5, 3);
  });

  it('round trip: decode(encode(gt)) = gt without clipping', () => {
    const opts = { means: [0.05, -0.02, 0.1, -0.1] as const, stds: [0.1, 0.2, 0.2, 0.3] as const };
    expectAllClose(decodeDeltas(proposals, encodeDeltas(proposals, gt, opts), opts), fx.gt, BOX_TOL, 'round trip');
  });

  it('rejects inconsistent inputs with a clear message', () => {
    expect(() => encodeDeltas(proposals, gt.subarray(0, 8))).toThrow(/50 proposals but 2 gt boxes/);
    expect(() => decodeDeltas(proposals, new Float32Array(6))).toThrow(/6 delta values for 50 rois/);
    expect(() => encodeDeltas(proposals, gt, { stds: [1, 0, 1, 1] })).toThrow(/stds must be non-zero/);
    expect(decodeDeltas(new Float32Array(0), new Float32Array(0)).length).toBe(0);
  });
});

describe('delta-xywh coder (tensors)', () => {
  it('encode matches mmdet', () => {
    const p = tf.tensor2d(proposals, [n, 4]);
    const g = tf.tensor2d(gt, [n, 4]);
    for (const c of fx.encode) {
      const d = encodeDeltasTensor(p, g, { means: c.means, stds: c.stds });
      expectAllClose(d.dataSync(), c.deltas, DELTA_TOL, c.name);
      d.dispose();
    }
    tf.dispose([p, g]);
  });

  it('decode matches mmdet, also with a leading batch dimension', () => {
    const rois = tf.tensor2d(proposals, [n, 4]);
    for (const c of fx.decode) {
      const k = c.deltas.length / (4 * n);
      const deltas = tf.tensor2d(c.deltas, [n, 4 * k]);
      const opts = { means: c.means, stds: c.stds, maxShape: c.maxShape ?? undefined, clipBorder: c.clipBorder };
      const boxes = decodeDeltasTensor(rois, deltas, opts);
      expect(boxes.shape).toEqual([n, 4 * k]);
      expectAllClose(boxes.dataSync(), c.boxes, BOX_TOL, c.name);
      const batched = tf.tidy(() => decodeDeltasTensor(tf.stack([rois, rois]), tf.stack([deltas, deltas]), opts));
      expectAllClose(batched.dataSync(), [...c.boxes, ...c.boxes], BOX_TOL, `${c.name} batched`);
      tf.dispose([deltas, boxes, batched]);
    }
    rois.dispose();
  });

  it('decode is differentiable: d(x2 − x1)/d(dw) = pw·e^dw inside the clamp, 0 outside', () => {
    const rois = tf.tensor2d([[0, 0, 10, 20], [5, 5, 9, 9]]);
    const d = variableOf([0.1, -0.2, 0.5, 0.3, 0, 0, 5, 0], [2, 4]);
    const { value, grads } = tf.variableGrads(() => {
      const b = decodeDeltasTensor(rois, d);
      return tf.sum(tf.sub(tf.slice(b, [0, 2], [2, 1]), tf.slice(b, [0, 0], [2, 1]))) as tf.Scalar;
    }, [d]);
    const g = grads[d.name]!.dataSync();
    expect(g[2]).toBeCloseTo(10 * Math.exp(0.5), 4);
    expect(g[6]).toBe(0); // dw = 5 is beyond the clamp
    expect(g[0]).toBeCloseTo(0, 6); // moving the centre does not change the width
    tf.dispose([rois, d, value, ...Object.values(grads)]);
  });
});
