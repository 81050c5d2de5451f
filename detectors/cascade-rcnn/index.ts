/**
 * Cascade (Mask) R-CNN's public surface: the detector (`CascadeRCNN`, `cascadeRcnn`) and its config
 * (`cascadeRcnnConfig`, mmdetection's defaults, `CASCADE_RCNN_TINY`, `CASCADE_RCNN_BOX_ONLY`). The parts (cascade
 * RoI head, refinement, stage averaging) are imported from their own files.
 */
export { CascadeRCNN, cascadeRcnn, type CascadeRcnnOptions, type CascadeRcnnPredictOptions } from './cascade-rcnn.js';
export { CASCADE_RCNN_BOX_ONLY, CASCADE_RCNN_TINY, cascadeRcnnConfig, defaultCascadeRcnnConfig, type CascadeRcnnConfig } from './config.js';
