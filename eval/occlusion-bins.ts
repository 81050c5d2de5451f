/**
 * Occlusion bins: the x axis of the paper's Fig. 7. The ratio r ∈ [0, 1] is cut into `n` bins of width 1/n
 * (default 10 of width 0.1): bin k is [k/n, (k+1)/n), the last one closed, [(n−1)/n, 1]. The cumulative levels
 * are r ≥ t for t = 0, 1/n, …, (n−1)/n (the level t = 0 holds every image). A ratio is placed by comparing it with
 * the edges k/n themselves (not by ⌊r·n⌋, which misplaces values such as 0.7 whose product rounds below 7).
 *
 * Also: the per-image assignment of a ratio map, and the distribution summary `tiedet occlusion-stats` prints
 * (counts per bin and level, instances per bin, mean / median, a text histogram). Pure TypeScript.
 */

export interface OcclusionBin {
  /** Position 0 … n−1. */
  index: number;
  lo: number;
  hi: number;
  /** true for the last bin: [lo, hi] instead of [lo, hi). */
  closed: boolean;
  /** '[0.3, 0.4)' or '[0.9, 1]'. */
  label: string;
}

export interface CumulativeLevel {
  index: number;
  /** r ≥ t */
  t: number;
  /** 'r ≥ 0.3' */
  label: string;
}

/** Largest number of bins accepted (a bin narrower than 1 % says nothing on COCO-sized sets). */
export const MAX_BINS = 100;

/** A number with at most 6 decimals, without trailing zeros (bin edges like 1/3 print as 0.333333). */
export function edgeLabel(v: number): string {
  return String(Number.parseFloat(v.toFixed(6)));
}

function checkBinCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BINS) {
    throw new RangeError(`number of bins must be an integer from 1 to ${MAX_BINS}, got ${String(n)}`);
  }
}

/** The n bins of width 1/n covering [0, 1]. */
export function makeBins(n = 10): OcclusionBin[] {
  checkBinCount(n);
  return Array.from({ length: n }, (_, k) => {
    const lo = k / n;
    const hi = (k + 1) / n;
    const closed = k === n - 1;
    return { index: k, lo, hi, closed, label: `[${edgeLabel(lo)}, ${edgeLabel(hi)}${closed ? ']' : ')'}` };
  });
}

/** The cumulative levels r ≥ k/n, k = 0 … n−1. */
export function makeCumulativeLevels(n = 10): CumulativeLevel[] {
  checkBinCount(n);
  return Array.from({ length: n }, (_, k) => ({ index: k, t: k / n, label: `r ≥ ${edgeLabel(k / n)}` }));
}

/** The bin (0 … n−1) of a ratio r ∈ [0, 1]; throws on anything else. */
export function binIndex(r: number, n = 10): number {
  if (!(r >= 0 && r <= 1)) throw new RangeError(`occlusion ratio must be in [0, 1], got ${String(r)}`);
  let k = Math.min(n - 1, Math.floor(r * n));
  // fix the floating-point rounding of r·n against the exact edges k/n
  while (k > 0 && r < k / n) k--;
  while (k < n - 1 && r >= (k + 1) / n) k++;
  return k;
}

export interface BinAssignment {
  n: number;
  bins: OcclusionBin[];
  levels: CumulativeLevel[];
  /** Image ids per bin, ascending. */
  binImages: number[][];
  /** Image ids per cumulative level (r ≥ t), ascending. */
  levelImages: number[][];
  /** image id → bin index */
  binOf: Map<number, number>;
}

/** Places every image of `ratios` (image id → r) into its bin and its cumulative levels. */
export function assignBins(ratios: ReadonlyMap<number, number>, n = 10): BinAssignment {
  const bins = makeBins(n);
  const levels = makeCumulativeLevels(n);
  const binImages: number[][] = bins.map(() => []);
  const binOf = new Map<number, number>();
  const ids = [...ratios.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const r = ratios.get(id)!;
    let k: number;
    try {
      k = binIndex(r, n);
    } catch (e) {
      throw new RangeError(`image ${id}: ${(e as Error).message}`);
    }
    binImages[k]!.push(id);
    binOf.set(id, k);
  }
  // level t = k/n holds bins k … n−1
  const levelImages = levels.map((l) => ids.filter((id) => binOf.get(id)! >= l.index));
  return { n, bins, levels, binImages, levelImages, binOf };
}

export interface OcclusionDistribution {
  n: number;
  images: number;
  /** Non-crowd instances over all images. */
  instances: number;
  /** Images with at least two non-crowd instances (the others have r = 0 by definition). */
  imagesWithTwoOrMore: number;
  mean: number;
  median: number;
  max: number;
  bins: (OcclusionBin & { images: number; instances: number; fraction: number })[];
  levels: (CumulativeLevel & { images: number; instances: number; fraction: number })[];
}

/**
 * Counts per bin and per cumulative level. `instances` gives each image's number of non-crowd instances (absent =
 * 0). Mean and median over all images (the median of an even count is the mean of the two middle values).
 */
export function occlusionDistribution(
  ratios: ReadonlyMap<number, number>,
  instances: ReadonlyMap<number, number>,
  n = 10,
): OcclusionDistribution {
  const a = assignBins(ratios, n);
  const total = ratios.size;
  const inst = (ids: number[]) => ids.reduce((s, id) => s + (instances.get(id) ?? 0), 0);
  const values = [...ratios.values()].sort((x, y) => x - y);
  const mid = values.length >> 1;
  const median = values.length === 0 ? 0 : values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  let allInstances = 0;
  let twoOrMore = 0;
  for (const id of ratios.keys()) {
    const c = instances.get(id) ?? 0;
    allInstances += c;
    if (c >= 2) twoOrMore++;
  }
  return {
    n,
    images: total,
    instances: allInstances,
    imagesWithTwoOrMore: twoOrMore,
    mean: values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0,
    median,
    max: values.length ? values[values.length - 1]! : 0,
    bins: a.bins.map((b, k) => ({
      ...b,
      images: a.binImages[k]!.length,
      instances: inst(a.binImages[k]!),
      fraction: total ? a.binImages[k]!.length / total : 0,
    })),
    levels: a.levels.map((l, k) => ({
      ...l,
      images: a.levelImages[k]!.length,
      instances: inst(a.levelImages[k]!),
      fraction: total ? a.levelImages[k]!.length / total : 0,
    })),
  };
}

/** The distribution as a text table with a bar per bin (for the terminal). */
export function formatDistribution(d: OcclusionDistribution, barWidth = 40): string {
  const maxImages = Math.max(1, ...d.bins.map((b) => b.images));
  const rows: string[][] = [['bin', 'images', '%', 'instances', '', 'level', 'images', '%']];
  for (let k = 0; k < d.n; k++) {
    const b = d.bins[k]!;
    const l = d.levels[k]!;
    const bar = '█'.repeat(Math.round((b.images / maxImages) * barWidth)) || (b.images > 0 ? '▏' : '');
    rows.push([b.label, String(b.images), (100 * b.fraction).toFixed(1), String(b.instances), bar, l.label, String(l.images),
      (100 * l.fraction).toFixed(1)]);
  }
  const w = rows[0]!.map((_, j) => (j === 4 ? barWidth : Math.max(...rows.map((r) => r[j]!.length))));
  const left = new Set([0, 4, 5]);
  const line = (r: string[]) => r.map((c, j) => (left.has(j) ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ').trimEnd();
  return [line(rows[0]!), w.map((x) => '-'.repeat(x)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
