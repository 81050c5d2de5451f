/**
 * RetinaNet post-processing (detectors/retinanet/postprocess.ts) on hand-made head outputs: score threshold and
 * top-k against a brute-force sort, decoding, un-flip + rescale + clip to the original image, per-class NMS,
 * max per image; and `toCocoResults`.
 */
import { describe, expect, it } from 'vitest';
import type { ImageMeta } from '../../data/meta.js';
import { toCocoResults } from '../../detectors/detector.js';
import { boxesToOriginal } from '../../data/transforms/inverse.js';
import { postProcessImage, topKAboveThreshold, type PostProcessOptions } from '../../detectors/retinanet/postprocess.js';
import { Rng } from '../../src/nn/rng.js';
import { sigmoid32 } from '../../src/ops/sigmoid32.js';
import { imageMeta } from './scene-parts.js';

const logit = (p: number) => Math.log(p / (1 - p));

/** Image 7: 200×100 resized to 100×50 (scale 0.5), padded to 128×64. */
function meta(over: Partial<Parameters<typeof imageMeta>[0]> = {}): ImageMeta {
  return imageMeta({ imageId: 7, w: 100, h: 50, originalSize: { width: 200, height: 100 }, padSize: { width: 128, height: 64 }, scaleFactor: [0.5, 0.5], ...over });
}

const OPTS: PostProcessOptions = {
  numClasses: 2,
  nmsPre: 1000,
  scoreThr: 0.05,
  minBboxSize: 0,
  nmsIouThr: 0.5,
  maxPerImg: 100,
  coder: { means: [0, 0, 0, 0], stds: [1, 1, 1, 1], whRatioClip: 16 / 1000 },
};

describe('topKAboveThreshold', () => {
  const bruteForce = (logits: Float32Array, k: number, thr = 0.05) =>
    [...logits.keys()]
      .map((i) => ({ i, s: sigmoid32(logits[i]!) }))
      .filter((e) => e.s > thr)
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, k);

  it('equals a brute-force filter + stable sort, with ties at the k-th score kept in index order', () => {
    const rng = new Rng(5);
    const logits = new Float32Array(5000);
    for (let i = 0; i < logits.length; i++) logits[i] = Math.round(rng.uniformIn(-6, 3) * 4) / 4; // many ties
    // and some saturated ones: distinct logits whose float32 sigmoid is exactly 1 (ties across different logits)
    for (let i = 0; i < logits.length; i += 17) logits[i] = rng.uniformIn(16, 40);
    for (const k of [1, 10, 100, 290, 300, 1000, 10000]) {
      const got = topKAboveThreshold(logits, 0.05, k);
      const all = bruteForce(logits, k);
      expect([...got.indices]).toEqual(all.map((e) => e.i));
      expect([...got.scores]).toEqual(all.map((e) => e.s));
    }
  });

  it('selects exactly among many candidates (histogram pre-selection): smooth, clustered and saturated logits', () => {
    const rng = new Rng(9);
    const smooth = rng.normalArray(200_000, -3.5, 0.8);
    const clustered = Float32Array.from({ length: 50_000 }, () => 1 + rng.int(3) * 1e-6); // three values, all candidates
    const saturated = Float32Array.from({ length: 20_000 }, () => rng.uniformIn(10, 60));
    for (const [name, logits] of [['smooth', smooth], ['clustered', clustered], ['saturated', saturated]] as const) {
      const got = topKAboveThreshold(logits, 0.05, 1000);
      const all = bruteForce(logits, 1000);
      expect([...got.indices], name).toEqual(all.map((e) => e.i));
      expect([...got.scores], name).toEqual(all.map((e) => e.s));
    }
    // no threshold (an RPN's proposals): score > 0
    const got = topKAboveThreshold(smooth, 0, 2000);
    expect([...got.indices]).toEqual(bruteForce(smooth, 2000, 0).map((e) => e.i));
  });

  it('uses a strict threshold on the float32 sigmoid', () => {
    const x = Math.fround(logit(0.05));
    const s = sigmoid32(x);
    const got = topKAboveThreshold(Float32Array.of(x, x + 1e-3, x - 1e-3), 0.05, 10);
    expect([...got.indices]).toEqual(s > 0.05 ? [1, 0] : [1]);
  });
});

describe('postProcessImage', () => {
  // one level, 4 anchors, 2 classes
  const anchors = Float32Array.of(10, 10, 30, 30, 12, 10, 32, 30, 60, 20, 90, 40, 80, 30, 120, 70);
  const deltas = new Float32Array(16); // zero deltas: boxes = anchors

  it('decodes, clips to the resized image, rescales to the original image, NMS per class, sorts by score', () => {
    const logits = Float32Array.of(
      logit(0.9), logit(0.01), // anchor 0: class 0
      logit(0.8), logit(0.6), // anchor 1: class 0 (suppressed by anchor 0, IoU 0.82) and class 1 (kept)
      logit(0.01), logit(0.3), // anchor 2: class 1
      logit(0.2), logit(0.01), // anchor 3: class 0, crosses the resized width 100 → clipped to x2 = 100, y2 = 50
    );
    const d = postProcessImage([{ logits, deltas, anchors }], meta(), OPTS);
    expect(d.imageId).toBe(7);
    expect([...d.labels]).toEqual([0, 1, 1, 0]);
    expect([...d.scores].map((s) => +s.toFixed(4))).toEqual([0.9, 0.6, 0.3, 0.2]);
    // original = resized / 0.5
    expect([...d.boxes]).toEqual([20, 20, 60, 60, 24, 20, 64, 60, 120, 40, 180, 80, 160, 60, 200, 100]);
  });

  it('undoes a horizontal flip before rescaling', () => {
    const logits = Float32Array.of(logit(0.9), -10, -10, -10, -10, -10, -10, -10);
    const d = postProcessImage([{ logits, deltas, anchors }], meta({ flipped: true }), OPTS);
    // network box [10, 10, 30, 30] in a flipped 100-wide image → [70, 10, 90, 30] → ×2
    expect([...d.boxes]).toEqual([140, 20, 180, 60]);
  });

  it('keeps at most nmsPre per level and maxPerImg per image', () => {
    const rng = new Rng(1);
    const n = 300;
    const a = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) a.set([(i % 30) * 40, Math.floor(i / 30) * 40, (i % 30) * 40 + 20, Math.floor(i / 30) * 40 + 20], i * 4);
    const big = meta({ originalSize: { width: 2400, height: 800 }, w: 1200, h: 400 });
    const logits = Float32Array.from({ length: n * 2 }, () => rng.uniformIn(0, 3));
    const level = { logits, deltas: new Float32Array(n * 4), anchors: a };
    expect(postProcessImage([level], big, { ...OPTS, nmsPre: 50 }).scores.length).toBe(50);
    const d = postProcessImage([level, level], big, { ...OPTS, maxPerImg: 70 });
    expect(d.scores.length).toBe(70);
    for (let i = 1; i < 70; i++) expect(d.scores[i]!).toBeLessThanOrEqual(d.scores[i - 1]!);
  });

  it('returns an empty detection when nothing passes the threshold', () => {
    const d = postProcessImage([{ logits: new Float32Array(8).fill(-9), deltas, anchors }], meta(), OPTS);
    expect([d.boxes.length, d.scores.length, d.labels.length]).toEqual([0, 0, 0]);
  });

  it('boxesToOriginal clips to the original image (in place)', () => {
    const b = Float32Array.of(-5, -5, 120, 60);
    boxesToOriginal(b, meta(), { out: b });
    expect([...b]).toEqual([0, 0, 200, 100]);
  });
});

describe('toCocoResults', () => {
  it('maps labels to category ids and boxes to [x, y, w, h]', () => {
    const dets = [
      { imageId: 3, boxes: Float32Array.of(1, 2, 11, 22, 5, 5, 6, 8), scores: Float32Array.of(0.75, 0.5), labels: Int32Array.of(1, 0) },
    ];
    expect(toCocoResults(dets, [17, 42])).toEqual([
      { image_id: 3, category_id: 42, bbox: [1, 2, 10, 20], score: 0.75 },
      { image_id: 3, category_id: 17, bbox: [5, 5, 1, 3], score: 0.5 },
    ]);
    expect(toCocoResults(dets, (l) => l + 1).map((r) => r.category_id)).toEqual([2, 1]);
    expect(() => toCocoResults(dets, [17])).toThrow(/image 3, detection 0: label 1 has no category id/);
  });
});
