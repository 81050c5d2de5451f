/**
 * The input checks every detector runs before it computes anything, so that a bad batch or bad targets become one
 * error naming the detector, the image (id and batch index), the field and the value — not a shape error from deep
 * inside TF.js:
 *
 * - `checkBatch`: images [n, H, W, 3], one meta per image, one targets entry per image when targets are given.
 * - `checkImageTargets`: one image's boxes (a multiple of 4 values; finite with x2 > x1 and y2 > y1), labels (one
 *   per box; integers in [0, numClasses) when `numClasses` is given) and crowd boxes (a multiple of 4 values).
 */
import type { ImageMeta } from '../data/meta.js';
import type { DetectionBatch, DetectionTargets } from './detector.js';

/** Shape and count checks of a batch; `owner` (the detector's name) prefixes the errors. */
export function checkBatch(owner: string, batch: DetectionBatch): void {
  const x = batch.images;
  if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`${owner}: images must be [n, H, W, 3], got [${x.shape.join(', ')}]`);
  if (batch.metas.length !== x.shape[0]) throw new Error(`${owner}: ${x.shape[0]} images but ${batch.metas.length} metas`);
  if (batch.targets && batch.targets.length !== x.shape[0]) {
    throw new Error(`${owner}: ${x.shape[0]} images but ${batch.targets.length} targets`);
  }
}

/** `targets of image <id> (batch index <i>)`: how errors about one image's targets start. */
export function targetsWhere(meta: ImageMeta, i: number): string {
  return `targets of image ${meta.imageId} (batch index ${i})`;
}

/** Checks one image's targets (see the file comment) and returns its number of boxes. */
export function checkImageTargets(t: DetectionTargets, i: number, meta: ImageMeta, numClasses?: number): number {
  const w = targetsWhere(meta, i);
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
