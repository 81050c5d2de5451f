/**
 * src/ops/anchors.ts against mmdetection's AnchorGenerator / anchor_inside_flags (re-implemented in plain torch by
 * tools/fixtures/detection_ops.py): base anchors, (y, x, anchor) grids, valid flags of padded batches, border
 * flags, the RetinaNet grid at 800×1344. Tolerance 0: anchors follow PyTorch's float32 arithmetic exactly.
 */
import { describe, expect, it } from 'vitest';
import {
  AnchorGenerator,
  anchorInsideFlags,
  baseAnchors,
  RETINANET_ANCHORS,
  RPN_ANCHORS,
  type FeatureSize,
} from '../../src/ops/anchors.js';
import { expectAllClose, loadDetectionFixture } from './detection-fixtures.js';

interface LevelCase {
  featSizes: FeatureSize[];
  padShape: [number, number];
  imgShape: [number, number];
  base: number[][];
  anchors: number[];
  valid: number[];
  inside0: number[];
  inside8: number[];
}
interface AnchorsFixture {
  retinanet: LevelCase;
  rpn: LevelCase;
  scaleMinor: { base: number[] };
  retinanet800x1344: { featSizes: FeatureSize[]; count: number; sum: number; sampleIndex: number[]; sample: number[] };
}

const fx = loadDetectionFixture<AnchorsFixture>('anchors.json');

describe('AnchorGenerator vs mmdet', () => {
  for (const [name, cfg] of [['retinanet', RETINANET_ANCHORS], ['rpn', RPN_ANCHORS]] as const) {
    const c = fx[name];
    it(`${name}: base anchors, grid, valid and inside flags`, () => {
      const gen = new AnchorGenerator(cfg);
      gen.baseAnchors.forEach((b, i) => expectAllClose(b, c.base[i]!, { atol: 0 }, `${name} base level ${i}`));
      const grid = gen.gridAnchors(c.featSizes);
      expectAllClose(grid.flat, c.anchors, { atol: 0 }, `${name} anchors`);
      expect(grid.counts).toEqual(c.featSizes.map(([h, w]) => h * w * gen.numBaseAnchors[0]!));
      const valid = gen.validFlags(c.featSizes, c.padShape);
      expect(Array.from(valid)).toEqual(c.valid);
      expect(Array.from(anchorInsideFlags(grid.flat, valid, c.imgShape, 0))).toEqual(c.inside0);
      expect(Array.from(anchorInsideFlags(grid.flat, valid, c.imgShape, 8))).toEqual(c.inside8);
      expect(Array.from(anchorInsideFlags(grid.flat, valid, c.imgShape, -1))).toEqual(c.valid);
    });
  }

  it('RetinaNet preset: 9 anchors per cell, ratio-major, sizes 32…512 at ratio 1', () => {
    const gen = new AnchorGenerator(RETINANET_ANCHORS);
    expect(gen.numBaseAnchors).toEqual([9, 9, 9, 9, 9]);
    // index = ratio · 3 + scale; ratio 1 (index 1), scale 2^0 (index 0) → anchor 3: a 4·stride square
    gen.baseAnchors.forEach((b, level) => {
      const s = 4 * 8 * 2 ** level;
      expect(Array.from(b.subarray(12, 16))).toEqual([-s / 2, -s / 2, s / 2, s / 2]);
    });
    const b0 = gen.baseAnchors[0]!;
    // ratio 0.5 (h/w) comes first: wider than tall
    expect(b0[2]! - b0[0]!).toBeGreaterThan(b0[3]! - b0[1]!);
    expect(new AnchorGenerator(RPN_ANCHORS).numBaseAnchors).toEqual([3, 3, 3, 3, 3]);
  });

  it('scale-major = false orders scales first (mmdet SSD-style)', () => {
    expectAllClose(baseAnchors(16, [2, 4], [0.5, 1, 2], false), fx.scaleMinor.base, { atol: 0 }, 'scale-minor base');
  });

  it('the full RetinaNet grid at 800×1344 matches mmdet (count, checksum, sampled rows) and is cached by shape', () => {
    const c = fx.retinanet800x1344;
    const gen = new AnchorGenerator(RETINANET_ANCHORS);
    const grid = gen.gridAnchors(c.featSizes);
    expect(grid.flat.length / 4).toBe(c.count);
    let sum = 0;
    for (const v of grid.flat) sum += v;
    expect(Math.abs(sum - c.sum)).toBeLessThanOrEqual(1e-9 * Math.abs(c.sum));
    const sample = c.sampleIndex.flatMap((i) => Array.from(grid.flat.subarray(i * 4, i * 4 + 4)));
    expectAllClose(sample, c.sample, { atol: 0 }, 'sampled anchors');
    // level views share the flat buffer; the same shape returns the same object
    expect(grid.levels[1]!.buffer).toBe(grid.flat.buffer);
    expect(grid.starts[1]).toBe(grid.counts[0]);
    expect(gen.gridAnchors(c.featSizes.map(([h, w]) => [h, w] as const))).toBe(grid);
    expect(gen.gridAnchors([[2, 2], [1, 1], [1, 1], [1, 1], [1, 1]])).not.toBe(grid);
  });

  it('rejects inconsistent configurations and sizes', () => {
    expect(() => new AnchorGenerator({ ...RETINANET_ANCHORS, scales: [8] })).toThrow(/either scales or/);
    expect(() => new AnchorGenerator({ strides: [8], ratios: [1] })).toThrow(/either scales or/);
    expect(() => new AnchorGenerator({ strides: [8], ratios: [0], scales: [1] })).toThrow(/ratios must be/);
    expect(() => new AnchorGenerator(RPN_ANCHORS).gridAnchors([[4, 4]])).toThrow(/1 feature sizes for 5 levels/);
    expect(() => new AnchorGenerator({ strides: [8], ratios: [1], scales: [1] }).gridAnchors([[2.5, 4]])).toThrow(/non-negative integers/);
  });
});
