/**
 * The one place that turns a weights file into named PyTorch-layout tensors, whatever its format: today
 * safetensors (`readSafetensors`); a `.pth` reader plugs in here. Everything that loads `--weights` (infer, test,
 * detectors/torchvision/weights.ts) goes through `readWeightsFile`.
 */
import { existsSync } from 'node:fs';
import { readSafetensors, type SafetensorsFile } from './safetensors.js';

/** Named tensors of a weights file (PyTorch layout) and its metadata. */
export type WeightsFile = Pick<SafetensorsFile, 'tensors' | 'metadata'>;

export function readWeightsFile(path: string): WeightsFile {
  if (!existsSync(path)) throw new Error(`${path}: no such weights file`);
  if (/\.safetensors$/i.test(path)) return readSafetensors(path);
  if (/\.(pth|pt|bin)$/i.test(path)) {
    throw new Error(`${path}: PyTorch .pth files are not read yet; convert it to .safetensors first (tiedet convert ${path} OUT.safetensors)`);
  }
  throw new Error(`${path}: unknown weights format (expected .safetensors)`);
}
