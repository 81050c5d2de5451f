/**
 * RoIAlign on one feature map (NHWC), with the semantics of `torchvision.ops.roi_align` / mmcv `RoIAlign`
 * (pool mode 'avg'), differentiable with respect to the features.
 *
 * Reference behaviour (torchvision 0.14 `roi_align_kernel.cpp`, mmcv `roi_align`):
 * - box `[x1, y1, x2, y2]` in input-image pixels → feature coordinates `x·spatialScale − 0.5` when `aligned`
 *   (the half-pixel offset; without it the RoI size is clamped to ≥ 1, torchvision's legacy mode);
 * - the RoI is cut into `outH × outW` bins; each bin averages a `gh × gw` grid of bilinear samples at the centres of
 *   its sub-cells, `g = samplingRatio` or, for `samplingRatio = 0`, `ceil(roiSize / out)` per RoI (adaptive);
 * - border rules of the bilinear sample: a sample with y < −1 or y > H (x < −1 or x > W) contributes 0; otherwise
 *   y ≤ 0 is clamped to 0, and a sample whose floor is ≥ H − 1 reads row H − 1 only;
 * - the divisor is `gh·gw` (samples that fall outside count as zeros); a grid ≤ 0 (a reversed box with adaptive
 *   sampling) gives zeros, while a reversed box with a fixed ratio samples backwards, as torchvision does;
 * - coordinates are computed in float32 as the C++ code does (`Math.fround` at each step), so grid sizes and
 *   sample positions agree with torchvision bit for bit; only the order of the final sums differs (~1e-7).
 *
 * How it is computed: a bilinear sample is a product of a weight over rows and a weight over columns, and so is the
 * average over a bin's grid. Each RoI is therefore `out = Ay · F · Axᵀ` with sparse per-bin row weights Ay
 * [outH × rows] and column weights Ax [outW × cols] (each bin touches ≈ roiSize/out + 1 rows/columns). The forward
 * contracts columns, then rows; the backward (the scatter-add of the output gradient to the four neighbours of every
 * sample with its bilinear weights, as torchvision's) is the same factorisation transposed: Ayᵀ, then Axᵀ. Every
 * step is a weighted sum of channel-contiguous NHWC rows (src/ops/roi-align-accum.ts): on the wasm backend a SIMD
 * WebAssembly loop straight on TF.js's heap (no copies), elsewhere JavaScript. No gradient flows to the boxes (as in
 * torchvision).
 */
import * as tf from '@tensorflow/tfjs';
import { heapF32, newHeapTensor } from '../engine/kernels/tensor-plumbing.js';
import { customOp } from '../nn/custom-op.js';
import { heapMemory, jsMemory, type FloatMemory } from './roi-align-accum.js';
import { roiAlignOnDevice, roiAlignTensor } from './roi-align-tensor.js';

export interface RoiAlignOptions {
  /** Output bins, `n` for n×n or `[outH, outW]` (7 for box heads, 14 for mask heads). */
  outputSize: number | readonly [number, number];
  /** Feature pixels per input pixel: 1 / stride (1/4 for P2). */
  spatialScale: number;
  /** Samples per bin along each axis; 0 (default) = adaptive `ceil(roiSize / out)` per RoI. */
  samplingRatio?: number;
  /** Half-pixel offset (−0.5) as mmcv's default and torchvision `aligned=True`; default true. */
  aligned?: boolean;
}

/** Boxes as `[K, 4]` x1, y1, x2, y2 (input-image pixels): a tensor, a flat array of 4K numbers, or rows. */
export type BoxesInput = tf.Tensor | Float32Array | Float64Array | readonly number[] | readonly (readonly number[])[];
/** The batch image of each RoI (default: all 0). */
export type BatchIndexInput = tf.Tensor | Int32Array | readonly number[];

/**
 * Sampling weights along one axis (rows or columns), both ways round. Weight offsets point into `RoiAlignPlan.weights`.
 * - per (RoI k, bin p), index b = k·out + p: the bin reads segments `segFirst[b] … segFirst[b] + segCount[b] − 1`,
 *   segment s being indices `segLo[s] … segLo[s] + segLen[s] − 1` with weights at `segOff[s]` (one segment per bin
 *   with adaptive sampling; a fixed ratio on a large box leaves gaps between its samples);
 * - per RoI k: all its bins together read indices `i0[k] … i0[k] + span[k] − 1`;
 * - per (RoI, index), entry t = first[k] + (index − i0[k]): bins `p0[t] … p0[t] + np[t] − 1` read that index, with
 *   weights (zero where a bin in that range does not) at `toff[t]`; np[t] = 0 when no sample reads the index.
 */
export interface AxisTable {
  segFirst: Int32Array;
  segCount: Int32Array;
  segLo: Int32Array;
  segLen: Int32Array;
  segOff: Int32Array;
  i0: Int32Array;
  span: Int32Array;
  first: Int32Array;
  p0: Int32Array;
  np: Int32Array;
  toff: Int32Array;
}

/** Everything the forward and backward passes need for K RoIs on one feature map (boxes are data, not tensors). */
export interface RoiAlignPlan {
  count: number;
  outH: number;
  outW: number;
  /** Feature map height and width the plan was made for. */
  height: number;
  width: number;
  batch: Int32Array;
  y: AxisTable;
  x: AxisTable;
  /** All weights of both axes (bin-major and index-major), each already divided by its axis' grid size. */
  weights: Float32Array;
  /** The largest row span of a RoI: the passes need `maxSpan · outW · C` floats of scratch. */
  maxSpan: number;
}

/** Output bins as [outH, outW], checked. */
export function outputHW(size: RoiAlignOptions['outputSize']): [number, number] {
  const hw: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  for (const v of hw) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`roiAlign: outputSize must be positive integers, got ${String(size)}`);
  }
  return hw;
}

/**
 * Boxes as a flat Float32Array of 4K values, validated (finite numbers). Errors start with `who` and name the box,
 * e.g. `roiAlign: boxes[3].x2: expected a finite number, got NaN`.
 */
export function readBoxes(boxes: BoxesInput, what = 'boxes', who = 'roiAlign'): Float32Array {
  let flat: Float32Array;
  if (boxes instanceof tf.Tensor) {
    if (boxes.rank !== 2 || boxes.shape[1] !== 4) {
      throw new RangeError(`${who}: ${what} must have shape [K, 4], got [${boxes.shape.join(', ')}]`);
    }
    flat = Float32Array.from(boxes.dataSync());
  } else if (boxes instanceof Float32Array || boxes instanceof Float64Array) {
    flat = Float32Array.from(boxes);
  } else if (boxes.length > 0 && Array.isArray(boxes[0])) {
    const rows = boxes as readonly (readonly number[])[];
    flat = new Float32Array(rows.length * 4);
    rows.forEach((r, k) => {
      if (!Array.isArray(r) || r.length !== 4) {
        throw new RangeError(`${who}: ${what}[${k}]: expected [x1, y1, x2, y2], got ${JSON.stringify(r)}`);
      }
      flat.set(r, k * 4);
    });
  } else {
    flat = Float32Array.from(boxes as readonly number[]);
  }
  if (flat.length % 4 !== 0) throw new RangeError(`${who}: ${what} has ${flat.length} numbers, not a multiple of 4`);
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) {
      const k = (i / 4) | 0;
      const field = ['x1', 'y1', 'x2', 'y2'][i % 4];
      throw new RangeError(`${who}: ${what}[${k}].${field}: expected a finite number, got ${flat[i]}`);
    }
  }
  return flat;
}

/** Batch indices for K RoIs, validated against the batch size N (errors start with `who`). */
export function readBatchIndices(batch: BatchIndexInput | undefined, K: number, N: number, who = 'roiAlign'): Int32Array {
  if (batch === undefined) {
    if (N < 1 && K > 0) throw new RangeError(`${who}: the feature map has batch size 0`);
    return new Int32Array(K);
  }
  const vals = batch instanceof tf.Tensor ? batch.dataSync() : batch;
  if (vals.length !== K) throw new RangeError(`${who}: ${vals.length} batch indices for ${K} boxes`);
  const out = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    const b = vals[k]!;
    if (!Number.isInteger(b) || b < 0 || b >= N) {
      throw new RangeError(`${who}: batchIndices[${k}]: expected an integer in [0, ${N - 1}], got ${b}`);
    }
    out[k] = b;
  }
  return out;
}

/** Samples along one axis of one RoI beyond which we refuse (a box ~10⁶ bins wide is a bug upstream). */
const MAX_AXIS_SAMPLES = 1 << 22;

interface BinWeights {
  lo: Int32Array;
  len: Int32Array;
  off: Int32Array;
  w: Float64Array;
}

/**
 * Per-bin weights along one axis for every RoI: `starts[k]`, `sizes[k]` (float32 feature coordinates), `grids[k]`
 * samples per bin, `extent` = H or W. Sample positions and bilinear weights follow torchvision in float32.
 */
function binWeights(starts: Float32Array, sizes: Float32Array, grids: Int32Array, pooled: number, extent: number): BinWeights {
  const f = Math.fround;
  const K = starts.length;
  const nb = K * pooled;
  const lo = new Int32Array(nb);
  const len = new Int32Array(nb);
  const off = new Int32Array(nb);
  let w = new Float64Array(0);
  for (let pass = 0; pass < 2; pass++) {
    let total = 0;
    for (let k = 0; k < K; k++) {
      const g = grids[k]!;
      const start = starts[k]!;
      const bin = f(sizes[k]! / pooled);
      for (let p = 0; p < pooled; p++) {
        const b = k * pooled + p;
        let first = -1;
        let last = -1;
        for (let i = 0; i < g; i++) {
          // y = roi_start + p * bin_size + (i + .5f) * bin_size / grid, float32, left to right.
          let y = f(f(start + f(p * bin)) + f(f(f(i + 0.5) * bin) / g));
          if (y < -1 || y > extent) continue;
          if (y <= 0) y = 0;
          let low = Math.trunc(y);
          let high: number;
          if (low >= extent - 1) {
            high = low = extent - 1;
            y = low;
          } else {
            high = low + 1;
          }
          if (pass === 0) {
            // A reversed box with a fixed ratio samples backwards: track min and max.
            if (first < 0 || low < first) first = low;
            if (high > last) last = high;
          } else {
            const ly = f(y - low);
            const hy = f(1 - ly);
            w[off[b]! + low - lo[b]!] += hy / g;
            w[off[b]! + high - lo[b]!] += ly / g;
          }
        }
        if (pass === 0) {
          lo[b] = first < 0 ? 0 : first;
          len[b] = first < 0 ? 0 : last - first + 1;
          off[b] = total;
          total += len[b]!;
        }
      }
    }
    if (pass === 0) w = new Float64Array(total);
  }
  return { lo, len, off, w };
}

/** Per RoI, the indices its bins read together: `i0[k] … i0[k] + span[k] − 1`; `first[k]` numbers them across RoIs. */
function roiSpans(bins: BinWeights, K: number, pooled: number) {
  const i0 = new Int32Array(K);
  const span = new Int32Array(K);
  const first = new Int32Array(K);
  let entries = 0;
  for (let k = 0; k < K; k++) {
    let a = Infinity;
    let z = -Infinity;
    for (let p = 0; p < pooled; p++) {
      const b = k * pooled + p;
      if (bins.len[b] === 0) continue;
      a = Math.min(a, bins.lo[b]!);
      z = Math.max(z, bins.lo[b]! + bins.len[b]!);
    }
    i0[k] = a < z ? a : 0;
    span[k] = a < z ? z - a : 0;
    first[k] = entries;
    entries += span[k]!;
  }
  return { i0, span, first, entries };
}

/** Index-major weights: for each (RoI, index) the bins that read it and their weights (np = 0: none does). */
function indexMajor(bins: BinWeights, spans: ReturnType<typeof roiSpans>, K: number, pooled: number) {
  const { i0, span, first, entries } = spans;
  const p0 = new Int32Array(entries);
  const np = new Int32Array(entries);
  const toff = new Int32Array(entries);
  const reads = (b: number, idx: number) => idx >= bins.lo[b]! && idx < bins.lo[b]! + bins.len[b]!;
  let total = 0;
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < span[k]!; i++) {
      let a = -1;
      let z = -1;
      for (let p = 0; p < pooled; p++) {
        if (!reads(k * pooled + p, i0[k]! + i)) continue;
        if (a < 0) a = p;
        z = p;
      }
      const t = first[k]! + i;
      p0[t] = a < 0 ? 0 : a;
      np[t] = a < 0 ? 0 : z - a + 1;
      toff[t] = total;
      total += np[t]!;
    }
  }
  const w = new Float64Array(total);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < span[k]!; i++) {
      const idx = i0[k]! + i;
      const t = first[k]! + i;
      let any = false;
      for (let j = 0; j < np[t]!; j++) {
        const b = k * pooled + p0[t]! + j;
        if (reads(b, idx)) w[toff[t]! + j] = bins.w[bins.off[b]! + idx - bins.lo[b]!]!;
        if (w[toff[t]! + j] !== 0) any = true;
      }
      // An index inside a bin's range that no sample reads (sparse sampling of a large box): nothing to do.
      if (!any) np[t] = 0;
    }
  }
  return { p0, np, toff, w };
}

/** Bin-major segments: the runs of non-zero weights within each bin's index range. */
function binSegments(bins: BinWeights) {
  const nb = bins.lo.length;
  const segFirst = new Int32Array(nb);
  const segCount = new Int32Array(nb);
  const lo: number[] = [];
  const len: number[] = [];
  const off: number[] = [];
  for (let b = 0; b < nb; b++) {
    segFirst[b] = lo.length;
    let run = -1;
    for (let r = 0; r <= bins.len[b]!; r++) {
      const nz = r < bins.len[b]! && bins.w[bins.off[b]! + r] !== 0;
      if (nz && run < 0) run = r;
      if (!nz && run >= 0) {
        lo.push(bins.lo[b]! + run);
        len.push(r - run);
        off.push(bins.off[b]! + run);
        run = -1;
      }
    }
    segCount[b] = lo.length - segFirst[b]!;
  }
  return { segFirst, segCount, segLo: Int32Array.from(lo), segLen: Int32Array.from(len), segOff: Int32Array.from(off) };
}

/** Both views of one axis; weight offsets are relative to `binW` (segments) and `idxW` (index-major). */
function axisTable(bins: BinWeights, K: number, pooled: number): { table: AxisTable; binW: Float64Array; idxW: Float64Array } {
  const spans = roiSpans(bins, K, pooled);
  const { p0, np, toff, w } = indexMajor(bins, spans, K, pooled);
  const { i0, span, first } = spans;
  return { table: { ...binSegments(bins), i0, span, first, p0, np, toff }, binW: bins.w, idxW: w };
}

/**
 * The sampling plan of K RoIs on an H×W feature map. `boxes` is a flat [K·4] array (see {@link readBoxes}),
 * `batch` the image of each RoI.
 */
export function planRoiAlign(
  boxes: Float32Array,
  batch: Int32Array,
  height: number,
  width: number,
  opts: RoiAlignOptions,
): RoiAlignPlan {
  const [outH, outW] = outputHW(opts.outputSize);
  const scale = opts.spatialScale;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`roiAlign: spatialScale must be > 0, got ${scale}`);
  const ratio = opts.samplingRatio ?? 0;
  if (!Number.isInteger(ratio) || ratio < 0) {
    throw new RangeError(`roiAlign: samplingRatio must be a non-negative integer, got ${ratio}`);
  }
  const aligned = opts.aligned ?? true;
  const K = batch.length;
  if (boxes.length !== K * 4) throw new RangeError(`roiAlign: ${boxes.length / 4} boxes but ${K} batch indices`);
  const f = Math.fround;
  const fs = f(scale);
  const offset = aligned ? 0.5 : 0;
  const ys = new Float32Array(K);
  const hs = new Float32Array(K);
  const xs = new Float32Array(K);
  const ws = new Float32Array(K);
  const gy = new Int32Array(K);
  const gx = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    const x1 = f(f(boxes[4 * k]! * fs) - offset);
    const y1 = f(f(boxes[4 * k + 1]! * fs) - offset);
    const x2 = f(f(boxes[4 * k + 2]! * fs) - offset);
    const y2 = f(f(boxes[4 * k + 3]! * fs) - offset);
    let rw = f(x2 - x1);
    let rh = f(y2 - y1);
    if (!aligned) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    xs[k] = x1;
    ys[k] = y1;
    ws[k] = rw;
    hs[k] = rh;
    gy[k] = ratio > 0 ? ratio : Math.ceil(f(rh / outH));
    gx[k] = ratio > 0 ? ratio : Math.ceil(f(rw / outW));
    if (gy[k]! * outH > MAX_AXIS_SAMPLES || gx[k]! * outW > MAX_AXIS_SAMPLES) {
      throw new RangeError(
        `roiAlign: boxes[${k}] [${Array.from(boxes.subarray(4 * k, 4 * k + 4)).join(', ')}] spans ` +
          `${Math.max(rw, rh)} feature pixels at spatialScale ${scale}: too large to sample`,
      );
    }
  }
  const yt = axisTable(binWeights(ys, hs, gy, outH, height), K, outH);
  const xt = axisTable(binWeights(xs, ws, gx, outW, width), K, outW);
  // Pack the four weight sets into one array and point the offsets at it.
  const parts = [yt.binW, xt.binW, yt.idxW, xt.idxW];
  const weights = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  const bases: number[] = [];
  parts.reduce((at, p) => {
    bases.push(at);
    weights.set(p, at);
    return at + p.length;
  }, 0);
  const shift = (a: Int32Array, by: number) => {
    for (let i = 0; i < a.length; i++) a[i] += by;
  };
  shift(yt.table.segOff, bases[0]!);
  shift(xt.table.segOff, bases[1]!);
  shift(yt.table.toff, bases[2]!);
  shift(xt.table.toff, bases[3]!);
  let maxSpan = 0;
  for (let k = 0; k < K; k++) maxSpan = Math.max(maxSpan, yt.table.span[k]!);
  return { count: K, outH, outW, height, width, batch, y: yt.table, x: xt.table, weights, maxSpan };
}

/** Where a pass finds its data in a {@link FloatMemory} (offsets in floats). */
export interface PassBases {
  /** Feature map [N, H, W, C] (forward input, or the gradient being accumulated in backward). */
  feat: number;
  /** Pooled output [K, outH, outW, C] (forward output, or the incoming gradient in backward). */
  out: number;
  /** `plan.weights`. */
  weights: number;
  /** At least `plan.maxSpan · outW · C` floats of scratch. */
  scratch: number;
}

/**
 * Forward: for plan RoI k, writes its [outH, outW, C] result at `out + slot[k]·outH·outW·C` (`slot` default
 * identity). Every RoI's block is written (zeros included).
 */
export function roiAlignForward(plan: RoiAlignPlan, mem: FloatMemory, at: PassBases, C: number, slot?: Int32Array): void {
  const { count, outH, outW, height: H, width: W, batch, y, x } = plan;
  const binC = outW * C;
  const roiSize = outH * binC;
  const f = mem.f32;
  for (let k = 0; k < count; k++) {
    const o0 = at.out + (slot ? slot[k]! : k) * roiSize;
    f.fill(0, o0, o0 + roiSize);
    const span = y.span[k]!;
    if (span === 0 || x.span[k] === 0) continue;
    const r0 = y.i0[k]!;
    const T = at.scratch;
    f.fill(0, T, T + span * binC);
    // Step 1: T[r, q, :] = Σ_col Ax[q, col] · F[b, r, col, :], for the rows some bin reads (a fixed sampling
    // ratio on a large box skips most of them).
    const img = at.feat + (batch[k]! * H + r0) * W * C;
    for (let r = 0; r < span; r++) {
      if (y.np[y.first[k]! + r] === 0) continue;
      const row = img + r * W * C;
      for (let q = 0; q < outW; q++) {
        const b = k * outW + q;
        const s1 = x.segFirst[b]! + x.segCount[b]!;
        for (let s = x.segFirst[b]!; s < s1; s++) {
          mem.accum(T + r * binC + q * C, row + x.segLo[s]! * C, C, at.weights + x.segOff[s]!, x.segLen[s]!, C);
        }
      }
    }
    // Step 2: out[p, q, :] = Σ_r Ay[p, r] · T[r, q, :].
    for (let p = 0; p < outH; p++) {
      const b = k * outH + p;
      const s1 = y.segFirst[b]! + y.segCount[b]!;
      for (let s = y.segFirst[b]!; s < s1; s++) {
        mem.accum(o0 + p * binC, T + (y.segLo[s]! - r0) * binC, binC, at.weights + y.segOff[s]!, y.segLen[s]!, binC);
      }
    }
  }
}

/**
 * Backward: adds the gradient of plan RoI k's output (read at `out + slot[k]·outH·outW·C`) into the feature gradient
 * at `feat` ([N, H, W, C], accumulated, not cleared) — the transpose of {@link roiAlignForward}.
 */
export function roiAlignBackward(plan: RoiAlignPlan, mem: FloatMemory, at: PassBases, C: number, slot?: Int32Array): void {
  const { count, outH, outW, height: H, width: W, batch, y, x } = plan;
  const binC = outW * C;
  const roiSize = outH * binC;
  const f = mem.f32;
  for (let k = 0; k < count; k++) {
    const g0 = at.out + (slot ? slot[k]! : k) * roiSize;
    const span = y.span[k]!;
    const cspan = x.span[k]!;
    if (span === 0 || cspan === 0) continue;
    const U = at.scratch;
    f.fill(0, U, U + span * binC);
    // Step 2ᵀ: U[r, q, :] = Σ_p Ay[p, r] · dy[p, q, :].
    for (let r = 0; r < span; r++) {
      const t = y.first[k]! + r;
      const n = y.np[t]!;
      if (n > 0) mem.accum(U + r * binC, g0 + y.p0[t]! * binC, binC, at.weights + y.toff[t]!, n, binC);
    }
    // Step 1ᵀ: dF[b, r, col, :] += Σ_q Ax[q, col] · U[r, q, :].
    const c0 = x.i0[k]!;
    const img = at.feat + (batch[k]! * H + y.i0[k]!) * W * C;
    for (let r = 0; r < span; r++) {
      if (y.np[y.first[k]! + r] === 0) continue;
      const row = img + r * W * C;
      const u = U + r * binC;
      for (let c = 0; c < cspan; c++) {
        const t = x.first[k]! + c;
        const n = x.np[t]!;
        if (n > 0) mem.accum(row + (c0 + c) * C, u + x.p0[t]! * C, C, at.weights + x.toff[t]!, n, C);
      }
    }
  }
}

/** Features must be a float32 [N, H, W, C] tensor. */
export function checkFeatures(t: tf.Tensor, what: string): [number, number, number, number] {
  if (!(t instanceof tf.Tensor) || t.rank !== 4) {
    throw new RangeError(`roiAlign: ${what} must be a rank-4 NHWC tensor, got ${t instanceof tf.Tensor ? `shape [${t.shape.join(', ')}]` : typeof t}`);
  }
  if (t.dtype !== 'float32') throw new TypeError(`roiAlign: ${what} must be float32, got ${t.dtype}`);
  return t.shape as [number, number, number, number];
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * A new float32 tensor of `outShape` computed by `body` in one {@link FloatMemory} that also holds the `inputs`, the
 * `extra` array and `scratch` floats; `body` receives their offsets. On the wasm backend that memory is TF.js's heap
 * (inputs are read in place, the output is written in place); elsewhere a Float32Array the inputs are copied into.
 * `zeroOut` clears the output first.
 */
export function computeInMemory(
  outShape: readonly number[],
  inputs: readonly tf.Tensor[],
  extra: Float32Array,
  scratch: number,
  zeroOut: boolean,
  body: (mem: FloatMemory, out: number, ins: number[], extra: number, scratch: number) => void,
): tf.Tensor {
  const heap = heapMemory();
  if (heap) {
    const out = newHeapTensor([...outShape]);
    const ex = newHeapTensor([Math.max(extra.length, 1)]);
    const sc = newHeapTensor([Math.max(scratch, 1)]);
    try {
      heap.refresh();
      // Unsigned shift: heap addresses pass 2 GiB in full-resolution training.
      const base = (t: tf.Tensor) => heapF32(t).byteOffset >>> 2;
      const outAt = base(out);
      const exAt = base(ex);
      heap.f32.set(extra, exAt);
      if (zeroOut) heap.f32.fill(0, outAt, outAt + size(outShape));
      body(heap, outAt, inputs.map(base), exAt, base(sc));
    } catch (e) {
      out.dispose();
      throw e;
    } finally {
      ex.dispose();
      sc.dispose();
    }
    return out;
  }
  const sizes = inputs.map((t) => t.size);
  const outAt = sizes.reduce((a, b) => a + b, 0);
  const exAt = outAt + size(outShape);
  const scAt = exAt + extra.length;
  const arena = new Float32Array(scAt + scratch);
  const ins: number[] = [];
  inputs.reduce((at, t) => {
    ins.push(at);
    arena.set(t.dataSync() as Float32Array, at);
    return at + t.size;
  }, 0);
  arena.set(extra, exAt);
  body(jsMemory(arena), outAt, ins, exAt, scAt);
  return tf.tensor(arena.slice(outAt, exAt), [...outShape], 'float32');
}

/**
 * RoIAlign of K boxes on NHWC `features` [N, H, W, C] → [K, outH, outW, C]. `boxes` are x1, y1, x2, y2 in
 * input-image pixels (scaled by `spatialScale`), `batchIndices` the image of each box (default 0). Differentiable
 * with respect to `features` (not the boxes, as torchvision).
 */
export function roiAlign(
  features: tf.Tensor4D,
  boxes: BoxesInput,
  batchIndices: BatchIndexInput | undefined,
  opts: RoiAlignOptions,
): tf.Tensor4D {
  const [N, H, W, C] = checkFeatures(features, 'features');
  const flat = readBoxes(boxes);
  const batch = readBatchIndices(batchIndices, flat.length / 4, N);
  const plan = planRoiAlign(flat, batch, H, W, opts);
  if (roiAlignOnDevice()) return roiAlignTensor(features, plan);
  const outShape = [plan.count, plan.outH, plan.outW, C];
  const scratch = plan.maxSpan * plan.outW * C;
  const op = customOp<tf.Tensor4D>(([feat]) => ({
    value: computeInMemory(outShape, [feat!], plan.weights, scratch, false, (mem, out, [fa], w, s) =>
      roiAlignForward(plan, mem, { feat: fa!, out, weights: w, scratch: s }, C),
    ) as tf.Tensor4D,
    gradFunc: (dy) => [
      computeInMemory([N, H, W, C], [dy], plan.weights, scratch, true, (mem, dF, [g], w, s) =>
        roiAlignBackward(plan, mem, { feat: dF, out: g!, weights: w, scratch: s }, C),
      ),
    ],
  }));
  return op(features);
}
