/**
 * What Mask R-CNN trains on: `DetectionTargets` extended with instance masks in the data pipeline's layout
 * (data/loader.ts `Targets.masks`: k planes of padHeight × padWidth, row-major 0/1 bytes, in network-input pixels
 * after resize and flip, zero-padded — mmdetection's `BitmapMasks` with `pad_mask=True`), and the input checks
 * that turn bad targets into one error naming the image, the field and the value.
 */
import type { ImageMeta } from '../../data/meta.js';
import type { GtMasks } from '../../src/ops/mask-target.js';
import type { DetectionBatch, DetectionTargets } from '../detector.js';

export interface MaskRcnnTargets extends DetectionTargets {
  /**
   * [k · padHeight · padWidth] row-major 0/1 bitmaps, one plane per box (the size of the batch tensor,
   * `meta.padSize`). Required by `loss`; null/absent only for prediction.
   */
  masks?: Uint8Array | null;
}

export type MaskRcnnBatch = DetectionBatch<MaskRcnnTargets>;

const where = (meta: ImageMeta, i: number) => `targets of image ${meta.imageId} (batch index ${i})`;

/** Checks boxes (finite, x2 > x1, y2 > y1), labels (count; `numClasses` bounds them when given) and ignore boxes. */
export function checkImageTargets(t: DetectionTargets, i: number, meta: ImageMeta, numClasses?: number): number {
  const w = where(meta, i);
  if (t.boxes.length % 4 !== 0) throw new Error(`${w}: boxes has ${t.boxes.length} values, not a multiple of 4`);
  const k = t.boxes.length / 4;
  if (t.labels.length !== k) throw new Error(`${w}: ${k} boxes but ${t.labels.length} labels`);
  for (let g = 0; g < k; g++) {
    const [x1, y1, x2, y2] = [t.boxes[4 * g]!, t.boxes[4 * g + 1]!, t.boxes[4 * g + 2]!, t.boxes[4 * g + 3]!];
    if (![x1, y1, x2, y2].every(Number.isFinite) || !(x2 > x1 && y2 > y1)) {
      throw new Error(`${w}: boxes[${g}] [${x1}, ${y1}, ${x2}, ${y2}] must be finite with x2 > x1 and y2 > y1`);
    }
    const l = t.labels[g]!;
    if (numClasses !== undefined && (!Number.isInteger(l) || l < 0 || l >= numClasses)) {
      throw new Error(`${w}: labels[${g}] is ${l}, not an integer in [0, ${numClasses})`);
    }
  }
  if (t.ignoreBoxes && t.ignoreBoxes.length % 4 !== 0) {
    throw new Error(`${w}: ignoreBoxes has ${t.ignoreBoxes.length} values, not a multiple of 4`);
  }
  return k;
}

/** The GT masks of image i as `GtMasks` views into its planes (checked against the box count and `meta.padSize`). */
export function gtMasksOf(t: MaskRcnnTargets, i: number, meta: ImageMeta): GtMasks {
  const w = where(meta, i);
  const k = t.boxes.length / 4;
  const { height: H, width: W } = meta.padSize;
  if (!t.masks) {
    throw new Error(`${w}: masks are missing — Mask R-CNN trains on instance masks (load the dataset with masks)`);
  }
  if (t.masks.length !== k * H * W) {
    throw new Error(`${w}: masks has ${t.masks.length} bytes, expected ${k} boxes × ${H} × ${W} (padSize) = ${k * H * W}`);
  }
  const masks: Uint8Array[] = [];
  for (let g = 0; g < k; g++) masks.push(t.masks.subarray(g * H * W, (g + 1) * H * W));
  return { height: H, width: W, masks };
}
