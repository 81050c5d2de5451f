/**
 * pycocotools `evaluate()` on typed arrays (see eval/cocoeval.ts for what is kept identical and what is done
 * differently for speed): annotations read once into columns, grouped into cells (category × image), detections
 * sorted per cell, IoU and greedy matching per cell and distinct GT-ignore pattern; and pycocotools' `evalImgs`
 * records rebuilt from the compact results.
 */
import type { CocoAnnotation, CocoDataset } from '../coco.js';
import { bboxIou, rleIou } from '../iou.js';
import type { Rle } from '../../src/structures/rle.js';
import { FP, IGNORED, KIND_FP, KIND_IGNORED, KIND_MIXED, KIND_TP, TP, type Evaluated } from './evaluated.js';
import { Params, type IouType } from './params.js';
import type { EvalImg } from './types.js';

export function uniqueSorted(xs: readonly number[]): number[] {
  const s = [...new Set(xs)].sort((a, b) => a - b);
  return s;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Positions (in evaluation order, each once) of the given image ids; throws on an id that was not evaluated. */
export function imageIndices(ev: Evaluated, imgIds: Iterable<number>): number[] {
  const sel = new Uint8Array(ev.imgIds.length);
  for (const id of imgIds) sel[evaluatedIndex(ev, id)] = 1;
  const idx: number[] = [];
  for (let i = 0; i < sel.length; i++) if (sel[i]) idx.push(i);
  return idx;
}

export function evaluatedIndex(ev: Evaluated, id: number): number {
  const i = ev.imgIndex.get(id);
  if (i === undefined) throw new Error(`image id ${id} was not evaluated`);
  return i;
}

/** Stable sort by score, highest first; NaN last (numpy sorts NaN to the end of -score). */
export function compareScoreDesc(sa: number, sb: number): number {
  if (sa > sb) return -1;
  if (sa < sb) return 1;
  if (sa === sb) return 0;
  const na = Number.isNaN(sa);
  const nb = Number.isNaN(sb);
  return na === nb ? 0 : na ? 1 : -1;
}

export function sortByScore(anns: CocoAnnotation[]): CocoAnnotation[] {
  // Array.prototype.sort is stable (ES2019), like numpy's mergesort.
  return [...anns].sort((a, b) => compareScoreDesc(a.score as number, b.score as number));
}

/**
 * pycocotools' `loadAnns(getAnnIds(...))` looks annotations up by id: with duplicate ids every occurrence becomes
 * the last annotation with that id. Returns the annotation list to evaluate (the input when ids are unique).
 */
export function resolveById(anns: readonly CocoAnnotation[], what: string, warn: (m: string) => void): readonly CocoAnnotation[] {
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

export function cellIou(
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
export interface AnnColumns {
  key: Int32Array;
  id: Float64Array;
  area: Float64Array;
  score: Float64Array | undefined;
  crowd: Uint8Array;
  box: Float64Array | undefined;
}

export function readColumns(
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
export function groupCells(key: Int32Array, I: number, K: number, useCats: boolean): { start: Int32Array; order: Int32Array } {
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
export function scoreOrder(score: Float64Array): Int32Array {
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

/** Cells grouped by `groupCells`: CSR start per cell and the annotation indices in cell order. */
interface CellGroups {
  start: Int32Array;
  order: Int32Array;
}

/**
 * pycocotools `evaluate()` for every cell (category × image): the annotations are read once and grouped into cells,
 * the GT and the sorted, cut detections laid out in cell order, the geometry for IoU gathered, then each cell is
 * evaluated on its own ({@link evaluateCell}).
 */
export function evaluateAll(gtDs: CocoDataset, dtDs: CocoDataset, p: Params, warn: (m: string) => void): Evaluated {
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

  const gt = gatherGt(gtCol, gtGroups, gtAnns, warn);
  const dt = sortCellDetections(dtGroups, dtCol.score!, gt.start, nCells, maxDet);
  const ND = dt.annIdx.length;
  const dtId = new Float64Array(ND);
  const dtScore = new Float64Array(ND);
  const dtArea = new Float64Array(ND);
  for (let j = 0; j < ND; j++) {
    const q = dt.annIdx[j]!;
    dtId[j] = dtCol.id[q]!;
    dtScore[j] = dtCol.score![q]!;
    dtArea[j] = dtCol.area[q]!;
  }
  const { dtSlot, nSlots } = matchSlots(gt.start, dt.start, nCells);
  const geometry = cellGeometry(isBbox, gtDs, dtDs, gtAnns, dtAnns, gtCol, dtCol, gt.annIdx, dt.annIdx, gt.start, dt.start, dtSlot, nSlots);

  const NG = gt.id.length;
  const ev: Evaluated = {
    params: p,
    catIds,
    imgIds,
    imgIndex,
    nCells,
    gtStart: gt.start,
    gtId: gt.id,
    gtArea: gt.area,
    gtCrowd: gt.crowd,
    dtStart: dt.start,
    dtId,
    dtScore,
    dtArea,
    dtCell: dt.cell,
    dtOrder: scoreOrder(dtScore),
    dtSlot,
    nSlots,
    cellHasRecord: dt.cellHasRecord,
    gtIgnore: new Uint8Array(A * NG),
    npig: new Int32Array(A * nCells),
    dtKind: new Uint8Array(A * ND),
    match: new Int32Array(A * nSlots * T),
    state: new Uint8Array(A * nSlots * T),
  };
  const work = new CellWork(p);
  for (let c = 0; c < nCells; c++) evaluateCell(ev, geometry, c, work);
  return ev;
}

/** The GT in cell order (file order within a cell), with pycocotools' GT-id-0 quirk warned about. */
function gatherGt(
  col: AnnColumns,
  groups: CellGroups,
  anns: readonly CocoAnnotation[],
  warn: (m: string) => void,
): { start: Int32Array; annIdx: Int32Array; id: Float64Array; area: Float64Array; crowd: Uint8Array } {
  const NG = groups.order.length;
  const annIdx = groups.order;
  const id = new Float64Array(NG);
  const area = new Float64Array(NG);
  const crowd = new Uint8Array(NG);
  let zeroIdGt = -1;
  let zeroIdCount = 0;
  for (let j = 0; j < NG; j++) {
    const q = annIdx[j]!;
    id[j] = col.id[q]!;
    area[j] = col.area[q]!;
    crowd[j] = col.crowd[q]!;
    if (id[j] === 0) {
      zeroIdCount++;
      if (zeroIdGt < 0) zeroIdGt = q;
    }
  }
  if (zeroIdGt >= 0) {
    const z = anns[zeroIdGt]!;
    warn(`ground truth annotation id 0 (image ${z.image_id}, category ${z.category_id}` +
      `${zeroIdCount > 1 ? `; ${zeroIdCount} such annotations` : ''}): pycocotools stores "no match" as id 0, so a ` +
      'detection matched to this GT counts as a false positive (and blocks the GT) — reproduced here; number GT ' +
      'ids from 1 to avoid it');
  }
  return { start: groups.start, annIdx, id, area, crowd };
}

/** Detections per cell, stably sorted by score (highest first) and cut to `maxDet`, laid out in cell order. */
function sortCellDetections(
  groups: CellGroups,
  scoreOf: Float64Array,
  gtStart: Int32Array,
  nCells: number,
  maxDet: number,
): { start: Int32Array; annIdx: Int32Array; cell: Int32Array; cellHasRecord: Uint8Array } {
  const cellHasRecord = new Uint8Array(nCells);
  const start = new Int32Array(nCells + 1);
  for (let c = 0; c < nCells; c++) {
    const nd = groups.start[c + 1]! - groups.start[c]!;
    const ng = gtStart[c + 1]! - gtStart[c]!;
    if (nd > 0 || ng > 0) cellHasRecord[c] = 1;
    start[c + 1] = start[c]! + Math.min(nd, maxDet);
  }
  const ND = start[nCells]!;
  const annIdx = new Int32Array(ND);
  const cell = new Int32Array(ND);
  let tmp = new Int32Array(16);
  for (let c = 0; c < nCells; c++) {
    const s0 = groups.start[c]!;
    const n = groups.start[c + 1]! - s0;
    if (n === 0) continue;
    if (tmp.length < n) tmp = new Int32Array(n * 2);
    sortByScoreStable(tmp, groups.order, s0, n, scoreOf);
    const o = start[c]!;
    const m = start[c + 1]! - o;
    for (let j = 0; j < m; j++) {
      annIdx[o + j] = tmp[j]!;
      cell[o + j] = c;
    }
  }
  return { start, annIdx, cell, cellHasRecord };
}

/** idx[0..n) = order[s0..s0+n) stably sorted by score, highest first (ties keep the cell's order). */
function sortByScoreStable(idx: Int32Array, order: Int32Array, s0: number, n: number, scoreOf: Float64Array): void {
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
}

/** Detections that can match (their cell has GT) get a slot in the per-threshold arrays; the others −1. */
function matchSlots(gtStart: Int32Array, dtStart: Int32Array, nCells: number): { dtSlot: Int32Array; nSlots: number } {
  const dtSlot = new Int32Array(dtStart[nCells]!).fill(-1);
  let nSlots = 0;
  for (let c = 0; c < nCells; c++) {
    if (gtStart[c + 1] === gtStart[c]) continue;
    for (let j = dtStart[c]!; j < dtStart[c + 1]!; j++) dtSlot[j] = nSlots++;
  }
  return { dtSlot, nSlots };
}

/** Geometry for IoU, once per annotation that can match: boxes (GT in cell order, detections by slot) or RLEs. */
interface CellGeometry {
  gtBox?: Float64Array;
  dtBox?: Float64Array;
  gtRle?: Rle[];
  dtRle?: Rle[];
}

function cellGeometry(
  isBbox: boolean,
  gtDs: CocoDataset,
  dtDs: CocoDataset,
  gtAnns: readonly CocoAnnotation[],
  dtAnns: readonly CocoAnnotation[],
  gtCol: AnnColumns,
  dtCol: AnnColumns,
  gtAnnIdx: Int32Array,
  dtAnnIdx: Int32Array,
  gtStart: Int32Array,
  dtStart: Int32Array,
  dtSlot: Int32Array,
  nSlots: number,
): CellGeometry {
  const NG = gtAnnIdx.length;
  const ND = dtAnnIdx.length;
  if (isBbox) {
    const gtBox = new Float64Array(NG * 4);
    for (let j = 0; j < NG; j++) gtBox.set(gtCol.box!.subarray(gtAnnIdx[j]! * 4, gtAnnIdx[j]! * 4 + 4), j * 4);
    const dtBox = new Float64Array(nSlots * 4);
    for (let j = 0; j < ND; j++) {
      const sl = dtSlot[j]!;
      if (sl >= 0) dtBox.set(dtCol.box!.subarray(dtAnnIdx[j]! * 4, dtAnnIdx[j]! * 4 + 4), sl * 4);
    }
    return { gtBox, dtBox };
  }
  const gtRle = new Array<Rle>(NG);
  const dtRle = new Array<Rle>(nSlots);
  const nCells = gtStart.length - 1;
  for (let c = 0; c < nCells; c++) {
    const g0 = gtStart[c]!;
    const g1 = gtStart[c + 1]!;
    const d0 = dtStart[c]!;
    const d1 = dtStart[c + 1]!;
    if (g0 === g1 || d0 === d1) continue;
    for (let j = g0; j < g1; j++) gtRle[j] = gtDs.rle(gtAnns[gtAnnIdx[j]!]!);
    for (let j = d0; j < d1; j++) dtRle[dtSlot[j]!] = dtDs.rle(dtAnns[dtAnnIdx[j]!]!);
  }
  return { gtRle, dtRle };
}

/** Per-evaluation constants and scratch of {@link evaluateCell}. */
class CellWork {
  readonly T: number;
  readonly A: number;
  /** IoU thresholds as pycocotools compares them: min(t, 1 − 1e−10). */
  readonly thr: Float64Array;
  readonly aLo: Float64Array;
  readonly aHi: Float64Array;
  /** Per area range of the current cell: the range whose GT-ignore pattern (and so matching) it shares. */
  readonly patternOf: Int32Array;
  scratch: Scratch;

  constructor(p: Params) {
    this.T = p.iouThrs.length;
    this.A = p.areaRng.length;
    this.thr = Float64Array.from(p.iouThrs, (t) => Math.min(t, 1 - 1e-10));
    this.aLo = Float64Array.from(p.areaRng, (r) => r[0]);
    this.aHi = Float64Array.from(p.areaRng, (r) => r[1]);
    this.patternOf = new Int32Array(this.A);
    this.scratch = new Scratch(16, this.T);
  }
}

/** One cell: GT-ignore flags per area range, then IoU and matching per distinct GT-ignore pattern. */
function evaluateCell(ev: Evaluated, geometry: CellGeometry, c: number, w: CellWork): void {
  const g0 = ev.gtStart[c]!;
  const G = ev.gtStart[c + 1]! - g0;
  const d0 = ev.dtStart[c]!;
  const D = ev.dtStart[c + 1]! - d0;
  if (G === 0 && D === 0) return;
  cellGtIgnore(ev, c, w);
  if (D === 0) return;
  if (G === 0) {
    unmatchableKinds(ev, c, w);
    return;
  }
  const s0 = ev.dtSlot[d0]!;
  const crowd = ev.gtCrowd.subarray(g0, g0 + G);
  const ious = geometry.gtBox
    ? bboxIou(geometry.dtBox!.subarray(s0 * 4, (s0 + D) * 4), geometry.gtBox.subarray(g0 * 4, (g0 + G) * 4), crowd)
    : rleIou(geometry.dtRle!.slice(s0, s0 + D), geometry.gtRle!.slice(g0, g0 + G), crowd);
  if (ious.length !== D * G) throw new Error(`IoU matrix has ${ious.length} entries, expected ${D}×${G}`);
  if (w.scratch.capacity < G) w.scratch = new Scratch(G * 2, w.T);
  for (let a = 0; a < w.A; a++) matchRange(ev, c, a, ious, w);
}

/** GT ignore flags of a cell per area range (crowd, or area outside the range) and its non-ignored GT count. */
function cellGtIgnore(ev: Evaluated, c: number, w: CellWork): void {
  const NG = ev.gtId.length;
  const g0 = ev.gtStart[c]!;
  const G = ev.gtStart[c + 1]! - g0;
  for (let a = 0; a < w.A; a++) {
    const lo = w.aLo[a]!;
    const hi = w.aHi[a]!;
    const base = a * NG + g0;
    let n = 0;
    for (let j = 0; j < G; j++) {
      const ar = ev.gtArea[g0 + j]!;
      const ig = ev.gtCrowd[g0 + j]! || ar < lo || ar > hi ? 1 : 0;
      ev.gtIgnore[base + j] = ig;
      n += 1 - ig;
    }
    ev.npig[a * ev.nCells + c] = n;
  }
}

/** A cell without GT: each detection is a false positive, or ignored when its area is out of range. */
function unmatchableKinds(ev: Evaluated, c: number, w: CellWork): void {
  const ND = ev.dtId.length;
  const d0 = ev.dtStart[c]!;
  const D = ev.dtStart[c + 1]! - d0;
  for (let a = 0; a < w.A; a++) {
    const lo = w.aLo[a]!;
    const hi = w.aHi[a]!;
    const base = a * ND + d0;
    for (let d = 0; d < D; d++) {
      const ar = ev.dtArea[d0 + d]!;
      ev.dtKind[base + d] = ar < lo || ar > hi ? KIND_IGNORED : KIND_FP;
    }
  }
}

/**
 * Matching of one cell in area range `a` (reused from an earlier range with the same GT-ignore pattern), then each
 * detection's state per threshold and its kind (FP / TP / ignored at every threshold, or mixed).
 */
function matchRange(ev: Evaluated, c: number, a: number, ious: Float64Array, w: CellWork): void {
  const { T, patternOf } = w;
  const NG = ev.gtId.length;
  const ND = ev.dtId.length;
  const { gtIgnore, match, state, nSlots } = ev;
  const g0 = ev.gtStart[c]!;
  const G = ev.gtStart[c + 1]! - g0;
  const d0 = ev.dtStart[c]!;
  const D = ev.dtStart[c + 1]! - d0;
  const s0 = ev.dtSlot[d0]!;
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
    matchCell(D, G, ious, gtIgnore, a * NG + g0, ev.gtCrowd, g0, ev.dtId, d0, w.thr, match, mBase, w.scratch);
  }
  // per-threshold states
  const lo = w.aLo[a]!;
  const hi = w.aHi[a]!;
  const igBase = a * NG + g0;
  for (let d = 0; d < D; d++) {
    const ar = ev.dtArea[d0 + d]!;
    const out = ar < lo || ar > hi;
    const base = mBase + d * T;
    let all = -1;
    for (let t = 0; t < T; t++) {
      const m = match[base + t]!;
      let st: number;
      if (m < 0) {
        st = out ? IGNORED : FP;
      } else {
        const matchedId = ev.gtId[g0 + m]!;
        // pycocotools: dtIgnore = gtIgnore[m] or (dtm == 0 and out of range); a TP needs dtm != 0
        const ig = gtIgnore[igBase + m] === 1 || (matchedId === 0 && out);
        st = ig ? IGNORED : matchedId !== 0 ? TP : FP;
      }
      state[base + t] = st;
      all = t === 0 ? st : all === st ? all : -2;
    }
    ev.dtKind[a * ND + d0 + d] = all === FP ? KIND_FP : all === IGNORED ? KIND_IGNORED : all === TP ? KIND_TP : KIND_MIXED;
  }
}

export class Scratch {
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
export function matchCell(
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
export function record(ev: Evaluated, k: number, a: number, i: number): EvalImg | undefined {
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
