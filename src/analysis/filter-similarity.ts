/**
 * Filter similarity, the measure of the paper's Fig. 1 / 9 (PAPER.md "Filter redundancy"), as small pure
 * functions on typed arrays:
 *
 * - `pairwiseCosine(vectors)`: the cosine similarity of every pair i < j, row-major over the upper triangle
 *   (NaN for a pair with a zero vector: a filter whose guided pattern is zero on an image — it never fired —
 *   has no direction);
 * - `PairAverager`: the per-pair mean over images, skipping an image where the pair is undefined (the count of
 *   defined images is kept per pair);
 * - `weightFilterVectors(weight, shape)`: the filters of a conv weight stored [kh, kw, cin, cout] (TF.js layout)
 *   as cout vectors of kh·kw·cin — the "cheap weight-space view" (a TBC's stored weight holds its c′/B shared
 *   filters, so its filters are compared as stored).
 */

/** Cosine similarity of each pair (i < j) of the vectors, in the order (0,1), (0,2) … (1,2) …; NaN if one is 0. */
export function pairwiseCosine(vectors: readonly Float32Array[]): Float64Array {
  const n = vectors.length;
  const norms = vectors.map((v) => {
    let s = 0;
    for (let k = 0; k < v.length; k++) s += v[k]! * v[k]!;
    return Math.sqrt(s);
  });
  const out = new Float64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const a = vectors[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = vectors[j]!;
      if (b.length !== a.length) throw new RangeError(`pairwiseCosine: vector ${j} has ${b.length} values, vector ${i} has ${a.length}`);
      const d = norms[i]! * norms[j]!;
      if (d === 0) {
        out[p++] = NaN;
        continue;
      }
      let dot = 0;
      for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
      out[p++] = Math.max(-1, Math.min(1, dot / d));
    }
  }
  return out;
}

/** Running per-pair mean over images of pairwise similarities (NaN entries are skipped). */
export class PairAverager {
  private readonly sum: Float64Array;
  private readonly count: Uint32Array;

  constructor(readonly pairs: number) {
    this.sum = new Float64Array(pairs);
    this.count = new Uint32Array(pairs);
  }

  add(sims: Float64Array): void {
    if (sims.length !== this.pairs) throw new RangeError(`PairAverager: got ${sims.length} pairs, expected ${this.pairs}`);
    for (let p = 0; p < sims.length; p++) {
      const v = sims[p]!;
      if (Number.isNaN(v)) continue;
      this.sum[p] += v;
      this.count[p]++;
    }
  }

  /** The mean of each pair over the images where it was defined; pairs never defined are left out. */
  means(): { values: number[]; undefinedPairs: number } {
    const values: number[] = [];
    let undefinedPairs = 0;
    for (let p = 0; p < this.pairs; p++) {
      if (this.count[p] === 0) undefinedPairs++;
      else values.push(this.sum[p]! / this.count[p]!);
    }
    return { values, undefinedPairs };
  }
}

/** The cout filters of a conv weight [kh, kw, cin, cout] (row-major), each as a vector of kh·kw·cin values. */
export function weightFilterVectors(weight: Float32Array, shape: readonly number[]): Float32Array[] {
  if (shape.length !== 4) throw new RangeError(`weightFilterVectors: expected a 4-D conv weight, got shape [${shape.join(', ')}]`);
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const len = kh * kw * cin;
  if (weight.length !== len * cout) throw new RangeError(`weightFilterVectors: ${weight.length} values for shape [${shape.join(', ')}]`);
  const out: Float32Array[] = [];
  for (let o = 0; o < cout; o++) {
    const v = new Float32Array(len);
    for (let k = 0; k < len; k++) v[k] = weight[k * cout + o]!;
    out.push(v);
  }
  return out;
}

/** `k` distinct indices of 0…n−1 (all when k ≥ n), ascending, drawn with `uniform` (a seeded generator). */
export function sampleIndices(n: number, k: number, uniform: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return idx;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(uniform() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}
