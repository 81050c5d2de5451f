/**
 * torchvision's `GeneralizedRCNNTransform` for inference (torchvision/models/detection/transform.py), on tiedet's
 * NHWC tensors:
 *
 *   normalise  (x / 255 − mean) / std per channel, float32, BEFORE resizing (torchvision's order)
 *   resize     scale = min(min_size / short, max_size / long) in float32 (as torch evaluates `float / tensor`:
 *              float32(1 / side) · size, rounded again — 320 / 200 gives 1.5999999, so 200 px → 319); output ⌊side · scale⌋ per axis (double, as
 *              `F.interpolate(scale_factor=…, recompute_scale_factor=True)`); bilinear with align_corners False —
 *              TF.js `resizeBilinear(halfPixelCenters)` samples the same positions (src = (i + 0.5)·in/out − 0.5,
 *              clamped at the border)
 *   batch      zero-padded (in normalised space) at the bottom / right to ⌈max side / 32⌉·32
 *   postprocess boxes × (original / resized) per axis in float32 (`resize_boxes`; not clipped), masks pasted into
 *              the original image (src/ops/paste-masks.ts, torchvision semantics)
 *
 * `ImageMeta.resizedSize` is torchvision's `image_sizes`; `scaleFactor` is resized / original (mmdet's meaning).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import type { DetectionBatch } from '../detector.js';
import type { TvTransformConfig } from './config.js';

/** An 8-bit RGB image (data/image.ts `RgbImage`) with its id and file. */
export interface TvInputImage {
  data: Uint8Array;
  width: number;
  height: number;
  imageId: number;
  file: string;
}

/** torchvision's resized size (height, width) of an h × w image. */
export function tvResizedSize(h: number, w: number, cfg: Pick<TvTransformConfig, 'minSize' | 'maxSize'>): [number, number] {
  const f = Math.fround;
  // `python_float / float32_tensor` is `tensor.reciprocal() * python_float` in torch: two float32 roundings
  const scale = Math.min(f(f(1 / Math.min(h, w)) * cfg.minSize), f(f(1 / Math.max(h, w)) * cfg.maxSize));
  return [Math.floor(h * scale), Math.floor(w * scale)];
}

/** One normalised, resized image [1, h′, w′, 3]. */
function prepare(img: TvInputImage, cfg: TvTransformConfig): tf.Tensor4D {
  const [rh, rw] = tvResizedSize(img.height, img.width, cfg);
  return tf.tidy(() => {
    const x = tf.tensor4d(img.data, [1, img.height, img.width, 3], 'int32').toFloat();
    const norm = tf.div(tf.sub(tf.div(x, 255), tf.tensor1d([...cfg.imageMean])), tf.tensor1d([...cfg.imageStd])) as tf.Tensor4D;
    if (rh === img.height && rw === img.width) return norm;
    return tf.image.resizeBilinear(norm, [rh, rw], false, true);
  });
}

/** Images → a padded batch and metas (see the file comment). */
export function tvTransform(images: readonly TvInputImage[], cfg: TvTransformConfig): DetectionBatch {
  if (images.length === 0) throw new Error('tvTransform: no images');
  const parts = images.map((im) => prepare(im, cfg));
  try {
    const d = cfg.sizeDivisible;
    const H = Math.ceil(Math.max(...parts.map((p) => p.shape[1])) / d) * d;
    const W = Math.ceil(Math.max(...parts.map((p) => p.shape[2])) / d) * d;
    const batch = tf.tidy(() =>
      tf.concat(parts.map((p) => tf.pad(p, [[0, 0], [0, H - p.shape[1]], [0, W - p.shape[2]], [0, 0]])), 0),
    ) as tf.Tensor4D;
    const metas: ImageMeta[] = images.map((im, i) => {
      const [rh, rw] = [parts[i]!.shape[1], parts[i]!.shape[2]];
      return {
        imageId: im.imageId,
        file: im.file,
        originalSize: { width: im.width, height: im.height },
        resizedSize: { width: rw, height: rh },
        padSize: { width: W, height: H },
        scaleFactor: [rw / im.width, rh / im.height],
        flipped: false,
      };
    });
    return { images: batch, metas };
  } finally {
    tf.dispose(parts);
  }
}

/** torchvision `resize_boxes`: network-input boxes → original pixels, × float32(original / resized) per axis. */
export function tvResizeBoxes(boxes: Float32Array, meta: ImageMeta): Float32Array {
  const f = Math.fround;
  const rx = f(f(meta.originalSize.width) / f(meta.resizedSize.width));
  const ry = f(f(meta.originalSize.height) / f(meta.resizedSize.height));
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = f(boxes[i]! * rx);
    out[i + 1] = f(boxes[i + 1]! * ry);
    out[i + 2] = f(boxes[i + 2]! * rx);
    out[i + 3] = f(boxes[i + 3]! * ry);
  }
  return out;
}
