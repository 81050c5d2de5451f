/**
 * The NaN/Inf guard of the training loop. A step whose loss terms or gradients are not all finite is skipped —
 * the optimizer never sees it, so weights and momentum stay those of the last good step — and the guard says
 * which loss (or which parameter's gradient) went bad. After K consecutive bad steps training stops with a
 * `NonFiniteError` whose message names the iterations, the bad terms and the usual causes.
 *
 * The gradient check uses the global gradient norm (one number per step, also what clipping needs): a NaN or
 * ±Infinity anywhere makes it non-finite. (Finite gradients so large that their squares overflow float32 also
 * trip it — such a step would blow the weights up anyway.)
 */

export interface NanGuardOptions {
  /** Stop after this many consecutive bad steps; default 10. */
  maxConsecutive?: number;
}

/** The guard's counters, saved in checkpoints. */
export interface NanGuardState {
  /** Bad steps in a row right now. */
  consecutive: number;
  /** Bad steps skipped in the whole run. */
  skipped: number;
  /** 0-based iteration where the current run of bad steps began; -1 when `consecutive` is 0. */
  firstBad: number;
}

/** What the loop measured for one step. */
export interface StepHealth {
  /** 0-based iteration. */
  iteration: number;
  /** Every named loss term (mean over the step's micro-batches) and the total `loss`. */
  losses: Record<string, number>;
  /** Global gradient norm. */
  gradNorm: number;
  /** Called only for a bad gradient norm: the name of a parameter whose gradient is non-finite. */
  findBadGradient?: () => string | null;
}

/** Thrown when the guard stops the run. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly iteration: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

const fmt = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v));

/** null when every loss and the gradient norm are finite, else what went bad (e.g. "loss_bbox = NaN"). */
export function diagnoseStep(health: StepHealth): string | null {
  const badLosses = Object.entries(health.losses).filter(([k, v]) => k !== 'loss' && !Number.isFinite(v));
  if (badLosses.length) return badLosses.map(([k, v]) => `${k} = ${fmt(v)}`).join(', ');
  const total = health.losses.loss;
  if (total !== undefined && !Number.isFinite(total)) return `loss = ${fmt(total)}`;
  if (!Number.isFinite(health.gradNorm)) {
    const p = health.findBadGradient?.() ?? null;
    return p ? `gradient of "${p}" is non-finite (gradient norm = ${fmt(health.gradNorm)})` : `gradient norm = ${fmt(health.gradNorm)}`;
  }
  return null;
}

export class NanGuard {
  readonly maxConsecutive: number;
  private consecutive = 0;
  private skipped = 0;
  private firstBad = -1;

  constructor(options: NanGuardOptions = {}) {
    this.maxConsecutive = options.maxConsecutive ?? 10;
    if (!Number.isInteger(this.maxConsecutive) || this.maxConsecutive < 1) {
      throw new Error(`NanGuard: maxConsecutive must be an integer ≥ 1, got ${this.maxConsecutive}`);
    }
  }

  /**
   * Judge one step: returns null when it may be applied, or the reason it must be skipped. Throws
   * `NonFiniteError` when this is the K-th bad step in a row.
   */
  check(health: StepHealth): string | null {
    const reason = diagnoseStep(health);
    if (reason === null) {
      this.consecutive = 0;
      return null;
    }
    if (this.consecutive === 0) this.firstBad = health.iteration;
    this.consecutive += 1;
    this.skipped += 1;
    if (this.consecutive >= this.maxConsecutive) {
      const span = this.consecutive === 1 ? `iteration ${health.iteration + 1}` : `iterations ${this.firstBad + 1}–${health.iteration + 1}`;
      throw new NonFiniteError(
        `training stopped: ${this.consecutive} consecutive steps had non-finite losses or gradients (${span}; last: ${reason}). ` +
          'Those steps were skipped, so the weights are those of the last good step. Usual causes: a learning rate too high ' +
          'for the batch size (scale it with the batch, lengthen the warm-up, or clip gradients), degenerate boxes in the ' +
          'data, or a loss divided by a zero count.',
        health.iteration,
        reason,
      );
    }
    return reason;
  }

  get state(): NanGuardState {
    return { consecutive: this.consecutive, skipped: this.skipped, firstBad: this.consecutive ? this.firstBad : -1 };
  }

  /** Restore counters from a checkpoint. */
  load(state: NanGuardState): void {
    this.consecutive = state.consecutive;
    this.skipped = state.skipped;
    this.firstBad = state.firstBad;
  }
}
