/**
 * src/ops/assigner.ts: parity with mmdetection's MaxIoUAssigner (re-implemented in plain torch by
 * tools/fixtures/detection_ops.py; exact equality of gt indices, labels and max overlaps) and the hand-written
 * cases of issue #8: low-quality matches, crowd ignore regions, images without GT.
 */
import { describe, expect, it } from 'vitest';
import {
  maxIouAssign,
  RETINANET_ASSIGNER,
  RPN_ASSIGNER,
  type MaxIoUAssignerOptions,
} from '../../src/ops/assigner.js';
import { toBoxArray } from '../../src/ops/boxes.js';
import { expectAllClose, loadDetectionFixture } from './detection-fixtures.js';

interface AssignCase {
  name: string;
  opts: MaxIoUAssignerOptions;
  priors: string;
  gtBoxes: number[];
  gtLabels: number[];
  ignoreBoxes: number[] | null;
  valid: number[] | null;
  gtInds: number[];
  maxOverlaps: number[];
  labels: number[];
}
const fx = loadDetectionFixture<{ priorSets: Record<string, number[]>; cases: AssignCase[] }>('assigner.json');

describe('MaxIoUAssigner vs mmdet', () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const r = maxIouAssign(
        {
          priors: Float32Array.from(fx.priorSets[c.priors]!),
          gtBoxes: Float32Array.from(c.gtBoxes),
          gtLabels: c.gtLabels,
          ignoreBoxes: c.ignoreBoxes ? Float32Array.from(c.ignoreBoxes) : undefined,
          valid: c.valid ? Uint8Array.from(c.valid) : undefined,
        },
        { ...c.opts, negIouThr: Array.isArray(c.opts.negIouThr) ? (c.opts.negIouThr as [number, number]) : c.opts.negIouThr },
      );
      expect(r.numGts).toBe(c.gtLabels.length);
      expect(Array.from(r.gtInds)).toEqual(c.gtInds);
      expect(Array.from(r.labels)).toEqual(c.labels);
      expectAllClose(r.maxOverlaps, c.maxOverlaps, { atol: 0 }, `${c.name} maxOverlaps`);
    });
  }

  it('the fixture cases exercise positives, negatives and ignores', () => {
    const retina = fx.cases.find((c) => c.name === 'retinanet')!;
    expect(retina.gtInds.some((g) => g === 4)).toBe(true); // the tiny GT got its low-quality match
    expect(retina.gtInds.some((g) => g === 3)).toBe(true); // duplicate GT: later GT wins the low-quality step
    const crowd = fx.cases.find((c) => c.name === 'rpn_crowd')!;
    expect(crowd.gtInds.filter((g) => g === -1).length).toBeGreaterThan(0);
  });
});

describe('MaxIoUAssigner by hand', () => {
  // Three 10×10 anchors along x.
  const anchors = toBoxArray([[0, 0, 10, 10], [10, 0, 20, 10], [20, 0, 30, 10]]);

  it('a GT with no anchor above posIouThr still gets its best anchor (low-quality match)', () => {
    const gt = toBoxArray([[12, 0, 22, 3]]); // IoU 24/106 = 0.226 with anchor 1, 6/124 with anchor 2
    const r = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [7] }, RETINANET_ASSIGNER);
    expect(Array.from(r.gtInds)).toEqual([0, 1, 0]);
    expect(Array.from(r.labels)).toEqual([-1, 7, -1]);
    const off = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [7] }, { ...RETINANET_ASSIGNER, matchLowQuality: false });
    expect(Array.from(off.gtInds)).toEqual([0, 0, 0]);
    // RPN's min_pos_iou 0.3 refuses the low-quality match at IoU < 0.3
    const rpn = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [7] }, RPN_ASSIGNER);
    expect(Array.from(rpn.gtInds)).toEqual([0, 0, 0]);
  });

  it('all anchors tied at a GT’s best IoU are assigned (gtMaxAssignAll), or only the first', () => {
    const gt = toBoxArray([[5, 0, 25, 10]]); // IoU 1/3 with anchors 0 and 2, 1/2 with anchor 1
    const wide = toBoxArray([[0, 0, 10, 10], [40, 0, 50, 10], [20, 0, 30, 10]]);
    expect(Array.from(maxIouAssign({ priors: wide, gtBoxes: gt, gtLabels: [1] }, RETINANET_ASSIGNER).gtInds)).toEqual([1, 0, 1]);
    const first = maxIouAssign({ priors: wide, gtBoxes: gt, gtLabels: [1] }, { ...RETINANET_ASSIGNER, gtMaxAssignAll: false });
    expect(Array.from(first.gtInds)).toEqual([1, 0, 0]);
  });

  it('an anchor tied between two GTs goes to the lower GT index (step 3)', () => {
    const gt = toBoxArray([[10, 0, 20, 10], [10, 0, 20, 10]]);
    const r = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [3, 4] }, { ...RETINANET_ASSIGNER, matchLowQuality: false });
    expect(Array.from(r.gtInds)).toEqual([0, 1, 0]);
  });

  it('crowd regions ignore the anchors they cover (IoF with the anchor > ignoreIofThr)', () => {
    const gt = toBoxArray([[0, 0, 10, 10]]);
    const crowd = toBoxArray([[18, 0, 40, 10]]); // covers anchor 2 fully (IoF 1), anchor 1 by 20 % (IoF 0.2)
    const opts = { ...RETINANET_ASSIGNER, ignoreIofThr: 0.5 };
    const r = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [2], ignoreBoxes: crowd }, opts);
    expect(Array.from(r.gtInds)).toEqual([1, 0, -1]);
    expect(r.maxOverlaps[2]).toBe(-1);
    // the threshold is strict (mmdet: iof > thr, compared in float32): IoF exactly float32(0.2) is kept at 0.2
    const at = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [2], ignoreBoxes: crowd }, { ...opts, ignoreIofThr: 0.2 });
    expect(Array.from(at.gtInds)).toEqual([1, 0, -1]);
    // ignoreIofThr ≤ 0 disables ignore regions
    const none = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [2], ignoreBoxes: crowd }, RETINANET_ASSIGNER);
    expect(Array.from(none.gtInds)).toEqual([1, 0, 0]);
  });

  it('compares thresholds in float32 like PyTorch: IoU float32(0.7) passes posIouThr 0.7', () => {
    const r = maxIouAssign(
      { priors: toBoxArray([[0, 0, 10, 10]]), gtBoxes: toBoxArray([[0, 0, 7, 10]]), gtLabels: [0] },
      { posIouThr: 0.7, negIouThr: 0.3, matchLowQuality: false },
    );
    expect(r.maxOverlaps[0]).toBe(Math.fround(0.7)); // 0.699999988… < 0.7 in double precision
    expect(Array.from(r.gtInds)).toEqual([1]);
  });

  it('an image without GT yields only negatives (invalid anchors stay ignored)', () => {
    const r = maxIouAssign({ priors: anchors, gtBoxes: new Float32Array(0), gtLabels: [] }, RETINANET_ASSIGNER);
    expect(r.numGts).toBe(0);
    expect(Array.from(r.gtInds)).toEqual([0, 0, 0]);
    expect(Array.from(r.labels)).toEqual([-1, -1, -1]);
    expect(Array.from(r.maxOverlaps)).toEqual([0, 0, 0]);
    const v = maxIouAssign({ priors: anchors, gtBoxes: new Float32Array(0), gtLabels: [], valid: Uint8Array.from([1, 0, 1]) }, RETINANET_ASSIGNER);
    expect(Array.from(v.gtInds)).toEqual([0, -1, 0]);
  });

  it('keeps mmdet’s quirk: a GT overlapping nothing, with minPosIou 0, claims every IoU-0 anchor', () => {
    const r = maxIouAssign({ priors: anchors, gtBoxes: toBoxArray([[100, 100, 110, 110]]), gtLabels: [5] }, RETINANET_ASSIGNER);
    expect(Array.from(r.gtInds)).toEqual([1, 1, 1]);
  });

  it('rejects inconsistent inputs', () => {
    expect(() => maxIouAssign({ priors: anchors, gtBoxes: toBoxArray([[0, 0, 1, 1]]), gtLabels: [] }, RETINANET_ASSIGNER)).toThrow(/1 GT boxes but 0 labels/);
    expect(() => maxIouAssign({ priors: anchors, gtBoxes: new Float32Array(0), gtLabels: [], valid: new Uint8Array(2) }, RETINANET_ASSIGNER)).toThrow(/3 priors but 2 valid flags/);
    expect(() => maxIouAssign({ priors: anchors, gtBoxes: new Float32Array(0), gtLabels: [] }, { posIouThr: NaN, negIouThr: 0.4 })).toThrow(/finite/);
  });
});
