/**
 * LR schedules: the closed forms equal a literal re-enactment of mmengine's chained schedulers (LinearLR by
 * iteration + MultiStepLR by epoch, stepped as ParamSchedulerHook does), and hand-computed values of the 2x / 20e
 * schedules at warm-up start, middle and end and at each step.
 */
import { describe, expect, it } from 'vitest';
import {
  autoScaleLr,
  lrAt,
  multiStepFactor,
  schedule1x,
  schedule20e,
  schedule2x,
  validateSchedule,
  warmupFactor,
  type LrSchedule,
} from '../../src/train/lr-schedule.js';

/**
 * mmengine, step by step: both schedulers are built (each calls step() once), then LinearLR.step() after every
 * iteration and MultiStepLR.step() after every epoch; each step multiplies the optimizer's current lr.
 * Returns the lr in effect during every iteration.
 */
function mmengineChained(s: LrSchedule, itersPerEpoch: number): number[] {
  let lr = s.baseLr;
  const w = s.warmup!;
  const begin = w.begin ?? 0;
  const start = w.startFactor;
  const endF = w.endFactor ?? 1;
  const total = w.end - begin - 1;
  const lin = { global: -1, last: -1 };
  const linearStep = (): void => {
    lin.global += 1;
    if (begin <= lin.global && lin.global < w.end) {
      lin.last += 1;
      lr = lin.last === 0 ? lr * start : lr * (1 + (endF - start) / (total * start + (lin.last - 1) * (endF - start)));
    }
  };
  const ms = { global: -1, last: -1 };
  const multiStep = (): void => {
    ms.global += 1;
    if (ms.global < s.epochs) {
      ms.last += 1;
      const hits = s.milestones.filter((m) => m === ms.last).length;
      if (hits) lr = lr * s.gamma ** hits;
    }
  };
  linearStep();
  multiStep();
  const out: number[] = [];
  for (let e = 0; e < s.epochs; e++) {
    for (let i = 0; i < itersPerEpoch; i++) {
      out.push(lr);
      linearStep();
    }
    multiStep();
  }
  return out;
}

function expectRel(a: number, b: number, rel = 1e-12): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));
}

describe('lr schedule (mmengine LinearLR + MultiStepLR)', () => {
  it('closed form equals the chained mmengine recursion at every iteration', () => {
    const cases: Array<[LrSchedule, number]> = [
      [schedule2x({ lr: 0.02, warmupIters: 50 }), 7], // warm-up spans several epochs
      [schedule20e({ lr: 0.01, warmupIters: 500 }), 40], // warm-up crosses epoch boundaries, 20e steps
      [{ baseLr: 0.1, warmup: { startFactor: 0.25, endFactor: 0.9, begin: 3, end: 17 }, milestones: [2, 2, 4], gamma: 0.5, epochs: 6 }, 5],
    ];
    for (const [s, ipe] of cases) {
      const ref = mmengineChained(s, ipe);
      ref.forEach((v, t) => expectRel(lrAt(s, t, Math.floor(t / ipe)), v));
    }
  });

  it('2x at chosen iterations (warm-up 500 from 0.001, steps at epochs 16 and 22)', () => {
    const s = schedule2x({ lr: 0.02 });
    expect(s.epochs).toBe(24);
    expect(s.milestones).toEqual([16, 22]);
    expectRel(lrAt(s, 0, 0), 0.02 * 0.001); // warm-up start
    expectRel(lrAt(s, 1, 0), 0.02 * (0.001 + 0.999 / 499));
    expectRel(lrAt(s, 250, 0), 0.02 * (0.001 + (0.999 * 250) / 499));
    expectRel(lrAt(s, 498, 0), 0.02 * (0.001 + (0.999 * 498) / 499));
    expect(lrAt(s, 499, 0)).toBe(0.02); // warm-up end: iteration end − 1 runs at the full rate
    expect(lrAt(s, 500, 0)).toBe(0.02);
    expect(lrAt(s, 100_000, 15)).toBe(0.02); // last epoch before the first step
    expectRel(lrAt(s, 100_001, 16), 0.002); // first step
    expectRel(lrAt(s, 130_000, 21), 0.002);
    expectRel(lrAt(s, 140_000, 22), 0.0002); // second step
    expectRel(lrAt(s, 150_000, 23), 0.0002);
  });

  it('20e and 1x milestones; warm-up and step factors in isolation', () => {
    const c = schedule20e({ lr: 0.02 });
    expect([c.epochs, ...c.milestones]).toEqual([20, 16, 19]);
    expectRel(lrAt(c, 9999, 15), 0.02);
    expectRel(lrAt(c, 9999, 16), 0.002);
    expectRel(lrAt(c, 9999, 19), 0.0002);
    const one = schedule1x({ lr: 0.02 });
    expect([one.epochs, ...one.milestones]).toEqual([12, 8, 11]);
    expect(warmupFactor(10, null)).toBe(1);
    expect(warmupFactor(2, { startFactor: 0.5, begin: 5, end: 10 })).toBe(1); // before begin: untouched
    expect(warmupFactor(5, { startFactor: 0.5, begin: 5, end: 10 })).toBe(0.5);
    expect(warmupFactor(9, { startFactor: 0.5, begin: 5, end: 10 })).toBe(1);
    expect(multiStepFactor(3, [3, 3], 0.1)).toBeCloseTo(0.01, 15); // duplicate milestones count twice
    expect(schedule2x({ lr: 0.02, warmupIters: 0 }).warmup).toBeNull();
  });

  it('autoScaleLr is the linear scaling rule', () => {
    expect(autoScaleLr(0.02, 16, 16)).toBe(0.02);
    expect(autoScaleLr(0.02, 16, 2)).toBe(0.0025);
    expect(autoScaleLr(0.01, 16, 32)).toBe(0.02);
    expect(() => autoScaleLr(0.02, 16, 0)).toThrow(/positive/);
  });

  it('rejects bad schedules, naming the field', () => {
    const ok = schedule2x({ lr: 0.02 });
    expect(() => validateSchedule({ ...ok, milestones: [22, 16] })).toThrow(/milestones\[1\]/);
    expect(() => validateSchedule({ ...ok, baseLr: Number.NaN })).toThrow(/baseLr/);
    expect(() => validateSchedule({ ...ok, warmup: { startFactor: 2, end: 10 } })).toThrow(/warmup.startFactor/);
    expect(() => validateSchedule({ ...ok, epochs: 0 })).toThrow(/epochs/);
  });
});
