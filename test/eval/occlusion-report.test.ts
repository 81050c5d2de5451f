/**
 * eval/occlusion-report.ts and eval/report/ (library level):
 *  - on ../shared/coco/val2014_100 (bbox and segm results) and the three real Mask R-CNN runs: every bin's (and
 *    level's) stats equal a fresh CocoEval restricted with Params.imgIds to that subset's images; the overall row
 *    equals the plain evaluation; bins partition the images;
 *  - the written files exist, parse and agree: report.json = the report, every bins.csv number = the JSON number,
 *    every number cell of report.html (data-key / data-value and its text) = the JSON number; empty bins say
 *    "no images", nothing says NaN;
 *  - bootstrap intervals: basic intervals in [0, 1] with the bias estimate, seeded (same seed → same intervals),
 *    paired gap intervals that hold the gap;
 *  - bad input: duplicate names, a GT without boxes, results for another dataset, unknown categories.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval, STAT_NAMES, type IouType } from '../../eval/cocoeval.js';
import { buildOcclusionReport, writeOcclusionReport, type OcclusionReport } from '../../eval/occlusion-report.js';
import { CSV_HEADER, parseCsv } from '../../eval/report/csv.js';
import { fmtGap, fmtPoints, type SubsetRow } from '../../eval/report/model.js';
import { describeShared, PAIRS, sharedPath } from './shared-coco.js';

const loaded = new Map<string, { gt: CocoDataset; dt: CocoDataset }>();

/** A fresh CocoEval (own evaluate, accumulate, summarize) on the files, restricted with Params.imgIds. */
function freshStats(gtFile: string, resFile: string, iou: IouType, imgIds?: number[]): number[] {
  const key = `${gtFile}|${resFile}`;
  if (!loaded.has(key)) {
    const g = CocoDataset.fromFile(gtFile);
    loaded.set(key, { gt: g, dt: g.loadRes(resFile) });
  }
  const { gt, dt } = loaded.get(key)!;
  const E = new CocoEval(gt, dt, iou);
  if (imgIds) E.params.imgIds = imgIds;
  E.evaluate();
  return E.summarize(E.accumulate()).stats;
}

function subsetImages(report: OcclusionReport, row: SubsetRow): number[] {
  if (row.kind === 'all') return report.images.map((i) => i.id);
  if (row.kind === 'bin') return report.images.filter((i) => i.bin === row.index).map((i) => i.id);
  return report.images.filter((i) => i.bin >= row.index).map((i) => i.id);
}

const statArray = (row: SubsetRow, m: number) => STAT_NAMES.map((s) => row.models[m]!.stats![s]);

describeShared('per-bin stats equal a fresh evaluation restricted to the bin', () => {
  const cases: { name: string; gt: string; res: string; iou: IouType; levels: boolean }[] = [
    { name: 'val2014_100 bbox', gt: PAIRS.val2014_100.gt, res: PAIRS.val2014_100.results[0], iou: 'bbox', levels: true },
    { name: 'val2014_100 segm', gt: PAIRS.val2014_100.gt, res: PAIRS.val2014_100.results[1], iou: 'segm', levels: false },
    { name: 'braintumor_maskrcnn segm', gt: PAIRS.braintumor_maskrcnn.gt, res: PAIRS.braintumor_maskrcnn.results[0], iou: 'segm', levels: true },
    { name: 'phonescratch_maskrcnn segm', gt: PAIRS.phonescratch_maskrcnn.gt, res: PAIRS.phonescratch_maskrcnn.results[0], iou: 'segm', levels: true },
    { name: 'synthwheels_maskrcnn segm', gt: PAIRS.synthwheels_maskrcnn.gt, res: PAIRS.synthwheels_maskrcnn.results[0], iou: 'segm', levels: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const gtFile = sharedPath(c.gt);
      const resFile = sharedPath(c.res);
      const report = buildOcclusionReport({ gt: gtFile, results: [{ name: 'model', file: resFile }], iouType: c.iou, bootstrap: 0 });
      // the overall row is the plain evaluation
      expect(statArray(report.overall, 0)).toEqual(freshStats(gtFile, resFile, c.iou));
      expect(report.levels[0]!.models[0]!.stats).toEqual(report.overall.models[0]!.stats);
      // the bins partition the images
      expect(report.bins.reduce((s, b) => s + b.images, 0)).toBe(report.gt.images);
      expect(report.bins.reduce((s, b) => s + b.instances, 0)).toBe(report.gt.instances);
      const rows = c.levels ? [...report.bins, ...report.levels.slice(1)] : report.bins;
      let checked = 0;
      for (const row of rows) {
        const ids = subsetImages(report, row);
        expect(ids.length).toBe(row.images);
        if (row.images === 0) {
          expect(row.models[0]!.stats).toBeNull();
          continue;
        }
        expect(statArray(row, 0), row.label).toEqual(freshStats(gtFile, resFile, c.iou, ids));
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

/** Every `<td data-key=… data-value=…>text</td>` of the page. */
function htmlCells(html: string): Map<string, { value: string; text: string }> {
  const cells = new Map<string, { value: string; text: string }>();
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  for (const m of html.matchAll(/<td[^>]*data-key="([^"]*)" data-value="([^"]*)">([^<]*)<\/td>/g)) {
    cells.set(unescape(m[1]!), { value: m[2]!, text: unescape(m[3]!) });
  }
  return cells;
}

describeShared('report files (val2014_100, two models, bootstrap)', () => {
  const gtFile = sharedPath(PAIRS.val2014_100.gt);
  const bboxRes = sharedPath(PAIRS.val2014_100.results[0]);
  const segmRes = sharedPath(PAIRS.val2014_100.results[1]);
  // two "models" on the same GT: the fake box results and the fake mask results (evaluated as boxes)
  const opts = {
    gt: gtFile,
    results: [{ name: 'Boxes', file: bboxRes }, { name: 'Masks, as boxes', file: segmRes }],
    iouType: 'bbox' as const,
    bootstrap: 40,
    seed: 3,
  };
  const report = buildOcclusionReport(opts);
  const dir = mkdtempSync(join(tmpdir(), 'tiedet-occ-report-'));
  const files = writeOcclusionReport(report, dir);

  it('report.json round-trips; models, rows and gaps are consistent', () => {
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as OcclusionReport;
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    expect(json.models.map((m) => m.name)).toEqual(['Boxes', 'Masks, as boxes']);
    expect(json.baseline).toBe('Boxes');
    expect(json.bins).toHaveLength(10);
    expect(json.levels).toHaveLength(10);
    expect(json.definition.name).toBe('box');
    expect(json.definition.text).toMatch(/covered by at least one other/);
    for (const row of [json.overall, ...json.bins, ...json.levels]) {
      expect(row.models[0]!.gap).toBeNull();
      const a = row.models[0]!.stats;
      const b = row.models[1]!.stats;
      if (!a || !b) continue;
      expect(row.models[1]!.gap!.AP).toBeCloseTo(b.AP - a.AP, 15);
      expect(row.models[1]!.gap!.AP75).toBeCloseTo(b.AP75 - a.AP75, 15);
    }
  });

  it('bootstrap intervals: basic intervals within bounds, with the bias; seeded; paired gaps near the gap', () => {
    expect(report.bootstrap).toMatchObject({ replicates: 40, seed: 3, confidence: 0.95, method: 'basic', paired: true, stats: ['AP', 'AP50', 'AP75'] });
    let gapsAround = 0;
    let gaps = 0;
    for (const row of [report.overall, ...report.bins, ...report.levels]) {
      if (!row.images) continue;
      for (const cell of row.models) {
        for (const s of ['AP', 'AP50', 'AP75'] as const) {
          const ci = cell.ci![s]!;
          expect(0 <= ci.lo && ci.lo <= ci.hi && ci.hi <= 1, `${row.label} ${cell.model} ${s} ${JSON.stringify(ci)}`).toBe(true);
          expect(ci.valid).toBeGreaterThan(0);
          expect(Number.isFinite(ci.bias)).toBe(true);
        }
      }
      const g = row.models[1]!.gapCi!.AP!;
      expect(g.lo).toBeLessThanOrEqual(g.hi);
      gaps++;
      if (g.lo <= row.models[1]!.gap!.AP! + 1e-12 && row.models[1]!.gap!.AP! <= g.hi + 1e-12) gapsAround++;
    }
    expect(gapsAround / gaps).toBeGreaterThan(0.7); // the paired gap is nearly unbiased: its interval holds it
    // AP is biased upward on few images: the bootstrap says so for the overall row too
    expect(report.overall.models[0]!.ci!.AP!.bias).toBeGreaterThan(0);
    // the overall row's interval is narrow (100 images) and the same seed gives the same intervals
    const o = report.overall.models[0]!.ci!.AP!;
    expect(o.hi - o.lo).toBeLessThan(0.1);
    const again = buildOcclusionReport({ ...opts, results: [opts.results[0]!] });
    expect(again.bins.map((b) => b.models[0]!.ci)).toEqual(report.bins.map((b) => b.models[0]!.ci));
  });

  it('bins.csv: every number equals report.json (undefined → empty cell)', () => {
    const rows = parseCsv(readFileSync(files.csv, 'utf8'));
    expect(rows[0]).toEqual([...CSV_HEADER]);
    const body = rows.slice(1);
    expect(body).toHaveLength((1 + 10 + 10) * 2);
    const col = (name: string) => CSV_HEADER.indexOf(name);
    const all = [report.overall, ...report.bins, ...report.levels];
    let k = 0;
    for (const row of all) {
      for (const cell of row.models) {
        const r = body[k++]!;
        expect([r[col('kind')], r[col('label')], r[col('model')], r[col('images')]]).toEqual([row.kind, row.label, cell.model, String(row.images)]);
        expect(Number(r[col('r_lo')])).toBe(row.lo);
        for (const s of STAT_NAMES) {
          const v = cell.stats?.[s];
          expect(r[col(s)], `${row.label} ${cell.model} ${s}`).toBe(v === undefined || v < 0 ? '' : String(v));
          if (v !== undefined && v >= 0) expect(Number(r[col(s)])).toBe(v);
        }
        for (const s of ['AP', 'AP50', 'AP75'] as const) {
          const ci = cell.ci?.[s];
          expect(r[col(`${s}_ci_lo`)]).toBe(ci ? String(ci.lo) : '');
          expect(r[col(`${s}_ci_hi`)]).toBe(ci ? String(ci.hi) : '');
          const g = cell.gap?.[s];
          expect(r[col(`gap_${s}`)]).toBe(g === null || g === undefined ? '' : String(g));
        }
      }
    }
    expect(readFileSync(files.csv, 'utf8')).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('report.html: every number cell shows its report.json value; self-contained, no NaN', () => {
    const html = readFileSync(files.html, 'utf8');
    const cells = htmlCells(html);
    let compared = 0;
    for (const row of [report.overall, ...report.bins, ...report.levels]) {
      const rk = `${row.kind}:${row.index}`;
      for (const cell of row.models) {
        for (const s of row.kind === 'all' ? STAT_NAMES : (['AP', 'AP75'] as const)) {
          const c = cells.get(`${rk}|${cell.model}|${s}`);
          expect(c, `${rk}|${cell.model}|${s}`).toBeDefined();
          if (!cell.stats) {
            expect(c!.text).toBe('no images');
            continue;
          }
          expect(Number(c!.value)).toBe(cell.stats[s]);
          expect(c!.text.split(' ')[0]).toBe(fmtPoints(cell.stats[s]));
          compared++;
        }
        if (cell.gap && row.kind !== 'all') {
          const g = cells.get(`${rk}|${cell.model}|gap:AP`)!;
          expect(g.value === '' ? null : Number(g.value)).toBe(cell.gap.AP);
          expect(g.text.split(' ')[0]).toBe(cell.gap.AP === null ? 'n/a' : fmtGap(cell.gap.AP));
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
    // histogram cells
    for (const b of report.bins) expect(Number(cells.get(`bin:${b.index}|images`)!.value)).toBe(b.images);
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script/);
    expect(html).toContain('How the occlusion ratio r is defined');
    expect(html.match(/<svg /g)).toHaveLength(4); // AP, AP75, gap, histogram
    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toContain('## AP per occlusion bin');
    expect(md).toContain(report.definition.formula);
    expect(md).not.toMatch(/NaN|undefined/);
  });
});

describeShared('empty bins, one model, the mask definition', () => {
  it('phonescratch (5 images): empty bins are "no images" in every output, never NaN', () => {
    const report = buildOcclusionReport({
      gt: sharedPath(PAIRS.phonescratch_maskrcnn.gt),
      results: [{ name: 'MaskRCNN', file: sharedPath(PAIRS.phonescratch_maskrcnn.results[0]) }],
      iouType: 'segm',
      definition: 'mask',
      bootstrap: 20,
    });
    expect(report.definition.name).toBe('mask');
    const empty = report.bins.filter((b) => b.images === 0);
    expect(empty.length).toBeGreaterThan(3);
    for (const b of empty) {
      expect(b.models[0]!.stats).toBeNull();
      expect(b.models[0]!.ci).toBeNull();
    }
    const files = writeOcclusionReport(report, mkdtempSync(join(tmpdir(), 'tiedet-occ-empty-')));
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain('no images');
    expect(html).not.toMatch(/NaN|Infinity|undefined/);
    expect(html).toContain('One model only');
    expect(html.match(/<svg /g)).toHaveLength(3); // no gap chart
    expect(readFileSync(files.markdown, 'utf8')).toContain('| no images |');
    expect(readFileSync(files.csv, 'utf8')).not.toMatch(/NaN/);
  });
});

describe('bad input (library)', () => {
  const gtJson = {
    images: [{ id: 1, width: 50, height: 50 }, { id: 2, width: 50, height: 50 }],
    categories: [{ id: 1, name: 'a' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100 },
      { id: 2, image_id: 1, category_id: 1, bbox: [5, 0, 10, 10], area: 100 },
    ],
  };
  const gt = CocoDataset.fromJson(gtJson, 'gt.json');
  const dets = gt.loadRes([{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }]);

  it('duplicate model names, no results, bad options', () => {
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', results: [{ name: 'A', dataset: dets }, { name: 'A', dataset: dets }] })).toThrow(
      /duplicate model name 'A' \(results 1 and 2\)/,
    );
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', results: [] })).toThrow(/at least one model/);
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', results: [{ name: ' ', dataset: dets }] })).toThrow(/name is empty/);
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', bins: 0, results: [{ name: 'A', dataset: dets }] })).toThrow(/from 1 to 100/);
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', bootstrap: -1, results: [{ name: 'A', dataset: dets }] })).toThrow(/non-negative integer/);
  });

  it('a GT without boxes', () => {
    const empty = CocoDataset.fromJson({ ...gtJson, annotations: [] }, 'nobox.json');
    expect(() => buildOcclusionReport({ gt: empty, iouType: 'bbox', results: [{ name: 'A', dataset: empty.loadRes([]) }] })).toThrow(
      /nobox\.json: the ground truth has no \(non-crowd\) annotations/,
    );
  });

  it('results for another dataset, unknown categories (error or skipped and counted)', () => {
    const other = CocoDataset.fromJson({ ...gtJson, images: [...gtJson.images, { id: 99, width: 50, height: 50 }] }, 'other.json');
    const foreign = other.loadRes([{ image_id: 99, category_id: 1, bbox: [0, 0, 5, 5], score: 0.5 }]);
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', results: [{ name: 'X', dataset: foreign }] })).toThrow(
      /results\[0\] \(model X\)\.image_id: image 99 is not an image of gt\.json/,
    );
    const unknown = gt.loadRes([{ image_id: 1, category_id: 7, bbox: [0, 0, 5, 5], score: 0.5 }, { image_id: 2, category_id: 7, bbox: [0, 0, 5, 5], score: 0.5 }]);
    expect(() => buildOcclusionReport({ gt, iouType: 'bbox', results: [{ name: 'U', dataset: unknown }] })).toThrow(
      /results\[0\] \(image 1\)\.category_id: category 7 is not a category of gt\.json \(2 results have unknown categories\)/,
    );
    const warnings: string[] = [];
    const r = buildOcclusionReport({ gt, iouType: 'bbox', bootstrap: 0, skipUnknownCategories: true, onWarning: (w) => warnings.push(w), results: [{ name: 'U', dataset: unknown }] });
    expect(warnings.join('\n')).toMatch(/U: skipped 2 result\(s\)/);
    expect(r.overall.models[0]!.stats!.AP).toBe(0);
    // image 1: two half-overlapping boxes → r = 0.5 → bin 5; image 2: no boxes → bin 0
    expect(r.images).toEqual([{ id: 1, r: 0.5, bin: 5 }, { id: 2, r: 0, bin: 0 }]);
  });
});
