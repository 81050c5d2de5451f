/**
 * AdamW, PyTorch semantics (`torch.optim.AdamW`, amsgrad off, maximize off), for named `tf.Variable`s.
 *
 * Per parameter p with gradient g and its own step count t (incremented before use), each `step`:
 *   p ← p · (1 − lr·wd)                                  (decoupled weight decay, Loshchilov & Hutter)
 *   m ← β₁·m + (1 − β₁)·g           v ← β₂·v + (1 − β₂)·g²        (m, v start at zero)
 *   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 * Parameters without a gradient in a step (frozen, unused) are skipped entirely: no decay, no moment update, their
 * t does not advance (PyTorch skips `p.grad is None`).
 *
 * Why a tied detector might want it: trained from scratch (no ImageNet weights, as the synthetic demo is), small
 * detectors converge several times faster with AdamW than with SGD at the same number of updates (README,
 * "Training engine"). The paper's COCO schedules use SGD (configs/_base.ts `trainSchedule`).
 *
 * State is kept per parameter name, like SGD (src/train/sgd.ts), and exported for checkpoints as
 * `exp_avg/<name>`, `exp_avg_sq/<name>` tensors plus per-parameter step counts (`exportState` / `importState`),
 * so a resumed run continues bit-identically. The optimizer owns its moments (freed by `dispose()`); it never
 * disposes the gradients it is given.
 */
import * as tf from '@tensorflow/tfjs';
import type { Gradients } from './optimizer-state.js';
import { gradientFor, uniqueParams, type OptimizerState } from './optimizer-state.js';

export interface AdamWOptions {
  lr: number;
  /** (β₁, β₂); default (0.9, 0.999). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 0.01 (PyTorch's default). */
  weightDecay?: number;
}

export class AdamW {
  readonly type = 'AdamW' as const;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: ReadonlyArray<readonly [string, tf.Variable]>;
  private readonly expAvg = new Map<string, tf.Tensor>();
  private readonly expAvgSq = new Map<string, tf.Tensor>();
  private readonly paramSteps = new Map<string, number>();
  private stepCount = 0;
  private isDisposed = false;

  constructor(params: Iterable<readonly [string, tf.Variable]>, opts: AdamWOptions) {
    this.params = uniqueParams('AdamW', params);
    this.lr = opts.lr;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    if (!(this.lr >= 0)) throw new Error(`AdamW: invalid learning rate ${this.lr}`);
    for (const [k, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`AdamW: invalid ${k} ${b} (expected 0 ≤ β < 1)`);
    }
    if (!(this.eps >= 0)) throw new Error(`AdamW: invalid eps ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: invalid weight decay ${this.weightDecay}`);
  }

  /** Number of `step` calls so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Apply one update; `grads` keyed by parameter name (a Map) or by TF.js variable name. Gradients are not disposed. */
  step(grads: Gradients): void {
    if (this.isDisposed) throw new Error('AdamW.step: the optimizer was disposed');
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    for (const [name, p] of this.params) {
      const g = gradientFor(grads, name, p);
      if (!g) continue;
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new Error(`AdamW.step: gradient for "${name}" has shape [${g.shape.join(', ')}], parameter [${p.shape.join(', ')}]`);
      }
      const t = (this.paramSteps.get(name) ?? 0) + 1;
      const m0 = this.expAvg.get(name);
      const v0 = this.expAvgSq.get(name);
      const bc1 = 1 - b1 ** t;
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      const [m, v] = tf.tidy(() => {
        const m = m0 ? tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1)) : tf.mul(g, 1 - b1);
        const v = v0 ? tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2)) : tf.mul(tf.square(g), 1 - b2);
        const decayed = wd !== 0 ? tf.mul(p, 1 - lr * wd) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / bc1)));
        return [tf.keep(m), tf.keep(v)];
      });
      m0?.dispose();
      v0?.dispose();
      this.expAvg.set(name, m);
      this.expAvgSq.set(name, v);
      this.paramSteps.set(name, t);
    }
    this.stepCount += 1;
  }

  /** Hyper-parameters, counters and copies of the moments (the caller owns and must dispose the tensors). */
  exportState(): OptimizerState {
    const tensors = new Map<string, tf.Tensor>();
    for (const [k, t] of this.expAvg) tensors.set(`exp_avg/${k}`, tf.clone(t));
    for (const [k, t] of this.expAvgSq) tensors.set(`exp_avg_sq/${k}`, tf.clone(t));
    return {
      type: 'AdamW',
      scalars: {
        lr: this.lr,
        betas: [this.beta1, this.beta2],
        eps: this.eps,
        weightDecay: this.weightDecay,
        steps: this.stepCount,
        paramSteps: Object.fromEntries(this.paramSteps),
      },
      tensors,
    };
  }

  /**
   * Restore moments, step counts and lr (tensors copied; the caller keeps ownership). Betas, eps and weight decay
   * are construction options and must match; moments of unknown parameters or with wrong shapes are errors.
   */
  importState(state: OptimizerState): void {
    if (this.isDisposed) throw new Error('AdamW.importState: the optimizer was disposed');
    if (state.type !== 'AdamW') throw new Error(`optimizer: the checkpoint holds ${state.type} state, this run uses AdamW`);
    const s = state.scalars;
    const problems: string[] = [];
    const betas = s.betas as number[] | undefined;
    if (!Array.isArray(betas) || betas[0] !== this.beta1 || betas[1] !== this.beta2) {
      problems.push(`betas: state ${JSON.stringify(betas)}, optimizer [${this.beta1}, ${this.beta2}]`);
    }
    for (const key of ['eps', 'weightDecay'] as const) {
      if (s[key] !== this[key]) problems.push(`${key}: state ${String(s[key])}, optimizer ${String(this[key])}`);
    }
    const byName = new Map(this.params);
    const paramSteps = (s.paramSteps ?? {}) as Record<string, number>;
    const moments: Array<[Map<string, tf.Tensor>, string, tf.Tensor]> = [];
    for (const [key, t] of state.tensors) {
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const target = kind === 'exp_avg' ? this.expAvg : kind === 'exp_avg_sq' ? this.expAvgSq : null;
      const p = byName.get(name);
      if (!target || slash < 0) problems.push(`unexpected tensor "${key}" (expected exp_avg/<name> or exp_avg_sq/<name>)`);
      else if (!p) problems.push(`moment for unknown parameter "${name}"`);
      else if (!tf.util.arraysEqual(p.shape, t.shape)) problems.push(`moment "${key}" has shape [${t.shape.join(', ')}], parameter [${p.shape.join(', ')}]`);
      else if (!(paramSteps[name]! >= 1)) problems.push(`moment "${key}" without a step count in paramSteps`);
      else moments.push([target, name, t]);
    }
    if (problems.length) throw new Error(`AdamW: ${problems.join('; ')}`);
    this.clear();
    for (const [target, name, t] of moments) target.set(name, tf.keep(tf.clone(t)));
    for (const [name, n] of Object.entries(paramSteps)) this.paramSteps.set(name, n);
    this.stepCount = s.steps as number;
    this.lr = s.lr as number;
  }

  private clear(): void {
    for (const t of [...this.expAvg.values(), ...this.expAvgSq.values()]) t.dispose();
    this.expAvg.clear();
    this.expAvgSq.clear();
    this.paramSteps.clear();
  }

  /** Free the moments; the optimizer cannot be used afterwards. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.clear();
    this.isDisposed = true;
  }
}
