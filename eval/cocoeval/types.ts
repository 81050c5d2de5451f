/**
 * The records COCO evaluation hands out: pycocotools' `evalImgs` entries, the accumulated arrays, the summary and
 * per-category rows, and the options of accumulate() and of the evaluator.
 */
import { range, record } from './evaluate.js';

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
