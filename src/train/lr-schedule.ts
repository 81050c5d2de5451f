/**
 * Learning-rate schedules as mmdetection 3.x / mmengine runs them, in closed form.
 *
 * mmdetection's detection schedules chain two mmengine schedulers on the optimizer's learning rate:
 *
 *   dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500)           # warm-up by iteration
 *   dict(type='MultiStepLR', by_epoch=True, begin=0, end=24, milestones=[16, 22], gamma=0.1)  # 2x
 *
 * mmengine applies them *recursively* (each `step()` multiplies the current value); the closed forms here equal
 * that recursion (up to float rounding of the product):
 *
 * - **LinearLR** (`LinearParamScheduler`): `total = end − begin − 1`; the constructor's first `step()` sets
 *   lr = base·start; after each iteration with global step g ∈ [begin, end) it multiplies by
 *   1 + (e − s) / (total·s + (g − begin − 1)·(e − s)), which telescopes to
 *       factor(t) = s + (e − s) · min(t − begin, total) / total        for iteration t ≥ begin (0-based),
 *   and 1 before `begin`. So the factor reaches `end_factor` at iteration `end − 1` (the 500th iteration, t = 499),
 *   not at t = 500 as mmcv 1.x's `warmup_iters=500` did (1 − (1 − t/500)(1 − 0.001)).
 * - **MultiStepLR** by epoch: stepped after each epoch; the epoch with 0-based index E runs at
 *   γ^(number of milestones m ≤ E). With milestones [16, 22] the 17th epoch (E = 16) is the first at 0.1× and
 *   E = 22, 23 run at 0.01×. Duplicate milestones count twice (mmengine uses a `Counter`).
 * - Both multiply the same value, so lr(t, E) = base · warmup(t) · γ^#{m ≤ E}.
 *
 * "Iteration" here is one optimizer update (with gradient accumulation, one update = k micro-batches): the
 * reference schedules are defined for the reference batch (16 images per update), which accumulation reproduces.
 *
 * `autoScaleLr` is mmengine's `auto_scale_lr` (the linear scaling rule): lr · batch / base_batch_size.
 */

/** mmengine `LinearLR` by iteration. */
export interface LinearWarmup {
  /** Factor at iteration `begin` (mmdetection: 0.001). In [0, 1]. */
  startFactor: number;
  /** Factor reached at iteration `end − 1`; default 1. In [0, 1]. */
  endFactor?: number;
  /** First iteration of the warm-up; default 0. */
  begin?: number;
  /** mmengine's `end` (exclusive): the factor is `endFactor` from iteration `end − 1` on (mmdetection: 500). */
  end: number;
}

/** A detection schedule: linear warm-up by iteration, then step decay at epoch milestones. Plain data (JSON). */
export interface LrSchedule {
  /** The learning rate after warm-up and before the first milestone. */
  baseLr: number;
  /** null: no warm-up. */
  warmup: LinearWarmup | null;
  /** 0-based epoch indices at which the rate is multiplied by `gamma` (mmengine `MultiStepLR` milestones). */
  milestones: number[];
  /** Default 0.1 in the presets. */
  gamma: number;
  /** Number of training epochs (mmengine `max_epochs`). */
  epochs: number;
}

/** The warm-up factor of iteration `t` (0-based optimizer updates), the closed form of mmengine's LinearLR. */
export function warmupFactor(t: number, w: LinearWarmup | null): number {
  if (!w) return 1;
  const begin = w.begin ?? 0;
  const s = w.startFactor;
  const e = w.endFactor ?? 1;
  if (t < begin) return 1;
  const total = w.end - begin - 1;
  if (total <= 0) return s; // a one-iteration window: mmengine only ever applies the start factor
  return s + ((e - s) * Math.min(t - begin, total)) / total;
}

/** γ raised to the number of milestones ≤ `epoch` (0-based), mmengine's MultiStepLR by epoch. */
export function multiStepFactor(epoch: number, milestones: readonly number[], gamma: number): number {
  let n = 0;
  for (const m of milestones) if (m <= epoch) n++;
  return gamma ** n;
}

/** The learning rate of iteration `iteration` (0-based) in epoch `epoch` (0-based). */
export function lrAt(schedule: LrSchedule, iteration: number, epoch: number): number {
  return schedule.baseLr * warmupFactor(iteration, schedule.warmup) * multiStepFactor(epoch, schedule.milestones, schedule.gamma);
}

/** mmengine's `auto_scale_lr`: `baseLr · actualBatch / baseBatch` (pass the effective batch: images per update). */
export function autoScaleLr(baseLr: number, baseBatch: number, actualBatch: number): number {
  if (!(baseBatch > 0) || !(actualBatch > 0)) {
    throw new Error(`autoScaleLr: batch sizes must be positive, got base ${baseBatch}, actual ${actualBatch}`);
  }
  return (baseLr * actualBatch) / baseBatch;
}

/** Check a schedule's fields; throws naming the field. */
export function validateSchedule(s: LrSchedule): void {
  const bad = (field: string, why: string): never => {
    throw new Error(`learning-rate schedule: ${field}: ${why}`);
  };
  if (!(s.baseLr >= 0) || !Number.isFinite(s.baseLr)) bad('baseLr', `expected a finite number ≥ 0, got ${s.baseLr}`);
  if (!Number.isInteger(s.epochs) || s.epochs < 1) bad('epochs', `expected an integer ≥ 1, got ${s.epochs}`);
  if (!(s.gamma > 0) || !Number.isFinite(s.gamma)) bad('gamma', `expected a finite number > 0, got ${s.gamma}`);
  s.milestones.forEach((m, i) => {
    if (!Number.isInteger(m) || m < 0) bad(`milestones[${i}]`, `expected an integer epoch ≥ 0, got ${m}`);
    if (i > 0 && m < s.milestones[i - 1]!) bad(`milestones[${i}]`, 'milestones must be non-decreasing');
  });
  const w = s.warmup;
  if (w) {
    for (const k of ['startFactor', 'endFactor'] as const) {
      const v = w[k];
      if (v !== undefined && !(v >= 0 && v <= 1)) bad(`warmup.${k}`, `expected a factor in [0, 1], got ${v}`);
    }
    const begin = w.begin ?? 0;
    if (!Number.isInteger(begin) || begin < 0) bad('warmup.begin', `expected an integer ≥ 0, got ${begin}`);
    if (!Number.isInteger(w.end) || w.end <= begin) bad('warmup.end', `expected an integer > begin (${begin}), got ${w.end}`);
  }
}

export interface SchedulePresetOptions {
  /** The post-warm-up learning rate (mmdetection: 0.02 per 16 images, RetinaNet 0.01). */
  lr: number;
  /** Warm-up length in iterations (mmengine `end`); default 500. 0 disables the warm-up. */
  warmupIters?: number;
  /** Default 0.001. */
  warmupStartFactor?: number;
  /** Default 0.1. */
  gamma?: number;
}

function preset(epochs: number, milestones: number[], o: SchedulePresetOptions): LrSchedule {
  const warmupIters = o.warmupIters ?? 500;
  const s: LrSchedule = {
    baseLr: o.lr,
    warmup: warmupIters > 0 ? { startFactor: o.warmupStartFactor ?? 0.001, begin: 0, end: warmupIters } : null,
    milestones,
    gamma: o.gamma ?? 0.1,
    epochs,
  };
  validateSchedule(s);
  return s;
}

/** mmdetection `schedule_1x`: 12 epochs, steps at epochs 8 and 11. */
export function schedule1x(o: SchedulePresetOptions): LrSchedule {
  return preset(12, [8, 11], o);
}

/** mmdetection `schedule_2x`: 24 epochs, steps at epochs 16 and 22. */
export function schedule2x(o: SchedulePresetOptions): LrSchedule {
  return preset(24, [16, 22], o);
}

/** mmdetection's 20e schedule (Cascade R-CNN): 20 epochs, steps at epochs 16 and 19. */
export function schedule20e(o: SchedulePresetOptions): LrSchedule {
  return preset(20, [16, 19], o);
}
