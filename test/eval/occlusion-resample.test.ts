/**
 * What the occlusion report's bootstrap stands on:
 *  - `CocoEval.accumulate({ imgCounts })` — a multiset of images — equals pycocotools' accumulate over an evaluation
 *    list with each image's records repeated: a duplicated image equals a fresh evaluation of a dataset in which
 *    that image (GT and detections) appears twice, bit for bit, including the case where the image has several
 *    detections with one score (their order in the stable sort is run, run — not each detection twice);
 *  - `summaryStats` = `summarize(accumulate(…)).stats`, without touching `eval`;
 *  - `ApResampler.run(counts)` = summary stats 0–2 of `accumulate({ imgCounts })` (≤ 1e−12) on real result files,
 *    for one subset and for several subsets (group ranges) at once;
 *  - eval/bootstrap.ts: numpy's linear percentile, percentile and basic intervals, NaN handling, seeded determinism.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { basicInterval, bootstrap, interval, percentileInterval, quantileSorted, resampleCounts } from '../../eval/bootstrap.js';
import { CocoDataset } from '../../eval/coco.js';
import { CocoEval, type Accumulated, type IouType } from '../../eval/cocoeval.js';
import { Rng } from '../../src/nn/rng.js';
import { describeShared, PAIRS, sharedPath } from './shared-coco.js';

interface Json {
  images: { id: number; [k: string]: unknown }[];
  annotations: { id: number; image_id: number; [k: string]: unknown }[];
  categories: unknown[];
}
type Res = { image_id: number; [k: string]: unknown }[];

/** The dataset with image i repeated counts(i) times (ids id·10 + copy, so copies are adjacent in id order). */
function expand(gt: Json, res: Res, counts: Map<number, number>): { gt: CocoDataset; res: Res } {
  const images: Json['images'] = [];
  const annotations: Json['annotations'] = [];
  const out: Res = [];
  let annId = 1;
  for (const im of gt.images) {
    for (let c = 0; c < (counts.get(im.id) ?? 0); c++) {
      const id = im.id * 10 + c;
      images.push({ ...im, id });
      for (const a of gt.annotations) if (a.image_id === im.id) annotations.push({ ...a, id: annId++, image_id: id });
      for (const r of res) if (r.image_id === im.id) out.push({ ...r, image_id: id });
    }
  }
  return { gt: CocoDataset.fromJson({ ...gt, images, annotations }), res: out };
}

function sameArrays(a: Accumulated, b: Accumulated): void {
  expect(a.counts).toEqual(b.counts);
  expect(Buffer.from(a.precision.buffer).equals(Buffer.from(b.precision.buffer))).toBe(true);
  expect(Buffer.from(a.recall.buffer).equals(Buffer.from(b.recall.buffer))).toBe(true);
  expect(Buffer.from(a.scores.buffer).equals(Buffer.from(b.scores.buffer))).toBe(true);
}

function evaluated(gt: CocoDataset, res: Res | string, iou: IouType): CocoEval {
  const E = new CocoEval(gt, gt.loadRes(res), iou);
  E.evaluate();
  return E;
}

describe('accumulate over a multiset of images (imgCounts)', () => {
  // image 1: one GT, two detections with the SAME score — the first matches (TP), the second does not (FP);
  // image 2: one GT, one detection that misses it, with a higher score
  const gtJson: Json = {
    images: [{ id: 1, width: 100, height: 100 }, { id: 2, width: 100, height: 100 }],
    categories: [{ id: 1, name: 'thing' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 30, 30], area: 900, iscrowd: 0 },
      { id: 2, image_id: 2, category_id: 1, bbox: [50, 50, 20, 20], area: 400, iscrowd: 0 },
    ],
  };
  const res: Res = [
    { image_id: 1, category_id: 1, bbox: [10, 10, 30, 30], score: 0.8 },
    { image_id: 1, category_id: 1, bbox: [60, 60, 30, 30], score: 0.8 },
    { image_id: 2, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 },
  ];

  it('a duplicated image equals concatenating its records twice (with a same-score run inside the image)', () => {
    const gt = CocoDataset.fromJson(gtJson);
    const E = evaluated(gt, res, 'bbox');
    for (const counts of [new Map([[1, 2], [2, 1]]), new Map([[1, 3], [2, 0]]), new Map([[1, 1], [2, 2]]), new Map([[1, 2], [2, 3]])]) {
      const acc = E.accumulate({ imgCounts: counts });
      const ex = expand(gtJson, res, counts);
      const fresh = evaluated(ex.gt, ex.res, 'bbox').accumulate();
      sameArrays(acc, fresh);
      expect(acc.imgIds).toEqual([...counts].flatMap(([id, c]) => new Array<number>(c).fill(id)));
    }
    // the run matters: counting each detection of image 1 twice in place (TP, TP, FP, FP) would give AP 1 at
    // recall 0.5 … the pycocotools order TP, FP, TP, FP gives precision 2/3 at recall 1
    const acc = E.accumulate({ imgCounts: new Map([[1, 2]]) });
    expect(E.summarize(acc).stats[1]).toBeCloseTo((51 * 1 + 50 * (2 / 3)) / 101, 12);
  });

  it('all counts 1 equal the plain accumulation; 0 leaves an image out; bad counts are errors', () => {
    const gt = CocoDataset.fromJson(gtJson);
    const E = evaluated(gt, res, 'bbox');
    sameArrays(E.accumulate({ imgCounts: new Map([[1, 1], [2, 1]]) }), E.accumulate());
    sameArrays(E.accumulate({ imgCounts: new Map([[1, 1], [2, 0]]) }), E.accumulate({ imgIds: [1] }));
    expect(() => E.accumulate({ imgCounts: new Map([[1, 1.5]]) })).toThrow(/image 1: count 1\.5 is not a non-negative integer/);
    expect(() => E.accumulate({ imgCounts: new Map([[1, -1]]) })).toThrow(/not a non-negative integer/);
    expect(() => E.accumulate({ imgCounts: new Map([[3, 1]]) })).toThrow(/image id 3 was not evaluated/);
    expect(() => E.accumulate({ imgIds: [1], imgCounts: new Map([[1, 1]]) })).toThrow(/imgIds or imgCounts, not both/);
  });
});

describeShared('multisets, summaryStats and the AP resampler on the shared pairs', () => {
  it('val2014_100 bbox: random repeat counts equal the expanded dataset, bit for bit', () => {
    const gtJson = JSON.parse(readFileSync(sharedPath(PAIRS.val2014_100.gt), 'utf8')) as Json;
    const res = JSON.parse(readFileSync(sharedPath(PAIRS.val2014_100.results[0]), 'utf8')) as Res;
    const gt = CocoDataset.fromJson(gtJson);
    const E = evaluated(gt, res, 'bbox');
    const rng = new Rng(5);
    const counts = new Map(gt.getImgIds().map((id) => [id, rng.int(4)] as [number, number]));
    const ex = expand(gtJson, res, counts);
    sameArrays(E.accumulate({ imgCounts: counts }), evaluated(ex.gt, ex.res, 'bbox').accumulate());
  });

  it('summaryStats equals summarize(accumulate()) and leaves eval / stats alone', () => {
    const gt = CocoDataset.fromFile(sharedPath(PAIRS.val2014_100.gt));
    const E = evaluated(gt, sharedPath(PAIRS.val2014_100.results[1]), 'segm');
    const full = E.accumulate();
    const stats = E.summarize(full).stats;
    const ids = gt.getImgIds().filter((_, i) => i % 4 === 0);
    const sub = E.summarize(E.accumulate({ imgIds: ids })).stats;
    E.accumulate(); // eval = the full accumulation again
    const before = E.eval;
    expect(E.summaryStats({ imgIds: ids })).toEqual(sub);
    expect(E.summaryStats()).toEqual(stats);
    expect(E.summaryStats({ imgIds: ids })).toEqual(sub); // reused buffers give the same again
    expect(E.eval).toBe(before);
  });

  const cases: [keyof typeof PAIRS, number, IouType][] = [
    ['val2014_100', 0, 'bbox'],
    ['val2014_100', 1, 'segm'],
    ['braintumor_maskrcnn', 0, 'segm'],
    ['synthwheels_maskrcnn', 0, 'bbox'],
    ['phonescratch_maskrcnn', 0, 'segm'],
  ];
  for (const [pair, ri, iou] of cases) {
    it(`${pair} ${iou}: ApResampler.run(counts) = summarize(accumulate({ imgCounts })) AP, AP50, AP75`, () => {
      const gt = CocoDataset.fromFile(sharedPath(PAIRS[pair].gt));
      const E = evaluated(gt, sharedPath(PAIRS[pair].results[ri]!), iou);
      const all = gt.getImgIds();
      const subsets = [all, all.filter((_, i) => i % 2 === 1)];
      const rng = new Rng(`${pair}/${iou}`);
      for (const ids of subsets) {
        const rs = E.apResampler(ids);
        expect(rs.imgIds).toEqual(ids);
        const ones = new Int32Array(ids.length).fill(1);
        const plain = E.summaryStats({ imgIds: ids });
        const got = rs.run(ones);
        for (let j = 0; j < 3; j++) expect(Math.abs(got[j]! - plain[j]!)).toBeLessThanOrEqual(1e-12);
        const counts = new Int32Array(ids.length);
        for (let b = 0; b < 6; b++) {
          resampleCounts(rng, counts);
          const ref = E.summaryStats({ imgCounts: new Map(ids.map((id, x) => [id, counts[x]!])) });
          const v = rs.run(counts);
          for (let j = 0; j < 3; j++) {
            if (ref[j]! < 0) expect(v[j]).toBe(-1);
            else expect(Math.abs(v[j]! - ref[j]!)).toBeLessThanOrEqual(1e-12);
          }
        }
      }
      expect(() => E.apResampler(all).run(new Int32Array(1))).toThrow(/1 counts for \d+ images/);
    });
  }

  it('several subsets at once (group ranges, images in any order) = each subset accumulated alone', () => {
    const gt = CocoDataset.fromFile(sharedPath(PAIRS.val2014_100.gt));
    const E = evaluated(gt, sharedPath(PAIRS.val2014_100.results[0]), 'bbox');
    const ids = gt.getImgIds().reverse();
    const groups = ids.map((id) => id % 4); // groups 0 … 3; group 5 has no image
    const ranges: [number, number][] = [[0, 3], [0, 0], [1, 1], [3, 3], [1, 3], [5, 5], [2, 5]];
    const rs = E.apResampler(ids, { groups, ranges });
    const rng = new Rng(8);
    const counts = new Int32Array(ids.length);
    for (let b = 0; b < 4; b++) {
      resampleCounts(rng, counts);
      const v = rs.run(counts);
      ranges.forEach(([g0, g1], s) => {
        const ref = E.summaryStats({ imgCounts: new Map(ids.map((id, x) => [id, groups[x]! >= g0 && groups[x]! <= g1 ? counts[x]! : 0])) });
        for (let j = 0; j < 3; j++) {
          if (ref[j]! < 0) expect(v[3 * s + j]).toBe(-1);
          else expect(Math.abs(v[3 * s + j]! - ref[j]!), `range ${s} stat ${j}`).toBeLessThanOrEqual(1e-12);
        }
      });
    }
    expect(() => E.apResampler([ids[0]!, ids[0]!])).toThrow(/listed twice/);
    expect(() => E.apResampler(ids, { groups: [1] })).toThrow(/1 groups for 100 images/);
    expect(() => E.apResampler(ids, { ranges: [[2, 1]] })).toThrow(/bad group range/);
    expect(() => E.apResampler([123456789])).toThrow(/image id 123456789 was not evaluated/);
  });
});

describe('bootstrap helpers', () => {
  it("quantiles are numpy's linear percentiles", () => {
    const x = Float64Array.of(1, 2, 3, 4);
    expect(quantileSorted(x, 0.25)).toBeCloseTo(1.75, 12); // np.percentile([1,2,3,4], 25)
    expect(quantileSorted(x, 0.975)).toBeCloseTo(3.925, 12);
    expect(quantileSorted(x, 0)).toBe(1);
    expect(quantileSorted(x, 1)).toBe(4);
    expect(quantileSorted([7], 0.3)).toBe(7);
    expect(Number.isNaN(quantileSorted([], 0.5))).toBe(true);
    const iv = percentileInterval([4, Number.NaN, 1, 3, 2], 0.5)!;
    expect([iv.lo, iv.hi, iv.valid]).toEqual([1.75, 3.25, 4]);
    expect(percentileInterval([Number.NaN])).toBeNull();
    // basic interval: [2θ̂ − q_hi, 2θ̂ − q_lo], with the bias mean − θ̂; clamped by bounds
    expect(basicInterval([4, 1, 3, 2], 2, 0.5)).toEqual({ lo: 0.75, hi: 2.25, valid: 4, bias: 0.5 });
    expect(interval([4, 1, 3, 2], 0.5, 'basic', 2, [1, 2])).toEqual({ lo: 1, hi: 2, valid: 4, bias: 0.5 });
    expect(interval([4, 1, 3, 2], 0.5, 'percentile', 2)).toEqual({ lo: 1.75, hi: 3.25, valid: 4, bias: 0.5 });
    expect(basicInterval([1, 2], Number.NaN)).toBeNull();
    expect(() => percentileInterval([1], 1)).toThrow(/confidence/);
  });

  it('resamples are seeded, sum to n and give an interval around the statistic', () => {
    const counts = resampleCounts(new Rng(1), new Int32Array(50));
    expect(counts.reduce((s, v) => s + v, 0)).toBe(50);
    const values = Float64Array.from({ length: 400 }, (_, i) => (i % 20) / 19); // mean 0.5
    const mean = (c: Int32Array, out: Float64Array) => {
      let s = 0;
      for (let i = 0; i < c.length; i++) s += c[i]! * values[i]!;
      out[0] = s / c.length;
      out[1] = Number.NaN; // never defined
    };
    const a = bootstrap(values.length, 2, mean, { replicates: 300, seed: 9 });
    const b = bootstrap(values.length, 2, mean, { replicates: 300, seed: 9 });
    const c = bootstrap(values.length, 2, mean, { replicates: 300, seed: 10 });
    expect(Buffer.from(a.samples.buffer).equals(Buffer.from(b.samples.buffer))).toBe(true);
    expect(Buffer.from(a.samples.buffer).equals(Buffer.from(c.samples.buffer))).toBe(false);
    const iv = a.intervals[0]!;
    expect(iv.valid).toBe(300);
    expect(iv.lo).toBeLessThan(0.5);
    expect(iv.hi).toBeGreaterThan(0.5);
    expect(iv.hi - iv.lo).toBeLessThan(0.15); // ≈ 2·1.96·σ/√n = 0.06
    expect(a.intervals[1]).toBeNull();
    expect(() => bootstrap(3, 1, mean, { replicates: 0, seed: 1 })).toThrow(/positive integer/);
    expect(() => bootstrap(3, 2, mean, { replicates: 5, seed: 1, method: 'basic' })).toThrow(/needs 2 estimates/);
    // basic intervals mirror the percentile ones around the estimate
    const est = Float64Array.of(0.5, Number.NaN);
    const d = bootstrap(values.length, 2, mean, { replicates: 300, seed: 9, method: 'basic', estimates: est });
    expect(d.intervals[0]!.lo).toBeCloseTo(2 * 0.5 - iv.hi, 12);
    expect(d.intervals[0]!.hi).toBeCloseTo(2 * 0.5 - iv.lo, 12);
    expect(Math.abs(d.intervals[0]!.bias!)).toBeLessThan(0.01); // the mean is unbiased
    expect(d.intervals[1]).toBeNull();
  });
});
