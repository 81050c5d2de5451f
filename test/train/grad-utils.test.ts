/**
 * Gradient utilities: clip_grad_norm_ against values printed by torch 1.13 (`torch.nn.utils.clip_grad_norm_`,
 * script in the comments), gradient accumulation = the mean of the micro-batch gradients, and the NaN guard's
 * diagnosis and its stop after K consecutive bad steps.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { clipCoefficient, clipGradNorm, firstNonFiniteGradient, gradNorm } from '../../src/train/clip.js';
import { GradAccumulator } from '../../src/train/grad-accum.js';
import { diagnoseStep, NanGuard, NonFiniteError } from '../../src/train/nan-guard.js';
import { expectClose, trackTensors } from '../nn/helpers.js';

trackTensors('test');

function gradsOf(values: number[][]): Map<string, tf.Tensor> {
  return new Map(values.map((v, i) => [`p${i}`, tf.tensor1d(v)]));
}

function disposeMap(m: Map<string, tf.Tensor>): void {
  tf.dispose([...m.values()]);
}

// torch 1.13:  ps = [Parameter(zeros(len(g))) …]; p.grad = tensor(g); n = clip_grad_norm_(ps, max_norm, norm_type)
const TORCH_CASES: Array<{ grads: number[][]; maxNorm: number; p: number; norm: number; clipped: number[][] }> = [
  { grads: [[3, 4], [12]], maxNorm: 1, p: 2, norm: 13.0, clipped: [[0.23076921701431274, 0.307692289352417], [0.923076868057251]] },
  {
    grads: [[0.3, -0.4], [0.1, 0.2, 0.25]],
    maxNorm: 10,
    p: 2,
    norm: 0.6020796895027161,
    clipped: [[0.30000001192092896, -0.4000000059604645], [0.10000000149011612, 0.20000000298023224, 0.25]],
  },
  { grads: [[3, -7.5], [2]], maxNorm: 2, p: Infinity, norm: 7.5, clipped: [[0.7999998331069946, -1.9999996423721313], [0.5333332419395447]] },
  { grads: [[1, -2], [3]], maxNorm: 1.5, p: 1, norm: 6.0, clipped: [[0.2499999701976776, -0.4999999403953552], [0.7499998807907104]] },
  { grads: [[0.1, 0.2], [0.3]], maxNorm: 0.5, p: 3, norm: 0.3301927149295807, clipped: [[0.10000000149011612, 0.20000000298023224], [0.30000001192092896]] },
];

describe('clip_grad_norm_ semantics', () => {
  it('total norm and clipped gradients equal torch for p = 2, ∞, 1, 3', () => {
    for (const c of TORCH_CASES) {
      const g = gradsOf(c.grads);
      const n = clipGradNorm(g, c.maxNorm, c.p);
      expect(n).toBeCloseTo(c.norm, 6);
      [...g.values()].forEach((t, i) => expectClose(t, c.clipped[i]!, { atol: 2e-7 }, `p=${c.p} grad ${i}`));
      disposeMap(g);
    }
  });

  it('coefficient is min(1, max/(norm + 1e-6)) in float32; gradNorm of nothing is 0', () => {
    expect(clipCoefficient(13, 1)).toBe(Math.fround(1 / Math.fround(13 + Math.fround(1e-6))));
    expect(clipCoefficient(0.5, 10)).toBe(1);
    expect(gradNorm(new Map())).toBe(0);
  });

  it('finds a non-finite gradient and the norm reports it', () => {
    const g = gradsOf([[1, 2], [3, Number.NaN]]);
    expect(Number.isNaN(gradNorm(g))).toBe(true);
    expect(firstNonFiniteGradient(g)).toBe('p1');
    disposeMap(g);
    const h = gradsOf([[1, Infinity]]);
    expect(gradNorm(h)).toBe(Infinity);
    expect(firstNonFiniteGradient(h)).toBe('p0');
    disposeMap(h);
  });
});

describe('GradAccumulator', () => {
  it('mean of micro-batch gradients; a parameter missing in one micro-batch counts as zero there', () => {
    const acc = new GradAccumulator();
    acc.add(new Map([['a', tf.tensor1d([1, 2])], ['b', tf.tensor1d([4])]]));
    acc.add(new Map([['a', tf.tensor1d([3, 6])]]));
    acc.add(new Map([['a', tf.tensor1d([2, 1])], ['b', tf.tensor1d([2])]]));
    expect(acc.count).toBe(3);
    const m = acc.mean();
    expectClose(m.get('a')!, [2, 3], { atol: 1e-7 });
    expectClose(m.get('b')!, [2], { atol: 1e-7 });
    expect(acc.count).toBe(0);
    disposeMap(m);
    const single = new GradAccumulator();
    single.add(new Map([['a', tf.tensor1d([5])]]));
    const s = single.mean();
    expectClose(s.get('a')!, [5], { atol: 0 });
    disposeMap(s);
    expect(() => single.mean()).toThrow(/no gradients/);
    const leftover = new GradAccumulator();
    leftover.add(new Map([['a', tf.tensor1d([1])]]));
    leftover.dispose();
  });

  it('rejects shape changes between micro-batches', () => {
    const acc = new GradAccumulator();
    acc.add(new Map([['a', tf.tensor1d([1, 2])]]));
    const bad = tf.tensor1d([1, 2, 3]);
    expect(() => acc.add(new Map([['a', bad]]))).toThrow(/"a" has shape \[3\]/);
    bad.dispose();
    acc.dispose();
  });
});

describe('NanGuard', () => {
  it('names the bad loss, else the bad gradient', () => {
    expect(diagnoseStep({ iteration: 0, losses: { loss: 1, loss_cls: 0.5, loss_bbox: 0.5 }, gradNorm: 3 })).toBeNull();
    expect(diagnoseStep({ iteration: 0, losses: { loss: Number.NaN, loss_cls: 0.5, loss_bbox: Number.NaN }, gradNorm: Number.NaN })).toBe(
      'loss_bbox = NaN',
    );
    expect(diagnoseStep({ iteration: 0, losses: { loss: 1, loss_cls: 1 }, gradNorm: Infinity, findBadGradient: () => 'fc.weight' })).toBe(
      'gradient of "fc.weight" is non-finite (gradient norm = Infinity)',
    );
  });

  it('skips bad steps, resets on a good one, stops after K in a row with a clear message', () => {
    const guard = new NanGuard({ maxConsecutive: 3 });
    const good = (i: number) => ({ iteration: i, losses: { loss: 1, loss_a: 1 }, gradNorm: 1 });
    const bad = (i: number) => ({ iteration: i, losses: { loss: Number.NaN, loss_a: Number.NaN }, gradNorm: Number.NaN });
    expect(guard.check(bad(0))).toBe('loss_a = NaN');
    expect(guard.check(bad(1))).toBe('loss_a = NaN');
    expect(guard.check(good(2))).toBeNull();
    expect(guard.state).toEqual({ consecutive: 0, skipped: 2, firstBad: -1 });
    guard.check(bad(3));
    guard.check(bad(4));
    let err: unknown;
    try {
      guard.check(bad(5));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toMatch(/^training stopped: 3 consecutive steps had non-finite losses or gradients \(iterations 4–6; last: loss_a = NaN\)/);
    // counters survive a checkpoint round trip
    const g2 = new NanGuard({ maxConsecutive: 3 });
    g2.load({ consecutive: 2, skipped: 7, firstBad: 10 });
    expect(() => g2.check(bad(12))).toThrow(/iterations 11–13/);
  });
});
