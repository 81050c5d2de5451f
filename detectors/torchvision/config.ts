/**
 * torchvision's COCO detectors (v1 weights) as typed configs — the values of torchvision 0.14's
 * `maskrcnn_resnet50_fpn`, `fasterrcnn_resnet50_fpn` and `retinanet_resnet50_fpn` builders and of the classes they
 * call (`MaskRCNN`, `FasterRCNN`, `RetinaNet`, `GeneralizedRCNNTransform`, `RPN`, `RoIHeads`, `MultiScaleRoIAlign`):
 *
 *   transform  min_size 800, max_size 1333 (scale = min(800 / short, 1333 / long) in float32, output ⌊side·scale⌋,
 *              bilinear, align_corners False), ImageMeta mean / std on 0–1 RGB (normalised BEFORE resizing),
 *              batch padded to a multiple of 32
 *   anchors    R-CNN: sizes 32…512 (one per level P2–P6) × ratios 0.5 / 1 / 2; RetinaNet: (x, ⌊x·2^⅓⌋, ⌊x·2^⅔⌋)
 *              for x = 32…512 (P3–P7) × 0.5 / 1 / 2; base anchors rounded (torch.round), level stride = padded
 *              size // feature size (61 rather than 64 for P6 of an 800-high input)
 *   rpn        BoxCoder (1, 1, 1, 1), test pre-NMS top-n 1000 per level, post-NMS top-n 1000, NMS 0.7, min size
 *              1e-3, score threshold 0
 *   roi heads  MultiScaleRoIAlign 7 (box) / 14 (mask), sampling ratio 2, aligned False, LevelMapper (224, level 4,
 *              ε 1e-6, levels 2–5); TwoMLPHead 1024; BoxCoder (10, 10, 5, 5); score > 0.05, min size 1e-2, NMS 0.5
 *              per class, 100 per image; mask head 4 × 256 convs, deconv, 91 logits; paste_masks_in_image
 *   retinanet  FPN on C3–C5 + P6 / P7 from P5 (LastLevelP6P7(256, 256): P5 because in = out channels; ReLU before
 *              P7); head 4 × conv + ReLU per branch, 91 sigmoid classes; BoxCoder (1, 1, 1, 1); score > 0.05,
 *              top 1000 per level, NMS 0.5 per class, 300 per image
 *
 * Labels are torchvision's 91-entry COCO_V1 label space (0 = background, 1…90 = COCO category ids, 11 of them
 * "N/A"): a label IS the COCO `category_id` (labels.ts).
 */

/** The backbone: torchvision `ResNet` of `Bottleneck` blocks (R50: [3, 4, 6, 3], width 64, expansion 4). */
export interface TvBackboneConfig {
  layers: readonly [number, number, number, number];
  /** torchvision `width_per_group`. */
  baseWidth: number;
  /** Bottleneck expansion (4 in torchvision's ResNets; the parity fixture uses 1 to stay small). */
  expansion: number;
}

export interface TvTransformConfig {
  minSize: number;
  maxSize: number;
  /** Per channel, on 0–1 RGB. */
  imageMean: readonly [number, number, number];
  imageStd: readonly [number, number, number];
  sizeDivisible: number;
}

export interface TvRpnConfig {
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThresh: number;
  minSize: number;
  scoreThresh: number;
}

export interface TvRoiHeadsConfig {
  /** TwoMLPHead width. */
  representationSize: number;
  /** MaskRCNNHeads conv widths (4 × 256); 0 convs = Faster R-CNN (no mask branch). */
  maskLayers: readonly number[];
  samplingRatio: number;
  boxWeights: readonly [number, number, number, number];
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  minSize: number;
  /** Masks are foreground where the pasted probability is > this (torchvision's COCO evaluation: 0.5). */
  maskThresh: number;
}

export interface TvRcnnConfig {
  kind: 'rcnn';
  /** Mask branch (Mask R-CNN) or not (Faster R-CNN). */
  masks: boolean;
  backbone: TvBackboneConfig;
  fpnChannels: number;
  transform: TvTransformConfig;
  anchorSizes: readonly (readonly number[])[];
  aspectRatios: readonly number[];
  rpn: TvRpnConfig;
  roiHeads: TvRoiHeadsConfig;
}

export interface TvRetinaNetConfig {
  kind: 'retinanet';
  backbone: TvBackboneConfig;
  fpnChannels: number;
  transform: TvTransformConfig;
  anchorSizes: readonly (readonly number[])[];
  aspectRatios: readonly number[];
  numClasses: number;
  scoreThresh: number;
  topkCandidates: number;
  nmsThresh: number;
  detectionsPerImg: number;
}

export type TvDetectorConfig = TvRcnnConfig | TvRetinaNetConfig;

const R50: TvBackboneConfig = { layers: [3, 4, 6, 3], baseWidth: 64, expansion: 4 };

function transform(): TvTransformConfig {
  return { minSize: 800, maxSize: 1333, imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225], sizeDivisible: 32 };
}

/** torchvision `maskrcnn_resnet50_fpn` (v1). */
export function maskrcnnResnet50Fpn(): TvRcnnConfig {
  return {
    kind: 'rcnn',
    masks: true,
    backbone: R50,
    fpnChannels: 256,
    transform: transform(),
    anchorSizes: [[32], [64], [128], [256], [512]],
    aspectRatios: [0.5, 1.0, 2.0],
    rpn: { preNmsTopN: 1000, postNmsTopN: 1000, nmsThresh: 0.7, minSize: 1e-3, scoreThresh: 0.0 },
    roiHeads: {
      representationSize: 1024,
      maskLayers: [256, 256, 256, 256],
      samplingRatio: 2,
      boxWeights: [10, 10, 5, 5],
      scoreThresh: 0.05,
      nmsThresh: 0.5,
      detectionsPerImg: 100,
      minSize: 1e-2,
      maskThresh: 0.5,
    },
  };
}

/** torchvision `fasterrcnn_resnet50_fpn` (v1): Mask R-CNN without the mask branch. */
export function fasterrcnnResnet50Fpn(): TvRcnnConfig {
  const c = maskrcnnResnet50Fpn();
  return { ...c, masks: false, roiHeads: { ...c.roiHeads, maskLayers: [] } };
}

/** torchvision `retinanet_resnet50_fpn` (v1). */
export function retinanetResnet50Fpn(): TvRetinaNetConfig {
  return {
    kind: 'retinanet',
    backbone: R50,
    fpnChannels: 256,
    transform: transform(),
    anchorSizes: [32, 64, 128, 256, 512].map((x) => [x, Math.trunc(x * 2 ** (1 / 3)), Math.trunc(x * 2 ** (2 / 3))]),
    aspectRatios: [0.5, 1.0, 2.0],
    numClasses: 91,
    scoreThresh: 0.05,
    topkCandidates: 1000,
    nmsThresh: 0.5,
    detectionsPerImg: 300,
  };
}

/**
 * The parity fixture's small variant of a preset (tools/fixtures/torchvision_detectors.py): Bottleneck expansion 1,
 * one block per stage, width 16, FPN 32, heads 128 / 4 × 32, transform 320 / 480. Everything else unchanged.
 */
export function smallVariant<C extends TvDetectorConfig>(cfg: C): C {
  const out = {
    ...cfg,
    backbone: { layers: [1, 1, 1, 1], baseWidth: 16, expansion: 1 },
    fpnChannels: 32,
    transform: { ...cfg.transform, minSize: 320, maxSize: 480 },
  } as C;
  if (out.kind === 'rcnn') {
    const r = out as TvRcnnConfig;
    r.roiHeads = { ...r.roiHeads, representationSize: 128, maskLayers: r.masks ? [32, 32, 32, 32] : [] };
  }
  return out;
}
