/**
 * The demo's Mask R-CNN recipe (mask-rcnn_tiedresnet_synthetic_tiny) on the `small` synthetic occlusion set: 256×256
 * images, 8 classes, 2400 train + 400 val (`tiedet make-synthetic --preset small --out work_dirs/synthetic-small`).
 * numClasses is 'auto', so the detector gets the set's 8 classes; images keep their size (scale 256).
 */
import tiny from './mask-rcnn_tiedresnet_synthetic_tiny.js';
import { SYNTHETIC_SMALL_ROOT } from './retinanet_tiedresnet_synthetic_small.js';
import { defineConfig, syntheticData } from './_base.js';

const { train: _train, val: _val, ...settings } = tiny.data; // the tiny set's paths are replaced by the small set's

export default defineConfig({
  ...tiny,
  data: syntheticData(SYNTHETIC_SMALL_ROOT, { ...settings, scale: [256, 256] }),
});
