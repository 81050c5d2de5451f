/**
 * The `Detector` interface shared by RetinaNet, and Mask R-CNN (and the detectors to come), the batch it consumes and the
 * detections it produces — mmdetection's `BaseDetector` contract (`loss(inputs, data_samples)` → dict of named
 * losses; `predict(...)` → per-image instances rescaled to the original image), in tiedet's types:
 *
 * - A detector is a `Module` (src/nn/module.ts): `parameters()`, `stateDict()` (keys `backbone.*`, `neck.*`,
 *   `bbox_head.*` as mmdetection), `train()` / `eval()`, `dispose()`.
 * - `loss(batch)` returns named scalar losses (`loss_cls`, `loss_bbox`, …); the trainer sums the entries whose
 *   name contains `loss` (mmdetection's `parse_losses`, src/train/types.ts). It runs inside `tf.variableGrads`,
 *   is synchronous, and leaves only the returned scalars alive.
 * - `predict(batch)` returns one `Detection` per image (in batch order): boxes `[x1, y1, x2, y2]` in ORIGINAL image
 *   pixels (the resize undone with the meta's scale factor, a flip undone, clipped to the image), scores sorted
 *   descending, 0-based contiguous labels, optional masks as COCO compressed RLE. It creates no lasting tensors.
 * - `toCocoResults(detections, labelToCatId)` turns detections into COCO results records (`bbox` as
 *   [x, y, w, h]) that `eval/` (`CocoDataset.loadRes`) reads.
 *
 * Batch layout (what the data pipeline produces, data/meta.ts): `images` [n, H, W, 3] float32 NHWC, normalised and
 * padded (every image at the top-left corner); per image an `ImageMeta` (imageId, originalSize, resizedSize,
 * padSize, scaleFactor, flipped) and, for training, `DetectionTargets` in network-input pixels (after resize and
 * flip): boxes xyxy, labels 0-based, crowd boxes to ignore. The data loader's `Batch` (data/loader.ts) is a
 * `DetectionBatch` as it is. Detectors that need more (masks) extend `DetectionTargets`.
 *
 * Masks are the house's one RLE type, `CompressedRle` (src/structures/rle.ts); the result record is declared here,
 * structurally equal to what eval/coco.ts reads.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../data/meta.js';
import type { Module } from '../src/nn/module.js';
import type { CompressedRle } from '../src/structures/rle.js';

/** Ground truth of one image, in network-input pixels (after resize and flip). */
export interface DetectionTargets {
  /** [k·4] boxes x1, y1, x2, y2. */
  boxes: Float32Array;
  /** [k] 0-based contiguous class indices. */
  labels: Int32Array;
  /** [m·4] crowd regions (COCO `iscrowd`): anchors/proposals covering them are ignored, not negatives. */
  ignoreBoxes?: Float32Array;
}

/** One (micro-)batch. */
export interface DetectionBatch<T extends DetectionTargets = DetectionTargets> {
  /** [n, H, W, 3] normalised, padded images (NHWC float32). */
  images: tf.Tensor4D;
  /** Per image, in batch order. */
  metas: readonly ImageMeta[];
  /** Per image, in batch order; needed by `loss`. */
  targets?: readonly T[];
}

/**
 * The test-time settings an experiment gives every detector whole (configs/_base.ts `TestConfig` carries them; the
 * model factory passes them on as `test`): each detector applies them to its own test config (RetinaNet: `test`;
 * Mask R-CNN: `test.rcnn`).
 */
export interface TestSettings {
  /** Keep detections scoring strictly above this. */
  scoreThr: number;
  /** Per-class NMS IoU threshold. */
  nmsIouThr: number;
  /** Detections kept per image. */
  maxPerImg: number;
}

/** The detections of one image, in original image pixels. */
export interface Detection {
  imageId: number;
  /** [k·4] x1, y1, x2, y2 in original image pixels. */
  boxes: Float32Array;
  /** [k] descending. */
  scores: Float32Array;
  /** [k] 0-based class indices. */
  labels: Int32Array;
  /** [k] instance masks (Mask R-CNN), original image size. */
  masks?: CompressedRle[];
}

/** What every detector offers (see the file comment). Implemented by subclasses of `Module`. */
export interface Detector<B extends DetectionBatch = DetectionBatch> extends Module {
  /** Number of object classes (no background). */
  readonly numClasses: number;
  /** Named scalar losses of a batch with targets. */
  loss(batch: B): Record<string, tf.Scalar>;
  /** Per-image detections (original image coordinates). Synchronous reads: wasm / cpu / tensorflow only. */
  predict(batch: B): Detection[];
  /**
   * The same detections, reading the network outputs with `await tensor.data()` (one read per stage of the batch)
   * — what every backend supports, and the only way on webgpu (no synchronous GPU reads in Node).
   */
  predictAsync(batch: B): Promise<Detection[]>;
}

/** A COCO detection result record (`bbox` [x, y, w, h]; `segmentation` when the detector predicts masks). */
export interface CocoResult {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
  segmentation?: CompressedRle;
}

/**
 * Detections → COCO results. `labelToCatId` maps a 0-based label to the dataset's category id (an array indexed by
 * label, or a function); a label without a category id is an error naming the image and the detection.
 */
export function toCocoResults(
  detections: readonly Detection[],
  labelToCatId: ArrayLike<number> | ((label: number) => number),
): CocoResult[] {
  const catOf = typeof labelToCatId === 'function' ? labelToCatId : (l: number) => labelToCatId[l] as number;
  const out: CocoResult[] = [];
  for (const d of detections) {
    const k = d.scores.length;
    if (d.boxes.length !== 4 * k || d.labels.length !== k || (d.masks && d.masks.length !== k)) {
      throw new Error(
        `toCocoResults: image ${d.imageId}: ${k} scores but ${d.boxes.length / 4} boxes, ${d.labels.length} labels` +
          (d.masks ? `, ${d.masks.length} masks` : ''),
      );
    }
    for (let i = 0; i < k; i++) {
      const cat = catOf(d.labels[i]!);
      if (!Number.isInteger(cat)) {
        throw new Error(`toCocoResults: image ${d.imageId}, detection ${i}: label ${d.labels[i]} has no category id`);
      }
      const x1 = d.boxes[4 * i]!;
      const y1 = d.boxes[4 * i + 1]!;
      const rec: CocoResult = {
        image_id: d.imageId,
        category_id: cat,
        bbox: [x1, y1, d.boxes[4 * i + 2]! - x1, d.boxes[4 * i + 3]! - y1],
        score: d.scores[i]!,
      };
      if (d.masks) rec.segmentation = d.masks[i]!;
      out.push(rec);
    }
  }
  return out;
}
