/**
 * eval/cocoeval.ts against pycocotools 2.0.11.
 *
 *  - val2014_100 (bbox, segm): ../shared/coco/expected — the 12 stats, per-category figures, the whole precision /
 *    recall / scores arrays (element by element), the first evalImgs records and IoU matrices.
 *  - Every shared pair (braintumor, synthwheels, phonescratch, fce_small, plus parameter variants of val2014_100:
 *    maxDets without 100, 4 maxDets, useCats = 0, an image subset, segm with mask areas): stats, the printed
 *    summary, per-category AP and the sha256 of the three arrays, from test/fixtures/eval/cocoeval_reference.json
 *    (written by tools/fixtures/cocoeval_reference.py with pycocotools; see there).
 *  - Hand-computed small cases that need no data: AP of a known TP/FP sequence, stable ties, the 32² boundary,
 *    the GT-id-0 quirk, crowd matching, accumulate on an image subset.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval, formatCategoryTable, formatFixed, linspace, numpySum, Params, type Accumulated } from '../../eval/cocoeval.js';
import { describeShared, readSharedJson, REPO_ROOT, sharedPath } from './shared-coco.js';

const TOL = 1e-12;

interface ExpectedFull {
  shape_precision: number[];
  shape_recall: number[];
  precision: number[];
  recall: number[];
  scores: number[];
  catIds: number[];
}
interface ExpectedPrecision {
  params: { iouThrs: number[]; recThrs: number[]; maxDets: number[]; areaRng: number[][] };
  stats: number[];
  per_category: Record<string, { AP: number; AP50: number; AP75: number; AR100: number; recall_by_iou: number[]; AP_by_area: number[] }>;
}
interface ExpectedEvalImgs {
  rows: {
    image_id: number;
    category_id: number;
    aRng: number[];
    maxDet: number;
    dtIds: number[];
    gtIds: number[];
    dtMatches: number[][];
    gtMatches: number[][];
    dtScores: number[];
    gtIgnore: number[];
    dtIgnore: boolean[][];
  }[];
  ious: { image_id: number; category_id: number; 'shape[D,G]': [number, number]; ious: number[][] }[];
}
interface RefCase {
  name: string;
  gt: string;
  res: string;
  iouType: 'bbox' | 'segm';
  strip_bbox?: boolean;
  params?: { maxDets?: number[]; useCats?: number; imgIds?: number[] };
  stats: number[];
  summary: string[];
  per_category_AP: Record<string, number>;
  shape: number[];
  sha256: { precision: string; recall: string; scores: string };
}

const reference = JSON.parse(
  readFileSync(resolve(REPO_ROOT, 'test/fixtures/eval/cocoeval_reference.json'), 'utf8'),
) as { cases: RefCase[] };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}

function sha256(a: Float64Array): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

function evaluate(gt: CocoDataset, res: unknown[] | string, iou: 'bbox' | 'segm', setup?: (E: CocoEval) => void) {
  const dt = gt.loadRes(res);
  const E = new CocoEval(gt, dt, iou);
  setup?.(E);
  E.evaluate();
  const acc = E.accumulate();
  const summary = E.summarize(acc);
  return { E, acc, summary };
}

// ---------------------------------------------------------------------------------------------------------------

describe('Params and numerics', () => {
  it('linspace reproduces numpy (0.8999999999999999, 0.35000000000000003, exact endpoints)', () => {
    const p = new Params('bbox');
    expect(Array.from(p.iouThrs)).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
    expect(p.recThrs.length).toBe(101);
    expect(p.recThrs[35]).toBe(0.35000000000000003);
    expect(p.recThrs[100]).toBe(1);
    expect(Array.from(linspace(0, 1, 1))).toEqual([0]);
    expect(p.maxDets).toEqual([1, 10, 100]);
    expect(p.areaRng).toEqual([[0, 1e10], [0, 1024], [1024, 9216], [9216, 1e10]]);
  });

  it("formatFixed rounds exact ties to even like Python's format (JS toFixed does not)", () => {
    expect(formatFixed(0.0625, 3)).toBe('0.062');
    expect(formatFixed(0.1875, 3)).toBe('0.188');
    expect(formatFixed(0.5045806987249628, 3)).toBe('0.505');
    expect(formatFixed(-1, 3)).toBe('-1.000');
    expect(formatFixed(0.95, 2)).toBe('0.95');
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect(formatFixed(1, 3)).toBe('1.000');
  });

  it('numpySum adds in numpy order (pairwise, 8192-element chunks)', () => {
    // 0.1 added 10 times sequentially gives 0.9999999999999999; numpy's 8-way unrolled pairwise sum gives 1.0
    expect(numpySum(new Float64Array(10).fill(0.1))).toBe(1);
    let seq = 0;
    for (let i = 0; i < 10; i++) seq += 0.1;
    expect(seq).toBe(0.9999999999999999);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describeShared('val2014_100 against pycocotools 2.0.11 (expected/)', () => {
  for (const iou of ['bbox', 'segm'] as const) {
    describe(iou, () => {
      const gt = CocoDataset.fromFile(sharedPath('val2014_100/instances_val2014_100.json'));
      const { E, acc, summary } = evaluate(gt, sharedPath(`val2014_100/instances_val2014_fake${iou}100_results.json`), iou);
      const full = readSharedJson<ExpectedFull>(`expected/val2014_100.${iou}.full.json.gz`);
      const prec = readSharedJson<ExpectedPrecision>(`expected/val2014_100.${iou}.precision.json`);
      const evImgs = readSharedJson<ExpectedEvalImgs>(`expected/val2014_100.${iou}.evalimgs.json`);

      it('parameters equal pycocotools (iouThrs, recThrs bit for bit)', () => {
        expect(Array.from(E.params.iouThrs)).toEqual(prec.params.iouThrs);
        expect(Array.from(E.params.recThrs)).toEqual(prec.params.recThrs);
        expect(E.params.maxDets).toEqual(prec.params.maxDets);
        expect(E.params.areaRng).toEqual(prec.params.areaRng);
        expect(acc.catIds).toEqual(full.catIds);
      });

      it('the 12 stats', () => {
        expect(summary.stats).toHaveLength(12);
        expect(maxAbsDiff(summary.stats, prec.stats)).toBeLessThanOrEqual(TOL);
        expect(summary.stats).toEqual(prec.stats); // in fact bit-identical
      });

      it('the whole precision, recall and scores arrays, element by element', () => {
        expect(acc.counts).toEqual(full.shape_precision);
        expect([acc.counts[0], acc.counts[2], acc.counts[3], acc.counts[4]]).toEqual(full.shape_recall);
        expect(maxAbsDiff(acc.precision, full.precision)).toBeLessThanOrEqual(TOL);
        expect(maxAbsDiff(acc.recall, full.recall)).toBeLessThanOrEqual(TOL);
        expect(maxAbsDiff(acc.scores, full.scores)).toBeLessThanOrEqual(TOL);
        // the −1 entries (no GT) are exactly where pycocotools has them
        let neg = 0;
        for (let i = 0; i < full.precision.length; i++) if (full.precision[i] === -1) neg += acc.precision[i] === -1 ? 1 : 0;
        expect(neg).toBe(full.precision.filter((x) => x === -1).length);
      });

      it('per-category figures', () => {
        const rows = E.perCategory(acc);
        const [T, , K, A, M] = acc.counts;
        expect(rows).toHaveLength(80);
        for (const [k, row] of rows.entries()) {
          const e = prec.per_category[String(row.id)]!;
          expect(Math.abs(row.AP - e.AP), `AP of ${row.name}`).toBeLessThanOrEqual(TOL);
          expect(Math.abs(row.AP50 - e.AP50)).toBeLessThanOrEqual(TOL);
          expect(Math.abs(row.AP75 - e.AP75)).toBeLessThanOrEqual(TOL);
          expect(Math.abs(row.AR100 - e.AR100)).toBeLessThanOrEqual(TOL);
          expect(maxAbsDiff([row.AP, row.APs, row.APm, row.APl], e.AP_by_area)).toBeLessThanOrEqual(TOL);
          const rByIou = Array.from({ length: T }, (_, t) => acc.recall[((t * K + k) * A + 0) * M + M - 1]!);
          expect(maxAbsDiff(rByIou, e.recall_by_iou)).toBeLessThanOrEqual(TOL);
        }
        expect(rows[0]!.name).toBe('person');
        const table = formatCategoryTable(rows);
        expect(table.split('\n')).toHaveLength(82);
        expect(table).toMatch(/^person\s/m);
      });

      it('the first evalImgs records', () => {
        const recs = E.evalImgs();
        expect(recs).toHaveLength(readSharedJson<{ n_evalImgs_nonnull: number }>(`expected/val2014_100.${iou}.evalimgs.json`).n_evalImgs_nonnull);
        for (const [j, row] of evImgs.rows.entries()) {
          const r = recs[j]!;
          const D = r.dtIds.length;
          const G = r.gtIds.length;
          expect(r.imageId).toBe(row.image_id);
          expect(r.categoryId).toBe(row.category_id);
          expect(r.aRng).toEqual(row.aRng);
          expect(r.maxDet).toBe(row.maxDet);
          expect(r.dtIds).toEqual(row.dtIds);
          expect(r.gtIds).toEqual(row.gtIds);
          expect(r.dtScores).toEqual(row.dtScores);
          expect(Array.from(r.gtIgnore)).toEqual(row.gtIgnore);
          for (let t = 0; t < 10; t++) {
            expect(Array.from(r.dtMatches.subarray(t * D, (t + 1) * D))).toEqual(row.dtMatches[t]);
            expect(Array.from(r.gtMatches.subarray(t * G, (t + 1) * G))).toEqual(row.gtMatches[t]);
            expect(Array.from(r.dtIgnore.subarray(t * D, (t + 1) * D), Boolean)).toEqual(row.dtIgnore[t]);
          }
        }
        // the same records for a subset of images
        const sub = E.evalImgs([evImgs.rows[1]!.image_id]);
        expect(sub[0]!.dtIds).toEqual(evImgs.rows[1]!.dtIds);
        expect(sub.every((r) => r.imageId === evImgs.rows[1]!.image_id)).toBe(true);
      });

      it('IoU matrices', () => {
        for (const e of evImgs.ious) {
          const { ious } = E.computeIoU(e.image_id, e.category_id);
          expect(Array.from(ious)).toEqual(e.ious.flat());
        }
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------

describeShared('detectron2-logged pycocotools values (braintumor_maskrcnn)', () => {
  const gt = CocoDataset.fromFile(sharedPath('braintumor_maskrcnn/valid_annotations.coco.json'));
  it('bbox AP = 0.4413349021944734 and segm AP = 0.4685001766486616', () => {
    const res = sharedPath('braintumor_maskrcnn/coco_instances_results.json');
    const bbox = evaluate(gt, res, 'bbox');
    const segm = evaluate(gt, res, 'segm');
    expect(Math.abs(bbox.summary.stats[0]! - 0.4413349021944734)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(segm.summary.stats[0]! - 0.4685001766486616)).toBeLessThanOrEqual(TOL);
    // the GT ids start at 0 here: the quirk is reported
    expect(bbox.E.warnings.some((w) => w.includes('annotation id 0'))).toBe(true);
  });
});

describeShared('every shared pair and parameter variant against pycocotools (test/fixtures/eval/cocoeval_reference.json)', () => {
  const gts = new Map<string, CocoDataset>();
  const resJson = new Map<string, unknown[]>();
  for (const c of reference.cases) {
    it(c.name, () => {
      let gt = gts.get(c.gt);
      if (!gt) gts.set(c.gt, (gt = CocoDataset.fromFile(sharedPath(c.gt))));
      let res = resJson.get(c.res);
      if (!res) resJson.set(c.res, (res = JSON.parse(readFileSync(sharedPath(c.res), 'utf8')) as unknown[]));
      const input = c.strip_bbox ? res.map((r) => ({ ...(r as object), bbox: undefined })).map(stripUndefined) : res;
      const { E, acc, summary } = evaluate(gt, input, c.iouType, (E) => {
        if (c.params?.maxDets) E.params.maxDets = c.params.maxDets;
        if (c.params?.useCats !== undefined) E.params.useCats = c.params.useCats !== 0;
        if (c.params?.imgIds) E.params.imgIds = c.params.imgIds;
      });
      expect(maxAbsDiff(summary.stats, c.stats)).toBeLessThanOrEqual(TOL);
      expect(summary.lines).toEqual(c.summary);
      expect(acc.counts).toEqual(c.shape);
      expect(sha256(acc.precision)).toBe(c.sha256.precision);
      expect(sha256(acc.recall)).toBe(c.sha256.recall);
      expect(sha256(acc.scores)).toBe(c.sha256.scores);
      if (E.params.useCats) {
        const [, , , , M] = acc.counts;
        for (const [k, id] of acc.catIds.entries()) {
          const ap = apOf(acc, k, 0, M - 1);
          expect(Math.abs(ap - c.per_category_AP[String(id)]!)).toBeLessThanOrEqual(TOL);
        }
      }
      // plausibility: stats are −1 (undefined) or in [0, 1]
      for (const s of summary.stats) expect(s === -1 || (s >= 0 && s <= 1)).toBe(true);
    });
  }

  it("segmAreaFromBbox: false (the CLI's --mask-area) equals pycocotools on the results with bbox removed", () => {
    for (const pair of ['braintumor_maskrcnn', 'synthwheels_maskrcnn', 'phonescratch_maskrcnn']) {
      const c = reference.cases.find((x) => x.name === `${pair}.segm.strip_bbox`)!;
      const gt = CocoDataset.fromFile(sharedPath(c.gt));
      const E = new CocoEval(gt, gt.loadRes(sharedPath(c.res), { segmAreaFromBbox: false }), 'segm');
      E.evaluate();
      const acc = E.accumulate();
      expect(E.summarize(acc).stats).toEqual(c.stats);
      expect(sha256(acc.precision)).toBe(c.sha256.precision);
    }
  });

  it('synthwheels: category and GT ids start at 0 → the GT-id-0 quirk is warned about, results stay well-defined', () => {
    const gt = CocoDataset.fromFile(sharedPath('synthwheels_maskrcnn/val.json'));
    const { E, summary } = evaluate(gt, sharedPath('synthwheels_maskrcnn/coco_instances_results.json'), 'bbox');
    expect(E.warnings).toHaveLength(1);
    expect(E.warnings[0]).toMatch(/annotation id 0 .*false positive/);
    expect(E.params.catIds[0]).toBe(0);
    expect(summary.stats[0]).toBeGreaterThan(0.9);
    expect(summary.stats.every(Number.isFinite)).toBe(true);
  });

  it('accumulate on a subset of image ids equals a fresh evaluation restricted to those ids', () => {
    const gt = CocoDataset.fromFile(sharedPath('val2014_100/instances_val2014_100.json'));
    const res = sharedPath('val2014_100/instances_val2014_fakesegm100_results.json');
    const all = evaluate(gt, res, 'segm');
    const ids = gt.getImgIds().filter((_, i) => i % 3 === 1);
    const sub = all.E.accumulate({ imgIds: ids });
    const fresh = evaluate(gt, res, 'segm', (E) => (E.params.imgIds = ids));
    expect(sub.imgIds).toEqual(fresh.acc.imgIds);
    expect(sha256(sub.precision)).toBe(sha256(fresh.acc.precision));
    expect(sha256(sub.recall)).toBe(sha256(fresh.acc.recall));
    expect(sha256(sub.scores)).toBe(sha256(fresh.acc.scores));
    expect(all.E.summarize(sub).stats).toEqual(fresh.summary.stats);
    // and accumulating all images again gives back the full result
    expect(sha256(all.E.accumulate().precision)).toBe(sha256(all.acc.precision));
    // per-image records of the subset equal the fresh evaluation's
    const a = all.E.evalImgs(ids);
    const b = fresh.E.evalImgs();
    expect(a.length).toBe(b.length);
    expect(a.map((r) => [r.imageId, r.categoryId, r.dtIds, Array.from(r.dtMatches)])).toEqual(
      b.map((r) => [r.imageId, r.categoryId, r.dtIds, Array.from(r.dtMatches)]),
    );
  });
});

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Mean of precision[:, :, k, a, m] entries > −1 (−1 if none). */
function apOf(acc: Accumulated, k: number, a: number, m: number): number {
  const [T, R, K, A, M] = acc.counts;
  const v: number[] = [];
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < R; r++) {
      const x = acc.precision[(((t * R + r) * K + k) * A + a) * M + m]!;
      if (x > -1) v.push(x);
    }
  }
  return v.length ? numpySum(v) / v.length : -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Randomised corner cases with pycocotools' answers (no shared data needed)

interface StressCase {
  name: string;
  iouType: 'bbox' | 'segm';
  params: { maxDets?: number[]; useCats?: number; iouThrs?: number[]; areaRng?: [number, number][]; areaRngLbl?: string[] };
  gt: unknown;
  res: unknown[];
  stats: number[];
  summary: string[];
  shape: number[];
  sha256: { precision: string; recall: string; scores: string };
}

describe('randomised corner cases against pycocotools (test/fixtures/eval/cocoeval_stress.json.gz)', () => {
  const stress = JSON.parse(
    gunzipSync(readFileSync(resolve(REPO_ROOT, 'test/fixtures/eval/cocoeval_stress.json.gz'))).toString('utf8'),
  ) as { cases: StressCase[] };
  for (const c of stress.cases) {
    it(`${c.name} ${JSON.stringify(c.params)}: ties, 32²/96² bounds, crowd, GT id 0, duplicates, > maxDets per image`, () => {
      const gt = CocoDataset.fromJson(c.gt, c.name);
      const { E, acc, summary } = evaluate(gt, c.res, c.iouType, (E) => {
        if (c.params.maxDets) E.params.maxDets = c.params.maxDets;
        if (c.params.useCats !== undefined) E.params.useCats = c.params.useCats !== 0;
        if (c.params.iouThrs) E.params.iouThrs = Float64Array.from(c.params.iouThrs);
        if (c.params.areaRng) E.params.areaRng = c.params.areaRng;
        if (c.params.areaRngLbl) E.params.areaRngLbl = c.params.areaRngLbl;
      });
      expect(summary.stats).toEqual(c.stats);
      expect(summary.lines).toEqual(c.summary);
      expect(acc.counts).toEqual(c.shape);
      expect(sha256(acc.precision)).toBe(c.sha256.precision);
      expect(sha256(acc.recall)).toBe(c.sha256.recall);
      expect(sha256(acc.scores)).toBe(c.sha256.scores);
      expect(E.warnings.some((w) => w.includes('annotation id 0'))).toBe(true);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Small hand-made cases (no shared data needed)

type Box = [number, number, number, number];
interface GtSpec {
  id: number;
  image: number;
  cat?: number;
  box: Box;
  area?: number;
  crowd?: boolean;
}
interface DtSpec {
  image: number;
  cat?: number;
  box: Box;
  score: number;
}

function dataset(gts: GtSpec[], images = [1, 2], cats = [1]): CocoDataset {
  return CocoDataset.fromJson(
    {
      images: images.map((id) => ({ id, width: 200, height: 200 })),
      categories: cats.map((id) => ({ id, name: `c${id}` })),
      annotations: gts.map((g) => ({
        id: g.id,
        image_id: g.image,
        category_id: g.cat ?? 1,
        bbox: g.box,
        area: g.area ?? g.box[2] * g.box[3],
        iscrowd: g.crowd ? 1 : 0,
      })),
    },
    '<test gt>',
  );
}

function results(dts: DtSpec[]): unknown[] {
  return dts.map((d) => ({ image_id: d.image, category_id: d.cat ?? 1, bbox: d.box, score: d.score }));
}

describe('hand-computed cases', () => {
  it('known TP/FP sequence → AP, AR by hand', () => {
    // img 1: GT A, B; img 2: GT C. Detections by score: TP(A) .9, FP .8, TP(C) .7, TP(B) .6 — exact boxes, IoU 1.
    const gt = dataset([
      { id: 1, image: 1, box: [0, 0, 10, 10] },
      { id: 2, image: 1, box: [20, 20, 10, 10] },
      { id: 3, image: 2, box: [0, 0, 10, 10] },
    ]);
    const { acc, summary } = evaluate(
      gt,
      results([
        { image: 1, box: [0, 0, 10, 10], score: 0.9 },
        { image: 1, box: [50, 50, 10, 10], score: 0.8 },
        { image: 2, box: [0, 0, 10, 10], score: 0.7 },
        { image: 1, box: [20, 20, 10, 10], score: 0.6 },
      ]),
      'bbox',
    );
    // recall 1/3, 1/3, 2/3, 1; precision 1, 1/2, 2/3, 3/4 → envelope 1, 3/4, 3/4, 3/4.
    // recall thresholds 0 … 0.33 (34 of them) read precision 1, the other 67 read 3/4.
    const apByHand = (34 * 1 + 67 * 0.75) / 101;
    expect(Math.abs(summary.stats[0]! - apByHand)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(summary.stats[1]! - apByHand)).toBeLessThanOrEqual(TOL); // AP50: same (IoU 1)
    expect(summary.stats[6]).toBeCloseTo(2 / 3, 14); // AR1: the top detection of each image: A and C
    expect(summary.stats[7]).toBe(1); // AR10
    expect(summary.stats[8]).toBe(1); // AR100
    // scores at recall thresholds: 0.9 up to 1/3, then 0.7 up to 2/3, then 0.6
    const [, R, K, A, M] = acc.counts;
    const sc = (r: number) => acc.scores[(((0 * R + r) * K + 0) * A + 0) * M + 2];
    expect([sc(0), sc(33), sc(34), sc(66), sc(67), sc(100)]).toEqual([0.9, 0.9, 0.7, 0.7, 0.6, 0.6]);
    // 10 boxes is 100 px: all small; medium and large have no GT → −1
    expect(summary.stats[3]).toBeCloseTo(apByHand, 12);
    expect(summary.stats[4]).toBe(-1);
    expect(summary.stats[5]).toBe(-1);
  });

  it('equal scores keep file order (stable sort): FP first → AP 0.5, TP first → AP 1', () => {
    const gt = dataset([{ id: 1, image: 1, box: [0, 0, 10, 10] }]);
    const fp: DtSpec = { image: 1, box: [100, 100, 10, 10], score: 0.5 };
    const tp: DtSpec = { image: 1, box: [0, 0, 10, 10], score: 0.5 };
    expect(evaluate(gt, results([fp, tp]), 'bbox').summary.stats[0]).toBeCloseTo(0.5, 15);
    expect(evaluate(gt, results([tp, fp]), 'bbox').summary.stats[0]).toBeCloseTo(1, 15);
    // across images too: the tie between images is broken by image order (sorted ids), then file order
    const gt2 = dataset([{ id: 1, image: 2, box: [0, 0, 10, 10] }]);
    const fpImg1: DtSpec = { image: 1, box: [100, 100, 10, 10], score: 0.5 };
    const tpImg2: DtSpec = { image: 2, box: [0, 0, 10, 10], score: 0.5 };
    expect(evaluate(gt2, results([tpImg2, fpImg1]), 'bbox').summary.stats[0]).toBeCloseTo(0.5, 15);
  });

  it('maxDets without 100 → AP (the stat that asks for maxDets=100) is −1, the others use maxDets[2]', () => {
    const gt = dataset([{ id: 1, image: 1, box: [0, 0, 10, 10] }]);
    const { summary } = evaluate(gt, results([{ image: 1, box: [0, 0, 10, 10], score: 0.9 }]), 'bbox', (E) => {
      E.params.maxDets = [1, 10, 300];
    });
    expect(summary.stats[0]).toBe(-1);
    expect(summary.lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = -1.000');
    expect(summary.stats[1]).toBeCloseTo(1, 15);
    expect(summary.lines[1]).toBe(' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=300 ] = 1.000');
    // fewer than 3 values: pycocotools' summarize fails (IndexError); here a clear error
    const E = new CocoEval(gt, gt.loadRes(results([{ image: 1, box: [0, 0, 10, 10], score: 0.9 }])), 'bbox');
    E.params.maxDets = [1, 10];
    E.evaluate();
    E.accumulate();
    expect(() => E.summarize()).toThrow(/at least 3 maxDets/);
  });

  it('an area of exactly 32² counts as both small and medium', () => {
    const gt = dataset([{ id: 1, image: 1, box: [0, 0, 32, 32], area: 1024 }]);
    const { summary } = evaluate(gt, results([{ image: 1, box: [0, 0, 32, 32], score: 0.9 }]), 'bbox');
    expect(summary.stats[3]).toBeCloseTo(1, 15); // APs
    expect(summary.stats[4]).toBeCloseTo(1, 15); // APm
    expect(summary.stats[5]).toBe(-1); // APl: no GT
    expect(summary.stats[9]).toBe(1); // ARs
    expect(summary.stats[10]).toBe(1); // ARm
  });

  it('GT id 0: a detection matched to it is a false positive (pycocotools quirk), with a warning', () => {
    const det = results([{ image: 1, box: [0, 0, 10, 10], score: 0.9 }]);
    const zero = evaluate(dataset([{ id: 0, image: 1, box: [0, 0, 10, 10] }]), det, 'bbox');
    const one = evaluate(dataset([{ id: 1, image: 1, box: [0, 0, 10, 10] }]), det, 'bbox');
    expect(zero.summary.stats[0]).toBe(0);
    expect(zero.summary.stats[8]).toBe(0);
    expect(zero.E.warnings).toHaveLength(1);
    expect(zero.E.warnings[0]).toMatch(/annotation id 0 \(image 1, category 1\)/);
    expect(one.summary.stats[0]).toBeCloseTo(1, 15);
    expect(one.E.warnings).toHaveLength(0);
    // the record shows dtMatches 0 while the GT is marked as matched
    const rec = zero.E.evalImgs([1])[0]!;
    expect(rec.dtMatches[0]).toBe(0);
    expect(rec.gtMatches[0]).toBe(1);
  });

  it('crowd GT absorbs any number of detections (ignored, not false positives)', () => {
    const gt = dataset([
      { id: 1, image: 1, box: [0, 0, 10, 10] },
      { id: 2, image: 1, box: [50, 50, 100, 100], crowd: true },
    ]);
    const { E, summary } = evaluate(
      gt,
      results([
        { image: 1, box: [60, 60, 20, 20], score: 0.95 },
        { image: 1, box: [100, 100, 20, 20], score: 0.94 },
        { image: 1, box: [0, 0, 10, 10], score: 0.5 },
      ]),
      'bbox',
    );
    expect(summary.stats[0]).toBeCloseTo(1, 15);
    const rec = E.evalImgs([1])[0]!;
    expect(rec.gtIds).toEqual([1, 2]);
    expect(Array.from(rec.gtIgnore)).toEqual([0, 1]);
    expect(Array.from(rec.dtMatches.subarray(0, 3))).toEqual([2, 2, 1]);
    expect(Array.from(rec.dtIgnore.subarray(0, 3))).toEqual([1, 1, 0]);
    expect(rec.gtMatches[1]).toBe(2); // the crowd GT keeps the last detection matched to it
  });

  it('unmatched detections outside the area range are ignored in that range only', () => {
    const gt = dataset([{ id: 1, image: 1, box: [0, 0, 10, 10] }]);
    // a large false positive: counts in "all" (AP 1/2 … ) but is ignored in "small"
    const { summary } = evaluate(
      gt,
      results([
        { image: 1, box: [100, 100, 99, 99], score: 0.9 },
        { image: 1, box: [0, 0, 10, 10], score: 0.8 },
      ]),
      'bbox',
    );
    expect(summary.stats[0]).toBeCloseTo(0.5, 15);
    expect(summary.stats[3]).toBeCloseTo(1, 15);
  });

  it('useCats = false pools categories; accumulate({ catIds }) selects the K axis', () => {
    const gt = dataset(
      [
        { id: 1, image: 1, cat: 1, box: [0, 0, 10, 10] },
        { id: 2, image: 1, cat: 2, box: [30, 30, 10, 10] },
      ],
      [1],
      [1, 2],
    );
    const res = results([
      { image: 1, cat: 2, box: [0, 0, 10, 10], score: 0.9 }, // wrong category
      { image: 1, cat: 2, box: [30, 30, 10, 10], score: 0.8 },
    ]);
    const pooled = evaluate(gt, res, 'bbox', (E) => (E.params.useCats = false));
    expect(pooled.acc.catIds).toEqual([-1]);
    expect(pooled.summary.stats[0]).toBeCloseTo(1, 15);
    const perCat = evaluate(gt, res, 'bbox');
    expect(perCat.summary.stats[0]).toBeCloseTo(0.25, 15); // cat 1: no detection, AP 0; cat 2: FP .9 then TP .8, AP 0.5
    const only2 = perCat.E.accumulate({ catIds: [2] });
    expect(only2.catIds).toEqual([2]);
    expect(perCat.E.summarize(only2).stats[0]).toBeCloseTo(0.5, 15);
  });
});
