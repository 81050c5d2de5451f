/**
 * Box geometry for detection: areas, the IoU / IoF matrix (and its aligned form), clipping, scaling and the
 * xyxy ↔ xywh conversions — on flat `Float32Array`s (CPU side: assignment, NMS, anchors) and on TF.js tensors (when
 * a detector needs overlaps inside the graph).
 *
 * Boxes are `[x1, y1, x2, y2]` in pixels (DESIGN.md), stored flat: box i is `boxes[4i .. 4i+3]`. COCO
 * `[x, y, w, h]` appears only at the dataset / results boundary (`xyxyToXywh`, `xywhToXyxy`). No "+1" anywhere.
 *
 * Reference behaviour: mmdetection's `bbox_overlaps` (mmdet/structures/bbox/bbox_overlaps.py), i.e.
 *   area = (x2 − x1)·(y2 − y1); overlap = max(0, min(x2) − max(x1)) · max(0, min(y2) − max(y1));
 *   iou = overlap / max(area₁ + area₂ − overlap, ε);  iof = overlap / max(area₁, ε);  ε = 1e-6.
 * torchvision's `box_iou` is the same without ε (it gives NaN where both boxes have zero area; we give 0).
 * The typed-array versions reproduce PyTorch's float32 arithmetic operation by operation (`Math.fround` after
 * every +, −, ×, ÷ — exact IEEE single precision), so their results are bit-identical to mmdetection / torchvision
 * on float32 tensors; that makes threshold decisions (IoU ≥ 0.5, IoU > 0.5) identical too.
 */
import * as tf from '@tensorflow/tfjs';

/** Flat boxes `[x1, y1, x2, y2] × n` (float32). */
export type BoxArray = Float32Array;

/** 'iou': intersection over union; 'iof': intersection over the area of the first argument's box. */
export type OverlapMode = 'iou' | 'iof';

/** The ε of mmdetection's `bbox_overlaps` (as float32): denominators are at least this. */
export const OVERLAP_EPS = Math.fround(1e-6);

const f = Math.fround;

/** Number of boxes in a flat array; throws if its length is not a multiple of 4. */
export function numBoxes(boxes: ArrayLike<number>, what = 'boxes'): number {
  if (boxes.length % 4 !== 0) throw new Error(`${what}: length ${boxes.length} is not a multiple of 4 ([x1, y1, x2, y2] per box)`);
  return boxes.length / 4;
}

/** A `Float32Array` of boxes from a flat list or from `[x1, y1, x2, y2]` rows. */
export function toBoxArray(boxes: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>): BoxArray {
  if (boxes.length > 0 && typeof boxes[0] !== 'number') {
    const rows = boxes as ReadonlyArray<ArrayLike<number>>;
    const out = new Float32Array(rows.length * 4);
    rows.forEach((r, i) => {
      if (r.length !== 4) throw new Error(`toBoxArray: box ${i} has ${r.length} values, expected 4`);
      for (let k = 0; k < 4; k++) out[i * 4 + k] = r[k]!;
    });
    return out;
  }
  const flat = Float32Array.from(boxes as ArrayLike<number>);
  numBoxes(flat);
  return flat;
}

/** Box areas (x2 − x1)·(y2 − y1), float32 arithmetic; negative for inverted boxes (as mmdet / torchvision). */
export function boxAreas(boxes: BoxArray): Float32Array {
  const n = numBoxes(boxes);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    out[i] = f(f(boxes[o + 2]! - boxes[o]!) * f(boxes[o + 3]! - boxes[o + 1]!));
  }
  return out;
}

/**
 * The overlap matrix of boxes `a` (m) against boxes `b` (n): a row-major `Float32Array` [m × n], entry
 * `i·n + j` = overlap(a_i, b_j). Mode 'iof' divides by the area of a_i. mmdetection's `bbox_overlaps(a, b, mode)`,
 * bit for bit.
 *
 * @param areasA / areasB optional precomputed `boxAreas` (reused by callers that overlap the same boxes often).
 */
export function iouMatrix(
  a: BoxArray,
  b: BoxArray,
  mode: OverlapMode = 'iou',
  areasA: Float32Array = boxAreas(a),
  areasB: Float32Array = boxAreas(b),
): Float32Array {
  const m = numBoxes(a, 'iouMatrix: a');
  const n = numBoxes(b, 'iouMatrix: b');
  const out = new Float32Array(m * n);
  const iof = mode === 'iof';
  for (let i = 0; i < m; i++) {
    const ax1 = a[i * 4]!;
    const ay1 = a[i * 4 + 1]!;
    const ax2 = a[i * 4 + 2]!;
    const ay2 = a[i * 4 + 3]!;
    const areaA = areasA[i]!;
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const o = j * 4;
      const bx1 = b[o]!;
      const by1 = b[o + 1]!;
      const bx2 = b[o + 2]!;
      const by2 = b[o + 3]!;
      const w = f((ax2 < bx2 ? ax2 : bx2) - (ax1 > bx1 ? ax1 : bx1));
      if (!(w > 0)) continue; // no overlap: 0 / max(denominator, ε) = 0 (out is zero-filled)
      const h = f((ay2 < by2 ? ay2 : by2) - (ay1 > by1 ? ay1 : by1));
      if (!(h > 0)) continue;
      const overlap = f(w * h);
      let denom = iof ? areaA : f(f(areaA + areasB[j]!) - overlap);
      if (denom < OVERLAP_EPS) denom = OVERLAP_EPS;
      out[row + j] = f(overlap / denom);
    }
  }
  return out;
}

/** Overlap of a_i with b_i for each i (mmdet `bbox_overlaps(..., is_aligned=True)`); a and b have equal counts. */
export function alignedIou(a: BoxArray, b: BoxArray, mode: OverlapMode = 'iou'): Float32Array {
  const n = numBoxes(a, 'alignedIou: a');
  if (numBoxes(b, 'alignedIou: b') !== n) throw new Error(`alignedIou: ${n} boxes in a but ${b.length / 4} in b`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const areaA = f(f(a[o + 2]! - a[o]!) * f(a[o + 3]! - a[o + 1]!));
    const areaB = f(f(b[o + 2]! - b[o]!) * f(b[o + 3]! - b[o + 1]!));
    let w = f(Math.min(a[o + 2]!, b[o + 2]!) - Math.max(a[o]!, b[o]!));
    let h = f(Math.min(a[o + 3]!, b[o + 3]!) - Math.max(a[o + 1]!, b[o + 1]!));
    if (!(w > 0)) w = 0;
    if (!(h > 0)) h = 0;
    const overlap = f(w * h);
    let denom = mode === 'iof' ? areaA : f(f(areaA + areaB) - overlap);
    if (denom < OVERLAP_EPS) denom = OVERLAP_EPS;
    out[i] = f(overlap / denom);
  }
  return out;
}

/** Boxes clamped to the image: x to [0, width], y to [0, height] (mmdet's `clip_border`). Returns a new array. */
export function clipBoxes(boxes: BoxArray, imageShape: readonly [height: number, width: number]): BoxArray {
  numBoxes(boxes);
  const [h, w] = imageShape;
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    const hi = i % 2 === 0 ? w : h;
    const v = boxes[i]!;
    out[i] = v < 0 ? 0 : v > hi ? hi : v;
  }
  return out;
}

/** Boxes with x multiplied by `sx` and y by `sy` (e.g. network input → original image: 1/scale). New array. */
export function scaleBoxes(boxes: BoxArray, sx: number, sy: number = sx): BoxArray {
  numBoxes(boxes);
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) out[i] = boxes[i]! * (i % 2 === 0 ? sx : sy);
  return out;
}

/** `[x1, y1, x2, y2]` → COCO `[x, y, w, h]` (new array). */
export function xyxyToXywh(boxes: BoxArray): BoxArray {
  numBoxes(boxes);
  const out = new Float32Array(boxes.length);
  for (let o = 0; o < boxes.length; o += 4) {
    out[o] = boxes[o]!;
    out[o + 1] = boxes[o + 1]!;
    out[o + 2] = boxes[o + 2]! - boxes[o]!;
    out[o + 3] = boxes[o + 3]! - boxes[o + 1]!;
  }
  return out;
}

/** COCO `[x, y, w, h]` → `[x1, y1, x2, y2]` (new array). */
export function xywhToXyxy(boxes: ArrayLike<number>): BoxArray {
  numBoxes(boxes);
  const out = new Float32Array(boxes.length);
  for (let o = 0; o < boxes.length; o += 4) {
    out[o] = boxes[o]!;
    out[o + 1] = boxes[o + 1]!;
    out[o + 2] = boxes[o]! + boxes[o + 2]!;
    out[o + 3] = boxes[o + 1]! + boxes[o + 3]!;
  }
  return out;
}

// ---- tensors ------------------------------------------------------------------------------------------------------

function checkBoxTensor(t: tf.Tensor, what: string): void {
  if (t.shape[t.rank - 1] !== 4) throw new Error(`${what}: last dimension must be 4 ([x1, y1, x2, y2]), got shape [${t.shape.join(', ')}]`);
}

/** Areas of a [..., 4] box tensor → [...]. */
export function boxAreasTensor(boxes: tf.Tensor): tf.Tensor {
  checkBoxTensor(boxes, 'boxAreasTensor');
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    return tf.mul(tf.sub(x2, x1), tf.sub(y2, y1));
  });
}

/**
 * Overlap matrix of a [m, 4] against b [n, 4] → [m, n], the formula of `iouMatrix` in TF.js ops (differentiable;
 * float32 on the backend, so within a few ulp of the typed-array version rather than bit-identical).
 */
export function iouMatrixTensor(a: tf.Tensor2D, b: tf.Tensor2D, mode: OverlapMode = 'iou'): tf.Tensor2D {
  checkBoxTensor(a, 'iouMatrixTensor: a');
  checkBoxTensor(b, 'iouMatrixTensor: b');
  return tf.tidy(() => {
    const a3 = tf.expandDims(a, 1); // [m, 1, 4]
    const b3 = tf.expandDims(b, 0); // [1, n, 4]
    return overlapOf(a3, b3, mode) as tf.Tensor2D;
  });
}

/** Overlap of a[i] with b[i] for [..., 4] tensors of the same shape → [...] (mmdet `is_aligned=True`). */
export function alignedIouTensor(a: tf.Tensor, b: tf.Tensor, mode: OverlapMode = 'iou'): tf.Tensor {
  checkBoxTensor(a, 'alignedIouTensor: a');
  checkBoxTensor(b, 'alignedIouTensor: b');
  return tf.tidy(() => overlapOf(a, b, mode));
}

function overlapOf(a: tf.Tensor, b: tf.Tensor, mode: OverlapMode): tf.Tensor {
  const areaA = boxAreasTensor(a);
  const areaB = boxAreasTensor(b);
  const last = a.rank - 1;
  const aLo = tf.slice(a, sliceBegin(a.rank, 0), sliceSize(a.shape, 2));
  const aHi = tf.slice(a, sliceBegin(a.rank, 2), sliceSize(a.shape, 2));
  const bLo = tf.slice(b, sliceBegin(b.rank, 0), sliceSize(b.shape, 2));
  const bHi = tf.slice(b, sliceBegin(b.rank, 2), sliceSize(b.shape, 2));
  const wh = tf.maximum(tf.sub(tf.minimum(aHi, bHi), tf.maximum(aLo, bLo)), 0); // clamp(min=0): gradient passes at 0, as torch
  const [w, h] = tf.unstack(wh, last) as [tf.Tensor, tf.Tensor];
  const overlap = tf.mul(w, h);
  const denom = mode === 'iof' ? areaA : tf.sub(tf.add(areaA, areaB), overlap);
  return tf.div(overlap, tf.maximum(denom, OVERLAP_EPS));
}

function sliceBegin(rank: number, start: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === rank - 1 ? start : 0));
}

function sliceSize(shape: number[], len: number): number[] {
  return shape.map((d, i) => (i === shape.length - 1 ? len : d));
}
