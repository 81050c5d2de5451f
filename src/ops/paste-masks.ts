/**
 * Mask R-CNN inference: M×M mask probabilities (M = 28) pasted back into the image at their detection boxes,
 * thresholded, and encoded as COCO RLE — mmdet's `FCNMaskHead._predict_by_feat_single` / `_do_paste_mask` on the CPU
 * path (one mask at a time, `skip_empty=True`), reproduced:
 *
 * - only the region x ∈ [max(⌊x0⌋ − 1, 0), min(⌈x1⌉ + 1, W)), y likewise, is computed; the rest of the image is 0;
 * - pixel centres map to the mask's normalised grid, gx = ((X + 0.5 − x0) / (x1 − x0))·2 − 1 (an infinite value,
 *   from a zero-width box, becomes 0 as in mmdet, which pastes the mask's middle column; 0/0 samples nothing);
 * - `F.grid_sample(align_corners=False)`: source column (gx + 1)·M/2 − 0.5, bilinear, corners outside the mask count
 *   as 0 (zero padding) — so probabilities fade out across the box edge;
 * - binary mask = probability ≥ threshold (mmdet `mask_thr_binary`, 0.5), then COCO RLE via src/structures/rle.ts `encode`
 *   (column-major runs).
 * Grid coordinates are computed in float32 step by step (`Math.fround`) like torch's kernel, so the sample positions
 * are torch's; the interpolation is summed in another order (separably), and the fixture agrees to ~1e-7, so only a
 * probability within ~1e-6 of the threshold could binarise differently. A reversed box (x1 < x0) pastes a mirrored mask over whatever region is left, as mmdet does.
 *
 * Boxes are in the pixels of the image the masks are pasted into (rescale detections to the original image first).
 *
 * `semantics: 'torchvision'` pastes as torchvision's `paste_masks_in_image` instead (`pasteMaskProbsTorchvision`):
 * the M×M mask is zero-padded to (M + 2)², its box widened by (M + 2)/M about the centre (float32) and truncated
 * to integers (int64 cast: toward zero), the padded mask resized to (⌊y1 − y0 + 1⌋, ⌊x1 − x0 + 1⌋) pixels with
 * `F.interpolate(bilinear, align_corners=False)` (source (i + 0.5)·in/out − 0.5, clamped at 0; float32), and placed
 * with its top-left corner at (x0, y0), cut at the image border. torchvision returns probabilities; its COCO
 * evaluation binarises with `> 0.5` (`strict: true`).
 */
import * as tf from '@tensorflow/tfjs';
import { encode, type Rle } from '../structures/rle.js';
import { readBoxes, type BoxesInput } from './roi-align.js';

export interface PasteOptions {
  /** Binarisation threshold (mmdet `mask_thr_binary`); default 0.5. A pixel is foreground when prob ≥ threshold. */
  threshold?: number;
  /** Foreground when prob > threshold (torchvision's evaluation) instead of ≥ (mmdet). Default false. */
  strict?: boolean;
  /** Whose paste: 'mmdet' (default; grid_sample) or 'torchvision' (expand + resize; see the file comment). */
  semantics?: 'mmdet' | 'torchvision';
}

/** One pasted probability map: the region of the image it covers and its values there (zero elsewhere). */
export interface PastedMask {
  /** Region [x0, x1) × [y0, y1) in image pixels (empty when x1 ≤ x0 or y1 ≤ y0). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Row-major (y1 − y0) × (x1 − x0) probabilities. */
  values: Float32Array;
}

const WHO = 'pasteMasks';

/** Bilinear source positions along one axis: for output pixel i, corners `lo[i]`, `lo[i] + 1` and their weights. */
interface AxisSamples {
  lo: Int32Array;
  wLo: Float32Array;
  wHi: Float32Array;
  /** False for a NaN position (0/0): nothing is sampled. */
  ok: Uint8Array;
}

function axisSamples(start: number, end: number, b0: number, b1: number, M: number): AxisSamples {
  const f = Math.fround;
  const n = Math.max(end - start, 0);
  const lo = new Int32Array(n);
  const wLo = new Float32Array(n);
  const wHi = new Float32Array(n);
  const ok = new Uint8Array(n);
  const fb0 = f(b0);
  const span = f(f(b1) - fb0);
  const half = f(M / 2);
  for (let i = 0; i < n; i++) {
    // img = (arange + 0.5 − b0) / (b1 − b0) · 2 − 1, inf → 0 (mmdet), then grid_sample's (g + 1)·M/2 − 0.5.
    let g = f(f(f(f(f(start + i) + 0.5) - fb0) / span) * 2);
    g = f(g - 1);
    if (g === Infinity || g === -Infinity) g = 0;
    if (Number.isNaN(g)) continue;
    const s = f(f(f(g + 1) * half) - 0.5);
    const fl = Math.floor(s);
    const t = f(s - fl);
    lo[i] = fl;
    wHi[i] = t;
    wLo[i] = f(1 - t);
    ok[i] = 1;
  }
  return { lo, wLo, wHi, ok };
}

/**
 * The probability image of one M×M mask (`prob`, row-major, at `offset`) pasted at `box` (x0, y0, x1, y1) into an
 * imgH × imgW image: mmdet `_do_paste_mask` for one box. Bilinear interpolation is separable: the mask rows are first
 * interpolated at every region column, then each pixel mixes two of those rows.
 */
export function pasteMaskProbs(
  prob: ArrayLike<number>,
  M: number,
  box: ArrayLike<number>,
  imgH: number,
  imgW: number,
  offset = 0,
): PastedMask {
  const [bx0, by0, bx1, by1] = [box[0]!, box[1]!, box[2]!, box[3]!];
  const x0 = Math.max(Math.floor(bx0) - 1, 0);
  const y0 = Math.max(Math.floor(by0) - 1, 0);
  const x1 = Math.min(Math.ceil(bx1) + 1, imgW);
  const y1 = Math.min(Math.ceil(by1) + 1, imgH);
  const w = Math.max(x1 - x0, 0);
  const h = Math.max(y1 - y0, 0);
  const values = new Float32Array(w * h);
  if (w === 0 || h === 0) return { x0, y0, x1, y1, values };
  const xs = axisSamples(x0, x1, bx0, bx1, M);
  const ys = axisSamples(y0, y1, by0, by1, M);
  // rowsAt[r·w + j]: mask row r interpolated at region column j (zero padding outside the mask).
  const rowsAt = new Float64Array(M * w);
  for (let j = 0; j < w; j++) {
    if (!xs.ok[j]) continue;
    const c = xs.lo[j]!;
    const a = c >= 0 && c < M ? xs.wLo[j]! : 0;
    const b = c + 1 >= 0 && c + 1 < M ? xs.wHi[j]! : 0;
    for (let r = 0; r < M; r++) {
      const m = offset + r * M + c;
      rowsAt[r * w + j] = (a !== 0 ? a * prob[m]! : 0) + (b !== 0 ? b * prob[m + 1]! : 0);
    }
  }
  for (let i = 0; i < h; i++) {
    if (!ys.ok[i]) continue;
    const r = ys.lo[i]!;
    const a = r >= 0 && r < M ? ys.wLo[i]! : 0;
    const b = r + 1 >= 0 && r + 1 < M ? ys.wHi[i]! : 0;
    const ra = r * w;
    const rb = (r + 1) * w;
    const o = i * w;
    for (let j = 0; j < w; j++) {
      values[o + j] = (a !== 0 ? a * rowsAt[ra + j]! : 0) + (b !== 0 ? b * rowsAt[rb + j]! : 0);
    }
  }
  return { x0, y0, x1, y1, values };
}

/** torchvision's bilinear source index and weights along one axis (`F.interpolate`, align_corners=False). */
function resizeAxis(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let src = f(f(scale * f(o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const lo = Math.floor(src);
    const lam = Math.min(Math.max(f(src - lo), 0), 1);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    l1[o] = lam;
    l0[o] = f(1 - lam);
  }
  return { i0, i1, l0, l1 };
}

/**
 * torchvision `paste_mask_in_image` of one M×M mask (`prob` at `offset`) after `expand_masks` / `expand_boxes`
 * (padding 1): see the file comment. `box` is the unexpanded detection box in image pixels.
 */
export function pasteMaskProbsTorchvision(
  prob: ArrayLike<number>,
  M: number,
  box: ArrayLike<number>,
  imgH: number,
  imgW: number,
  offset = 0,
): PastedMask {
  const f = Math.fround;
  const scale = f((M + 2) / M);
  const wHalf = f(f(f(box[2]! - box[0]!) * 0.5) * scale);
  const hHalf = f(f(f(box[3]! - box[1]!) * 0.5) * scale);
  const xc = f(f(box[2]! + box[0]!) * 0.5);
  const yc = f(f(box[3]! + box[1]!) * 0.5);
  const b0 = Math.trunc(f(xc - wHalf));
  const b1 = Math.trunc(f(yc - hHalf));
  const b2 = Math.trunc(f(xc + wHalf));
  const b3 = Math.trunc(f(yc + hHalf));
  const w = Math.max(b2 - b0 + 1, 1);
  const h = Math.max(b3 - b1 + 1, 1);
  const x0 = Math.max(b0, 0);
  const x1 = Math.min(b2 + 1, imgW);
  const y0 = Math.max(b1, 0);
  const y1 = Math.min(b3 + 1, imgH);
  const rw = Math.max(x1 - x0, 0);
  const rh = Math.max(y1 - y0, 0);
  const values = new Float32Array(rw * rh);
  if (rw === 0 || rh === 0) return { x0, y0, x1, y1, values };
  const P = M + 2;
  const at = (r: number, c: number): number => (r >= 1 && r <= M && c >= 1 && c <= M ? prob[offset + (r - 1) * M + (c - 1)]! : 0);
  const xs = resizeAxis(P, w);
  const ys = resizeAxis(P, h);
  for (let i = 0; i < rh; i++) {
    const yy = y0 + i - b1;
    const [r0, r1, h0, h1] = [ys.i0[yy]!, ys.i1[yy]!, ys.l0[yy]!, ys.l1[yy]!];
    for (let j = 0; j < rw; j++) {
      const xx = x0 + j - b0;
      const [c0, c1, w0, w1] = [xs.i0[xx]!, xs.i1[xx]!, xs.l0[xx]!, xs.l1[xx]!];
      values[i * rw + j] = h0 * (w0 * at(r0, c0) + w1 * at(r0, c1)) + h1 * (w0 * at(r1, c0) + w1 * at(r1, c1));
    }
  }
  return { x0, y0, x1, y1, values };
}

/** Probabilities as a flat Float32Array and M, from a tensor [N, M, M] (or [N, M, M, 1]) or a flat array. */
function readProbs(probs: tf.Tensor | Float32Array, N: number, maskSize: number | undefined): { data: Float32Array; M: number } {
  if (probs instanceof tf.Tensor) {
    const s = probs.shape;
    const ok = (s.length === 3 || (s.length === 4 && s[3] === 1)) && s[1] === s[2] && s[0] === N;
    if (!ok) throw new RangeError(`${WHO}: probabilities must be [N, M, M] with N = ${N} boxes, got [${s.join(', ')}]`);
    return { data: probs.dataSync() as Float32Array, M: s[1]! };
  }
  const M = maskSize ?? 28;
  if (probs.length !== N * M * M) {
    throw new RangeError(`${WHO}: ${probs.length} probabilities for ${N} boxes of ${M}×${M} (expected ${N * M * M})`);
  }
  return { data: probs, M };
}

/**
 * A column-major RLE of the image columns [x0, x0 + band.w) (full height) as the RLE of the whole imgW-wide image:
 * the columns before and after are zeros, so only the first and last runs change.
 */
function widen(band: Rle, x0: number, imgW: number): Rle {
  const H = band.h;
  const counts = Array.from(band.counts);
  counts[0] += x0 * H;
  const after = (imgW - x0 - band.w) * H;
  if (counts.length % 2 === 1) counts[counts.length - 1] += after;
  else if (after > 0) counts.push(after);
  return { h: H, w: imgW, counts: Uint32Array.from(counts) };
}

/**
 * Paste N mask probability maps at their boxes into an imgH × imgW image, threshold, and encode each as COCO RLE
 * (column-major, src/structures/rle.ts `encode`). `probs` is [N, M, M] (a tensor, or a flat Float32Array with `maskSize` M,
 * default 28); `boxes` [N, 4] x0, y0, x1, y1 in image pixels. Only the columns a box's region spans are encoded
 * (full height); the zero columns on either side are added to the first and last run.
 */
export function pasteMasks(
  probs: tf.Tensor | Float32Array,
  boxes: BoxesInput,
  imgH: number,
  imgW: number,
  opts: PasteOptions & { maskSize?: number } = {},
): Rle[] {
  if (!Number.isInteger(imgH) || !Number.isInteger(imgW) || imgH < 1 || imgW < 1) {
    throw new RangeError(`${WHO}: image size must be positive integers, got ${imgH}×${imgW}`);
  }
  const thr = opts.threshold ?? 0.5;
  const strict = opts.strict ?? false;
  const paste = opts.semantics === 'torchvision' ? pasteMaskProbsTorchvision : pasteMaskProbs;
  if (!Number.isFinite(thr)) throw new RangeError(`${WHO}: threshold must be a finite number, got ${thr}`);
  const flat = readBoxes(boxes, 'boxes', WHO);
  const N = flat.length / 4;
  const { data, M } = readProbs(probs, N, opts.maskSize);
  // Column-major band of full-height columns, reused: set a region, encode its columns, clear the region again.
  const band = new Uint8Array(imgH * imgW);
  const out: Rle[] = [];
  for (let i = 0; i < N; i++) {
    const p = paste(data, M, flat.subarray(4 * i, 4 * i + 4), imgH, imgW, i * M * M);
    const w = p.x1 - p.x0;
    const h = p.y1 - p.y0;
    if (w <= 0 || h <= 0) {
      out.push({ h: imgH, w: imgW, counts: Uint32Array.of(imgH * imgW) });
      continue;
    }
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const v = p.values[r * w + c]!;
        if (strict ? v > thr : v >= thr) band[c * imgH + p.y0 + r] = 1;
      }
    }
    out.push(widen(encode(band.subarray(0, w * imgH), imgH, w, 'col'), p.x0, imgW));
    for (let c = 0; c < w; c++) band.fill(0, c * imgH + p.y0, c * imgH + p.y1);
  }
  return out;
}
