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
import { TvRCNN } from '../../detectors/torchvision/rcnn.js';
import { TvRetinaNet } from '../../detectors/torchvision/retinanet.js';

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
