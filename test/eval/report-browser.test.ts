/**
 * report.html in headless Chromium (test/helpers/browser.ts): the page loads without console errors or any
 * request beyond the file itself, fits a 1366-px-wide laptop screen, and every chart rendered what report.json
 * says — the expected number of series per panel and of points per series (markers of the AP / AP75 / gap lines,
 * bars of the histogram), legends and axis labels — with visibly drawn (non-white) pixels in each plot area,
 * checked on Chromium's own screenshots decoded with sharp.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CocoDataset } from '../../eval/coco.js';
import { buildOcclusionReport, writeOcclusionReport, type OcclusionReport } from '../../eval/occlusion-report.js';
import type { SubsetRow } from '../../eval/report/model.js';
import { Rng } from '../../src/nn/rng.js';
import { describeBrowser, launchBrowser, openFile, type OpenedPage } from '../helpers/browser.js';

/** Pixels of a PNG that are clearly drawn: not white and not the light grid grey (#e3e3e3). */
async function drawnPixels(png: Buffer): Promise<{ drawn: number; total: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let drawn = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (Math.min(data[i]!, data[i + 1]!, data[i + 2]!) < 200) drawn++;
  }
  return { drawn, total: info.width * info.height };
}

const defined = (rows: SubsetRow[], m: number, stat: 'AP' | 'AP75') => rows.filter((r) => (r.models[m]!.stats?.[stat] ?? -1) >= 0).length;

describeBrowser('report.html in Chromium', () => {
  let report: OcclusionReport;
  let html: string;
  let browser: Browser;
  let close: () => Promise<void>;
  let opened: OpenedPage;

  beforeAll(async () => {
    report = syntheticReport();
    html = writeOcclusionReport(report, mkdtempSync(join(tmpdir(), 'tiedet-occ-browser-'))).html;
    ({ browser, close } = await launchBrowser());
    opened = await openFile(browser, html, { width: 1366, height: 768 });
  });
  afterAll(async () => {
    await close?.();
  });

  it('loads without console errors or external requests and fits 1366 px', async () => {
    const { page, errors, externalRequests } = opened;
    expect(errors).toEqual([]);
    expect(externalRequests).toEqual([]);
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number; // a string: no DOM types here
    expect(width).toBeLessThanOrEqual(1366);
    const shot = await page.screenshot();
    const { drawn, total } = await drawnPixels(shot);
    expect(drawn / total).toBeGreaterThan(0.01); // the first screen has text and the start of a chart
  });

  it('charts have the expected series and points (from report.json)', async () => {
    const { page } = opened;
    const M = report.models.length;
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => ({
        id: svg.getAttribute('data-chart'),
        panels: [...svg.querySelectorAll('g.panel')].map((p) => ({
          series: [...p.querySelectorAll('g.series')].map((s) => ({
            name: s.getAttribute('data-series'),
            points: Number(s.getAttribute('data-points')),
            markers: s.querySelectorAll('.marker').length,
            bars: s.querySelectorAll('.bar').length,
          })),
          legend: p.querySelectorAll('.legend text').length,
          xLabel: p.querySelector('.x-label')?.textContent,
          yLabel: p.querySelector('.y-label')?.textContent,
        })),
      })),
    );
    expect(charts.map((c) => c.id)).toEqual(M > 1 ? ['ap', 'ap75', 'gap', 'histogram'] : ['ap', 'ap75', 'histogram']);
    for (const c of charts) {
      for (const p of c.panels) {
        expect(p.legend).toBe(p.series.length);
        expect(p.xLabel).toBeTruthy();
        expect(p.yLabel).toBeTruthy();
      }
    }
    for (const [id, stat] of [['ap', 'AP'], ['ap75', 'AP75']] as const) {
      const [bins, levels] = charts.find((c) => c.id === id)!.panels;
      expect(bins!.series.map((s) => s.name)).toEqual(report.models.map((m) => m.name));
      expect(levels!.series).toHaveLength(M);
      for (let m = 0; m < M; m++) {
        expect(bins!.series[m]!.markers).toBe(defined(report.bins, m, stat));
        expect(bins!.series[m]!.points).toBe(defined(report.bins, m, stat));
        expect(levels!.series[m]!.markers).toBe(defined(report.levels, m, stat));
      }
    }
    if (M > 1) {
      const gap = charts.find((c) => c.id === 'gap')!;
      expect(gap.panels).toHaveLength(2);
      for (const [k, stat] of [[0, 'AP'], [1, 'AP75']] as const) {
        expect(gap.panels[k]!.series).toHaveLength(M - 1);
        const n = report.bins.filter((b) => b.models[1]!.gap?.[stat] != null).length;
        expect(gap.panels[k]!.series[0]!.markers).toBe(n);
      }
    }
    const hist = charts.find((c) => c.id === 'histogram')!;
    expect(hist.panels.map((p) => p.series[0]!.bars)).toEqual([report.binning.n, report.binning.n]);
  });

  it('every plot area has drawn pixels (Chromium screenshot decoded with sharp)', async () => {
    const { page } = opened;
    const areas = page.locator('svg.chart rect.plot-area');
    const n = await areas.count();
    expect(n).toBe(2 * (report.models.length > 1 ? 4 : 3));
    for (let i = 0; i < n; i++) {
      const area = areas.nth(i);
      await area.scrollIntoViewIfNeeded();
      const box = await area.boundingBox();
      expect(box!.width).toBeGreaterThan(300); // readable size
      expect(box!.height).toBeGreaterThan(200);
      const { drawn, total } = await drawnPixels(await area.screenshot());
      expect(drawn / total, `plot area ${i}`).toBeGreaterThan(0.004);
    }
  });
});

/**
 * A seeded synthetic case: 80 images of 1–9 boxes placed so that the occlusion ratio spreads over the bins, and two
 * "models" whose detections are jittered copies of the GT (the second a little more accurate) plus false positives.
 */
function syntheticReport(): OcclusionReport {
  const rng = new Rng(17);
  const images = Array.from({ length: 80 }, (_, i) => ({ id: i + 1, width: 200, height: 160 }));
  const annotations: Record<string, unknown>[] = [];
  const results: Record<string, unknown>[][] = [[], []];
  for (const img of images) {
    const n = 1 + rng.int(9);
    const spread = 20 + rng.uniform() * 140; // small spread → heavy overlap
    for (let k = 0; k < n; k++) {
      const w = 20 + rng.uniform() * 40;
      const h = 20 + rng.uniform() * 40;
      const x = Math.min(200 - w, rng.uniform() * spread);
      const y = Math.min(160 - h, rng.uniform() * spread * 0.8);
      const cat = 1 + rng.int(3);
      annotations.push({ id: annotations.length + 1, image_id: img.id, category_id: cat, bbox: [x, y, w, h], area: w * h, iscrowd: 0 });
      for (let m = 0; m < 2; m++) {
        if (rng.uniform() < 0.15) continue; // missed
        const j = (m === 0 ? 0.12 : 0.06) * Math.min(w, h);
        results[m]!.push({ image_id: img.id, category_id: cat, bbox: [x + rng.normal(0, j), y + rng.normal(0, j), w, h], score: 0.3 + 0.7 * rng.uniform() });
      }
    }
    for (let m = 0; m < 2; m++) {
      results[m]!.push({ image_id: img.id, category_id: 1 + rng.int(3), bbox: [rng.uniform() * 150, rng.uniform() * 110, 30, 30], score: 0.4 * rng.uniform() });
    }
  }
  const categories = [1, 2, 3].map((id) => ({ id, name: `class ${id}` }));
  const gt = CocoDataset.fromJson({ images, categories, annotations }, 'synthetic.json');
  return buildOcclusionReport({
    gt,
    iouType: 'bbox',
    bootstrap: 25,
    results: [
      { name: 'Baseline', dataset: gt.loadRes(results[0]!) },
      { name: 'Tied', dataset: gt.loadRes(results[1]!) },
    ],
  });
}
