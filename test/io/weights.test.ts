/**
 * `loadWeightsInto`: mmdetection 2.x / 3.x checkpoints (torch.save, written by tools/fixtures/pth.py with
 * mmdetection's key names and PyTorch layouts) load into tiedet's RetinaNet and Mask R-CNN by those names; every
 * value lands at its tiedet-layout position exactly; strict / non-strict reports; safetensors through the same
 * function; errors name the file and the key, in a bounded message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTorchWeights } from '../../src/io/torch-weights.js';
import { mmdetCheckpointInfo, mmdetNames } from '../../src/io/mmdet-names.js';
import { describeState, toTiedetLayout } from '../../src/io/torch-layout.js';
import { formatWeightsReport, loadWeightsInto, WeightsError, weightsFormat } from '../../src/io/weights.js';
import type { Module } from '../../src/nn/module.js';
import { microMaskRcnn, microRetinaNet } from '../helpers/micro-detectors.js';
import { setupBackend } from '../nn/helpers.js';

const DIR = 'test/fixtures/io/pth';
const RETINA = join(DIR, 'mmdet2_retinanet_micro.pth');
const MASK = join(DIR, 'mmdet3_mask_rcnn_micro.pth');
const KEYS = JSON.parse(readFileSync(join(DIR, 'micro_keys.json'), 'utf8')) as Record<string, Array<[string, number[], string]>>;
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-weights-'));

beforeAll(async () => {
  await setupBackend();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tools/fixtures/pth.py's values: entry k, PyTorch row-major element i → ((7i + 13k) mod 1001 − 500) / 512. */
function formula(k: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (((7 * i + 13 * k) % 1001) - 500) / 512;
  return out;
}

/** Every entry of `model` holds the fixture's value for its key, converted to tiedet's layout. */
function expectFixtureValues(model: Module, entries: Array<[string, number[], string]>): void {
  const state = describeState(model);
  let checked = 0;
  entries.forEach(([key, shape, kind], k) => {
    const e = state.get(key)!;
    const got = e.variable.dataSync();
    if (kind === 'int64') {
      expect([...got], key).toEqual([k]);
    } else {
      const want = toTiedetLayout(e, formula(k, shape.reduce((a, b) => a * b, 1)));
      expect(got.length, key).toBe(want.length);
      let same = true;
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) same = false;
      expect(same, key).toBe(true);
    }
    checked++;
  });
  expect(checked).toBe(state.size);
}

describe('loadWeightsInto: mmdetection checkpoints by their own key names', () => {
  it('2.x RetinaNet (float32, mmcv layout {meta, state_dict, optimizer}) loads strictly, values exact in tiedet layout', () => {
    const model = microRetinaNet();
    const before = tf.memory().numTensors;
    const r = loadWeightsInto(model, RETINA);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.format).toBe('pth');
    expect(r.source).toBe('state_dict');
    expect(r.producer).toBe('mmdet 2.28.2');
    expect(r.classes).toEqual(['circle', 'square', 'triangle']);
    expect(r.loadedKeys.length).toBe(126);
    expect(r.missingKeys.length + r.unexpectedKeys.length + r.mismatchedKeys.length).toBe(0);
    expect(formatWeightsReport(r)).toBe(`loaded 126/126 tensors from ${RETINA} (pth, the 'state_dict' entry; mmdet 2.28.2, 3 classes)`);
    expectFixtureValues(model, KEYS.retinanet!);
    model.dispose();
  });

  it('3.x Mask R-CNN (float16, mmengine layout with message_hub / param_schedulers) loads strictly, values exact', () => {
    const model = microMaskRcnn();
    const r = loadWeightsInto(model, MASK);
    expect(r.producer).toBe('mmengine 0.10.3');
    expect(r.classes).toEqual(['circle', 'square', 'triangle']);
    expect(r.loadedKeys.length).toBe(138);
    expectFixtureValues(model, KEYS.mask_rcnn!);
    model.dispose();
  });

  it('the meta of both versions: version and classes', () => {
    const m2 = new Map<string, unknown>([['mmdet_version', '2.25.0'], ['CLASSES', ['a', 'b']]]);
    const m3 = new Map<string, unknown>([['mmengine_version', '0.7.0'], ['dataset_meta', new Map([['classes', ['x']]])]]);
    expect(mmdetCheckpointInfo(m2)).toEqual({ version: 'mmdet 2.25.0', classes: ['a', 'b'] });
    expect(mmdetCheckpointInfo(m3)).toEqual({ version: 'mmengine 0.7.0', classes: ['x'] });
    expect(mmdetCheckpointInfo(null)).toEqual({ version: null, classes: null });
  });

  it('names: module. prefixes (DistributedDataParallel) stripped, 3.x data_preprocessor ignored, the rest unchanged', () => {
    expect(mmdetNames('module.roi_head.bbox_head.fc_cls.weight')).toBe('roi_head.bbox_head.fc_cls.weight');
    expect(mmdetNames('rpn_head.rpn_conv.weight')).toBe('rpn_head.rpn_conv.weight');
    expect(mmdetNames('data_preprocessor.mean')).toBeNull();
  });

  it('an mmdetection 1.x two-stage checkpoint → the upgrade script, naming file and key', () => {
    const model = microMaskRcnn();
    expect(() => loadWeightsInto(model, join(DIR, 'mmdet1_keys.pth'))).toThrow(
      /mmdet1_keys\.pth: "bbox_head\.fc_cls\.weight": an mmdetection 1\.x checkpoint .*upgrade_model_version\.py/,
    );
    model.dispose();
  });
});

describe('loadWeightsInto: strict and non-strict', () => {
  it('strict: a wrong shape (2 classes vs the file\'s 3) names file and keys with both shapes; nothing is loaded', () => {
    const model = microRetinaNet(1, 2);
    const w = describeState(model).get('backbone.conv1.weight')!.variable;
    const before = w.dataSync().slice();
    let err: WeightsError | null = null;
    try {
      loadWeightsInto(model, RETINA);
    } catch (e) {
      err = e as WeightsError;
    }
    expect(err).toBeInstanceOf(WeightsError);
    expect(err!.message).toContain(RETINA);
    expect(err!.message).toContain('shape-mismatched 2: bbox_head.retina_cls.weight [27, 8, 3, 3] vs model [18, 8, 3, 3]');
    expect(err!.message.length).toBeLessThan(1000);
    expect(err!.report!.mismatchedKeys.map((m) => m.key)).toEqual(['bbox_head.retina_cls.weight', 'bbox_head.retina_cls.bias']);
    expect(w.dataSync()).toEqual(before);
    model.dispose();
  });

  it('non-strict (fine-tuning with another head): loads the rest and reports counts with the first names', () => {
    const model = microRetinaNet(1, 2);
    const r = loadWeightsInto(model, RETINA, { strict: false });
    expect(r.loadedKeys.length).toBe(124);
    expect(r.mismatchedKeys.length).toBe(2);
    expect(formatWeightsReport(r).split('\n')).toEqual([
      `loaded 124/126 tensors from ${RETINA} (pth, the 'state_dict' entry; mmdet 2.28.2, 3 classes)`,
      'shape-mismatched 2: bbox_head.retina_cls.weight [27, 8, 3, 3] vs model [18, 8, 3, 3], bbox_head.retina_cls.bias [27] vs model [18]',
    ]);
    model.dispose();
  });

  it('a RetinaNet checkpoint into a Mask R-CNN: counts, at most 5 names per kind, a bounded message', () => {
    const model = microMaskRcnn();
    const r = loadWeightsInto(model, RETINA, { strict: false });
    const text = formatWeightsReport(r);
    expect(text).toMatch(/^loaded \d+\/138 tensors/);
    expect(text).toMatch(/\nmissing 22: neck\.lateral_convs\.3\.conv\.weight, .*, … 17 more/);
    expect(text).toMatch(/\nunexpected 10: .*… 5 more/);
    expect(text.length).toBeLessThan(1500);
    expect(() => loadWeightsInto(model, RETINA)).toThrow(/cannot load .*mmdet2_retinanet_micro\.pth into MaskRCNN \(strict\):\n  missing 22: /);
    model.dispose();
  });
});

describe('loadWeightsInto: safetensors and bad files', () => {
  it('a safetensors file (PyTorch layout) goes through the same function', () => {
    const a = microRetinaNet();
    loadWeightsInto(a, RETINA);
    const file = join(tmp, 'retina.safetensors');
    saveTorchWeights(a, file);
    expect(weightsFormat(file)).toBe('safetensors');
    const b = microRetinaNet(7);
    const r = loadWeightsInto(b, file);
    expect(r.format).toBe('safetensors');
    expect(r.loadedKeys.length).toBe(126);
    expectFixtureValues(b, KEYS.retinanet!);
    a.dispose();
    b.dispose();
  });

  it('legacy format, a missing file and a missing storage: WeightsError naming file (and key)', () => {
    const model = microRetinaNet();
    expect(() => loadWeightsInto(model, join(DIR, 'legacy.pth'))).toThrow(/legacy\.pth: legacy \(non-zip\) torch\.save format/);
    expect(() => loadWeightsInto(model, join(tmp, 'none.pth'))).toThrow(/none\.pth: cannot read/);
    expect(() => loadWeightsInto(model, join(DIR, 'dtypes.pth'))).toThrow(WeightsError);
    model.dispose();
  });

  it('a tensor that depends on an unknown global, when it is needed: file and key named once', () => {
    const model = microRetinaNet();
    const file = join(DIR, 'unknown_global.pth');
    const mapName = (k: string): string | null => (k === 'complex' ? 'bbox_head.retina_cls.bias' : null);
    let msg = '';
    try {
      loadWeightsInto(model, file, { mapName, strict: false });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe(`${file}: tensor "complex" cannot be read: its storage is a torch.ComplexFloatStorage, which tiedet cannot decode`);
    // not needed (dropped by the map): no error
    expect(loadWeightsInto(model, file, { mapName: () => null, strict: false }).ignoredKeys).toEqual(['ok', 'complex', 'quantized']);
    model.dispose();
  });
});
