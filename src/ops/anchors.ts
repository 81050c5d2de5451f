/**
 * Anchor generation for anchor-based detectors (RetinaNet, the RPN of Mask R-CNN).
 *
 * Reference behaviour: mmdetection's `AnchorGenerator` (mmdet/models/task_modules/prior_generators/
 * anchor_generator.py) with its v2+ defaults, and `anchor_inside_flags` (prior_generators/utils.py):
 *  - Base anchors of a level: base size = stride (the smaller of (w, h) strides) unless `baseSizes` is given;
 *    h_ratio = √ratio, w_ratio = 1/h_ratio; widths base·w_ratio·scale, heights base·h_ratio·scale;
 *    **ratio-major** order (`scale_major=True`: anchor index = ratio index · #scales + scale index); centred on
 *    (center_offset·base, center_offset·base) with center offset 0, i.e. corners ∓ size/2 around the grid point.
 *  - Scales: explicit (`scales`, RPN: [8]) or octave scales base·2^(i/scalesPerOctave), i < scalesPerOctave
 *    (RetinaNet: 4·2^{0, 1/3, 2/3}).
 *  - Grid: anchor of cell (y, x) = base anchor + (x·stride_w, y·stride_h, x·stride_w, y·stride_h); flattened in
 *    (y, x, anchor) order — the first A rows are the A anchors of cell (0, 0), then (0, 1), …, which is the order
 *    of an NHWC head output [H, W, A·…] reshaped to [H·W·A, …].
 *  - Valid flags for padded batches: a cell is valid when x < min(⌈pad_w / stride_w⌉, feat_w) and
 *    y < min(⌈pad_h / stride_h⌉, feat_h) (mmdet `valid_flags`). `anchorInsideFlags` adds the `allowed_border` test
 *    (x1 ≥ −b, y1 ≥ −b, x2 < w + b, y2 < h + b; b < 0 keeps the valid flags unchanged).
 * Arithmetic is PyTorch's float32 step by step (`Math.fround`), so anchors are bit-identical to mmdet's float32
 * anchors.
 *
 * Anchors depend only on the feature-map sizes: `AnchorGenerator.gridAnchors` caches them per shape (a bounded
 * cache; the returned arrays are shared — treat them as read-only).
 */
import { concatArrays } from './typed-rows.js';

/** mmdet `AnchorGenerator` arguments (camelCase). Give `scales` or (`octaveBaseScale`, `scalesPerOctave`). */
export interface AnchorGeneratorConfig {
  /** Per level: the stride, or [strideW, strideH]. */
  strides: ReadonlyArray<number | readonly [number, number]>;
  /** Height / width ratios. */
  ratios: readonly number[];
  scales?: readonly number[];
  octaveBaseScale?: number;
  scalesPerOctave?: number;
  /** Per level; default min(stride). */
  baseSizes?: readonly number[];
  /** Default true (ratio-major order, mmdet v2+). */
  scaleMajor?: boolean;
  /** Default 0 (anchor centred on the grid point, mmdet v2+). In [0, 1]. */
  centerOffset?: number;
}

/** RetinaNet (mmdet retinanet_r50_fpn): octave base scale 4, 3 scales per octave, ratios 0.5/1/2, P3–P7. */
export const RETINANET_ANCHORS: AnchorGeneratorConfig = {
  octaveBaseScale: 4,
  scalesPerOctave: 3,
  ratios: [0.5, 1.0, 2.0],
  strides: [8, 16, 32, 64, 128],
};

/** RPN of Mask R-CNN (mmdet mask_rcnn_r50_fpn): scale 8, ratios 0.5/1/2, P2–P6. */
export const RPN_ANCHORS: AnchorGeneratorConfig = {
  scales: [8],
  ratios: [0.5, 1.0, 2.0],
  strides: [4, 8, 16, 32, 64],
};

/** Feature-map size [height, width]. */
export type FeatureSize = readonly [number, number];

/** The anchors of all levels for one set of feature sizes. */
export interface MultiLevelAnchors {
  /** All levels concatenated (level-major, then (y, x, anchor)), [total × 4]. Read-only (shared, cached). */
  flat: Float32Array;
  /** Per level, views into `flat`. */
  levels: Float32Array[];
  /** Anchors per level. */
  counts: number[];
  /** Index in `flat` (in anchors) where each level starts. */
  starts: number[];
}

const f = Math.fround;
const CACHE_LIMIT = 32;

function pairOf(s: number | readonly [number, number]): [number, number] {
  return typeof s === 'number' ? [s, s] : [s[0], s[1]];
}

function checkPositive(values: readonly number[], what: string): void {
  if (values.length === 0 || values.some((v) => !(Number.isFinite(v) && v > 0))) {
    throw new Error(`AnchorGenerator: ${what} must be a non-empty list of positive numbers, got [${values.join(', ')}]`);
  }
}

/**
 * Base anchors of one level (centred on the origin unless `center` is given): `Float32Array` [A × 4] in
 * mmdet's order (ratio-major when `scaleMajor`).
 */
export function baseAnchors(
  baseSize: number,
  scales: readonly number[],
  ratios: readonly number[],
  scaleMajor = true,
  center: readonly [number, number] = [0, 0],
): Float32Array {
  const s32 = scales.map(f);
  const hr = ratios.map((r) => f(Math.sqrt(f(r))));
  const wr = hr.map((h) => f(1 / h));
  const ws: number[] = [];
  const hs: number[] = [];
  if (scaleMajor) {
    for (let r = 0; r < ratios.length; r++) {
      for (let s = 0; s < scales.length; s++) {
        ws.push(f(f(baseSize * wr[r]!) * s32[s]!));
        hs.push(f(f(baseSize * hr[r]!) * s32[s]!));
      }
    }
  } else {
    for (let s = 0; s < scales.length; s++) {
      for (let r = 0; r < ratios.length; r++) {
        ws.push(f(f(baseSize * s32[s]!) * wr[r]!));
        hs.push(f(f(baseSize * s32[s]!) * hr[r]!));
      }
    }
  }
  const cx = f(center[0]);
  const cy = f(center[1]);
  const out = new Float32Array(ws.length * 4);
  for (let a = 0; a < ws.length; a++) {
    const hw = f(0.5 * ws[a]!);
    const hh = f(0.5 * hs[a]!);
    out[a * 4] = f(cx - hw);
    out[a * 4 + 1] = f(cy - hh);
    out[a * 4 + 2] = f(cx + hw);
    out[a * 4 + 3] = f(cy + hh);
  }
  return out;
}

/** Anchors of one level on a [featH, featW] grid: `Float32Array` [featH·featW·A × 4], (y, x, anchor) order. */
export function gridAnchors(base: Float32Array, featSize: FeatureSize, stride: number | readonly [number, number]): Float32Array {
  const [featH, featW] = featSize;
  const [sw, sh] = pairOf(stride);
  const a = base.length / 4;
  const out = new Float32Array(featH * featW * a * 4);
  let o = 0;
  for (let y = 0; y < featH; y++) {
    const shiftY = f(y * sh);
    for (let x = 0; x < featW; x++) {
      const shiftX = f(x * sw);
      for (let k = 0; k < a * 4; k += 4) {
        out[o++] = f(base[k]! + shiftX);
        out[o++] = f(base[k + 1]! + shiftY);
        out[o++] = f(base[k + 2]! + shiftX);
        out[o++] = f(base[k + 3]! + shiftY);
      }
    }
  }
  return out;
}

/**
 * Valid flags of one level: 1 for anchors whose grid cell lies inside the (unpadded) image region
 * x < validW, y < validH, else 0; [featH·featW·A], (y, x, anchor) order.
 */
export function gridValidFlags(featSize: FeatureSize, validSize: FeatureSize, numBase: number): Uint8Array {
  const [featH, featW] = featSize;
  const [validH, validW] = validSize;
  if (validH > featH || validW > featW) throw new Error(`gridValidFlags: valid size ${validH}×${validW} exceeds feature size ${featH}×${featW}`);
  const out = new Uint8Array(featH * featW * numBase);
  for (let y = 0; y < validH; y++) {
    out.fill(1, (y * featW) * numBase, (y * featW + validW) * numBase);
  }
  return out;
}

/**
 * mmdet `anchor_inside_flags`: `valid` AND (x1 ≥ −b, y1 ≥ −b, x2 < w + b, y2 < h + b) for `allowedBorder` b ≥ 0;
 * for b < 0 a copy of `valid`. `imageShape` is [height, width] (the unpadded image).
 */
export function anchorInsideFlags(
  anchors: Float32Array,
  valid: Uint8Array,
  imageShape: readonly [number, number],
  allowedBorder: number,
): Uint8Array {
  const n = anchors.length / 4;
  if (valid.length !== n) throw new Error(`anchorInsideFlags: ${n} anchors but ${valid.length} valid flags`);
  const out = Uint8Array.from(valid);
  if (allowedBorder < 0) return out;
  const [h, w] = imageShape;
  for (let i = 0; i < n; i++) {
    if (!out[i]) continue;
    const o = i * 4;
    const inside =
      anchors[o]! >= -allowedBorder && anchors[o + 1]! >= -allowedBorder && anchors[o + 2]! < w + allowedBorder && anchors[o + 3]! < h + allowedBorder;
    out[i] = inside ? 1 : 0;
  }
  return out;
}

/** mmdet's `AnchorGenerator`: base anchors per level, grid anchors per feature shape (cached), valid flags. */
export class AnchorGenerator {
  readonly strides: ReadonlyArray<readonly [number, number]>;
  readonly baseSizes: readonly number[];
  readonly scales: readonly number[];
  readonly ratios: readonly number[];
  /** Per level, [A × 4] centred base anchors. */
  readonly baseAnchors: readonly Float32Array[];
  private readonly cache = new Map<string, MultiLevelAnchors>();

  constructor(cfg: AnchorGeneratorConfig) {
    if (cfg.strides.length === 0) throw new Error('AnchorGenerator: strides must not be empty');
    this.strides = cfg.strides.map(pairOf);
    checkPositive(this.strides.flat(), 'strides');
    this.baseSizes = cfg.baseSizes ? [...cfg.baseSizes] : this.strides.map(([w, h]) => Math.min(w, h));
    if (this.baseSizes.length !== this.strides.length) {
      throw new Error(`AnchorGenerator: ${this.baseSizes.length} base sizes for ${this.strides.length} strides`);
    }
    checkPositive(this.baseSizes, 'baseSizes');
    const octave = cfg.octaveBaseScale !== undefined || cfg.scalesPerOctave !== undefined;
    if (octave === (cfg.scales !== undefined)) {
      throw new Error('AnchorGenerator: give either scales or (octaveBaseScale and scalesPerOctave), not both or neither');
    }
    if (octave) {
      const base = cfg.octaveBaseScale;
      const per = cfg.scalesPerOctave;
      if (base === undefined || per === undefined || !Number.isInteger(per) || per < 1) {
        throw new Error(`AnchorGenerator: octave scales need octaveBaseScale and an integer scalesPerOctave ≥ 1, got ${base} and ${per}`);
      }
      this.scales = Array.from({ length: per }, (_, i) => 2 ** (i / per) * base);
    } else {
      this.scales = [...cfg.scales!];
    }
    checkPositive(this.scales, 'scales');
    this.ratios = [...cfg.ratios];
    checkPositive(this.ratios, 'ratios');
    const offset = cfg.centerOffset ?? 0;
    if (!(offset >= 0 && offset <= 1)) throw new Error(`AnchorGenerator: centerOffset must be in [0, 1], got ${offset}`);
    const scaleMajor = cfg.scaleMajor ?? true;
    this.baseAnchors = this.baseSizes.map((b) => baseAnchors(b, this.scales, this.ratios, scaleMajor, [f(offset * b), f(offset * b)]));
  }

  get numLevels(): number {
    return this.strides.length;
  }

  /** Anchors per grid cell, per level (9 for RetinaNet, 3 for the RPN). */
  get numBaseAnchors(): number[] {
    return this.baseAnchors.map((b) => b.length / 4);
  }

  private checkSizes(featSizes: readonly FeatureSize[]): void {
    if (featSizes.length !== this.numLevels) throw new Error(`AnchorGenerator: ${featSizes.length} feature sizes for ${this.numLevels} levels`);
    featSizes.forEach(([h, w], i) => {
      if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 0 && w >= 0)) {
        throw new Error(`AnchorGenerator: feature size of level ${i} must be two non-negative integers, got [${h}, ${w}]`);
      }
    });
  }

  /** Anchors of every level for these feature sizes ([h, w] per level); computed once per shape and cached. */
  gridAnchors(featSizes: readonly FeatureSize[]): MultiLevelAnchors {
    this.checkSizes(featSizes);
    const key = featSizes.map(([h, w]) => `${h}x${w}`).join(',');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const parts = featSizes.map((size, i) => gridAnchors(this.baseAnchors[i]!, size, this.strides[i]!));
    const counts = parts.map((p) => p.length / 4);
    const flat = new Float32Array(counts.reduce((s, c) => s + c, 0) * 4);
    const starts: number[] = [];
    let at = 0;
    for (const p of parts) {
      starts.push(at);
      flat.set(p, at * 4);
      at += p.length / 4;
    }
    const levels = counts.map((c, i) => flat.subarray(starts[i]! * 4, (starts[i]! + c) * 4));
    const entry: MultiLevelAnchors = { flat, levels, counts, starts };
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, entry);
    return entry;
  }

  /**
   * Valid flags of every level (concatenated like `gridAnchors(...).flat`) for an image whose content occupies
   * `validShape` [h, w] of the padded batch (mmdet passes the image's `pad_shape`).
   */
  validFlags(featSizes: readonly FeatureSize[], validShape: readonly [number, number]): Uint8Array {
    this.checkSizes(featSizes);
    const [h, w] = validShape;
    const parts = featSizes.map(([fh, fw], i) => {
      const [sw, sh] = this.strides[i]!;
      const vh = Math.min(Math.ceil(h / sh), fh);
      const vw = Math.min(Math.ceil(w / sw), fw);
      return gridValidFlags([fh, fw], [vh, vw], this.numBaseAnchors[i]!);
    });
    return concatArrays(parts, Uint8Array);
  }
}
