/**
 * COCO detection / instance-segmentation evaluation that reproduces pycocotools' `COCOeval` (2.0.x) number for
 * number, on typed arrays.
 *
 * What pycocotools does, and what this file keeps identical:
 *  - `evaluate()`: for every image × category the detections are sorted by score, highest first, with a stable sort
 *    (numpy `argsort(kind='mergesort')`: ties keep file order) and cut to `maxDets[-1]`; IoU = `mask.iou(dt, gt,
 *    iscrowd)` (boxes or RLEs; a crowd GT scores inter/area(dt)). Then, per area range: a GT is ignored when it is
 *    crowd (`iscrowd`; a JSON `ignore` key is overwritten by pycocotools' `_prepare` and has no effect) or its `area`
 *    field is outside the range, bounds inclusive (`area < lo or area > hi`: an area of exactly 32² is both small
 *    and medium); GTs are stably reordered non-ignored first; greedy matching per IoU threshold with threshold
 *    `min(t, 1 − 1e−10)`, a GT already matched (by a detection with id > 0) is skipped unless crowd, the scan stops
 *    at the first ignored GT once a non-ignored one is matched, the best IoU ≥ the running best wins; a matched
 *    detection inherits the GT's ignore flag; a detection whose match id is 0 — unmatched, *or matched to a GT with
 *    id 0* (pycocotools' `dtm == 0` test) — and whose own area is outside the range is ignored.
 *  - `accumulate()`: per category × area range × maxDets, the first `maxDet` detections of every image are
 *    concatenated in image order and stably sorted by score; cumulative TP / FP counts (a detection matched to GT
 *    id 0 is a false positive: `np.logical_and(dtm, …)`), recall = tp / #non-ignored GT, precision =
 *    tp / (tp + fp + np.spacing(1)), the right-to-left max envelope, `searchsorted(rc, recThrs, side='left')`;
 *    −1 where a setting has no non-ignored GT.
 *  - `summarize()`: the 12 stats as `_summarizeDets` (mean over entries > −1 with numpy's pairwise summation, −1 if
 *    none; the AP / AR that ask for maxDets = 100 are −1 when `maxDets` lacks 100; the others read `maxDets[0..2]`),
 *    printed in pycocotools' exact format (Python's round-half-even `{:0.3f}`).
 *
 * What is done differently, for speed only (results are identical, bit for bit): each annotation object is read once
 * into typed arrays (struct-of-arrays, grouped per image × category with a stable counting sort); RLEs are built once
 * per annotation and only for cells that have both GT and detections; each image × category is matched once per
 * *distinct* GT-ignore pattern instead of once per area range (the matching depends on the area range only through
 * that pattern); per-threshold results are kept only for detections whose cell has GT — the others are a false
 * positive or ignored at every threshold, one byte per area range; accumulate() walks each category's detections
 * in one global score order computed once (the stable sort of a subsequence is the subsequence of the stable sort,
 * for every area range, maxDets value and image subset), counts detections that are FP at every threshold once, and
 * evaluates precision only at true positives (between two true positives precision can only fall, so the
 * right-to-left max envelope and `searchsorted` need no other positions).
 *
 * One deliberate difference: `accumulate({ imgIds })` restricts to a subset of the evaluated images by id.
 * pycocotools' `accumulate(p)` with a changed `p.imgIds` indexes the stored records by *position* in the new list (a
 * long-standing bug); here the result equals a fresh `evaluate()` restricted to those images.
 *
 * For many subsets and resamples of one evaluation (the occlusion report's bins and bootstrap): `accumulate({
 * imgCounts })` accumulates a multiset of images, exactly as pycocotools would over an evaluation list with each
 * image's records repeated; `summaryStats(opts)` returns the 12 stats without allocating the arrays anew on every
 * call; `apResampler(imgIds, { groups, ranges })` re-accumulates only AP, AP50 and AP75 of image subsets under
 * repeat counts, fast.
 *
 * The parts (eval/cocoeval/): params.ts (Params, linspace), types.ts (records and options), evaluated.ts (the compact
 * per-detection results), evaluate.ts, accumulate.ts, summarize.ts (stats, numbers in Python's format, the
 * per-category table), resampler.ts (the bootstrap's `ApResampler`). This file is the facade: the `CocoEval` class
 * (pycocotools' object) and the public names.
 *
 * eval/ is pure TypeScript: no TF.js, no models.
 */

import type { CocoAnnotation, CocoDataset } from './coco.js';
import { AccumulateScratch, accumulateAll } from './cocoeval/accumulate.js';
import { cellIou, evaluateAll, imageIndices, range, record, sortByScore, uniqueSorted } from './cocoeval/evaluate.js';
import type { Evaluated } from './cocoeval/evaluated.js';
import { Params, type IouType } from './cocoeval/params.js';
import { ApResampler, type ApResamplerOptions } from './cocoeval/resampler.js';
import { summarizeDets, summarizeOne } from './cocoeval/summarize.js';
import type { AccumulateOptions, Accumulated, CategoryRow, CocoEvalOptions, EvalImg, Summary } from './cocoeval/types.js';

export { linspace, Params, type IouType } from './cocoeval/params.js';
export {
  STAT_NAMES,
  type AccumulateOptions,
  type Accumulated,
  type CategoryRow,
  type CocoEvalOptions,
  type EvalImg,
  type StatName,
  type Summary,
} from './cocoeval/types.js';
export { ApResampler, type ApResamplerOptions } from './cocoeval/resampler.js';
export { formatCategoryTable, formatFixed, numpySum } from './cocoeval/summarize.js';

export class CocoEval {
  readonly params: Params;
  readonly warnings: string[] = [];
  /** Set by accumulate(). */
  eval: Accumulated | undefined;
  /** Set by summarize(). */
  stats: number[] = [];
  private ev: Evaluated | undefined;
  private readonly scratch = new AccumulateScratch();
  private readonly onWarning?: (message: string) => void;

  constructor(
    readonly cocoGt: CocoDataset,
    readonly cocoDt: CocoDataset,
    iouType: IouType = 'segm',
    opts: CocoEvalOptions = {},
  ) {
    this.params = new Params(iouType);
    this.params.imgIds = [...cocoGt.getImgIds()].sort((a, b) => a - b);
    this.params.catIds = [...cocoGt.getCatIds()].sort((a, b) => a - b);
    this.onWarning = opts.onWarning;
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.onWarning?.(message);
  }

  /** Per image × category evaluation (pycocotools `evaluate()`); keeps compact per-detection results. */
  evaluate(): void {
    const p = this.params;
    p.imgIds = uniqueSorted(p.imgIds);
    if (p.useCats) p.catIds = uniqueSorted(p.catIds);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    for (const m of p.maxDets) {
      if (!Number.isInteger(m) || m < 0) throw new Error(`params.maxDets: ${m} is not a non-negative integer`);
    }
    if (p.maxDets.length === 0) throw new Error('params.maxDets is empty');
    for (const [lo, hi] of p.areaRng) {
      if (typeof lo !== 'number' || typeof hi !== 'number') throw new Error('params.areaRng: each range is [lo, hi]');
    }
    if (p.areaRngLbl.length !== p.areaRng.length) throw new Error('params.areaRngLbl must have one label per area range');
    this.eval = undefined;
    this.stats = [];
    this.ev = evaluateAll(this.cocoGt, this.cocoDt, p.clone(), (m) => this.warn(m));
  }

  private evaluated(): Evaluated {
    if (!this.ev) throw new Error('run evaluate() first');
    return this.ev;
  }

  /** The evaluated image ids, in evaluation order. */
  get evaluatedImgIds(): number[] {
    return this.evaluated().imgIds;
  }

  /**
   * pycocotools' `evalImgs` records for the given images (default: all), in pycocotools' order (category → area
   * range → image), without the `None` entries of image × category pairs that have neither GT nor detections.
   */
  evalImgs(imgIds?: Iterable<number>): EvalImg[] {
    const ev = this.evaluated();
    const I = ev.imgIds.length;
    const imgIdx = imgIds === undefined ? range(I) : imageIndices(ev, imgIds);
    const out: EvalImg[] = [];
    for (let k = 0; k < ev.catIds.length; k++) {
      for (let a = 0; a < ev.params.areaRng.length; a++) {
        for (const i of imgIdx) {
          const rec = record(ev, k, a, i);
          if (rec) out.push(rec);
        }
      }
    }
    return out;
  }

  /** The IoU matrix pycocotools computes for one image × category ([D × G], detections by score, GT in file order). */
  computeIoU(imgId: number, catId: number): { ious: Float64Array; dtIds: number[]; gtIds: number[] } {
    const ev = this.evaluated();
    const i = ev.imgIds.indexOf(imgId);
    const k = ev.catIds.indexOf(catId);
    if (i < 0) throw new Error(`image ${imgId} was not evaluated`);
    if (k < 0) throw new Error(`category ${catId} was not evaluated`);
    const c = k * ev.imgIds.length + i;
    const g0 = ev.gtStart[c]!;
    const g1 = ev.gtStart[c + 1]!;
    const d0 = ev.dtStart[c]!;
    const d1 = ev.dtStart[c + 1]!;
    const gts = this.cellAnnotations(this.cocoGt, ev, imgId, catId);
    const dts = sortByScore(this.cellAnnotations(this.cocoDt, ev, imgId, catId)).slice(0, d1 - d0);
    const ious = cellIou(ev.params.iouType, this.cocoGt, this.cocoDt, dts, gts);
    return { ious, dtIds: Array.from(ev.dtId.subarray(d0, d1)), gtIds: Array.from(ev.gtId.subarray(g0, g1)) };
  }

  private cellAnnotations(ds: CocoDataset, ev: Evaluated, imgId: number, catId: number): CocoAnnotation[] {
    const cats = ev.params.useCats ? [catId] : ev.params.catIds;
    const out: CocoAnnotation[] = [];
    for (const c of cats) out.push(...ds.annsByImageCat(imgId, c));
    return out;
  }

  /**
   * pycocotools `accumulate()`: precision [T,R,K,A,M], recall [T,K,A,M], scores [T,R,K,A,M]. `imgIds` restricts
   * to a subset of the evaluated images (equal to evaluating only those images); `catIds` selects (and orders) the
   * K axis among the evaluated categories. `imgCounts` (instead of `imgIds`) accumulates a multiset of images —
   * image id → repeat count, 0 or absent = left out — exactly as pycocotools' accumulate over an evaluation list
   * in which each image's records appear that many times in a row (a bootstrap resample); `imgIds` of the result
   * then lists each image as often as it counts.
   */
  accumulate(opts: AccumulateOptions = {}): Accumulated {
    const ev = this.evaluated();
    const acc = accumulateAll(ev, opts.imgIds, opts.catIds, opts.imgCounts, this.scratch, false);
    this.eval = acc;
    return acc;
  }

  /**
   * The 12 summary stats of `accumulate(opts)` — `summarize(accumulate(opts)).stats` — without keeping the arrays:
   * the accumulation goes into buffers reused from call to call, so summarising many image subsets of a large
   * evaluation (the bins of an occlusion report) allocates next to nothing. Does not change `eval` or `stats`.
   */
  summaryStats(opts: AccumulateOptions = {}): number[] {
    const acc = accumulateAll(this.evaluated(), opts.imgIds, opts.catIds, opts.imgCounts, this.scratch, true);
    return summarizeDets(acc).stats;
  }

  /**
   * A fast re-accumulation of AP, AP50 and AP75 for subsets of the given evaluated images (group ranges; default
   * one subset of them all) under many repeat-count vectors — the inner loop of a bootstrap; see {@link ApResampler}.
   */
  apResampler(imgIds: Iterable<number>, opts: ApResamplerOptions = {}): ApResampler {
    return new ApResampler(this.evaluated(), [...imgIds], opts);
  }

  /** pycocotools `summarize()` for bbox / segm: the 12 stats and the 12 printed lines. */
  summarize(acc: Accumulated | undefined = this.eval): Summary {
    if (!acc) throw new Error('run accumulate() first');
    const s = summarizeDets(acc);
    this.stats = s.stats;
    return s;
  }

  /**
   * Per-category figures from an accumulation: AP, AP50, AP75, APs/m/l and AR100 for each category, computed as
   * the summary stats restricted to that category (−1 where the category has no non-ignored GT). Names from GT.
   */
  perCategory(acc: Accumulated | undefined = this.eval): CategoryRow[] {
    if (!acc) throw new Error('run accumulate() first');
    const ev = this.evaluated();
    if (!ev.params.useCats) throw new Error('per-category figures need useCats = true');
    const imgSet = new Set(acc.imgIds);
    const rows: CategoryRow[] = [];
    for (let k = 0; k < acc.catIds.length; k++) {
      const id = acc.catIds[k]!;
      const cat = this.cocoGt.categories.get(id);
      const mk = (ap: boolean, iouThr: number | null, area: string, maxDets: number | undefined) =>
        summarizeOne(acc, ap, iouThr, area, maxDets, k).mean;
      const m2 = acc.maxDets[2];
      let gtCount = 0;
      let dtCount = 0;
      for (const imgId of imgSet) {
        gtCount += this.cocoGt.annsByImageCat(imgId, id).length;
        dtCount += this.cocoDt.annsByImageCat(imgId, id).length;
      }
      rows.push({
        id,
        name: cat?.name ?? String(id),
        gtCount,
        dtCount,
        AP: mk(true, null, 'all', 100),
        AP50: mk(true, 0.5, 'all', m2),
        AP75: mk(true, 0.75, 'all', m2),
        APs: mk(true, null, 'small', m2),
        APm: mk(true, null, 'medium', m2),
        APl: mk(true, null, 'large', m2),
        AR100: mk(false, null, 'all', m2),
      });
    }
    return rows;
  }
}
