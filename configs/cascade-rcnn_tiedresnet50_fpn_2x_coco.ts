/**
 * Cascade R-CNN (boxes only), TiedResNet-50 (the paper's backbone) + FPN, 24 epochs, ×0.1 at 16 and 22 (the product's 2x schedule); everything else as cascade-mask-rcnn_r50_fpn_20e_coco.
 */
import { cascadeCoco } from './cascade-mask-rcnn_r50_fpn_20e_coco.js';

export default cascadeCoco('tiedresnet50', false, '2x');
