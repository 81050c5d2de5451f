/**
 * The one place that turns a weights file into named PyTorch-layout tensors, whatever its format: safetensors
 * (`readSafetensors`) or a `torch.save` file (`.pth`, read by pth.ts without Python — a bare state dict, an
 * mmdetection checkpoint's `state_dict`, torchvision's reference-script `model`). The format is recognised from
 * the file's first bytes (weights.ts `weightsFormat`), not its name. Callers that need the tensors themselves
 * (detectors/torchvision/weights.ts moves class rows; infer's `--config` path) go through `readWeightsFile`;
 * `loadWeightsInto` (weights.ts) reads lazily for the mmdetection path.
 */
import { existsSync, statSync } from 'node:fs';
import { PthFile, stateDictOf } from './pth.js';
import { readSafetensors, type SafetensorsDtype, type SafetensorsFile, type SafetensorsTensor } from './safetensors.js';
import { weightsFormat } from './weights.js';

/** Named tensors of a weights file (PyTorch layout) and its metadata. */
export type WeightsFile = Pick<SafetensorsFile, 'tensors' | 'metadata'>;

export function readWeightsFile(path: string): WeightsFile {
  if (!existsSync(path)) throw new Error(`${path}: no such weights file`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: is a folder, not a weights file`);
  if (weightsFormat(path) === 'safetensors') return readSafetensors(path);
  const pth = PthFile.open(path);
  try {
    const sd = stateDictOf(pth);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [key, value] of sd.tensors) {
      const data = pth.tensorData(value, key);
      const dtype: SafetensorsDtype = data instanceof Float32Array ? 'F32' : data instanceof Int32Array ? 'I32' : 'U8';
      tensors.set(key, { dtype, shape: [...pth.tensor(value, key).shape], data });
    }
    return { tensors, metadata: null };
  } finally {
    pth.close();
  }
}
