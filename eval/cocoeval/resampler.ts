/**
 * The bootstrap's inner loop: AP, AP50 and AP75 of image subsets re-accumulated under many repeat-count vectors
 * (used by the occlusion report, eval/occlusion-report.ts). Built with `CocoEval.apResampler`.
 */
import { evaluatedIndex, range } from './evaluate.js';
import { EPS, FP, IGNORED, KIND_FP, KIND_IGNORED, KIND_TP, TP, TP_ALWAYS, type Evaluated } from './evaluated.js';

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
export function atMost(v: Float64Array, x: number): number {
  const R = v.length;
  let g = Math.min(R, Math.max(0, Math.floor(x * (R - 1)) + 1));
  while (g > 0 && v[g - 1]! > x) g--;
  while (g < R && v[g]! <= x) g++;
  return g;
}
