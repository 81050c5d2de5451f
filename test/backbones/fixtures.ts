/** Loading test/fixtures/backbones (written by tools/fixtures/backbones.py) and small shared helpers. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { loadF32Fixtures, type F32FixtureCase, type F32Fixtures } from '../nn/helpers.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'backbones');

export interface TorchvisionModelKeys {
  stateDictEntries: number;
  parameters: number;
  parameterTensors: number;
  /** [key, PyTorch shape] in state-dict order (resnet50 and resnext50_32x4d only). */
  keys?: [string, number[]][];
}

export function torchvisionKeys(): Record<string, TorchvisionModelKeys> {
  return (JSON.parse(readFileSync(join(DIR, 'torchvision_keys.json'), 'utf8')) as { models: Record<string, TorchvisionModelKeys> }).models;
}

/** PyTorch shape → tiedet (TF.js) layout: conv [o, i, kh, kw] → [kh, kw, i, o]; fc [o, i] → [i, o]. */
export function torchShapeToTf(shape: readonly number[]): number[] {
  if (shape.length === 4) return [shape[2]!, shape[3]!, shape[1]!, shape[0]!];
  if (shape.length === 2) return [shape[1]!, shape[0]!];
  return [...shape];
}

export interface BottleneckCase extends F32FixtureCase {
  config: { inplanes: number; planes: number; stride: number; groups: number; baseWidth: number; downsample: boolean };
  params: string[];
  buffers: string[];
}

export function bottleneckFixtures(): F32Fixtures<BottleneckCase> {
  return loadF32Fixtures<BottleneckCase>(join(DIR, 'bottleneck.json'));
}

/** Values of a tensor as a plain array (a copy). */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}
