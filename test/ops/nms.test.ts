/**
 * src/ops/nms.ts against torchvision `nms` / `batched_nms` keep lists (tools/fixtures/detection_ops.py): clustered
 * boxes with many overlaps, quantised scores with explicit ties, an IoU exactly at the threshold, several classes;
 * and a 1500-box, 20-class case. Keep lists must be identical (same indices, same order).
 */
import { describe, expect, it } from 'vitest';
import { batchedNms, nms } from '../../src/ops/nms.js';
import { loadDetectionFixture } from './detection-fixtures.js';

interface NmsSet {
  boxes: number[];
  scores: number[];
  classes: number[];
}
interface NmsCase {
  name: string;
  iouThreshold: number;
  set: string;
  batched?: boolean;
  keep: number[];
}
const fx = loadDetectionFixture<{ sets: Record<string, NmsSet>; cases: NmsCase[] }>('nms.json');

describe('nms / batchedNms vs torchvision', () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const s = fx.sets[c.set]!;
      const boxes = Float32Array.from(s.boxes);
      const scores = Float32Array.from(s.scores);
      const keep = c.batched ? batchedNms(boxes, scores, s.classes, c.iouThreshold) : nms(boxes, scores, c.iouThreshold);
      expect(Array.from(keep)).toEqual(c.keep);
    });
  }
});

describe('nms semantics', () => {
  const boxes = [0, 0, 4, 1, 0, 0, 2, 1, 10, 10, 20, 20, 10, 10, 20, 20];

  it('suppresses only IoU > threshold (IoU exactly 0.5 survives 0.5)', () => {
    expect(Array.from(nms(boxes, [0.9, 0.8, 0.1, 0.2], 0.5))).toEqual([0, 1, 3]);
    expect(Array.from(nms(boxes, [0.9, 0.8, 0.1, 0.2], 0.49))).toEqual([0, 3]);
  });

  it('breaks score ties by the lower index', () => {
    expect(Array.from(nms(boxes, [0.5, 0.5, 0.7, 0.7], 0.3))).toEqual([2, 0]);
  });

  it('keeps classes apart in batchedNms and orders the merged list by score', () => {
    expect(Array.from(batchedNms(boxes, [0.5, 0.6, 0.7, 0.9], [0, 0, 1, 2], 0.3))).toEqual([3, 2, 1]);
    expect(Array.from(batchedNms(boxes, [0.5, 0.6, 0.7, 0.9], [0, 0, 1, 1], 0.3))).toEqual([3, 1]);
  });

  it('maxOutput returns the prefix of the full keep list', () => {
    const s = fx.sets.large!;
    const full = batchedNms(s.boxes, s.scores, s.classes, 0.5);
    expect(Array.from(batchedNms(s.boxes, s.scores, s.classes, 0.5, { maxOutput: 100 }))).toEqual(Array.from(full.subarray(0, 100)));
    expect(Array.from(nms(s.boxes, s.scores, 0.5, { maxOutput: 7 }))).toEqual(Array.from(nms(s.boxes, s.scores, 0.5).subarray(0, 7)));
  });

  it('handles empty input and rejects bad input', () => {
    expect(nms([], [], 0.5).length).toBe(0);
    expect(batchedNms([], [], [], 0.5).length).toBe(0);
    expect(() => nms(boxes, [1, 2, 3], 0.5)).toThrow(/4 boxes but 3 scores/);
    expect(() => nms(boxes, [1, NaN, 3, 4], 0.5)).toThrow(/score 1 is NaN/);
    expect(() => batchedNms(boxes, [1, 2, 3, 4], [0, 1, 0.5, 0], 0.5)).toThrow(/class id 2 is not an integer/);
  });
});
