/**
 * Non-maximum suppression on typed arrays: `nms` and per-class `batchedNms`.
 *
 * Reference behaviour: torchvision.ops `nms` / `batched_nms` (CPU kernel):
 *  - boxes are visited in order of decreasing score; a visited box that is not suppressed is kept and suppresses
 *    every later box whose IoU with it is **> iouThreshold** (strictly greater: IoU exactly at the threshold
 *    survives). IoU = inter / (area_i + area_j − inter), no ε, in float32 arithmetic as the kernel (`Math.fround`
 *    after every operation), so decisions at the threshold match torchvision bit for bit.
 *  - Score ties: the lower input index comes first (a stable sort by descending score — torchvision sorts with
 *    `stable=true`). The returned keep list is in that order: descending score, ties by index.
 *  - `batchedNms`: boxes of different classes never suppress each other. We run `nms` class by class (exact),
 *    then merge the keep lists in the same (score, index) order. torchvision ≤ 4000 boxes uses the coordinate
 *    offset trick (box + class·(max coordinate + 1)), which gives the same result except where the float32
 *    rounding of the shifted coordinates moves an IoU across the threshold.
 * Scores must not be NaN (checked). Boxes are `[x1, y1, x2, y2]` flat; number arrays are converted to float32.
 */
import { numBoxes } from './boxes.js';

export interface NmsOptions {
  /** Stop after this many kept boxes (the result is the prefix of the full keep list). Default: no limit. */
  maxOutput?: number;
}

const f = Math.fround;

function asF32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/** Indices sorted by descending score, ties by ascending index. */
function order(scores: Float32Array, subset?: Int32Array): Int32Array {
  const idx = subset ? Int32Array.from(subset) : Int32Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function checkInputs(boxes: Float32Array, scores: Float32Array, iouThreshold: number, what: string): void {
  const n = numBoxes(boxes, `${what}: boxes`);
  if (scores.length !== n) throw new Error(`${what}: ${n} boxes but ${scores.length} scores`);
  if (!Number.isFinite(iouThreshold)) throw new Error(`${what}: iouThreshold must be a finite number, got ${iouThreshold}`);
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i])) throw new Error(`${what}: score ${i} is NaN`);
}

/**
 * Greedy suppression over `sorted` (indices into boxes, in visiting order); appends kept indices to `keep`, at most
 * `limit`. The candidates' coordinates are gathered in visiting order first (contiguous inner loop), and pairs that
 * do not overlap are skipped without a division (their IoU is 0, or NaN for two empty boxes: never > a threshold
 * ≥ 0; for a negative threshold every pair takes the full computation, as torchvision).
 */
function suppress(boxes: Float32Array, areas: Float32Array, sorted: Int32Array, thr: number, limit: number, keep: number[]): void {
  const m = sorted.length;
  const x1 = new Float32Array(m);
  const y1 = new Float32Array(m);
  const x2 = new Float32Array(m);
  const y2 = new Float32Array(m);
  const ar = new Float32Array(m);
  for (let a = 0; a < m; a++) {
    const o = sorted[a]! * 4;
    x1[a] = boxes[o]!;
    y1[a] = boxes[o + 1]!;
    x2[a] = boxes[o + 2]!;
    y2[a] = boxes[o + 3]!;
    ar[a] = areas[sorted[a]!]!;
  }
  const shortcut = thr >= 0;
  const dead = new Uint8Array(m);
  let kept = 0;
  for (let a = 0; a < m && kept < limit; a++) {
    if (dead[a]) continue;
    keep.push(sorted[a]!);
    kept++;
    const ix1 = x1[a]!;
    const iy1 = y1[a]!;
    const ix2 = x2[a]!;
    const iy2 = y2[a]!;
    const iarea = ar[a]!;
    for (let b = a + 1; b < m; b++) {
      if (dead[b]) continue;
      const dw = f((ix2 < x2[b]! ? ix2 : x2[b]!) - (ix1 > x1[b]! ? ix1 : x1[b]!));
      if (shortcut && !(dw > 0)) continue;
      const dh = f((iy2 < y2[b]! ? iy2 : y2[b]!) - (iy1 > y1[b]! ? iy1 : y1[b]!));
      if (shortcut && !(dh > 0)) continue;
      const inter = f((dw > 0 ? dw : 0) * (dh > 0 ? dh : 0));
      const ovr = f(inter / f(f(iarea + ar[b]!) - inter));
      if (ovr > thr) dead[b] = 1;
    }
  }
}

function areasOf(boxes: Float32Array): Float32Array {
  const n = boxes.length / 4;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(f(boxes[i * 4 + 2]! - boxes[i * 4]!) * f(boxes[i * 4 + 3]! - boxes[i * 4 + 1]!));
  return out;
}

function limitOf(opts: NmsOptions): number {
  const limit = opts.maxOutput ?? Infinity;
  if (!(limit >= 0)) throw new Error(`nms: maxOutput must be ≥ 0, got ${limit}`);
  return limit;
}

/**
 * torchvision `nms(boxes, scores, iouThreshold)`: the indices of the kept boxes, by descending score (ties: lower
 * index first).
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number, opts: NmsOptions = {}): Int32Array {
  const b = asF32(boxes);
  const s = asF32(scores);
  checkInputs(b, s, iouThreshold, 'nms');
  const keep: number[] = [];
  suppress(b, areasOf(b), order(s), iouThreshold, limitOf(opts), keep);
  return Int32Array.from(keep);
}

/**
 * torchvision `batched_nms(boxes, scores, classIds, iouThreshold)`: NMS within each class independently; the kept
 * indices of all classes by descending score (ties: lower index first).
 */
export function batchedNms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  classIds: ArrayLike<number>,
  iouThreshold: number,
  opts: NmsOptions = {},
): Int32Array {
  const b = asF32(boxes);
  const s = asF32(scores);
  checkInputs(b, s, iouThreshold, 'batchedNms');
  const n = s.length;
  if (classIds.length !== n) throw new Error(`batchedNms: ${n} boxes but ${classIds.length} class ids`);
  const limit = limitOf(opts);
  // Group indices by class (in index order), then NMS per class.
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = classIds[i]!;
    if (!Number.isInteger(c)) throw new Error(`batchedNms: class id ${i} is not an integer (${c})`);
    let g = groups.get(c);
    if (!g) groups.set(c, (g = []));
    g.push(i);
  }
  const areas = areasOf(b);
  const keep: number[] = [];
  for (const g of groups.values()) suppress(b, areas, order(s, Int32Array.from(g)), iouThreshold, limit, keep);
  const merged = order(s, Int32Array.from(keep));
  return merged.length > limit ? merged.slice(0, limit) : merged;
}
