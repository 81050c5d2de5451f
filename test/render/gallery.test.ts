/**
 * The render gallery on real COCO data (../shared/coco val2014_100 ground truth + its segm results, images
 * generated as plain PNGs of the annotated sizes): per-image AP equals evaluating each image alone with CocoEval,
 * and index.html opens in headless Chromium without console errors or network requests, lists every rendered
 * image, sorts by AP and by occlusion ratio when the headers are clicked, and filters by "r ≥ x".
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { writeImage } from '../../data/image.js';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval } from '../../eval/cocoeval.js';
import { escapeHtml, galleryHtml } from '../../tools/render/gallery.js';
import { imageOcclusion } from '../../tools/render/job.js';
import { renderResults, type RenderSummary } from '../../tools/render/render.js';
import { describeShared, sharedPath } from '../eval/shared-coco.js';
import { describeBrowser, launchBrowser, openFile } from '../helpers/browser.js';

const GT = sharedPath('val2014_100/instances_val2014_100.json');
const SEGM = sharedPath('val2014_100/instances_val2014_fakesegm100_results.json');
const N = 10;

it('escapes names in the gallery HTML', () => {
  const html = galleryHtml(
    [{ href: 'a b/<x>.png', fileName: '<x>&"y".jpg', imageId: 1, width: 2, height: 2, gt: 0, crowd: 0, occlusion: 0 }],
    { title: 't<i>', info: ['a & b'], predictions: false },
  );
  expect(html).toContain('href="a%20b/%3Cx%3E.png"');
  expect(html).toContain(escapeHtml('<x>&"y".jpg'));
  expect(html).not.toContain('<x>');
  expect(html).toContain('<title>t&lt;i&gt;</title>');
});

describeShared('render gallery on val2014_100', () => {
  let dir: string;
  let summary: RenderSummary;
  let gt: CocoDataset;
  let ids: number[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tiedet-gallery-'));
    gt = CocoDataset.fromFile(GT);
    // The images with the most annotations: a spread of occlusion ratios and APs.
    ids = gt
      .getImgIds()
      .sort((a, b) => gt.annsByImage(b).length - gt.annsByImage(a).length || a - b)
      .slice(0, N);
    for (const id of ids) {
      const img = gt.images.get(id)!;
      const data = new Uint8Array(img.width * img.height * 3).fill(90 + (id % 100));
      await writeImage(join(dir, 'images', img.file_name!), { data, width: img.width, height: img.height }, { format: 'png' });
    }
    summary = await renderResults({ images: join(dir, 'images'), results: SEGM, gt: GT, out: join(dir, 'out'), imgIds: ids, progressEvery: 0 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function rows(html: string) {
    return [...html.matchAll(/<tr data-index="\d+"[^>]*data-id="(\d+)"[^>]*data-r="([^"]*)"[^>]*data-ap="([^"]*)"[^>]*><td class="thumb"><a href="([^"]+)"/g)].map((m) => ({
      id: Number(m[1]),
      r: Number(m[2]),
      ap: m[3] === '' ? null : Number(m[3]),
      href: m[4]!,
    }));
  }

  it('lists every image with the AP of evaluating it alone and its occlusion ratio', () => {
    expect(summary.rendered).toBe(N);
    const list = rows(readFileSync(summary.gallery, 'utf8'));
    expect(list.map((r) => r.id)).toEqual(ids);
    const dt = gt.loadRes(SEGM);
    for (const row of list) {
      expect(existsSync(join(dir, 'out', decodeURIComponent(row.href)))).toBe(true);
      expect(row.r).toBe(imageOcclusion(gt, row.id));
      const E = new CocoEval(gt, dt, 'segm');
      E.params.imgIds = [row.id];
      E.evaluate();
      const ap = E.summarize(E.accumulate()).stats[0]!;
      expect(row.ap).toBe(ap < 0 ? null : ap);
    }
    expect(new Set(list.map((r) => r.ap)).size).toBeGreaterThan(3);
  });

  describeBrowser('in headless Chromium', () => {
    let browser: Browser;
    let close: () => Promise<void>;
    let page: Page;
    let errors: string[];
    let external: string[];

    beforeAll(async () => {
      ({ browser, close } = await launchBrowser());
      const opened = await openFile(browser, summary.gallery);
      page = opened.page;
      errors = opened.errors;
      external = opened.externalRequests;
    });
    afterAll(async () => {
      await close?.();
    });

    const visible = (key: string) =>
      page.$$eval(`#rows tbody tr:not(.hidden)`, (trs, k) => trs.map((tr) => tr.getAttribute(`data-${k}`)), key);
    const numbersOf = (vals: (string | null)[]) => vals.map((v) => (v === '' || v === null ? null : Number(v)));

    it('opens without console errors or network requests and shows every image', async () => {
      expect(await page.locator('#rows tbody tr').count()).toBe(summary.rendered);
      expect(await page.locator('#rows tbody img').count()).toBe(summary.rendered);
      // the first thumbnail (in view, so not deferred by loading=lazy) has loaded from its relative link
      await page.waitForFunction("(() => { const img = document.querySelector('#rows tbody img'); return !!img && img.complete && img.naturalWidth > 0; })()");
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
      expect(await page.locator('#shown').textContent()).toBe(String(summary.rendered));
    });

    it('sorts by AP (ascending, then descending on a second click; images without AP last)', async () => {
      await page.click('th[data-key="ap"]');
      const up = numbersOf(await visible('ap'));
      const defined = up.filter((v): v is number => v !== null);
      expect(defined).toEqual([...defined].sort((a, b) => a - b));
      expect(up.slice(defined.length).every((v) => v === null)).toBe(true);
      expect(await page.getAttribute('th[data-key="ap"]', 'aria-sort')).toBe('ascending');
      await page.click('th[data-key="ap"]');
      const down = numbersOf(await visible('ap'));
      const d2 = down.filter((v): v is number => v !== null);
      expect(d2).toEqual([...d2].sort((a, b) => b - a));
      expect(down.slice(d2.length).every((v) => v === null)).toBe(true);
    });

    it('sorts by occlusion ratio and filters r ≥ x', async () => {
      await page.click('th[data-key="r"]');
      const rs = numbersOf(await visible('r')) as number[];
      expect(rs).toEqual([...rs].sort((a, b) => a - b));
      const all = rs.length;
      const x = rs[Math.floor(rs.length / 2)]!;
      await page.fill('#rmin', String(x));
      const kept = numbersOf(await visible('r')) as number[];
      expect(kept.length).toBe(rs.filter((r) => r >= x).length);
      expect(kept.length).toBeLessThan(all);
      expect(kept.every((r) => r >= x)).toBe(true);
      expect(await page.locator('#shown').textContent()).toBe(String(kept.length));
      await page.fill('#rmin', '');
      expect((await visible('r')).length).toBe(all);
      await page.click('#worst'); // r ≥ 0.6, worst AP first
      const worst = await page.$$eval('#rows tbody tr:not(.hidden)', (trs) => trs.map((tr) => [Number(tr.getAttribute('data-r')), tr.getAttribute('data-ap')]));
      expect(worst.every(([r]) => (r as number) >= 0.6)).toBe(true);
      expect(await page.inputValue('#rmin')).toBe('0.6');
      expect(errors).toEqual([]);
    });
  });
});
