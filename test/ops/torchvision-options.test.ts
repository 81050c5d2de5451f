/**
 * The torchvision options of the shared ops, on hand-checked values (the whole-detector parity test exercises them
 * against torchvision itself): `decodeDeltas({ weights })` (torchvision `BoxCoder.decode_single`),
 * `mapRoiLevelsTorchvision` (`MultiScaleRoIAlign`'s `LevelMapper`), `pasteMasks({ semantics: 'torchvision' })`
 * (`paste_masks_in_image`) and its `strict` threshold.
 */
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/structures/rle.js';
import { BBOX_XFORM_CLIP, decodeDeltas } from '../../src/ops/box-coder.js';
import { pasteMaskProbsTorchvision, pasteMasks } from '../../src/ops/paste-masks.js';
import { mapRoiLevelsTorchvision } from '../../src/ops/roi-extractor.js';

describe('decodeDeltas with torchvision weights', () => {
  it('divides by the weights, clamps dw / dh above only', () => {
    const roi = Float32Array.of(10, 20, 50, 100); // w 40, h 80, centre (30, 60)
    const [x1, y1, x2, y2] = decodeDeltas(roi, Float32Array.of(10, -5, 0, 0), { weights: [10, 10, 5, 5] });
    expect([x1, y1, x2, y2]).toEqual([50, -20, 90, 60]); // centre (30 + 1·40, 60 − 0.5·80), no clipping without maxShape
    const big = decodeDeltas(roi, Float32Array.of(0, 0, 100, -100), { weights: [1, 1, 1, 1] });
    expect(big[2]! - big[0]!).toBeCloseTo(40 * Math.exp(BBOX_XFORM_CLIP), 1); // clamped at log(1000/16)
    expect(big[3]! - big[1]!).toBeLessThan(1e-30); // exp(−100) · 80: no lower clamp (mmdet would give 80 · 16/1000)
    expect(() => decodeDeltas(roi, Float32Array.of(0, 0, 0, 0), { weights: [1, 1, 1, 1], stds: [1, 1, 1, 1] })).toThrow(/either torchvision/);
  });
});

describe('torchvision LevelMapper', () => {
  it('⌊4 + log2(√(wh)/224) + 1e-6⌋ clamped to P2–P5', () => {
    const side = (s: number) => [0, 0, s, s];
    const boxes = Float32Array.from([...side(10), ...side(111.9), ...side(112), ...side(224), ...side(447), ...side(448), ...side(5000), 0, 0, 0, 0]);
    expect(Array.from(mapRoiLevelsTorchvision(boxes, [4, 8, 16, 32]))).toEqual([0, 0, 1, 2, 2, 3, 3, 0]);
    expect(Array.from(mapRoiLevelsTorchvision(Float32Array.of(0, 0, -4, 4), [4, 8, 16, 32]))).toEqual([-1]); // NaN scale
  });
});

describe("torchvision's paste_masks_in_image", () => {
  it('a constant mask fills the widened, truncated box; > vs ≥ at the threshold', () => {
    const M = 28;
    const ones = new Float32Array(M * M).fill(1);
    // box [10, 10, 38, 38]: half 14 · 30/28 = 15 → [9, 9, 39, 39] (inclusive) → 31 × 31 px, the padded border
    // fades out over the outermost pixels
    const p = pasteMaskProbsTorchvision(ones, M, [10, 10, 38, 38], 64, 64);
    expect([p.x0, p.y0, p.x1, p.y1]).toEqual([9, 9, 40, 40]);
    const w = p.x1 - p.x0;
    expect(p.values[15 * w + 15]).toBeCloseTo(1, 6);
    expect(p.values[0]).toBeLessThan(0.5);
    const half = new Float32Array(M * M).fill(0.5);
    const [strict] = pasteMasks(half, [[10, 10, 38, 38]], 64, 64, { semantics: 'torchvision', strict: true, maskSize: M });
    const [loose] = pasteMasks(half, [[10, 10, 38, 38]], 64, 64, { semantics: 'torchvision', maskSize: M });
    expect(decode(strict!).reduce((a, v) => a + v, 0)).toBe(0);
    expect(decode(loose!).reduce((a, v) => a + v, 0)).toBeGreaterThan(0);
  });
});
