/**
 * src/ops/samplers.ts: mmdetection's RandomSampler / PseudoSampler rules (counts, GT as proposals, neg_pos_ub,
 * sorted unique indices) and determinism (same seed → same picks).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/nn/rng.js';
import { maxIouAssign, RETINANET_ASSIGNER, type AssignResult } from '../../src/ops/assigner.js';
import { toBoxArray } from '../../src/ops/boxes.js';
import { pseudoSample, randomChoice, randomSample, RCNN_SAMPLER, RPN_SAMPLER } from '../../src/ops/samplers.js';

/** A synthetic assignment: `pos` positives (alternating GT 1 and 2), `neg` negatives, `ign` ignored, shuffled. */
function synthetic(pos: number, neg: number, ign: number, seed = 1): { assign: AssignResult; priors: Float32Array; gt: Float32Array } {
  const codes = [...Array<number>(pos).fill(1), ...Array<number>(neg).fill(0), ...Array<number>(ign).fill(-1)];
  new Rng(seed).shuffle(codes);
  let p = 0;
  const gtInds = Int32Array.from(codes, (c) => (c === 1 ? 1 + (p++ % 2) : c));
  const n = codes.length;
  const priors = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) priors.set([i, i, i + 10, i + 10], i * 4);
  return {
    assign: { numGts: 2, gtInds, maxOverlaps: new Float32Array(n), labels: gtInds.map((g) => (g > 0 ? 10 + g : -1)) },
    priors,
    gt: toBoxArray([[0, 0, 5, 5], [1, 1, 6, 6]]),
  };
}

const isSortedUnique = (a: Int32Array) => a.every((v, i) => i === 0 || v > a[i - 1]!);

describe('randomSample', () => {
  it('same seed → same picks; another seed → other picks', () => {
    const { assign, priors, gt } = synthetic(300, 2000, 50);
    const opts = { ...RPN_SAMPLER };
    const a = randomSample(assign, priors, gt, [3, 4], opts, new Rng(42));
    const b = randomSample(assign, priors, gt, [3, 4], opts, new Rng(42));
    const c = randomSample(assign, priors, gt, [3, 4], opts, new Rng(43));
    expect(Array.from(a.posInds)).toEqual(Array.from(b.posInds));
    expect(Array.from(a.negInds)).toEqual(Array.from(b.negInds));
    expect(Array.from(a.negInds)).not.toEqual(Array.from(c.negInds));
  });

  it('takes ⌊num·posFraction⌋ positives and fills up with negatives; indices sorted, unique, of the right kind', () => {
    const { assign, priors, gt } = synthetic(300, 2000, 50);
    const r = randomSample(assign, priors, gt, [3, 4], RPN_SAMPLER, new Rng(1));
    expect(r.posInds.length).toBe(128);
    expect(r.negInds.length).toBe(128);
    expect(isSortedUnique(r.posInds) && isSortedUnique(r.negInds)).toBe(true);
    expect(Array.from(r.posInds).every((j) => assign.gtInds[j]! > 0)).toBe(true);
    expect(Array.from(r.negInds).every((j) => assign.gtInds[j] === 0)).toBe(true);
    expect(Array.from(r.posAssignedGtInds)).toEqual(Array.from(r.posInds, (j) => assign.gtInds[j]! - 1));
    expect(Array.from(r.posGtLabels)).toEqual(Array.from(r.posAssignedGtInds, (g) => 11 + g));
    expect(Array.from(r.posPriors.subarray(0, 4))).toEqual(Array.from(priors.subarray(r.posInds[0]! * 4, r.posInds[0]! * 4 + 4)));
    expect(r.posGtBoxes.length).toBe(128 * 4);
  });

  it('few positives: all of them, negatives fill the rest; negPosUb caps the negatives', () => {
    const { assign, priors, gt } = synthetic(10, 2000, 0);
    const r = randomSample(assign, priors, gt, [3, 4], RPN_SAMPLER, new Rng(1));
    expect([r.posInds.length, r.negInds.length]).toEqual([10, 246]);
    const capped = randomSample(assign, priors, gt, [3, 4], { ...RPN_SAMPLER, negPosUb: 3 }, new Rng(1));
    expect([capped.posInds.length, capped.negInds.length]).toEqual([10, 30]);
    const none = synthetic(0, 2000, 0);
    const zero = randomSample(none.assign, none.priors, none.gt, [3, 4], { ...RPN_SAMPLER, negPosUb: 3 }, new Rng(1));
    expect([zero.posInds.length, zero.negInds.length]).toEqual([0, 3]); // max(1, #pos) · 3
  });

  it('addGtAsProposals prepends the GT boxes as positives of their own GT', () => {
    const { assign, priors, gt } = synthetic(4, 50, 0);
    const r = randomSample(assign, priors, gt, [3, 4], RCNN_SAMPLER, new Rng(5));
    expect(r.priors.length).toBe(priors.length + 8);
    expect(Array.from(r.priors.subarray(0, 8))).toEqual(Array.from(gt));
    expect(Array.from(r.gtFlags.subarray(0, 3))).toEqual([1, 1, 0]);
    expect(r.posInds.length).toBe(6); // 2 GT + 4 positives (≤ 512·0.25)
    expect(Array.from(r.posInds.subarray(0, 2))).toEqual([0, 1]);
    expect(Array.from(r.posIsGt)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(Array.from(r.posAssignedGtInds.subarray(0, 2))).toEqual([0, 1]);
    expect(Array.from(r.posGtLabels.subarray(0, 2))).toEqual([3, 4]);
    expect(r.assign.maxOverlaps[0]).toBe(1);
    expect(r.negInds.length).toBe(50);
  });

  it('works end to end on a real assignment', () => {
    const anchors = toBoxArray([[0, 0, 10, 10], [10, 0, 20, 10], [20, 0, 30, 10], [0, 10, 10, 20]]);
    const gt = toBoxArray([[0, 0, 10, 9]]);
    const assign = maxIouAssign({ priors: anchors, gtBoxes: gt, gtLabels: [2] }, RETINANET_ASSIGNER);
    const r = randomSample(assign, anchors, gt, [2], { num: 3, posFraction: 0.5, addGtAsProposals: false }, new Rng(0));
    expect(Array.from(r.posInds)).toEqual([0]);
    expect(r.negInds.length).toBe(2);
  });
});

describe('pseudoSample', () => {
  it('returns every positive and every negative, no GT added', () => {
    const { assign, priors, gt } = synthetic(30, 70, 20);
    const r = pseudoSample(assign, priors, gt);
    expect(r.posInds.length).toBe(30);
    expect(r.negInds.length).toBe(70);
    expect(r.priors).toBe(priors);
    expect(r.posIsGt.every((v) => v === 0)).toBe(true);
    expect(isSortedUnique(r.posInds)).toBe(true);
  });

  it('rejects an assignment made for other priors', () => {
    const { assign, gt } = synthetic(3, 3, 0);
    expect(() => pseudoSample(assign, new Float32Array(8), gt)).toThrow(/covers 6 priors, got 2 priors/);
  });
});

describe('randomChoice', () => {
  it('is uniform: each of 4 items picked ~25 % of the time', () => {
    const rng = new Rng(9);
    const counts = [0, 0, 0, 0];
    const gallery = Int32Array.from([0, 1, 2, 3]);
    for (let t = 0; t < 4000; t++) counts[randomChoice(gallery, 1, rng)[0]!]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120); // > 5 σ
    expect(() => randomChoice(gallery, 5, rng)).toThrow(/cannot pick 5 of 4/);
  });
});
