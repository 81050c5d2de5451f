/**
 * Per-image metadata carried with every batch (mmdetection's `img_meta`: `img_id`, `img_path`, `ori_shape`,
 * `img_shape`, `batch_input_shape`, `scale_factor`, `flip`), with sizes as {width, height} objects.
 */

export interface Size {
  width: number;
  height: number;
}

export interface ImageMeta {
  /** COCO image id. */
  imageId: number;
  /** Path of the image file. */
  file: string;
  /** Size of the image file (after EXIF orientation) — the annotation's width/height. */
  originalSize: Size;
  /** Size after the keep-ratio resize (mmdet `img_shape`): the valid region of the network input. */
  resizedSize: Size;
  /** Spatial size of the batch tensor the image sits in (top-left corner; mmdet `batch_input_shape`). */
  padSize: Size;
  /** `[resized.width / original.width, resized.height / original.height]` (mmdet `scale_factor`). */
  scaleFactor: [number, number];
  /** Whether the image (and its targets) were mirrored left ↔ right after resizing. */
  flipped: boolean;
}
