/**
 * Top-k selection on typed arrays, shared by the detectors' post-processing (RPN proposals and RetinaNet's
 * `filter_scores_and_topk`): quickselect for the k-th largest value, and the positions of the k largest values —
 * the set `torch.topk` returns, in a deterministic order: value descending, ties by the lower position (torch and
 * mmdetection's `sort(descending=True)` leave the order of ties unspecified).
 *
 * Selection costs O(n) (quickselect on a copy, then one scan for the values above the k-th and one for the ties at
 * it, in position order); only the k winners are sorted. Values must not be NaN (the callers check).
 */

/** The k-th largest value (1-based k ≤ values.length) of `values`; reorders `values` (quickselect). */
export function kthLargest(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[target]!;
}

/**
 * Positions of the `k` largest of `values` (all of them when there are at most k), sorted by value descending,
 * ties by the lower position. With more than k values: every value above the k-th largest, then the ties at it in
 * position order until there are k. `values` is not modified.
 */
export function topKIndices(values: Float32Array, k: number): Int32Array {
  const n = values.length;
  let idx: Int32Array;
  if (n <= k) {
    idx = Int32Array.from({ length: n }, (_, i) => i);
  } else {
    const kth = kthLargest(Float32Array.from(values), k);
    idx = new Int32Array(k);
    let m = 0;
    for (let i = 0; i < n; i++) if (values[i]! > kth) idx[m++] = i;
    for (let i = 0; i < n && m < k; i++) if (values[i] === kth) idx[m++] = i;
  }
  return idx.sort((a, b) => values[b]! - values[a]! || a - b);
}
