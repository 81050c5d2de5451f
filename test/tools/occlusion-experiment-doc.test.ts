/**
 * The occlusion experiment's summary page (tools/experiments/occlusion-doc.ts) on a synthetic three-model report:
 * the model table with AP, AP75 and AP at r ≥ 0.6, a gap row per bin, the filter means, the SVG figures next to the
 * page, and a reading that states what the intervals show.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUICK } from '../../configs/occlusion-experiment_synthetic_small.js';
import { CocoDataset } from '../../eval/coco.js';
import { buildFilterReport } from '../../eval/filter-report.js';
import { buildOcclusionReport } from '../../eval/occlusion-report.js';
import { Rng } from '../../src/nn/rng.js';
import { writeOcclusionDoc, type ModelRun } from '../../tools/experiments/occlusion-doc.js';

const NAMES = ['ResNet', 'TiedResNet', 'TiedResNet-S'];

function report() {
  const rng = new Rng(5);
  const images = Array.from({ length: 60 }, (_, i) => ({ id: i + 1, width: 200, height: 160 }));
  const annotations: Record<string, unknown>[] = [];
  const results: Record<string, unknown>[][] = [[], [], []];
  for (const img of images) {
    const n = 1 + rng.int(6);
    const spread = 20 + rng.uniform() * 140;
    for (let k = 0; k < n; k++) {
      const [w, h] = [20 + rng.uniform() * 40, 20 + rng.uniform() * 40];
      const x = Math.min(200 - w, rng.uniform() * spread);
      const y = Math.min(160 - h, rng.uniform() * spread * 0.8);
      annotations.push({ id: annotations.length + 1, image_id: img.id, category_id: 1, bbox: [x, y, w, h], area: w * h, iscrowd: 0 });
      for (let m = 0; m < 3; m++) {
        const j = [0.12, 0.06, 0.08][m]! * Math.min(w, h);
        results[m]!.push({ image_id: img.id, category_id: 1, bbox: [x + rng.normal(0, j), y + rng.normal(0, j), w, h], score: rng.uniform() });
      }
    }
  }
  const gt = CocoDataset.fromJson({ images, categories: [{ id: 1, name: 'shape' }], annotations }, 'gt.json');
  return buildOcclusionReport({ gt, iouType: 'bbox', bootstrap: 20, results: NAMES.map((name, m) => ({ name, dataset: gt.loadRes(results[m]!) })) });
}

describe('writeOcclusionDoc', () => {
  it('writes the tables, figures and a reading from the numbers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiedet-occ-doc-'));
    const r = report();
    const runs: ModelRun[] = NAMES.map((label, i) => ({
      backbone: ['resnet', 'tiedresnet', 'tiedresnet-s'][i]!,
      label,
      seed: 0,
      workDir: dir,
      checkpoint: join(dir, 'c.json'),
      resultsFile: join(dir, 'r.json'),
      metrics: {},
      detectorParams: 1.5e6 - i * 3e5,
      backboneParams: 1e6 - i * 3e5,
      backboneMacs: 3e8,
      macsInput: [128, 128],
      trainSeconds: 400,
      iterations: 325,
      inferenceSeconds: 3,
      valImages: 60,
    }));
    const stage = (c: number) => ({ stage: 'c2', channels: 64, filters: [0, 1, 2], guided: [c, c, c], guidedUndefinedPairs: 0, weights: [0, 0.1, -0.1], weightTensors: [] });
    const fr = buildFilterReport(NAMES.map((name, i) => ({ name, source: 's', images: 2, seconds: 1, stages: [stage(0.5 - 0.1 * i)] })), 'sample');
    const file = writeOcclusionDoc({
      file: join(dir, 'occlusion.md'),
      quick: true,
      scale: QUICK,
      seeds: [0],
      runs,
      reports: [{ name: 'seed 0', report: r, html: join(dir, 'report.html') }],
      filters: { report: fr, html: join(dir, 'f.html'), filters: 3, images: 2 },
      wallSeconds: 60,
      backend: 'wasm',
    });
    const md = readFileSync(file, 'utf8');
    expect(md).toMatch(/quick run/);
    expect(md).toMatch(/\| ResNet \| 1\.50 M \| 1\.000 M \| 300 M at 128×128 \|/);
    expect(md).toMatch(/AP at r ≥ 0\.6/);
    for (const b of r.bins) expect(md).toContain(`| ${b.label} | ${b.images} |`);
    expect(md).toContain('TiedResNet − ResNet AP');
    expect(md).toMatch(/\| guided \| TiedResNet \| 0\.400 \(> 0\.5: 0 %\) \|/);
    expect(md).toMatch(/## Reading/);
    expect(md).toMatch(/TiedResNet's mean is below ResNet's in 1 of 1 stages/);
    for (const f of ['ap.svg', 'ap75.svg', 'gap.svg', 'histogram.svg', 'filters-guided.svg', 'filters-weights.svg']) {
      expect(existsSync(join(dir, 'occlusion', f))).toBe(true);
      expect(md).toContain(`(occlusion/${f})`);
    }
  });
});
