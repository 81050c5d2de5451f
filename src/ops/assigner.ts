/**
 * The max-IoU assigner: which ground-truth box (if any) each anchor / proposal is responsible for.
 *
 * Reference behaviour: mmdetection's `MaxIoUAssigner` (mmdet/models/task_modules/assigners/max_iou_assigner.py),
 * step for step, with IoUs computed exactly as `iouMatrix` (mmdet's `BboxOverlaps2D`, bit-identical float32):
 *  0. Ignore regions (mmdet `gt_bboxes_ignore`, here `ignoreBoxes`, typically COCO crowd boxes): when
 *     `ignoreIofThr > 0`, a prior whose IoF with some ignore box is **> ignoreIofThr** (IoF = overlap / area of the
 *     prior with `ignoreWrtCandidates`, the default; else / area of the ignore box) gets IoU −1 with every GT. Priors
 *     flagged invalid (`valid`, e.g. `anchorInsideFlags`) are treated the same way, which is equivalent to mmdet
 *     leaving them out of the assignment (they end as "ignored").
 *  1. Every prior starts as −1 (ignored).
 *  2. Negative (0) when its max IoU over GTs is in [0, negIouThr) (or in [lo, hi) for a pair of thresholds).
 *  3. Positive (argmax GT + 1) when its max IoU ≥ posIouThr. Ties between GTs: the lowest GT index (torch.max).
 *  4. Low-quality matches (`matchLowQuality`): for each GT i in order whose best IoU ≥ minPosIou, the prior(s)
 *     with that best IoU (all of them with `gtMaxAssignAll`, else the first) are assigned to i, overwriting earlier
 *     assignments — a GT no prior overlaps by posIouThr still gets its best prior.
 *  With no GT, every prior is negative (mmdet: also those in ignore regions), max overlap 0; invalid priors stay −1.
 *
 * Result encoding (mmdet's `AssignResult`): `gtInds[j]` = −1 ignore, 0 negative, k + 1 positive for GT k;
 * `maxOverlaps[j]` the best IoU (−1 where ignored by rule 0); `labels[j]` the GT label for positives, else −1.
 * mmdet quirk kept on purpose: with `minPosIou` 0 (RetinaNet) a GT that overlaps no prior at all (IoU 0 with
 * every prior, e.g. a zero-area box) makes every prior with IoU 0 to it positive — the data pipeline must drop
 * degenerate GT boxes (mmdet does, via `filter_empty_gt` / `min_size`).
 *
 * Thresholds are rounded to float32 before comparing (PyTorch compares a float32 tensor with a Python float in
 * float32: an IoU of float32(0.7) passes `>= 0.7`).
 * Typed arrays throughout (CPU side, no gradients); ~20 GT × 200k anchors in tens of milliseconds.
 */
import { boxAreas, iouMatrix, numBoxes, OVERLAP_EPS, type BoxArray } from './boxes.js';

/** Thresholds are compared in float32, as PyTorch compares a float32 tensor with a Python float. */
const f = Math.fround;

export interface MaxIoUAssignerOptions {
  /** IoU ≥ this → positive. */
  posIouThr: number;
  /** max IoU < this (≥ 0) → negative; or [lo, hi): negative when lo ≤ max IoU < hi. */
  negIouThr: number | readonly [number, number];
  /** Low-quality matches need at least this IoU. Default 0. */
  minPosIou?: number;
  /** Low-quality step assigns every prior tied at a GT's best IoU (true, default) or only the first. */
  gtMaxAssignAll?: boolean;
  /** IoF threshold for ignore regions; ≤ 0 disables (default −1). */
  ignoreIofThr?: number;
  /** IoF relative to the prior's area (true, default) or the ignore box's area. */
  ignoreWrtCandidates?: boolean;
  /** Step 4 on (default true). */
  matchLowQuality?: boolean;
}

/** RetinaNet (mmdet retinanet_r50_fpn): pos 0.5, neg 0.4, min_pos 0, low-quality matches on. */
export const RETINANET_ASSIGNER: MaxIoUAssignerOptions = { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0, ignoreIofThr: -1 };
/** RPN (mmdet mask_rcnn_r50_fpn): pos 0.7, neg 0.3, min_pos 0.3, low-quality matches on. */
export const RPN_ASSIGNER: MaxIoUAssignerOptions = { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true, ignoreIofThr: -1 };
/** R-CNN head (mmdet mask_rcnn_r50_fpn): pos = neg = min_pos 0.5, low-quality matches on. */
export const RCNN_ASSIGNER: MaxIoUAssignerOptions = { posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.5, matchLowQuality: true, ignoreIofThr: -1 };

/** mmdet's `AssignResult`. */
export interface AssignResult {
  numGts: number;
  /** Per prior: −1 ignore, 0 negative, k + 1 → GT k. */
  gtInds: Int32Array;
  /** Per prior: the best IoU with any GT (0 when there is no GT; −1 for priors removed by ignore / valid). */
  maxOverlaps: Float32Array;
  /** Per prior: the assigned GT's label for positives, else −1. */
  labels: Int32Array;
}

export interface AssignInputs {
  /** Candidate boxes (anchors / proposals), [n × 4]. */
  priors: BoxArray;
  /** Ground-truth boxes, [k × 4]. */
  gtBoxes: BoxArray;
  /** Ground-truth labels, k integers. */
  gtLabels: ArrayLike<number>;
  /** Boxes whose neighbourhood is ignored (crowd), used when `ignoreIofThr > 0`. */
  ignoreBoxes?: BoxArray;
  /** Per prior, 0 = leave out of the assignment (result −1), e.g. anchors of the padding. Default all valid. */
  valid?: Uint8Array;
  /** Precomputed `boxAreas(priors)` (optional; anchors are reused across images). */
  priorAreas?: Float32Array;
}

function checkOptions(o: MaxIoUAssignerOptions): void {
  const neg = o.negIouThr;
  const ok =
    Number.isFinite(o.posIouThr) &&
    (typeof neg === 'number' ? Number.isFinite(neg) : neg.length === 2 && neg.every(Number.isFinite)) &&
    Number.isFinite(o.minPosIou ?? 0) &&
    Number.isFinite(o.ignoreIofThr ?? -1);
  if (!ok) throw new Error(`MaxIoUAssigner: thresholds must be finite numbers (negIouThr a number or a pair), got ${JSON.stringify(o)}`);
}

/** Run the max-IoU assignment (see the file comment for the rules). */
export function maxIouAssign(inputs: AssignInputs, opts: MaxIoUAssignerOptions): AssignResult {
  checkOptions(opts);
  const { priors, gtBoxes, gtLabels, ignoreBoxes, valid } = inputs;
  const n = numBoxes(priors, 'maxIouAssign: priors');
  const k = numBoxes(gtBoxes, 'maxIouAssign: gtBoxes');
  if (gtLabels.length !== k) throw new Error(`maxIouAssign: ${k} GT boxes but ${gtLabels.length} labels`);
  if (valid && valid.length !== n) throw new Error(`maxIouAssign: ${n} priors but ${valid.length} valid flags`);
  const gtInds = new Int32Array(n).fill(-1);
  const maxOverlaps = new Float32Array(n);
  const labels = new Int32Array(n).fill(-1);

  // Priors removed before assignment: invalid ones, and (rule 0) those in ignore regions.
  let removed: Uint8Array | undefined;
  if (valid) removed = valid.map((v) => (v ? 0 : 1));
  const ignoreThr = f(opts.ignoreIofThr ?? -1);
  if (k > 0 && ignoreThr > 0 && ignoreBoxes && ignoreBoxes.length > 0 && n > 0) {
    removed ??= new Uint8Array(n);
    markIgnored(priors, ignoreBoxes, ignoreThr, opts.ignoreWrtCandidates ?? true, removed);
  }

  if (k === 0 || n === 0) {
    if (k === 0) gtInds.fill(0);
    if (removed) for (let j = 0; j < n; j++) if (removed[j]) gtInds[j] = -1;
    return { numGts: k, gtInds, maxOverlaps, labels };
  }

  // One fused pass over the priors (prior-major, the k GT boxes stay in cache; no k × n matrix): IoU
  // (bit-identical to `iouMatrix`; −1 for removed priors), per prior the best IoU and its first GT, per GT the best
  // IoU, its first prior and — when that IoU is > 0 — every prior tied at it (for the low-quality step).
  const priorAreas = inputs.priorAreas ?? boxAreas(priors);
  if (priorAreas.length !== n) throw new Error(`maxIouAssign: ${n} priors but ${priorAreas.length} prior areas`);
  const gt = gtBoxes;
  const gtArea = boxAreas(gtBoxes);
  const argmax = new Int32Array(n);
  const gtMax = new Float64Array(k).fill(-Infinity);
  const gtArgmax = new Int32Array(k);
  const gtTies: number[][] = Array.from({ length: k }, () => []);
  for (let j = 0; j < n; j++) {
    if (removed !== undefined && removed[j]) {
      maxOverlaps[j] = -1;
      for (let i = 0; i < k; i++) {
        if (-1 > gtMax[i]!) {
          gtMax[i] = -1;
          gtArgmax[i] = j;
        }
      }
      continue;
    }
    const o = j * 4;
    const px1 = priors[o]!;
    const py1 = priors[o + 1]!;
    const px2 = priors[o + 2]!;
    const py2 = priors[o + 3]!;
    const pArea = priorAreas[j]!;
    let best = 0;
    let bestAt = 0;
    for (let i = 0; i < k; i++) {
      const g = i * 4;
      let v = 0;
      const w = f((gt[g + 2]! < px2 ? gt[g + 2]! : px2) - (gt[g]! > px1 ? gt[g]! : px1));
      if (w > 0) {
        const h = f((gt[g + 3]! < py2 ? gt[g + 3]! : py2) - (gt[g + 1]! > py1 ? gt[g + 1]! : py1));
        if (h > 0) {
          const overlap = f(w * h);
          let denom = f(f(gtArea[i]! + pArea) - overlap);
          if (denom < OVERLAP_EPS) denom = OVERLAP_EPS;
          v = f(overlap / denom);
        }
      }
      if (i === 0 || v > best) {
        best = v;
        bestAt = i;
      }
      const gm = gtMax[i]!;
      if (v > gm) {
        gtMax[i] = v;
        gtArgmax[i] = j;
        if (v > 0) gtTies[i] = [j];
      } else if (v === gm && v > 0) {
        gtTies[i]!.push(j);
      }
    }
    maxOverlaps[j] = best;
    argmax[j] = bestAt;
  }

  // 2. negatives, 3. positives.
  const [negLo, negHi] = (typeof opts.negIouThr === 'number' ? [0, opts.negIouThr] : opts.negIouThr).map(f) as [number, number];
  const pos = f(opts.posIouThr);
  for (let j = 0; j < n; j++) {
    const m = maxOverlaps[j]!;
    if (m >= negLo && m < negHi) gtInds[j] = 0;
    if (m >= pos) gtInds[j] = argmax[j]! + 1;
  }

  // 4. low-quality matches, GT by GT (later GTs overwrite earlier ones).
  if (opts.matchLowQuality ?? true) {
    const minPos = f(opts.minPosIou ?? 0);
    const all = opts.gtMaxAssignAll ?? true;
    for (let i = 0; i < k; i++) {
      const best = gtMax[i]!;
      if (!(best >= minPos)) continue;
      if (all) {
        if (best > 0) {
          const ties = gtTies[i]!;
          for (const j of ties) gtInds[j] = i + 1;
        } else {
          // best ≤ 0: every prior at that IoU (mmdet's quirk for a GT that overlaps nothing) — recompute the row.
          const o = i * 4;
          const [gx1, gy1, gx2, gy2] = [gtBoxes[o]!, gtBoxes[o + 1]!, gtBoxes[o + 2]!, gtBoxes[o + 3]!];
          for (let j = 0; j < n; j++) {
            const v = removed !== undefined && removed[j] ? -1 : pairIou(priors, j, priorAreas[j]!, gx1, gy1, gx2, gy2, gtArea[i]!);
            if (v === best) gtInds[j] = i + 1;
          }
        }
      } else {
        gtInds[gtArgmax[i]!] = i + 1;
      }
    }
  }

  for (let j = 0; j < n; j++) {
    const g = gtInds[j]!;
    if (g > 0) labels[j] = gtLabels[g - 1]!;
  }
  return { numGts: k, gtInds, maxOverlaps, labels };
}

/** IoU of prior j with one GT box: `iouMatrix`'s float32 arithmetic, with the non-overlapping case short-cut to 0. */
function pairIou(p: BoxArray, j: number, pArea: number, gx1: number, gy1: number, gx2: number, gy2: number, gArea: number): number {
  const o = j * 4;
  const px1 = p[o]!;
  const px2 = p[o + 2]!;
  const w = f((gx2 < px2 ? gx2 : px2) - (gx1 > px1 ? gx1 : px1));
  if (!(w > 0)) return 0;
  const py1 = p[o + 1]!;
  const py2 = p[o + 3]!;
  const h = f((gy2 < py2 ? gy2 : py2) - (gy1 > py1 ? gy1 : py1));
  if (!(h > 0)) return 0;
  const overlap = f(w * h);
  let denom = f(f(gArea + pArea) - overlap);
  if (denom < OVERLAP_EPS) denom = OVERLAP_EPS;
  return f(overlap / denom);
}

/** Set `removed[j] = 1` for priors whose max IoF with the ignore boxes is > thr. */
function markIgnored(priors: BoxArray, ignoreBoxes: BoxArray, thr: number, wrtCandidates: boolean, removed: Uint8Array): void {
  const n = priors.length / 4;
  const m = numBoxes(ignoreBoxes, 'maxIouAssign: ignoreBoxes');
  // IoF over the prior's area (wrtCandidates): iouMatrix(priors, ignore, 'iof') [n, m]; else over the ignore box's
  // area: iouMatrix(ignore, priors, 'iof') [m, n].
  const mat = wrtCandidates ? iouMatrix(priors, ignoreBoxes, 'iof') : iouMatrix(ignoreBoxes, priors, 'iof');
  for (let j = 0; j < n; j++) {
    let best = -Infinity;
    for (let g = 0; g < m; g++) {
      const v = wrtCandidates ? mat[j * m + g]! : mat[g * n + j]!;
      if (v > best) best = v;
    }
    if (best > thr) removed[j] = 1;
  }
}

/**
 * mmdet `AssignResult.add_gt_`: prepend the GT boxes themselves as positives (used by samplers with
 * `addGtAsProposals`). Returns a new result with k + n entries: GT i → gtInds i + 1, max overlap 1, its label.
 */
export function addGtToAssignResult(result: AssignResult, gtLabels: ArrayLike<number>): AssignResult {
  const k = gtLabels.length;
  const n = result.gtInds.length;
  const gtInds = new Int32Array(k + n);
  const maxOverlaps = new Float32Array(k + n);
  const labels = new Int32Array(k + n);
  for (let i = 0; i < k; i++) {
    gtInds[i] = i + 1;
    maxOverlaps[i] = 1;
    labels[i] = gtLabels[i]!;
  }
  gtInds.set(result.gtInds, k);
  maxOverlaps.set(result.maxOverlaps, k);
  labels.set(result.labels, k);
  return { numGts: result.numGts, gtInds, maxOverlaps, labels };
}
