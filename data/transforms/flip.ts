/**
 * Horizontal flip of an image, its boxes, polygons and bitmap masks, as mmdetection 3.x `RandomFlip`
 * (`direction='horizontal'`): boxes x1' = W − x2, x2' = W − x1 (`bbox_flip`; no −1: coordinates are pixel-corner
 * based), polygon x' = W − x (`PolygonMasks.flip`), bitmaps mirrored column-wise (`BitmapMasks.flip`). W is the
 * width of the image being flipped (after resize, since the pipeline resizes first).
 */
import type { RgbImage } from '../image.js';

/** The image mirrored left ↔ right (a new image). */
export function flipImage(img: RgbImage): RgbImage {
  const { width, height, data } = img;
  const out = new Uint8Array(data.length);
  const rowLen = width * 3;
  for (let y = 0; y < height; y++) {
    const row = y * rowLen;
    for (let x = 0; x < width; x++) {
      const s = row + x * 3;
      const d = row + (width - 1 - x) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { data: out, width, height };
}

/** Boxes `[x1, y1, x2, y2]…` of an image `width` wide, flipped: x1' = width − x2, x2' = width − x1. */
export function flipBoxes(boxes: Float32Array, width: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = width - boxes[i + 2]!;
    out[i + 1] = boxes[i + 1]!;
    out[i + 2] = width - boxes[i]!;
    out[i + 3] = boxes[i + 3]!;
  }
  return out;
}

/** A polygon `[x0, y0, x1, y1, …]` flipped on an image `width` wide: x' = width − x. */
export function flipPolygon(coords: readonly number[], width: number): number[] {
  const out = coords.slice();
  for (let i = 0; i < out.length; i += 2) out[i] = width - out[i]!;
  return out;
}

/** `count` stacked row-major bitmaps of `width` × `height`, each mirrored left ↔ right (a new array). */
export function flipBitmaps(bitmaps: Uint8Array, width: number, height: number, count = 1): Uint8Array {
  if (bitmaps.length !== width * height * count) {
    throw new RangeError(`flipBitmaps: ${bitmaps.length} bytes, expected ${count}×${height}×${width}`);
  }
  const out = new Uint8Array(bitmaps.length);
  const rows = height * count;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let x = 0; x < width; x++) out[base + width - 1 - x] = bitmaps[base + x]!;
  }
  return out;
}
