/**
 * `tiedet infer`: the README's runnable example (the parity fixture's tiny Mask R-CNN on the four photographs
 * plus an unreadable file) through the CLI; the tensor count stays flat
 * over repeated runs (streaming: nothing outlives a batch); bad input is one line and a non-zero exit.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDetectorWeights } from '../../detectors/torchvision/weights.js';
import { buildTorchvision, torchvisionConfig, torchvisionInferModel } from '../../tools/infer/models.js';
import { listImages } from '../../tools/infer/inputs.js';
import { runInfer } from '../../tools/infer/run.js';
import { trackTensors } from '../nn/helpers.js';
import { FIXTURE } from '../detectors/torchvision/parity-helpers.js';
import { runCli } from './run-cli.js';
import { runInferCommand, type InferArgs } from '../../tools/infer.js';

trackTensors('test');

const dir = mkdtempSync(join(tmpdir(), 'tiedet-infer-'));
const images = join(dir, 'images');
mkdirSync(images);
for (const f of ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.png']) copyFileSync(join(FIXTURE, 'images', f), join(images, f));
writeFileSync(join(images, 'broken.jpg'), 'not an image');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const silent = { write: () => true, isTTY: false };
const noop = (): void => {};

describe('tiedet infer', () => {
  it("runs the README's example: results + images JSON, gallery, the unreadable file reported and skipped", () => {
    const out = join(dir, 'out');
    const r = runCli(
      ['infer', '--model', 'torchvision:maskrcnn_tiny_fpn', '--weights', join(FIXTURE, 'maskrcnn.safetensors'), '--images', images, '--out', out, '--render', '--score-thr', '0.3'],
      {},
      90_000,
    );
    expect(r.stderr).toMatch(/skipped .*broken\.jpg: /);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote \d+ detections on 4 images/);
    expect(r.stdout).toMatch(/skipped 1 unreadable image\(s\): broken\.jpg/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { image_id: number; score: number; segmentation?: unknown; category_id: number }[];
    const imgs = JSON.parse(readFileSync(join(out, 'images.json'), 'utf8')) as { images: { id: number; file_name: string }[]; categories: unknown[] };
    expect(imgs.images.map((i) => i.file_name)).toEqual(['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.png']);
    expect(imgs.categories).toHaveLength(80);
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((d) => d.score >= 0.3 && d.segmentation !== undefined && d.category_id >= 1 && d.category_id <= 90)).toBe(true);
    expect(existsSync(join(out, 'render', 'index.html'))).toBe(true);
    // `tiedet eval` reads the pair without ground truth
    const e = runCli(['eval', '--gt', join(out, 'images.json'), '--results', join(out, 'results.json'), '--iou', 'segm']);
    expect(e.code, e.stderr).toBe(0);
  });

  it('--config: a tiedet config with its own weights file and the category ids of its annotation file', async () => {
    const { loadConfig, buildModel } = await import('../../configs/load.js');
    const { saveTorchWeights } = await import('../../src/io/torch-weights.js');
    const cfg = await loadConfig('mask-rcnn_tiedresnet_synthetic_tiny');
    const model = buildModel(cfg, 3);
    const w = join(dir, 'tiny.safetensors');
    try {
      saveTorchWeights(model, w);
    } finally {
      model.dispose();
    }
    const ann = join(dir, 'ann.json');
    writeFileSync(ann, JSON.stringify({ images: [], annotations: [], categories: [{ id: 7, name: 'circle' }, { id: 3, name: 'square' }, { id: 9, name: 'triangle' }] }));
    const out = join(dir, 'cfg-out');
    const lines: string[] = [];
    await runInferCommand(
      { config: 'mask-rcnn_tiedresnet_synthetic_tiny', weights: w, images, out, 'cfg-options': [`data.val.annFile=${ann}`], backend: 'wasm' },
      (l) => lines.push(l),
      () => {},
    );
    expect(lines[0]).toMatch(/^wrote \d+ detections on 4 images/);
    const imgs = JSON.parse(readFileSync(join(out, 'images.json'), 'utf8')) as { categories: { id: number }[] };
    expect(imgs.categories.map((c) => c.id)).toEqual([3, 7, 9]);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { category_id: number }[];
    expect(results.every((d) => [3, 7, 9].includes(d.category_id))).toBe(true);
    await expect(runInferCommand({ config: 'x', model: 'torchvision:maskrcnn_tiny_fpn', weights: w, images, out }, noop, noop)).rejects.toThrow(
      /^give either --config NAME or --model torchvision:NAME/,
    );
  });

  it('bad input: one line, non-zero exit (in process: the CliError the CLI prints)', async () => {
    const noImages = join(dir, 'empty');
    mkdirSync(noImages);
    writeFileSync(join(noImages, 'a.jpg'), 'x');
    const w = join(FIXTURE, 'maskrcnn.safetensors');
    const run = (a: Partial<InferArgs>) => runInferCommand({ weights: w, images, out: join(dir, 'o'), backend: 'wasm', ...a } as InferArgs, noop, noop);
    await expect(run({ model: 'torchvision:maskrcnn_tiny_fpn', images: noImages })).rejects.toMatchObject({ message: 'none of the 1 images could be read', exitCode: 1 });
    await expect(run({ model: 'torchvision:nope' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--model: unknown model 'torchvision:nope' \(known: torchvision:maskrcnn_resnet50_fpn/) });
    await expect(run({ model: 'torchvision:retinanet_tiny_fpn' })).rejects.toMatchObject({ exitCode: 1, message: expect.stringMatching(/maskrcnn\.safetensors: cannot load into TvRetinaNet/) });
    await expect(run({ model: 'torchvision:retinanet_tiny_fpn', batch: 0 })).rejects.toMatchObject({ exitCode: 2, message: '--batch: expected a positive integer, got 0' });
    await expect(run({ model: 'torchvision:retinanet_tiny_fpn', images: join(dir, 'nothing', '*.jpg') })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('streams: the tensor count is flat over repeated runs (batch 2), the results identical', async () => {
    const model = buildTorchvision(torchvisionConfig('torchvision:retinanet_tiny_fpn'));
    try {
      loadDetectorWeights(model, join(FIXTURE, 'retinanet.safetensors'));
      const list = listImages(join(images, '*.png'));
      expect(list.files).toHaveLength(4);
      const counts: number[] = [];
      let first = '';
      for (let k = 0; k < 3; k++) {
        const s = await runInfer({ model: torchvisionInferModel(model), images: list, out: join(dir, `loop${k}`), batch: 2, stream: silent });
        expect(s.read).toBe(4);
        counts.push(tf.memory().numTensors);
        const text = readFileSync(s.results, 'utf8');
        if (k === 0) first = text;
        else expect(text).toBe(first);
      }
      expect(new Set(counts).size).toBe(1);
    } finally {
      model.dispose();
    }
  });
});
