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
