/** Pure parts of the filter analysis (src/analysis/filter-similarity.ts). */
import { describe, expect, it } from 'vitest';
import { PairAverager, pairwiseCosine, sampleIndices, weightFilterVectors } from '../../src/analysis/filter-similarity.js';
import { Rng } from '../../src/nn/rng.js';

const f = (...v: number[]): Float32Array => new Float32Array(v);

describe('pairwiseCosine', () => {
  it('identical filters → 1, opposite → −1, orthogonal → 0, scale-invariant, zero vector → NaN', () => {
    const s = pairwiseCosine([f(1, 2, 3), f(1, 2, 3), f(-2, -4, -6), f(3, 0, -1), f(0, 0, 0)]);
    expect(s).toHaveLength(10);
    expect(s[0]).toBeCloseTo(1, 12); // (0,1)
    expect(s[1]).toBeCloseTo(-1, 12); // (0,2)
    expect(s[2]).toBeCloseTo(0, 12); // (0,3)
    expect(Number.isNaN(s[3]!)).toBe(true); // (0,4)
    expect(s[4]).toBeCloseTo(-1, 12); // (1,2)
  });

  it('rejects vectors of different lengths', () => {
    expect(() => pairwiseCosine([f(1, 2), f(1, 2, 3)])).toThrow(/vector 1 has 3 values/);
  });
});

describe('PairAverager', () => {
  it('averages each pair over the images where it is defined', () => {
    const a = new PairAverager(3);
    a.add(new Float64Array([1, 0.5, NaN]));
    a.add(new Float64Array([0, NaN, NaN]));
    expect(a.means()).toEqual({ values: [0.5, 0.5], undefinedPairs: 1 });
  });
});

describe('weightFilterVectors', () => {
  it('reads the cout filters of a [kh, kw, cin, cout] weight; identical filters have similarity 1', () => {
    // 1×1×2×3: filter o = [w[0·3+o], w[1·3+o]]
    const w = f(1, 1, 5, 2, 2, -1);
    const v = weightFilterVectors(w, [1, 1, 2, 3]);
    expect(v.map((x) => Array.from(x))).toEqual([
      [1, 2],
      [1, 2],
      [5, -1],
    ]);
    expect(pairwiseCosine(v)[0]).toBeCloseTo(1, 12);
  });

  it('rejects a shape that does not match', () => {
    expect(() => weightFilterVectors(f(1, 2, 3), [1, 1, 2, 2])).toThrow(/3 values for shape/);
    expect(() => weightFilterVectors(f(1, 2), [2])).toThrow(/4-D/);
  });
});

describe('sampleIndices', () => {
  it('k distinct sorted indices, all when k ≥ n, deterministic for a seed', () => {
    const r1 = new Rng(5);
    const r2 = new Rng(5);
    const a = sampleIndices(100, 10, () => r1.uniform());
    expect(a).toEqual(sampleIndices(100, 10, () => r2.uniform()));
    expect(new Set(a).size).toBe(10);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(sampleIndices(4, 10, Math.random)).toEqual([0, 1, 2, 3]);
  });
});
