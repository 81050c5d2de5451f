/**
 * src/ops/boxes.ts against torchvision `box_iou` and mmdetection's `bbox_overlaps` (tools/fixtures/detection_ops.py).
 * Tolerances: typed arrays 0 (they reproduce PyTorch's float32 arithmetic bit for bit), tensors 1e-6 absolute.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  alignedIou,
  alignedIouTensor,
  boxAreas,
  clipBoxes,
  iouMatrix,
  iouMatrixTensor,
  numBoxes,
  scaleBoxes,
  toBoxArray,
  xywhToXyxy,
  xyxyToXywh,
} from '../../src/ops/boxes.js';
import { trackTensors, variableOf } from '../nn/helpers.js';
import { expectAllClose, loadDetectionFixture } from './detection-fixtures.js';

interface BoxesFixture {
  a: number[];
  b: number[];
  m: number;
  n: number;
  torchvision_box_iou: (number | null)[];
  mmdet_iou: number[];
  mmdet_iof: number[];
  mmdet_aligned_iou: number[];
  mmdet_aligned_iof: number[];
}

const fx = loadDetectionFixture<BoxesFixture>('boxes.json');
const a = Float32Array.from(fx.a);
const b = Float32Array.from(fx.b);
const bHead = b.subarray(0, fx.m * 4);

trackTensors('test');

describe('IoU / IoF matrix (typed arrays)', () => {
  it('equals mmdet bbox_overlaps bit for bit (iou and iof, incl. zero-area boxes)', () => {
    expectAllClose(iouMatrix(a, b), fx.mmdet_iou, { atol: 0 }, 'iou');
    expectAllClose(iouMatrix(a, b, 'iof'), fx.mmdet_iof, { atol: 0 }, 'iof');
  });

  it('equals torchvision box_iou wherever that is defined (it is NaN for two zero-area boxes; we give 0)', () => {
    const ours = iouMatrix(a, b);
    const nanAt = fx.torchvision_box_iou.findIndex((v) => v === null);
    expect(nanAt).toBeGreaterThanOrEqual(0); // the fixture does contain the degenerate pair
    expect(ours[nanAt]).toBe(0);
    const masked = Array.from(ours, (v, i) => (fx.torchvision_box_iou[i] === null ? NaN : v));
    expectAllClose(masked, fx.torchvision_box_iou, { atol: 0 }, 'box_iou');
  });

  it('covers exact cases: identical boxes → 1, IoU exactly 0.5', () => {
    const iou = iouMatrix(a, b);
    for (let i = 0; i < 5; i++) expect(iou[i * fx.n + i]).toBe(1);
    expect(iou[29 * fx.n + 5]).toBe(0.5);
  });

  it('aligned overlaps equal mmdet is_aligned=True', () => {
    expectAllClose(alignedIou(a, bHead), fx.mmdet_aligned_iou, { atol: 0 }, 'aligned iou');
    expectAllClose(alignedIou(a, bHead, 'iof'), fx.mmdet_aligned_iof, { atol: 0 }, 'aligned iof');
  });

  it('accepts precomputed areas and empty inputs', () => {
    expect(iouMatrix(a, b, 'iou', boxAreas(a), boxAreas(b))).toEqual(iouMatrix(a, b));
    expect(iouMatrix(new Float32Array(0), b).length).toBe(0);
  });
});

describe('IoU / IoF matrix (tensors)', () => {
  it('matches the references within 1e-6', () => {
    const at = tf.tensor2d(a, [fx.m, 4]);
    const bt = tf.tensor2d(b, [fx.n, 4]);
    const bh = tf.tensor2d(bHead, [fx.m, 4]);
    const iou = iouMatrixTensor(at, bt);
    const iof = iouMatrixTensor(at, bt, 'iof');
    const al = alignedIouTensor(at, bh);
    expect(iou.shape).toEqual([fx.m, fx.n]);
    expectAllClose(iou.dataSync(), fx.mmdet_iou, { atol: 1e-6 }, 'iou tensor');
    expectAllClose(iof.dataSync(), fx.mmdet_iof, { atol: 1e-6 }, 'iof tensor');
    expectAllClose(al.dataSync(), fx.mmdet_aligned_iou, { atol: 1e-6 }, 'aligned tensor');
    tf.dispose([at, bt, bh, iou, iof, al]);
  });

  it('is differentiable (gradient of Σ IoU w.r.t. the boxes is finite and non-zero)', () => {
    const at = variableOf([0, 0, 10, 10, 5, 5, 15, 20], [2, 4]);
    const bt = tf.tensor2d([[2, 3, 12, 11]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(iouMatrixTensor(at as tf.Tensor2D, bt)) as tf.Scalar, [at]);
    const g = grads[at.name]!.dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    expect(Array.from(g).some((v) => v !== 0)).toBe(true);
    tf.dispose([at, bt, value, ...Object.values(grads)]);
  });
});

describe('box helpers', () => {
  it('clips to the image, converts xyxy ↔ xywh, scales', () => {
    const boxes = toBoxArray([[-5, 2, 30, 70], [10, -1, 12, 3]]);
    expect(Array.from(clipBoxes(boxes, [50, 20]))).toEqual([0, 2, 20, 50, 10, 0, 12, 3]);
    const xywh = xyxyToXywh(boxes);
    expect(Array.from(xywh)).toEqual([-5, 2, 35, 68, 10, -1, 2, 4]);
    expect(Array.from(xywhToXyxy(xywh))).toEqual(Array.from(boxes));
    expect(Array.from(scaleBoxes(boxes, 2, 0.5))).toEqual([-10, 1, 60, 35, 20, -0.5, 24, 1.5]);
    expect(Array.from(boxAreas(boxes))).toEqual([35 * 68, 8]);
  });

  it('rejects arrays that are not 4 numbers per box', () => {
    expect(() => numBoxes(new Float32Array(6))).toThrow(/length 6 is not a multiple of 4/);
    expect(() => toBoxArray([[1, 2, 3]])).toThrow(/box 0 has 3 values/);
    expect(() => tf.tidy(() => iouMatrixTensor(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([1, 4]) as tf.Tensor2D))).toThrow(/last dimension must be 4/);
  });
});
