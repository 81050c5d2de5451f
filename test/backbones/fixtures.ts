/** Loading test/fixtures/backbones (written by tools/fixtures/backbones.py) and small shared helpers. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

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

interface Ref {
  shape: number[];
  offset: number;
  length: number;
}

export interface BottleneckCase {
  name: string;
  config: { inplanes: number; planes: number; stride: number; groups: number; baseWidth: number; downsample: boolean };
  params: string[];
  buffers: string[];
  tensors: Record<string, Ref>;
}

export interface BottleneckFixtures {
  cases: BottleneckCase[];
  tensor(c: BottleneckCase, key: string): tf.Tensor;
}

export function bottleneckFixtures(): BottleneckFixtures {
  const manifest = JSON.parse(readFileSync(join(DIR, 'bottleneck.json'), 'utf8')) as { data: string; elements: number; cases: BottleneckCase[] };
  const buf = readFileSync(join(DIR, manifest.data));
  if (buf.byteLength !== manifest.elements * 4) throw new Error(`bottleneck fixture: ${buf.byteLength} bytes, manifest says ${manifest.elements} floats`);
  const data = new Float32Array(manifest.elements);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  return {
    cases: manifest.cases,
    tensor(c, key) {
      const r = c.tensors[key];
      if (!r) throw new Error(`bottleneck fixture ${c.name}: no tensor "${key}"`);
      return tf.tensor(data.subarray(r.offset, r.offset + r.length), r.shape, 'float32');
    },
  };
}

/** Values of a tensor as a plain array (a copy). */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}
