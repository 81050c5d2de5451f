/**
 * The delta-xywh box coder: boxes ↔ regression deltas (dx, dy, dw, dh) relative to anchors / proposals.
 *
 * Reference behaviour: mmdetection's `DeltaXYWHBBoxCoder` (`bbox2delta` / `delta2bbox` in
 * mmdet/models/task_modules/coders/delta_xywh_bbox_coder.py):
 *   encode  p = proposal, g = target:  dx = (g_cx − p_cx)/p_w, dy = (g_cy − p_cy)/p_h, dw = log(g_w/p_w),
 *           dh = log(g_h/p_h); then (d − means)/stds.
 *   decode  d ← d·stds + means; dw, dh clamped to ±|log(wh_ratio_clip)| (wh_ratio_clip = 16/1000, i.e. ±4.135);
 *           c = p_c + p_wh·d_xy, wh = p_wh·exp(d_wh), box = c ∓ wh/2; with `clipBorder` (default true) and a
 *           `maxShape` [h, w] the box is clamped to x ∈ [0, w], y ∈ [0, h].
 *   Class-specific regression: deltas may hold k groups of 4 per box ([n, 4k]); each group decodes against the
 *   same roi (mmdet's `rois.repeat(1, num_classes)`).
 * Centres and sizes have no "+1" (mmdet ≥ 2.0). The YOLOF-only centre clamp is not implemented.
 *
 * Two forms: typed arrays (`encodeDeltas`, `decodeDeltas`: CPU-side targets and post-processing; PyTorch's float32
 * arithmetic step by step, so within 1 ulp of mmdet on float32 tensors) and TF.js tensors (`encodeDeltasTensor`,
 * `decodeDeltasTensor`: differentiable, for use inside the graph).
 */
import * as tf from '@tensorflow/tfjs';
import { numBoxes, type BoxArray } from './boxes.js';

export type Vec4 = readonly [number, number, number, number];

/** Normalisation of the deltas: (d − means) / stds. mmdet defaults: means 0, stds 1. */
export interface DeltaCoderOptions {
  /** Default [0, 0, 0, 0]. */
  means?: Vec4;
  /** Default [1, 1, 1, 1] (RetinaNet, RPN); Mask R-CNN's RoI head uses [0.1, 0.1, 0.2, 0.2]. */
  stds?: Vec4;
}

export interface DecodeOptions extends DeltaCoderOptions {
  /** Image [height, width] to clip decoded boxes to (only with `clipBorder`). Default: no clipping. */
  maxShape?: readonly [number, number];
  /** dw, dh are clamped to ±|log(whRatioClip)|. Default 16/1000 (mmdet). */
  whRatioClip?: number;
  /** Clip to `maxShape` when given. Default true (mmdet). */
  clipBorder?: boolean;
  /**
   * torchvision's `BoxCoder(weights)` instead of mmdet's means / stds: deltas are DIVIDED by the weights
   * ((10, 10, 5, 5) for the RoI heads, (1, 1, 1, 1) for RPN and RetinaNet), dw / dh are clamped from above only at
   * `bbox_xform_clip` = log(1000/16), and centres are x1 + 0.5·w (torchvision's `decode_single`, step by step in
   * float32). `means` / `stds` / `whRatioClip` must not be given with it.
   */
  weights?: Vec4;
}

/** torchvision's `bbox_xform_clip` (float32, as the clamp of a float32 tensor). */
export const BBOX_XFORM_CLIP = Math.fround(Math.log(1000 / 16));

/** mmdet's default `wh_ratio_clip`. */
export const WH_RATIO_CLIP = 16 / 1000;

const ZEROS: Vec4 = [0, 0, 0, 0];
const ONES: Vec4 = [1, 1, 1, 1];
const f = Math.fround;

function checkVec4(v: Vec4, name: string): void {
  if (v.length !== 4 || v.some((x) => !Number.isFinite(x))) throw new Error(`box coder: ${name} must be 4 finite numbers, got [${v.join(', ')}]`);
}

function stdsOf(opts: DeltaCoderOptions): Vec4 {
  const stds = opts.stds ?? ONES;
  checkVec4(stds, 'stds');
  if (stds.some((s) => s === 0)) throw new Error(`box coder: stds must be non-zero, got [${stds.join(', ')}]`);
  return stds;
}

function meansOf(opts: DeltaCoderOptions): Vec4 {
  const means = opts.means ?? ZEROS;
  checkVec4(means, 'means');
  return means;
}

/** The dw/dh clamp bound |log(whRatioClip)| (as float32, as PyTorch's clamp of a float32 tensor). */
export function maxDeltaRatio(whRatioClip: number = WH_RATIO_CLIP): number {
  if (!(whRatioClip > 0)) throw new Error(`box coder: whRatioClip must be > 0, got ${whRatioClip}`);
  return f(Math.abs(Math.log(whRatioClip)));
}

/**
 * Deltas that move each `proposals[i]` onto `gt[i]` (same count) → `Float32Array` [n × 4]. Zero-width proposals
 * give ±Infinity / NaN as in mmdet (anchors never have zero size).
 */
export function encodeDeltas(proposals: BoxArray, gt: BoxArray, opts: DeltaCoderOptions = {}): Float32Array {
  const n = numBoxes(proposals, 'encodeDeltas: proposals');
  if (numBoxes(gt, 'encodeDeltas: gt') !== n) throw new Error(`encodeDeltas: ${n} proposals but ${gt.length / 4} gt boxes`);
  const means = meansOf(opts);
  const stds = stdsOf(opts);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const px = f(f(proposals[o]! + proposals[o + 2]!) * 0.5);
    const py = f(f(proposals[o + 1]! + proposals[o + 3]!) * 0.5);
    const pw = f(proposals[o + 2]! - proposals[o]!);
    const ph = f(proposals[o + 3]! - proposals[o + 1]!);
    const gx = f(f(gt[o]! + gt[o + 2]!) * 0.5);
    const gy = f(f(gt[o + 1]! + gt[o + 3]!) * 0.5);
    const gw = f(gt[o + 2]! - gt[o]!);
    const gh = f(gt[o + 3]! - gt[o + 1]!);
    const d0 = f(f(gx - px) / pw);
    const d1 = f(f(gy - py) / ph);
    const d2 = f(Math.log(f(gw / pw)));
    const d3 = f(Math.log(f(gh / ph)));
    out[o] = f(f(d0 - f(means[0])) / f(stds[0]));
    out[o + 1] = f(f(d1 - f(means[1])) / f(stds[1]));
    out[o + 2] = f(f(d2 - f(means[2])) / f(stds[2]));
    out[o + 3] = f(f(d3 - f(means[3])) / f(stds[3]));
  }
  return out;
}

/**
 * Boxes from `rois` [n × 4] and `deltas` [n × 4k] (k ≥ 1 groups per roi) → `Float32Array` [n × 4k].
 */
export function decodeDeltas(rois: BoxArray, deltas: Float32Array, opts: DecodeOptions = {}): Float32Array {
  const n = numBoxes(rois, 'decodeDeltas: rois');
  if (n === 0) {
    if (deltas.length !== 0) throw new Error(`decodeDeltas: 0 rois but ${deltas.length} delta values`);
    return new Float32Array(0);
  }
  if (deltas.length % (4 * n) !== 0) {
    throw new Error(`decodeDeltas: ${deltas.length} delta values for ${n} rois (need n × 4k)`);
  }
  const k = deltas.length / (4 * n);
  if (opts.weights) return decodeTorchvision(rois, deltas, n, k, opts);
  const means = meansOf(opts).map(f);
  const stds = stdsOf(opts).map(f);
  const maxRatio = maxDeltaRatio(opts.whRatioClip);
  const clip = (opts.clipBorder ?? true) && opts.maxShape !== undefined;
  const [maxH, maxW] = opts.maxShape ?? [0, 0];
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < n; i++) {
    const r = i * 4;
    const px = f(f(rois[r]! + rois[r + 2]!) * 0.5);
    const py = f(f(rois[r + 1]! + rois[r + 3]!) * 0.5);
    const pw = f(rois[r + 2]! - rois[r]!);
    const ph = f(rois[r + 3]! - rois[r + 1]!);
    for (let c = 0; c < k; c++) {
      const o = (i * k + c) * 4;
      const dx = f(f(deltas[o]! * stds[0]!) + means[0]!);
      const dy = f(f(deltas[o + 1]! * stds[1]!) + means[1]!);
      let dw = f(f(deltas[o + 2]! * stds[2]!) + means[2]!);
      let dh = f(f(deltas[o + 3]! * stds[3]!) + means[3]!);
      if (dw < -maxRatio) dw = -maxRatio;
      else if (dw > maxRatio) dw = maxRatio;
      if (dh < -maxRatio) dh = -maxRatio;
      else if (dh > maxRatio) dh = maxRatio;
      const gx = f(px + f(pw * dx));
      const gy = f(py + f(ph * dy));
      const halfW = f(f(pw * f(Math.exp(dw))) * 0.5);
      const halfH = f(f(ph * f(Math.exp(dh))) * 0.5);
      writeBox(out, o, f(gx - halfW), f(gy - halfH), f(gx + halfW), f(gy + halfH), clip, maxW, maxH);
    }
  }
  return out;
}

/** Writes a decoded box at `out[o…o+3]`, clipped to [0, maxW] × [0, maxH] when `clip` (both decoders' last step). */
function writeBox(out: Float32Array, o: number, x1: number, y1: number, x2: number, y2: number, clip: boolean, maxW: number, maxH: number): void {
  const cx = (v: number) => (v < 0 ? 0 : v > maxW ? maxW : v);
  const cy = (v: number) => (v < 0 ? 0 : v > maxH ? maxH : v);
  out[o] = clip ? cx(x1) : x1;
  out[o + 1] = clip ? cy(y1) : y1;
  out[o + 2] = clip ? cx(x2) : x2;
  out[o + 3] = clip ? cy(y2) : y2;
}

/** torchvision `BoxCoder.decode_single` (+ `clip_boxes_to_image` with `maxShape`); see `DecodeOptions.weights`. */
function decodeTorchvision(rois: BoxArray, deltas: Float32Array, n: number, k: number, opts: DecodeOptions): Float32Array {
  if (opts.means || opts.stds || opts.whRatioClip !== undefined) {
    throw new Error('decodeDeltas: give either torchvision `weights` or mmdet `means` / `stds` / `whRatioClip`, not both');
  }
  const w = opts.weights!;
  checkVec4(w, 'weights');
  if (w.some((x) => x === 0)) throw new Error(`box coder: weights must be non-zero, got [${w.join(', ')}]`);
  const [wx, wy, ww, wh] = w.map(f) as unknown as Vec4;
  const clip = (opts.clipBorder ?? true) && opts.maxShape !== undefined;
  const [maxH, maxW] = opts.maxShape ?? [0, 0];
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < n; i++) {
    const r = i * 4;
    const width = f(rois[r + 2]! - rois[r]!);
    const height = f(rois[r + 3]! - rois[r + 1]!);
    const cx = f(rois[r]! + f(0.5 * width));
    const cy = f(rois[r + 1]! + f(0.5 * height));
    for (let c = 0; c < k; c++) {
      const o = (i * k + c) * 4;
      const dx = f(deltas[o]! / wx);
      const dy = f(deltas[o + 1]! / wy);
      let dw = f(deltas[o + 2]! / ww);
      let dh = f(deltas[o + 3]! / wh);
      if (dw > BBOX_XFORM_CLIP) dw = BBOX_XFORM_CLIP;
      if (dh > BBOX_XFORM_CLIP) dh = BBOX_XFORM_CLIP;
      const px = f(f(dx * width) + cx);
      const py = f(f(dy * height) + cy);
      const hw = f(0.5 * f(f(Math.exp(dw)) * width));
      const hh = f(0.5 * f(f(Math.exp(dh)) * height));
      writeBox(out, o, f(px - hw), f(py - hh), f(px + hw), f(py + hh), clip, maxW, maxH);
    }
  }
  return out;
}

// ---- tensors ------------------------------------------------------------------------------------------------------

/** [.., 4] → four [..] tensors. */
function coords(t: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.unstack(t, t.rank - 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
}

/** `encodeDeltas` on tensors: proposals, gt [..., 4] of the same shape → deltas [..., 4] (differentiable). */
export function encodeDeltasTensor(proposals: tf.Tensor, gt: tf.Tensor, opts: DeltaCoderOptions = {}): tf.Tensor {
  if (proposals.shape[proposals.rank - 1] !== 4 || !tf.util.arraysEqual(proposals.shape, gt.shape)) {
    throw new Error(`encodeDeltasTensor: proposals [${proposals.shape.join(', ')}] and gt [${gt.shape.join(', ')}] must both be [..., 4]`);
  }
  const means = meansOf(opts);
  const stds = stdsOf(opts);
  return tf.tidy(() => {
    const [px1, py1, px2, py2] = coords(proposals);
    const [gx1, gy1, gx2, gy2] = coords(gt);
    const pw = tf.sub(px2, px1);
    const ph = tf.sub(py2, py1);
    const dx = tf.div(tf.sub(tf.mul(tf.add(gx1, gx2), 0.5), tf.mul(tf.add(px1, px2), 0.5)), pw);
    const dy = tf.div(tf.sub(tf.mul(tf.add(gy1, gy2), 0.5), tf.mul(tf.add(py1, py2), 0.5)), ph);
    const dw = tf.log(tf.div(tf.sub(gx2, gx1), pw));
    const dh = tf.log(tf.div(tf.sub(gy2, gy1), ph));
    const d = tf.stack([dx, dy, dw, dh], -1);
    return tf.div(tf.sub(d, tf.tensor1d([...means])), tf.tensor1d([...stds]));
  });
}

/**
 * `decodeDeltas` on tensors: rois [..., n, 4] and deltas [..., n, 4k] → boxes [..., n, 4k] (differentiable; the
 * dw/dh clamp and the border clip pass no gradient outside their range, as torch.clamp).
 */
export function decodeDeltasTensor(rois: tf.Tensor, deltas: tf.Tensor, opts: DecodeOptions = {}): tf.Tensor {
  const last = deltas.shape[deltas.rank - 1]!;
  if (rois.shape[rois.rank - 1] !== 4 || last % 4 !== 0 || last === 0 || rois.rank !== deltas.rank) {
    throw new Error(`decodeDeltasTensor: rois [${rois.shape.join(', ')}] must be [..., n, 4] and deltas [${deltas.shape.join(', ')}] [..., n, 4k]`);
  }
  const means = meansOf(opts);
  const stds = stdsOf(opts);
  const maxRatio = maxDeltaRatio(opts.whRatioClip);
  const k = last / 4;
  return tf.tidy(() => {
    const d4 = tf.reshape(deltas, [...deltas.shape.slice(0, -1), k, 4]);
    const r4 = tf.expandDims(rois, rois.rank - 1); // [..., n, 1, 4]
    const denorm = tf.add(tf.mul(d4, tf.tensor1d([...stds])), tf.tensor1d([...means]));
    const [dx, dy, dwRaw, dhRaw] = coords(denorm);
    const dw = tf.clipByValue(dwRaw, -maxRatio, maxRatio);
    const dh = tf.clipByValue(dhRaw, -maxRatio, maxRatio);
    const [x1, y1, x2, y2] = coords(r4);
    const pw = tf.sub(x2, x1);
    const ph = tf.sub(y2, y1);
    const gx = tf.add(tf.mul(tf.add(x1, x2), 0.5), tf.mul(pw, dx));
    const gy = tf.add(tf.mul(tf.add(y1, y2), 0.5), tf.mul(ph, dy));
    const halfW = tf.mul(tf.mul(pw, tf.exp(dw)), 0.5);
    const halfH = tf.mul(tf.mul(ph, tf.exp(dh)), 0.5);
    let bx1 = tf.sub(gx, halfW);
    let by1 = tf.sub(gy, halfH);
    let bx2 = tf.add(gx, halfW);
    let by2 = tf.add(gy, halfH);
    if ((opts.clipBorder ?? true) && opts.maxShape !== undefined) {
      const [h, w] = opts.maxShape;
      bx1 = tf.clipByValue(bx1, 0, w);
      bx2 = tf.clipByValue(bx2, 0, w);
      by1 = tf.clipByValue(by1, 0, h);
      by2 = tf.clipByValue(by2, 0, h);
    }
    return tf.reshape(tf.stack([bx1, by1, bx2, by2], -1), deltas.shape);
  });
}
