/**
 * `tiedet convert` and `--weights` on `tiedet test` / `tiedet train`, through the CLI (spawned from source), on the
 * committed mmdetection-shaped checkpoints of test/fixtures/io/pth: the README examples, the strict / non-strict
 * reports (counts and a few names, never the whole key list), and one-line errors with a non-zero exit code that
 * name the file (and key); convert never overwrites its input.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/io/safetensors.js';
import { loadWeightsInto } from '../../src/io/weights.js';
import { microRetinaNet } from '../helpers/micro-detectors.js';
import { setupBackend } from '../nn/helpers.js';
import { runCli } from './run-cli.js';
import { tinyFixture, type TinyFixture } from './train-fixture.js';

const RETINA = 'test/fixtures/io/pth/mmdet2_retinanet_micro.pth';
const MASK = 'test/fixtures/io/pth/mmdet3_mask_rcnn_micro.pth';
const CONFIG = 'test/fixtures/io/pth/retinanet_micro.config.ts';
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-weights-cli-'));

let fx: TinyFixture;
beforeAll(async () => {
  await setupBackend();
  fx = await tinyFixture(['train.epochs=1', 'train.milestones=[]', 'train.validate=false']);
});
afterAll(() => {
  fx?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const oneLineError = (stderr: string): string => {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('tiedet: '));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!;
};

describe('tiedet convert', () => {
  it('the README example: an mmdetection checkpoint → safetensors that loads into the detector', async () => {
    const out = 'work_dirs/retinanet_micro.safetensors';
    const r = runCli(['convert', RETINA, out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^converted 126 tensors \(109 float32, 17 int64; 0\.\d\d MB\) from test\/fixtures\/io\/pth\/mmdet2_retinanet_micro\.pth \(the 'state_dict' entry, mmdet 2\.28\.2\) → work_dirs\/retinanet_micro\.safetensors in \d+\.\d\d s\n$/,
    );
    const f = readSafetensors(out);
    expect(f.metadata).toEqual({ format: 'pt', source: 'mmdet2_retinanet_micro.pth', converter: 'tiedet convert', producer: 'mmdet 2.28.2', classes: '["circle","square","triangle"]' });
    expect(f.tensors.get('backbone.conv1.weight')!.shape).toEqual([64, 3, 7, 7]);
    const model = microRetinaNet();
    expect(loadWeightsInto(model, out).loadedKeys.length).toBe(126);
    model.dispose();
  });

  it('--all keeps the optimizer state; float16 / bfloat16 / int64 / bool written exactly', () => {
    const out = join(tmp, 'all.safetensors');
    expect(runCli(['convert', RETINA, out, '--all']).code).toBe(0);
    const f = readSafetensors(out);
    expect([...f.tensors.get('optimizer.state.0.momentum_buffer')!.data]).toEqual([0.25, 0.25]);
    expect(f.tensors.has('state_dict.backbone.conv1.weight')).toBe(true);
    const d = join(tmp, 'dtypes.safetensors');
    expect(runCli(['convert', 'test/fixtures/io/pth/dtypes.pth', d]).code).toBe(0);
    const got = readSafetensors(d).tensors;
    const want = readSafetensors('test/fixtures/io/pth/expected.safetensors').tensors;
    for (const k of ['f16', 'bf16', 'i64', 'bool', 'u8', 'param']) {
      expect(got.get(k)!.shape, k).toEqual(want.get(`dtypes.${k}`)!.shape);
      expect([...got.get(k)!.data].map(String), k).toEqual([...want.get(`dtypes.${k}`)!.data].map(String));
    }
    expect(got.get('i64')!.dtype).toBe('I64');
    expect(got.get('f16')!.dtype).toBe('F32');
  });

  it('never overwrites its input (same path or a link to it); bad inputs are one-line errors', () => {
    const input = join(tmp, 'in.pth');
    copyFileSync(RETINA, input);
    const link = join(tmp, 'link.safetensors');
    symlinkSync(input, link);
    const before = readFileSync(input);
    const a = runCli(['convert', input, link]);
    expect(a.code).toBe(2);
    expect(oneLineError(a.stderr)).toBe(`tiedet: ${link}: refusing to overwrite the input file`);
    expect(readFileSync(input).equals(before)).toBe(true);

    const legacy = runCli(['convert', 'test/fixtures/io/pth/legacy.pth', join(tmp, 'x.safetensors')]);
    expect(legacy.code).toBe(1);
    expect(oneLineError(legacy.stderr)).toMatch(/^tiedet: test\/fixtures\/io\/pth\/legacy\.pth: legacy \(non-zip\) torch\.save format .*_use_new_zipfile_serialization=True/);
    const unknown = runCli(['convert', 'test/fixtures/io/pth/unknown_global.pth', join(tmp, 'y.safetensors')]);
    expect(oneLineError(unknown.stderr)).toMatch(/unknown_global\.pth: tensor "complex" cannot be read: .*torch\.ComplexFloatStorage/);
    expect(existsSync(join(tmp, 'y.safetensors'))).toBe(false);
    const missing = runCli(['convert', 'test/fixtures/io/pth/missing_storage.pth', join(tmp, 'z.safetensors')]);
    expect(oneLineError(missing.stderr)).toMatch(/missing_storage\.pth: tensor "base": its storage "0" \(archive\/data\/0\) is missing/);
  });
});

describe('--weights on tiedet test and train', () => {
  it('the README example: tiedet test CONFIG --weights an mmdetection checkpoint (strict)', () => {
    const out = join(tmp, 'results.json');
    const r = runCli(['test', CONFIG, '--weights', RETINA, '--out', out, '--eval', 'bbox', '--cfg-options', ...fx.cfgOptions], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`weights: loaded 126/126 tensors from ${RETINA} (pth, the 'state_dict' entry; mmdet 2.28.2, 3 classes)`);
    expect(r.stdout).toMatch(/wrote \d+ detections on 4 images/);
    expect(existsSync(out)).toBe(true);
  });

  it('strict mismatch → one bounded line naming file and keys; exactly one of CHECKPOINT / --weights', () => {
    const r = runCli(['test', CONFIG, '--weights', MASK, '--out', join(tmp, 'r.json'), '--cfg-options', ...fx.cfgOptions], {}, 120_000);
    expect(r.code).toBe(1);
    const line = oneLineError(r.stderr);
    expect(line).toMatch(/^tiedet: cannot load test\/fixtures\/io\/pth\/mmdet3_mask_rcnn_micro\.pth into RetinaNet \(strict\): missing \d+: .*… \d+ more; unexpected \d+: /);
    expect(line.length).toBeLessThan(1500);
    const both = runCli(['test', CONFIG, 'work_dirs/none', '--weights', RETINA, '--out', join(tmp, 'r.json')]);
    expect(both.code).toBe(2);
    expect(oneLineError(both.stderr)).toMatch(/exactly one of them/);
  });

  it('train --weights: fine-tuning initialisation, non-strict by default with the report', () => {
    const work = join(tmp, 'ft');
    const r = runCli(['train', CONFIG, '--work-dir', work, '--weights', MASK, '--max-iters', '1', '--cfg-options', ...fx.cfgOptions], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    // the Mask R-CNN checkpoint shares the backbone with the RetinaNet: loaded, the rest reported
    expect(r.stderr).toMatch(/weights: loaded \d+\/126 tensors from test\/fixtures\/io\/pth\/mmdet3_mask_rcnn_micro\.pth \(pth, the 'state_dict' entry; mmengine 0\.10\.3, 3 classes\)/);
    expect(r.stderr).toMatch(/weights: missing \d+: /);
    expect(r.stdout).toMatch(/stopped after --max-iters 1/);
    const strict = runCli(['train', CONFIG, '--work-dir', join(tmp, 'ft2'), '--weights', MASK, '--strict', '--max-iters', '1', '--cfg-options', ...fx.cfgOptions], {}, 120_000);
    expect(strict.code).toBe(1);
    expect(oneLineError(strict.stderr)).toMatch(/cannot load .* into RetinaNet \(strict\)/);
  });
});
