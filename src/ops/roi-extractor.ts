/**
 * Multi-level RoI feature extraction: each RoI is pooled by RoIAlign from the one FPN level its size selects, and the
 * pooled features come back in the input RoI order — mmdet's `SingleRoIExtractor` (mmdet 3.x
 * `single_level_roi_extractor.py`) with `RoIAlign` layers (mmcv semantics, `aligned=True`).
 *
 * Level of a box (mmdet `map_roi_levels`, `finest_scale` 56):
 *
 *     level = clamp(floor(log2(sqrt((x2 − x1)·(y2 − y1)) / 56 + 1e-6)), 0, L − 1)
 *
 * evaluated in float32 as torch does, so a box of √(wh) < 112 goes to P2, < 224 to P3, < 448 to P4, and the rest to
 * P5. A box whose (x2 − x1)·(y2 − y1) is negative (one side reversed) has a NaN scale; mmdet then matches no level
 * and leaves its features zero, and so do we.
 *
 * The whole extraction is one differentiable op over the L level tensors: the forward writes each RoI's pooled
 * features straight into its row of the output, and the backward returns one gradient per level (zeros for a level
 * no RoI uses). Boxes are data (no gradient), as in mmdet.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from '../nn/custom-op.js';
import {
  checkFeatures,
  computeInMemory,
  outputHW,
  planRoiAlign,
  readBatchIndices,
  readBoxes,
  roiAlignBackward,
  roiAlignForward,
  type BatchIndexInput,
  type BoxesInput,
  type RoiAlignOptions,
  type RoiAlignPlan,
} from './roi-align.js';
import { roiAlignOnDevice, roiAlignTensor } from './roi-align-tensor.js';

export interface RoiExtractorOptions {
  /** Output bins: 7 for the box head, 14 for the mask head. */
  outputSize: number | readonly [number, number];
  /** RoIAlign samples per bin and axis; 0 (default, mmdet) = adaptive. */
  samplingRatio?: number;
  /** Strides of the levels given, finest first; default [4, 8, 16, 32] (P2–P5). */
  featmapStrides?: readonly number[];
  /** mmdet `finest_scale`; default 56. */
  finestScale?: number;
  /** RoIAlign half-pixel offset; default true (mmcv's default). */
  aligned?: boolean;
  /**
   * Which rule picks a box's level: 'mmdet' (default; `finestScale`) or 'torchvision' (`MultiScaleRoIAlign`'s
   * `LevelMapper`: ⌊4 + log2(√(wh)/224) + 1e-6⌋ clamped to [log2 of the first stride, log2 of the last]).
   */
  levelMapper?: 'mmdet' | 'torchvision';
}

export const DEFAULT_STRIDES: readonly number[] = [4, 8, 16, 32];

/**
 * The level (0 = finest) of each box of a flat [K·4] x1, y1, x2, y2 array, mmdet's rule in float32; −1 for a box
 * whose area is negative (NaN scale: mmdet assigns it to no level).
 */
export function mapRoiLevels(boxes: Float32Array, numLevels: number, finestScale = 56): Int32Array {
  if (!Number.isInteger(numLevels) || numLevels < 1) throw new RangeError(`mapRoiLevels: numLevels must be ≥ 1, got ${numLevels}`);
  if (!(finestScale > 0)) throw new RangeError(`mapRoiLevels: finestScale must be > 0, got ${finestScale}`);
  const f = Math.fround;
  const K = boxes.length >> 2;
  const out = new Int32Array(K);
  const eps = f(1e-6);
  const fs = f(finestScale);
  for (let k = 0; k < K; k++) {
    const w = f(boxes[4 * k + 2]! - boxes[4 * k]!);
    const h = f(boxes[4 * k + 3]! - boxes[4 * k + 1]!);
    const scale = f(Math.sqrt(f(h * w)));
    const lvl = Math.floor(f(Math.log2(f(f(scale / fs) + eps))));
    out[k] = Number.isNaN(lvl) ? -1 : Math.min(Math.max(lvl, 0), numLevels - 1);
  }
  return out;
}

/**
 * torchvision's `LevelMapper` (canonical scale 224 at level 4, ε 1e-6, float32 as torch) for levels whose strides
 * are 2^kMin … 2^(kMin + numLevels − 1): the 0-based level of each box, −1 for a NaN scale (no level, zeros).
 */
export function mapRoiLevelsTorchvision(boxes: Float32Array, strides: readonly number[]): Int32Array {
  const kMin = Math.round(Math.log2(strides[0]!));
  const kMax = Math.round(Math.log2(strides[strides.length - 1]!));
  const f = Math.fround;
  const K = boxes.length >> 2;
  const out = new Int32Array(K);
  const eps = f(1e-6);
  for (let k = 0; k < K; k++) {
    const area = f(f(boxes[4 * k + 2]! - boxes[4 * k]!) * f(boxes[4 * k + 3]! - boxes[4 * k + 1]!));
    const s = f(Math.sqrt(area));
    const lvl = Math.floor(f(f(4 + f(Math.log2(f(s / 224)))) + eps));
    out[k] = Number.isNaN(lvl) ? -1 : Math.min(Math.max(lvl, kMin), kMax) - kMin;
  }
  return out;
}

/** Per level: the plan of the RoIs assigned to it and their rows in the output. */
interface LevelPlan {
  plan: RoiAlignPlan;
  slot: Int32Array;
}

/** Group the boxes by level and plan each group on its level (`spatialScale` of `opts` is replaced by 1/stride). */
function planLevels(
  boxes: Float32Array,
  batch: Int32Array,
  levels: Int32Array,
  dims: readonly (readonly number[])[],
  strides: readonly number[],
  opts: RoiAlignOptions,
): LevelPlan[] {
  return strides.map((stride, l) => {
    const slot = Int32Array.from(levels.keys()).filter((k) => levels[k] === l);
    const lb = new Float32Array(4 * slot.length);
    slot.forEach((k, j) => lb.set(boxes.subarray(4 * k, 4 * k + 4), 4 * j));
    const li = slot.map((k) => batch[k]!);
    return { plan: planRoiAlign(lb, li, dims[l]![1]!, dims[l]![2]!, { ...opts, spatialScale: 1 / stride }), slot };
  });
}

/**
 * Pooled features [K, outH, outW, C] of K boxes (input-image pixels, x1, y1, x2, y2) from the FPN levels `feats`
 * (NHWC, finest first, strides `featmapStrides`), in the input box order. Differentiable with respect to every
 * level tensor.
 */
export function extractRoiFeatures(
  feats: readonly tf.Tensor4D[],
  boxes: BoxesInput,
  batchIndices: BatchIndexInput | undefined,
  opts: RoiExtractorOptions,
): tf.Tensor4D {
  const strides = opts.featmapStrides ?? DEFAULT_STRIDES;
  const L = feats.length;
  if (L === 0 || L !== strides.length) {
    throw new RangeError(`extractRoiFeatures: ${L} feature levels for ${strides.length} strides [${strides.join(', ')}]`);
  }
  const dims = feats.map((t, l) => checkFeatures(t, `feats[${l}] (stride ${strides[l]})`));
  const [N, , , C] = dims[0]!;
  dims.forEach(([n, , , c], l) => {
    if (n !== N || c !== C) {
      throw new RangeError(`extractRoiFeatures: feats[${l}] is [${dims[l]!.join(', ')}], feats[0] is [${dims[0]!.join(', ')}]: batch and channels must agree`);
    }
  });
  const [outH, outW] = outputHW(opts.outputSize);
  const flat = readBoxes(boxes, 'boxes', 'extractRoiFeatures');
  const K = flat.length / 4;
  const batch = readBatchIndices(batchIndices, K, N, 'extractRoiFeatures');
  const levels =
    opts.levelMapper === 'torchvision' ? mapRoiLevelsTorchvision(flat, strides) : mapRoiLevels(flat, L, opts.finestScale ?? 56);

  const plans = planLevels(flat, batch, levels, dims, strides, {
    outputSize: [outH, outW],
    spatialScale: 1,
    samplingRatio: opts.samplingRatio ?? 0,
    aligned: opts.aligned ?? true,
  });
  const unassigned = levels.some((l) => l < 0);
  if (roiAlignOnDevice()) return extractOnDevice(feats, plans, levels, [K, outH, outW, C]);

  // All levels' weights in one array; each level's plan offsets are relative to its own part.
  const weights = new Float32Array(plans.reduce((a, { plan }) => a + plan.weights.length, 0));
  const wAt: number[] = [];
  plans.reduce((at, { plan }) => {
    wAt.push(at);
    weights.set(plan.weights, at);
    return at + plan.weights.length;
  }, 0);
  const scratch = Math.max(...plans.map(({ plan }) => plan.maxSpan)) * outW * C;

  const op = customOp<tf.Tensor4D>((inputs) => ({
    value: computeInMemory([K, outH, outW, C], inputs, weights, scratch, unassigned, (mem, out, ins, w, s) => {
      plans.forEach(({ plan, slot }, l) =>
        roiAlignForward(plan, mem, { feat: ins[l]!, out, weights: w + wAt[l]!, scratch: s }, C, slot),
      );
    }) as tf.Tensor4D,
    gradFunc: (dy) =>
      plans.map(({ plan, slot }, l) =>
        computeInMemory(dims[l]!, [dy], plan.weights, plan.maxSpan * outW * C, true, (mem, dF, [g], w, s) =>
          roiAlignBackward(plan, mem, { feat: dF, out: g!, weights: w, scratch: s }, C, slot),
        ),
      ),
  }));
  return op(...feats);
}

/**
 * `extractRoiFeatures` with generic TF.js ops (./roi-align-tensor.ts): every level's RoIs pooled on that level, the
 * results put back in box order with one gather (RoIs of no level get zeros). Differentiable w.r.t. every level.
 */
function extractOnDevice(feats: readonly tf.Tensor4D[], plans: readonly LevelPlan[], levels: Int32Array, shape: [number, number, number, number]): tf.Tensor4D {
  const [K, outH, outW, C] = shape;
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    const position = new Int32Array(K);
    let at = 0;
    plans.forEach(({ plan, slot }, l) => {
      if (slot.length === 0) return;
      parts.push(roiAlignTensor(feats[l]!, plan));
      slot.forEach((k, j) => (position[k] = at + j));
      at += slot.length;
    });
    for (let k = 0; k < K; k++) if (levels[k]! < 0) position[k] = at;
    parts.push(tf.zeros([1, outH, outW, C]));
    const all = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    return tf.gather(all, tf.tensor1d(position, 'int32')) as tf.Tensor4D;
  });
}
