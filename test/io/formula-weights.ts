/**
 * The formula weights of tools/fixtures/resnet_parity.py, reproduced bit for bit (see that script): a torchvision
 * state dict whose values need no committed file. `writeFormulaWeights` rebuilds the weight file the Python script
 * wrote (same keys, shapes, dtypes, values, layout) so its SHA-256 can be compared with the manifest's.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeSafetensors, type SafetensorsInput } from '../../src/io/safetensors.js';

export interface FormulaManifest {
  model: string;
  input: [number, number, number, number];
  weights_sha256: string;
  weights_bytes: number;
  metadata: Record<string, string>;
  /** [key, PyTorch shape, dtype] in state-dict order. */
  keys: Array<[string, number[], 'F32' | 'I64']>;
}

export function readManifest(path: string): FormulaManifest {
  return JSON.parse(readFileSync(path, 'utf8')) as FormulaManifest;
}

/** FNV-1a 32-bit hash of the UTF-8 bytes of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** The formula's float32 values for key `name` with PyTorch shape `shape` (row-major, PyTorch layout). */
export function formulaValues(name: string, shape: readonly number[]): Float32Array {
  const k = fnv1a32(name) % 1000;
  const n = shape.reduce((a, b) => a * b, 1);
  let scale: (v: number) => number;
  if (name.endsWith('running_var')) scale = (v) => 1 + 0.5 * v;
  else if (name.endsWith('running_mean')) scale = (v) => 0.1 * v;
  else if (shape.length === 4) {
    const s = Math.sqrt(6.0 / (shape[1]! * shape[2]! * shape[3]!));
    scale = (v) => v * s;
  } else if (name === 'fc.weight') {
    const s = Math.sqrt(1.0 / shape[1]!);
    scale = (v) => v * s;
  } else if (name === 'fc.bias') scale = (v) => 0.01 * v;
  else if (name.endsWith('bn3.weight') || name.endsWith('downsample.1.weight')) scale = (v) => 0.3 + 0.1 * v;
  else if (name.endsWith('.weight')) scale = (v) => 1 + 0.25 * v;
  else if (name.endsWith('.bias')) scale = (v) => 0.1 * v;
  else throw new Error(`no formula for ${name}`);
  const out = new Float32Array(n);
  const kk = k * 104729;
  for (let i = 0; i < n; i++) {
    const u = (i * (i * 131 + 7919) + kk) % 65536; // < 2^53: exact
    out[i] = scale(u / 32768 - 1);
  }
  return out;
}

/** The formula state dict of a manifest, in PyTorch layout. */
export function formulaStateDict(manifest: FormulaManifest): Array<[string, SafetensorsInput]> {
  return manifest.keys.map(([name, shape, dtype]) =>
    dtype === 'I64'
      ? [name, { dtype, shape, data: [fnv1a32(name) % 1000] }]
      : [name, { dtype, shape, data: formulaValues(name, shape) }],
  );
}

/** Write the manifest's weight file to `path`; returns its SHA-256 (hex). */
export function writeFormulaWeights(manifest: FormulaManifest, path: string): string {
  writeSafetensors(path, formulaStateDict(manifest), manifest.metadata);
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
