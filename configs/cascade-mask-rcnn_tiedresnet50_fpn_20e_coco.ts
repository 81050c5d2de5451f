/**
 * Cascade Mask R-CNN, TiedResNet-50 (the paper's backbone) + FPN, 20 epochs, ×0.1 at 16 and 19 (mmdetection's cascade_rcnn/*_20e_coco.py); everything else as cascade-mask-rcnn_r50_fpn_20e_coco.
 */
import { cascadeCoco } from './cascade-mask-rcnn_r50_fpn_20e_coco.js';

export default cascadeCoco('tiedresnet50', true, '20e');
