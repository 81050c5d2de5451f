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
 * eval/ is pure TypeScript: no TF.js, no models.
 */
import type { CocoAnnotation, CocoDataset } from './coco.js';
import { bboxIou, rleIou } from './iou.js';
import type { Rle } from '../src/structures/rle.js';

export type IouType = 'bbox' | 'segm';

/** numpy `linspace(start, stop, num)` (endpoint=True) with numpy's exact float64 values: start + i·step, last = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) y[i] = step === 0 ? ((i / div) * delta) + start : i * step + start;
    y[num - 1] = stop;
  } else if (num === 1) {
    y[0] = start;
  }
  return y;
}

/** Evaluation parameters; defaults are pycocotools' `Params.setDetParams()`. */
export class Params {
  iouType: IouType;
  /** Image ids to evaluate; the constructor of `CocoEval` fills in every GT image (sorted). */
  imgIds: number[] = [];
  /** Category ids to evaluate; filled with every GT category (sorted). */
  catIds: number[] = [];
  /** IoU thresholds: linspace(.5, .95, 10), numpy's values (0.8999999999999999 included). */
  iouThrs: Float64Array = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
  /** Recall thresholds: linspace(0, 1, 101). */
  recThrs: Float64Array = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
  maxDets: number[] = [1, 10, 100];
  areaRng: [number, number][] = [
    [0, 1e10],
    [0, 32 * 32],
    [32 * 32, 96 * 96],
    [96 * 96, 1e10],
  ];
  areaRngLbl: string[] = ['all', 'small', 'medium', 'large'];
  /** false pools all categories (proposal-style evaluation); catIds then become [-1] in the outputs. */
  useCats = true;

  constructor(iouType: IouType = 'segm') {
    if (iouType !== 'bbox' && iouType !== 'segm') throw new Error(`iouType must be 'bbox' or 'segm', got '${String(iouType)}'`);
    this.iouType = iouType;
  }

  clone(): Params {
    const p = new Params(this.iouType);
    p.imgIds = [...this.imgIds];
    p.catIds = [...this.catIds];
    p.iouThrs = Float64Array.from(this.iouThrs);
    p.recThrs = Float64Array.from(this.recThrs);
    p.maxDets = [...this.maxDets];
    p.areaRng = this.areaRng.map(([a, b]) => [a, b] as [number, number]);
    p.areaRngLbl = [...this.areaRngLbl];
    p.useCats = this.useCats;
    return p;
  }

  toJSON(): Record<string, unknown> {
    return {
      iouType: this.iouType,
      useCats: this.useCats ? 1 : 0,
      imgIds: this.imgIds,
      catIds: this.catIds,
      iouThrs: Array.from(this.iouThrs),
      recThrs: Array.from(this.recThrs),
      maxDets: this.maxDets,
      areaRng: this.areaRng,
      areaRngLbl: this.areaRngLbl,
    };
  }
}

/** One per-image, per-category, per-area-range record, as pycocotools' `evalImgs` entries. */
export interface EvalImg {
  imageId: number;
  /** −1 when categories are pooled (useCats = false). */
  categoryId: number;
  aRng: [number, number];
  maxDet: number;
  /** Detection ids, highest score first (≤ maxDet). */
  dtIds: number[];
  /** GT ids, non-ignored first (stable). */
  gtIds: number[];
  /** [T × D] id of the matched GT, 0 if none. */
  dtMatches: Float64Array;
  /** [T × G] id of the matched detection, 0 if none. */
  gtMatches: Float64Array;
  dtScores: number[];
  /** [G] 1 = ignored in this area range. */
  gtIgnore: Uint8Array;
  /** [T × D] 1 = ignored. */
  dtIgnore: Uint8Array;
}

/** What `accumulate()` returns (pycocotools' `self.eval`). Arrays are C-order (row-major) typed arrays. */
export interface Accumulated {
  /** [T, R, K, A, M] */
  counts: [number, number, number, number, number];
  /** [T, R, K, A, M], −1 where there is no non-ignored GT. */
  precision: Float64Array;
  /** [T, K, A, M], −1 where there is no non-ignored GT. */
  recall: Float64Array;
  /** [T, R, K, A, M] score of the detection at each recall threshold (0 beyond the reached recall). */
  scores: Float64Array;
  /** The category ids along K ([-1] when categories are pooled). */
  catIds: number[];
  /** The image ids that were accumulated, in evaluation order. */
  imgIds: number[];
  iouThrs: Float64Array;
  recThrs: Float64Array;
  areaRng: [number, number][];
  areaRngLbl: string[];
  maxDets: number[];
}

export const STAT_NAMES = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;
export type StatName = (typeof STAT_NAMES)[number];

export interface Summary {
  /** The 12 numbers of pycocotools' `_summarizeDets` (−1 where undefined). */
  stats: number[];
  /** The 12 printed lines, exactly as pycocotools prints them (no trailing newline). */
  lines: string[];
}

export interface CategoryRow {
  id: number;
  name: string;
  /** Number of GT annotations of this category in the evaluated images (crowd included). */
  gtCount: number;
  /** Number of detections of this category in the evaluated images (before maxDets). */
  dtCount: number;
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
  AR100: number;
}

export interface AccumulateOptions {
  /** Accumulate only these evaluated images (each once; repeats are ignored). Default: all. */
  imgIds?: Iterable<number>;
  /** Select (and order) the K axis among the evaluated categories. */
  catIds?: Iterable<number>;
  /** A multiset of evaluated images: image id → non-negative integer repeat count. Excludes `imgIds`. */
  imgCounts?: ReadonlyMap<number, number>;
}

export interface CocoEvalOptions {
  /** Called for each warning (default: collected in `warnings` only). */
  onWarning?: (message: string) => void;
}

const EPS = 2.220446049250313e-16; // np.spacing(1)

/** The evaluate() results, struct-of-arrays. Cells are (category, image) pairs: cell = k·I + i. */
interface Evaluated {
  params: Params;
  /** Category axis (K): p.catIds, or [-1] when pooled. */
  catIds: number[];
  imgIds: number[];
  /** image id → position in imgIds */
  imgIndex: Map<number, number>;
  nCells: number;
  /** GT CSR over cells (original order within a cell). */
  gtStart: Int32Array;
  gtId: Float64Array;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  /** Detection CSR over cells: sorted by score (stable), cut to maxDets[-1]. */
  dtStart: Int32Array;
  dtId: Float64Array;
  dtScore: Float64Array;
  dtArea: Float64Array;
  /** Cells that have a pycocotools record (some GT or some detection before the cut). */
  cellHasRecord: Uint8Array;
  /** [A × NG] GT ignore flag per area range. */
  gtIgnore: Uint8Array;
  /** [A × nCells] number of non-ignored GT. */
  npig: Int32Array;
  /** [ND] cell of each detection. */
  dtCell: Int32Array;
  /** [ND] all detections by score, highest first, ties by index (= pycocotools' concatenation order). */
  dtOrder: Int32Array;
  /** [ND] slot of a detection in `match` / `state` (detections of cells with GT), −1 if none. */
  dtSlot: Int32Array;
  nSlots: number;
  /** [A × ND] KIND_FP / KIND_TP / KIND_IGNORED when a detection has that state at every threshold, else KIND_MIXED. */
  dtKind: Uint8Array;
  /** [A × nSlots × T] cell-local (original order) index of the matched GT, −1 if none. */
  match: Int32Array;
  /** [A × nSlots × T] FP / TP / IGNORED per threshold. */
  state: Uint8Array;
}

const FP = 0;
const TP = 1;
const IGNORED = 2;
/** ApResampler's state of a detection that is a true positive at every threshold */
const TP_ALWAYS = 3;
const KIND_FP = 0;
const KIND_TP = 1;
const KIND_IGNORED = 2;
const KIND_MIXED = 3;

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

export interface ApResamplerOptions {
  /** A group label per image (integers 0 … G−1, aligned with the image list; default all 0). */
  groups?: ArrayLike<number>;
  /** Subsets as inclusive group ranges [g0, g1] (default: one range over all groups). */
  ranges?: readonly (readonly [number, number])[];
}

/**
 * AP@[.5:.95], AP50 and AP75 — area range 'all', the last (largest) maxDets value, i.e. summary stats 0–2 with the
 * default parameters — of several subsets of a fixed list of evaluated images, re-accumulated under many image
 * repeat-count vectors: a bootstrap's inner loop. The images carry group labels (an occlusion bin) and a subset is
 * a range of groups (one bin; the levels r ≥ t; all). Built once with {@link CocoEval.apResampler}; `run(counts)`
 * then gives, for each range, what `summarize(accumulate({ imgCounts }))` gives (stats 0–2) for the counts of the
 * images in that range, up to the order of the floating-point sums (≤ 1e−12).
 *
 * Why it is fast: per category, the images' detections are listed once, in score order, without those ignored at
 * every threshold and without the false positives after the last detection that is a true positive at some
 * threshold (they change neither a precision at a true positive nor a recall). A run makes one pass over that list
 * for all ranges at once, adding each detection's image count to its group's running false-positive (or
 * all-threshold true-positive) total, and keeps only the detections that can be true positives, with prefix sums of
 * those totals over the groups (so any range's totals are one subtraction). Then, per range, one pass over the kept
 * detections of the range gives the precision and recall at every true positive for every IoU threshold, and the
 * mean precision at the recall thresholds is summed per true positive (each takes the thresholds between the
 * previous recall and its own) instead of per threshold.
 */
export class ApResampler {
  /** The images, as given; `run`'s counts are aligned with them. */
  readonly imgIds: readonly number[];
  /** The subsets (inclusive group ranges); `run` writes 3 values per range. */
  readonly ranges: readonly (readonly [number, number])[];
  private readonly G: number;
  private readonly T: number;
  private readonly recThrs: Float64Array;
  private readonly t50: number;
  private readonly t75: number;
  private readonly imgGroup: Int32Array;
  /** per category k (of the evaluation): detections in [catStart[k], catStart[k+1]) */
  private readonly catStart: Int32Array;
  private readonly detImg: Int32Array;
  private readonly detKind: Uint8Array;
  /** last index of the run of same-image, same-score detections that starts here (itself when alone) */
  private readonly detRunEnd: Int32Array;
  /** per category: index of its first not-always-FP detection in posState (÷ T) */
  private readonly catPos: Int32Array;
  /** per detection that is not a false positive at every threshold (in list order): its T states, contiguous */
  private readonly posState: Uint8Array;
  /** per category: non-ignored GT per image, CSR */
  private readonly gtStart: Int32Array;
  private readonly gtImg: Int32Array;
  private readonly gtCount: Int32Array;
  // scratch
  private cap = 0;
  private keptDet = new Int32Array(0);
  private keptW = new Float64Array(0);
  private keptGroup = new Int32Array(0);
  /** [kept × (G+1)] prefix sums over groups of the weighted all-threshold FP / TP totals before (FP) or up to (TP) */
  private keptFp = new Float64Array(0);
  private keptTp = new Float64Array(0);
  /** per IoU threshold: running TP / FP counts of the mixed detections, number of events */
  private readonly tpT: Float64Array;
  private readonly fpT: Float64Array;
  private readonly evN: Int32Array;
  private evRc = new Float64Array(0);
  private evPr = new Float64Array(0);
  private counts = new Int32Array(0);
  private readonly groupFp: Float64Array;
  private readonly groupTp: Float64Array;
  private readonly groupNp: Float64Array;

  /** @internal use {@link CocoEval.apResampler} */
  constructor(ev: Evaluated, imgIds: readonly number[], opts: ApResamplerOptions = {}) {
    const p = ev.params;
    const a = p.areaRngLbl.indexOf('all');
    if (a < 0) throw new Error("apResampler: needs an area range labelled 'all'");
    const T = p.iouThrs.length;
    this.T = T;
    this.recThrs = p.recThrs;
    this.t50 = p.iouThrs.indexOf(0.5);
    this.t75 = p.iouThrs.indexOf(0.75);
    this.tpT = new Float64Array(T);
    this.fpT = new Float64Array(T);
    this.evN = new Int32Array(T);
    this.imgIds = [...imgIds];
    const nImg = this.imgIds.length;
    const I = ev.imgIds.length;
    const K = ev.catIds.length;
    const ND = ev.dtId.length;
    // image position in the caller's list, per evaluated image
    const loc = new Int32Array(I).fill(-1);
    this.imgIds.forEach((id, x) => {
      const i = evaluatedIndex(ev, id);
      if (loc[i]! >= 0) throw new Error(`apResampler: image id ${id} is listed twice`);
      loc[i] = x;
    });
    const groups = opts.groups;
    if (groups !== undefined && groups.length !== nImg) throw new Error(`apResampler: ${groups.length} groups for ${nImg} images`);
    this.imgGroup = new Int32Array(nImg);
    let G = 1;
    for (let x = 0; x < nImg; x++) {
      const g = groups === undefined ? 0 : groups[x]!;
      if (!Number.isInteger(g) || g < 0) throw new Error(`apResampler: group ${g} of image ${this.imgIds[x]} is not a non-negative integer`);
      this.imgGroup[x] = g;
      if (g + 1 > G) G = g + 1;
    }
    this.ranges = (opts.ranges ?? [[0, G - 1]]).map(([g0, g1]) => {
      if (!Number.isInteger(g0) || !Number.isInteger(g1) || g0 < 0 || g1 < g0) throw new Error(`apResampler: bad group range [${g0}, ${g1}]`);
      return [g0, g1] as const;
    });
    for (const [, g1] of this.ranges) if (g1 + 1 > G) G = g1 + 1; // a range may name groups no image has
    this.G = G;
    this.groupFp = new Float64Array(G);
    this.groupTp = new Float64Array(G);
    this.groupNp = new Float64Array(G + 1);
    // per category, the images' detections by score (the global stable order), ignored ones left out
    const { dtCell, dtKind, dtScore, dtSlot, nSlots } = ev;
    const kindBase = a * ND;
    const count = new Int32Array(K + 1);
    for (let j = 0; j < ND; j++) {
      const c = dtCell[j]!;
      const k = (c / I) | 0;
      if (loc[c - k * I]! >= 0 && dtKind[kindBase + j] !== KIND_IGNORED) count[k + 1]!++;
    }
    for (let k = 0; k < K; k++) count[k + 1]! += count[k]!;
    const order = new Int32Array(count[K]!);
    const pos = count.slice(0, K);
    for (let x = 0; x < ND; x++) {
      const j = ev.dtOrder[x]!;
      const c = dtCell[j]!;
      const k = (c / I) | 0;
      if (loc[c - k * I]! >= 0 && dtKind[kindBase + j] !== KIND_IGNORED) order[pos[k]!++] = j;
    }
    // cut each category's list after its last detection that is a true positive at some threshold
    const catStart = new Int32Array(K + 1);
    let n = 0;
    for (let k = 0; k < K; k++) {
      let end = count[k + 1]!;
      while (end > count[k]! && dtKind[kindBase + order[end - 1]!] === KIND_FP) end--;
      n += end - count[k]!;
      catStart[k + 1] = n;
      pos[k] = end;
    }
    this.catStart = catStart;
    this.catPos = new Int32Array(K + 1);
    this.detImg = new Int32Array(n);
    this.detKind = new Uint8Array(n);
    this.detRunEnd = new Int32Array(n);
    const posStates: number[] = [];
    for (let k = 0; k < K; k++) {
      this.catPos[k] = posStates.length / T;
      let y = catStart[k]!;
      for (let x = count[k]!; x < pos[k]!; x++, y++) {
        const j = order[x]!;
        const c = dtCell[j]!;
        this.detImg[y] = loc[c - k * I]!;
        const kind = dtKind[kindBase + j]!;
        this.detKind[y] = kind;
        if (kind === KIND_FP) continue;
        const sb = (a * nSlots + dtSlot[j]!) * T;
        for (let t = 0; t < T; t++) posStates.push(kind === KIND_TP ? TP_ALWAYS : ev.state[sb + t]!);
      }
      // runs of one image's detections with equal scores (consecutive in the stable order)
      const first = count[k]! - catStart[k]!;
      for (let y0 = catStart[k]!; y0 < catStart[k + 1]!; ) {
        const j0 = order[first + y0]!;
        let y1 = y0;
        while (y1 + 1 < catStart[k + 1]!) {
          const j1 = order[first + y1 + 1]!;
          if (dtCell[j1] !== dtCell[j0] || dtScore[j1] !== dtScore[j0]) break;
          y1++;
        }
        for (let y = y0; y <= y1; y++) this.detRunEnd[y] = y1;
        y0 = y1 + 1;
      }
    }
    this.catPos[K] = posStates.length / T;
    this.posState = Uint8Array.from(posStates);
    // non-ignored GT per (category, image)
    const gtStart = new Int32Array(K + 1);
    const gImg: number[] = [];
    const gCnt: number[] = [];
    const imgOrder = Array.from({ length: I }, (_, i) => i).filter((i) => loc[i]! >= 0);
    for (let k = 0; k < K; k++) {
      for (const i of imgOrder) {
        const np = ev.npig[a * ev.nCells + k * I + i]!;
        if (np > 0) {
          gImg.push(loc[i]!);
          gCnt.push(np);
        }
      }
      gtStart[k + 1] = gImg.length;
    }
    this.gtStart = gtStart;
    this.gtImg = Int32Array.from(gImg);
    this.gtCount = Int32Array.from(gCnt);
  }

  private grow(need: number): void {
    if (this.cap >= need) return;
    const cap = Math.max(1024, need * 2);
    const G1 = this.G + 1;
    this.cap = cap;
    this.keptDet = new Int32Array(cap);
    this.keptW = new Float64Array(cap);
    this.keptGroup = new Int32Array(cap);
    this.keptFp = new Float64Array(cap * G1);
    this.keptTp = new Float64Array(cap * G1);
    this.evRc = new Float64Array(cap * this.T);
    this.evPr = new Float64Array(cap * this.T);
  }

  /**
   * Writes [AP, AP50, AP75] of each range (out[3·s …]) with image x of `imgIds` counted `counts[x]` times; −1 where
   * no category has non-ignored GT among the range's counted images, as in the summary.
   */
  run(counts: ArrayLike<number>, out: Float64Array = new Float64Array(3 * this.ranges.length)): Float64Array {
    const nImg = this.imgIds.length;
    const S = this.ranges.length;
    if (counts.length !== nImg) throw new Error(`ApResampler.run: ${counts.length} counts for ${nImg} images`);
    if (out.length < 3 * S) throw new Error(`ApResampler.run: out holds ${out.length} values, ${3 * S} needed`);
    if (this.counts.length !== nImg) this.counts = new Int32Array(nImg);
    const cnt = this.counts;
    let maxCount = 0;
    for (let x = 0; x < nImg; x++) {
      const c = counts[x]!;
      if (!(c >= 0 && c <= 0x7fffffff && c === Math.floor(c))) throw new Error(`ApResampler.run: counts[${x}] = ${c} is not a non-negative integer`);
      cnt[x] = c;
      if (c > maxCount) maxCount = c;
    }
    const { T, G, detImg, detKind, detRunEnd, posState, recThrs, imgGroup, groupFp, groupTp, groupNp } = this;
    const G1 = G + 1;
    const R = recThrs.length;
    const K = this.catStart.length - 1;
    const sums = new Float64Array(3 * S); // per range: Σ precision over (t, r, k); at t50; at t75
    const nCats = new Int32Array(S);
    for (let k = 0; k < K; k++) {
      // non-ignored GT per group, as prefix sums
      groupNp.fill(0);
      for (let g = this.gtStart[k]!; g < this.gtStart[k + 1]!; g++) {
        const x = this.gtImg[g]!;
        groupNp[imgGroup[x]! + 1]! += cnt[x]! * this.gtCount[g]!;
      }
      let any = false;
      for (let g = 0; g < G; g++) {
        if (groupNp[g + 1]! > 0) any = true;
        groupNp[g + 1]! += groupNp[g]!;
      }
      if (!any) continue; // no range has GT of this category: −1 entries, left out of the means
      for (let s = 0; s < S; s++) if (groupNp[this.ranges[s]![1] + 1]! - groupNp[this.ranges[s]![0]]! > 0) nCats[s]!++;
      const d0 = this.catStart[k]!;
      const d1 = this.catStart[k + 1]!;
      if (d0 === d1) continue; // no true positive possible: precision 0 everywhere
      const kPos = this.catPos[k]!;
      this.grow((this.catPos[k + 1]! - kPos) * Math.max(1, maxCount));
      const { keptDet, keptW, keptGroup, keptFp, keptTp, evRc, evPr, tpT, fpT, evN } = this;
      // pass 1, all ranges at once: per group, running weighted totals of the all-threshold FPs / TPs; keep the
      // detections that can be TPs with prefix sums (over groups) of those totals
      groupFp.fill(0);
      groupTp.fill(0);
      let nKept = 0;
      let pi = kPos; // position of the next not-always-FP detection
      const keep = (p: number, w: number, g: number) => {
        keptDet[nKept] = p;
        keptW[nKept] = w;
        keptGroup[nKept] = g;
        const o = nKept * G1;
        let f = 0;
        let tt = 0;
        keptFp[o] = 0;
        keptTp[o] = 0;
        for (let q = 0; q < G; q++) {
          f += groupFp[q]!;
          tt += groupTp[q]!;
          keptFp[o + q + 1] = f;
          keptTp[o + q + 1] = tt;
        }
        nKept++;
      };
      for (let x = d0; x < d1; x++) {
        const img = detImg[x]!;
        const w = cnt[img]!;
        const kind = detKind[x];
        if (w === 0) {
          if (kind !== KIND_FP) pi++;
          continue;
        }
        const g = imgGroup[img]!;
        if (w > 1 && detRunEnd[x]! > x) {
          // an image counted w times with several detections of one score: pycocotools' order is run, run, …
          const last = detRunEnd[x]!;
          const pi0 = pi;
          for (let rep = 0; rep < w; rep++) {
            pi = pi0;
            for (let y = x; y <= last; y++) {
              const ky = detKind[y];
              if (ky === KIND_FP) {
                groupFp[g]! += 1;
              } else {
                if (ky === KIND_TP) groupTp[g]! += 1;
                keep(pi++, 1, g);
              }
            }
          }
          x = last;
          continue;
        }
        if (kind === KIND_FP) {
          groupFp[g]! += w;
        } else {
          if (kind === KIND_TP) groupTp[g]! += w;
          keep(pi++, w, g);
        }
      }
      // pass 2, per range: precision and recall at each true positive, per IoU threshold (events of threshold t at
      // t·cap …), then per threshold the precision envelope summed over the recall thresholds
      const cap = this.cap;
      for (let s = 0; s < S; s++) {
        const g0 = this.ranges[s]![0];
        const g1 = this.ranges[s]![1];
        const np = groupNp[g1 + 1]! - groupNp[g0]!;
        if (np === 0) continue;
        tpT.fill(0);
        fpT.fill(0);
        evN.fill(0);
        for (let e = 0; e < nKept; e++) {
          const g = keptGroup[e]!;
          if (g < g0 || g > g1) continue;
          const w = keptW[e]!;
          const o = e * G1;
          const tpA = keptTp[o + g1 + 1]! - keptTp[o + g0]!;
          const fpA = keptFp[o + g1 + 1]! - keptFp[o + g0]!;
          const base = keptDet[e]! * T;
          for (let t = 0; t < T; t++) {
            const st = posState[base + t];
            if (st === FP) {
              fpT[t]! += w;
            } else if (st !== IGNORED) {
              // an all-threshold TP is already in tpA; a TP at this threshold only is counted here
              if (st === TP) tpT[t]! += w;
              const tpt = tpT[t]! + tpA;
              const ev = t * cap + evN[t]!++;
              evRc[ev] = tpt / np;
              evPr[ev] = tpt / (fpT[t]! + fpA + tpt + EPS);
            }
          }
        }
        for (let t = 0; t < T; t++) {
          // right to left: running max of precision; the recall thresholds in (previous recall, this recall] read it
          const e0 = t * cap;
          const nEv = evN[t]!;
          let env = 0;
          let sum = 0;
          let hi = nEv > 0 ? atMost(recThrs, evRc[e0 + nEv - 1]!) : 0;
          for (let e = e0 + nEv - 1; e >= e0; e--) {
            if (evPr[e]! > env) env = evPr[e]!;
            const lo = e > e0 ? atMost(recThrs, evRc[e - 1]!) : 0;
            sum += env * (hi - lo);
            hi = lo;
          }
          sums[3 * s]! += sum;
          if (t === this.t50) sums[3 * s + 1]! += sum;
          if (t === this.t75) sums[3 * s + 2]! += sum;
        }
      }
    }
    for (let s = 0; s < S; s++) {
      const nc = nCats[s]!;
      out[3 * s] = nc > 0 ? sums[3 * s]! / (nc * T * R) : -1;
      out[3 * s + 1] = nc > 0 && this.t50 >= 0 ? sums[3 * s + 1]! / (nc * R) : -1;
      out[3 * s + 2] = nc > 0 && this.t75 >= 0 ? sums[3 * s + 2]! / (nc * R) : -1;
    }
    return out;
  }
}

/** #{r : v[r] ≤ x} for ascending v, starting from the guess of an even grid on [0, 1] (recThrs). */
function atMost(v: Float64Array, x: number): number {
  const R = v.length;
  let g = Math.min(R, Math.max(0, Math.floor(x * (R - 1)) + 1));
  while (g > 0 && v[g - 1]! > x) g--;
  while (g < R && v[g]! <= x) g++;
  return g;
}

/** A per-category table as text: one row per category, −1 shown as "-". */
export function formatCategoryTable(rows: readonly CategoryRow[]): string {
  const header = ['category', 'id', 'gt', 'dets', 'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR100'];
  const f = (x: number) => (x > -1 ? formatFixed(x, 3) : '-');
  const cells = rows.map((r) => [r.name, String(r.id), String(r.gtCount), String(r.dtCount), f(r.AP), f(r.AP50),
    f(r.AP75), f(r.APs), f(r.APm), f(r.APl), f(r.AR100)]);
  const all = [header, ...cells];
  const w = header.map((_, j) => Math.max(...all.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// evaluate

function uniqueSorted(xs: readonly number[]): number[] {
  const s = [...new Set(xs)].sort((a, b) => a - b);
  return s;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Positions (in evaluation order, each once) of the given image ids; throws on an id that was not evaluated. */
function imageIndices(ev: Evaluated, imgIds: Iterable<number>): number[] {
  const sel = new Uint8Array(ev.imgIds.length);
  for (const id of imgIds) sel[evaluatedIndex(ev, id)] = 1;
  const idx: number[] = [];
  for (let i = 0; i < sel.length; i++) if (sel[i]) idx.push(i);
  return idx;
}

function evaluatedIndex(ev: Evaluated, id: number): number {
  const i = ev.imgIndex.get(id);
  if (i === undefined) throw new Error(`image id ${id} was not evaluated`);
  return i;
}

/** Stable sort by score, highest first; NaN last (numpy sorts NaN to the end of -score). */
function compareScoreDesc(sa: number, sb: number): number {
  if (sa > sb) return -1;
  if (sa < sb) return 1;
  if (sa === sb) return 0;
  const na = Number.isNaN(sa);
  const nb = Number.isNaN(sb);
  return na === nb ? 0 : na ? 1 : -1;
}

function sortByScore(anns: CocoAnnotation[]): CocoAnnotation[] {
  // Array.prototype.sort is stable (ES2019), like numpy's mergesort.
  return [...anns].sort((a, b) => compareScoreDesc(a.score as number, b.score as number));
}

/**
 * pycocotools' `loadAnns(getAnnIds(...))` looks annotations up by id: with duplicate ids every occurrence becomes
 * the last annotation with that id. Returns the annotation list to evaluate (the input when ids are unique).
 */
function resolveById(anns: readonly CocoAnnotation[], what: string, warn: (m: string) => void): readonly CocoAnnotation[] {
  // fast path: strictly increasing ids (loadRes numbers results 1..N) cannot repeat
  let increasing = true;
  for (let i = 1; i < anns.length && increasing; i++) increasing = anns[i]!.id > anns[i - 1]!.id;
  if (increasing) return anns;
  const byId = new Map<number, CocoAnnotation>();
  let dup = 0;
  for (const a of anns) {
    if (byId.has(a.id)) dup++;
    byId.set(a.id, a);
  }
  if (dup === 0) return anns;
  warn(`${what}: ${dup} annotation(s) share an id with another; like pycocotools (which looks annotations up by ` +
    'id), each occurrence evaluates as the last annotation with that id');
  return anns.map((a) => byId.get(a.id)!);
}

function cellIou(
  iouType: IouType,
  gtDs: CocoDataset,
  dtDs: CocoDataset,
  dts: readonly CocoAnnotation[],
  gts: readonly CocoAnnotation[],
): Float64Array {
  const crowd = Uint8Array.from(gts, (g) => (g.iscrowd ? 1 : 0));
  if (dts.length === 0 || gts.length === 0) return new Float64Array(0);
  if (iouType === 'bbox') {
    const d = new Float64Array(dts.length * 4);
    dts.forEach((a, j) => d.set(a.bbox, j * 4));
    const g = new Float64Array(gts.length * 4);
    gts.forEach((a, j) => g.set(a.bbox, j * 4));
    return bboxIou(d, g, crowd);
  }
  return rleIou(dts.map((a) => dtDs.rle(a)), gts.map((a) => gtDs.rle(a)), crowd);
}

/**
 * The fields evaluation needs from each annotation, read in one pass in file order (the objects are touched once;
 * everything after works on typed arrays). `key` is the annotation's fine cell (see groupCells), −1 when its image or
 * category is not evaluated.
 */
interface AnnColumns {
  key: Int32Array;
  id: Float64Array;
  area: Float64Array;
  score: Float64Array | undefined;
  crowd: Uint8Array;
  box: Float64Array | undefined;
}

function readColumns(
  anns: readonly CocoAnnotation[],
  imgIndex: Map<number, number>,
  catIndex: Map<number, number>,
  I: number,
  K: number,
  useCats: boolean,
  what: 'gt' | 'dt',
  withBox: boolean,
): AnnColumns {
  const n = anns.length;
  const key = new Int32Array(n);
  const id = new Float64Array(n);
  const area = new Float64Array(n);
  const score = what === 'dt' ? new Float64Array(n) : undefined;
  const crowd = new Uint8Array(n);
  const box = withBox ? new Float64Array(n * 4) : undefined;
  for (let j = 0; j < n; j++) {
    const a = anns[j]!;
    const i = imgIndex.get(a.image_id);
    const k = catIndex.get(a.category_id);
    if (i === undefined || k === undefined) {
      key[j] = -1;
      continue;
    }
    key[j] = useCats ? k * I + i : i * K + k;
    id[j] = a.id;
    area[j] = a.area;
    crowd[j] = a.iscrowd ? 1 : 0;
    if (score) {
      const s = a.score;
      if (typeof s !== 'number') throw new Error(`results: detection id ${a.id} (image ${a.image_id}): score: missing`);
      score[j] = s;
    }
    if (box) {
      const b = a.bbox;
      box[j * 4] = b[0];
      box[j * 4 + 1] = b[1];
      box[j * 4 + 2] = b[2];
      box[j * 4 + 3] = b[3];
    }
  }
  return { key, id, area, score, crowd, box };
}

/**
 * Group annotations into cells (counting sort, stable: file order within a cell). Returns for each cell its
 * annotations' indices. With pooled categories a cell is an image, its annotations ordered by category (in catIds
 * order) then file order, as pycocotools concatenates them.
 */
function groupCells(key: Int32Array, I: number, K: number, useCats: boolean): { start: Int32Array; order: Int32Array } {
  const n = key.length;
  const nFine = I * K;
  const counts = new Int32Array(nFine + 1);
  let kept = 0;
  for (let j = 0; j < n; j++) {
    const f = key[j]!;
    if (f < 0) continue;
    counts[f + 1]!++;
    kept++;
  }
  for (let c = 0; c < nFine; c++) counts[c + 1]! += counts[c]!;
  const order = new Int32Array(kept);
  const pos = counts.slice(0, nFine);
  for (let j = 0; j < n; j++) {
    const f = key[j]!;
    if (f >= 0) order[pos[f]!++] = j;
  }
  if (useCats) return { start: counts, order };
  const start = new Int32Array(I + 1);
  for (let i = 0; i <= I; i++) start[i] = counts[i * K]!;
  return { start, order };
}

/**
 * All detections ordered by score, highest first, ties by index (a stable sort), NaN last — without a comparator:
 * rank the distinct scores (native numeric sort + binary search), then a stable counting sort by rank.
 */
function scoreOrder(score: Float64Array): Int32Array {
  const n = score.length;
  const sorted = Float64Array.from(score).sort(); // ascending, NaN last
  let nNum = n;
  while (nNum > 0 && Number.isNaN(sorted[nNum - 1]!)) nNum--;
  const uniq = new Float64Array(nNum);
  let u = 0;
  for (let x = 0; x < nNum; x++) if (u === 0 || sorted[x] !== uniq[u - 1]) uniq[u++] = sorted[x]!;
  const rank = new Int32Array(n);
  const counts = new Int32Array(u + 2);
  for (let j = 0; j < n; j++) {
    const v = score[j]!;
    let r: number;
    if (Number.isNaN(v)) {
      r = u; // after every number
    } else {
      let lo = 0;
      let hi = u - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (uniq[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      r = u - 1 - lo; // descending
    }
    rank[j] = r;
    counts[r + 1]!++;
  }
  for (let r = 0; r <= u; r++) counts[r + 1]! += counts[r]!;
  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[counts[rank[j]!]!++] = j;
  return order;
}

function evaluateAll(gtDs: CocoDataset, dtDs: CocoDataset, p: Params, warn: (m: string) => void): Evaluated {
  const imgIds = p.imgIds;
  const catIds = p.useCats ? p.catIds : [-1];
  const I = imgIds.length;
  const Kp = p.catIds.length; // categories that feed the cells (pooled or not)
  const K = catIds.length;
  const T = p.iouThrs.length;
  const A = p.areaRng.length;
  const maxDet = p.maxDets[p.maxDets.length - 1]!;
  const imgIndex = new Map<number, number>();
  imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  p.catIds.forEach((id, k) => catIndex.set(id, k));
  const nCells = K * I;
  const isBbox = p.iouType === 'bbox';

  // --- read the annotations once; group GT and detections into cells
  const gtAnns = resolveById(gtDs.annotations, 'ground truth', warn);
  const dtAnns = resolveById(dtDs.annotations, 'results', warn);
  const gtCol = readColumns(gtAnns, imgIndex, catIndex, I, Kp, p.useCats, 'gt', isBbox);
  const dtCol = readColumns(dtAnns, imgIndex, catIndex, I, Kp, p.useCats, 'dt', isBbox);
  const gtGroups = groupCells(gtCol.key, I, Kp, p.useCats);
  const dtGroups = groupCells(dtCol.key, I, Kp, p.useCats);

  // GT in cell order (file order within a cell)
  const NG = gtGroups.order.length;
  const gtStart = gtGroups.start;
  const gtAnnIdx = gtGroups.order;
  const gtId = new Float64Array(NG);
  const gtArea = new Float64Array(NG);
  const gtCrowd = new Uint8Array(NG);
  let zeroIdGt = -1;
  let zeroIdCount = 0;
  for (let j = 0; j < NG; j++) {
    const q = gtAnnIdx[j]!;
    gtId[j] = gtCol.id[q]!;
    gtArea[j] = gtCol.area[q]!;
    gtCrowd[j] = gtCol.crowd[q]!;
    if (gtId[j] === 0) {
      zeroIdCount++;
      if (zeroIdGt < 0) zeroIdGt = q;
    }
  }
  if (zeroIdGt >= 0) {
    const z = gtAnns[zeroIdGt]!;
    warn(`ground truth annotation id 0 (image ${z.image_id}, category ${z.category_id}` +
      `${zeroIdCount > 1 ? `; ${zeroIdCount} such annotations` : ''}): pycocotools stores "no match" as id 0, so a ` +
      'detection matched to this GT counts as a false positive (and blocks the GT) — reproduced here; number GT ' +
      'ids from 1 to avoid it');
  }

  // detections: per cell, stable sort by score (highest first) and cut to maxDets[-1]
  const scoreOf = dtCol.score!;
  const cellHasRecord = new Uint8Array(nCells);
  const dtStart = new Int32Array(nCells + 1);
  for (let c = 0; c < nCells; c++) {
    const nd = dtGroups.start[c + 1]! - dtGroups.start[c]!;
    const ng = gtStart[c + 1]! - gtStart[c]!;
    if (nd > 0 || ng > 0) cellHasRecord[c] = 1;
    dtStart[c + 1] = dtStart[c]! + Math.min(nd, maxDet);
  }
  const ND = dtStart[nCells]!;
  const dtAnnIdx = new Int32Array(ND);
  const dtCell = new Int32Array(ND);
  {
    let tmp = new Int32Array(16);
    const order = dtGroups.order;
    for (let c = 0; c < nCells; c++) {
      const s0 = dtGroups.start[c]!;
      const n = dtGroups.start[c + 1]! - s0;
      if (n === 0) continue;
      if (tmp.length < n) tmp = new Int32Array(n * 2);
      const idx = tmp;
      for (let j = 0; j < n; j++) idx[j] = order[s0 + j]!;
      if (n <= 32) {
        // insertion sort: stable
        for (let x = 1; x < n; x++) {
          const v = idx[x]!;
          const sv = scoreOf[v]!;
          let y = x - 1;
          while (y >= 0 && compareScoreDesc(scoreOf[idx[y]!]!, sv) > 0) {
            idx[y + 1] = idx[y]!;
            y--;
          }
          idx[y + 1] = v;
        }
      } else {
        // ties keep the cell's order (file order; category then file order when categories are pooled)
        const pos = Array.from({ length: n }, (_, x) => x);
        const cellIdx = idx.slice(0, n);
        pos.sort((u, v) => compareScoreDesc(scoreOf[cellIdx[u]!]!, scoreOf[cellIdx[v]!]!) || u - v);
        for (let x = 0; x < n; x++) idx[x] = cellIdx[pos[x]!]!;
      }
      const o = dtStart[c]!;
      const m = dtStart[c + 1]! - o;
      for (let j = 0; j < m; j++) {
        dtAnnIdx[o + j] = idx[j]!;
        dtCell[o + j] = c;
      }
    }
  }
  const dtId = new Float64Array(ND);
  const dtScore = new Float64Array(ND);
  const dtArea = new Float64Array(ND);
  for (let j = 0; j < ND; j++) {
    const q = dtAnnIdx[j]!;
    dtId[j] = dtCol.id[q]!;
    dtScore[j] = scoreOf[q]!;
    dtArea[j] = dtCol.area[q]!;
  }
  const dtOrder = scoreOrder(dtScore);

  // --- detections that can match (their cell has GT) get a slot in the per-threshold arrays
  const dtSlot = new Int32Array(ND).fill(-1);
  let nSlots = 0;
  for (let c = 0; c < nCells; c++) {
    if (gtStart[c + 1] === gtStart[c]) continue;
    for (let j = dtStart[c]!; j < dtStart[c + 1]!; j++) dtSlot[j] = nSlots++;
  }

  // --- geometry for IoU, once per annotation that can match
  let gtBox: Float64Array | undefined;
  let dtBox: Float64Array | undefined;
  let gtRle: Rle[] | undefined;
  let dtRle: Rle[] | undefined;
  if (isBbox) {
    gtBox = new Float64Array(NG * 4);
    for (let j = 0; j < NG; j++) gtBox.set(gtCol.box!.subarray(gtAnnIdx[j]! * 4, gtAnnIdx[j]! * 4 + 4), j * 4);
    dtBox = new Float64Array(nSlots * 4);
    for (let j = 0; j < ND; j++) {
      const sl = dtSlot[j]!;
      if (sl >= 0) dtBox.set(dtCol.box!.subarray(dtAnnIdx[j]! * 4, dtAnnIdx[j]! * 4 + 4), sl * 4);
    }
  } else {
    gtRle = new Array<Rle>(NG);
    dtRle = new Array<Rle>(nSlots);
    for (let c = 0; c < nCells; c++) {
      const g0 = gtStart[c]!;
      const g1 = gtStart[c + 1]!;
      const d0 = dtStart[c]!;
      const d1 = dtStart[c + 1]!;
      if (g0 === g1 || d0 === d1) continue;
      for (let j = g0; j < g1; j++) gtRle[j] = gtDs.rle(gtAnns[gtAnnIdx[j]!]!);
      for (let j = d0; j < d1; j++) dtRle[dtSlot[j]!] = dtDs.rle(dtAnns[dtAnnIdx[j]!]!);
    }
  }

  // --- per cell: IoU, then matching per distinct GT-ignore pattern
  const gtIgnore = new Uint8Array(A * NG);
  const npig = new Int32Array(A * nCells);
  const dtKind = new Uint8Array(A * ND);
  const match = new Int32Array(A * nSlots * T);
  const state = new Uint8Array(A * nSlots * T);
  const thr = Float64Array.from(p.iouThrs, (t) => Math.min(t, 1 - 1e-10));
  let scratch = new Scratch(16, T);
  const aLo = Float64Array.from(p.areaRng, (r) => r[0]);
  const aHi = Float64Array.from(p.areaRng, (r) => r[1]);
  const patternOf = new Int32Array(A);

  for (let c = 0; c < nCells; c++) {
    const g0 = gtStart[c]!;
    const G = gtStart[c + 1]! - g0;
    const d0 = dtStart[c]!;
    const D = dtStart[c + 1]! - d0;
    if (G === 0 && D === 0) continue;
    // GT ignore flags per area range
    for (let a = 0; a < A; a++) {
      const lo = aLo[a]!;
      const hi = aHi[a]!;
      const base = a * NG + g0;
      let n = 0;
      for (let j = 0; j < G; j++) {
        const ar = gtArea[g0 + j]!;
        const ig = gtCrowd[g0 + j]! || ar < lo || ar > hi ? 1 : 0;
        gtIgnore[base + j] = ig;
        n += 1 - ig;
      }
      npig[a * nCells + c] = n;
    }
    if (D === 0) continue;
    if (G === 0) {
      // nothing to match: a detection is a false positive, or ignored when its area is out of range
      for (let a = 0; a < A; a++) {
        const lo = aLo[a]!;
        const hi = aHi[a]!;
        const base = a * ND + d0;
        for (let d = 0; d < D; d++) {
          const ar = dtArea[d0 + d]!;
          dtKind[base + d] = ar < lo || ar > hi ? KIND_IGNORED : KIND_FP;
        }
      }
      continue;
    }
    const s0 = dtSlot[d0]!;
    const ious = isBbox
      ? bboxIou(dtBox!.subarray(s0 * 4, (s0 + D) * 4), gtBox!.subarray(g0 * 4, (g0 + G) * 4), gtCrowd.subarray(g0, g0 + G))
      : rleIou(dtRle!.slice(s0, s0 + D), gtRle!.slice(g0, g0 + G), gtCrowd.subarray(g0, g0 + G));
    if (ious.length !== D * G) throw new Error(`IoU matrix has ${ious.length} entries, expected ${D}×${G}`);
    if (scratch.capacity < G) scratch = new Scratch(G * 2, T);
    for (let a = 0; a < A; a++) {
      // the matching depends on the area range only through the GT-ignore pattern: reuse an earlier range's
      let same = -1;
      for (let b = 0; b < a && same < 0; b++) {
        if (patternOf[b] !== b) continue;
        let eq = true;
        for (let j = 0; j < G && eq; j++) eq = gtIgnore[b * NG + g0 + j] === gtIgnore[a * NG + g0 + j];
        if (eq) same = b;
      }
      patternOf[a] = same < 0 ? a : same;
      const mBase = (a * nSlots + s0) * T;
      if (same >= 0) {
        match.copyWithin(mBase, (same * nSlots + s0) * T, (same * nSlots + s0 + D) * T);
      } else {
        matchCell(D, G, ious, gtIgnore, a * NG + g0, gtCrowd, g0, dtId, d0, thr, match, mBase, scratch);
      }
      // per-threshold states
      const lo = aLo[a]!;
      const hi = aHi[a]!;
      const igBase = a * NG + g0;
      for (let d = 0; d < D; d++) {
        const ar = dtArea[d0 + d]!;
        const out = ar < lo || ar > hi;
        const base = mBase + d * T;
        let all = -1;
        for (let t = 0; t < T; t++) {
          const m = match[base + t]!;
          let st: number;
          if (m < 0) {
            st = out ? IGNORED : FP;
          } else {
            const matchedId = gtId[g0 + m]!;
            // pycocotools: dtIgnore = gtIgnore[m] or (dtm == 0 and out of range); a TP needs dtm != 0
            const ig = gtIgnore[igBase + m] === 1 || (matchedId === 0 && out);
            st = ig ? IGNORED : matchedId !== 0 ? TP : FP;
          }
          state[base + t] = st;
          all = t === 0 ? st : all === st ? all : -2;
        }
        dtKind[a * ND + d0 + d] = all === FP ? KIND_FP : all === IGNORED ? KIND_IGNORED : all === TP ? KIND_TP : KIND_MIXED;
      }
    }
  }

  return {
    params: p,
    catIds,
    imgIds,
    imgIndex,
    nCells,
    gtStart,
    gtId,
    gtArea,
    gtCrowd,
    dtStart,
    dtId,
    dtScore,
    dtArea,
    dtCell,
    dtOrder,
    dtSlot,
    nSlots,
    cellHasRecord,
    gtIgnore,
    npig,
    dtKind,
    match,
    state,
  };
}

class Scratch {
  readonly order: Int32Array;
  readonly igS: Uint8Array;
  readonly crowdS: Uint8Array;
  readonly gtm: Float64Array;
  constructor(
    readonly capacity: number,
    T: number,
  ) {
    this.order = new Int32Array(capacity);
    this.igS = new Uint8Array(capacity);
    this.crowdS = new Uint8Array(capacity);
    this.gtm = new Float64Array(capacity * T);
  }
}

/**
 * pycocotools' matching for one image × category × area range. `ious` is [D × G] in original GT order; GTs are
 * visited non-ignored first (stable). Writes, per detection and threshold, the original index of the matched GT
 * (or −1) into `out` ([D × T]).
 */
function matchCell(
  D: number,
  G: number,
  ious: Float64Array,
  ig: Uint8Array,
  igOff: number,
  crowd: Uint8Array,
  crowdOff: number,
  dtIds: Float64Array,
  dtOff: number,
  thr: Float64Array,
  out: Int32Array,
  outOff: number,
  s: Scratch,
): void {
  const T = thr.length;
  const { order, igS, crowdS, gtm } = s;
  // stable argsort of the ignore flags: non-ignored first
  let n = 0;
  for (let j = 0; j < G; j++) if (!ig[igOff + j]) order[n++] = j;
  for (let j = 0; j < G; j++) if (ig[igOff + j]) order[n++] = j;
  for (let x = 0; x < G; x++) {
    igS[x] = ig[igOff + order[x]!]!;
    crowdS[x] = crowd[crowdOff + order[x]!]!;
  }
  gtm.fill(0, 0, T * G);
  for (let t = 0; t < T; t++) {
    const tg = t * G;
    for (let d = 0; d < D; d++) {
      let iou = thr[t]!;
      let m = -1;
      const row = d * G;
      for (let x = 0; x < G; x++) {
        // already matched (by a detection with id > 0) and not a crowd GT: skip
        if (gtm[tg + x]! > 0 && !crowdS[x]) continue;
        // matched to a regular GT and reached the ignored ones: stop
        if (m > -1 && igS[m] === 0 && igS[x] === 1) break;
        const v = ious[row + order[x]!]!;
        if (v < iou) continue;
        iou = v;
        m = x;
      }
      if (m === -1) {
        out[outOff + d * T + t] = -1;
        continue;
      }
      out[outOff + d * T + t] = order[m]!;
      gtm[tg + m] = dtIds[dtOff + d]!;
    }
  }
}

/** Rebuild pycocotools' record for (category k, area a, image i), or undefined for pycocotools' None. */
function record(ev: Evaluated, k: number, a: number, i: number): EvalImg | undefined {
  const I = ev.imgIds.length;
  const c = k * I + i;
  if (!ev.cellHasRecord[c]) return undefined;
  const T = ev.params.iouThrs.length;
  const NG = ev.gtId.length;
  const g0 = ev.gtStart[c]!;
  const G = ev.gtStart[c + 1]! - g0;
  const d0 = ev.dtStart[c]!;
  const D = ev.dtStart[c + 1]! - d0;
  const ig = ev.gtIgnore.subarray(a * NG + g0, a * NG + g0 + G);
  const order: number[] = [];
  for (let j = 0; j < G; j++) if (!ig[j]) order.push(j);
  for (let j = 0; j < G; j++) if (ig[j]) order.push(j);
  const pos = new Int32Array(G);
  order.forEach((j, x) => (pos[j] = x));
  const [lo, hi] = ev.params.areaRng[a]!;
  const dtMatches = new Float64Array(T * D);
  const gtMatches = new Float64Array(T * G);
  const dtIgnore = new Uint8Array(T * D);
  for (let d = 0; d < D; d++) {
    const slot = ev.dtSlot[d0 + d]!;
    const base = (a * ev.nSlots + slot) * T;
    const ar = ev.dtArea[d0 + d]!;
    const out = ar < lo || ar > hi;
    for (let t = 0; t < T; t++) {
      const m = slot < 0 ? -1 : ev.match[base + t]!;
      let dtm = 0;
      let dig = 0;
      if (m >= 0) {
        dtm = ev.gtId[g0 + m]!;
        dig = ig[m]!;
        gtMatches[t * G + pos[m]!] = ev.dtId[d0 + d]!;
      }
      if (dtm === 0 && out) dig = 1;
      dtMatches[t * D + d] = dtm;
      dtIgnore[t * D + d] = dig;
    }
  }
  return {
    imageId: ev.imgIds[i]!,
    categoryId: ev.catIds[k]!,
    aRng: [lo, hi],
    maxDet: ev.params.maxDets[ev.params.maxDets.length - 1]!,
    dtIds: Array.from(ev.dtId.subarray(d0, d0 + D)),
    gtIds: order.map((j) => ev.gtId[g0 + j]!),
    dtMatches,
    gtMatches,
    dtScores: Array.from(ev.dtScore.subarray(d0, d0 + D)),
    gtIgnore: Uint8Array.from(order, (j) => ig[j]!),
    dtIgnore,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// accumulate

/**
 * Repeat count per evaluated image position (0 = not accumulated) from `imgIds` (each listed image once) or
 * `imgCounts` (image id → how many times its records are concatenated).
 */
function imageWeights(ev: Evaluated, imgIds?: Iterable<number>, imgCounts?: ReadonlyMap<number, number>): Float64Array {
  const I = ev.imgIds.length;
  const w = new Float64Array(I);
  if (imgCounts !== undefined) {
    if (imgIds !== undefined) throw new Error('accumulate: give imgIds or imgCounts, not both');
    for (const [id, n] of imgCounts) {
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`accumulate: imgCounts: image ${id}: count ${n} is not a non-negative integer`);
      w[evaluatedIndex(ev, id)] = n;
    }
  } else if (imgIds === undefined) {
    w.fill(1);
  } else {
    for (const i of imageIndices(ev, imgIds)) w[i] = 1;
  }
  return w;
}

/** Grow-only working buffers of accumulate, kept per CocoEval (no allocation per call on repeated accumulations). */
class AccumulateScratch {
  T = 0;
  cap = 0;
  byCat = new Int32Array(0);
  sel = new Int32Array(0);
  evPos = new Int32Array(0);
  evRc = new Float64Array(0);
  evPr = new Float64Array(0);
  /** outputs reused by summaryStats() */
  precision = new Float64Array(0);
  recall = new Float64Array(0);
  scores = new Float64Array(0);
}

function accumulateAll(
  ev: Evaluated,
  imgIds: Iterable<number> | undefined,
  catIdsSel: Iterable<number> | undefined,
  imgCounts: ReadonlyMap<number, number> | undefined,
  scratch: AccumulateScratch,
  reuseOutput: boolean,
): Accumulated {
  const p = ev.params;
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const I = ev.imgIds.length;
  const ND = ev.dtId.length;
  const nCells = ev.nCells;
  const imgW = imageWeights(ev, imgIds, imgCounts);
  const imgIdx: number[] = [];
  let repeated = false;
  for (let i = 0; i < I; i++) {
    if (imgW[i]! > 0) imgIdx.push(i);
    if (imgW[i]! > 1) repeated = true;
  }
  let kIdx: number[];
  if (catIdsSel === undefined) {
    kIdx = range(ev.catIds.length);
  } else {
    kIdx = [];
    for (const id of catIdsSel) {
      const k = ev.catIds.indexOf(id);
      if (k < 0) throw new Error(`category id ${id} was not evaluated`);
      kIdx.push(k);
    }
  }
  const K = kIdx.length;
  const sc = scratch;
  let precision: Float64Array;
  let recall: Float64Array;
  let scores: Float64Array;
  if (reuseOutput) {
    if (sc.precision.length !== T * R * K * A * M) sc.precision = new Float64Array(T * R * K * A * M);
    if (sc.recall.length !== T * K * A * M) sc.recall = new Float64Array(T * K * A * M);
    if (sc.scores.length !== T * R * K * A * M) sc.scores = new Float64Array(T * R * K * A * M);
    precision = sc.precision.fill(-1);
    recall = sc.recall.fill(-1);
    scores = sc.scores.fill(-1);
  } else {
    precision = new Float64Array(T * R * K * A * M).fill(-1);
    recall = new Float64Array(T * K * A * M).fill(-1);
    scores = new Float64Array(T * R * K * A * M).fill(-1);
  }
  const recThrs = p.recThrs;
  const { dtKind, state, dtScore, dtStart, dtCell, dtSlot, npig, nSlots } = ev;

  // Each category's detections over the selected images, by score: the global stable order restricted to them is
  // the stable sort of pycocotools' concatenation (images in order, each image's detections by score).
  const Kev = ev.catIds.length;
  const imgSel = imgW;
  const kSel = new Uint8Array(Kev);
  for (const k of kIdx) kSel[k] = 1;
  const bucketStart = new Int32Array(Kev + 1);
  for (let j = 0; j < ND; j++) {
    const c = dtCell[j]!;
    const k = (c / I) | 0;
    if (kSel[k] && imgSel[c - k * I]) bucketStart[k + 1]!++;
  }
  for (let k = 0; k < Kev; k++) bucketStart[k + 1]! += bucketStart[k]!;
  if (sc.byCat.length < bucketStart[Kev]!) sc.byCat = new Int32Array(bucketStart[Kev]!);
  const byCat = sc.byCat;
  {
    const pos = bucketStart.slice(0, Kev);
    for (let x = 0; x < ND; x++) {
      const j = ev.dtOrder[x]!;
      const c = dtCell[j]!;
      const k = (c / I) | 0;
      if (kSel[k] && imgSel[c - k * I]) byCat[pos[k]!++] = j;
    }
  }

  // selection buffer and, per threshold, the true-positive events: position in the selection, recall and
  // precision there (grow-only buffers kept in the scratch between calls)
  if (sc.T !== T) {
    sc.T = T;
    sc.cap = 0;
  }
  let cap = sc.cap;
  let { sel, evPos, evRc, evPr } = sc;
  const evN = new Int32Array(T);
  const tp = new Float64Array(T);
  const fp = new Float64Array(T);

  for (let ko = 0; ko < K; ko++) {
    const k = kIdx[ko]!;
    const b0 = bucketStart[k]!;
    const n = bucketStart[k + 1]! - b0;
    // capacity for the true-positive events: one per detection, or per copy when images repeat
    let need = n;
    if (repeated) {
      need = 0;
      for (let x = 0; x < n; x++) need += imgW[dtCell[byCat[b0 + x]!]! - k * I]!;
    }
    if (cap < need) {
      cap = Math.max(1024, need * 2);
      sel = new Int32Array(cap);
      evPos = new Int32Array(T * cap);
      evRc = new Float64Array(T * cap);
      evPr = new Float64Array(T * cap);
      Object.assign(sc, { cap, sel, evPos, evRc, evPr });
    }
    for (let mi = 0; mi < M; mi++) {
      const maxDet = p.maxDets[mi]!;
      let nd = 0;
      for (let x = 0; x < n; x++) {
        const j = byCat[b0 + x]!;
        if (j - dtStart[dtCell[j]!]! < maxDet) sel[nd++] = j;
      }
      for (let a = 0; a < A; a++) {
        let np = 0;
        for (const i of imgIdx) np += imgW[i]! * npig[a * nCells + k * I + i]!;
        if (np === 0) continue; // precision / recall stay −1
        // cumulative counts (pycocotools' cumsum of tps / fps); a detection that is a FP (or TP) at every threshold
        // is counted once in fpAll (tpAll)
        let fpAll = 0;
        let tpAll = 0;
        tp.fill(0);
        fp.fill(0);
        evN.fill(0);
        const kindBase = a * ND;
        const kOff = k * I;
        for (let x = 0; x < nd; x++) {
          // An image counted w times contributes w copies of its detections. Copies of one detection are adjacent
          // in pycocotools' stable sort, so they act as one detection of weight w — unless the image has several
          // detections with this score: then the sort orders them run, run, …, run (the image's records
          // concatenated w times), and the run is replayed w times.
          let w = imgW[dtCell[sel[x]!]! - kOff]!;
          let last = x;
          let reps = 1;
          if (repeated && w > 1) {
            const c = dtCell[sel[x]!]!;
            const sc = dtScore[sel[x]!]!;
            while (last + 1 < nd && dtCell[sel[last + 1]!] === c && dtScore[sel[last + 1]!] === sc) last++;
            if (last > x) {
              reps = w;
              w = 1;
            }
          }
          for (let rep = 0; rep < reps; rep++) {
            for (let y = x; y <= last; y++) {
              const j = sel[y]!;
              const kind = dtKind[kindBase + j];
              if (kind === KIND_FP) {
                fpAll += w;
              } else if (kind === KIND_IGNORED) {
                // neither
              } else if (kind === KIND_TP) {
                tpAll += w;
                for (let t = 0; t < T; t++) {
                  const tpt = tp[t]! + tpAll;
                  const e = t * cap + evN[t]!++;
                  evPos[e] = y;
                  evRc[e] = tpt / np;
                  evPr[e] = tpt / (fp[t]! + fpAll + tpt + EPS);
                }
              } else {
                const sb = (a * nSlots + dtSlot[j]!) * T;
                for (let t = 0; t < T; t++) {
                  const st = state[sb + t];
                  if (st === TP) {
                    const tpt = (tp[t]! += w) + tpAll;
                    const e = t * cap + evN[t]!++;
                    evPos[e] = y;
                    evRc[e] = tpt / np;
                    evPr[e] = tpt / (fp[t]! + fpAll + tpt + EPS);
                  } else if (st === FP) {
                    fp[t]! += w;
                  }
                }
              }
            }
          }
          x = last;
        }
        for (let t = 0; t < T; t++) {
          const e0 = t * cap;
          const N = evN[t]!;
          recall[((t * K + ko) * A + a) * M + mi] = nd ? (tp[t]! + tpAll) / np : 0;
          // precision envelope (right-to-left max). Between true positives precision only falls, so the max over
          // all positions ≥ a true positive's is the max over the true positives from there on.
          for (let e = e0 + N - 1; e > e0; e--) {
            if (evPr[e]! > evPr[e - 1]!) evPr[e - 1] = evPr[e]!;
          }
          // searchsorted(rc, recThrs, side='left'): the first position whose recall reaches the threshold — a true
          // positive, or position 0 when rc[0] already does; thresholds past the reached recall keep 0.
          const rc0 = N > 0 && evPos[e0] === 0 ? evRc[e0]! : 0;
          let e = e0;
          let r = 0;
          for (; r < R && nd > 0; r++) {
            const v = recThrs[r]!;
            let q: number;
            let pi: number;
            if (rc0 >= v) {
              pi = 0;
              q = N > 0 ? evPr[e0]! : 0;
            } else {
              while (e < e0 + N && evRc[e]! < v) e++;
              if (e >= e0 + N) break;
              pi = evPos[e]!;
              q = evPr[e]!;
            }
            const out = (((t * R + r) * K + ko) * A + a) * M + mi;
            precision[out] = q;
            scores[out] = dtScore[sel[pi]!]!;
          }
          for (; r < R; r++) {
            const out = (((t * R + r) * K + ko) * A + a) * M + mi;
            precision[out] = 0;
            scores[out] = 0;
          }
        }
      }
    }
  }
  return {
    counts: [T, R, K, A, M],
    precision,
    recall,
    scores,
    catIds: kIdx.map((k) => ev.catIds[k]!),
    imgIds: repeated ? imgIdx.flatMap((i) => new Array<number>(imgW[i]!).fill(ev.imgIds[i]!)) : imgIdx.map((i) => ev.imgIds[i]!),
    iouThrs: p.iouThrs,
    recThrs: p.recThrs,
    areaRng: p.areaRng,
    areaRngLbl: p.areaRngLbl,
    maxDets: p.maxDets,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// summarize

/**
 * numpy's float64 sum of a contiguous 1-D array, bit for bit: `np.add.reduce` starts from 0 and adds the pairwise
 * sum of each 8192-element buffer chunk; the pairwise sum uses an 8-way unrolled loop on blocks of ≤ 128 elements.
 * (Checked against numpy 1.24 on random arrays of 1 … 123 457 elements.)
 */
export function numpySum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  let res = 0;
  for (let i = 0; i < n; i += 8192) res += pairwiseSum(a, start + i, Math.min(8192, n - i));
  return res;
}

function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    let r0 = a[start]!;
    let r1 = a[start + 1]!;
    let r2 = a[start + 2]!;
    let r3 = a[start + 3]!;
    let r4 = a[start + 4]!;
    let r5 = a[start + 5]!;
    let r6 = a[start + 6]!;
    let r7 = a[start + 7]!;
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      r0 += a[start + i]!;
      r1 += a[start + i + 1]!;
      r2 += a[start + i + 2]!;
      r3 += a[start + i + 3]!;
      r4 += a[start + i + 4]!;
      r5 += a[start + i + 5]!;
      r6 += a[start + i + 6]!;
      r7 += a[start + i + 7]!;
    }
    let res = (r0 + r1 + (r2 + r3)) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** Grow-only scratch for the selected entries of one summary figure (single-threaded; never returned). */
let summaryBuf = new Float64Array(0);

/** `np.mean(s[s > -1])`, or −1 when no entry is > −1. */
function meanValid(values: Float64Array, n: number): number {
  if (n === 0) return -1;
  return numpySum(values, 0, n) / n;
}

function indicesWhere<T>(xs: ArrayLike<T>, pred: (x: T) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) if (pred(xs[i]!)) out.push(i);
  return out;
}

/** numpy's broadcasting of the two advanced indices `[..., aind, mind]`: the (a, m) pairs in order. */
function broadcastPairs(aind: number[], mind: number[]): [number, number][] {
  if (aind.length === mind.length) return aind.map((a, j) => [a, mind[j]!]);
  if (aind.length === 1) return mind.map((m) => [aind[0]!, m]);
  if (mind.length === 1) return aind.map((a) => [a, mind[0]!]);
  throw new Error(`shape mismatch: area index ${aind.length} and maxDets index ${mind.length} cannot be broadcast together`);
}

/**
 * One `_summarize(ap, iouThr, areaRng, maxDets)`: the mean of the selected precision (or recall) entries > −1, in
 * numpy's element order (t, r, k, pair) so the sum is numpy's. `onlyK` restricts K to one category.
 */
function summarizeOne(
  acc: Accumulated,
  ap: boolean,
  iouThr: number | null,
  areaLbl: string,
  maxDets: number | undefined,
  onlyK?: number,
): { mean: number } {
  const [T, R, K, A, M] = acc.counts;
  const aind = indicesWhere(acc.areaRngLbl, (l) => l === areaLbl);
  const mind = maxDets === undefined ? [] : indicesWhere(acc.maxDets, (m) => m === maxDets);
  const tind = iouThr === null ? range(T) : indicesWhere(acc.iouThrs, (t) => t === iouThr);
  const pairs = broadcastPairs(aind, mind);
  const ks = onlyK === undefined ? range(K) : [onlyK];
  const cap = tind.length * (ap ? R : 1) * ks.length * pairs.length;
  if (summaryBuf.length < cap) summaryBuf = new Float64Array(cap);
  const buf = summaryBuf;
  let n = 0;
  if (ap) {
    for (const t of tind) {
      for (let r = 0; r < R; r++) {
        for (const k of ks) {
          for (const [a, m] of pairs) {
            const v = acc.precision[(((t * R + r) * K + k) * A + a) * M + m]!;
            if (v > -1) buf[n++] = v;
          }
        }
      }
    }
  } else {
    for (const t of tind) {
      for (const k of ks) {
        for (const [a, m] of pairs) {
          const v = acc.recall[((t * K + k) * A + a) * M + m]!;
          if (v > -1) buf[n++] = v;
        }
      }
    }
  }
  return { mean: meanValid(buf, n) };
}

function summarizeDets(acc: Accumulated): Summary {
  const md = acc.maxDets;
  if (md.length < 3) {
    throw new Error(
      `summarize needs at least 3 maxDets values (pycocotools' summary reads maxDets[0], [1] and [2]); got [${md.join(', ')}]`,
    );
  }
  const specs: [boolean, number | null, string, number][] = [
    [true, null, 'all', 100],
    [true, 0.5, 'all', md[2]!],
    [true, 0.75, 'all', md[2]!],
    [true, null, 'small', md[2]!],
    [true, null, 'medium', md[2]!],
    [true, null, 'large', md[2]!],
    [false, null, 'all', md[0]!],
    [false, null, 'all', md[1]!],
    [false, null, 'all', md[2]!],
    [false, null, 'small', md[2]!],
    [false, null, 'medium', md[2]!],
    [false, null, 'large', md[2]!],
  ];
  const stats: number[] = [];
  const lines: string[] = [];
  const iouAll = `${formatFixed(acc.iouThrs[0]!, 2)}:${formatFixed(acc.iouThrs[acc.iouThrs.length - 1]!, 2)}`;
  for (const [ap, iouThr, area, maxDets] of specs) {
    const { mean } = summarizeOne(acc, ap, iouThr, area, maxDets);
    stats.push(mean);
    const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = ap ? '(AP)' : '(AR)';
    const iouStr = (iouThr === null ? iouAll : formatFixed(iouThr, 2)).padEnd(9);
    lines.push(` ${title} ${type} @[ IoU=${iouStr} | area=${area.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed(mean, 3)}`);
  }
  return { stats, lines };
}

/**
 * Python's `'{:0.Nf}'.format(x)`: correctly rounded, exact ties to even (JavaScript's toFixed rounds exact ties
 * away from zero, e.g. 0.0625 → "0.063" where Python prints "0.062").
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  let s = ax.toFixed(digits);
  // An exact tie needs ax = (2n+1) / (2·10^d), a dyadic rational: ax·2^(d+1) is an integer y, and y·5^d is odd.
  const y = ax * 2 ** (digits + 1);
  if (Number.isInteger(y)) {
    const q = y * 5 ** digits;
    if (q <= Number.MAX_SAFE_INTEGER && q % 2 === 1) {
      let nInt = (q - 1) / 2;
      if (nInt % 2 !== 0) nInt += 1;
      const str = String(nInt).padStart(digits + 1, '0');
      s = digits > 0 ? `${str.slice(0, str.length - digits)}.${str.slice(str.length - digits)}` : str;
    }
  }
  return neg ? `-${s}` : s;
}
