/**
 * What evaluate() keeps (eval/cocoeval/evaluate.ts) and accumulate() / the resampler read: the per-detection match
 * results as struct-of-arrays over cells (category × image), and the state codes stored in them.
 */
import { range, record } from './evaluate.js';
import { Params } from './params.js';
import { ApResampler } from './resampler.js';

export const EPS = 2.220446049250313e-16; // np.spacing(1)

/** The evaluate() results, struct-of-arrays. Cells are (category, image) pairs: cell = k·I + i. */
export interface Evaluated {
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

export const FP = 0;
export const TP = 1;
export const IGNORED = 2;
/** ApResampler's state of a detection that is a true positive at every threshold */
export const TP_ALWAYS = 3;
export const KIND_FP = 0;
export const KIND_TP = 1;
export const KIND_IGNORED = 2;
export const KIND_MIXED = 3;
