/**
 * pycocotools `accumulate()` on the compact results of evaluate(): per category × area range × maxDets, the
 * precision / recall / score arrays (see eval/cocoeval.ts for the method).
 */
import { evaluatedIndex, imageIndices, range } from './evaluate.js';
import { EPS, FP, KIND_FP, KIND_IGNORED, KIND_TP, TP, type Evaluated } from './evaluated.js';
import type { Accumulated } from './types.js';

/**
 * Repeat count per evaluated image position (0 = not accumulated) from `imgIds` (each listed image once) or
 * `imgCounts` (image id → how many times its records are concatenated).
 */
export function imageWeights(ev: Evaluated, imgIds?: Iterable<number>, imgCounts?: ReadonlyMap<number, number>): Float64Array {
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
export class AccumulateScratch {
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

/** One accumulation's dimensions, selection, working buffers and outputs, shared by its per-cell steps. */
interface AccumulateRun {
  ev: Evaluated;
  T: number;
  R: number;
  K: number;
  A: number;
  M: number;
  I: number;
  /** Repeat count per evaluated image (0 = left out). */
  imgW: Float64Array;
  /** Positions of the images with a count > 0. */
  imgIdx: number[];
  /** Some image counts more than once. */
  repeated: boolean;
  sc: AccumulateScratch;
  /** Per threshold: the number of true-positive events recorded, and the cumulative TP / FP counts. */
  evN: Int32Array;
  tp: Float64Array;
  fp: Float64Array;
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

/**
 * pycocotools `accumulate()` over the selected images and categories: per category the detections in score order
 * ({@link categoryBuckets}), then per maxDets value the top detections of each image ({@link selectTopDetections})
 * and per area range the cumulative TP / FP events ({@link cumulate}) and the interpolated precision
 * ({@link interpolate}).
 */
export function accumulateAll(
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
  const imgW = imageWeights(ev, imgIds, imgCounts);
  const imgIdx: number[] = [];
  let repeated = false;
  for (let i = 0; i < I; i++) {
    if (imgW[i]! > 0) imgIdx.push(i);
    if (imgW[i]! > 1) repeated = true;
  }
  const kIdx = selectedCategories(ev, catIdsSel);
  const K = kIdx.length;
  const { precision, recall, scores } = outputArrays(scratch, T * R * K * A * M, T * K * A * M, reuseOutput);
  const bucketStart = categoryBuckets(ev, kIdx, imgW, scratch);
  if (scratch.T !== T) {
    scratch.T = T;
    scratch.cap = 0;
  }
  const run: AccumulateRun = {
    ev, T, R, K, A, M, I, imgW, imgIdx, repeated, sc: scratch,
    evN: new Int32Array(T), tp: new Float64Array(T), fp: new Float64Array(T), precision, recall, scores,
  };
  for (let ko = 0; ko < K; ko++) {
    const k = kIdx[ko]!;
    const b0 = bucketStart[k]!;
    const n = bucketStart[k + 1]! - b0;
    reserveEvents(run, k, b0, n);
    for (let mi = 0; mi < M; mi++) {
      const nd = selectTopDetections(run, b0, n, p.maxDets[mi]!);
      for (let a = 0; a < A; a++) {
        let np = 0;
        for (const i of imgIdx) np += imgW[i]! * ev.npig[a * ev.nCells + k * I + i]!;
        if (np === 0) continue; // precision / recall stay −1
        const tpAll = cumulate(run, k, a, nd, np);
        interpolate(run, ko, a, mi, nd, np, tpAll);
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

/** Positions (in evaluation order) of the selected category ids, in the order given; default all. */
function selectedCategories(ev: Evaluated, catIdsSel: Iterable<number> | undefined): number[] {
  if (catIdsSel === undefined) return range(ev.catIds.length);
  const kIdx: number[] = [];
  for (const id of catIdsSel) {
    const k = ev.catIds.indexOf(id);
    if (k < 0) throw new Error(`category id ${id} was not evaluated`);
    kIdx.push(k);
  }
  return kIdx;
}

/** precision / recall / scores filled with −1: fresh arrays, or the scratch's (reused by summaryStats). */
function outputArrays(
  sc: AccumulateScratch,
  nPrecision: number,
  nRecall: number,
  reuse: boolean,
): { precision: Float64Array; recall: Float64Array; scores: Float64Array } {
  if (!reuse) {
    return {
      precision: new Float64Array(nPrecision).fill(-1),
      recall: new Float64Array(nRecall).fill(-1),
      scores: new Float64Array(nPrecision).fill(-1),
    };
  }
  if (sc.precision.length !== nPrecision) sc.precision = new Float64Array(nPrecision);
  if (sc.recall.length !== nRecall) sc.recall = new Float64Array(nRecall);
  if (sc.scores.length !== nPrecision) sc.scores = new Float64Array(nPrecision);
  return { precision: sc.precision.fill(-1), recall: sc.recall.fill(-1), scores: sc.scores.fill(-1) };
}

/**
 * Each selected category's detections over the selected images, by score, into `sc.byCat` (bucket k at
 * [start[k], start[k + 1])): the global stable order restricted to them is the stable sort of pycocotools'
 * concatenation (images in order, each image's detections by score).
 */
function categoryBuckets(ev: Evaluated, kIdx: readonly number[], imgSel: Float64Array, sc: AccumulateScratch): Int32Array {
  const I = ev.imgIds.length;
  const ND = ev.dtId.length;
  const { dtCell } = ev;
  const Kev = ev.catIds.length;
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
  const pos = bucketStart.slice(0, Kev);
  for (let x = 0; x < ND; x++) {
    const j = ev.dtOrder[x]!;
    const c = dtCell[j]!;
    const k = (c / I) | 0;
    if (kSel[k] && imgSel[c - k * I]) byCat[pos[k]!++] = j;
  }
  return bucketStart;
}

/**
 * Room in the selection buffer and, per threshold, for the true-positive events of category k (position in the
 * selection, recall and precision there): one per detection, or per copy when images repeat. Grow-only, kept in
 * the scratch between calls.
 */
function reserveEvents(run: AccumulateRun, k: number, b0: number, n: number): void {
  const { sc, T, I, imgW } = run;
  let need = n;
  if (run.repeated) {
    need = 0;
    for (let x = 0; x < n; x++) need += imgW[run.ev.dtCell[sc.byCat[b0 + x]!]! - k * I]!;
  }
  if (sc.cap < need) {
    const cap = Math.max(1024, need * 2);
    Object.assign(sc, {
      cap,
      sel: new Int32Array(cap),
      evPos: new Int32Array(T * cap),
      evRc: new Float64Array(T * cap),
      evPr: new Float64Array(T * cap),
    });
  }
}

/** The category's detections among each image's first `maxDet` into `sc.sel`, in score order; returns how many. */
function selectTopDetections(run: AccumulateRun, b0: number, n: number, maxDet: number): number {
  const { byCat, sel } = run.sc;
  const { dtStart, dtCell } = run.ev;
  let nd = 0;
  for (let x = 0; x < n; x++) {
    const j = byCat[b0 + x]!;
    if (j - dtStart[dtCell[j]!]! < maxDet) sel[nd++] = j;
  }
  return nd;
}

/**
 * Cumulative counts over the selected detections of category k in area range a (pycocotools' cumsum of tps /
 * fps), recording each true positive per threshold as an event (position, recall, precision). A detection that is
 * a FP (or TP) at every threshold is counted once in fpAll (tpAll), returned: the count for threshold t is
 * tp[t] + tpAll.
 */
function cumulate(run: AccumulateRun, k: number, a: number, nd: number, np: number): number {
  const { ev, T, I, imgW, tp, fp, evN } = run;
  const { sel, evPos, evRc, evPr, cap } = run.sc;
  const { dtKind, state, dtScore, dtCell, dtSlot, nSlots } = ev;
  const ND = ev.dtId.length;
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
    if (run.repeated && w > 1) {
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
  return tpAll;
}

/**
 * Recall and the interpolated precision (and scores) of category position ko, area range a, maxDets position mi
 * from the events {@link cumulate} recorded: the right-to-left max envelope, then `searchsorted(rc, recThrs,
 * side='left')`.
 */
function interpolate(run: AccumulateRun, ko: number, a: number, mi: number, nd: number, np: number, tpAll: number): void {
  const { T, R, K, A, M, tp, evN, precision, recall, scores } = run;
  const { sel, evPos, evRc, evPr, cap } = run.sc;
  const recThrs = run.ev.params.recThrs;
  const dtScore = run.ev.dtScore;
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
