/**
 * Mask pasting (src/ops/paste-masks.ts) against mmdet's _do_paste_mask written in torch (F.grid_sample,
 * align_corners=False): probabilities within 1e-5, binary masks equal; the RLE is COCO column-major; hand-computed
 * cases: an all-ones / half-ones mask in a box of its own size, a horizontal flip.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { area, decode, toBbox } from '../../src/structures/rle.js';
import { pasteMaskProbs, pasteMasks } from '../../src/ops/paste-masks.js';
import { expectClose, trackTensors } from '../nn/helpers.js';
import { loadOpsFixtures } from './roi-align-fixtures.js';

trackTensors('test');

const M = 28;

describe('pasteMasks vs mmdet _do_paste_mask (torch fixture)', () => {
  const fx = loadOpsFixtures();
  const c = fx.cases.find((k) => k.kind === 'paste')!;
  const h = c.config.height as number;
  const w = c.config.width as number;
  const read = (key: string) => {
    const t = fx.tensor(c, key);
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  };
  const probs = read('probs');
  const boxes = read('boxes');
  const pasted = read('pasted');
  const binary = read('binary');
  const N = boxes.length / 4;

  it('pasted probabilities within 1e-5 of torch for every box (inside, crossing, tiny, huge, zero-width, reversed)', () => {
    for (let i = 0; i < N; i++) {
      const p = pasteMaskProbs(probs, M, boxes.subarray(4 * i, 4 * i + 4), h, w, i * M * M);
      const full = new Float32Array(h * w);
      const pw = p.x1 - p.x0;
      for (let r = p.y0; r < p.y1; r++) for (let x = p.x0; x < p.x1; x++) full[r * w + x] = p.values[(r - p.y0) * pw + (x - p.x0)]!;
      expectClose(full, pasted.subarray(i * h * w, (i + 1) * h * w), { atol: 1e-5 }, `box ${i}`);
    }
  });

  it('binary masks (prob ≥ 0.5) equal torch, as column-major COCO RLE', () => {
    const rles = pasteMasks(probs, boxes, h, w);
    expect(rles.length).toBe(N);
    rles.forEach((rle, i) => {
      expect([rle.h, rle.w]).toEqual([h, w]);
      const got = decode(rle, 'row');
      const want = binary.subarray(i * h * w, (i + 1) * h * w);
      expect(Array.from(got), `box ${i}`).toEqual(Array.from(want));
    });
    expect(rles.some((r) => area(r) > 0)).toBe(true);
  });

  it('accepts a [N, 28, 28] tensor', () => {
    const t = tf.tensor3d(probs, [N, M, M]);
    const a = pasteMasks(t, boxes, h, w);
    const b = pasteMasks(probs, boxes, h, w);
    expect(a.map((r) => Array.from(r.counts))).toEqual(b.map((r) => Array.from(r.counts)));
    t.dispose();
  });
});

describe('pasteMasks, hand-computed', () => {
  const H = 40;
  const W = 50;

  it('an all-ones mask in a 28×28 box covers exactly the box', () => {
    // Box [10, 5, 38, 33]: pixel X samples mask column X − 10 exactly; columns −1 and 28 are zero padding.
    const [rle] = pasteMasks(new Float32Array(M * M).fill(1), [[10, 5, 38, 33]], H, W);
    expect(area(rle!)).toBe(28 * 28);
    expect(toBbox(rle!)).toEqual([10, 5, 28, 28]);
  });

  it('a left-half mask pastes into the left half of the box; the flipped mask in the mirrored box mirrors it', () => {
    const half = new Float32Array(M * M);
    for (let r = 0; r < M; r++) half.fill(0.9, r * M, r * M + 14);
    const [left] = pasteMasks(half, [[10, 5, 38, 33]], H, W);
    expect(toBbox(left!)).toEqual([10, 5, 14, 28]);

    // Fractional box and a non-trivial mask: flip both (x → W − x) and the result mirrors, pixel for pixel.
    const m = new Float32Array(M * M);
    for (let r = 0; r < M; r++) for (let q = 0; q < M; q++) m[r * M + q] = ((r * 7 + q * 13) % 29) / 28.5;
    const flipped = new Float32Array(M * M);
    for (let r = 0; r < M; r++) for (let q = 0; q < M; q++) flipped[r * M + q] = m[r * M + (M - 1 - q)]!;
    const box = [6.3, 4.7, 31.1, 36.2];
    const a = decode(pasteMasks(m, [box], H, W)[0]!, 'row');
    const b = decode(pasteMasks(flipped, [[W - box[2]!, box[1]!, W - box[0]!, box[3]!]], H, W)[0]!, 'row');
    let differ = 0;
    for (let r = 0; r < H; r++) for (let x = 0; x < W; x++) if (a[r * W + x] !== b[r * W + (W - 1 - x)]) differ++;
    expect(differ).toBe(0);
    expect(a.reduce((s, v) => s + v, 0)).toBeGreaterThan(100);
  });

  it('uses the threshold option (prob ≥ threshold)', () => {
    const p = new Float32Array(M * M).fill(0.3);
    expect(area(pasteMasks(p, [[10, 5, 38, 33]], H, W)[0]!)).toBe(0);
    expect(area(pasteMasks(p, [[10, 5, 38, 33]], H, W, { threshold: 0.25 })[0]!)).toBe(28 * 28);
  });

  it('pastes nothing for a box outside the image, and handles no boxes', () => {
    expect(area(pasteMasks(new Float32Array(M * M).fill(1), [[60, 50, 90, 80]], H, W)[0]!)).toBe(0);
    expect(pasteMasks(new Float32Array(0), [], H, W)).toEqual([]);
  });

  it('rejects bad input with the field named', () => {
    const p = new Float32Array(M * M);
    expect(() => pasteMasks(p, [[0, 0, Infinity, 5]], H, W)).toThrow('pasteMasks: boxes[0].x2: expected a finite number');
    expect(() => pasteMasks(p, [[0, 0, 5, 5], [1, 1, 4, 4]], H, W)).toThrow('784 probabilities for 2 boxes of 28×28');
    expect(() => pasteMasks(p, [[0, 0, 5, 5]], 0, W)).toThrow('image size must be positive integers');
    const t = tf.zeros([1, 28, 14]);
    expect(() => pasteMasks(t, [[0, 0, 5, 5]], H, W)).toThrow('probabilities must be [N, M, M]');
    t.dispose();
  });
});
