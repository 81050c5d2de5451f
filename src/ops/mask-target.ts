/**
 * Mask R-CNN mask targets: for each positive RoI, its ground-truth mask cropped to the RoI and resized to M×M
 * (M = 28) — mmdet's `mask_target_single` + `BitmapMasks.crop_and_resize` (mmdet 3.x `structures/mask`), reproduced:
 *
 * 1. proposals are clipped to the image, x to [0, W] and y to [0, H] (float32, as mmdet's `np.clip`);
 * 2. each RoI pools its assigned GT mask (0/1, as float) with RoIAlign — `roi_align(mask, rois, (M, M),
 *    spatial_scale 1.0, sampling_ratio 0, 'avg', aligned=True)`, i.e. adaptive `ceil(roiSize / M)` bilinear samples
 *    per bin and axis at half-pixel-offset positions (src/ops/roi-align.ts, torchvision's rules);
 * 3. binarised with `value >= 0.5` (`binarize=True`, mmdet's default; `binarize: false` keeps the soft values).
 *
 * So a box that is exactly a mask's bounding box gives an all-ones target, a box twice as large shows the mask in
 * its middle half, a horizontally flipped image + box gives the flipped target, and a reversed box (x2 < x1, which
 * makes RoIAlign's adaptive grid 0) gives zeros, all as in mmdet. The pooled values agree with torchvision's kernel
 * to ~1e-7 (the order of the float32 sums differs); a value within that distance of 0.5 could binarise differently.
 *
 * GT masks come as row-major bitmaps (`Uint8Array`, h·w, non-zero = foreground; the data pipeline's form) or COCO
 * RLEs (src/structures/rle.ts, decoded here). Each GT is decoded once per call and only the region its RoIs read (the union
 * of their boxes plus one pixel) is converted to floats. Pure TypeScript on the CPU; `maskTargets` wraps the result
 * in a tensor for the mask head's loss.
 */
import * as tf from '@tensorflow/tfjs';
import { decode, type Rle } from '../structures/rle.js';
import { jsMemory } from './roi-align-accum.js';
import { planRoiAlign, readBoxes, roiAlignForward, type BoxesInput } from './roi-align.js';

/** The GT masks of one image, all `height × width`. */
export interface GtMasks {
  height: number;
  width: number;
  /** Row-major bitmaps (h·w bytes, non-zero = foreground) or COCO RLEs (column-major runs, src/structures/rle.ts). */
  masks: readonly (Uint8Array | Rle)[];
}

export interface MaskTargetOptions {
  /** Output size M (M×M targets); default 28. */
  maskSize?: number;
  /** Threshold the pooled values at 0.5 (default true, mmdet's `binarize`); false keeps them soft. */
  binarize?: boolean;
}

const WHO = 'maskTargets';

/** Row-major 0/1 bytes of GT mask `g` (checked against the image size). */
function bitmapOf(gt: GtMasks, g: number): Uint8Array {
  const m = gt.masks[g]!;
  const { height: H, width: W } = gt;
  if (m instanceof Uint8Array) {
    if (m.length !== H * W) {
      throw new RangeError(`${WHO}: gtMasks[${g}]: bitmap has ${m.length} values, expected height·width = ${H}·${W} = ${H * W}`);
    }
    return m;
  }
  if (m.h !== H || m.w !== W) {
    throw new RangeError(`${WHO}: gtMasks[${g}]: RLE size [${m.h}, ${m.w}] differs from the image size [${H}, ${W}]`);
  }
  try {
    return decode(m, 'row');
  } catch (e) {
    throw new RangeError(`${WHO}: gtMasks[${g}]: ${(e as Error).message}`);
  }
}

/**
 * Mask targets as a flat Float32Array [P·M·M] (row-major M×M per proposal, in proposal order). `proposals` are the
 * positive RoIs (x1, y1, x2, y2 in the same pixels as the masks), `assignedGt[i]` the index in `gt.masks` of
 * proposal i's ground truth.
 */
export function maskTargetsData(
  proposals: BoxesInput,
  assignedGt: ArrayLike<number>,
  gt: GtMasks,
  opts: MaskTargetOptions = {},
): Float32Array {
  const M = opts.maskSize ?? 28;
  if (!Number.isInteger(M) || M < 1) throw new RangeError(`${WHO}: maskSize must be a positive integer, got ${M}`);
  const { height: H, width: W } = gt;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1) {
    throw new RangeError(`${WHO}: gtMasks height and width must be positive integers, got ${H}×${W}`);
  }
  const boxes = readBoxes(proposals, 'proposals', WHO);
  const P = boxes.length / 4;
  if (assignedGt.length !== P) throw new RangeError(`${WHO}: ${assignedGt.length} assigned GT indices for ${P} proposals`);
  const G = gt.masks.length;
  for (let i = 0; i < P; i++) {
    const g = assignedGt[i]!;
    if (!Number.isInteger(g) || g < 0 || g >= G) {
      throw new RangeError(`${WHO}: assignedGt[${i}]: expected an integer in [0, ${G - 1}] (${G} GT masks), got ${g}`);
    }
  }
  // 1. clip (float32 in, float32 out: exact).
  for (let i = 0; i < P; i++) {
    for (let c = 0; c < 4; c++) {
      const lim = c % 2 === 0 ? W : H;
      boxes[4 * i + c] = Math.min(Math.max(boxes[4 * i + c]!, 0), lim);
    }
  }
  const MM = M * M;
  // Arena: [targets P·M·M | mask H·W | weights | scratch], sized for the largest GT group.
  const groups = new Map<number, number[]>();
  for (let i = 0; i < P; i++) {
    const g = assignedGt[i]!;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  }
  const plans = [...groups].map(([g, idx]) => {
    const b = new Float32Array(4 * idx.length);
    idx.forEach((i, j) => b.set(boxes.subarray(4 * i, 4 * i + 4), 4 * j));
    const plan = planRoiAlign(b, new Int32Array(idx.length), H, W, { outputSize: M, spatialScale: 1, samplingRatio: 0, aligned: true });
    return { g, slot: Int32Array.from(idx), plan, region: readRegion(b, H, W) };
  });
  const maskAt = P * MM;
  const wAt = maskAt + H * W;
  const maxW = Math.max(0, ...plans.map((p) => p.plan.weights.length));
  const scAt = wAt + maxW;
  const maxScratch = Math.max(0, ...plans.map((p) => p.plan.maxSpan * M));
  const arena = new Float32Array(scAt + maxScratch);
  const mem = jsMemory(arena);
  for (const { g, slot, plan, region } of plans) {
    // 2. the GT as floats, over the rows/columns its RoIs' samples read (nothing outside is touched).
    const bits = bitmapOf(gt, g);
    const [r0, r1, c0, c1] = region;
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) arena[maskAt + r * W + c] = bits[r * W + c] !== 0 ? 1 : 0;
    }
    arena.set(plan.weights, wAt);
    roiAlignForward(plan, mem, { feat: maskAt, out: 0, weights: wAt, scratch: scAt }, 1, slot);
  }
  const out = arena.slice(0, P * MM);
  // 3. binarise.
  if (opts.binarize ?? true) for (let i = 0; i < out.length; i++) out[i] = out[i]! >= 0.5 ? 1 : 0;
  return out;
}

/**
 * Rows [r0, r1) and columns [c0, c1) that RoIAlign may read for these (clipped, stride-1, aligned) boxes: samples
 * lie in [x1 − 0.5, x2 − 0.5] and read floor(x) and floor(x) + 1.
 */
function readRegion(boxes: Float32Array, H: number, W: number): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < boxes.length; i += 4) {
    x0 = Math.min(x0, boxes[i]!, boxes[i + 2]!);
    x1 = Math.max(x1, boxes[i]!, boxes[i + 2]!);
    y0 = Math.min(y0, boxes[i + 1]!, boxes[i + 3]!);
    y1 = Math.max(y1, boxes[i + 1]!, boxes[i + 3]!);
  }
  const lo = (v: number) => Math.max(0, Math.floor(v - 0.5) - 1);
  const hi = (v: number, n: number) => Math.min(n, Math.floor(v - 0.5) + 3);
  return [lo(y0), hi(y1, H), lo(x0), hi(x1, W)];
}

/** {@link maskTargetsData} as a float32 tensor [P, M, M] (the mask head's BCE targets). */
export function maskTargets(
  proposals: BoxesInput,
  assignedGt: ArrayLike<number>,
  gt: GtMasks,
  opts: MaskTargetOptions = {},
): tf.Tensor3D {
  const M = opts.maskSize ?? 28;
  const data = maskTargetsData(proposals, assignedGt, gt, opts);
  return tf.tensor3d(data, [data.length / (M * M), M, M], 'float32');
}
