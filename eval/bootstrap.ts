/**
 * Seeded nonparametric bootstrap over images, with percentile confidence intervals.
 *
 * A replicate draws n images with replacement from a set of n (each draw uniform, from the seeded xoshiro128**
 * generator of src/nn/rng.ts — pure TypeScript, no TF.js, so eval/ stays free of models and tensors) and is given to
 * the statistic as a vector of repeat counts, aligned with the image list. The statistic returns several values at
 * once (e.g. AP, AP50, AP75 of each model and their differences to a baseline on the *same* resample: a paired
 * bootstrap). A value that is undefined on a replicate (NaN, e.g. AP when the resample holds no ground truth) is
 * left out of that value's interval; `valid` says how many replicates remain.
 *
 * Intervals, from the (1−c)/2 and (1+c)/2 quantiles q_lo, q_hi of the replicate values (numpy's default linear
 * interpolation, `np.percentile(x, q)`: position q·(m−1) in the sorted values):
 *  - 'percentile': [q_lo, q_hi];
 *  - 'basic' (Davison & Hinkley's basic bootstrap interval): [2θ̂ − q_hi, 2θ̂ − q_lo] for the estimate θ̂ — it
 *    assumes θ̂ − θ is distributed like θ* − θ̂ and so corrects for a bias of the statistic. COCO AP needs that: on a
 *    finite set of images it is biased upward, the more the fewer the images (the interpolated precision is a
 *    running maximum of noisy precisions), so replicates sit above θ̂ and a percentile interval can miss θ̂.
 * `bias` = mean of the replicates − θ̂ (the bootstrap estimate of the statistic's bias), when θ̂ is given.
 */
import { Rng } from '../src/nn/rng.js';

/** Fills `out` (length n) with the repeat counts of n draws with replacement from n items. */
export function resampleCounts(rng: Rng, out: Int32Array): Int32Array {
  const n = out.length;
  out.fill(0);
  for (let i = 0; i < n; i++) out[rng.int(n)]!++;
  return out;
}

/** numpy's `percentile(sorted, 100·q)` (linear interpolation) of ascending finite values; NaN for none. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const pos = q * (m - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(m - 1, lo + 1);
  const f = pos - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return f === 0 ? a : a + (b - a) * f;
}

export type IntervalMethod = 'percentile' | 'basic';

export interface Interval {
  lo: number;
  hi: number;
  /** Replicates whose value was defined. */
  valid: number;
  /** Mean of the defined replicates minus the estimate (only when an estimate was given). */
  bias?: number;
}

/** The percentile interval of the finite values (null when there are none). */
export function percentileInterval(values: ArrayLike<number>, confidence = 0.95): Interval | null {
  return interval(values, confidence, 'percentile');
}

/** The basic bootstrap interval [2θ̂ − q_hi, 2θ̂ − q_lo] of the finite values around `estimate`, with its bias. */
export function basicInterval(values: ArrayLike<number>, estimate: number, confidence = 0.95): Interval | null {
  return interval(values, confidence, 'basic', estimate);
}

/**
 * An interval of the finite values by `method`; `bounds` clamps it (e.g. [0, 1] for AP). A non-finite `estimate`
 * gives null for 'basic' and no bias.
 */
export function interval(
  values: ArrayLike<number>,
  confidence: number,
  method: IntervalMethod,
  estimate?: number,
  bounds?: readonly [number, number],
): Interval | null {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) finite.push(values[i]!);
  if (finite.length === 0) return null;
  const sorted = Float64Array.from(finite).sort();
  const qlo = quantileSorted(sorted, (1 - confidence) / 2);
  const qhi = quantileSorted(sorted, (1 + confidence) / 2);
  const hasEstimate = estimate !== undefined && Number.isFinite(estimate);
  if (method === 'basic' && !hasEstimate) return null;
  let lo = method === 'basic' ? 2 * estimate! - qhi : qlo;
  let hi = method === 'basic' ? 2 * estimate! - qlo : qhi;
  if (bounds) {
    lo = Math.min(bounds[1], Math.max(bounds[0], lo));
    hi = Math.min(bounds[1], Math.max(bounds[0], hi));
  }
  const out: Interval = { lo, hi, valid: finite.length };
  if (hasEstimate) out.bias = finite.reduce((s, v) => s + v, 0) / finite.length - estimate!;
  return out;
}

export interface BootstrapOptions {
  /** Number of replicates B (≥ 1). */
  replicates: number;
  /** Seed of the generator (a number or a string; the same seed gives the same resamples). */
  seed: number | string;
  /** Confidence level of the intervals, default 0.95. */
  confidence?: number;
  /** Default 'percentile'; 'basic' needs `estimates`. */
  method?: IntervalMethod;
  /** The statistic's values on the original sample (one per value; NaN = undefined). */
  estimates?: ArrayLike<number>;
  /** Clamp every interval to [lo, hi] (per value: a function of its index). */
  bounds?: (value: number) => readonly [number, number] | undefined;
}

export interface BootstrapResult {
  /** One interval per value of the statistic (null where no replicate was defined). */
  intervals: (Interval | null)[];
  /** [replicates × values] the replicate values, row-major. */
  samples: Float64Array;
}

/**
 * Bootstraps a vector-valued statistic over n items: `statistic(counts, out)` writes its `m` values for the repeat
 * counts `counts` (length n) into `out` (NaN where undefined).
 */
export function bootstrap(
  n: number,
  m: number,
  statistic: (counts: Int32Array, out: Float64Array) => void,
  opts: BootstrapOptions,
): BootstrapResult {
  const B = opts.replicates;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`bootstrap replicates must be a positive integer, got ${B}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bootstrap: item count must be a non-negative integer, got ${n}`);
  const rng = new Rng(opts.seed);
  const counts = new Int32Array(n);
  const samples = new Float64Array(B * m).fill(Number.NaN);
  const row = new Float64Array(m);
  for (let b = 0; b < B; b++) {
    if (n === 0) break;
    resampleCounts(rng, counts);
    row.fill(Number.NaN);
    statistic(counts, row);
    samples.set(row, b * m);
  }
  const method = opts.method ?? 'percentile';
  if (method === 'basic' && (!opts.estimates || opts.estimates.length !== m)) {
    throw new RangeError(`bootstrap: the basic interval needs ${m} estimates`);
  }
  const intervals: (Interval | null)[] = [];
  const column = new Float64Array(B);
  for (let v = 0; v < m; v++) {
    for (let b = 0; b < B; b++) column[b] = samples[b * m + v]!;
    intervals.push(interval(column, opts.confidence ?? 0.95, method, opts.estimates?.[v], opts.bounds?.(v)));
  }
  return { intervals, samples };
}
