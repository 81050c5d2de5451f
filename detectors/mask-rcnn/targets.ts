/**
 * What Mask R-CNN trains on: `DetectionTargets` extended with instance masks in the data pipeline's layout
 * (data/loader.ts `Targets.masks`: k planes of padHeight × padWidth, row-major 0/1 bytes, in network-input pixels
 * after resize and flip, zero-padded — mmdetection's `BitmapMasks` with `pad_mask=True`), and the mask check that
 * turns bad masks into one error naming the image, the field and the value (boxes and labels: ../input-checks.ts).
 */
import type { ImageMeta } from '../../data/meta.js';
import type { GtMasks } from '../../src/ops/mask-target.js';
import type { DetectionBatch, DetectionTargets } from '../detector.js';
import { targetsWhere } from '../input-checks.js';

export interface MaskRcnnTargets extends DetectionTargets {
  /**
   * [k · padHeight · padWidth] row-major 0/1 bitmaps, one plane per box (the size of the batch tensor,
   * `meta.padSize`). Required by `loss`; null/absent only for prediction.
   */
  masks?: Uint8Array | null;
}

export type MaskRcnnBatch = DetectionBatch<MaskRcnnTargets>;

/** The GT masks of image i as `GtMasks` views into its planes (checked against the box count and `meta.padSize`). */
export function gtMasksOf(t: MaskRcnnTargets, i: number, meta: ImageMeta): GtMasks {
  const w = targetsWhere(meta, i);
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
