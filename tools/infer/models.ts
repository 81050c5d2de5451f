/**
 * The detectors `tiedet infer --model torchvision:NAME` knows: a typed table from the name to the preset config
 * (detectors/torchvision/config.ts). The `*_tiny_fpn` entries are the parity fixture's small variants
 * (test/fixtures/torchvision/*.safetensors): for tests and the README's runnable example, not for COCO.
 */
import {
  fasterrcnnResnet50Fpn,
  maskrcnnResnet50Fpn,
  retinanetResnet50Fpn,
  smallVariant,
  type TvDetectorConfig,
} from '../../detectors/torchvision/config.js';
import { cocoCategories, isCocoLabel } from '../../detectors/torchvision/labels.js';
import { TvRCNN } from '../../detectors/torchvision/rcnn.js';
import { TvRetinaNet } from '../../detectors/torchvision/retinanet.js';
import { tvTransform } from '../../detectors/torchvision/transform.js';
import { loadDetectorWeights } from '../../detectors/torchvision/weights.js';
import type { InferModel } from './run.js';

export const TORCHVISION_MODELS = {
  maskrcnn_resnet50_fpn: maskrcnnResnet50Fpn,
  fasterrcnn_resnet50_fpn: fasterrcnnResnet50Fpn,
  retinanet_resnet50_fpn: retinanetResnet50Fpn,
  maskrcnn_tiny_fpn: () => smallVariant(maskrcnnResnet50Fpn()),
  retinanet_tiny_fpn: () => smallVariant(retinanetResnet50Fpn()),
} satisfies Record<string, () => TvDetectorConfig>;

export type TorchvisionModelName = keyof typeof TORCHVISION_MODELS;

export type TvDetector = TvRCNN | TvRetinaNet;

/** `torchvision:NAME` → the preset's config, or an error listing the names. */
export function torchvisionConfig(spec: string): TvDetectorConfig {
  const m = /^torchvision:(.+)$/.exec(spec);
  const names = Object.keys(TORCHVISION_MODELS).map((n) => `torchvision:${n}`).join(', ');
  if (!m || !(m[1]! in TORCHVISION_MODELS)) throw new Error(`--model: unknown model '${spec}' (known: ${names})`);
  return TORCHVISION_MODELS[m[1] as TorchvisionModelName]();
}

export function buildTorchvision(cfg: TvDetectorConfig): TvDetector {
  return cfg.kind === 'rcnn' ? new TvRCNN(cfg) : new TvRetinaNet(cfg);
}

/** A torchvision preset as infer's model (labels are COCO ids; background and "N/A" are not written). */
export function torchvisionInferModel(model: TvDetector): InferModel {
  return {
    prepare: (images) => tvTransform(images, model.config.transform),
    predict: (batch) => model.predict(batch),
    categoryOf: (label) => (isCocoLabel(label) ? label : null),
    categories: cocoCategories(),
    get training() {
      return model.training;
    },
    train: (on) => model.train(on),
  };
}

/** `--model torchvision:NAME --weights W`: the preset with its weights (through `loadDetectorWeights`). */
export function loadTorchvisionModel(spec: string, weights: string): TvDetector {
  const model = buildTorchvision(torchvisionConfig(spec));
  try {
    loadDetectorWeights(model, weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
