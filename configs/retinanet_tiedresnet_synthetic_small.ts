/**
 * The tiny RetinaNet recipe (retinanet_tiedresnet_synthetic_tiny) on the `small` synthetic occlusion set: 256×256
 * images, 8 classes, 2400 train + 400 val (`tiedet make-synthetic --preset small --out work_dirs/synthetic-small`).
 * numClasses is 'auto', so the detector gets the set's 8 classes; images keep their size (scale 256); the schedule is
 * the tiny recipe's in epochs (300 iterations of 8 images per epoch here).
 */
import tiny from './retinanet_tiedresnet_synthetic_tiny.js';
import { defineConfig, syntheticData } from './_base.js';

/** Where `tiedet make-synthetic --preset small` is expected. */
export const SYNTHETIC_SMALL_ROOT = 'work_dirs/synthetic-small';

const { train: _train, val: _val, ...settings } = tiny.data; // the tiny set's paths are replaced by the small set's

export default defineConfig({
  ...tiny,
  data: syntheticData(SYNTHETIC_SMALL_ROOT, { ...settings, scale: [256, 256] }),
});
