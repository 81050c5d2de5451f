/**
 * torchvision parity through a PyTorch weight file: ResNet-50 and ResNeXt-50 32×4d.
 *
 * tools/fixtures/resnet_parity.py fills torchvision's models with bit-exact formula weights, writes each state
 * dict as a safetensors file (~100 MB, not committed; its SHA-256 is in the manifest) and commits the C2–C5
 * outputs. Here the same file is rebuilt from the manifest (keys and shapes are torchvision's) and must have the
 * same SHA-256 — so it is byte for byte the file PyTorch wrote — then `loadTorchWeights` loads it (strict: every
 * torchvision key, classifier included) into tiedet's backbone, whose C2–C5 must match torchvision's:
 * max |a − b| / max |b| ≤ 1e-4 per stage. Finally `saveTorchWeights` of the loaded backbone must give back the
 * very same bytes (same SHA-256).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resnet50, resnext50_32x4d, tiedResNet50TiedSE } from '../../src/backbones/presets.js';
import type { ResNet } from '../../src/backbones/resnet.js';
import { loadTorchWeights, saveTorchWeights } from '../../src/io/torch-weights.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { setupBackend } from '../nn/helpers.js';
import { readManifest, writeFormulaWeights } from './formula-weights.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'io');
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-parity-'));

beforeAll(async () => {
  await setupBackend();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** max |a − b| / max |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

const CASES: Array<{ name: string; build: () => ResNet; keys: number }> = [
  { name: 'resnet50', build: () => resnet50({ init: 'zeros' }), keys: 320 },
  { name: 'resnext50_32x4d', build: () => resnext50_32x4d({ init: 'zeros' }), keys: 320 },
];

describe.each(CASES)('torchvision $name parity through a PyTorch-written safetensors file', ({ name, build, keys }) => {
  const manifest = readManifest(join(FIXTURES, `${name}_manifest.json`));
  const weights = join(tmp, `${name}.safetensors`);

  it('the rebuilt weight file is byte for byte the one the PyTorch script wrote', () => {
    expect(manifest.keys.length).toBe(keys);
    expect(writeFormulaWeights(manifest, weights)).toBe(manifest.weights_sha256);
    expect(readFileSync(weights).byteLength).toBe(manifest.weights_bytes);
  });

  it('loads strictly (every torchvision key) and gives torchvision\'s C2–C5 (relative error ≤ 1e-4)', () => {
    const model = build();
    const report = loadTorchWeights(model, weights);
    expect(report.loadedKeys.length).toBe(keys);
    expect(report.missingKeys).toEqual([]);
    expect(report.unexpectedKeys).toEqual([]);
    model.eval();
    const io = readSafetensors(join(FIXTURES, `${name}_io.safetensors`));
    const x = io.tensors.get('x')!;
    expect(x.shape).toEqual(manifest.input);
    const before = tf.memory().numTensors;
    const input = tf.tensor4d(x.data as Float32Array, x.shape as [number, number, number, number]);
    const feats = model.forward(input);
    try {
      for (const stage of ['c2', 'c3', 'c4', 'c5'] as const) {
        const want = io.tensors.get(stage)!;
        expect(feats[stage].shape, stage).toEqual(want.shape);
        const err = relativeError(feats[stage].dataSync() as Float32Array, want.data as Float32Array);
        expect(err, `${name} ${stage}: max|a−b|/max|b| = ${err.toExponential(2)}`).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      tf.dispose([input, ...Object.values(feats)]);
    }
    expect(tf.memory().numTensors).toBe(before + model.numDerivedTensors()); // + the folded weights eval mode keeps

    // Save: tiedet's writer gives back exactly the file PyTorch wrote (names, PyTorch layout, int64 counters).
    const saved = join(tmp, `${name}_saved.safetensors`);
    saveTorchWeights(model, saved);
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(manifest.weights_sha256);
    model.dispose();
    rmSync(saved);
    rmSync(weights);
  });
});

describe('tiedet\'s own tied backbone: save → load', () => {
  it('TiedResNet-50 with TiedSE (TBC and TFC weights) round-trips exactly through PyTorch layout', () => {
    const a = tiedResNet50TiedSE({ seed: 1 });
    const path = join(tmp, 'tied.safetensors');
    saveTorchWeights(a, path);
    // PyTorch layout in the file: a TBC shared filter [c'/B, c/(B·G), kh, kw], a TFC [out/B, in/B].
    const file = readSafetensors(path);
    const tbc = a.stateDict().get('layer1.0.conv2.1.weight')!; // tiedet [kh, kw, in, out]
    expect(file.tensors.get('layer1.0.conv2.1.weight')!.shape).toEqual([tbc.shape[3], tbc.shape[2], tbc.shape[0], tbc.shape[1]]);
    const fc0 = a.stateDict().get('layer1.0.se.fc.0.weight')!;
    expect(file.tensors.get('layer1.0.se.fc.0.weight')!.shape).toEqual([fc0.shape[1], fc0.shape[0]]);

    const b = tiedResNet50TiedSE({ seed: 2, init: 'zeros' });
    const report = loadTorchWeights(b, path);
    expect(report.loadedKeys.length).toBe(a.stateDict().size);
    const sa = a.stateDict();
    for (const [key, v] of b.stateDict()) {
      expect(Buffer.from(v.dataSync().buffer).equals(Buffer.from(sa.get(key)!.dataSync().buffer)), key).toBe(true);
    }
    a.dispose();
    b.dispose();
    rmSync(path);
  });
});
