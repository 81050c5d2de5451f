/**
 * One sample through mmdetection's pipeline: LoadImageFromFile → LoadAnnotations → Resize(keep ratio) →
 * RandomFlip (decision made by the caller) → normalise → pad (into the batch's padded size), with boxes and masks
 * transformed alongside. The same function runs in-process and in data workers (data/worker.ts), so results are
 * identical either way. No TF.js here: the output is plain typed arrays, transferable between threads.
 */
import { readImage } from './image.js';
import type { ImageMeta, Size } from './meta.js';
import { flipBoxes } from './transforms/flip.js';
import { segmentationsToBitmaps } from './transforms/masks.js';
import { normalizeImage } from './transforms/normalize.js';
import { rescaleBoxes, rescaleSize, resizeBilinear } from './transforms/resize.js';

/** Everything a worker needs for one image (structured-clone friendly). */
export interface SampleTask {
  imageId: number;
  file: string;
  /** Size from the annotation file (the image must match it). */
  width: number;
  height: number;
  boxes: Float32Array;
  labels: Int32Array;
  ignoreBoxes: Float32Array;
  /** Segmentations per box, or null for no masks. */
  segmentations: unknown[] | null;
  flip: boolean;
  scale: readonly [number, number];
  /** The batch's padded size (≥ the resized size). */
  padSize: Size;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  maxPixels: number;
}

/** One transformed image with its targets in network-input pixels. */
export interface SampleResult {
  /** Normalised image, HWC float32 of padSize (padding = 0). */
  image: Float32Array;
  /** `[x1, y1, x2, y2]` per object, resized (clipped) and flipped. */
  boxes: Float32Array;
  labels: Int32Array;
  ignoreBoxes: Float32Array;
  /** `n × padHeight × padWidth` 0/1 bitmaps, when segmentations were given. */
  masks: Uint8Array | null;
  meta: ImageMeta;
}

/** The resized size of an image (known before decoding, from the annotation's size). */
export function resizedSizeOf(width: number, height: number, scale: readonly [number, number]): Size {
  const r = rescaleSize(width, height, scale);
  return { width: r.width, height: r.height };
}

/** Decodes and transforms one sample. Throws `ImageError` / src/structures/segmentation.ts `SegmentationError` on bad input. */
export async function runSample(task: SampleTask): Promise<SampleResult> {
  const decoded = await readImage(task.file, { expectWidth: task.width, expectHeight: task.height, maxPixels: task.maxPixels });
  return transformSample(task, decoded);
}

/** The transform part of {@link runSample}, on an already decoded image. */
export function transformSample(task: SampleTask, decoded: { data: Uint8Array; width: number; height: number }): SampleResult {
  const { width: ow, height: oh } = decoded;
  const r = rescaleSize(ow, oh, task.scale);
  const pad = task.padSize;
  if (pad.width < r.width || pad.height < r.height) {
    throw new RangeError(`${task.file}: pad size ${pad.width}×${pad.height} is smaller than the resized image ${r.width}×${r.height}`);
  }
  const img = resizeBilinear(decoded, r.width, r.height);
  let boxes = rescaleBoxes(task.boxes, r.scaleFactor, r.width, r.height);
  let ignoreBoxes = rescaleBoxes(task.ignoreBoxes, r.scaleFactor, r.width, r.height);
  if (task.flip) {
    boxes = flipBoxes(boxes, r.width);
    ignoreBoxes = flipBoxes(ignoreBoxes, r.width);
  }
  // the image flip (flipImage) rides along with normalisation: same values, one pass less
  const image = new Float32Array(pad.width * pad.height * 3);
  normalizeImage(img, { mean: task.mean, std: task.std, out: image, outWidth: pad.width, flip: task.flip });
  const masks =
    task.segmentations === null
      ? null
      : segmentationsToBitmaps(task.segmentations, {
          originalWidth: ow,
          originalHeight: oh,
          width: r.width,
          height: r.height,
          flip: task.flip,
          padWidth: pad.width,
          padHeight: pad.height,
        });
  return {
    image,
    boxes,
    labels: task.labels.slice(),
    ignoreBoxes,
    masks,
    meta: {
      imageId: task.imageId,
      file: task.file,
      originalSize: { width: ow, height: oh },
      resizedSize: { width: r.width, height: r.height },
      padSize: { width: pad.width, height: pad.height },
      scaleFactor: r.scaleFactor,
      flipped: task.flip,
    },
  };
}

/** The buffers of a result, to transfer (not copy) across threads. */
export function resultTransferList(r: SampleResult): ArrayBuffer[] {
  const list = [r.image.buffer, r.boxes.buffer, r.labels.buffer, r.ignoreBoxes.buffer] as ArrayBuffer[];
  if (r.masks) list.push(r.masks.buffer as ArrayBuffer);
  return list;
}
