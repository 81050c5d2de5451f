/**
 * Per-channel normalisation (v − mean) / std of an RGB image to float32, as mmdetection's `DetDataPreprocessor`
 * with `mean=[123.675, 116.28, 103.53]`, `std=[58.395, 57.12, 57.375]`, `bgr_to_rgb=True` (mmdet loads BGR and
 * swaps; tiedet decodes RGB directly, so the statistics apply in R, G, B order).
 */
import type { RgbImage } from '../image.js';

/** ImageNet mean in R, G, B order (0–255 scale). */
export const IMAGENET_MEAN: readonly [number, number, number] = [123.675, 116.28, 103.53];
/** ImageNet standard deviation in R, G, B order (0–255 scale). */
export const IMAGENET_STD: readonly [number, number, number] = [58.395, 57.12, 57.375];

export interface NormalizeOptions {
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
  /**
   * Write into this array instead of allocating one: a row-major HWC buffer `outWidth` pixels wide (≥ the image
   * width) with at least `height` rows, so the image lands in its top-left corner (bottom/right padding stays as
   * the caller filled it).
   */
  out?: Float32Array;
  outWidth?: number;
  /**
   * Mirror left ↔ right while writing: the same values as `normalizeImage(flipImage(img))` without the extra
   * pass (the training pipeline flips after resizing, so the flip can ride along with normalisation).
   */
  flip?: boolean;
}

/** The image as float32 HWC, (v − mean[c]) / std[c]. */
export function normalizeImage(img: RgbImage, opts: NormalizeOptions = {}): Float32Array {
  const mean = opts.mean ?? IMAGENET_MEAN;
  const std = opts.std ?? IMAGENET_STD;
  const { width, height, data } = img;
  const outWidth = opts.outWidth ?? width;
  if (outWidth < width) throw new RangeError(`normalizeImage: outWidth ${outWidth} < image width ${width}`);
  const out = opts.out ?? new Float32Array(outWidth * height * 3);
  if (out.length < outWidth * height * 3) {
    throw new RangeError(`normalizeImage: output holds ${out.length} values, needs ${outWidth * height * 3}`);
  }
  // a 256-entry table per channel: the same float32 value as (v - mean) / std computed in float64 and rounded
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v - mean[c]!) / std[c]!;
  const rowLen = width * 3;
  const flip = opts.flip === true;
  for (let y = 0; y < height; y++) {
    const s = y * rowLen;
    const d = y * outWidth * 3;
    for (let i = 0; i < rowLen; i += 3) {
      const o = flip ? d + rowLen - 3 - i : d + i;
      out[o] = lut[data[s + i]!]!;
      out[o + 1] = lut[256 + data[s + i + 1]!]!;
      out[o + 2] = lut[512 + data[s + i + 2]!]!;
    }
  }
  return out;
}
