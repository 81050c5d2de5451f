/**
 * Keep-ratio resize, as mmdetection's `Resize(scale=(1333, 800), keep_ratio=True)` (mmcv `imrescale` →
 * `rescale_size` → `imresize(..., interpolation='bilinear')`, OpenCV backend).
 *
 * - Size rule (mmcv `rescale_size`): s = min(long_max / max(w, h), short_max / min(w, h)) with
 *   (long_max, short_max) = (max(scale), min(scale)); new size = (int(w·s + 0.5), int(h·s + 0.5)). mmdet then
 *   records `scale_factor = (w_new / w, h_new / h)` (the actual per-axis ratios, not s) and scales boxes by it,
 *   clipping them to the new image (`clip_object_border=True`).
 * - Pixels: OpenCV `INTER_LINEAR` geometry (pixel centres at +0.5, source coordinate (d + 0.5)·src/dst − 0.5,
 *   clamped at the borders) with its 11-bit fixed-point weights (round((1 − f)·2048), round(f·2048)) and rounding
 *   (sum + 2²¹) >> 22. OpenCV's SIMD path rounds its intermediate products differently, so pixels can differ from
 *   cv2's by one intensity level; geometry and size are the same.
 * - Bitmaps (masks) use OpenCV `INTER_NEAREST`: source index floor(d · src/dst), as mmcv resizes BitmapMasks.
 */
import type { RgbImage } from '../image.js';

/** mmdet's default training / test scale: (long edge max, short edge max) = (1333, 800). */
export const DEFAULT_SCALE: readonly [number, number] = [1333, 800];

export interface RescaledSize {
  width: number;
  height: number;
  /** `[width / originalWidth, height / originalHeight]` (mmdet `scale_factor`, w first). */
  scaleFactor: [number, number];
}

/** The keep-ratio output size of a `width` × `height` image for `scale` (mmcv `rescale_size`). */
export function rescaleSize(width: number, height: number, scale: readonly [number, number] = DEFAULT_SCALE): RescaledSize {
  if (!(width > 0 && height > 0)) throw new RangeError(`rescaleSize: invalid image size ${width}×${height}`);
  const longMax = Math.max(scale[0], scale[1]);
  const shortMax = Math.min(scale[0], scale[1]);
  if (!(shortMax > 0)) throw new RangeError(`rescaleSize: invalid scale [${scale[0]}, ${scale[1]}]`);
  const s = Math.min(longMax / Math.max(width, height), shortMax / Math.min(width, height));
  const w = Math.max(1, Math.trunc(width * s + 0.5));
  const h = Math.max(1, Math.trunc(height * s + 0.5));
  return { width: w, height: h, scaleFactor: [w / width, h / height] };
}

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** Round half to even, as OpenCV's cvRound / saturate_cast<short>(float). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Per-output-index source index and fixed-point weights of OpenCV INTER_LINEAR along one axis. */
function linearTable(src: number, dst: number): { ofs: Int32Array; a0: Int32Array; a1: Int32Array } {
  const scale = src / dst;
  const ofs = new Int32Array(dst);
  const a0 = new Int32Array(dst);
  const a1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= src - 1) {
      f = 0;
      s = src - 1;
    }
    ofs[d] = s;
    a0[d] = roundEven(Math.fround(1 - f) * COEF_SCALE);
    a1[d] = roundEven(f * COEF_SCALE);
  }
  return { ofs, a0, a1 };
}

/** Bilinear resize of an RGB image to `width` × `height` (OpenCV INTER_LINEAR, see the file comment). */
export function resizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  const sw = img.width;
  const sh = img.height;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new RangeError(`resizeBilinear: invalid output size ${width}×${height}`);
  }
  if (width === sw && height === sh) return { data: img.data.slice(), width, height };
  const src = img.data;
  const xt = linearTable(sw, width);
  const yt = linearTable(sh, height);
  const out = new Uint8Array(width * height * 3);
  const rowLen = width * 3;
  // horizontally resampled source rows (values up to 255·2048), cached by source row index
  let rowA = new Int32Array(rowLen);
  let rowB = new Int32Array(rowLen);
  let idxA = -1;
  let idxB = -1;
  const hresize = (sy: number, dst: Int32Array): void => {
    const base = sy * sw * 3;
    const { ofs, a0, a1 } = xt;
    for (let x = 0; x < width; x++) {
      const s0 = base + ofs[x]! * 3;
      const s1 = ofs[x]! + 1 < sw ? s0 + 3 : s0;
      const w0 = a0[x]!;
      const w1 = a1[x]!;
      const o = x * 3;
      dst[o] = src[s0]! * w0 + src[s1]! * w1;
      dst[o + 1] = src[s0 + 1]! * w0 + src[s1 + 1]! * w1;
      dst[o + 2] = src[s0 + 2]! * w0 + src[s1 + 2]! * w1;
    }
  };
  const DELTA = 1 << (2 * COEF_BITS - 1);
  for (let y = 0; y < height; y++) {
    const sy0 = yt.ofs[y]!;
    const sy1 = Math.min(sy0 + 1, sh - 1);
    if (idxA !== sy0) {
      if (idxB === sy0) {
        [rowA, rowB] = [rowB, rowA];
        idxA = sy0;
        idxB = -1;
      } else {
        hresize(sy0, rowA);
        idxA = sy0;
      }
    }
    if (idxB !== sy1) {
      hresize(sy1, rowB);
      idxB = sy1;
    }
    const b0 = yt.a0[y]!;
    const b1 = yt.a1[y]!;
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = (rowA[i]! * b0 + rowB[i]! * b1 + DELTA) >> (2 * COEF_BITS);
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, width, height };
}

/**
 * Nearest-neighbour resize of `count` stacked single-channel bitmaps (each `height` × `width`, row-major) to
 * `newWidth` × `newHeight`. `'floor'` (default) is OpenCV INTER_NEAREST, source index floor(d · src / dst), what
 * mmcv uses for masks; `'centre'` samples at pixel centres, floor((d + 0.5) · src / dst), which is symmetric and
 * the right choice for mapping predictions back to the original image.
 */
export function resizeNearest(
  bitmaps: Uint8Array,
  width: number,
  height: number,
  newWidth: number,
  newHeight: number,
  count = 1,
  sampling: 'floor' | 'centre' = 'floor',
): Uint8Array {
  if (bitmaps.length !== width * height * count) {
    throw new RangeError(`resizeNearest: ${bitmaps.length} bytes, expected ${count}×${height}×${width}`);
  }
  const xs = new Int32Array(newWidth);
  const fx = width / newWidth;
  const fy = height / newHeight;
  const off = sampling === 'centre' ? 0.5 : 0;
  for (let x = 0; x < newWidth; x++) xs[x] = Math.min(Math.floor((x + off) * fx), width - 1);
  const out = new Uint8Array(newWidth * newHeight * count);
  for (let k = 0; k < count; k++) {
    const sBase = k * width * height;
    const dBase = k * newWidth * newHeight;
    for (let y = 0; y < newHeight; y++) {
      const sRow = sBase + Math.min(Math.floor((y + off) * fy), height - 1) * width;
      const dRow = dBase + y * newWidth;
      for (let x = 0; x < newWidth; x++) out[dRow + x] = bitmaps[sRow + xs[x]!]!;
    }
  }
  return out;
}

/**
 * Boxes `[x1, y1, x2, y2]…` scaled by `scaleFactor` and clipped to `[0, clipWidth] × [0, clipHeight]` (mmdet
 * `Resize._resize_bboxes` with `clip_object_border=True`). Returns a new array.
 */
export function rescaleBoxes(
  boxes: Float32Array,
  scaleFactor: readonly [number, number],
  clipWidth: number,
  clipHeight: number,
): Float32Array {
  const out = new Float32Array(boxes.length);
  const [sx, sy] = scaleFactor;
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = Math.min(Math.max(boxes[i]! * sx, 0), clipWidth);
    out[i + 1] = Math.min(Math.max(boxes[i + 1]! * sy, 0), clipHeight);
    out[i + 2] = Math.min(Math.max(boxes[i + 2]! * sx, 0), clipWidth);
    out[i + 3] = Math.min(Math.max(boxes[i + 3]! * sy, 0), clipHeight);
  }
  return out;
}
