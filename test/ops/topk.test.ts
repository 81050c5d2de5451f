/**
 * src/ops/topk.ts, src/ops/sigmoid32.ts and src/ops/typed-rows.ts (the typed-array pieces the RetinaNet and RPN
 * post-processing share): quickselect and top-k against a full stable sort (random values, heavy ties, n ≤ k, k = n,
 * −0 / +0 and ±Infinity), the input left untouched; the float32 sigmoid; row concatenation and selection.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/nn/rng.js';
import { sigmoid32 } from '../../src/ops/sigmoid32.js';
import { kthLargest, topKIndices } from '../../src/ops/topk.js';
import { concatArrays, pickRows } from '../../src/ops/typed-rows.js';

/** Reference: every position sorted by value descending, ties by position; the first k. */
function referenceTopK(values: Float32Array, k: number): number[] {
  return Array.from(values, (_, i) => i)
    .sort((a, b) => values[b]! - values[a]! || a - b)
    .slice(0, k);
}

function randomValues(rng: Rng, n: number, levels: number): Float32Array {
  // levels > 0: values quantised to that many distinct levels (many ties)
  return Float32Array.from({ length: n }, () => (levels > 0 ? rng.int(levels) - levels / 2 : rng.normal() * 5));
}

describe('kthLargest', () => {
  it('is the k-th value of the descending sort, for every k, with and without ties', () => {
    const rng = new Rng(11);
    for (const [n, levels] of [[1, 0], [7, 0], [50, 3], [200, 0], [333, 17]] as const) {
      const v = randomValues(rng, n, levels);
      const sorted = Array.from(v).sort((a, b) => b - a);
      for (let k = 1; k <= n; k++) expect(kthLargest(v.slice(), k), `n ${n} k ${k}`).toBe(sorted[k - 1]);
    }
  });
});

describe('topKIndices', () => {
  it('matches a stable full sort on random and tied values, and leaves the input unchanged', () => {
    const rng = new Rng(3);
    for (const [n, k, levels] of [[1000, 100, 0], [1000, 100, 4], [5000, 1000, 9], [300, 7, 2], [64, 64, 3], [10, 20, 0], [0, 5, 0]] as const) {
      const v = randomValues(rng, n, levels);
      const copy = v.slice();
      expect(Array.from(topKIndices(v, k)), `n ${n} k ${k} levels ${levels}`).toEqual(referenceTopK(v, k));
      expect(v).toEqual(copy);
    }
  });

  it('handles infinities and signed zeros (−0 ties +0, lower position first)', () => {
    const v = Float32Array.of(0, -Infinity, Infinity, -0, 2, Infinity, 0);
    expect(Array.from(topKIndices(v, 3))).toEqual([2, 5, 4]);
    expect(Array.from(topKIndices(v, 5))).toEqual([2, 5, 4, 0, 3]);
    expect(Array.from(topKIndices(v, 7))).toEqual([2, 5, 4, 0, 3, 6, 1]);
  });
});

describe('sigmoid32', () => {
  it('is the float32 rounding of 1 / (1 + e^−x), monotone and saturating', () => {
    for (const x of [-100, -4.59512, -1, 0, 0.3, 2, 17, 100]) expect(sigmoid32(x)).toBe(Math.fround(1 / (1 + Math.exp(-x))));
    expect(sigmoid32(0)).toBe(0.5);
    expect(sigmoid32(40)).toBe(1);
    expect(sigmoid32(-1)).toBeLessThan(sigmoid32(-0.999));
  });
});

describe('concatArrays / pickRows', () => {
  it('concatenates parts of one typed-array type, empty parts included', () => {
    const c = concatArrays([Int32Array.of(1, 2), new Int32Array(0), Int32Array.of(3)], Int32Array);
    expect(c).toBeInstanceOf(Int32Array);
    expect(Array.from(c)).toEqual([1, 2, 3]);
    expect(concatArrays([], Float32Array)).toEqual(new Float32Array(0));
    expect(Array.from(concatArrays([Uint8Array.of(255), Uint8Array.of(0, 1)], Uint8Array))).toEqual([255, 0, 1]);
  });

  it('picks rows in the given order (repeats allowed) and keeps the array type', () => {
    const boxes = Float32Array.of(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5);
    const picked = pickRows(boxes, [2, 0, 2], 4);
    expect(picked).toBeInstanceOf(Float32Array);
    expect(Array.from(picked)).toEqual([4, 4, 5, 5, 0, 0, 1, 1, 4, 4, 5, 5]);
    expect(Array.from(pickRows(Int32Array.of(7, 8, 9), Int32Array.of(1), 1))).toEqual([8]);
    expect(pickRows(boxes, [], 4)).toEqual(new Float32Array(0));
  });
});
