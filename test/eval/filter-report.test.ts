/**
 * The filter-similarity report (eval/filter-report.ts): summary statistics, the density histogram, the page's
 * charts, and report.html in headless Chromium (no console errors, no request beyond the file, the charts drawn).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { buildFilterReport, densityHistogram, summarize, writeFilterReport, type FilterModelInput } from '../../eval/filter-report.js';
import { Rng } from '../../src/nn/rng.js';
import { describeBrowser, launchBrowser, openFile, type OpenedPage } from '../helpers/browser.js';

function model(name: string, centre: number, seed: number): FilterModelInput {
  const rng = new Rng(seed);
  const draw = (n: number, c: number): number[] => Array.from({ length: n }, () => Math.max(-1, Math.min(1, c + 0.15 * rng.normal())));
  return {
    name,
    source: 'synthetic numbers',
    images: 4,
    seconds: 1,
    stages: ['c2', 'c3', 'c4', 'c5'].map((stage, k) => ({
      stage,
      channels: 64 << k,
      filters: [0, 1, 2, 3, 4, 5, 6, 7],
      guided: draw(28, centre + 0.1 * k),
      guidedUndefinedPairs: 0,
      weights: draw(200, 0),
      weightTensors: [{ name: `layer${k + 1}.0.conv2.weight`, shape: [3, 3, 8, 8] }],
    })),
  };
}

describe('summaries and histograms', () => {
  it('summarize: mean, median, share above 0.5, mean |cos|; null without values', () => {
    expect(summarize([1, 0.6, -0.2, 0])).toEqual({ pairs: 4, mean: 0.35, median: 0.3, above05: 0.5, meanAbs: 0.45 });
    expect(summarize([])).toBeNull();
  });

  it('densityHistogram integrates to 1 over [−1, 1], puts 1 in the last bin, rejects values outside', () => {
    const h = densityHistogram([-1, -0.5, 0, 0.99, 1], 0.5);
    expect(h.map((b) => b.x)).toEqual([-0.75, -0.25, 0.25, 0.75]);
    expect(h.map((b) => b.density)).toEqual([0.4, 0.4, 0.4, 0.8]); // bins [lo, hi): −0.5 in the second
    expect(h.reduce((s, b) => s + b.density * 0.5, 0)).toBeCloseTo(1, 12);
    expect(() => densityHistogram([1.5])).toThrow(/outside/);
    expect(() => densityHistogram([0], 0.3)).toThrow(/width must divide 2/);
  });

  it('rejects two models with the same name', () => {
    expect(() => buildFilterReport([model('a', 0.2, 1), model('a', 0.5, 2)], 's')).toThrow(/given twice/);
  });
});

describeBrowser('filter report.html in Chromium', () => {
  let browser: Browser;
  let close: () => Promise<void>;
  let opened: OpenedPage;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tiedet-filter-report-'));
    const r = buildFilterReport([model('ResNet', 0.5, 1), model('TiedResNet', 0.2, 2)], '8 filters per stage, 4 images');
    writeFilterReport(r, dir);
    ({ browser, close } = await launchBrowser());
    opened = await openFile(browser, join(dir, 'report.html'), { width: 1366, height: 900 });
  });
  afterAll(async () => {
    await close?.();
  });

  it('opens without console errors or external requests, fits 1366 px, draws both views with a line per model and stage', async () => {
    const { page, errors, externalRequests } = opened;
    expect(errors).toEqual([]);
    expect(externalRequests).toEqual([]);
    expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(1366);
    const charts = await page.$$eval('svg', (svgs) =>
      svgs.map((svg) => ({
        id: svg.getAttribute('id'),
        panels: [...svg.querySelectorAll('g.panel')].map((p) => [...p.querySelectorAll('g.series')].map((s) => Number(s.getAttribute('data-points')))),
      })),
    );
    expect(charts.map((c) => c.id)).toEqual(['hist-guided', 'hist-weights']);
    for (const c of charts) expect(c.panels).toEqual([[40, 40], [40, 40], [40, 40], [40, 40]]);
    const cells = (await page.$$eval('#summary tbody tr', (rows) => rows.length)) as number;
    expect(cells).toBe(8);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json.format).toBe('tiedet-filter-report');
    expect(json.models[1].summary.c2.guided.pairs).toBe(28);
  });
});
