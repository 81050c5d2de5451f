/**
 * Mask R-CNN's public surface: the detector (`MaskRCNN`, `maskRcnn`), its config (`maskRcnnConfig`, mmdetection's
 * defaults, `MASK_RCNN_TINY`) and the batch / target types. The parts (heads, targets, proposals, post-processing)
 * are imported from their own files.
 */
export { MaskRCNN, maskRcnn, type MaskRcnnOptions, type MaskRcnnPredictOptions } from './mask-rcnn.js';
export { MASK_RCNN_TINY, defaultMaskRcnnConfig, maskRcnnConfig, type MaskRcnnConfig } from './config.js';
export type { MaskRcnnBatch, MaskRcnnTargets } from './targets.js';
