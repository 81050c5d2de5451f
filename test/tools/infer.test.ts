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
import { buildTorchvision, torchvisionConfig } from '../../tools/infer/models.js';
import { listImages } from '../../tools/infer/inputs.js';
import { runInfer } from '../../tools/infer/run.js';
import { trackTensors } from '../nn/helpers.js';
import { FIXTURE } from '../detectors/torchvision/parity-helpers.js';
import { runCli } from './run-cli.js';

trackTensors('test');

const dir = mkdtempSync(join(tmpdir(), 'tiedet-infer-'));
const images = join(dir, 'images');
mkdirSync(images);
for (const f of ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.png']) copyFileSync(join(FIXTURE, 'images', f), join(images, f));
writeFileSync(join(images, 'broken.jpg'), 'not an image');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const silent = { write: () => true, isTTY: false };

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

  it('bad input: one line, non-zero exit', () => {
    const noImages = join(dir, 'empty');
    mkdirSync(noImages);
    writeFileSync(join(noImages, 'a.jpg'), 'x');
    const w = join(FIXTURE, 'maskrcnn.safetensors');
    const bad = runCli(['infer', '--model', 'torchvision:maskrcnn_tiny_fpn', '--weights', w, '--images', noImages, '--out', join(dir, 'o2')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n').pop()).toMatch(/^tiedet: none of the 1 images could be read$/);
    const unknown = runCli(['infer', '--model', 'torchvision:nope', '--weights', w, '--images', images, '--out', join(dir, 'o3')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^tiedet: --model: unknown model 'torchvision:nope' \(known: torchvision:maskrcnn_resnet50_fpn/);
    const wrong = runCli(['infer', '--model', 'torchvision:retinanet_tiny_fpn', '--weights', w, '--images', images, '--out', join(dir, 'o4')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^tiedet: .*maskrcnn\.safetensors: cannot load into TvRetinaNet/);
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
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
        const s = await runInfer({ model, images: list, out: join(dir, `loop${k}`), batch: 2, stream: silent });
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
