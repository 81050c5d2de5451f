/**
 * eval/occlusion-bins.ts: bins of width 1/n with the last one closed, cumulative levels r ≥ t, placement of values
 * on the edges (also those whose product r·n rounds below the edge), the distribution summary and its text table.
 */
import { describe, expect, it } from 'vitest';
import { assignBins, binIndex, formatDistribution, makeBins, makeCumulativeLevels, occlusionDistribution } from '../../eval/occlusion-bins.js';

describe('occlusion bins', () => {
  it('default: 10 bins of width 0.1, the last closed; 10 cumulative levels', () => {
    const bins = makeBins();
    expect(bins).toHaveLength(10);
    expect(bins.map((b) => b.label)).toEqual([
      '[0, 0.1)', '[0.1, 0.2)', '[0.2, 0.3)', '[0.3, 0.4)', '[0.4, 0.5)', '[0.5, 0.6)', '[0.6, 0.7)', '[0.7, 0.8)', '[0.8, 0.9)', '[0.9, 1]',
    ]);
    expect(bins.filter((b) => b.closed).map((b) => b.index)).toEqual([9]);
    expect(makeCumulativeLevels().map((l) => l.label)).toEqual([
      'r ≥ 0', 'r ≥ 0.1', 'r ≥ 0.2', 'r ≥ 0.3', 'r ≥ 0.4', 'r ≥ 0.5', 'r ≥ 0.6', 'r ≥ 0.7', 'r ≥ 0.8', 'r ≥ 0.9',
    ]);
    expect(makeBins(4).map((b) => b.label)).toEqual(['[0, 0.25)', '[0.25, 0.5)', '[0.5, 0.75)', '[0.75, 1]']);
    expect(makeBins(3)[1]!.label).toBe('[0.333333, 0.666667)');
  });

  it('values on edges go to the bin that starts there; 1 goes to the last bin', () => {
    expect(binIndex(0)).toBe(0);
    expect(binIndex(0.1)).toBe(1);
    expect(binIndex(0.7)).toBe(7); // 0.7·10 = 7.000000000000001, 0.7 ≥ 7/10 exactly
    expect(binIndex(0.3)).toBe(3);
    expect(binIndex(0.1 * 3)).toBe(3); // 0.30000000000000004
    expect(binIndex(0.09999999999999999)).toBe(0);
    expect(binIndex(0.6999999999999999)).toBe(6);
    expect(binIndex(1)).toBe(9);
    expect(binIndex(0.95)).toBe(9);
    for (let n = 1; n <= 20; n++) {
      for (let k = 0; k < n; k++) {
        expect(binIndex(k / n, n)).toBe(k);
        if (k > 0) expect(binIndex(k / n - 1e-12, n)).toBe(k - 1);
      }
      expect(binIndex(1, n)).toBe(n - 1);
    }
    expect(() => binIndex(Number.NaN)).toThrow(/in \[0, 1\]/);
    expect(() => binIndex(1.01)).toThrow(/in \[0, 1\]/);
    expect(() => binIndex(-0.1)).toThrow(/in \[0, 1\]/);
    expect(() => makeBins(0)).toThrow(/from 1 to 100/);
    expect(() => makeBins(2.5)).toThrow(/from 1 to 100/);
  });

  it('assigns images to bins and levels; a level holds its bin and all above', () => {
    const ratios = new Map([[5, 0], [3, 0.05], [9, 0.1], [1, 0.55], [2, 1], [4, 0.9], [7, 0.35]]);
    const a = assignBins(ratios, 10);
    expect(a.binImages).toEqual([[3, 5], [9], [], [7], [], [1], [], [], [], [2, 4]]);
    expect(a.levelImages[0]).toEqual([1, 2, 3, 4, 5, 7, 9]);
    expect(a.levelImages[1]).toEqual([1, 2, 4, 7, 9]);
    expect(a.levelImages[6]).toEqual([2, 4]);
    expect(a.levelImages[9]).toEqual([2, 4]);
    expect(a.binOf.get(2)).toBe(9);
    expect(() => assignBins(new Map([[12, 1.5]]))).toThrow(/image 12: occlusion ratio must be in \[0, 1\], got 1\.5/);
  });

  it('distribution: counts, instances, shares, mean, median; text table', () => {
    const ratios = new Map([[1, 0], [2, 0], [3, 0.25], [4, 0.5]]);
    const inst = new Map([[1, 1], [3, 4], [4, 2]]); // image 2 has no instances
    const d = occlusionDistribution(ratios, inst, 4);
    expect(d.images).toBe(4);
    expect(d.instances).toBe(7);
    expect(d.imagesWithTwoOrMore).toBe(2);
    expect(d.mean).toBeCloseTo(0.1875, 12);
    expect(d.median).toBeCloseTo(0.125, 12);
    expect(d.max).toBe(0.5);
    expect(d.bins.map((b) => [b.images, b.instances, b.fraction])).toEqual([[2, 1, 0.5], [1, 4, 0.25], [1, 2, 0.25], [0, 0, 0]]);
    expect(d.levels.map((l) => l.images)).toEqual([4, 2, 1, 0]);
    const text = formatDistribution(d, 10);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2 + 4);
    expect(lines[0]).toMatch(/^bin\s+images\s+%\s+instances\s+level\s+images\s+%$/);
    expect(lines[2]).toMatch(/^\[0, 0\.25\)\s+2\s+50\.0\s+1\s+█{10}\s+r ≥ 0\s+4\s+100\.0$/);
    expect(lines[5]).toMatch(/^\[0\.75, 1\]\s+0\s+0\.0\s+0\s+r ≥ 0\.75\s+0\s+0\.0$/);
  });
});
