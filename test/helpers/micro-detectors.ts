/**
 * The smallest RetinaNet and Mask R-CNN tiedet builds (≈ 60 k parameters each: ResNet stem + one bottleneck of
 * expansion ¼ per stage, FPN / heads of 8 channels, 3 classes as the tiny synthetic set), for checkpoint fixtures with mmdetection's key
 * names (tools/fixtures/pth.py writes them from the key list `tools/fixtures/micro-keys.ts` dumps).
 */
import { maskRcnnConfig, MASK_RCNN_TINY } from '../../detectors/mask-rcnn/config.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { bottleneckResNet } from '../../src/backbones/resnet.js';

const microBackbone = (seed: number) =>
  bottleneckResNet({ layers: [1, 1, 1, 1], baseWidth: 4, expansion: 0.25 }, { seed, numClasses: null, frozenStages: -1, normEval: false });

export function microRetinaNet(seed = 1, numClasses = 3): RetinaNet {
  return new RetinaNet({
    backbone: microBackbone(seed),
    config: { numClasses, model: { neck: { outChannels: 8 }, head: { featChannels: 8, stackedConvs: 1 } } },
    seed: `${seed}:heads`,
  });
}

export function microMaskRcnn(seed = 1, numClasses = 3): MaskRCNN {
  return new MaskRCNN({
    backbone: microBackbone(seed),
    config: maskRcnnConfig(MASK_RCNN_TINY, {
      numClasses,
      model: { neck: { outChannels: 8 }, rpnHead: { featChannels: 8 }, bboxHead: { fcChannels: 16 }, maskHead: { numConvs: 1, convChannels: 8 } },
    }),
    seed: `${seed}:heads`,
  });
}
