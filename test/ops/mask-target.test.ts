/**
 * Mask targets (src/ops/mask-target.ts) against mmdet's mask_target_single + BitmapMasks.crop_and_resize written in
 * torch (fixture: pooled values within 1e-5, binary targets equal), bitmap and RLE GT alike, and hand-computed cases:
 * a square mask in its own box and in a box twice as large, a horizontal flip, a reversed box.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/structures/rle.js';
import { maskTargets, maskTargetsData, type GtMasks } from '../../src/ops/mask-target.js';
import { expectClose, trackTensors } from '../nn/helpers.js';
import { loadOpsFixtures } from './roi-align-fixtures.js';

trackTensors('test');

const M = 28;

/** H×W row-major bitmap with ones on rows [r0, r1) × columns [c0, c1). */
function rect(H: number, W: number, r0: number, r1: number, c0: number, c1: number): Uint8Array {
  const m = new Uint8Array(H * W);
  for (let r = r0; r < r1; r++) m.fill(1, r * W + c0, r * W + c1);
  return m;
}

/** Rows of an M×M target as strings of 0/1, for readable failures. */
const rows = (t: Float32Array, i = 0) => Array.from({ length: M }, (_, r) => Array.from(t.subarray(i * M * M + r * M, i * M * M + (r + 1) * M)).join(''));

describe('maskTargets vs mmdet (torch fixture)', () => {
  const fx = loadOpsFixtures();
  const c = fx.cases.find((k) => k.kind === 'mask_target')!;
  const H = c.config.height as number;
  const W = c.config.width as number;
  const read = (key: string) => {
    const t = fx.tensor(c, key);
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  };
  const gtData = read('gtMasks');
  const G = gtData.length / (H * W);
  const bitmaps = Array.from({ length: G }, (_, g) => Uint8Array.from(gtData.subarray(g * H * W, (g + 1) * H * W)));
  const proposals = read('proposals');
  const raw = read('raw');
  const targets = read('targets');

  it('pooled values within 1e-5 and binary targets equal (bitmap GT)', () => {
    const gt: GtMasks = { height: H, width: W, masks: bitmaps };
    const soft = maskTargetsData(proposals, c.assigned!, gt, { binarize: false });
    expectClose(soft, raw, { atol: 1e-5 }, 'pooled');
    const hard = maskTargetsData(proposals, c.assigned!, gt);
    // A pixel may only differ where torch's value is within float noise of 0.5; there is none in this fixture.
    let differ = 0;
    for (let i = 0; i < hard.length; i++) if (hard[i] !== targets[i] && Math.abs(raw[i]! - 0.5) > 1e-5) differ++;
    expect(differ).toBe(0);
    expect(Array.from(hard)).toEqual(Array.from(targets));
  });

  it('gives the same targets from COCO RLE GT', () => {
    const rles = bitmaps.map((b) => encode(b, H, W, 'row'));
    const fromRle = maskTargetsData(proposals, c.assigned!, { height: H, width: W, masks: rles });
    expect(Array.from(fromRle)).toEqual(Array.from(targets));
  });

  it('returns a [P, 28, 28] tensor', () => {
    const t = maskTargets(proposals, c.assigned!, { height: H, width: W, masks: bitmaps });
    expect(t.shape).toEqual([c.assigned!.length, M, M]);
    expectClose(t, targets, { atol: 0 }, 'tensor');
    t.dispose();
  });
});

describe('maskTargets, hand-computed', () => {
  const H = 40;
  const W = 50;
  // The square of rows 10…29, columns 12…31: its box is [12, 10, 32, 30].
  const square = rect(H, W, 10, 30, 12, 32);
  const gt: GtMasks = { height: H, width: W, masks: [square] };

  it("a mask's own box gives all ones", () => {
    const t = maskTargetsData([[12, 10, 32, 30]], [0], gt);
    expect(Array.from(t).every((v) => v === 1)).toBe(true);
  });

  it('a box twice as large shows the square in bins 7…20 of both axes', () => {
    // Box [2, 0, 42, 40]: bins are 40/28 px wide; bin 7 starts at x = 12, bin 21 at x = 32 (the square's edges).
    const t = maskTargetsData([[2, 0, 42, 40]], [0], gt);
    const want = Array.from({ length: M }, (_, r) =>
      Array.from({ length: M }, (_, q) => (r >= 7 && r <= 20 && q >= 7 && q <= 20 ? 1 : 0)).join(''),
    );
    expect(rows(t)).toEqual(want);
  });

  it('a horizontally flipped image and box give the flipped target', () => {
    const blob = new Uint8Array(H * W);
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) blob[r * W + c] = (c - 17) ** 2 / 90 + (r - 21) ** 2 / 50 <= 1 || (r > c && r < c + 4) ? 1 : 0;
    const flipped = new Uint8Array(H * W);
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) flipped[r * W + c] = blob[r * W + (W - 1 - c)]!;
    const boxes = [[5.3, 8.2, 33.9, 35.1], [0, 0, 50, 40], [3, 2, 20.5, 39]];
    const mirror = boxes.map(([x1, y1, x2, y2]) => [W - x2!, y1!, W - x1!, y2!]);
    const a = maskTargetsData(boxes, [0, 0, 0], { height: H, width: W, masks: [blob] }, { binarize: false });
    const b = maskTargetsData(mirror, [0, 0, 0], { height: H, width: W, masks: [flipped] }, { binarize: false });
    // Equal up to float32 rounding of the mirrored coordinates (W − x).
    let maxDiff = 0;
    for (let i = 0; i < boxes.length; i++) {
      for (let r = 0; r < M; r++) {
        for (let q = 0; q < M; q++) {
          maxDiff = Math.max(maxDiff, Math.abs(b[i * M * M + r * M + q]! - a[i * M * M + r * M + (M - 1 - q)]!));
        }
      }
    }
    expect(maxDiff).toBeLessThan(1e-5);
    expect(a.some((v) => v > 0.5)).toBe(true);
  });

  it('a reversed box (x2 < x1) gives zeros, as mmdet', () => {
    const t = maskTargetsData([[32, 10, 12, 30]], [0], gt);
    expect(Array.from(t).every((v) => v === 0)).toBe(true);
  });

  it('returns an empty result for no proposals', () => {
    expect(maskTargetsData([], [], gt).length).toBe(0);
    const t = maskTargets([], [], gt);
    expect(t.shape).toEqual([0, M, M]);
    t.dispose();
  });

  it('rejects bad input with the field named', () => {
    expect(() => maskTargetsData([[0, 0, 5, 5]], [1], gt)).toThrow('maskTargets: assignedGt[0]: expected an integer in [0, 0] (1 GT masks), got 1');
    expect(() => maskTargetsData([[0, 0, 5, 5]], [0, 0], gt)).toThrow('2 assigned GT indices for 1 proposals');
    expect(() => maskTargetsData([[0, NaN, 5, 5]], [0], gt)).toThrow('maskTargets: proposals[0].y1: expected a finite number');
    expect(() => maskTargetsData([[0, 0, 5, 5]], [0], { height: H, width: W, masks: [new Uint8Array(10)] })).toThrow(
      'maskTargets: gtMasks[0]: bitmap has 10 values, expected height·width = 40·50 = 2000',
    );
    const rle = encode(new Uint8Array(30 * 50), 30, 50);
    expect(() => maskTargetsData([[0, 0, 5, 5]], [0], { height: H, width: W, masks: [rle] })).toThrow(
      'gtMasks[0]: RLE size [30, 50] differs from the image size [40, 50]',
    );
  });

  it('keeps the tensor count flat over repeated calls', () => {
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) maskTargets([[12, 10, 32, 30]], [0], gt).dispose();
    expect(tf.memory().numTensors).toBe(n);
  });
});
