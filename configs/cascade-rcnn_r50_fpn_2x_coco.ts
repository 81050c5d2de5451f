/**
 * Cascade R-CNN (boxes only), ResNet-50 + FPN, 24 epochs, ×0.1 at 16 and 22 (the product's 2x schedule); everything else as cascade-mask-rcnn_r50_fpn_20e_coco.
 */
import { cascadeCoco } from './cascade-mask-rcnn_r50_fpn_20e_coco.js';

export default cascadeCoco('r50', false, '2x');
